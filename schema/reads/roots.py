"""The root fields the read compiler answers, each the SQL twin of its resolver:

- `activities` (schema/activity.py, rules in resolvers/activity.py `list_activities`): the
  same filters in the same order of checks; `near` (distance in Python) is not compiled.
- `me` (schema/volunteer.py): the viewer's own row, null when anonymous.
- `board(slug:)` (forum/schema.py): the board, its threads (hidden ones for its moderators).
- `servicePoints` (schema/servicepoint.py): by id; with `near`, the candidates of the
  bounding box the resolver reads (the same parameters, so the same rows), each with its
  distance computed as core/geo.py computes it, operation for operation: the filter at the
  radius, nearest first, the page and its (distance, id) cursors in SQL. Where a candidate
  is within a rounding error of the radius or of a 0.05 m midpoint (`DOUBT_METRES`), the
  same statement returns the candidates instead and Python finishes (`_nearest`, with
  `servicepoint.near_distance`, the resolver's rule).
- `feed` (schema/feed.py, rules in forum/feed.py): the five sources' rules (its `SOURCES`,
  the same text) each as a keyset subquery with its page + 1, one UNION ALL, the page and its
  (time, rank, id) cursors, sealed in Python as forum/feed.py `encode_cursor` seals them.
- `node(id:)` (schema/relay.py) for an Activity (hidden while a draft from those who may not
  manage it, as schema/activity.py `_activity_node`) or a Team; other types are not compiled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core import geo
from core.cursors import seal_cursor
from forum import feed as feed_rules
from models.activity import ActivityStatus
from models.servicepoint import ServicePointKind
from resolvers import servicepoint as points
from resolvers.activity import NAME_MAX
from resolvers.errors import DomainError
from resolvers.validation import check_aware, check_text
from schema.activity import UPCOMING_FIRST
from schema.reads import pg
from schema.reads.compiler import (
    CONNECTION_FIELDS,
    CONVERTERS,
    EDGE_FIELDS,
    MARKER,
    PAGE_INFO_FIELDS,
    Build,
    Fallback,
    FlatColumns,
    NotCompilable,
    NotFlat,
    Page,
    Selected,
    after_keys,
    check_connection,
    check_object,
    connection,
    connection_json,
    flat_object,
    object_json,
    page_arguments,
    root_reader,
)
from schema.reads.declare import Kind
from schema.relay import BY_ID, parse_global_id
from schema.servicepoint import NEAREST_FIRST

ACTIVITY_ARGUMENTS = frozenset({"first", "after", "status", "district", "category",
                                "hasOpenSlots", "startsAfter", "near"})


def _check_activities(selected: Selected) -> None:
    if {a.name.value for a in selected.node.arguments or ()} - ACTIVITY_ARGUMENTS:
        raise NotCompilable("activities arguments")
    assert selected.children is not None
    check_connection("Activity", selected.children)


@root_reader("activities", _check_activities)
async def activities(b: Build, selected: Selected) -> str:
    arguments = b.arguments(selected)
    if arguments.get("near") is not None:
        raise Fallback
    row = b.alias()
    where: list[str] = []
    status = arguments.get("status")
    if status is None:
        where.append(f"{row}.status <> 'DRAFT'")
    elif ActivityStatus(status) == ActivityStatus.DRAFT and not (
            await b.viewer.load()).is_platform_admin:
        teams = sorted(await b.load_administered()) or [0]
        where.append(f"{row}.status = 'DRAFT' AND {row}.team_id = ANY({b.param(teams, 'int[]')})")
    else:
        where.append(f"{row}.status = {b.param(ActivityStatus(status).value, 'text')}")
    try:
        for name in ("district", "category"):
            if arguments.get(name):
                value = check_text(arguments[name], name, max_len=NAME_MAX)
                where.append(f"{row}.{name} = {b.param(value, 'text')}")
        if arguments.get("startsAfter") is not None:
            starts_after = check_aware(arguments["startsAfter"], "startsAfter")
            where.append(f"{row}.starts_at > {b.param(starts_after, 'timestamptz')}")
    except DomainError:
        raise Fallback from None
    open_slots = arguments.get("hasOpenSlots")
    if open_slots is not None:
        now = b.now()
        free = f"({row}.capacity - {row}.taken_count)"
        where.append(f"{free} > 0 AND {row}.status = 'PUBLISHED' AND {row}.sign_up_deadline > {now}"
                     if open_slots else
                     f"({free} <= 0 OR {row}.status <> 'PUBLISHED' OR "
                     f"{row}.sign_up_deadline <= {now})")
    size, after = page_arguments(arguments)
    assert selected.children is not None
    return connection(b, selected.children, Page(
        node_type="Activity", source=f"activity {row}", node_alias=row, where=where,
        keys=[(f"{row}.starts_at", Kind.DATETIME, False), (f"{row}.id", Kind.INT, False)],
        order=UPCOMING_FIRST, size=size, after=after_keys(after, UPCOMING_FIRST)))


def _check_me(selected: Selected) -> None:
    assert selected.children is not None
    check_object("Volunteer", selected.children)


@root_reader("me", _check_me)
async def me(b: Build, selected: Selected) -> str:
    if b.subject is None:
        return "NULL"
    row = b.alias()
    b.own_row = row
    assert selected.children is not None
    return object_json(b, "Volunteer", selected.children, row,
                       f"FROM volunteer {row} WHERE {row}.id = {b.viewer_id()}")


# The types `node` answers in SQL, each with the rule its registered resolver applies
# (schema/activity.py `_activity_node`: a draft only for those who may manage it).
NODE_VISIBLE = {
    "Activity": lambda b, row: f"({row}.status <> 'DRAFT' OR {b.manages(f'{row}.team_id')})",
    "Team": lambda b, row: "TRUE",
}
NODE_TABLES = {"Activity": "activity", "Team": "team"}


def _node_variants(selected: Selected) -> dict[str, tuple[Selected, ...]]:
    """The node types whose selection compiles."""
    compiled = {}
    for type_name, children in (selected.variants or {}).items():
        if type_name not in NODE_VISIBLE:
            continue
        try:
            check_object(type_name, children)
        except NotCompilable:
            continue
        compiled[type_name] = children
    return compiled


def _check_node(selected: Selected) -> None:
    if not _node_variants(selected):
        raise NotCompilable("node types")


@root_reader("node", _check_node)
async def node(b: Build, selected: Selected) -> str:
    try:
        type_name, db_id = parse_global_id(b.arguments(selected)["id"], "id")
    except DomainError:
        raise Fallback from None
    children = _node_variants(selected).get(type_name)
    if children is None:
        raise Fallback
    row = b.alias()
    if type_name == "Activity" and b.administered is None and b.subject is not None \
            and not (b.viewer.loaded and b.viewer.is_platform_admin):
        # Only a draft needs the viewer's teams: read without them, and again with them if
        # nothing visible came back (execute.py).
        b.null_needs_administered = True
        return object_json(b, type_name, children, row,
                           f"FROM activity {row} WHERE {row}.id = {b.param(db_id, 'int')} "
                           f"AND {row}.status <> 'DRAFT'")
    return object_json(b, type_name, children, row,
                       f"FROM {NODE_TABLES[type_name]} {row} WHERE {row}.id = "
                       f"{b.param(db_id, 'int')} AND {NODE_VISIBLE[type_name](b, row)}")


def _check_board(selected: Selected) -> None:
    assert selected.children is not None
    check_object("Board", selected.children)


@root_reader("board", _check_board)
async def board(b: Build, selected: Selected) -> str:
    slug = (b.arguments(selected)["slug"] or "").strip().lower()  # get_board_by_slug
    row = b.alias()
    assert selected.children is not None
    return object_json(b, "Board", selected.children, row,
                       f"FROM forum_board {row} WHERE {row}.slug = {b.param(slug, 'text')}")


SERVICE_POINT_ARGUMENTS = frozenset({"first", "after", "near", "kind"})


def _check_service_points(selected: Selected) -> None:
    if {a.name.value for a in selected.node.arguments or ()} - SERVICE_POINT_ARGUMENTS:
        raise NotCompilable("servicePoints arguments")
    assert selected.children is not None
    check_connection("ServicePoint", selected.children)


@root_reader("servicePoints", _check_service_points)
async def service_points(b: Build, selected: Selected) -> str:
    arguments = b.arguments(selected)
    row, point = b.alias(), b.alias()
    where = ["TRUE"]
    if arguments.get("kind") is not None:
        kind = ServicePointKind(arguments["kind"]).value
        where = [f"{point}.kind = {b.param(kind, 'text')}"]
    size, after = page_arguments(arguments)
    assert selected.children is not None
    near = arguments.get("near")
    if near is None:
        return connection(b, selected.children, Page(
            node_type="ServicePoint", source=f"(SELECT {point}.*, {NO_DISTANCE} FROM "
            f"service_point {point} WHERE {' AND '.join(where)}) {row}", node_alias=row,
            where=["TRUE"], keys=[(f"{row}.id", Kind.INT, False)], order=BY_ID, size=size,
            after=after_keys(after, BY_ID)))
    try:
        circle = points.walking_circle(near["lat"], near["lng"], near["minutes"])
    except (DomainError, KeyError, TypeError):
        raise Fallback from None
    after_key = after_keys(after, NEAREST_FIRST)
    if after_key is not None and not (_number(after_key[0]) and type(after_key[1]) is int):
        raise Fallback  # a sealed cursor of another order: the general path says what it says
    # Exactly the resolver's candidates: its bounding box, computed by the same Python, as
    # parameters; each with its distance (`metres`) and that distance rounded (`distance_m`).
    for (column, op), bound in zip((("latitude", ">="), ("latitude", "<="), ("longitude", ">="),
                                    ("longitude", "<=")), circle.bounding_box(), strict=True):
        where.append(f"{point}.{column} {op} {b.param(bound, 'float8')}")
    # edges { node { ... } } selections, in order: each candidate carries one object per node.
    nodes = [node for edges in selected.children if edges.name == "edges"
             for node in edges.children or () if node.name == "node"]
    finish = _nearest(selected.children, circle, size, after_key)
    aliases = b.next_alias
    try:
        # As the resolver does it: the box's candidates as plain rows, distance, order and page
        # in Python, and Python writes the JSON (PostgreSQL's JSON for a page cost ~3x the rows).
        columns = FlatColumns()
        for column in ("id", "latitude", "longitude"):
            columns.index(f"{point}.{column}")
        writers = [flat_object(b, columns, "ServicePoint", node.children or (), point,
                               frozenset({"distanceMetres", "walkingMinutes"})) for node in nodes]
    except NotFlat:
        b.next_alias = aliases
    else:
        def rows(found: list[Any]) -> str:
            return finish([(row[0], row[1], row[2], _objects(writers, row)) for row in found])

        b.rows = rows
        return (f"SELECT {columns.select()} FROM service_point {point}"
                f"{''.join(' ' + join for join in columns.joins)} WHERE {' AND '.join(where)}")
    candidates = b.alias()
    metres = _metres(b, circle, f"{point}.latitude", f"{point}.longitude")
    radius = b.param(circle.radius_km * 1000, "float8")
    # Python's round(metres, 1) wherever no point is in doubt (below): there 10 x metres is
    # over 1e-6 from a half, so the float sum cannot cross it. `decimetres` is that integer k.
    decimetres = f"floor({point}.metres * 10 + 0.5)"
    rounded = f"{decimetres} / 10"
    shown = (f"{pg.tenths_json(decimetres)} AS distance_json, "
             f"{pg.tenths_json(walking_tenths(decimetres))} AS walking_json")
    table = (f"{candidates} AS MATERIALIZED (SELECT {point}.*, {metres} AS metres FROM "
             f"service_point {point} WHERE {' AND '.join(where)})")
    in_doubt = (f"EXISTS (SELECT FROM {candidates} x WHERE abs(x.metres - {radius}) <= "
                f"{DOUBT_METRES}::float8 OR (x.metres <= {radius} AND abs(x.metres * 10 - "
                f"floor(x.metres * 10) - 0.5) <= {DOUBT_METRES * 10}::float8))")
    page = connection(b, selected.children, Page(
        node_type="ServicePoint", source=f"(SELECT {point}.*, {rounded} AS distance_m, {shown} FROM "
        f"{candidates} {point}) {row}", node_alias=row,
        where=[f"{row}.metres <= {radius}"],
        keys=[(f"{row}.distance_m", Kind.FLOAT, False), (f"{row}.id", Kind.INT, False)],
        order=NEAREST_FIRST, size=size, after=after_key))
    # In doubt, the candidates for Python to finish (`_nearest`), each with its node objects
    # (one per `edges { node }` in the selection).
    values = [f"{row}.id", f"{row}.latitude", f"{row}.longitude",
              *(object_json(b, "ServicePoint", node.children or (), row) for node in nodes)]
    exact = (f"SELECT coalesce(json_agg(json_build_array({', '.join(values)})), '[]'::json) "
             f"FROM (SELECT {point}.*, {NO_DISTANCE} FROM {candidates} {point}) {row}")
    b.finish = lambda text: text if not text.startswith("[") else finish(
        [(c[0], c[1], c[2], _constant(c[3:])) for c in json.loads(text)])
    return f"(WITH {table} SELECT CASE WHEN {in_doubt} THEN ({exact}) ELSE {page} END)"


def _objects(writers: list[Callable[[Any], dict[str, Any]]], row: Any) -> Callable[[], list[Any]]:
    return lambda: [write(row) for write in writers]


def _constant(objects: list[Any]) -> Callable[[], list[Any]]:
    return lambda: objects


NO_DISTANCE = "NULL::json AS distance_json, NULL::json AS walking_json"
# How far PostgreSQL's distance may be from Python's before a point is in doubt: both compute
# core/geo.py's haversine with the same operations, but the database's libm may round a
# sin or asin by an ulp (~1e-13 m at these distances) where the server's does not.
DOUBT_METRES = 1e-7


def walking_tenths(decimetres: str) -> str:
    """ServicePoint.walking_minutes, `round(k / 10 / 80, 1)`, in tenths, from the distance's
    whole decimetres k: k / 800 is at least 1/800 from a 0.05 midpoint unless k is 40 past a
    multiple of 80, where the double's own rounding decides (12.0 m is 0.15 min, 0.1499...
    in binary): that case in exact arithmetic (`pg.tenths`)."""
    per_minute = points.WALKING_METRES_PER_MINUTE
    return (f"CASE WHEN ({decimetres})::bigint % {per_minute} = {per_minute // 2} THEN "
            f"{pg.tenths(f'({decimetres}) / 10 / {per_minute}::float8')} ELSE "
            f"floor((({decimetres}) + {per_minute // 2}) / {per_minute}) END")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metres(b: Build, circle: Any, latitude: str, longitude: str) -> str:
    """core/geo.py `distance_km(centre, point) * 1000` (resolvers/servicepoint.py
    `near_distance`), operation for operation; the centre's radians and cosine and the
    constants are Python's own doubles, as parameters."""
    degree = b.param(math.radians(1.0), "float8")  # math.radians(x) is x * this
    phi1 = b.param(math.radians(circle.latitude), "float8")
    cos_phi1 = b.param(math.cos(math.radians(circle.latitude)), "float8")
    phi2 = f"({latitude} * {degree})"
    d_lambda = f"(({longitude} - {b.param(circle.longitude, 'float8')}) * {degree})"
    a = (f"(power(sin(({phi2} - {phi1}) / 2), 2) + {cos_phi1} * cos({phi2}) * "
         f"power(sin({d_lambda} / 2), 2))")
    return (f"({b.param(2 * geo.EARTH_RADIUS_KM, 'float8')} * asin(least(1::float8, sqrt({a})))"
            f" * 1000)")


