"""Process-wide services (broker, limiter, Redis) set up by the server's lifespan or by tests."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.metrics import BROKER_CONNECTED
from resolvers.ratelimit import Limiter, MemoryLimiter
from subscriptions.broker import Broker, MemoryBroker

# A single Redis or a Redis Cluster: rate limits, stats cache and leaderboards use only
# single-slot operations (one key, or keys sharing a hash tag), valid on both.
RedisClient = Redis | RedisCluster


@dataclass
class Services:
    broker: Broker
    limiter: Limiter
    redis: RedisClient | None = None


_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        _services = Services(broker=MemoryBroker(), limiter=MemoryLimiter())
    return _services


def install(new: Services) -> None:
    global _services
    _services = new


async def build(redis_url: str | None) -> Services:
    if not redis_url:
        return Services(broker=MemoryBroker(), limiter=MemoryLimiter())
    from resolvers.ratelimit import RedisLimiter
    from subscriptions.broker import RedisBroker
    from subscriptions.cluster import ClusterBroker, cluster_client, is_cluster_url

    if is_cluster_url(redis_url):
        # redis+cluster://host:port,host:port: sharded pub/sub, slot-routed commands.
        cluster = cluster_client(redis_url)
        cluster_broker = ClusterBroker(cluster)
        await cluster_broker.start()
        return Services(broker=cluster_broker, limiter=RedisLimiter(cluster), redis=cluster)
    redis = Redis.from_url(redis_url, health_check_interval=15, socket_connect_timeout=5)
    broker = RedisBroker(redis)
    await broker.start()
    return Services(broker=broker, limiter=RedisLimiter(redis), redis=redis)


async def shutdown(current: Services) -> None:
    await current.broker.close()
    if current.redis is not None:
        await current.redis.aclose()


def sample_broker() -> None:
    """Copies the broker's connection state into tongxin_broker_connected (metrics sampler)."""
    BROKER_CONNECTED.set(1 if services().broker.connected else 0)
