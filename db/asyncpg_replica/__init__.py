"""The read replica's client (DATABASE_READ_URL): a read the replica cannot answer because it
cannot be reached, or because a hot standby cancelled it (conflict with recovery), runs on the
primary instead, so a replica outage costs freshness nothing and availability nothing; the
replica is then left alone for a while (db.routing.replica_health).

Only "cannot reach it" errors fall back. A query error (bad SQL, a constraint) would be the
same on either server and is raised as it is. A timeout counts as unreachable, the command
timeout (30 s) included: a replica that slow is not serving web requests, and the next reads
go to the primary without waiting for it.

The replica's pool keeps no connection floor (min_size 0): asyncpg restores a floor in the
background and logs every failed attempt with a traceback, for as long as an outage lasts. The
probe (`watch_replica`, one per process) is what reconnects to a replica that went away, once
every REPLICA_PROBE_SECONDS, bounded by PROBE_TIMEOUT_SECONDS, and db.routing logs the change
of state once.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg
from tortoise import connections

from db.asyncpg_pooled import PooledAsyncpgClient
from db.routing import REPLICA, REPLICA_PROBE_SECONDS, replica_health

PROBE_TIMEOUT_SECONDS = 1.0

# Connection refused / reset / host unreachable, a timeout (TimeoutError is an OSError), the
# connection lost mid-query, the server shutting down, starting up or crashed.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


# A hot standby cancels reads that conflict with WAL it must replay (SQLSTATE 40001,
# "canceling statement due to conflict with recovery"): the primary can answer them.
CANCELLED_BY_RECOVERY: tuple[type[BaseException], ...] = (asyncpg.SerializationError,)


def _caused_by(error: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = error
    while seen is not None:  # tortoise wraps some driver errors (OperationalError(cause))
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__
    return False


class ReplicaAsyncpgClient(PooledAsyncpgClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await super().create_pool(**{**kwargs, "min_size": 0})

    async def probe(self, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
        """`SELECT 1` on the replica itself (never the primary), bounded; records the state."""
        try:
            async with asyncio.timeout(timeout), self.acquire_connection() as connection:
                await connection.fetchval("SELECT 1")
        except Exception as error:  # whatever keeps it from answering makes it unusable
            replica_health.unreachable(error)
            return False
        replica_health.answered()
        return True

    async def execute_query(self, query: str, values: list[Any] | None = None
                            ) -> tuple[int, list[Any]]:
        return cast(tuple[int, list[Any]], await self._read("execute_query", query, values))

    async def execute_query_dict(self, query: str, values: list[Any] | None = None
                                 ) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self._read("execute_query_dict", query, values))

    async def _read(self, method: str, query: str, values: list[Any] | None) -> Any:
        try:
            result = await getattr(super(), method)(query, values)
        except Exception as error:
            if not self._falls_back(error):
                raise
            return await getattr(connections.get("default"), method)(query, values)
        replica_health.answered()
        return result

    @staticmethod
    def _falls_back(error: BaseException) -> bool:
        if _caused_by(error, UNREACHABLE):
            replica_health.unreachable(error)
            return True
        return _caused_by(error, CANCELLED_BY_RECOVERY)


async def watch_replica(interval: float = REPLICA_PROBE_SECONDS) -> None:
    """Probes the configured replica until cancelled (started by the server's lifespan)."""
    client = connections.get(REPLICA)
    if not isinstance(client, ReplicaAsyncpgClient):
        return
    while True:
        await client.probe()
        await asyncio.sleep(interval)


client_class = ReplicaAsyncpgClient
