"""OpenTelemetry traces: a span per HTTP request, per GraphQL operation, per resolver and per
SQL statement, each carrying the request id (`tongxin.request_id`).

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; then
spans go to that collector over OTLP/HTTP in batches (the exporter reads the other standard
OTEL_* variables: headers, service name as OTEL_SERVICE_NAME...). Off, nothing is installed:
the request path pays one boolean test, the schema has no tracing extension and the database
clients are not wrapped.

Spans hold names and ids only: no document text and no argument values (a login mutation's
password is an argument), so a trace store is not a second copy of what users sent.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Generator, Iterator
from typing import Any

ENABLED = False
REQUEST_ID = "tongxin.request_id"
_SQL_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
                "execute_script")
_wrapped: list[tuple[type, str, Any]] = []  # (class, method name, its own method)


def configured() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enable(exporter: Any = None, *, batch: bool = True) -> None:
    """Install the tracer provider (the OTLP exporter unless one is given: tests pass the
    SDK's InMemorySpanExporter, unbatched) and the SQL spans."""
    global ENABLED
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", "tongxin")}))
    provider.add_span_processor(_request_id_processor())
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch
                                else SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _trace_sql()
    ENABLED = True


def disable() -> None:
    """Back to off: schemas built from now on have no tracing extension and the database
    clients their own methods again (the tracer provider stays: OpenTelemetry sets it once)."""
    global ENABLED
    ENABLED = False
    for cls, name, method in _wrapped:
        setattr(cls, name, method)
    _wrapped.clear()


def enable_if_configured() -> None:
    if configured() and not ENABLED:
        enable()


def schema_extensions() -> list[Any]:
    """Strawberry's OpenTelemetry extension (operation and resolver spans) when tracing is on."""
    if not ENABLED:
        return []
    from strawberry.extensions.tracing import OpenTelemetryExtension

    class Operations(OpenTelemetryExtension):
        """Strawberry's spans without the document text (it may hold literal arguments)."""

        def on_operation(self) -> Generator[None, None, None]:
            self.execution_context.query, query = None, self.execution_context.query
            try:
                generator = super().on_operation()
                next(generator)
            finally:
                self.execution_context.query = query
            yield
            with contextlib.suppress(StopIteration):
                next(generator)

    return [functools.partial(Operations, arg_filter=lambda args, info: {})]


@contextlib.contextmanager
def request_span(name: str) -> Iterator[None]:
    """The request's root span (a no-op while tracing is off)."""
    if not ENABLED:
        yield
        return
    from opentelemetry import trace

    with trace.get_tracer("tongxin").start_as_current_span(name, kind=trace.SpanKind.SERVER):
        yield


def tag_request(request_id: str, operation: str | None = None) -> None:
    """Puts the request id (and operation name) on the current request span; spans started
    under it copy the id (RequestIdProcessor)."""
    if not ENABLED:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    span.set_attribute(REQUEST_ID, request_id)
    if operation:
        span.set_attribute("graphql.operation.name", operation)


def _request_id_processor() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanProcessor

    class RequestIdProcessor(SpanProcessor):
        """Copies the parent span's request id onto each new span, so that every span of a
        request (operation, resolver, SQL) is found by the id the request log shows."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            parent = trace.get_current_span(parent_context)
            request_id = (getattr(parent, "attributes", None) or {}).get(REQUEST_ID)
            if request_id is not None:
                span.set_attribute(REQUEST_ID, request_id)

    return RequestIdProcessor()


def _trace_sql() -> None:
    """Wraps the Tortoise clients' statement methods in a span each (once per process)."""
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
    from tortoise.backends.base_postgres.client import BasePostgresClient
    from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

    systems: dict[type, str] = {BasePostgresClient: "postgresql", AsyncpgDBClient: "postgresql",
                                TransactionWrapper: "postgresql", SqliteClient: "sqlite",
                                SqliteTransactionWrapper: "sqlite"}
    for cls, system in systems.items():
        for name in _SQL_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_traced", False):
                _wrapped.append((cls, name, method))
                setattr(cls, name, _sql_span(method, system))


def _sql_span(method: Callable[..., Any], system: str) -> Callable[..., Any]:
    from opentelemetry import trace

    tracer = trace.get_tracer("tongxin.sql")

    @functools.wraps(method)
    async def traced(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        with tracer.start_as_current_span("SQL", kind=trace.SpanKind.CLIENT) as span:
            span.set_attribute("db.system", system)
            span.set_attribute("db.statement", query)  # parameters stay out: $1, ? placeholders
            span.set_attribute("db.connection", getattr(self, "connection_name", ""))
            return await method(self, query, *args, **kwargs)

    traced._traced = True  # type: ignore[attr-defined]
    return traced


class TracingMiddleware:
    """The request span around each HTTP request; installed only while tracing is on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_span(f"{scope['method']} {scope['path']}"):
            await self.app(scope, receive, send)