assert [name for name, _ in NEAREST_FIRST.columns()] == ["distance_m", "id"]


def _nearest(children: tuple[Selected, ...], circle: Any, size: int,
             after: list[Any] | None) -> Any:
    """The connection from the candidates: schema/servicepoint.py `service_points`
    with `near` (points_near's filter and order, then build_connection), in Python."""
    # Each `edges` selection's fields, planned once: (key, what) with what a constant, CURSOR,
    # or the index of the candidate's node object and the keys of its measured fields.
    plans: list[tuple[str, list[tuple[str, Any]]]] = []
    nodes = 0  # the index of an `edges { node }` among the candidate's node objects
    for child in children:
        if child.name != "edges":
            continue
        plan: list[tuple[str, Any]] = []
        for field in child.children or ():
            if field.name == "__typename":
                plan.append((field.key, (field.parent,)))
            elif field.name == "cursor":
                plan.append((field.key, CURSOR))
            else:
                leaves = field.children or ()
                measured = ([leaf.key for leaf in leaves if leaf.name == "distanceMetres"],
                            [leaf.key for leaf in leaves if leaf.name == "walkingMinutes"])
                plan.append((field.key, (nodes, *measured)))
                nodes += 1
        plans.append((child.key, plan))
    per_minute = points.WALKING_METRES_PER_MINUTE

    def edge(plan: list[tuple[str, Any]], metres: float, made: Callable[[], list[Any]],
             cursor: str) -> dict[str, Any]:
        objects = made()
        written: dict[str, Any] = {}
        for key, what in plan:
            if what is CURSOR:
                written[key] = cursor
            elif len(what) == 1:
                written[key] = what[0]
            else:  # the node object, with the distance Python measured
                node = written[key] = objects[what[0]]
                for leaf in what[1]:
                    node[leaf] = metres
                for leaf in what[2]:
                    node[leaf] = round(metres / per_minute, 1)
        return written

    def finish(candidates: list[tuple[Any, Any, Any, Callable[[], list[Any]]]]) -> str:
        """(id, latitude, longitude, its node objects) of each candidate -> the connection;
        the objects are made only for the page."""
        found = []
        for candidate in candidates:
            metres = points.near_distance(circle, candidate[1], candidate[2])
            if metres is not None:
                found.append((metres, candidate[0], candidate[3]))
        found.sort(key=lambda item: (item[0], item[1]))
        total = len(found)
        if after is not None:
            found = [item for item in found if (item[0], item[1]) > (after[0], after[1])]
        page = found[:size]
        # make_cursor(point, NEAREST_FIRST) of (distance_m, id): a float and an int, which
        # seal_keys passes through as they are (the same bytes, without the per-edge detour).
        cursors = [seal_cursor([metres, db_id]) for metres, db_id, _ in page]
        edges = iter(plans)
        answer: dict[str, Any] = {}
        for child in children:
            if child.name == "__typename":
                answer[child.key] = child.parent
            elif child.name == "totalCount":
                answer[child.key] = total
            elif child.name == "pageInfo":
                answer[child.key] = {
                    info.key: info.parent if info.name == "__typename"
                    else len(found) > size if info.name == "hasNextPage"
                    else after is not None if info.name == "hasPreviousPage"
                    else (cursors[0] if info.name == "startCursor" else cursors[-1])
                    if cursors else None
                    for info in child.children or ()}
            else:  # edges
                _, plan = next(edges)
                answer[child.key] = [edge(plan, metres, made, cursor)
                                     for (metres, _, made), cursor in zip(page, cursors, strict=True)]
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))

    return finish


