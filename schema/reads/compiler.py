"""Planning a root field's selection against the schema, and building its one SQL statement.

`plan_root` runs once per document (schema/reads/execute.py caches it): it flattens the
selection (fragments whose type condition applies, merged duplicate leaves) and checks every
field against the declarations (schema/reads/declare.py) and the root readers (ROOTS below).
Anything it cannot express raises NotCompilable and the root field stays on the general
executor. `build_root` runs per request: it reads the arguments, applies the rules (the same
Python checks the resolvers make: page bounds, cursor MACs, text bounds), and writes the SQL.
A request it cannot answer exactly (an argument the resolver would reject, `first: 0`, a
`near` filter) raises Fallback before anything ran, and the general executor answers it,
errors included.

Connection cursors are not sealed in the database (the key stays in Python): the statement
writes a marker with the row's sort keys (`MARKER<shape>:<key>:<key>`) where a cursor goes,
and execute.py seals each one with schema/relay.py's `make_cursor`.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_object_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from core.cursors import seal_cursor
from forum.models import BoardModerator
from resolvers.auth import Viewer
from resolvers.errors import DomainError
from resolvers.team import administered_team_ids
from schema.reads import pg
from schema.reads.declare import (
    READABLE,
    Children,
    Count,
    Embedded,
    InPython,
    Kind,
    Managing,
    Moderating,
    Personal,
    RecordedRead,
    ToOne,
    Value,
    ViewersOwn,
)
from schema.relay import Order, check_first, parse_cursor, to_global_id


class NotCompilable(Exception):
    """The document has a shape the compiler does not express (plan time)."""


class Fallback(Exception):
    """This request's arguments or viewer need the general executor (request time)."""


# A per-process secret prefix: a string in the data can never look like a cursor marker.
MARKER = "c" + secrets.token_hex(10)


@dataclass(frozen=True)
class CursorShape:
    order: Order
    kinds: tuple[Kind, ...]  # of order.columns(): DATETIME keys travel as epoch microseconds


CURSOR_SHAPES: list[CursorShape] = []
CONVERTERS: list[Callable[[str], Any]] = []  # InPython.convert, by the index markers carry


def _shape_index(shape: CursorShape) -> int:
    if shape not in CURSOR_SHAPES:
        CURSOR_SHAPES.append(shape)
    return CURSOR_SHAPES.index(shape)


@dataclass(frozen=True)
class Selected:
    key: str
    name: str
    node: FieldNode
    definition: GraphQLField | None  # None for __typename
    parent: str  # the GraphQL type the field is on
    type_name: str  # the field's named output type
    children: tuple[Selected, ...] | None
    # For a field of an interface or union type: the selection per declared object type.
    variants: dict[str, tuple[Selected, ...]] | None = None


def collect(schema: GraphQLSchema, parent: GraphQLObjectType, selection_set: SelectionSetNode,
            fragments: dict[str, FragmentDefinitionNode]) -> tuple[Selected, ...]:
    """The fields selected on `parent`, fragments flattened, in response order."""
    found: dict[str, Selected] = {}
    _collect_into(schema, parent, selection_set, fragments, found)
    return tuple(found.values())


def _applies(schema: GraphQLSchema, parent: GraphQLObjectType, condition: str | None) -> bool:
    if condition is None or condition == parent.name:
        return True
    named = schema.get_type(condition)
    return named is not None and is_abstract_type(named) and \
        schema.is_sub_type(named, parent)  # type: ignore[arg-type]


def _collect_into(schema: GraphQLSchema, parent: GraphQLObjectType,
                  selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                  found: dict[str, Selected]) -> None:
    for selection in selection_set.selections:
        if selection.directives:
            raise NotCompilable("directives")
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if _applies(schema, parent, fragment.type_condition.name.value):
                _collect_into(schema, parent, fragment.selection_set, fragments, found)
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            if _applies(schema, parent, condition):
                _collect_into(schema, parent, selection.selection_set, fragments, found)
            continue
        assert isinstance(selection, FieldNode)
        key = selection.alias.value if selection.alias else selection.name.value
        name = selection.name.value
        if name == "__typename":
            item = Selected(key, name, selection, None, parent.name, "String", None)
        else:
            definition = parent.fields[name]
            named = get_named_type(definition.type)
            children = None
            variants = None
            if selection.selection_set is not None and is_object_type(named):
                children = collect(schema, named, selection.selection_set,  # type: ignore[arg-type]
                                   fragments)
            elif selection.selection_set is not None:
                variants = {
                    possible.name: collect(schema, possible, selection.selection_set, fragments)
                    for possible in schema.get_possible_types(named)  # type: ignore[arg-type]
                    if possible.name in READABLE}
            item = Selected(key, name, selection, definition, parent.name, named.name, children,
                            variants)
        if key in found:
            previous = found[key]
            if previous.children is not None or item.children is not None or \
                    previous.name != item.name or previous.node.arguments or \
                    item.node.arguments:
                raise NotCompilable("merged selections")
            continue
        found[key] = item


