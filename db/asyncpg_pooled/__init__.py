"""asyncpg client whose pool skips the per-release session reset query.

asyncpg runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` every time
a connection goes back to the pool. Tortoise takes a connection per statement outside
transactions, so that is an extra round trip per query (~15% of a sign-up's CPU in
bench.signup). Tongxin never uses advisory locks, cursors, LISTEN or session-level SET
(only SET LOCAL inside transactions), so there is nothing to reset; asyncpg still rolls back
any transaction left open before the connection is reused.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


class PooledAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_nothing_to_reset, **kwargs)


client_class = PooledAsyncpgClient
