"""`/healthz` (liveness) and `/readyz` (readiness), for load balancers and orchestrators.

Liveness answers from the event loop alone: a node whose database is down is not helped by a
restart, so that check must not depend on it. Readiness says whether this node can serve now:

- `database`: `SELECT 1` on the primary, bounded by CHECK_TIMEOUT_SECONDS. Failing: 503.
- `migrations`: the applied tortoise migrations against the files in migrations/ (cached once
  current: the files do not change under a running process). Failing: 503.
- `redis` (REDIS_URL set): `PING`, bounded. Failing: 503, since rate limits, persisted queries
  and other nodes' live updates depend on it.
- `pubsub` (REDIS_URL set): the broker's connection state. Reconnecting (the connection was
  lost, or Redis was down when this worker started: the broker starts without it rather than
  fail the worker's start-up): 200 "degraded"; requests are served and live updates resume
  with a fresh read once it is back.
- `replica` (DATABASE_READ_URL set): the probe's state (db.routing.replica_health).
  Unreachable: 200 "degraded"; its reads go to the primary, so taking the node out of a load
  balancer would help nobody (every node shares the replica).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise import connections

from db.routing import replica_configured, replica_health
from resolvers import services as service_registry

CHECK_TIMEOUT_SECONDS = 1.0
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATIONS_APP = "models"
_migrations_current = False


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def database_check() -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await connections.get("default").execute_query("SELECT 1")
    except Exception as error:  # any failure means not ready
        return _failure(error)
    return "ok"


def migrations_on_disk() -> set[str]:
    return {path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py")}


async def migrations_check() -> str:
    global _migrations_current
    if _migrations_current:
        return "ok"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            _, rows = await connections.get("default").execute_query(
                "SELECT name FROM tortoise_migrations WHERE app = 'models'")
    except Exception as error:  # no table yet reads as nothing applied
        return f"not applied ({_failure(error)})"
    pending = sorted(migrations_on_disk() - {row["name"] for row in rows})
    if pending:
        return "pending: " + ", ".join(pending)
    _migrations_current = True
    return "ok"


async def redis_check() -> str:
    redis = service_registry.services().redis
    assert redis is not None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception as error:
        return _failure(error)
    return "ok"


async def readyz(request: Request) -> Response:
    required = {"database": await database_check()}
    required["migrations"] = await migrations_check() if required["database"] == "ok" \
        else "unknown"
    informational: dict[str, str] = {}
    current = service_registry.services()
    if current.redis is not None:
        required["redis"] = await redis_check()
        informational["pubsub"] = "ok" if current.broker.connected else "reconnecting"
    if replica_configured():
        informational["replica"] = "ok" if replica_health.reachable \
            else f"unreachable ({replica_health.last_error}): reading the primary"
    if any(value != "ok" for value in required.values()):
        status, code = "unavailable", 503
    elif any(value != "ok" for value in informational.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JSONResponse({"status": status, **required, **informational}, status_code=code)