# ----------------------------------------------------------------- plan-time checks

CONNECTION_FIELDS = frozenset({"edges", "pageInfo", "totalCount", "__typename"})
EDGE_FIELDS = frozenset({"cursor", "node", "__typename"})
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor",
                              "__typename"})


def check_object(type_name: str, children: tuple[Selected, ...]) -> None:
    readable = READABLE.get(type_name)
    if readable is None:
        raise NotCompilable(type_name)
    for child in children:
        if child.name in ("__typename", "id"):
            continue
        reading = readable.fields.get(child.name)
        if reading is None:
            raise NotCompilable(f"{type_name}.{child.name}")
        if isinstance(reading, Children):
            if {a.name.value for a in child.node.arguments or ()} - {"first", "after"}:
                raise NotCompilable(f"{type_name}.{child.name} arguments")
            assert child.children is not None
            check_connection(reading.type_name, child.children)
            continue
        if child.node.arguments and not isinstance(reading, RecordedRead):
            raise NotCompilable(f"{type_name}.{child.name} arguments")
        if isinstance(reading, ToOne | ViewersOwn | Embedded):
            if child.children is None:
                raise NotCompilable(f"{type_name}.{child.name} is abstract")
            check_object(reading.type_name, child.children)


def check_connection(node_type: str, children: tuple[Selected, ...]) -> None:
    for child in children:
        if child.name not in CONNECTION_FIELDS:
            raise NotCompilable(child.name)
        if child.name == "edges":
            assert child.children is not None
            for edge_field in child.children:
                if edge_field.name not in EDGE_FIELDS:
                    raise NotCompilable(edge_field.name)
                if edge_field.name == "node":
                    assert edge_field.children is not None
                    check_object(node_type, edge_field.children)
        elif child.name == "pageInfo":
            assert child.children is not None
            if any(f.name not in PAGE_INFO_FIELDS for f in child.children):
                raise NotCompilable("pageInfo")


# ----------------------------------------------------------------- request-time SQL


