"""The ASGI edge of prepared operations (schema/prepared.py): POST /graphql requests for a
prepared operation answered before Starlette's routing, CORS and strawberry's HTTP view."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.jsonguard import JSONTooDeep
from core.tracing import tag_request
from resolvers.auth import bearer_token, deferred_viewer
from resolvers.errors import DomainError
from schema.context import Context
from schema.negotiation import negotiate, shape
from schema.persisted import DocumentRefused
from schema.view import TongxinGraphQL, log_request, refused_with, scope_language


class PreparedRequests:
    """POST /graphql requests for a prepared operation (schema/prepared.py), answered without
    the layers in between: Starlette's routing and exception middleware, CORS, strawberry's
    HTTP view. Everything else, and any request these conditions do not fully cover, passes
    on untouched (the body it read is replayed): a plain JSON POST (no Origin header, so CORS
    has nothing to add; JSON acceptable, so nothing streams), a declared body of at most PREPARED_MAX_BODY
    bytes, an acceptable media type, a token that verifies, a document (given as text or as
    a persisted-query hash, schema/persisted.py) that is prepared, variables that coerce,
    inputs within bounds. The response is built by the same strawberry methods (process_result,
    encode_json) with the same status and headers as Starlette's Response would send, and
    logged by the same request log: tests/e2e/test_prepared.py compares the bytes of both
    paths."""

    PREPARED_MAX_BODY = 16 * 1024

    def __init__(self, app: ASGIApp, graphql_app: TongxinGraphQL, path: str = "/graphql") -> None:
        self.app = app
        self.graphql_app = graphql_app
        self.prepared = graphql_app.schema.prepared  # type: ignore[attr-defined]
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length = authorization = accept = None
        plain = True
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-type":
                plain = plain and b"application/json" in value
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"origin":
                plain = False
        media_type = negotiate(accept)
        if not plain or media_type is None or length is None or \
                not length.isdigit() or int(length) > self.PREPARED_MAX_BODY:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(body, message, receive), send)
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        answered = await self._answer(scope, body, authorization, media_type, started, send)
        if not answered:
            await self.app(scope, _replay(body, None, receive), send)

    async def _answer(self, scope: Scope, body: bytes, authorization: bytes | None,
                      media_type: str, started: float, send: Send) -> bool:
        try:
            data = self.graphql_app.decode_json(body)
        except (ValueError, JSONTooDeep):
            return False
        if not isinstance(data, dict):
            return False
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not isinstance(query, str | None) or not isinstance(variables, dict | None) or \
                not isinstance(operation_name, str | None) or \
                not (extensions is None or (isinstance(extensions, dict) and
                     extensions.keys() <= {"persistedQuery"})):
            return False
        documents = self.graphql_app.documents
        if extensions or documents.trusted:
            try:
                query = await documents.resolve(query, extensions)
            except DocumentRefused:
                return False  # the general path words the refusal
        if query is None:
            return False
        plan = self.prepared.plan(query, operation_name)
        if plan is None:
            return False
        try:
            viewer = deferred_viewer(bearer_token(authorization.decode("latin-1"))
                                     if authorization is not None else None)
        except DomainError:
            return False  # the general path answers 401
        context = Context(viewer=viewer)
        context.language = language = scope_language(scope)
        tag_request(context.request_id)
        client = scope.get("client")
        context.client_address = client[0] if client else "unknown"
        result = await self.prepared.execute(plan, variables, context)
        if result is None:
            return False
        refused = viewer.load_failure
        content: bytes
        if refused is not None:
            status = 401
            content = bytes(refused_with(language, refused, 401, media_type).body)
        else:
            processed = await self.graphql_app.process_result(None, result)
            status = shape(media_type, result.data, result.errors, processed)
            encoded = self.graphql_app.encode_json(processed)
            content = encoded.encode() if isinstance(encoded, str) else encoded
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", media_type.encode())]})
        await send({"type": "http.response.body", "body": content})
        log_request(context, started, status)
        return True


def _replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then the real channel."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending = [last] if not body else [pending[0], last]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
