"""Tongxin server: the Starlette app and the command line. Wiring only, no rules."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from tortoise import Tortoise, connections

from core.jsonguard import JSONTooDeep, loads_bounded
from core.logconfig import configure_logging, log_level, logging_config
from core.settings import ConfigurationError, get_settings
from db.config import tortoise_config
from db.routing import replica_configured, replica_health
from resolvers import services as service_registry
from resolvers.auth import bearer_token, deferred_viewer, viewer_from_token
from resolvers.errors import DomainError
from resolvers.jobs import start_jobs
from resolvers.signup import install_sign_up_function
from schema import build_schema
from schema.context import Context
from schema.live.direct import RawSendMiddleware
from schema.live.protocols import SharedGraphQLWSHandler, SharedTransportWSHandler
from schema.reads.execute import encode_response

log = logging.getLogger("tongxin.request")
WEB_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")


def graphql_error_response(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status)


def log_request(context: Context | None, started: float, status: int) -> None:
    """The one-line request log."""
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps({
            "requestId": context.request_id if context else None,
            "operation": context.operation_name if context else None,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "status": status,
            "outcome": context.outcome if context else "BAD_USER_INPUT",
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
        try:
            response = await self.run(request)
        except AuthFailed as failure:
            response = graphql_error_response(failure.error.message, failure.error.code, 401)
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status is None:
                raise
            reason = getattr(exc, "reason", "Bad request.")
            response = graphql_error_response(reason, "BAD_USER_INPUT", status)
        context: Context | None = getattr(request.state, "context", None)
        refused = context.viewer.load_failure if context is not None else None
        if refused is not None:  # a deferred viewer whose account is gone: schema/viewer.py
            response = graphql_error_response(refused.message, refused.code, 401)
        log_request(context, started, response.status_code)
        await response(scope, receive, send)

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
            raise HTTPException(400, f"Request JSON is nested deeper than {error.limit} levels.") from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON.") from None
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "Request JSON (the body, or the variables parameter) must be an object.")
        return decoded

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:  # type: ignore[override]
        context = Context(request=request, response=response)
        context.client_address = request.client.host if request.client else "unknown"
        if isinstance(request, Request):
            request.state.context = context
            context.compiled_reads = True  # encode_json splices their JSON
            try:
                # Deferred: the account is read by schema/viewer.py's LoadViewer, unless
                # the operation is token-only.
                context.viewer = deferred_viewer(bearer_token(request.headers.get("authorization")))
            except DomainError as error:
                raise AuthFailed(error) from None
        return context

    def __init__(self, *args: Any, shared_subscriptions: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not shared_subscriptions:  # SHARED_SUBSCRIPTIONS=0: every subscriber executes alone
            self.shared_context = None  # type: ignore[assignment,method-assign]

    def shared_context(self, context: Context) -> Context:
        """The context a shared subscription group executes with: the first member's viewer,
        nothing tied to its connection (the group outlives it)."""
        return Context(viewer=context.viewer, client_address=context.client_address,
                       connection_params=context.connection_params)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("Authorization") or params.get("authorization") or params.get("authToken")
        token = bearer_token(raw) if raw and " " in str(raw) else (str(raw) if raw else None)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers.get("authorization"))
        try:
            context.viewer = await viewer_from_token(token)
        except DomainError as error:
            raise ConnectionRejectionError({"message": error.message, "code": error.code}) from None
        if isinstance(context.request, WebSocket):
            # Nothing reads a WebSocket's handshake headers after this point: released rather
            # than kept (with Starlette's parsed copy) for the connection's whole life.
            context.request.scope["headers"] = []
            context.request.__dict__.pop("_headers", None)
        return None


class PreparedRequests:
    """POST /graphql requests for a prepared operation (schema/prepared.py), answered without
    the layers in between: Starlette's routing and exception middleware, CORS, strawberry's
    HTTP view. Everything else, and any request these conditions do not fully cover, passes
    on untouched (the body it read is replayed): a plain JSON POST (no Origin header, so CORS
    has nothing to add; no streaming Accept), a declared body of at most PREPARED_MAX_BODY
    bytes, a token that verifies, a document that is prepared, variables that coerce, inputs
    within bounds. The response is built by the same strawberry methods (process_result,
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
        length = authorization = None
        plain = True
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-type":
                plain = plain and b"application/json" in value
            elif name == b"origin" or (name == b"accept" and (b"text/event-stream" in value
                                                               or b"multipart" in value)):
                plain = False
        if not plain or length is None or not length.isdigit() or \
                int(length) > self.PREPARED_MAX_BODY:
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
        answered = await self._answer(scope, body, authorization, started, send)
        if not answered:
            await self.app(scope, _replay(body, None, receive), send)

    async def _answer(self, scope: Scope, body: bytes, authorization: bytes | None,
                      started: float, send: Send) -> bool:
        try:
            data = self.graphql_app.decode_json(body)
        except (ValueError, JSONTooDeep):
            return False
        if not isinstance(data, dict):
            return False
        query, variables = data.get("query"), data.get("variables")
        operation_name = data.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict | None) or \
                not isinstance(operation_name, str | None) or data.get("extensions") is not None:
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
        client = scope.get("client")
        context.client_address = client[0] if client else "unknown"
        result = await self.prepared.execute(plan, variables, context)
        if result is None:
            return False
        refused = viewer.load_failure
        content: bytes
        if refused is not None:
            status = 401
            content = bytes(graphql_error_response(refused.message, refused.code, 401).body)
        else:
            encoded = self.graphql_app.encode_json(
                await self.graphql_app.process_result(None, result))  # type: ignore[arg-type]
            content = encoded.encode() if isinstance(encoded, str) else encoded
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", b"application/json")]})
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


