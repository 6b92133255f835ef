"""Relay plumbing: opaque global IDs, the Node registry, keyset-paginated connections."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.cursors import open_cursor, seal_cursor
from core.geo import Circle
from resolvers.errors import BadInput

DEFAULT_PAGE = 20
MAX_PAGE = 100

NodeT = TypeVar("NodeT")
ModelT = TypeVar("ModelT", bound=Model)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(value: str) -> str:
    padded = value + "=" * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def to_global_id(type_name: str, db_id: int) -> strawberry.ID:
    return strawberry.ID(_b64(f"{type_name}:{db_id}"))


DB_ID_MAX = 2**31 - 1  # primary keys are 32-bit integer columns on both backends


def parse_global_id(global_id: str, field: str) -> tuple[str, int]:
    try:
        type_name, _, raw = _unb64(global_id).partition(":")
        db_id = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(field, f"{field} is not a valid ID.") from None
    if not 1 <= db_id <= DB_ID_MAX:
        # an integer the database cannot even compare (SQLite overflows past 2**63)
        raise BadInput(field, f"{field} is not a valid ID.")
    return type_name, db_id


def decode_id(global_id: str, expected: str | Sequence[str], field: str) -> int:
    """The database id behind a global ID of one of the expected types."""
    type_name, db_id = parse_global_id(global_id, field)
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    if type_name not in allowed:
        raise BadInput(field, f"{field} must be the ID of a {' or '.join(allowed)}.")
    return db_id


def decode_optional_id(global_id: str | None, expected: str, field: str) -> int | None:
    return None if global_id is None else decode_id(global_id, expected, field)


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    db_id: strawberry.Private[int]

    @strawberry.field(description="Opaque global ID; resolve it with `node(id:)`.")
    def id(self) -> strawberry.ID:
        return to_global_id(type(self).__name__, self.db_id)


NodeResolver = Callable[[Info, int], Awaitable[Any]]
NODE_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    """`resolver(info, db_id)` returns the object if the viewer may see it, else None."""
    NODE_RESOLVERS[type_name] = resolver


async def resolve_node(info: Info, global_id: str) -> Any:
    type_name, db_id = parse_global_id(global_id, "id")
    resolver = NODE_RESOLVERS.get(type_name)
    if resolver is None:
        raise BadInput("id", "id is not a valid ID.")
    return await resolver(info, db_id)


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[NodeT]):
    # A cursor is sealed (JSON + HMAC) only when a client selects it: most lists ask for the
    # nodes and one endCursor, not a cursor per item (~23 µs each).
    position: strawberry.Private[str | Callable[[], str]]

    def sealed(self) -> str:
        if not isinstance(self.position, str):
            self.position = self.position()
        return self.position

    @strawberry.field(description="Opaque position of this item.")
    def cursor(self) -> str:
        return self.sealed()

    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="This page did not start at the beginning.")
    edges: strawberry.Private[Sequence[Edge[Any]]]

    @strawberry.field(description="Cursor of the first item.")
    def start_cursor(self) -> str | None:
        return self.edges[0].sealed() if self.edges else None

    @strawberry.field(description="Cursor of the last item; pass it as `after`.")
    def end_cursor(self) -> str | None:
        return self.edges[-1].sealed() if self.edges else None


CountFn = Callable[[], Awaitable[int]]


@strawberry.type(description="A page of items (Relay connection).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    count_fn: strawberry.Private[CountFn]

    @strawberry.field(description="How many items the whole list has (all pages).")
    async def total_count(self) -> int:
        return await self.count_fn()


def check_first(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 <= first <= MAX_PAGE:
        raise BadInput("first", f"first must be between 0 and {MAX_PAGE}.")
    return first


@dataclass(frozen=True)
class Order:
    """Keyset order: model fields, each ascending or descending; `id` always breaks ties."""

    fields: tuple[tuple[str, bool], ...] = ()
    id_descending: bool = False

    def columns(self) -> list[tuple[str, bool]]:
        return [*self.fields, ("id", self.id_descending)]

    def order_by(self) -> list[str]:
        return [("-" if desc else "") + name for name, desc in self.columns()]


BY_ID = Order()
NEWEST_FIRST = Order(id_descending=True)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if hasattr(value, "value"):
        return value.value
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    return value


def make_cursor(obj: Any, order: Order) -> str:
    return seal_keys([getattr(obj, name) for name, _ in order.columns()])


def seal_keys(values: list[Any]) -> str:
    """The cursor of a row with these sort-key values, in its order's columns."""
    return seal_cursor([_encode_value(value) for value in values])