CURSOR = object()  # an edge's cursor field, in _nearest's plans


FEED_TYPES = frozenset(feed_rules.SOURCES)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _feed_cursor(text: str) -> str:
    """forum/feed.py `encode_cursor` from the marker's 'micros:rank:id'."""
    micros, rank, db_id = text.split(":")
    at = EPOCH + timedelta(microseconds=int(micros))
    return seal_cursor([at.isoformat(), int(rank), int(db_id)])


CONVERTERS.append(_feed_cursor)
FEED_CURSOR = CONVERTERS.index(_feed_cursor)


def _feed_node(selected: Selected) -> Selected | None:
    """The one `edges { node }` of a feed selection (None when no node is selected)."""
    assert selected.children is not None
    nodes = [node for edges in selected.children if edges.name == "edges"
             for node in edges.children or () if node.name == "node"]
    if len(nodes) > 1 or sum(1 for c in selected.children if c.name == "edges") > 1:
        raise NotCompilable("feed: several edges or nodes")
    return nodes[0] if nodes else None


def _check_feed(selected: Selected) -> None:
    if {a.name.value for a in selected.node.arguments or ()} - {"first", "after"}:
        raise NotCompilable("feed arguments")
    assert selected.children is not None
    for child in selected.children:
        if child.name not in CONNECTION_FIELDS:
            raise NotCompilable(child.name)
        if child.name == "edges" and any(edge.name not in EDGE_FIELDS
                                         for edge in child.children or ()):
            raise NotCompilable("feed edges")
        if child.name == "pageInfo" and any(info.name not in PAGE_INFO_FIELDS
                                            for info in child.children or ()):
            raise NotCompilable("feed pageInfo")
    node = _feed_node(selected)
    if node is not None:
        if set(node.variants or {}) != FEED_TYPES:
            raise NotCompilable("feed item types")
        for type_name, children in (node.variants or {}).items():
            check_object(type_name, children)


