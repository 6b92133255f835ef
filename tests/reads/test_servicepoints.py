"""`servicePoints` compiled: by id in SQL; with `near` the distance, filter, order and page in
SQL, and the exact haversine filter and order in Python for a circle with a point in doubt
(within a rounding error of the radius or of a rounding midpoint): the same answer as the
general path either way."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from core.geo import distance_km
from db.routing import read_connection
from models.servicepoint import ServicePoint, ServicePointKind
from models.volunteer import Volunteer
from resolvers import servicepoint as rules
from schema.reads import pg
from schema.reads.roots import walking_tenths
from tests.helpers import count_statements, make_team, make_volunteer
from tests.reads.paths import answer, both, canonical

CENTRE = (39.9042, 116.4074)
NEAR = """
query($first: Int, $after: String, $kind: ServicePointKind, $near: WalkingCircleInput) {
  servicePoints(first: $first, after: $after, near: $near, kind: $kind) {
    totalCount __typename
    edges { cursor node { id name kind address latitude longitude distanceMetres
                          walkingMinutes openingHours team { name viewerIsAdmin } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def _edge_of_circle(metres: float) -> tuple[float, float]:
    """The northernmost latitude north of CENTRE still within `metres` by the haversine, and
    the next float up, which is outside."""
    low, high = CENTRE[0], CENTRE[0] + 0.1
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if distance_km(CENTRE[0], CENTRE[1], middle, CENTRE[1]) * 1000 <= metres:
            low = middle
        else:
            high = middle
    return low, math.nextafter(low, math.inf)


async def _seed() -> Volunteer:
    admin = await make_volunteer("站长")
    team = await make_team(admin, "朝阳门服务队")
    inside, outside = _edge_of_circle(800)
    rows = [("正中", CENTRE[0], CENTRE[1]), ("同点甲", 39.9082, 116.4074),
            ("同点乙", 39.9082, 116.4074), ("东边", 39.9042, 116.4124),
            ("边界内", inside, CENTRE[1]), ("边界外", outside, CENTRE[1]),
            ("盒角", 39.9110, 116.4160), ("远处", 39.99, 116.50)]
    for index, (name, lat, lng) in enumerate(rows):
        await ServicePoint.create(
            name=name, kind=ServicePointKind.STATION if index % 2 else ServicePointKind.PARK,
            district="东城区", latitude=lat, longitude=lng, opening_hours="9:00–17:00",
            address=None if index % 3 else f"{name}路1号", team=team if index % 2 else None)
    return admin


async def test_near_answers_as_the_general_path_at_the_radius(db):
    # given points at and just past the 10-minute (800 m) radius, two at the same spot
    admin = await _seed()
    near = {"lat": CENTRE[0], "lng": CENTRE[1], "minutes": 10}
    for viewer in (None, admin):
        for kind in (None, "STATION"):
            # when the circle is read page by page through both paths
            after, seen = None, []
            for _ in range(4):
                variables = {"first": 2, "after": after, "near": near, "kind": kind}
                fast, slow, answered = await both(NEAR, variables, viewer)
                # then the same answer, from one statement on PostgreSQL
                assert canonical(fast) == canonical(slow), (fast, slow)
                assert answered == (1 if db.postgres else 0)
                page = json.loads(fast)["data"]["servicePoints"]
                seen += [edge["node"]["name"] for edge in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            if kind is None:
                assert seen == ["正中", "东边", "同点甲", "同点乙", "边界内"]
                assert page["totalCount"] == 5


async def test_without_near_and_with_bad_input_both_paths_agree(db):
    # given the points
    await _seed()
    cases: list[dict[str, Any]] = [{"first": 3}, {"first": 3, "kind": "PARK"}, {"first": 0},
             {"near": {"lat": 91.0, "lng": 0.0, "minutes": 10}},
             {"near": {"lat": 39.9, "lng": 116.4, "minutes": 0}}, {"first": 2, "after": "x"}]
    for variables in cases:
        # when each is read through both paths
        fast, slow, _ = await both(NEAR, variables, None)
        # then the same answer (errors the general path's own)
        assert canonical(fast) == canonical(slow), (variables, fast, slow)


async def test_near_statements_stay_constant_in_page_size(db):
    # given the points
    await _seed()
    counts = []
    for first in (2, 4, 8):
        # when a page of each size is read
        with count_statements() as statements:
            await answer(NEAR, {"first": first, "near": {"lat": CENTRE[0], "lng": CENTRE[1],
                                                         "minutes": 30}}, None, compiled=True)
        counts.append(len(statements))
    # then one statement on PostgreSQL (the general path: points, then their teams)
    assert counts == ([1, 1, 1] if db.postgres else [counts[0]] * 3), counts


@pytest.fixture
def python_distances(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the distances Python measures (the general path, or the compiled path in doubt)."""
    calls = [0]
    measure = rules.near_distance

    def counted(*args: Any) -> float | None:
        calls[0] += 1
        return measure(*args)

    monkeypatch.setattr(rules, "near_distance", counted)
    return calls


async def test_postgresql_writes_the_page_unless_a_point_is_in_doubt(db, python_distances):
    # given the points, two of them a float apart at the 10-minute radius (800 m)
    await _seed()
    wide = {"lat": CENTRE[0], "lng": CENTRE[1], "minutes": 30}
    after, pages = None, 0
    while True:
        # when a 30-minute circle, where no point is near its radius or a rounding midpoint,
        # is read page by page through both paths
        python_distances[0] = 0
        fast = await answer(NEAR, {"first": 2, "after": after, "near": wide}, None,
                            compiled=True)
        measured = python_distances[0]
        slow = await answer(NEAR, {"first": 2, "after": after, "near": wide}, None,
                            compiled=False)
        # then the same answer, the distances measured by PostgreSQL alone
        assert canonical(fast) == canonical(slow), (fast, slow)
        assert (measured == 0) == db.postgres, measured
        page = json.loads(fast)["data"]["servicePoints"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 4 and page["totalCount"] == 7
    # when the 10-minute circle is read, then Python measures its candidates (in doubt)
    python_distances[0] = 0
    await answer(NEAR, {"first": 2, "near": {**wide, "minutes": 10}}, None, compiled=True)
    assert python_distances[0] > 0


@pytest.mark.postgres
async def test_round_tenths_is_pythons_round(db):
    # given exact ties (0.25), doubles just below and above a tenths midpoint (0.15 is
    # 0.1499...), walking minutes of whole decimetres, and the neighbours of each
    values = [0.0, 0.05, 0.15, 0.25, 0.35, 0.75, 2.675, 1e-300, 5e-324, 799.95, 12345.65]
    values += [index / 20 for index in range(0, 20000, 7)]
    values += [index / 10 / rules.WALKING_METRES_PER_MINUTE for index in range(0, 48001, 3)]
    values += [(index + 40) / 10 / rules.WALKING_METRES_PER_MINUTE for index in range(0, 48001, 80)]
    values += [math.nextafter(value, side) for value in list(values) for side in (0, 1e9)]
    # when PostgreSQL rounds them
    _, rows = await read_connection().execute_query(
        f"SELECT {pg.round_tenths('x')} FROM unnest($1::float8[]) AS t(x)", [values])
    # then each is Python's round(x, 1)
    wrong = [(value, row[0]) for value, row in zip(values, rows, strict=True)
             if row[0] != round(value, 1)]
    assert not wrong, wrong[:5]


@pytest.mark.postgres
async def test_distances_and_walking_minutes_are_pythons_for_every_tenth_in_an_hour(db):
    # given every distance to 0.1 m up to an hour's walk (4,800 m)
    decimetres = list(range(48001))
    # when PostgreSQL writes them and their walking minutes as JSON
    _, rows = await read_connection().execute_query(
        f"SELECT {pg.tenths_json('k')}::text, {pg.tenths_json(walking_tenths('k'))}::text "
        "FROM unnest($1::float8[]) AS t(k)", [decimetres])
    # then each is what json.dumps writes for the rounded distance and ServicePoint's minutes
    wrong = [(k, row) for k, row in zip(decimetres, rows, strict=True)
             if (row[0], row[1]) != (json.dumps(round(k / 10, 1)), json.dumps(
                 round(round(k / 10, 1) / rules.WALKING_METRES_PER_MINUTE, 1)))]
    assert not wrong, wrong[:5]


FLAT = """
query($first: Int, $after: String, $near: WalkingCircleInput) {
  servicePoints(first: $first, after: $after, near: $near) {
    totalCount
    edges { cursor node { __typename id name kind address latitude longitude distanceMetres
                          walkingMinutes openingHours team { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.mark.parametrize("minutes", [10, 30])
async def test_a_selection_of_plain_columns_is_read_as_rows_and_written_by_python(db, minutes):
    # given the points, two of them a float apart at the 10-minute radius
    await _seed()
    near = {"lat": CENTRE[0], "lng": CENTRE[1], "minutes": minutes}
    after, seen = None, []
    while True:
        # when a selection of columns and a to-one relation (no JSON PostgreSQL must write) is
        # read page by page through both paths
        with count_statements() as statements:
            fast, slow, answered = await both(FLAT, {"first": 2, "after": after, "near": near}, None)
        # then the same answer, in one statement of plain rows on PostgreSQL
        assert canonical(fast) == canonical(slow), (fast, slow)
        if db.postgres:
            assert answered == 1
            compiled = [sql for sql in statements if "service_point" in sql]
            assert compiled and "json" not in compiled[0].lower(), compiled
        page = json.loads(fast)["data"]["servicePoints"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] == (5 if minutes == 10 else 7)
    assert "边界内" in seen and ("边界外" in seen) == (minutes == 30) and "远处" not in seen