@dataclass
class Build:
    """One statement being written for one request: its parameters and the viewer's facts."""

    viewer: Viewer
    variables: VariableValues
    administered: set[int] | None = None  # loaded before building when the plan needs it
    moderated: set[int] | None = None  # likewise: the boards the viewer moderates
    params: list[Any] = field(default_factory=list)
    markers: bool = False  # the statement writes markers Python replaces (cursors, InPython)
    # A null answer may hide a row the viewer's teams would show: build again with them.
    null_needs_administered: bool = False
    next_alias: int = 0
    own_row: str | None = None  # the alias of the viewer's own volunteer row (`me`)
    volatile: int = 0  # text written from argument values (page sizes) so far
    # Python's last step over the statement's JSON text, before markers are replaced: for
    # what only Python computes exactly over a whole list (servicePoints' haversine order).
    finish: Callable[[str], str] | None = None
    # A connection's page row (and rows joined to it) -> the LEFT JOINs its to-one relations
    # become, after the page's LIMIT (connection()).
    joins: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Which parameters are the viewer's id and the clock: the statement's text and its other
    # parameters follow from the plan, the viewer's kind and sets and the variables, so the
    # next request of the same kind reuses them with these two filled in (execute.py).
    subject_slots: list[int] = field(default_factory=list)
    now_slots: list[int] = field(default_factory=list)
    # A reader whose statement returns plain rows (not one JSON text) sets how Python writes
    # the field's JSON from them (`flat_object`: what PostgreSQL spends most on is JSON).
    rows: Callable[[list[Any]], str] | None = None

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{cast}"

    def alias(self) -> str:
        self.next_alias += 1
        return f"r{self.next_alias - 1}"

    def viewer_kind(self) -> str:
        if self.subject is None:
            return "anonymous"
        if not self.viewer.loaded:
            return "unread"
        return "platform admin" if self.viewer.is_platform_admin else "signed in"

    def arguments(self, selected: Selected) -> dict[str, Any]:
        assert selected.definition is not None
        cached = _LITERAL_ARGUMENTS.get(id(selected.node))
        if cached is not None and cached[0] is selected.node:
            return dict(cached[1])
        try:
            values = get_argument_values(selected.definition, selected.node, self.variables)
        except GraphQLError:
            raise Fallback from None
        if not any(_uses_variables(argument.value) for argument in selected.node.arguments or ()):
            if len(_LITERAL_ARGUMENTS) >= FRAGMENTS_KEPT:
                _LITERAL_ARGUMENTS.clear()
            _LITERAL_ARGUMENTS[id(selected.node)] = (selected.node, values)
        return dict(values)

    @property
    def subject(self) -> int | None:
        """The viewer's id, their account read or not (see `platform_admin`)."""
        return self.viewer.claimed_id

    def platform_admin(self) -> str:
        """Whether the viewer is a platform admin, as SQL. A viewer whose account is not read
        yet (the prepared edge reads it only when a plan needs the viewer's teams or boards)
        is asked in the statement, which also checks the account (execute.py)."""
        if self.viewer.loaded:
            return "TRUE" if self.viewer.is_platform_admin else "FALSE"
        return (f"coalesce((SELECT admin.is_platform_admin FROM volunteer admin WHERE admin.id "
                f"= {self.viewer_id()}), FALSE)")

    async def load_administered(self) -> set[int]:
        """The teams the viewer administers (the rule _may_manage uses), read once."""
        if self.administered is None:
            await self.viewer.load()
            viewer_id = self.viewer.id
            self.administered = await administered_team_ids(viewer_id) \
                if viewer_id is not None else set()
        return self.administered

    async def load_moderated(self) -> set[int]:
        """The boards the viewer moderates (the rows forum/rules.py `moderated_among` reads),
        read once."""
        if self.moderated is None:
            await self.viewer.load()
            viewer_id = self.viewer.id
            boards: list[Any] = await BoardModerator.filter(volunteer_id=viewer_id).values_list(
                "board_id", flat=True) if viewer_id is not None else []
            self.moderated = {int(board) for board in boards}
        return self.moderated

    def moderates(self, board_sql: str) -> str:
        return self._one_of_viewers(board_sql, self.moderated)

    def viewer_id(self) -> str:
        self.subject_slots.append(len(self.params))
        return self.param(self.subject, "int")

    def now(self) -> str:
        """The time of the request, as a parameter."""
        self.now_slots.append(len(self.params))
        return self.param(datetime.now(UTC), "timestamptz")

    def facts(self) -> tuple[Any, ...]:
        """What the statement's text may depend on besides the plan and the variables: the
        kind of viewer, and the teams and boards loaded for them."""
        return (self.viewer_kind(),
                None if self.administered is None else frozenset(self.administered),
                None if self.moderated is None else frozenset(self.moderated))

    def manages(self, team_sql: str) -> str:
        return self._one_of_viewers(team_sql, self.administered)

    def _one_of_viewers(self, column_sql: str, ids: set[int] | None) -> str:
        """A predicate: the column is one of the viewer's boards or teams (all of them for a
        platform admin, none for anonymous callers); `ids` were loaded before planning."""
        if self.viewer.is_platform_admin:
            return "TRUE"
        if self.viewer.id is None:
            return "FALSE"
        assert ids is not None
        return f"({column_sql} = ANY({self.param(sorted(ids), 'int[]')}))"


# A field's arguments written as literals coerce to the same values for every request of the
# document: coerced once (held with the node, so its id is never reused while cached).
_LITERAL_ARGUMENTS: dict[int, tuple[FieldNode, dict[str, Any]]] = {}


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(item.value) for item in value.fields)
    return False


# PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes): such a key cannot be a
# column name.
IDENTIFIER_BYTES = 63


