"""SQLite client whose write transactions start with BEGIN IMMEDIATE.

A deferred transaction that later upgrades to a write fails with SQLITE_BUSY at once,
ignoring busy_timeout, when another process (another uvicorn worker) writes. IMMEDIATE
takes the write lock up front so concurrent writers queue on busy_timeout instead.

When the wait outlasts busy_timeout ("database is locked", answered UNAVAILABLE/BUSY by
schema/errors.py through db/transient.py), nothing may stay behind: tortoise's transaction
context keeps its connection lock and its context variable when BEGIN fails (its __aexit__
never runs, so every later transaction of the process would wait forever), and a COMMIT that
fails would leave the transaction open for the next BEGIN's COMMIT to write half of it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from db.metrics import StatementLog


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    async def commit(self) -> None:
        try:
            await super().commit()
        except sqlite3.OperationalError:
            await self._connection.rollback()
            self._finalized = True
            raise


class ImmediateTransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = StatementLog(self.log, self.connection_name)  # type: ignore[assignment]

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
