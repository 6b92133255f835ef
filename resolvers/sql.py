"""Hand-written SQL that must run on both backends, built one way: `Sql`.

Values are named where the text uses them (`Sql("v.district = :district", district=name)`),
and placeholders are numbered only when the finished statement is rendered, in the order they
appear in its text: `$n` for PostgreSQL, `?n` for SQLite. Fragments can be made in any order
and combined with `+`, `Sql.join` or as the value of a name, so no placeholder can be bound to
another one's value (SQLite binds by position, PostgreSQL by number). A fragment that carries
a hand-written `$1` or `?` is refused when it is made.

`SqlParams` and `run_sql` are the positional helpers the sign-up path still uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from db.routing import read_connection

# Quoted strings, quoted identifiers, comments and PostgreSQL `::type` casts are passed over;
# group 1 is a `:name` parameter, group 2 a hand-written placeholder.
_TOKENS = re.compile(r"""'[^']*'|"[^"]*"|--[^\n]*|::|:([A-Za-z_]\w*)|(\$\d+|\?\d*)""")


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """The text between parameters, the parameter names (one fewer than the texts) and the
    set of names."""
    texts, names, start = [], [], 0
    for token in _TOKENS.finditer(text):
        name, hand_written = token.groups()
        if hand_written:
            raise ValueError(f"{hand_written!r} in {text!r}: name the parameter (:name) instead")
        if name:
            texts.append(text[start:token.start()])
            names.append(name)
            start = token.end()
    texts.append(text[start:])
    return tuple(texts), tuple(names), frozenset(names)


# Types the drivers take as they are; checked first because isinstance(value, Enum) costs
# more than the rest of rendering an id list.
_PLAIN = frozenset({int, str, float, bool, type(None)})


def _driver_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class _Value:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value if type(value) in _PLAIN else _driver_value(value)


class _OneOf:
    __slots__ = ("expression", "values")

    def __init__(self, expression: str, values: Iterable[Any]) -> None:
        self.expression = expression
        self.values = [value if type(value) in _PLAIN else _driver_value(value)
                       for value in values]


class Sql:
    """A piece of SQL with its values. Immutable; a name used twice in one piece is one value."""

    __slots__ = ("parts",)

    parts: tuple[str | _Value | _OneOf, ...]

    def __init__(self, text: str = "", /, **values: Any) -> None:
        texts, names, named = _parse(text)
        if values.keys() != named:
            raise TypeError(f"no value for {sorted(f':{n}' for n in named - values.keys())}, "
                            f"{sorted(values.keys() - named)} not used in {text!r}")
        bound: dict[str, _Value] = {}
        parts: list[str | _Value | _OneOf] = [texts[0]]
        for name, after in zip(names, texts[1:], strict=True):
            value = values[name]
            if isinstance(value, Sql):
                parts.extend(value.parts)
            else:
                parts.append(bound.setdefault(name, _Value(value)))
            parts.append(after)
        self.parts = tuple(parts)

    @classmethod
    def _of(cls, parts: Iterable[str | _Value | _OneOf]) -> Sql:
        made = cls.__new__(cls)
        made.parts = tuple(parts)
        return made

    @classmethod
    def one_of(cls, expression: str, values: Iterable[Any]) -> Sql:
        """`expression` equals one of `values` (none: false): `= ANY($n)` with one array on
        PostgreSQL, so the statement text is the same for any count; `IN (?1, ?2, ...)` on SQLite."""
        if _parse(expression)[2]:
            raise ValueError(f"{expression!r}: one_of takes an expression without parameters")
        return cls._of((_OneOf(expression, values),))

    @staticmethod
    def join(separator: str, pieces: Iterable[Sql]) -> Sql:
        parts: list[str | _Value | _OneOf] = []
        for index, piece in enumerate(pieces):
            if index:
                parts.append(separator)
            parts.extend(piece.parts)
        return Sql._of(parts)

    def __add__(self, other: Sql | str) -> Sql:
        return Sql._of((*self.parts, *(other if isinstance(other, Sql) else Sql(other)).parts))

    def __radd__(self, other: str) -> Sql:
        return Sql._of((*Sql(other).parts, *self.parts))

    def render(self, dialect: str) -> tuple[str, list[Any]]:
        """The statement text for `dialect` ("postgres" or "sqlite") and its values in order."""
        postgres = dialect == "postgres"
        mark = "$" if postgres else "?"
        text: list[str] = []
        values: list[Any] = []
        numbered: dict[int, str] = {}
        for part in self.parts:
            if isinstance(part, str):
                text.append(part)
            elif isinstance(part, _Value):
                placeholder = numbered.get(id(part))
                if placeholder is None:
                    values.append(part.value)
                    placeholder = numbered[id(part)] = f"{mark}{len(values)}"
                text.append(placeholder)
            elif postgres:
                values.append(part.values)
                text.append(f"{part.expression} = ANY(${len(values)})")
            else:
                first = len(values) + 1
                values.extend(part.values)
                marks = ", ".join(f"?{n}" for n in range(first, len(values) + 1))
                text.append(f"{part.expression} IN ({marks})")
        return "".join(text), values

    def __repr__(self) -> str:
        return f"Sql{self.render('postgres')!r}"


async def fetch(conn: BaseDBAsyncClient, sql: Sql) -> list[dict[str, Any]]:
    """The rows of `sql` as dicts, run on `conn` in its dialect."""
    text, values = sql.render(conn.capabilities.dialect)
    return await conn.execute_query_dict(text, values)


async def execute(conn: BaseDBAsyncClient, sql: Sql) -> tuple[int, Sequence[Any]]:
    """(rows affected or returned, rows) of `sql`, run on `conn` in its dialect."""
    text, values = sql.render(conn.capabilities.dialect)
    return await conn.execute_query(text, values)


async def execute_each(conn: BaseDBAsyncClient, template: str, rows: Sequence[dict[str, Any]]) -> None:
    """`template` once per row in one executemany, each row binding the template's names."""
    if not rows:
        return
    text, _ = Sql(template, **rows[0]).render(conn.capabilities.dialect)
    order = tuple(dict.fromkeys(_parse(template)[1]))  # render numbers each name at first use
    await conn.execute_many(text, [[_driver_value(row[name]) for name in order] for row in rows])


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


def bulk_rows(dialect: str, columns: Sequence[tuple[str, str]],
              rows: Sequence[Sequence[Any]]) -> Sql:
    """A SELECT of `rows` under the given column names, for `INSERT … SELECT … FROM (it) AS b
    WHERE TRUE`. PostgreSQL: one array parameter per column (`unnest`), so thousands of rows
    cost a handful of parameters and the statement text is the same for any count; SQLite:
    `VALUES`. `columns` are (name, PostgreSQL type)."""
    if dialect == "postgres":
        arrays = Sql.join(", ", (Sql(f"CAST(:values AS {kind}[])",
                                     values=[_driver_value(row[index]) for row in rows])
                                 for index, (_, kind) in enumerate(columns)))
        names = ", ".join(name for name, _ in columns)
        return "SELECT * FROM unnest(" + arrays + f") AS rows_({names})"
    aliases = ", ".join(f"column{index + 1} AS {name}" for index, (name, _) in enumerate(columns))
    values = Sql.join(", ", ("(" + Sql.join(", ", (Sql(":value", value=value) for value in row))
                             + ")" for row in rows))
    return f"SELECT {aliases} FROM (VALUES " + values + ")"
