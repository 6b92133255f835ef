"""The broker on a real 3-shard Redis Cluster (3 primaries + 3 replicas): sharded pub/sub,
one subscription per channel per process, RESYNC after a manual failover and after a primary
dies, and the Redis-backed leaderboard / rate limits on slot-routed keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.client import NEVER_DECODE

from resolvers import services as service_registry
from resolvers.leaderboard import Period, leaderboard, notify_hours_changed
from resolvers.ratelimit import RedisLimiter
from subscriptions.broker import RESYNC, MemoryBroker
from subscriptions.channels import slots
from subscriptions.cluster import ClusterBroker, cluster_client

pytestmark = pytest.mark.cluster

CHANNELS = [slots(1000 + i) for i in range(24)]


async def _broker(url: str) -> ClusterBroker:
    broker = ClusterBroker(cluster_client(url), reconnect_delay=0.1)
    await broker.start()
    return broker


async def _close(broker: ClusterBroker) -> None:
    await broker.close()
    await broker.cluster.aclose()


async def _subscriber_count(node, command: str, channel: str) -> int:
    """PUBSUB NUMSUB / SHARDNUMSUB of one channel on one node, read raw: redis-py's cluster
    reply callbacks for these changed shape between releases (8.x fails to unpack them)."""
    direct = Redis(host=node.host, port=node.port)
    try:
        reply = await direct.execute_command("PUBSUB", command, channel, **{NEVER_DECODE: True})
    finally:
        await direct.aclose()
    flat = [item for pair in reply for item in (pair if isinstance(pair, list | tuple) else [pair])]
    return int(flat[1])


async def _next(subscription, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    return await asyncio.wait_for(subscription.get(), timeout)


async def test_channels_are_sharded_and_subscribed_once_per_process(redis_cluster, cluster_client_):
    # given: one process, five listeners on each of 24 channels
    broker = await _broker(redis_cluster.redis_url)
    try:
        listeners = {ch: [await broker.subscribe(ch) for _ in range(5)] for ch in CHANNELS}
        # when
        for index, channel in enumerate(CHANNELS):
            await broker.publish(channel, {"n": index})
        # then: every listener hears its own channel's message, nothing else
        for index, channel in enumerate(CHANNELS):
            for subscription in listeners[channel]:
                assert await _next(subscription, 5) == {"n": index}
                assert subscription.get_nowait() is None
        # the channels spread over all three primaries, each subscribed on its slot's owner
        assert len({broker.shard_of(ch) for ch in CHANNELS}) == 3
        for channel in CHANNELS[:6]:
            owner = cluster_client_.get_node_from_key(channel)
            assert broker.shard_of(channel) == owner.name
            sharded = await _subscriber_count(owner, "SHARDNUMSUB", channel)
            assert sharded == 1  # one Redis subscription for five local listeners
            classic = await _subscriber_count(owner, "NUMSUB", channel)
            assert classic == 0  # not classic pub/sub
        # when: the last local listener of a channel leaves
        for subscription in listeners[CHANNELS[0]]:
            await subscription.close()
        owner = cluster_client_.get_node_from_key(CHANNELS[0])
        # then: the Redis subscription is dropped too
        for _ in range(50):
            sharded = await _subscriber_count(owner, "SHARDNUMSUB", CHANNELS[0])
            if sharded == 0:
                break
            await asyncio.sleep(0.05)
        assert sharded == 0
    finally:
        await _close(broker)


async def test_publish_latest_reaches_its_own_process_once_and_the_other_untagged(redis_cluster):
    # given: two processes' brokers listening on one channel
    first, second = await _broker(redis_cluster.redis_url), await _broker(redis_cluster.redis_url)
    try:
        mine, theirs = await first.subscribe(CHANNELS[3]), await second.subscribe(CHANNELS[3])
        # when
        first.publish_latest(CHANNELS[3], {"version": 4}, 4)
        # then: this process had it at once, the other through its shard, without the tag
        assert mine.get_nowait() == {"version": 4}
        assert await _next(theirs, 5) == {"version": 4}
        await first.flush()
        await asyncio.sleep(0.3)
        assert mine.get_nowait() is None  # the shard's echo was skipped
    finally:
        await _close(first)
        await _close(second)


async def test_manual_failover_resyncs_that_shards_channels_and_delivery_goes_on(redis_cluster):
    # given
    broker = await _broker(redis_cluster.redis_url)
    publisher = await _broker(redis_cluster.redis_url)
    try:
        listeners = {ch: await broker.subscribe(ch) for ch in CHANNELS}
        victim = broker.shard_of(CHANNELS[0])
        assert victim is not None
        moved = [ch for ch in CHANNELS if broker.shard_of(ch) == victim]
        stayed = [ch for ch in CHANNELS if broker.shard_of(ch) != victim]
        # when: the shard's replica takes over (CLUSTER FAILOVER)
        new_primary = await asyncio.to_thread(redis_cluster.failover, int(victim.split(":")[1]))
        # then: the moved channels' listeners get RESYNC (re-read the database), the others don't
        for channel in moved:
            assert await _next(listeners[channel]) == RESYNC
        await asyncio.sleep(0.3)
        for channel in stayed:
            assert listeners[channel].get_nowait() is None
        assert {broker.shard_of(ch) for ch in moved} == {f"127.0.0.1:{new_primary}"}
        # and messages flow again on every channel
        for index, channel in enumerate(CHANNELS):
            await publisher.publish(channel, {"after": index})
        for index, channel in enumerate(CHANNELS):
            assert await _next(listeners[channel], 5) == {"after": index}
    finally:
        await _close(broker)
        await _close(publisher)


async def test_a_dead_primary_resyncs_after_its_replica_is_promoted(redis_cluster):
    # given
    broker = await _broker(redis_cluster.redis_url)
    publisher = await _broker(redis_cluster.redis_url)
    killed: int | None = None
    try:
        listeners = {ch: await broker.subscribe(ch) for ch in CHANNELS}
        victim = broker.shard_of(CHANNELS[1])
        assert victim is not None
        moved = [ch for ch in CHANNELS if broker.shard_of(ch) == victim]
        killed = int(victim.split(":")[1])
        # (an earlier failover may have left this primary's replica still syncing)
        await asyncio.to_thread(redis_cluster.wait_replica_synced, redis_cluster.replica_of(killed))
        # when: the primary process dies (SIGKILL); the cluster promotes its replica
        redis_cluster.kill_redis(killed)
        # then
        for channel in moved:
            assert await _next(listeners[channel], 30) == RESYNC
        assert all(broker.shard_of(ch) not in (None, victim) for ch in moved)
        await asyncio.to_thread(redis_cluster.wait_redis_ok)
        for index, channel in enumerate(moved):
            await publisher.publish(channel, {"after": index})
        for index, channel in enumerate(moved):
            assert await _next(listeners[channel], 5) == {"after": index}
    finally:
        await _close(broker)
        await _close(publisher)
        if killed is not None:  # back as a replica, so later tests can fail over again
            redis_cluster.restart_redis(killed)
            await asyncio.to_thread(redis_cluster.wait_redis_ok)


async def test_a_cluster_url_builds_the_sharded_broker(redis_cluster):
    services = await service_registry.build(redis_cluster.redis_url)
    try:
        assert isinstance(services.broker, ClusterBroker)
        assert isinstance(services.redis, RedisCluster)
        assert await services.redis.ping()
    finally:
        await service_registry.shutdown(services)


@pytest.mark.redis
async def test_leaderboard_and_rate_limits_work_on_the_cluster(db, redis_cluster):
    # given: Redis-backed services on the cluster (the database has no hours at all)
    previous = service_registry.services()
    client: RedisCluster = cluster_client(redis_cluster.redis_url)
    service_registry.install(service_registry.Services(
        broker=MemoryBroker(), limiter=RedisLimiter(client), redis=client))
    moment = datetime.now(UTC)
    try:
        assert await leaderboard(Period.WEEK, now=moment) == []  # builds the empty board
        # when: hours are approved (the increment script runs per board, one slot each)
        await notify_hours_changed(7, 3, "朝阳区", 2.5, moment)
        # then: the answer can only come from the Redis boards, the database is empty
        top = await leaderboard(Period.WEEK, now=moment)
        assert [(s.entity_id, s.hours) for s in top] == [(7, 2.5)]
        assert await leaderboard(Period.WEEK, district="朝阳区", now=moment) == []  # not built yet
        limiter = service_registry.services().limiter
        for _ in range(3):
            await limiter.hit("cluster-test", 3, 60)
        with pytest.raises(Exception) as refused:
            await limiter.hit("cluster-test", 3, 60)
        assert type(refused.value).__name__ == "RateLimited"
    finally:
        service_registry.install(previous)
        keys = [k async for k in client.scan_iter(match="*", target_nodes=RedisCluster.PRIMARIES)]
        if keys:
            for key in keys:
                await client.delete(key)
        await client.aclose()
