"""Per-request DataLoaders. Built in the context for every request (and every subscription
event), never shared across requests or users."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise import connections
from tortoise.functions import Count
from tortoise.models import Model

from db.routing import read_connection
from resolvers.sql import Sql, fetch
from schema.relay import Order, parse_cursor

ModelT = TypeVar("ModelT", bound=Model)
K = TypeVar("K")
T = TypeVar("T")


class ShieldedLoader(DataLoader[K, T]):
    """Every field asking for a key awaits the same future, and graphql-core cancels the
    sibling fields of one that failed (`gather_with_cancel`): cancelling a task cancels the
    future it awaits, so fields elsewhere in the tree waiting for that key would get a
    CancelledError, which no error handler catches (HTTP 500). Each caller gets a shield."""

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))


class Loaders:
    """A bag of loaders created lazily on first use, keyed by name (and arguments)."""

    def __init__(self) -> None:
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def get(
        self, key: Hashable, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]
    ) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = ShieldedLoader(load_fn=batch)
        return loader

    def by_id(self, model: type[ModelT]) -> DataLoader[int, ModelT | None]:
        """`<Model>ByIdLoader`: one `WHERE id IN (...)`, results in key order."""

        async def batch(ids: list[int]) -> list[ModelT | None]:
            rows = {row.pk: row for row in await rows_by_id(model, ids)}
            return [rows.get(i) for i in ids]

        return self.get(("by_id", model), batch)

    def grouped(
        self,
        key: Hashable,
        model: type[ModelT],
        parent_field: str,
        order_by: Sequence[str] = ("id",),
        **filters: Any,
    ) -> DataLoader[int, list[ModelT]]:
        """All rows whose `parent_field` is the key, in one query; for small child lists."""

        async def batch(parent_ids: list[int]) -> list[list[ModelT]]:
            groups: dict[int, list[ModelT]] = defaultdict(list)
            query = model.filter(**{f"{parent_field}__in": parent_ids}, **filters)
            for row in await query.order_by(*order_by):
                groups[getattr(row, parent_field)].append(row)
            return [groups.get(i, []) for i in parent_ids]

        return self.get(("grouped", key, model, parent_field, *order_by), batch)

    def counts(
        self, key: Hashable, model: type[ModelT], parent_field: str, **filters: Any
    ) -> DataLoader[int, int]:
        """COUNT(*) per parent in one GROUP BY."""

        async def batch(parent_ids: list[int]) -> list[int]:
            rows = (
                await model.filter(**{f"{parent_field}__in": parent_ids}, **filters)
                .annotate(n=Count("id"))
                .group_by(parent_field)
                .values(parent_field, "n")
            )
            found = {row[parent_field]: row["n"] for row in rows}
            return [int(found.get(i, 0)) for i in parent_ids]

        return self.get(("count", key, model, parent_field), batch)

    def windowed(
        self,
        key: Hashable,
        model: type[ModelT],
        parent_column: str,
        limit: int,
        after: str | None,
        order: Order,
        **equals: Any,
    ) -> DataLoader[int, list[ModelT]]:
        """The first `limit` rows per parent (by id) in one statement, via ROW_NUMBER()."""
        after_id = parse_cursor(after, order)[-1] if after else None

        async def batch(parent_ids: list[int]) -> list[list[ModelT]]:
            rows = await window_query(model, parent_column, parent_ids, limit, after_id,
                                      order.id_descending, equals)
            groups: dict[int, list[ModelT]] = defaultdict(list)
            for row in rows:
                groups[getattr(row, parent_column)].append(row)
            return [groups.get(i, []) for i in parent_ids]

        return self.get(("window", key, model, parent_column, limit, after_id), batch)


async def rows_by_id(model: type[ModelT], ids: Sequence[int]) -> list[ModelT]:
    """`model.filter(id__in=ids)` without building the statement each time (the most used
    loader: nodes, authors, teams). PostgreSQL gets one statement text for any number of ids
    (`= ANY($1)`, so asyncpg's statement cache hits); the primary or, inside
    `replica_reads()`, the replica, as the ORM's router would choose."""
    sql = Sql(f'SELECT * FROM "{model._meta.db_table}" WHERE ') + Sql.one_of(
        '"id"', [int(i) for i in ids])
    return [model._init_from_db(**row) for row in await fetch(read_connection(), sql)]


async def window_query(
    model: type[ModelT],
    parent_column: str,
    parent_ids: list[int],
    limit: int,
    after_id: int | None,
    descending: bool,
    equals: dict[str, Any],
) -> list[ModelT]:
    """`equals` maps columns to a value, or to a list/tuple of values (IN)."""
    where = [Sql.one_of(f'"{parent_column}"', [int(i) for i in parent_ids])]
    if after_id is not None:
        where.append(Sql(f'"id" {"<" if descending else ">"} :after', after=int(after_id)))
    for column, value in equals.items():
        if isinstance(value, list | tuple):
            where.append(Sql.one_of(f'"{column}"', value))
        else:
            where.append(Sql(f'"{column}" = :value', value=value))
    direction = "DESC" if descending else "ASC"
    sql = Sql(
        f'SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "{parent_column}" '
        f'ORDER BY "id" {direction}) AS "_rn" FROM "{model._meta.db_table}" WHERE :where) '
        f'AS "_w" WHERE "_rn" <= {int(limit)} ORDER BY "{parent_column}", "id" {direction}',
        where=Sql.join(" AND ", where))
    connection = connections.get(model._meta.default_connection or "default")
    result = []
    for row in await fetch(connection, sql):
        row.pop("_rn", None)
        result.append(model._init_from_db(**row))
    return result