@root_reader("feed", _check_feed)
async def feed(b: Build, selected: Selected) -> str:
    if b.subject is None or (b.viewer.loaded and b.viewer.volunteer is None):
        raise Fallback  # the general path answers UNAUTHENTICATED
    arguments = b.arguments(selected)
    size, after = page_arguments(arguments)
    try:
        cursor = feed_rules.decode_cursor(after) if after else None
    except DomainError:
        raise Fallback from None
    me = b.viewer_id()
    district = f"(SELECT viewer.district FROM volunteer viewer WHERE viewer.id = {me})"
    at = b.param(cursor[0], "timestamptz") if cursor else ""
    last = b.param(cursor[2], "int") if cursor else ""
    node = _feed_node(selected)
    sources, counts, items = [], [], []
    p = b.alias()
    for kind, (table, rule) in feed_rules.SOURCES.items():
        visible = rule.replace(":me", me).replace(":district", district)
        time, rank = f"x.{feed_rules.TIME_FIELD[kind]}", feed_rules.RANKS[kind]
        where = visible
        if cursor is not None:  # forum/feed.py _after
            where += (f" AND {time} < {at}" if rank > cursor[1] else
                      f" AND {time} <= {at}" if rank < cursor[1] else
                      f" AND ({time} < {at} OR ({time} = {at} AND x.id < {last}))")
        sources.append(f"(SELECT {time} AS t, {rank} AS k, x.id AS i FROM {table} x WHERE "
                       f"{where} ORDER BY {time} DESC, x.id DESC LIMIT {size + 1})")
        if node is not None:  # each item's JSON only for the rows on the page
            items.append(f"WHEN {rank} THEN " + object_json(
                b, kind, (node.variants or {})[kind], "x", f"FROM {table} x WHERE x.id = {p}.i"))
        counts.append(f"(SELECT count(*) FROM {table} x WHERE {visible})")
    order = "u.t DESC, u.k DESC, u.i DESC"
    rows = (f"SELECT u.*, row_number() OVER (ORDER BY {order}) AS rn FROM "
            f"({' UNION ALL '.join(sources)}) u ORDER BY {order} LIMIT {size + 1}")
    marker = (f"'{MARKER}v{FEED_CURSOR}:' || {pg.epoch_micros(f'{p}.t')} || ':' || {p}.k || "
              f"':' || {p}.i")
    assert selected.children is not None
    return connection_json(b, selected.children, rows, p, size, after is not None, marker,
                           lambda _: f"CASE {p}.k {' '.join(items)} END",
                           f"({' + '.join(counts)})")