@dataclass(frozen=True)
class JsonObject:
    """A JSON object's (response key, SQL value) pairs, in order, written as SQL by `sql`.

    It is `row_to_json` of a one-row subselect whose columns are named by the keys:
    PostgreSQL spends ~40 % less CPU on that than on `json_build_object` of the same values
    (which looks up every argument's type output on every call; ~12 µs per edge of a 20-edge
    page before). The values come out the same (both write each with datum_to_json); only
    the whitespace differs (`{"a":1}`, not `{"a" : 1}`). `row_to_json(j.*)`: `j.*` is the
    whole row even where a key is `j`. A key longer than an identifier keeps
    `json_build_object` (which takes at most 50 pairs)."""

    pairs: tuple[tuple[str, str], ...]
    columns: str | None = field(init=False)

    def __post_init__(self) -> None:
        columns = None
        if all(len(key.encode()) <= IDENTIFIER_BYTES for key, _ in self.pairs):
            columns = ", ".join(f'{value} AS "{key}"' for key, value in self.pairs)
        object.__setattr__(self, "columns", columns)

    def sql(self, source: str = "") -> str:
        """The object as SQL; with `source` (`FROM table alias WHERE ...`) a scalar subquery
        reading that row, null when there is none."""
        if self.columns is not None:
            return f"(SELECT row_to_json(j.*) FROM (SELECT {self.columns} {source}) j)"
        built = "json_build_object(" + ", ".join(f"{pg.literal(key)}, {value}"
                                                 for key, value in self.pairs) + ")"
        return f"(SELECT {built} {source})" if source else built


def json_object(pairs: Sequence[tuple[str, str]]) -> str:
    return JsonObject(tuple(pairs)).sql()


@dataclass(frozen=True)
class _Fragment:
    children: tuple[Selected, ...]  # held, so the id in the key is never reused
    fields: JsonObject
    aliases: int
    markers: bool
    joins: tuple[tuple[str, str], ...]  # (alias, LEFT JOIN) added to the page's joins


# An object's fields as SQL that took no parameter and no argument value are the same for
# every request with the same selection, alias numbering and kind of viewer: written once.
_FRAGMENTS: dict[tuple[int, str, str, int, str, bool], _Fragment] = {}
FRAGMENTS_KEPT = 10_000


def object_json(b: Build, type_name: str, children: tuple[Selected, ...], alias: str,
                source: str = "") -> str:
    """The JSON of an object of `type_name` over the row `alias`; with `source` (`FROM table
    alias WHERE ...`) a scalar subquery reading that row, null when there is none."""
    joins = b.joins.get(alias)
    key = (id(children), type_name, alias, b.next_alias, b.viewer_kind(), joins is not None)
    cached = _FRAGMENTS.get(key)
    if cached is not None and cached.children is children:
        b.next_alias += cached.aliases
        b.markers = b.markers or cached.markers
        if joins is not None:
            for joined in cached.joins:
                b.joins[joined[0]] = joins
                joins.append(joined)
        return cached.fields.sql(source)
    params, aliases, volatile, markers = len(b.params), b.next_alias, b.volatile, b.markers
    joined_before = len(joins) if joins is not None else 0
    b.markers = False
    readable = READABLE[type_name]
    fields = JsonObject(tuple(
        (child.key, _field(b, readable.fields.get(child.name), type_name, child, alias))
        for child in children))
    if len(b.params) == params and b.volatile == volatile:
        if len(_FRAGMENTS) >= FRAGMENTS_KEPT:
            _FRAGMENTS.clear()
        _FRAGMENTS[key] = _Fragment(children, fields, b.next_alias - aliases, b.markers,
                                    tuple(joins[joined_before:]) if joins is not None else ())
    b.markers = b.markers or markers
    return fields.sql(source)


def _value(value: Value, alias: str) -> str:
    return pg.json_value(value.sql.format(t=alias), value.kind)


def _in_python(b: Build, reading: InPython, alias: str) -> str:
    b.markers = True
    if reading.convert not in CONVERTERS:
        CONVERTERS.append(reading.convert)
    return (f"'{MARKER}v{CONVERTERS.index(reading.convert)}:' || "
            f"({reading.sql.format(t=alias)})::text")


