"""Fixed-window counters: in Redis when configured (shared by workers), in memory otherwise."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.metrics import RATE_LIMITED, rate_limit_label
from resolvers.errors import RateLimited
from subscriptions.channels import NAMESPACE


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> None: ...

    async def reset(self, key: str) -> None: ...


class MemoryLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> None:
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window_seconds:
            started, count = now, 0
        count += 1
        self._windows[key] = (started, count)
        if len(self._windows) > 100_000:
            self._evict(now, window_seconds)
        if count > limit:
            RATE_LIMITED.labels(rate_limit_label(key)).inc()
            raise RateLimited(retry_after=max(1, int(window_seconds - (now - started)) + 1))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _evict(self, now: float, window_seconds: int) -> None:
        for key, (started, _) in list(self._windows.items()):
            if now - started >= window_seconds:
                del self._windows[key]


class RedisLimiter:
    def __init__(self, redis: Redis | RedisCluster, prefix: str | None = None) -> None:
        self._redis = redis
        self._prefix = prefix or f"{NAMESPACE}:rl:"

    async def hit(self, key: str, limit: int, window_seconds: int) -> None:
        full = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, window_seconds, nx=True)
            pipe.ttl(full)
            count, _, ttl = await pipe.execute()
        if int(count) > limit:
            RATE_LIMITED.labels(rate_limit_label(key)).inc()
            raise RateLimited(retry_after=max(1, int(ttl)))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
