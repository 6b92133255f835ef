"""OpenTelemetry traces (core/tracing.py): one request is a tree of spans (request → GraphQL
operation → resolver → SQL), every span carries the request id the request log shows, no span
holds the document or argument values, and with tracing off nothing is installed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient

from core import tracing
from schema import build_schema
from schema.view import TongxinGraphQL
from tests.helpers import make_volunteer, token_for

# One exporter for the whole run: OpenTelemetry lets a process set its tracer provider once.
EXPORTER = InMemorySpanExporter()
ME = "query WhoAmI($first: Int!) { me { id displayName } activities(first: $first) { totalCount } }"


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    monkeypatch.setenv("COMPILED_READS", "0")  # the general executor: resolvers to trace
    tracing.enable(EXPORTER, batch=False)
    EXPORTER.clear()
    try:
        yield EXPORTER
    finally:
        tracing.disable()
        EXPORTER.clear()


async def test_a_request_is_a_tree_of_spans_carrying_its_request_id(db, traced, caplog):
    # given: a signed-in volunteer and the app with tracing on
    volunteer = await make_volunteer("小林")
    app = tracing.TracingMiddleware(TongxinGraphQL(build_schema()))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    # when: one query
    with caplog.at_level(logging.INFO, logger="tongxin.request"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/graphql", json={"query": ME, "operationName": "WhoAmI", "variables": {"first": 37}},
                headers={"authorization": f"Bearer {token_for(volunteer)}"})
    assert response.json()["data"], response.text
    assert response.json()["data"]["me"]["displayName"] == "小林"
    request_id = next(json.loads(r.getMessage())["requestId"] for r in caplog.records
                      if r.name == "tongxin.request")
    # then: request → operation → resolver → SQL, one trace
    request = next(span for span in traced.get_finished_spans() if span.name == "POST /graphql")
    spans = {span.context.span_id: span for span in traced.get_finished_spans()
             if span.context.trace_id == request.context.trace_id}  # not the set-up's SQL
    by_name = {span.name: span for span in spans.values()}
    operation = by_name["GraphQL Query: WhoAmI"]
    resolver = by_name["GraphQL Resolving: me"]
    sql = [span for span in spans.values() if span.name == "SQL"]
    assert request.parent is None
    assert operation.parent.span_id == request.context.span_id
    assert resolver.parent.span_id == operation.context.span_id
    assert sql and all(span.attributes["db.statement"] for span in sql)
    resolvers = {span.context.span_id for span in spans.values() if "Resolving" in span.name}
    assert {span.parent.span_id for span in sql} <= resolvers | {request.context.span_id}
    assert any(span.parent.span_id in resolvers for span in sql)
    # and: every span carries the request id of the log line
    assert {span.attributes.get(tracing.REQUEST_ID) for span in spans.values()} == {request_id}
    # and: neither the document nor argument values are recorded
    recorded = json.dumps([{k: v for k, v in span.attributes.items() if k != tracing.REQUEST_ID}
                           for span in spans.values()], default=str)  # ids are random hex
    assert "query WhoAmI" not in recorded and "37" not in recorded


async def test_tracing_is_off_unless_configured(monkeypatch):
    # given: no OTLP endpoint
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    # when
    tracing.enable_if_configured()
    # then: no extension, no wrapped database client, no request span
    assert not tracing.ENABLED
    assert tracing.schema_extensions() == []
    assert not getattr(AsyncpgDBClient.execute_query, "_traced", False)
    assert not getattr(SqliteClient.execute_query, "_traced", False)