def parse_cursor(cursor: str, order: Order) -> list[Any]:
    try:
        values = open_cursor(cursor)
    except ValueError:
        raise BadInput("after", "after is not a valid cursor.") from None
    if not isinstance(values, list) or len(values) != len(order.columns()):
        raise BadInput("after", "after is not a valid cursor.")
    return [_decode_value(v) for v in values]


def after_filter(values: list[Any], order: Order) -> Q:
    """(a, b, id) strictly after the cursor in the given directions, as one OR of ANDs."""
    columns = order.columns()
    condition = Q()
    for index, (name, desc) in enumerate(columns):
        branch = Q(**{f"{name}__lt" if desc else f"{name}__gt": values[index]})
        for prev_index in range(index):
            branch &= Q(**{columns[prev_index][0]: values[prev_index]})
        condition = branch if index == 0 else condition | branch
    return condition


def build_connection(
    items: Sequence[Any],
    first: int,
    order: Order,
    count_fn: CountFn,
    *,
    convert: Callable[[Any], Any] = lambda item: item,
    started_after: bool = False,
) -> Connection[Any]:
    page = list(items[:first])
    edges = [Edge(position=functools.partial(make_cursor, item, order), node=convert(item))
             for item in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(items) > first, has_previous_page=started_after,
                           edges=edges),
        count_fn=count_fn,
    )


async def paginate(
    query: QuerySet[ModelT],
    first: int | None,
    after: str | None,
    *,
    convert: Callable[[ModelT], Any],
    order: Order = BY_ID,
) -> Connection[Any]:
    """One statement for the page (+1 row to learn hasNextPage); the count runs only if asked."""
    size = check_first(first)
    page_query = query
    if after:
        page_query = page_query.filter(after_filter(parse_cursor(after, order), order))
    # first: 0 still reads one row: hasNextPage says whether there is any (as the windowed
    # loaders of nested pages and the compiled reads answer it).
    items = await page_query.order_by(*order.order_by()).limit(size + 1)
    count_query = query

    async def count() -> int:
        return await count_query.count()

    return build_connection(items, size, order, count, convert=convert, started_after=bool(after))


async def paginate_within(
    query: QuerySet[ModelT], first: int | None, after: str | None, circle: Circle, *,
    convert: Callable[[ModelT], Any], order: Order,
) -> Connection[Any]:
    """Keyset pages of rows inside `circle`: SQL narrows by bounding box, Python keeps the rows
    really inside, fetching further chunks until the page (plus one, for hasNextPage) is full;
    `first: 0` reads until one row is inside, like every other page of none."""
    size = check_first(first)
    cursor = parse_cursor(after, order) if after else None
    kept: list[ModelT] = []
    chunk = max(2 * (size + 1), 50)
    while len(kept) <= size:
        page_query = query.filter(after_filter(cursor, order)) if cursor else query
        rows = await page_query.order_by(*order.order_by()).limit(chunk)
        kept.extend(row for row in rows if circle.contains(row.latitude, row.longitude))  # type: ignore[attr-defined]
        if len(rows) < chunk:
            break
        cursor = [getattr(rows[-1], name) for name, _ in order.columns()]

    async def count() -> int:
        points = await query.values_list("latitude", "longitude")
        return sum(1 for lat, lon in points if circle.contains(lat, lon))

    return build_connection(kept, size, order, count, convert=convert, started_after=bool(after))
