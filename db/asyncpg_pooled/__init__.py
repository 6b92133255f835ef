"""asyncpg client whose pool skips the per-release session reset query.

asyncpg runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` every time
a connection goes back to the pool. Tortoise takes a connection per statement outside
transactions, so that is an extra round trip per query (~15% of a sign-up's CPU in
bench.signup). Tongxin never uses advisory locks, cursors, LISTEN or session-level SET
(only SET LOCAL inside transactions), so there is nothing to reset; asyncpg still rolls back
any transaction left open before the connection is reused.

While the server is away, asyncpg's pool retries its connection floor in the background
(every 1 s, doubling to 60 s) and logs each failed attempt as a warning with a 30-line
traceback. `FloorRetries` makes that one line when the outage begins and nothing more until a
connection succeeds again.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient

from db.metrics import StatementLog, time_acquisitions

FLOOR_MESSAGE = "Failed to restore the pool connection floor"
log = logging.getLogger("tongxin.db")


class FloorRetries(logging.Filter):
    """Installed on asyncpg's pool logger: one line per outage instead of one traceback per
    retry."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(FLOOR_MESSAGE):
            return True
        if self.failing:
            return False
        self.failing = True
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "PostgreSQL pool cannot reconnect (%s: %s); retrying quietly"
        record.args = (type(error).__name__, error)
        record.exc_info = record.exc_text = None
        return True

    def reconnected(self) -> None:
        if self.failing:
            self.failing = False
            log.warning("PostgreSQL pool reconnected")


floor_retries = FloorRetries()
logging.getLogger("asyncpg.pool").addFilter(floor_retries)


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    connection = await asyncpg.connect(*args, **kwargs)
    floor_retries.reconnected()
    return connection


class PooledAsyncpgClient(AsyncpgDBClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = StatementLog(self.log, self.connection_name)  # type: ignore[assignment]

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        # Only a pool with a floor has floor retries to end (the replica's has none, and its
        # connecting must not end the primary's outage).
        connect = _connect if kwargs.get("min_size") else None
        return time_acquisitions(await asyncpg.create_pool(
            None, reset=_nothing_to_reset, connect=connect, **kwargs), self.connection_name)


client_class = PooledAsyncpgClient
