"""Driver errors that say "try again shortly", not "the request was wrong" or "the code is
broken", mapped once from their types: schema/errors.py answers them UNAVAILABLE with one
warning line, never INTERNAL with a traceback.

- `lost`: the connection was lost or refused (db/unreachable.py). A mutation cut there may or
  may not have committed.
- `busy`: the database answered but could not take the work now, and the failed statement's
  transaction is rolled back: SQLite's SQLITE_BUSY / SQLITE_LOCKED ("database is locked",
  after busy_timeout), PostgreSQL's serialization failure and deadlock (40001, 40P01: what
  resolvers/slots.with_retries leaves once its attempts are spent), too many connections
  (53300) and lock_not_available (55P03). Answered UNAVAILABLE with `reason: BUSY`.

Matched by type and driver code (sqlite3's `sqlite_errorcode`, asyncpg's exception classes),
never by message text, anywhere in the cause chain: tortoise wraps driver errors
(OperationalError(exc), TransactionManagementError(exc) from exc), and a rollback failing
while handling the first error puts it in `__context__`.

- `redis`: Redis could not be reached where nothing falls back without it (the rate
  limiter; core/redis_outage.py). Answered UNAVAILABLE with `reason: SERVICE`.

Not here: a statement timeout (57014) or asyncpg's client-side command timeout, which may as
well be a slow query (a bug worth a traceback).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Literal

import asyncpg

from core.redis_outage import redis_unreachable
from db.unreachable import lost_connection

# SQLite's primary result codes; extended codes (SQLITE_BUSY_SNAPSHOT = 517...) keep them in
# their low byte.
SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

POSTGRES_BUSY: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,  # 40001
    asyncpg.DeadlockDetectedError,  # 40P01
    asyncpg.TooManyConnectionsError,  # 53300, also "too many connections for role"
    asyncpg.LockNotAvailableError,  # 55P03, NOWAIT or lock_timeout
)

Kind = Literal["lost", "busy", "redis"]


def causes(error: BaseException | None) -> Iterator[BaseException]:
    """`error` and what it was raised from or while handling, or wraps as its first argument."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        wrapped = error.args[0] if error.args and isinstance(error.args[0], BaseException) \
            else None
        error = error.__cause__ or wrapped or error.__context__


def busy(error: BaseException | None) -> BaseException | None:
    """The driver error saying the database was too busy to do the work now, if any."""
    for cause in causes(error):
        if isinstance(cause, POSTGRES_BUSY):
            return cause
        if isinstance(cause, sqlite3.OperationalError) and \
                (getattr(cause, "sqlite_errorcode", 0) & 0xFF) in SQLITE_BUSY_CODES:
            return cause
    return None


def transient(error: BaseException | None) -> tuple[Kind, BaseException] | None:
    """Which transient failure `error` stands for (and its driver error), or None."""
    # Redis first: its errors are raised from the OS's ConnectionRefusedError, which alone
    # would read as a lost database connection.
    redis = redis_unreachable(error)
    if redis is not None:
        return "redis", redis
    lost = lost_connection(error)
    if lost is not None:
        return "lost", lost
    found = busy(error)
    if found is not None:
        return "busy", found
    return None


def describe(error: BaseException) -> str:
    """The type and driver code, for a log line: never the message (it may quote values)."""
    code = getattr(error, "sqlite_errorname", None) or getattr(error, "sqlstate", None)
    return f"{type(error).__name__}({code})" if code else type(error).__name__