def _field(b: Build, reading: Any, type_name: str, child: Selected, alias: str) -> str:
    if child.name == "__typename":
        return pg.literal(type_name)
    if child.name == "id" and reading is None:
        return pg.global_id(type_name, f"{alias}.id")
    if isinstance(reading, Value):
        return _value(reading, alias)
    if isinstance(reading, InPython):
        return _in_python(b, reading, alias)
    if isinstance(reading, Managing):
        manages = b.manages(f"{alias}.{reading.team_column}")
        if reading.value is None:
            return manages
        return f"CASE WHEN {manages} THEN {_value(reading.value, alias)} END"
    if isinstance(reading, Moderating):
        return b.moderates(f"{alias}.{reading.board_column}")
    if isinstance(reading, Personal):
        if b.subject is None:
            return "NULL"
        allowed = f"{alias}.id = {b.viewer_id()}"
        if not reading.self_only:
            allowed = f"({allowed} OR {b.platform_admin()})"
        value = (_in_python(b, reading.value, alias) if isinstance(reading.value, InPython)
                 else _value(reading.value, alias))
        return f"CASE WHEN {allowed} THEN {value} END"
    if isinstance(reading, RecordedRead):
        if b.subject is None or alias == b.own_row or (
                b.viewer.loaded and not b.viewer.is_platform_admin):
            return "NULL"
        raise Fallback  # perhaps a platform admin's recorded read (or a viewer not read yet)
    if isinstance(reading, Count):
        counted = b.alias()
        return (f"(SELECT count(*) FROM {reading.table} {counted} WHERE "
                f"{counted}.{reading.column} = {alias}.id AND {reading.where.format(c=counted)})")
    assert child.children is not None
    if isinstance(reading, Embedded):
        return object_json(b, reading.type_name, child.children, alias)
    if isinstance(reading, ToOne):
        inner = b.alias()
        joins = b.joins.get(alias)
        if joins is not None:  # on a page row: a join after the page's LIMIT, no subquery
            b.joins[inner] = joins
            joins.append((inner, f"LEFT JOIN {reading.table} {inner} ON {inner}.id = "
                                 f"{alias}.{reading.column}"))
            return (f"CASE WHEN {inner}.id IS NOT NULL THEN "
                    f"{object_json(b, reading.type_name, child.children, inner)} END")
        return object_json(b, reading.type_name, child.children, inner,
                           f"FROM {reading.table} {inner} WHERE {inner}.id = "
                           f"{alias}.{reading.column}")
    if isinstance(reading, ViewersOwn):
        if b.subject is None:
            return "NULL"
        inner = b.alias()
        return object_json(b, reading.type_name, child.children, inner,
                           f"FROM {reading.table} {inner} WHERE {inner}.{reading.column} = "
                           f"{alias}.id AND {inner}.{reading.volunteer_column} = "
                           f"{b.viewer_id()}")
    if isinstance(reading, Children):
        return _children(b, reading, child, alias)
    raise AssertionError(reading)


def _children(b: Build, reading: Children, child: Selected, alias: str) -> str:
    if reading.self_only and alias != b.own_row:
        raise Fallback
    b.volatile += 1
    arguments = b.arguments(child)
    size, after = page_arguments(arguments)
    after_values = after_keys(after, reading.order)
    row = b.alias()
    visible = reading.where.format(c=row)
    if reading.unless_moderating is not None:
        visible = f"({visible} OR {b.moderates(f'{alias}.{reading.unless_moderating}')})"
    if reading.unless_managing is not None:
        visible = f"({visible} OR {b.manages(f'{alias}.{reading.unless_managing}')})"
    where = [f"{row}.{reading.column} = {alias}.id", visible]
    source = f"{reading.table} {row}"
    node = row
    if reading.node_table is not None:
        node = b.alias()
        source += f" JOIN {reading.node_table} {node} ON {node}.id = {row}.{reading.node_column}"
    assert child.children is not None
    return connection(b, child.children, Page(
        node_type=reading.type_name, source=source, node_alias=node, where=where,
        keys=[(f"{row}.{name}", kind, desc) for (name, desc), kind
              in zip(reading.order.columns(), reading.kinds, strict=True)],
        order=reading.order, size=size, after=after_values))


def page_arguments(arguments: dict[str, Any]) -> tuple[int, str | None]:
    try:
        size = check_first(arguments.get("first"))
    except DomainError:
        raise Fallback from None
    return size, arguments.get("after") or None


def after_keys(after: str | None, order: Order) -> list[Any] | None:
    if after is None:
        return None
    try:
        return parse_cursor(after, order)
    except DomainError:
        raise Fallback from None


@dataclass
class Page:
    """A keyset page: rows of `source` matching `where`, ordered by `keys` (SQL, kind,
    descending) as `order` describes them, the first `size` after `after`."""

    node_type: str
    source: str
    node_alias: str
    where: list[str]
    keys: list[tuple[str, Kind, bool]]
    order: Order
    size: int
    after: list[Any] | None


