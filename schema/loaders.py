"""Per-request DataLoaders. Built in the context for every request (and every subscription
event), never shared across requests or users.

Loaders of one kind of answer are named for it, as `<Model>By<Key>Loader` (a subclass of
NamedLoader with one bulk query in `batch_load`, results in key order), and reached through
the request's bag: `info.context.loaders.named(SignUpByActivityLoader, viewer_id)`. The
generic ones (`by_id`, `grouped`, `counts`, `windowed`) serve any model and relation.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader
from tortoise import connections
from tortoise.functions import Count
from tortoise.models import Model

from db.routing import read_connection
from models.activity import SignUp
from models.training import Assessment, Enrollment, LessonCompletion
from resolvers.chat import HistoryMessage, history_pages, unread_counts
from resolvers.hours import points_balances
from resolvers.insurance import insured_sign_ups
from resolvers.requirements import requirements_of
from resolvers.signup import waitlist_positions
from resolvers.sql import Sql, fetch
from resolvers.team import administered_team_ids
from schema.relay import Connection, Order, build_connection, check_first, parse_cursor

ModelT = TypeVar("ModelT", bound=Model)
K = TypeVar("K")
T = TypeVar("T")
LoaderT = TypeVar("LoaderT", bound="NamedLoader[Any, Any]")


class ShieldedLoader(DataLoader[K, T]):
    """Every field asking for a key awaits the same future, and graphql-core cancels the
    sibling fields of one that failed (`gather_with_cancel`): cancelling a task cancels the
    future it awaits, so fields elsewhere in the tree waiting for that key would get a
    CancelledError, which no error handler catches (HTTP 500). Each caller gets a shield."""

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))


class NamedLoader(ShieldedLoader[K, T], Generic[K, T]):
    """A loader for one kind of answer; subclasses take the arguments the answer depends on
    (e.g. the viewer) in `__init__` and implement `batch_load`."""

    def __init__(self) -> None:
        super().__init__(load_fn=self.batch_load)

    async def batch_load(self, keys: list[K]) -> Sequence[T]:
        raise NotImplementedError


class Loaders:
    """A bag of loaders created lazily on first use, keyed by name (and arguments)."""

    def __init__(self) -> None:
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def _get(
        self, key: Hashable, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]
    ) -> DataLoader[Any, Any]:
        """The generic loaders' store (by_id, grouped, counts, ...). A field needing another
        kind of answer names its loader: a `NamedLoader` subclass used through `named`."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = ShieldedLoader(load_fn=batch)
        return loader

    def named(self, loader: type[LoaderT], *args: Any) -> LoaderT:
        """This request's `loader(*args)`, made on first use."""
        key = (loader, *args)
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = loader(*args)
        return found  # type: ignore[return-value]

    def by_id(self, model: type[ModelT]) -> DataLoader[int, ModelT | None]:
        """`<Model>ByIdLoader`: one `WHERE id IN (...)`, results in key order."""

        async def batch(ids: list[int]) -> list[ModelT | None]:
            rows = {row.pk: row for row in await rows_by_id(model, ids)}
            return [rows.get(i) for i in ids]

        return self._get(("by_id", model), batch)

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

        return self._get(("grouped", key, model, parent_field, *order_by), batch)

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

        return self._get(("count", key, model, parent_field), batch)

    async def child_page(
        self,
        key: Hashable,
        model: type[ModelT],
        parent_column: str,
        parent_id: int,
        first: int | None,
        after: str | None,
        order: Order,
        *,
        convert: Callable[[ModelT], Any],
        **equals: Any,
    ) -> Connection[Any]:
        """One parent's page of children with a lazy totalCount: one windowed statement and one
        GROUP BY count serve every parent the request asks for."""
        size = check_first(first)
        rows = await self.windowed(key, model, parent_column, size + 1, after, order,
                                   **equals).load(parent_id)
        counter = self.counts(key, model, parent_column, **equals)

        async def count() -> int:
            return await counter.load(parent_id)

        return build_connection(rows, size, order, count, convert=convert,
                                started_after=bool(after))

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

        return self._get(("window", key, model, parent_column, limit, after_id), batch)


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