class BodySizeLimit:
    """Refuses bodies over the limit with 413 before the GraphQL layer reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
        response = graphql_error_response(
            f"Request body larger than {self.max_bytes} bytes.", "BAD_USER_INPUT", 413
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


async def healthz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # the probe reports any failure as unhealthy
        checks["database"] = type(exc).__name__
    redis = service_registry.services().redis
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
    healthy = all(value == "ok" for value in checks.values())
    if replica_configured():  # informational: while it is down, reads go to the primary
        checks["replica"] = "ok" if replica_health.usable() else "unreachable: reading the primary"
    return JSONResponse({"status": "ok" if healthy else "unavailable", **checks},
                        status_code=200 if healthy else 503)


async def freeze_long_lived(freeze_seconds: float, full_seconds: float) -> None:
    """Keeps Python's cyclic GC from pausing the loop for seconds with many connections.

    10,000 WebSocket connections are ~1.6 M GC-tracked objects; a full (gen-2) collection
    over them stops the event loop for 1–2 s, and one ran every few seconds while they
    connected (bench.slots p99 > 2 s). Every `freeze_seconds` the young generations are
    collected and what survived is frozen (gc.freeze: moved out of the collected
    generations), so collections only scan what is new. Frozen objects are still freed by
    reference counting; only cyclic garbage among them waits for the full collection that
    runs every `full_seconds` (unfreeze, collect, freeze)."""
    import gc

    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_seconds)
        if full_seconds and time.monotonic() - last_full >= full_seconds:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        else:
            gc.collect(1)
        gc.freeze()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = get_settings()
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    await install_sign_up_function()  # PostgreSQL: the one-round-trip sign-up (resolvers/signup.py)
    current = await service_registry.build(settings.redis_url)
    service_registry.install(current)
    jobs = start_jobs()
    freezer = (asyncio.create_task(freeze_long_lived(settings.gc_freeze_seconds,
                                                     settings.gc_full_seconds))
               if settings.gc_freeze_seconds > 0 else None)
    try:
        yield
    finally:
        if freezer is not None:
            freezer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await freezer
        if jobs is not None:
            await jobs.stop()
        await service_registry.shutdown(current)
        await Tortoise.close_connections()


def create_app() -> Starlette:
    settings = get_settings()
    graphql_app = TongxinGraphQL(
        build_schema(introspection=not settings.disable_introspection),
        connection_init_wait_timeout=timedelta(seconds=5),
        keep_alive=True,
        keep_alive_interval=15,
        shared_subscriptions=settings.shared_subscriptions,
    )
    # RawSendMiddleware first: it must see the server's own `send` (schema/live/direct.py).
    middleware = [Middleware(RawSendMiddleware, websocket_paths={"/graphql": graphql_app}),
                  Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)]
    if settings.prepared_operations:
        middleware.insert(1, Middleware(PreparedRequests, graphql_app=graphql_app))
    if settings.cors_origins:
        middleware.insert(len(middleware) - 1, Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        ))
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            # The reference web client (plain ES modules, no build step): web/index.html at /.
            Mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def __getattr__(name: str) -> Any:
    # `uvicorn server:app` builds the app lazily so importing server.py stays cheap.
    if name == "app":
        return create_app()
    raise AttributeError(name)


# ---------------------------------------------------------------- command line


async def _with_db(work: Any) -> Any:
    await Tortoise.init(config=tortoise_config(get_settings().database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(_: argparse.Namespace) -> int:
    from resolvers.maintenance import apply_migrations

    asyncio.run(apply_migrations(get_settings().database_url))
    print("migrations applied")
    return 0


def cmd_check_migrations(_: argparse.Namespace) -> int:
    from resolvers.maintenance import pending_model_changes

    pending = asyncio.run(pending_model_changes())
    if pending:
        print("models changed without a migration; run `tortoise makemigrations`:", *pending)
        return 1
    print("migrations match the models")
    return 0


def cmd_seed_demo(_: argparse.Namespace) -> int:
    from resolvers.demo import seed_demo

    created = asyncio.run(_with_db(seed_demo))
    print("demo data loaded" if created else "demo data already present")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from resolvers.maintenance import create_admin

    try:
        asyncio.run(_with_db(lambda: create_admin(args.phone, args.password, args.name, args.id_number,
                                                  args.district)))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print("platform admin ready")
    return 0


async def _with_services(work: Any) -> Any:
    current = await service_registry.build(get_settings().redis_url)
    service_registry.install(current)
    try:
        return await work()
    finally:
        await service_registry.shutdown(current)


def cmd_import_volunteers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from resolvers.importer import format_report, import_volunteers

    try:
        report = asyncio.run(_with_db(lambda: import_volunteers(
            Path(args.file), error_file=Path(args.errors) if args.errors else None,
            batch_size=args.batch_size)))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 1 if report.failed else 0


def cmd_rebuild_leaderboards(_: argparse.Namespace) -> int:
    from resolvers.leaderboard import rebuild_all

    if not get_settings().redis_url:
        print("no REDIS_URL: leaderboards are answered from SQL, nothing to rebuild")
        return 0
    count = asyncio.run(_with_db(lambda: _with_services(rebuild_all)))
    print(f"{count} leaderboards rebuilt")
    return 0


def cmd_rebuild_stats(_: argparse.Namespace) -> int:
    from resolvers.stats import rebuild_stats

    report = asyncio.run(_with_db(rebuild_stats))
    print(f"stats rebuilt from service records in {report.seconds:.1f} s: "
          f"{report.months} district-month rows, {report.volunteers_changed} volunteers' "
          "last approval corrected")
    from resolvers.project import rebuild_project_stats

    projects = asyncio.run(_with_db(rebuild_project_stats))
    print(f"project statistics rebuilt: {projects} projects with approved hours")
    return 0


def cmd_expire_points(args: argparse.Namespace) -> int:
    from resolvers.timebank import do_expire_points

    expired = asyncio.run(_with_db(lambda: do_expire_points(months=args.months)))
    print(f"{expired} points expired")
    return 0


def cmd_drain_sms(args: argparse.Namespace) -> int:
    from resolvers.notification import drain_sms_outbox

    async def drain() -> int:
        total = 0
        while True:
            sent = await drain_sms_outbox(limit=args.batch)
            total += sent
            if not args.forever:
                return total
            await asyncio.sleep(args.interval if sent == 0 else 0)

    sent = asyncio.run(_with_db(drain))
    print(f"{sent} SMS sent")
    return 0


def cmd_export_schema(_: argparse.Namespace) -> int:
    print(build_schema(introspection=True).as_str())
    return 0


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


WS_PROTOCOLS = {"lean-sansio": "schema.live.direct:LeanSansIOProtocol"}


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or os.environ.get("HOST", "127.0.0.1")
    port = int(args.port or os.environ.get("PORT", "8000"))
    workers = int(args.workers or os.environ.get("WORKERS", "1"))
    if not _port_free(host, port):
        print(f"error: port {port} on {host} is already in use. Stop the other server or set PORT=...",
              file=sys.stderr)
        return 1
    get_settings()  # fail fast on configuration errors, before forking workers
    if os.environ.get("SKIP_MIGRATIONS") != "1":
        from resolvers.maintenance import apply_migrations

        asyncio.run(apply_migrations(get_settings().database_url))
    print(f"Tongxin on http://{host}:{port}/graphql ({workers} worker(s), "
          f"{'PostgreSQL' if not get_settings().embedded else 'SQLite'}, "
          f"{'Redis' if get_settings().redis_url else 'in-process'} pub/sub)", flush=True)
    uvicorn.run(
        "server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_level()),  # applied in each worker: core/logconfig.py
        log_level=log_level().lower(),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Messages are small JSON frames: compressing each costs CPU per subscriber, saves little.
        ws_per_message_deflate=False,
        ws=WS_PROTOCOLS.get(get_settings().ws_protocol, get_settings().ws_protocol),
        timeout_graceful_shutdown=5,
        # Idle HTTP keep-alive connections stay open 75 s (uvicorn's default is 5 s). A client
        # or load balancer reusing a pooled connection at the moment the server closes it gets
        # a reset (httpx.ReadError in the flash-crowd test and bench after a pause of a few
        # seconds); the server's idle timeout must outlast theirs (nginx 75 s, ALB 60 s).
        timeout_keep_alive=75,
        # A spawned worker answers uvicorn's health check only once it has imported the schema
        # (~2.5 s of CPU): past uvicorn's default 5 s on a busy host the supervisor kills and
        # respawns every worker in a loop, and none ever serves.
        timeout_worker_healthcheck=30,
        access_log=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging(log_level())
    parser = argparse.ArgumentParser(prog="server.py", description="Tongxin GraphQL server")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve GraphQL (default)")
    serve.add_argument("--host")
    serve.add_argument("--port")
    serve.add_argument("--workers")
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    commands.add_parser("check-migrations", help="fail if models changed without a migration"
                        ).set_defaults(func=cmd_check_migrations)
    commands.add_parser("seed-demo", help="load demo data (idempotent)").set_defaults(func=cmd_seed_demo)
    admin = commands.add_parser("create-admin", help="create or promote a platform admin")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--id-number", help="resident ID number (a valid one is generated if omitted)")
    admin.add_argument("--district", default="市级")
    admin.set_defaults(func=cmd_create_admin)
    drain = commands.add_parser("drain-sms", help="send queued SMS through SMS_GATEWAY")
    drain.add_argument("--batch", type=int, default=100)
    drain.add_argument("--forever", action="store_true", help="keep polling the outbox")
    drain.add_argument("--interval", type=float, default=5.0)
    drain.set_defaults(func=cmd_drain_sms)
    commands.add_parser("export-schema", help="print the SDL").set_defaults(func=cmd_export_schema)
    importer = commands.add_parser("import-volunteers", help="import a roster (CSV or XLSX) as "
                                   "PENDING_CONSENT volunteers; writes a per-row error report")
    importer.add_argument("file")
    importer.add_argument("--errors", help="error report path (default: FILE.errors.csv)")
    importer.add_argument("--batch-size", type=int, default=1000)
    importer.set_defaults(func=cmd_import_volunteers)
    commands.add_parser("rebuild-leaderboards", help="rebuild the Redis leaderboards from the "
                        "database").set_defaults(func=cmd_rebuild_leaderboards)
    expire = commands.add_parser("expire-points", help="expire time-bank points older than "
                                 "POINTS_EXPIRE_MONTHS (off when 0, the default)")
    expire.add_argument("--months", type=int, default=None, help="override the setting")
    expire.set_defaults(func=cmd_expire_points)
    commands.add_parser("rebuild-stats", help="recompute the stats summaries from the service "
                        "records").set_defaults(func=cmd_rebuild_stats)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