def _after_predicate(b: Build, page: Page) -> str:
    """(a, b, id) strictly after the cursor, as schema/relay.py's after_filter writes it."""
    assert page.after is not None
    values = [b.param(value, CASTS[kind]) for value, (_, kind, _)
              in zip(page.after, page.keys, strict=True)]
    branches = []
    for index, (sql, _, desc) in enumerate(page.keys):
        parts = [f"{page.keys[i][0]} = {values[i]}" for i in range(index)]
        parts.append(f"{sql} {'<' if desc else '>'} {values[index]}")
        branches.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(branches) + ")"


CASTS = {Kind.DATETIME: "timestamptz", Kind.INT: "int", Kind.BOOL: "boolean",
         Kind.FLOAT: "float8"}


def _key_sql(sql: str, kind: Kind) -> str:
    """A sort key as the number a cursor marker carries (a float8 as its shortest round-trip
    text, which Python's float() reads back to the same double)."""
    if kind is Kind.DATETIME:
        return pg.epoch_micros(sql)
    return f"({sql})::int" if kind is Kind.BOOL else sql


def connection(b: Build, children: tuple[Selected, ...], page: Page) -> str:
    """The connection's JSON: one derived table of the page plus one row (hasNextPage)."""
    where = list(page.where)
    if page.after is not None:
        where.append(_after_predicate(b, page))
    order_sql = ", ".join(f"{sql}{' DESC' if desc else ''}" for sql, _, desc in page.keys)
    key_columns = ", ".join(f"{_key_sql(sql, kind)} AS k{index}"
                            for index, (sql, kind, _) in enumerate(page.keys))
    rows = (f"SELECT {_NODE_COLUMNS}{key_columns}, row_number() OVER (ORDER BY {order_sql}) AS "
            f"rn FROM {page.source} WHERE {' AND '.join(where)} ORDER BY {order_sql} "
            f"LIMIT {page.size + 1}")
    p = b.alias()
    shape = _shape_index(CursorShape(page.order, tuple(kind for _, kind, _ in page.keys)))
    marker = f"'{MARKER}{shape}:' || " + " || ':' || ".join(
        f"{p}.k{index}" for index in range(len(page.keys)))
    nodes: list[str] = []
    joins = b.joins[p] = []

    def node(edge_node: Selected) -> str:
        nodes.append(object_json(b, page.node_type, edge_node.children or (), p))
        return nodes[-1]

    text = connection_json(
        b, children, rows, p, page.size, page.after is not None, marker, node,
        f"(SELECT count(*) FROM {page.source} WHERE {' AND '.join(page.where)})", joins)
    # The page carries only the node columns its JSON (and joins) read, not `node.*`: the
    # sort before the LIMIT copies every candidate row (a list page of 200 activities:
    # ~0.04 ms of PostgreSQL's CPU for the unread columns, the description among them).
    read = sorted({column for sql in nodes + [join for _, join in joins]
                   for column in _columns_read(sql, p)})
    return text.replace(_NODE_COLUMNS, "".join(f"{page.node_alias}.{column}, "
                                               for column in read), 1)


@functools.lru_cache(maxsize=1000)
def _columns_read(sql: str, alias: str) -> frozenset[str]:
    """The columns of `alias` that `sql` reads (`alias.column`)."""
    return frozenset(match.group(1) for match in re.finditer(rf"{alias}\.(\w+)", sql)
                     if not _WORD.fullmatch(sql[match.start() - 1:match.start()]))


_WORD = re.compile(r"\w")


# Where the page's node columns go in its SELECT until the JSON that reads them is written.
_NODE_COLUMNS = f"{MARKER}columns "


