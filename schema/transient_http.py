"""The plain HTTP routes (exports, calendar feeds, certificates, the import upload, the home
page) answer a transient failure (db/transient.py: the database lost or busy, Redis
unreachable) as 503 with Retry-After and a GraphQL-shaped body carrying the same
`extensions.code`/`reason` as /graphql, logged as one warning line, instead of Starlette's 500
with a traceback. /graphql maps its own errors (schema/errors.py) and is passed straight
through, so its hot path pays nothing here."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.transient import describe, transient
from resolvers.messages import choose_language, message_for
from schema.errors import TRANSIENT_MESSAGES, TRANSIENT_REASONS, UNAVAILABLE_MESSAGE

log = logging.getLogger("tongxin.errors")

RETRY_AFTER_SECONDS = 1


class TransientErrors:
    def __init__(self, app: ASGIApp, graphql_path: str = "/graphql") -> None:
        self.app = app
        self.graphql_path = graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == self.graphql_path:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            failure = transient(error)
            if failure is None or started:
                raise
            kind, cause = failure
            log.warning("%s path=%s error=%s", {"lost": "database unreachable",
                        "busy": "database busy", "redis": "redis unreachable"}[kind],
                        scope["path"], describe(cause))
            reason = TRANSIENT_REASONS.get(kind)
            extensions = {"code": "UNAVAILABLE", **({"reason": reason} if reason else {})}
            english = TRANSIENT_MESSAGES.get(reason or "", UNAVAILABLE_MESSAGE)
            language = choose_language(Headers(scope=scope).get("accept-language"))
            message = message_for(language, "UNAVAILABLE", extensions, english)
            response = JSONResponse({"errors": [{"message": message, "extensions": extensions}]},
                                    status_code=503,
                                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await response(scope, receive, send)
