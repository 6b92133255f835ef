"""Tongxin server: the Starlette app assembled from its parts, and the entry point of the
command line (scripts/commands.py). Wiring only, no rules."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # The command line needs none of the app's imports below (`serve` imports this module
    # again as `server` in each worker): a `migrate` or `create-admin` starts in half a second.
    from scripts.commands import main

    sys.exit(main())

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
)
from tortoise import Tortoise

from core import tracing
from core.aio import cancel_and_wait
from core.gcfreeze import freeze_long_lived
from core.health import healthz, readyz
from core.metrics import metrics_endpoint, process_exited, sample_forever
from core.settings import get_settings
from db.asyncpg_replica import watch_replica
from db.config import tortoise_config
from db.metrics import sample_pools, sample_replica, sample_statements
from db.routing import replica_configured
from forum import search
from resolvers import services as service_registry
from resolvers.jobs import start_jobs
from resolvers.signup import install_sign_up_function
from schema import build_schema, home_http
from schema.calendar_http import ROUTES as CALENDAR_ROUTES
from schema.exports_http import ROUTES as EXPORT_ROUTES
from schema.home_http import ROUTES as HOME_ROUTES
from schema.importer_http import PATH as IMPORT_PATH
from schema.importer_http import ROUTES as IMPORT_ROUTES
from schema.insurance_http import ROUTES as INSURANCE_ROUTES
from schema.live.direct import RawSendMiddleware
from schema.pages import ROUTES as PAGES
from schema.persisted import PersistedDocuments, load_manifest
from schema.prepared_edge import PreparedRequests
from schema.transient_http import TransientErrors
from schema.view import BodySizeLimit, TongxinGraphQL

WEB_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")


class WebFiles(StaticFiles):
    """The web client's files with an explicit cache policy instead of the browser's heuristic
    (10 % of the file's age, so none at all just after a deploy): the page itself is always
    revalidated (ETag), so a deploy reaches the next load; its modules, styles and vendored
    libraries are reused for five minutes without asking, so a returning visitor's first paint
    waits for no module request. No build step means no content hashes in the names: a module
    can lag a deploy by at most those five minutes."""

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Any,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ("no-cache" if str(full_path).endswith(".html")
                                             else "public, max-age=300")
        return response


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = get_settings()
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    await install_sign_up_function()  # PostgreSQL: the one-round-trip sign-up (resolvers/signup.py)
    current = await service_registry.build(settings.redis_url)
    service_registry.install(current)
    if settings.search_preload:  # before serving: its ~0.8 s holds the GIL
        await asyncio.to_thread(search.preload)
    jobs = start_jobs()
    # One replica probe per process: the replica's state is its own answer, not the last read's.
    replica_probe = asyncio.create_task(watch_replica()) if replica_configured() else None
    freezer = (asyncio.create_task(freeze_long_lived(settings.gc_freeze_seconds,
                                                     settings.gc_full_seconds))
               if settings.gc_freeze_seconds > 0 else None)
    # Gauges mirroring state kept elsewhere, copied once a second (core/metrics.py).
    sampler = asyncio.create_task(sample_forever(
        [sample_statements, sample_pools, sample_replica, service_registry.sample_broker]))
    drawing = asyncio.create_task(home_http.warm())  # the first visitor's page, drawn already
    try:
        yield
    finally:
        for task in (sampler, drawing):
            await cancel_and_wait(task)
        process_exited()
        await cancel_and_wait(replica_probe)
        await cancel_and_wait(freezer)
        if jobs is not None:
            await jobs.stop()
        await service_registry.shutdown(current)
        await Tortoise.close_connections()


def create_app() -> Starlette:
    settings = get_settings()
    tracing.enable_if_configured()  # OTEL_EXPORTER_OTLP_ENDPOINT: before the schema takes its extensions
    documents = PersistedDocuments(
        load_manifest(settings.trusted_documents) if settings.trusted_documents else None,
        capacity=settings.persisted_queries_kept,
        ttl_seconds=settings.persisted_queries_ttl_seconds,
        redis=lambda: service_registry.services().redis)
    graphql_app = TongxinGraphQL(
        build_schema(introspection=not settings.disable_introspection),
        documents=documents,
        # graphql-sse ("distinct connections"): subscriptions over plain HTTP for networks and
        # proxies that break WebSockets
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL,
                                GRAPHQL_SSE_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=5),
        keep_alive=True,
        keep_alive_interval=15,
        shared_subscriptions=settings.shared_subscriptions,
    )
    # RawSendMiddleware first: it must see the server's own `send` (schema/live/direct.py).
    middleware = [Middleware(RawSendMiddleware, websocket_paths={"/graphql": graphql_app}),
                  Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                             bounded_elsewhere=(IMPORT_PATH,))]
    if settings.prepared_operations:
        middleware.insert(1, Middleware(PreparedRequests, graphql_app=graphql_app))
    if tracing.ENABLED:  # after RawSendMiddleware, before everything that answers
        middleware.insert(1, Middleware(tracing.TracingMiddleware))
    if settings.cors_origins:
        middleware.insert(len(middleware) - 1, Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        ))
    # innermost: the routes' own transient failures (schema/transient_http.py)
    middleware.append(Middleware(TransientErrors))
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *CALENDAR_ROUTES,  # iCalendar feeds (schema/calendar_http.py)
            *INSURANCE_ROUTES,  # insurers' rosters as CSV/XLSX (schema/insurance_http.py)
            *EXPORT_ROUTES,  # rosters and hours as CSV/XLSX (schema/exports_http.py)
            *IMPORT_ROUTES,  # roster upload of the volunteer import (schema/importer_http.py)
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            *PAGES,  # certificate verification and PDF, data-archive download (schema/pages.py)
            # The reference web client (plain ES modules, no build step): web/index.html at /,
            # with a visitor's list drawn in (schema/home_http.py); the rest as files.
            *HOME_ROUTES,
            Mount("/", WebFiles(directory=WEB_ROOT, html=True), name="web"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def __getattr__(name: str) -> Any:
    # `uvicorn server:app` builds the app lazily so importing server.py stays cheap.
    if name == "app":
        return create_app()
    raise AttributeError(name)

