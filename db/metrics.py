"""The database's metrics (core/metrics.py). Statement counts and pool waits are taken where
the Tortoise clients already pass: every statement goes through the client's `log.debug` (its
statement log), and every pooled connection through the asyncpg pool's `_acquire`. Pool use
and the replica's health are copied from the pools and from db.routing.replica_health by the
metrics sampler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from tortoise import connections

from core.metrics import POOL_CONNECTIONS, POOL_WAIT_SECONDS, REPLICA_UP, SQL_STATEMENTS
from db.routing import REPLICA, replica_configured, replica_health


class _Tally:
    __slots__ = ("flushed", "sent")

    def __init__(self) -> None:
        self.sent = self.flushed = 0


_tallies: dict[str, _Tally] = {}


class StatementLog:
    """Stands in for Tortoise's `tortoise.db_client` logger on one client (transactions copy
    it): counts each statement, then logs it as before (DEBUG, usually off). The count is a
    plain integer that the metrics sampler adds to tongxin_sql_statements_total once a second
    (`sample_statements`): a metric increment per statement would cost more than the count."""

    __slots__ = ("_logger", "_tally")

    def __init__(self, logger: logging.Logger, connection_name: str) -> None:
        self._logger = logger
        self._tally = _tallies.setdefault(connection_name, _Tally())

    def debug(self, message: str, *args: Any) -> None:
        self._tally.sent += 1
        self._logger.debug(message, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


class _TimedPool(asyncpg.Pool):
    """An asyncpg pool that measures how long each acquisition waits for a connection
    (Tortoise's `await pool.acquire()` and `async with pool.acquire()` both end in
    `_acquire`). Pool has slots and no hook: a pool is switched to this class after creation."""

    __slots__ = ()
    observe: Callable[[float], None]

    async def _acquire(self, timeout: float | None) -> Any:
        started = time.perf_counter()
        try:
            return await super()._acquire(timeout)  # type: ignore[misc]
        finally:
            self.observe(time.perf_counter() - started)


_timed_pools: dict[str, type[_TimedPool]] = {}


def time_acquisitions(pool: asyncpg.Pool, connection_name: str) -> asyncpg.Pool:
    timed = _timed_pools.get(connection_name)
    if timed is None:
        timed = _timed_pools[connection_name] = type(
            "TimedPool", (_TimedPool,),
            {"__slots__": (), "observe": staticmethod(POOL_WAIT_SECONDS.labels(connection_name).observe)})
    pool.__class__ = timed
    return pool


def sample_statements() -> None:
    for name, tally in _tallies.items():
        if tally.sent != tally.flushed:
            SQL_STATEMENTS.labels(name).inc(tally.sent - tally.flushed)
            tally.flushed = tally.sent


def sample_pools() -> None:
    """Copies each PostgreSQL pool's size into tongxin_db_pool_connections."""
    for name in ("default", REPLICA):
        try:
            pool = getattr(connections.get(name), "_pool", None)
        except Exception:  # no such connection (no replica configured)
            continue
        if not isinstance(pool, asyncpg.Pool):
            continue
        size, idle = pool.get_size(), pool.get_idle_size()
        POOL_CONNECTIONS.labels(name, "in_use").set(size - idle)
        POOL_CONNECTIONS.labels(name, "idle").set(idle)
        POOL_CONNECTIONS.labels(name, "max").set(pool.get_max_size())


def sample_replica() -> None:
    if replica_configured():
        REPLICA_UP.labels(REPLICA).set(1 if replica_health.reachable else 0)
