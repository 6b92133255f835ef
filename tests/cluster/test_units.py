"""Without a cluster: Redis Cluster URLs, hash-tagged keys (one board = one slot), and which
GraphQL operations may read from the replica."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from graphql import parse
from redis.crc import key_slot
from tortoise import connections
from tortoise.transactions import in_transaction

from db.config import tortoise_config
from db.routing import (
    ReadReplicaRouter,
    _in_primary_transaction,
    read_connection,
    replica_reads,
)
from models.volunteer import Volunteer
from resolvers.leaderboard import Period, Scope, board_key
from resolvers.services import build, shutdown
from schema.replica import replica_safe
from subscriptions.cluster import ClusterBroker, cluster_nodes, hash_tag, is_cluster_url


def _slot(key: str) -> int:
    return int(key_slot(key.encode()))


def test_cluster_urls_name_their_startup_nodes():
    assert is_cluster_url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    assert not is_cluster_url("redis://127.0.0.1:6379/0")
    assert not is_cluster_url(None)
    assert cluster_nodes("redis+cluster://:pw@10.0.0.1:7000, 10.0.0.2:7001/") == [
        ("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    for bad in ("redis+cluster://", "redis+cluster://host", "redis://h:1"):
        with pytest.raises(ValueError):
            cluster_nodes(bad)


async def test_an_unreachable_cluster_starts_disconnected_never_in_process():
    # given a cluster URL nobody listens on (a worker starting during an outage must not fail
    # its start-up: uvicorn would stop the whole server)
    # when
    current = await build("redis+cluster://127.0.0.1:1")
    try:
        # then the sharded broker, waiting for the cluster, not an in-process one
        assert isinstance(current.broker, ClusterBroker) and not current.broker.connected
        # and a listener subscribes locally meanwhile (the repair task subscribes it later)
        subscription = await current.broker.subscribe("tongxin:test:cluster-down")
        await subscription.close()
    finally:
        await shutdown(current)


def test_one_boards_keys_share_a_slot_and_boards_spread():
    moment = datetime(2026, 12, 3, tzinfo=UTC)
    key = board_key(Scope.VOLUNTEERS, Period.WEEK, moment, "朝阳区")
    family = [key, f"{key}:ready", f"{key}:dirty", f"{key}:lock", f"{key}:staging:abc"]
    assert len({_slot(k) for k in family}) == 1
    boards = {_slot(board_key(scope, period, moment, district))
              for scope in Scope for period in Period for district in (None, "朝阳区", "海淀区")}
    assert len(boards) > 10  # boards are not piled onto one slot
    assert hash_tag("x") == "{x}" and _slot("a{x}b") == _slot("{x}")


def test_replica_config_only_next_to_a_postgres_primary(monkeypatch):
    monkeypatch.setenv("DATABASE_READ_URL", "postgres://root@127.0.0.1:5999/x")
    pg = tortoise_config("postgres://root@127.0.0.1:5998/x")
    assert set(pg["connections"]) == {"default", "replica"}
    assert pg["routers"] == ["db.routing.ReadReplicaRouter"]
    assert pg["connections"]["replica"]["credentials"]["port"] == 5999
    sqlite = tortoise_config("sqlite:///tmp/x.sqlite3")
    assert set(sqlite["connections"]) == {"default"} and "routers" not in sqlite


REPLICA_SAFE = [
    "{ stats { volunteers } }",
    "query Q { activities(first: 5) { edges { node { title } } } leaderboard(period: WEEK) { rank } }",
    "{ feed { totalCount } searchForum(query: \"x\") { totalCount } }",
]
PRIMARY = [
    "{ me { id } }",
    "{ activities { edges { node { mySignUp { status } } } } }",  # the viewer's own sign-up
    "{ teams { edges { node { viewerCanManage } } } }",
    "{ stats { volunteers } me { id } }",  # one primary field: the whole operation
    "mutation { signUp(activityId: \"x\") { status } }",
    "subscription { slotCount(activityId: \"x\") { confirmed } }",
    "query { ...F } fragment F on Query { stats { volunteers } }",
    "{ node(id: \"x\") { id } }",
]


@pytest.mark.parametrize("document", REPLICA_SAFE)
def test_replica_safe_operations(document):
    assert replica_safe(parse(document), None)


@pytest.mark.parametrize("document", PRIMARY)
def test_read_your_writes_operations_stay_on_the_primary(document):
    assert not replica_safe(parse(document), None)


def test_the_named_operation_decides():
    document = parse("query A { stats { volunteers } } query B { me { id } }")
    assert replica_safe(document, "A")
    assert not replica_safe(document, "B")
    assert not replica_safe(document, None)  # ambiguous


async def test_without_a_replica_replica_reads_use_the_primary(db):
    # given no DATABASE_READ_URL (the test backends)
    router = ReadReplicaRouter()
    # when
    with replica_reads():
        chosen = router.db_for_read(Volunteer)
        connection = read_connection()
    # then
    assert chosen is None and router.db_for_write(Volunteer) is None
    assert connection is connections.get("default")


async def test_replica_reads_never_apply_inside_a_primary_transaction(db):
    # given / when / then: a transaction must read its own writes, whatever the flag says
    assert not _in_primary_transaction()
    async with in_transaction():
        assert _in_primary_transaction()  # reading_from_replica() is False in here
    assert not _in_primary_transaction()