class SignUpByActivityLoader(NamedLoader[int, SignUp | None]):
    """A volunteer's sign-up for each activity."""

    def __init__(self, volunteer_id: int) -> None:
        super().__init__()
        self.volunteer_id = volunteer_id

    async def batch_load(self, activity_ids: list[int]) -> list[SignUp | None]:
        rows = await SignUp.filter(activity_id__in=activity_ids, volunteer_id=self.volunteer_id)
        found = {row.activity_id: row for row in rows}
        return [found.get(i) for i in activity_ids]


class WaitlistPositionBySignUpLoader(NamedLoader[int, int | None]):
    """Each waitlisted sign-up's place in line (1 = next to be promoted)."""

    async def batch_load(self, sign_up_ids: list[int]) -> list[int | None]:
        positions = await waitlist_positions(sign_up_ids)
        return [positions.get(i) for i in sign_up_ids]


class InsuredBySignUpLoader(NamedLoader[int, bool]):
    """Whether each sign-up's shift is covered by an insurance policy."""

    async def batch_load(self, sign_up_ids: list[int]) -> list[bool]:
        covered = await insured_sign_ups(sign_up_ids)
        return [i in covered for i in sign_up_ids]


class UnreadCountByRoomLoader(NamedLoader[int, int]):
    """Each chat room's messages by others after the viewer's read marker."""

    def __init__(self, viewer_id: int) -> None:
        super().__init__()
        self.viewer_id = viewer_id

    async def batch_load(self, room_ids: list[int]) -> Sequence[int]:
        return await unread_counts(self.viewer_id, room_ids)


class ChatPageByRoomLoader(NamedLoader[int, list[HistoryMessage]]):
    """Each room's history page next to a keyset bound, with the authors' names: one statement
    reading only the page's rows, however long the rooms' histories are."""

    def __init__(self, limit: int, older_than: int | None, newer_than: int | None,
                 newest_first: bool) -> None:
        super().__init__()
        self.limit, self.older_than, self.newer_than = limit, older_than, newer_than
        self.newest_first = newest_first

    async def batch_load(self, room_ids: list[int]) -> Sequence[list[HistoryMessage]]:
        pages = await history_pages(room_ids, self.limit, older_than=self.older_than,
                                    newer_than=self.newer_than, newest_first=self.newest_first)
        return [pages[room_id] for room_id in room_ids]


class AssessmentByCourseLoader(NamedLoader[int, Assessment | None]):
    """Each course's assessment, if it has one."""

    async def batch_load(self, course_ids: list[int]) -> list[Assessment | None]:
        found = {row.course_id: row for row in await Assessment.filter(course_id__in=course_ids)}
        return [found.get(i) for i in course_ids]


class EnrollmentByCourseLoader(NamedLoader[int, Enrollment | None]):
    """A volunteer's enrolment in each course."""

    def __init__(self, volunteer_id: int) -> None:
        super().__init__()
        self.volunteer_id = volunteer_id

    async def batch_load(self, course_ids: list[int]) -> list[Enrollment | None]:
        found = {row.course_id: row for row in await Enrollment.filter(
            course_id__in=course_ids, volunteer_id=self.volunteer_id)}
        return [found.get(i) for i in course_ids]


class CompletionByLessonLoader(NamedLoader[int, bool]):
    """Whether a volunteer completed each lesson."""

    def __init__(self, volunteer_id: int) -> None:
        super().__init__()
        self.volunteer_id = volunteer_id

    async def batch_load(self, lesson_ids: list[int]) -> list[bool]:
        done = set(await LessonCompletion.filter(
            lesson_id__in=lesson_ids, volunteer_id=self.volunteer_id).values_list("lesson_id",
                                                                                  flat=True))
        return [i in done for i in lesson_ids]


class RequirementsByActivityLoader(NamedLoader[int, list[str]]):
    """The qualifications each activity requires, by name."""

    async def batch_load(self, activity_ids: list[int]) -> list[list[str]]:
        found = await requirements_of(activity_ids)
        return [found[i] for i in activity_ids]


class AdministeredTeamsByVolunteerLoader(NamedLoader[int, set[int]]):
    """Team ids a volunteer administers, directly or through an ancestor team."""

    async def batch_load(self, volunteer_ids: list[int]) -> list[set[int]]:
        return [await administered_team_ids(volunteer_id) for volunteer_id in volunteer_ids]


class PointsBalanceByVolunteerLoader(NamedLoader[int, int]):
    """Each volunteer's points balance (the sum of their ledger), in one GROUP BY."""

    async def batch_load(self, volunteer_ids: list[int]) -> list[int]:
        return await points_balances(volunteer_ids)
