"""When Redis (single or Cluster) is unavailable: one definition for every place that
degrades without it (leaderboards and statistics answer from SQL, persisted documents stay
per process, the cluster broker repairs later) and for the error mapping of the places that
cannot (the rate limiter), schema/errors.py via db/transient.py.

redis-py's cluster errors do not derive from RedisError: a RedisCluster that never reached a
node raises RedisClusterUnreachableError, a slot without an owner SlotNotCoveredError, both
RedisClusterException subclasses beside RedisError (redis-py 8). Catching RedisError alone let
them through as INTERNAL instead of the fallback. OSError covers a socket error or timeout that
redis-py did not wrap (TimeoutError is an OSError).
"""

from __future__ import annotations

from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClusterDownError,
    RedisClusterException,
    RedisClusterUnreachableError,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# `except REDIS_FAILED:` where Redis is an optimisation with a fallback: any failure of a
# Redis call degrades (a bug, such as a wrong key type, still logs its traceback there).
REDIS_FAILED: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)

# Of those, the ones that say "not reachable right now" rather than "misused or misconfigured":
# answered UNAVAILABLE where there is no fallback.
UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,  # refused, reset, closed; BusyLoadingError, MaxConnectionsError
    RedisTimeoutError,
    ClusterDownError,  # CLUSTERDOWN, MasterDownError
    TryAgainError,  # a slot migrating
    RedisClusterUnreachableError,
    SlotNotCoveredError,
)
MISCONFIGURED: tuple[type[BaseException], ...] = (AuthenticationError, AuthorizationError)


def redis_unreachable(error: BaseException | None) -> BaseException | None:
    """The Redis error in `error`'s cause chain that says Redis could not be reached, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, UNREACHABLE) and not isinstance(error, MISCONFIGURED):
            return error
        error = error.__cause__ or error.__context__
    return None
