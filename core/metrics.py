"""Prometheus metrics: every metric the server exports, in one place, and the `/metrics` answer.

With several uvicorn workers, each is a process of its own: prometheus_client's multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, set by `server.py serve` before the workers start, one empty
folder per run) lets any worker answer a scrape for all of them. It picks the storage when
prometheus_client is first imported, so a process that imported it before the variable was
set keeps its metrics in memory and answers for itself alone (a one-worker server).

Labels have bounded values only: operation names are capped per process (`operation_label`),
limits and jobs are names from the code, fields are the schema's subscription fields; never a
user id or a document. docs/operations.md lists every metric.

Recording is one lock and one memory write per sample; the hot paths record once per request
or statement. Gauges that mirror state kept elsewhere (replica and broker health, pool use,
subscribers) are copied by a one-second sampler per process (`sample_forever`) rather than
written by the code that keeps that state.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import re
import shutil
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from core.settings import get_settings

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
# METRICS=0 records nothing (every metric is _Off): for measuring what the metrics cost.
RECORDING = os.environ.get("METRICS", "1") != "0"


class _Off:
    def labels(self, *values: str) -> _Off:
        return self

    def inc(self, amount: float = 1.0) -> None:
        return None

    dec = set = observe = inc


def _metric(kind: type, name: str, documentation: str, *args: Any, **kwargs: Any) -> Any:
    return kind(name, documentation, *args, **kwargs) if RECORDING else _Off()


# Request latencies: 1 ms (a compiled read) to 10 s (a timeout).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Live delivery and coalescing: a frame within one coalescing interval (50 ms) up to the 2 s cap.
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
POOL_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)

REQUESTS = _metric(Counter,
    "tongxin_requests", "GraphQL HTTP requests answered, by operation name and outcome code "
    "(OK, or the first error's extensions.code).", ["operation", "outcome"])
REQUEST_SECONDS = _metric(Histogram,
    "tongxin_request_seconds", "Time from a GraphQL HTTP request's arrival to its answer, by "
    "operation name.", ["operation"], buckets=LATENCY_BUCKETS)
SQL_STATEMENTS = _metric(Counter,
    "tongxin_sql_statements", "SQL statements sent, by connection (default: the primary; "
    "replica).", ["connection"])
POOL_WAIT_SECONDS = _metric(Histogram,
    "tongxin_db_pool_wait_seconds", "Time spent waiting for a PostgreSQL pool connection, by "
    "connection.", ["connection"], buckets=POOL_WAIT_BUCKETS)
POOL_CONNECTIONS = _metric(Gauge,
    "tongxin_db_pool_connections", "PostgreSQL pool connections by state (in_use, idle, max), "
    "summed over live workers.", ["connection", "state"], multiprocess_mode="livesum")
BROKER_CONNECTED = _metric(Gauge,
    "tongxin_broker_connected", "1 while every live worker's Redis pub/sub connection is up, "
    "0 while any is reconnecting (the in-process broker is always 1).",
    multiprocess_mode="livemin")
BROKER_RECONNECTS = _metric(Counter,
    "tongxin_broker_reconnects", "Redis pub/sub reconnections completed (each one re-reads "
    "the watched state from the database).")
REPLICA_UP = _metric(Gauge,
    "tongxin_replica_up", "1 while every live worker reads from the read replica, 0 while any "
    "has it marked unreachable (reads then go to the primary), by connection (replica); "
    "absent without a replica.", ["connection"], multiprocess_mode="livemin")
SUBSCRIBERS = _metric(Gauge,
    "tongxin_subscribers", "Running subscriptions (WebSocket operations), by subscription "
    "field.", ["field"], multiprocess_mode="livesum")
DELIVERY_SECONDS = _metric(Histogram,
    "tongxin_live_delivery_seconds", "Time from the commit of a change (slot counts, a new "
    "help request) to its frame written to the subscribers' sockets, by subscription field.",
    ["field"], buckets=DELIVERY_BUCKETS)
COALESCE_SECONDS = _metric(Histogram,
    "tongxin_slot_coalesce_seconds", "Time a slot-count change waits in its activity's "
    "coalescer before it is flushed to the watchers.", buckets=DELIVERY_BUCKETS)
JOB_LAST_SUCCESS = _metric(Gauge,
    "tongxin_job_last_success_timestamp_seconds", "Unix time of the last run of a background "
    "job that ended without an error, by job (offers, attendance, points-expiry).", ["job"],
    multiprocess_mode="max")
JOB_FAILURES = _metric(Counter,
    "tongxin_job_failures", "Background job runs that raised, by job.", ["job"])
RATE_LIMITED = _metric(Counter,
    "tongxin_rate_limited", "Attempts refused by a rate limit, by limit (login:phone and "
    "login:addr are the login throttles).", ["limit"])

OPERATION_LABELS_MAX = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_operation_labels: dict[str | None, str] = {None: "anonymous"}


def operation_label(name: str | None) -> str:
    """The operation's name as a label: any client may name its operations, so only the first
    OPERATION_LABELS_MAX distinct names a process sees are kept; later ones read "other"."""
    label = _operation_labels.get(name)
    if label is None:
        assert name is not None
        if len(_operation_labels) > OPERATION_LABELS_MAX or not _OPERATION_NAME.fullmatch(name):
            return "other"
        label = _operation_labels[name] = name
    return label


_request_children: dict[tuple[str, str], tuple[Callable[[], None], Callable[[float], None]]] = {}


def observe_request(operation: str | None, outcome: str, seconds: float) -> None:
    """Once per request: the labelled children are looked up once per (operation, outcome),
    not per call (`labels()` costs as much as the increment)."""
    key = (operation_label(operation), outcome)
    children = _request_children.get(key)
    if children is None:
        children = _request_children[key] = (REQUESTS.labels(*key).inc,
                                             REQUEST_SECONDS.labels(key[0]).observe)
    count, observe = children
    count()
    observe(seconds)


def observe_delivery(field: str, committed_at: float) -> None:
    """A frame carrying a change committed at `committed_at` (Unix time) has been written."""
    DELIVERY_SECONDS.labels(field).observe(max(0.0, time.time() - committed_at))


def rate_limit_label(key: str) -> str:
    """`login:addr:1.2.3.4` -> `login:addr`; `certificate:42` -> `certificate`."""
    kind, _, rest = key.partition(":")
    scope = rest.partition(":")[0]
    return f"{kind}:{scope}" if scope in ("addr", "phone") else kind


def prepare_multiprocess_dir(path: str | None) -> str:
    """An empty folder for this run's metric files: the one given (emptied: files of an earlier
    run would add their counts to this one's), else a new temporary one."""
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
        return path
    import tempfile

    return tempfile.mkdtemp(prefix="tongxin-metrics-")


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: every live and past worker of this run when multiprocess."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def token_matches(expected: str, authorization: str | None) -> bool:
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), expected.encode())


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics for a scraper holding METRICS_TOKEN (`Authorization: Bearer …`). Without
    the setting there is no endpoint (404): the figures say how busy the service is and which
    operations fail, which is not for the public."""
    token = get_settings().metrics_token
    if token is None:
        return PlainTextResponse("Not Found", status_code=404)
    if not token_matches(token, request.headers.get("authorization")):
        return PlainTextResponse("Unauthorized", status_code=401,
                                 headers={"www-authenticate": 'Bearer realm="metrics"'})
    body, content_type = exposition()
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})


def process_exited() -> None:
    """A worker stopping: its live gauges stop counting (its counters stay in the totals)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())


Sampler = Callable[[], None]


async def sample_forever(samplers: list[Sampler], interval: float = 1.0) -> None:
    """Runs the samplers every `interval`, and once more when cancelled (a stopping worker's
    last counts)."""
    try:
        while True:
            for sample in samplers:
                sample()
            await asyncio.sleep(interval)
    finally:
        for sample in samplers:
            sample()

