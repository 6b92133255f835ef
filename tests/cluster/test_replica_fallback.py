"""A read replica that cannot be reached must not fail the reads the primary can answer
(db/asyncpg_replica): the read runs on the primary, the replica is left alone for
REPLICA_RETRY_SECONDS, then tried again. Without a cluster: a replica client pointed at a
port nobody listens on, then at the test database itself (a stand-in for a replica back up)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.router import router

from db.asyncpg_replica import ReplicaAsyncpgClient
from db.routing import (
    REPLICA,
    ReadReplicaRouter,
    read_connection,
    reading_from_replica,
    replica_health,
    replica_reads,
)
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer
from tests.live import free_port

pytestmark = pytest.mark.postgres

ACTIVITIES = "{ activities(first: 5) { totalCount edges { node { title } } } }"


class CountingReplica(ReplicaAsyncpgClient):
    """Counts the reads the replica itself answered."""

    answered = 0

    async def execute_query(self, query: str, values: list | None = None):  # type: ignore[no-untyped-def]
        result = await super().execute_query(query, values)
        if replica_health.usable():
            CountingReplica.answered += 1
        return result


@pytest.fixture
async def replica(db) -> AsyncIterator[CountingReplica]:  # type: ignore[no-untyped-def]
    primary = urlsplit(db.database_url)
    client = CountingReplica(
        connection_name=REPLICA, host="127.0.0.1", port=free_port(), user=primary.username or "",
        password="", database=primary.path.lstrip("/"), minsize=1, maxsize=2, timeout=2)
    storage = connections._get_storage()
    storage[REPLICA] = client
    saved_routers = router._routers
    router.init_routers([ReadReplicaRouter])
    CountingReplica.answered = 0
    try:
        yield client
    finally:
        router._routers = saved_routers
        storage.pop(REPLICA, None)
        await client.close()
        replica_health.answered()


async def test_a_dead_replica_costs_no_read_and_is_left_alone_then_tried_again(
        replica, db, caplog, monkeypatch):  # type: ignore[no-untyped-def]
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

    # when: the replica is back (here: the test database) and the wait is over
    monkeypatch.setattr(replica, "port", urlsplit(db.database_url).port or 5432)
    replica_health.down_until = 0.0
    third = (await execute(ACTIVITIES)).ok()
    # then: the replica answers again, and says so once
    assert third == first
    assert CountingReplica.answered >= 1 and replica_health.usable()
    assert caplog.records[-1].getMessage().startswith("read replica answering again")


async def test_a_query_error_on_the_replica_is_raised_not_run_again_on_the_primary(
        replica, db, monkeypatch):  # type: ignore[no-untyped-def]
    # given: a replica that answers
    monkeypatch.setattr(replica, "port", urlsplit(db.database_url).port or 5432)
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


async def test_the_health_check_reports_the_replica_down_but_the_node_serving(
        replica, db):  # type: ignore[no-untyped-def]
    # given: a read the dead replica could not answer
    from server import healthz

    (await execute(ACTIVITIES)).ok()
    # when
    response = await healthz(None)  # type: ignore[arg-type]
    # then: still healthy (the primary answers every read), the replica's state visible
    assert response.status_code == 200
    assert b'"replica":"unreachable: reading the primary"' in response.body
