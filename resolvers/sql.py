"""Hand-written SQL that must run on both backends: placeholders in the connection's style."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.routing import read_connection


class SqlParams:
    """Collects values and hands out `$n` (PostgreSQL) or `?` (SQLite) placeholders in order.
    Without an explicit connection: the read replica inside `replica_reads()`, else the primary."""

    def __init__(self, connection: BaseDBAsyncClient | None = None) -> None:
        self.connection = connection or read_connection()
        self.postgres = self.connection.capabilities.dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value.value if hasattr(value, "value") else value)
        return f"${len(self.values)}" if self.postgres else "?"

    def many(self, values: Any) -> str:
        """A comma-separated placeholder list for IN (...); NULL when empty (matches nothing)."""
        return ", ".join(self(value) for value in values) or "NULL"


async def run_sql(conn: BaseDBAsyncClient, sql: str, *values: Any) -> list[dict[str, Any]]:
    """Run `sql`, written with `?` placeholders, on `conn` in its own placeholder style."""
    param = SqlParams(conn)
    parts = sql.split("?")
    text = parts[0] + "".join(param(value) + part for value, part in zip(values, parts[1:],
                                                                          strict=True))
    return await conn.execute_query_dict(text, param.values)
