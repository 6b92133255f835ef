"""The GraphQL endpoint: strawberry's ASGI view with authentication, request ids, the one-line
request log and JSON-shaped errors, for HTTP and both WebSocket protocols; and the body-size
limit in front of it."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from core.jsonguard import JSONTooDeep, loads_bounded
from core.metrics import observe_request
from core.tracing import tag_request
from resolvers.auth import bearer_token, deferred_viewer, viewer_from_token
from resolvers.errors import DomainError
from resolvers.messages import EN, choose_language, library_refusal, message_for, refusal
from schema.cachecontrol import NO_STORE, CachePolicies, matches, public_headers
from schema.context import Context
from schema.live.protocols import SharedGraphQLWSHandler, SharedTransportWSHandler
from schema.negotiation import GRAPHQL_RESPONSE, JSON, negotiate, shape, streams
from schema.persisted import DocumentRefused, PersistedDocuments
from schema.reads.execute import encode_response

log = logging.getLogger("tongxin.request")


def graphql_error_response(language: str, code: str, status: int, media_type: str | None = None,
                           *, reason: str | None = None, message: str | None = None,
                           **params: Any) -> JSONResponse:
    """A request error in the reader's language: the catalogue's (code, reason) message
    (resolvers/messages.py) unless `message` is already worded. application/graphql-response+json
    answers carry no `data` entry; `reason` is the catalogue's key, not sent."""
    if message is None:
        message = refusal(language, code, reason, **params)
    errors = [{"message": message, "extensions": {"code": code}}]
    return JSONResponse({"errors": errors} if media_type == GRAPHQL_RESPONSE
                        else {"data": None, "errors": errors}, status_code=status)


def scope_language(scope: Scope) -> str:
    """zh-CN or en from a request's (or a WebSocket upgrade's) Accept-Language."""
    return choose_language(next((value.decode("latin-1") for name, value in scope.get("headers") or []
                                 if name == b"accept-language"), None))


def refused_with(language: str, error: DomainError, status: int,
                 media_type: str | None = None) -> JSONResponse:
    """A domain error (a refused token, an account gone) answered before any operation ran."""
    return graphql_error_response(language, error.code, status, media_type, message=message_for(
        language, error.code, error.extensions, error.message))