def connection_json(b: Build, children: tuple[Selected, ...], rows: str, p: str, size: int,
                    after: bool, cursor: str, node: Callable[[Selected], str],
                    total: str, joins: list[tuple[str, str]] | None = None) -> str:
    """A connection's JSON over `rows`, a derived table (aliased `p`) of the page plus one row
    (hasNextPage), numbered `rn` in page order: `cursor` is a row's cursor marker (SQL over
    `p`), `node` writes the JSON of an `edges { node }` selection, `total` is totalCount's
    SQL (written only when selected), `joins` the LEFT JOINs of to-one relations on `p`
    (filled while the nodes are written)."""
    in_page = f"FILTER (WHERE {p}.rn <= {size})"
    pairs: list[str] = []
    for child in children:
        pairs.append(pg.literal(child.key))
        if child.name == "__typename":
            pairs.append(pg.literal(child.parent))
        elif child.name == "totalCount":
            pairs.append(total)
        elif child.name == "edges":
            edge: list[tuple[str, str]] = []
            for edge_field in child.children or ():
                if edge_field.name == "__typename":
                    edge.append((edge_field.key, pg.literal(edge_field.parent)))
                elif edge_field.name == "cursor":
                    b.markers = True
                    edge.append((edge_field.key, cursor))
                else:
                    edge.append((edge_field.key, node(edge_field)))
            pairs.append(f"coalesce(json_agg({json_object(edge)} ORDER BY {p}.rn) {in_page}, "
                         "'[]'::json)")
        else:  # pageInfo
            info: list[str] = []
            for info_field in child.children or ():
                info.append(pg.literal(info_field.key))
                if info_field.name == "__typename":
                    info.append(pg.literal(info_field.parent))
                elif info_field.name == "hasNextPage":
                    info.append(f"count(*) > {size}")
                elif info_field.name == "hasPreviousPage":
                    info.append("TRUE" if after else "FALSE")
                else:
                    b.markers = True
                    direction = "" if info_field.name == "startCursor" else " DESC"
                    info.append(f"(array_agg({cursor} ORDER BY {p}.rn{direction}) {in_page})[1]")
            pairs.append(f"json_build_object({', '.join(info)})")
    # GROUP BY (): one row even when no aggregate is selected (`{ totalCount }` alone).
    joined = "".join(f" {join}" for _, join in joins or ())
    return (f"(SELECT json_build_object({', '.join(pairs)}) FROM ({rows}) {p}{joined} "
            "GROUP BY ())")


def marker_cursor(shape_index: int, keys: list[str]) -> str:
    """The cursor a marker stands for: schema/relay.py `make_cursor` of the row's sort keys
    (`seal_keys`, whose value encoding `CURSOR_VALUES` folds in: a page seals ~20 of these
    per request, the largest share of the compiled path's own CPU on a list)."""
    converters = _SHAPE_CONVERTERS.get(shape_index)
    if converters is None:
        converters = _SHAPE_CONVERTERS[shape_index] = tuple(
            CURSOR_VALUES[kind] for kind in CURSOR_SHAPES[shape_index].kinds)
    return seal_cursor([convert(key) for convert, key in zip(converters, keys, strict=True)])


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A sort key's value from its text in a marker (timestamps travel as epoch microseconds).
KEY_VALUES: dict[Kind, Callable[[str], Any]] = {
    Kind.DATETIME: lambda key: EPOCH + timedelta(microseconds=int(key)),
    Kind.BOOL: lambda key: bool(int(key)),
    Kind.FLOAT: float,
    Kind.INT: int,
}
# The same, as schema/relay.py `_encode_value` puts it in a cursor's payload (a datetime as
# {"t": isoformat}; numbers and booleans as they are).
CURSOR_VALUES: dict[Kind, Callable[[str], Any]] = {
    **KEY_VALUES, Kind.DATETIME: lambda key: {"t": KEY_VALUES[Kind.DATETIME](key).isoformat()}}
_SHAPE_CONVERTERS: dict[int, tuple[Callable[[str], Any], ...]] = {}


# ----------------------------------------------------------------- root readers

RootBuilder = Callable[[Build, Selected], Awaitable[str]]


@dataclass(frozen=True)
class RootReader:
    """A root field the compiler answers: `check` its selection at plan time, `build` the
    SQL (one JSON value) per request; `administered` when it needs the viewer's teams."""

    check: Callable[[Selected], None]
    build: RootBuilder


ROOTS: dict[str, RootReader] = {}


def root_reader(name: str, check: Callable[[Selected], None]) -> Callable[[RootBuilder], RootBuilder]:
    def register(build: RootBuilder) -> RootBuilder:
        ROOTS[name] = RootReader(check, build)
        return build
    return register


def needs_administered(children: tuple[Selected, ...]) -> bool:
    """Whether a selection may read a Managing field (then the viewer's teams are loaded):
    by name over every declared type, which at worst loads them once too often."""
    return _selects(children, lambda reading: isinstance(reading, Managing) or (
        isinstance(reading, Children) and reading.unless_managing is not None))


