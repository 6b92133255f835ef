"""A read replica that cannot be reached must not fail the reads the primary can answer
(db/asyncpg_replica): the read runs on the primary, the replica is left alone for
REPLICA_RETRY_SECONDS, then tried again. Its state comes from a probe too (`watch_replica`),
and shows in /readyz. Without a cluster: the replica client talks to the test database through
a TCP proxy the test starts, cuts and restores (a replica down, up, going away)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.router import router

from core.health import migrations_on_disk, readyz
from db.asyncpg_pooled import FLOOR_MESSAGE, PooledAsyncpgClient
from db.asyncpg_replica import ReplicaAsyncpgClient, watch_replica
from db.routing import (
    REPLICA,
    ReadReplicaRouter,
    read_connection,
    reading_from_replica,
    replica_health,
    replica_reads,
)
from tests.activity.factory import make_activity
from tests.activity.proxy import TcpProxy
from tests.helpers import execute, make_team, make_volunteer
from tests.test_health import Record

pytestmark = pytest.mark.postgres

ACTIVITIES = "{ activities(first: 5) { totalCount edges { node { title } } } }"


class CountingReplica(ReplicaAsyncpgClient):
    """Counts the reads the replica itself answered, and the probes it failed."""

    answered = 0
    failed_probes = 0

    async def execute_query(self, query: str, values: list | None = None):  # type: ignore[no-untyped-def]
        result = await super().execute_query(query, values)
        if replica_health.usable():
            CountingReplica.answered += 1
        return result

    async def probe(self, *args: Any, **kwargs: Any) -> bool:
        answered = await super().probe(*args, **kwargs)
        CountingReplica.failed_probes += not answered
        return answered


@pytest.fixture
def floor_attempts() -> Iterator[list[str]]:
    """The failed attempts asyncpg's pools make to restore their connection floor, each one
    as asyncpg logs it (seen before db/asyncpg_pooled's filter keeps all but the first out of
    the log)."""
    seen: list[str] = []

    def count(record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(FLOOR_MESSAGE):
            seen.append(record.getMessage())
        return True

    pool_log = logging.getLogger("asyncpg.pool")
    pool_log.filters.insert(0, count)
    try:
        yield seen
    finally:
        pool_log.removeFilter(count)


@pytest.fixture
async def replica_proxy(db) -> AsyncIterator[TcpProxy]:  # type: ignore[no-untyped-def]
    """Between the replica client and the test database; not listening until started."""
    proxy = TcpProxy("127.0.0.1", urlsplit(db.database_url).port or 5432)
    try:
        yield proxy
    finally:
        await proxy.cut()


@pytest.fixture
async def replica(db, replica_proxy) -> AsyncIterator[CountingReplica]:  # type: ignore[no-untyped-def]
    primary = urlsplit(db.database_url)
    client = CountingReplica(
        connection_name=REPLICA, host="127.0.0.1", port=replica_proxy.port,
        user=primary.username or "", password="", database=primary.path.lstrip("/"),
        minsize=1, maxsize=2, timeout=2)
    storage = connections._get_storage()
    storage[REPLICA] = client
    saved_routers = router._routers
    router.init_routers([ReadReplicaRouter])
    CountingReplica.answered = CountingReplica.failed_probes = 0
    try:
        yield client
    finally:
        router._routers = saved_routers
        storage.pop(REPLICA, None)
        await client.close()
        replica_health.answered()


async def test_a_dead_replica_costs_no_read_and_is_left_alone_then_tried_again(
        replica, replica_proxy, db, caplog):  # type: ignore[no-untyped-def]
    # given: an activity on the primary, and a replica nobody answers on
    admin = await make_volunteer("队长")
    await make_activity(await make_team(admin), admin, title="周末助老")
    caplog.set_level(logging.WARNING, logger="tongxin.replica")
    # when: a replica-safe query, twice
    first = (await execute(ACTIVITIES)).ok()
    second = (await execute(ACTIVITIES)).ok()
    # then: both answered from the primary; the replica marked down once, not retried yet
    assert first == second == {"activities": {"totalCount": 1,
                                              "edges": [{"node": {"title": "周末助老"}}]}}
    assert not replica_health.usable()
    with replica_reads():
        assert not reading_from_replica() and read_connection() is connections.get("default")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("read replica unreachable (")
    assert CountingReplica.answered == 0

    # when: the replica is back and the wait is over
    await replica_proxy.start()
    replica_health.down_until = 0.0
    third = (await execute(ACTIVITIES)).ok()
    # then: the replica answers again, and says so once
    assert third == first
    assert CountingReplica.answered >= 1 and replica_health.usable()
    assert caplog.records[-1].getMessage().startswith("read replica answering again")


async def test_a_query_error_on_the_replica_is_raised_not_run_again_on_the_primary(
        replica, replica_proxy, db):  # type: ignore[no-untyped-def]
    # given: a replica that answers
    await replica_proxy.start()
    # when / then: bad SQL is the same error on either server: raised, replica still in use
    with replica_reads(), pytest.raises(OperationalError):
        await read_connection().execute_query_dict("SELECT no_such_column FROM volunteer")
    assert replica_health.usable()


def test_a_read_cancelled_by_recovery_goes_to_the_primary_without_marking_the_replica_down():
    # a hot standby cancels reads that conflict with WAL replay (SQLSTATE 40001)
    conflict = asyncpg.SerializationError("canceling statement due to conflict with recovery")
    assert ReplicaAsyncpgClient._falls_back(conflict)
    assert replica_health.usable()
    assert not ReplicaAsyncpgClient._falls_back(asyncpg.UndefinedColumnError("no such column"))


async def test_the_readiness_check_reports_the_replica_down_but_the_node_serving(
        replica, db, record_migrations: Record):  # type: ignore[no-untyped-def]
    # given: a migrated database, and a read the dead replica could not answer
    await record_migrations(migrations_on_disk())
    (await execute(ACTIVITIES)).ok()
    # when
    response = await readyz(None)  # type: ignore[arg-type]
    # then: still ready (the primary answers every read), degraded, the replica's state visible
    body = json.loads(bytes(response.body))
    assert response.status_code == 200 and body["status"] == "degraded", body
    assert body["database"] == body["migrations"] == "ok"
    assert body["replica"].startswith("unreachable (") and body["replica"].endswith(
        "reading the primary"), body


async def _until(condition, limit: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, f"not within {limit} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _ready() -> dict[str, str]:
    return dict(json.loads((await readyz(None)).body))  # type: ignore[arg-type]


async def test_the_probe_turns_the_replica_unhealthy_and_back_within_seconds_one_line_each(
        replica, replica_proxy, db, caplog, record_migrations: Record):  # type: ignore[no-untyped-def]
    # given: a migrated database, the replica answering, and the probe running
    await record_migrations(migrations_on_disk())
    proxy = replica_proxy
    await proxy.start()
    caplog.set_level(logging.INFO)
    probe = asyncio.create_task(watch_replica())
    try:
        await _until(lambda: CountingReplica.answered == 0 and replica_health.usable(), 10)
        assert (await _ready())["replica"] == "ok"
        # when: the replica goes away (listener closed, its open connections reset)
        await proxy.cut()
        # then: within 10 s the probe has it down, without a read having to fail first
        went = await _until(lambda: not replica_health.reachable, 10)
        ready = await _ready()
        assert ready["status"] == "degraded" and ready["replica"].startswith("unreachable"), ready
        (await execute(ACTIVITIES)).ok()  # reads go on, from the primary
        # probes (asyncpg reconnecting for each) go on, quietly: one more fails after it
        probes = CountingReplica.failed_probes
        await _until(lambda: CountingReplica.failed_probes > probes, 10)
        # when: it is back
        await proxy.start()
        came = await _until(lambda: replica_health.reachable, 10)
        # then: healthy again, and read from again
        ready = await _ready()
        assert ready["status"] == "ok" and ready["replica"] == "ok", ready
        before = CountingReplica.answered
        (await execute(ACTIVITIES)).ok()
        assert CountingReplica.answered > before
    finally:
        probe.cancel()
    # and the log says it once per change, one line each, no traceback
    lines = [r for r in caplog.records if r.name.startswith(("tongxin.replica", "asyncpg"))]
    assert [r.getMessage().split(" (")[0].split(" after")[0] for r in lines] == [
        "read replica unreachable", "read replica answering again"], \
        [r.getMessage() for r in lines]
    assert not any(r.exc_info for r in caplog.records)
    print(f"\nreplica marked down {went:.1f} s after it went away, up {came:.1f} s after it came back")


async def test_a_pool_losing_its_server_logs_one_line_not_a_traceback_per_retry(
        db, caplog, floor_attempts: list[str]):  # type: ignore[no-untyped-def]
    # given: a pool with a connection floor, connected through a proxy
    proxy = TcpProxy("127.0.0.1", urlsplit(db.database_url).port or 5432)
    await proxy.start()
    primary = urlsplit(db.database_url)
    client = PooledAsyncpgClient(
        connection_name="floor", host="127.0.0.1", port=proxy.port, user=primary.username or "",
        password="", database=primary.path.lstrip("/"), minsize=1, maxsize=2, timeout=1)
    caplog.set_level(logging.INFO)
    try:
        await client.execute_query("SELECT 1")
        # when: the server goes away for a while (asyncpg retries its floor after 1, 2, 4 s...)
        await proxy.cut()
        # the first failure (logged) and a retry after it (not)
        await _until(lambda: len(floor_attempts) >= 2, 10)
        await proxy.start()
        await _until(lambda: any(r.getMessage() == "PostgreSQL pool reconnected"
                                 for r in caplog.records), 10)
    finally:
        await client.close()
        await proxy.cut()
    # then: one line when it began, one when it ended, no traceback
    lines = [r.getMessage() for r in caplog.records if r.name in ("asyncpg.pool", "tongxin.db")]
    assert len(lines) == 2 and lines[0].startswith("PostgreSQL pool cannot reconnect ("), lines
    assert lines[1] == "PostgreSQL pool reconnected"
    assert not any(r.exc_info for r in caplog.records)