class Refusal(HTTPException):
    """A refusal of ours while strawberry reads the request: worded from the catalogue."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(400, refusal(EN, "BAD_USER_INPUT", reason, **params))
        self.catalogue_reason = reason
        self.params = params


def log_request(context: Context | None, started: float, status: int) -> None:
    """The one-line request log and the request metrics (core/metrics.py): every HTTP path
    (general, prepared, compiled reads) ends here."""
    seconds = time.perf_counter() - started
    operation = context.operation_name if context else None
    outcome = context.outcome if context else "BAD_USER_INPUT"
    observe_request(operation, outcome, seconds)
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps({
            "requestId": context.request_id if context else None,
            "operation": operation,
            "ms": round(seconds * 1000, 2),
            "status": status,
            "outcome": outcome,
        }))


class AuthFailed(Exception):
    def __init__(self, error: DomainError) -> None:
        self.error = error


class TongxinGraphQL(GraphQL):
    """Strawberry's ASGI app plus auth, request ids, per-request logs and JSON-shaped errors.
    Both WebSocket protocols run with shared (execute-once) subscriptions where the document
    allows it (schema/live/fanout.py)."""

    graphql_transport_ws_handler_class = SharedTransportWSHandler
    graphql_ws_handler_class = SharedGraphQLWSHandler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        started = time.perf_counter()
        accept = request.headers.get("accept")
        media_type = request.state.media_type = negotiate(accept)
        language = request.state.language = scope_language(scope)
        response: Response
        if media_type is None and not streams(accept) and not _asks_for_ide(request, accept):
            response = graphql_error_response(language, "BAD_USER_INPUT", 406,
                                              reason="NOT_ACCEPTABLE")
        else:
            response = await self._answer(request)
        context: Context | None = getattr(request.state, "context", None)
        refused = context.viewer.load_failure if context is not None else None
        if refused is not None:  # a deferred viewer whose account is gone: schema/viewer.py
            response = refused_with(language, refused, 401, media_type)
        if media_type is not None and response.headers.get("content-type") == JSON:
            response.headers["content-type"] = media_type
            if response.status_code == 200:
                response.status_code = getattr(request.state, "graphql_status", 200)
            if request.method == "GET" and response.status_code == 200:
                response = self._cacheable(request, response)
        log_request(context, started, response.status_code)
        await response(scope, receive, send)

    def _cacheable(self, request: Request, response: Response) -> Response:
        """A GET answer with its caching headers (schema/cachecontrol.py), or 304 when the
        client's copy is current."""
        document = getattr(request.state, "document", None)
        max_age = 0
        if document is not None and document[0] is not None and \
                "authorization" not in request.headers and not request.state.had_errors:
            max_age = self.cache_policies.max_age(*document)
        if max_age <= 0:
            response.headers["cache-control"] = NO_STORE
            return response
        headers = public_headers(max_age, bytes(response.body))
        if matches(request.headers.get("if-none-match"), headers["etag"]):
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    async def _answer(self, request: Request) -> Response:
        language = request.state.language
        try:
            return await self.run(request)
        except AuthFailed as failure:
            return refused_with(language, failure.error, 401, request.state.media_type)
        except DocumentRefused as refused:
            # a request error: no data entry, and 4xx only where the media type carries it
            return JSONResponse(
                {"errors": [{"message": refused.worded(language),
                             "extensions": {"code": refused.code}}]},
                status_code=400 if request.state.media_type == GRAPHQL_RESPONSE else 200)
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status is None:
                raise
            if request.method == "GET" and isinstance(exc.__cause__, InvalidOperationTypeError):
                # GET runs queries only: a mutation must not be a link anyone can follow
                not_allowed = graphql_error_response(
                    language, "BAD_USER_INPUT", 405, request.state.media_type,
                    reason="GET_RUNS_QUERIES")
                not_allowed.headers["allow"] = "POST"
                return not_allowed
            if isinstance(exc, Refusal):
                return graphql_error_response(language, "BAD_USER_INPUT", status,
                                              request.state.media_type,
                                              reason=exc.catalogue_reason, **exc.params)
            return graphql_error_response(
                language, "BAD_USER_INPUT", status, request.state.media_type,
                message=library_refusal(language, getattr(exc, "reason", "Bad request.")))

    def _get_stream_transport_from_headers(self, headers: Any) -> Any:
        """Streams (graphql-sse) only for a client that takes no JSON answer: graphql-sse sends
        `Accept: text/event-stream` alone, while urql lists it after the JSON types on every
        query and expects one JSON document."""
        accept = next((value for key, value in headers.items() if key.lower() == "accept"), None)
        if negotiate(accept) is not None:
            return None
        return super()._get_stream_transport_from_headers(headers)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL for a browser opening /graphql; a GET carrying only a persisted-query hash
        is an operation."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    async def parse_http_body(self, request_adapter: Any) -> Any:
        """The request, its document resolved from a persisted-query hash (schema/persisted.py)
        and refused unless trusted when TRUSTED_DOCUMENTS is set."""
        data = await super().parse_http_body(request_adapter)
        if isinstance(data, GraphQLRequestData):
            data.query = await self.documents.resolve(data.query, data.extensions)
        return data

    async def execute_operation(self, request: Request,  # type: ignore[override]
                                request_adapter: Any, request_data: Any, context: Context,
                                root_value: Any, sub_response: Any) -> Any:
        if request.method == "GET" and isinstance(request_data, GraphQLRequestData):
            request.state.document = (request_data.query, request_data.operation_name)
        return await super().execute_operation(request, request_adapter, request_data,
                                               context, root_value, sub_response)  # type: ignore[arg-type]

    async def process_result(self, request: Request | None,  # type: ignore[override]
                             result: ExecutionResult) -> GraphQLHTTPResponse:
        """The result in the negotiated media type; its status waits on request.state for
        __call__ (None: the prepared edge, which shapes its results itself)."""
        processed = await super().process_result(request, result)  # type: ignore[arg-type]
        if request is not None:
            request.state.had_errors = bool(result.errors)
            request.state.graphql_status = shape(request.state.media_type, result.data,
                                                 result.errors, processed)
        return processed

    def encode_json(self, data: object) -> str:
        return encode_response(data)

    def decode_json(self, data: str | bytes) -> object:
        """Bounded nesting for HTTP bodies, GET variables and WebSocket frames alike: a frame
        too deep is undecodable JSON, which graphql-transport-ws closes with 4400."""
        return loads_bounded(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            decoded = self.decode_json(data)
        except JSONTooDeep as error:
            raise Refusal("JSON_TOO_DEEP", limit=error.limit) from None
        except json.JSONDecodeError:
            raise Refusal("NOT_JSON") from None
        if not isinstance(decoded, dict | list):
            raise Refusal("JSON_NOT_OBJECT")
        return decoded

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:  # type: ignore[override]
        context = Context(request=request, response=response)
        context.client_address = request.client.host if request.client else "unknown"
        if isinstance(request, Request):
            tag_request(context.request_id)
            request.state.context = context
            context.compiled_reads = True  # encode_json splices their JSON
            try:
                # Deferred: the account is read by schema/viewer.py's LoadViewer, unless
                # the operation is token-only.
                context.viewer = deferred_viewer(bearer_token(request.headers.get("authorization")))
            except DomainError as error:
                raise AuthFailed(error) from None
        return context

    def __init__(self, *args: Any, shared_subscriptions: bool = True,
                 documents: PersistedDocuments | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = documents or PersistedDocuments()
        self.cache_policies = CachePolicies(self.schema._schema)  # type: ignore[attr-defined]
        if not shared_subscriptions:  # SHARED_SUBSCRIPTIONS=0: every subscriber executes alone
            self.shared_context = None  # type: ignore[assignment,method-assign]

    def shared_context(self, context: Context) -> Context:
        """The context a shared subscription group executes with: the first member's viewer,
        nothing tied to its connection (the group outlives it)."""
        return Context(viewer=context.viewer, client_address=context.client_address,
                       connection_params=context.connection_params, fan_out=True)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("Authorization") or params.get("authorization") or params.get("authToken")
        token = bearer_token(raw) if raw and " " in str(raw) else (str(raw) if raw else None)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers.get("authorization"))
        if isinstance(context.request, WebSocket):
            # The language of its refusals and errors (the headers are released below): a
            # browser cannot set the upgrade's headers, so connection_init's params come first.
            stated = params.get("Accept-Language") or params.get("accept-language")
            context.language = choose_language(
                stated if isinstance(stated, str) else context.request.headers.get("accept-language"))
        try:
            context.viewer = await viewer_from_token(token)
        except DomainError as error:
            language = context.language or choose_language(None)
            message = message_for(language, error.code, error.extensions, error.message)
            context.refusal = message
            raise ConnectionRejectionError({"message": message, "code": error.code}) from None
        if isinstance(context.request, WebSocket):
            # Nothing reads a WebSocket's handshake headers after this point: released rather
            # than kept (with Starlette's parsed copy) for the connection's whole life.
            context.request.scope["headers"] = []
            context.request.__dict__.pop("_headers", None)
        return None


def _asks_for_ide(request: Request, accept: str | None) -> bool:
    """A browser opening /graphql: GraphiQL answers it, whatever the JSON negotiation says."""
    return request.method == "GET" and "query" not in request.query_params and \
        "extensions" not in request.query_params and accept is not None and "text/html" in accept


class BodySizeLimit:
    """Refuses bodies over the limit with 413 before the GraphQL layer reads them. Paths in
    `bounded_elsewhere` (an upload with a larger bound of its own) pass untouched."""

    def __init__(self, app: ASGIApp, max_bytes: int, bounded_elsewhere: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.bounded_elsewhere = bounded_elsewhere

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.bounded_elsewhere:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = graphql_error_response(scope_language(scope), "BAD_USER_INPUT", 413,
                                          reason="BODY_TOO_LARGE", maxBytes=self.max_bytes)
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
