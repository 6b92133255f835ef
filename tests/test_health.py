"""/healthz (liveness) and /readyz (readiness, core/health.py), on both backends. The test
database is made by `generate_schemas`, so it starts with no migration recorded; the fixture
records them the way `server.py migrate` does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis
from tortoise import connections
from tortoise.connection import ConnectionHandler
from tortoise.migrations.recorder import MigrationRecorder

from core import health
from core.health import MIGRATIONS_APP, healthz, migrations_on_disk, readyz
from resolvers import services as service_registry
from resolvers.ratelimit import MemoryLimiter
from subscriptions.broker import MemoryBroker
from tests.activity.proxy import TcpProxy
from tests.conftest import Backend
from tests.helpers import make_volunteer, token_for
from tests.live import free_port, start_server

Record = Callable[[set[str]], Awaitable[None]]


async def _ready() -> tuple[int, dict[str, str]]:
    response = await readyz(None)  # type: ignore[arg-type]
    return response.status_code, dict(json.loads(bytes(response.body)))


@pytest.fixture
async def record_migrations(db: Backend, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Record]:
    """Records the given migrations as applied; drops the record table afterwards."""
    monkeypatch.setattr(health, "_migrations_current", False)
    connection = connections.get("default")
    key, stamp = ("SERIAL", "TIMESTAMPTZ") if db.postgres else ("INTEGER", "TIMESTAMP")
    created = False

    async def record(names: set[str]) -> None:
        nonlocal created
        if not created:
            await connection.execute_script(
                f"CREATE TABLE tortoise_migrations (id {key} PRIMARY KEY, app VARCHAR(255) NOT NULL, "
                f"name VARCHAR(255) NOT NULL, applied_at {stamp} NOT NULL)")
            created = True
        recorder = MigrationRecorder(connection)
        for name in sorted(names):
            await recorder.record_applied(MIGRATIONS_APP, name)

    try:
        yield record
    finally:
        if created:
            await connection.execute_script("DROP TABLE tortoise_migrations")


async def test_liveness_answers_without_asking_the_database(
        db: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a database nobody may ask
    def no_database(name: str) -> Any:
        raise AssertionError("liveness must not touch the database")

    # On the handler's class, not on tortoise's `connections` proxy: undoing a patch of the
    # proxy would leave the then-current handler's bound `get` on it for good (the next
    # backend's tests would run on this one's client).
    monkeypatch.setattr(ConnectionHandler, "get", no_database)
    # when
    response = await healthz(None)  # type: ignore[arg-type]
    # then
    assert response.status_code == 200 and json.loads(bytes(response.body)) == {"status": "ok"}


async def test_readiness_waits_for_every_migration_on_disk(record_migrations: Record) -> None:
    # given: a database nobody migrated
    code, body = await _ready()
    # then: not ready, and it says why
    assert code == 503 and body["status"] == "unavailable", body
    assert body["database"] == "ok" and body["migrations"].startswith("not applied ("), body
    # when: all but the newest migration are applied
    on_disk = migrations_on_disk()
    newest = max(on_disk)
    await record_migrations(on_disk - {newest})
    code, body = await _ready()
    # then: still not ready, naming the one missing
    assert code == 503 and body["migrations"] == f"pending: {newest}", body
    # when: the last one is applied
    await record_migrations({newest})
    code, body = await _ready()
    # then: ready
    assert code == 200 and body["status"] == "ok" and body["migrations"] == "ok", body


@pytest.fixture
async def services_with(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[
        Callable[[Redis, MemoryBroker], None]]:
    saved = service_registry.services()
    made: list[Redis] = []

    def install(redis: Redis, broker: MemoryBroker) -> None:
        made.append(redis)
        service_registry.install(service_registry.Services(
            broker=broker, limiter=MemoryLimiter(), redis=redis))

    try:
        yield install
    finally:
        service_registry.install(saved)
        for redis in made:
            await redis.aclose()


async def test_readiness_fails_while_redis_cannot_be_reached(
        record_migrations: Record, services_with: Callable[[Redis, MemoryBroker], None]) -> None:
    # given: a migrated database, and REDIS_URL pointing where nobody answers
    await record_migrations(migrations_on_disk())
    services_with(Redis(port=free_port(), socket_connect_timeout=0.5), MemoryBroker())
    # when
    code, body = await _ready()
    # then
    assert code == 503 and body["status"] == "unavailable", body
    assert body["database"] == body["migrations"] == "ok"
    assert body["redis"] != "ok", body


async def test_readiness_is_degraded_not_lost_while_pubsub_reconnects(
        db: Backend, record_migrations: Record,
        services_with: Callable[[Redis, MemoryBroker], None]) -> None:
    if not db.redis_url:
        pytest.skip("needs Redis")
    # given: Redis answering, the broker's pub/sub connection being re-established
    await record_migrations(migrations_on_disk())
    broker = MemoryBroker()
    broker.connected = False
    services_with(Redis.from_url(db.redis_url), broker)
    # when
    code, body = await _ready()
    # then: requests are still served, the state is visible
    assert code == 200 and body == {"status": "degraded", "database": "ok", "migrations": "ok",
                                    "redis": "ok", "pubsub": "reconnecting"}, body


ME = "{ me { displayName } }"


@pytest.mark.redis
async def test_a_server_started_while_redis_is_down_serves_and_connects_once_it_is_back(
        db: Backend) -> None:
    # given: REDIS_URL pointing at a proxy that does not listen yet (a worker starting during
    # a Redis outage used to fail its lifespan, and uvicorn then stopped the whole server)
    assert db.redis_url is not None
    target = urlsplit(db.redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    volunteer = await make_volunteer("无缓存")
    # when
    server = await asyncio.to_thread(start_server, Backend(
        db.name, db.database_url, f"redis://127.0.0.1:{proxy.port}/0"), env={"JOBS": "0"})
    ready_url = server.url.replace("/graphql", "/readyz")
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            # then it answers from the database, and says pub/sub is not connected
            answer = await client.post(server.url, json={"query": ME},
                                       headers={"Authorization": f"Bearer {token_for(volunteer)}"})
            assert answer.json() == {"data": {"me": {"displayName": "无缓存"}}}, answer.text
            assert (await client.get(ready_url)).json()["pubsub"] == "reconnecting"
            # and when Redis becomes reachable, the broker connects by itself
            await proxy.start()
            for _ in range(100):
                body = (await client.get(ready_url)).json()
                if body["pubsub"] == "ok":
                    break
                await asyncio.sleep(0.1)
            assert body["pubsub"] == "ok" and body["redis"] == "ok", body
        assert "redis pub/sub unreachable at start" in server.log()
    finally:
        server.stop()
        await proxy.cut()
