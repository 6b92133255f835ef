"""Errors that mean the database could not be reached, not that the request was wrong or the
code is broken: PostgreSQL restarting, failing over or cut off closes the connection under a
statement (ConnectionDoesNotExistError, then "connection is closed" on the next use), refuses
new ones while it starts or stops (CannotConnectNowError, AdminShutdownError, a refused TCP
connection), and asyncpg's protocol state can break with the connection (InternalClientError
"cannot switch to state …", seen once after a restart in the chaos run). schema/errors.py
answers them UNAVAILABLE (try again shortly) with one log line, instead of INTERNAL with a
traceback: the next request gets a fresh connection from the pool.

Not here: a lock wait or a serialization failure (SQLite's "database is locked", 40001),
which say the database answered but was too busy (db/transient.py, which also decides which
of these and those the client sees as UNAVAILABLE), a statement timeout, and the read
replica's own fallback list (db/asyncpg_replica), which also counts any timeout as
unreachable.
"""

from __future__ import annotations

import asyncpg

LOST: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe (asyncpg raises the OS's own)
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, ConnectionDoesNotExistError among them
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by a fast or smart shutdown
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed, this one was reset
    asyncpg.exceptions.InternalClientError,
)

# asyncpg's InterfaceError also reports misuse ("another operation is in progress" is two
# coroutines on one connection: a bug, answered INTERNAL); only these say the link is gone.
CLOSED = ("connection is closed", "connection was closed", "pool is closed", "pool is closing")


def lost_connection(error: BaseException | None) -> BaseException | None:
    """The lost or refused database connection that `error` was raised from or while handling,
    if any (tortoise re-raises some driver errors as its own, `from` them, and a transaction's
    rollback on a dead connection fails while handling the first failure)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, LOST):
            return error
        if isinstance(error, asyncpg.InterfaceError) and any(text in str(error) for text in CLOSED):
            return error
        error = error.__cause__ or error.__context__
    return None


def database_unreachable(error: BaseException | None) -> bool:
    return lost_connection(error) is not None