def needs_moderated(children: tuple[Selected, ...]) -> bool:
    """Whether a selection may depend on the boards the viewer moderates."""
    return _selects(children, lambda reading: isinstance(reading, Moderating) or (
        isinstance(reading, Children) and reading.unless_moderating is not None))


def _selects(children: tuple[Selected, ...], test: Callable[[Any], bool]) -> bool:
    names = {name for readable in READABLE.values()
             for name, reading in readable.fields.items() if test(reading)}

    def walk(selection: tuple[Selected, ...]) -> bool:
        return any(child.name in names
                   or (child.children is not None and walk(child.children))
                   or any(walk(variant) for variant in (child.variants or {}).values())
                   for child in selection)

    return walk(children)


def plan_root(selected: Selected) -> RootReader:
    reader = ROOTS.get(selected.name)
    if reader is None:
        raise NotCompilable(selected.name)
    reader.check(selected)
    return reader


__all__ = [
    "ROOTS",
    "Build",
    "Fallback",
    "NotCompilable",
    "Page",
    "Selected",
    "collect",
    "connection",
    "plan_root",
]


# --- objects written by Python from plain columns (a reader's rows mode) ---

class NotFlat(Exception):
    """The selection reads a field the flat writer does not know: the JSON is PostgreSQL's."""


# The JSON value of a column of each kind as the general path writes it (the strawberry field's
# Python value), as Python source over `v`. DATETIME and TAGS stay with PostgreSQL (pg.py).
_FLAT_VALUES: dict[Kind, str] = {
    Kind.TEXT: "str(v)", Kind.INT: "int(v)", Kind.BOOL: "bool(v)", Kind.FLOAT: "float(v)"}


@dataclass
class FlatColumns:
    """The columns (and LEFT JOINs) of a rows-mode statement, each expression selected once."""

    expressions: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)

    def index(self, sql: str) -> int:
        if sql not in self.expressions:
            self.expressions.append(sql)
        return self.expressions.index(sql)

    def select(self, start: int = 0) -> str:
        return ", ".join(f"{sql} AS f{start + n}" for n, sql in enumerate(self.expressions))


def flat_object(b: Build, columns: FlatColumns, type_name: str, children: tuple[Selected, ...],
                alias: str, python: frozenset[str] = frozenset()) -> Callable[[Any], dict[str, Any]]:
    """How Python writes an object of `type_name` from a row of plain columns (registered in
    `columns`): ids, __typename, TEXT/INT/BOOL/FLOAT values and to-one relations of the same;
    `python` names fields Python fills in later (null here, in place). Anything else raises
    NotFlat. The writer is one dict display compiled for the selection, so a row costs what
    a hand-written endpoint's dict literal costs."""
    source = _flat_source(b, columns, type_name, children, alias, python)
    return eval(f"lambda row: {source}", {"_gid": to_global_id})  # type: ignore[no-any-return]


def _flat_source(b: Build, columns: FlatColumns, type_name: str, children: tuple[Selected, ...],
                 alias: str, python: frozenset[str]) -> str:
    readable = READABLE[type_name]
    parts: list[str] = []
    for child in children:
        reading = readable.fields.get(child.name)
        if child.name == "__typename":
            value = repr(type_name)
        elif child.name in python:
            value = "None"
        elif child.name == "id" and reading is None:
            value = f"_gid({type_name!r}, row[{columns.index(f'{alias}.id')}])"
        elif isinstance(reading, Value) and reading.kind in _FLAT_VALUES:
            at = columns.index(reading.sql.format(t=alias))
            value = f"(None if (v := row[{at}]) is None else {_FLAT_VALUES[reading.kind]})"
        elif isinstance(reading, ToOne) and child.children is not None:
            inner = b.alias()
            columns.joins.append(f"LEFT JOIN {reading.table} {inner} ON {inner}.id = "
                                 f"{alias}.{reading.column}")
            present = columns.index(f"{inner}.id")
            inside = _flat_source(b, columns, reading.type_name, child.children, inner, frozenset())
            value = f"(None if row[{present}] is None else {inside})"
        else:
            raise NotFlat(f"{type_name}.{child.name}")
        parts.append(f"{child.key!r}: {value}")
    return "{" + ", ".join(parts) + "}"
