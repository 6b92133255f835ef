"""Service stations that keep their hours: the weekly schedule, holiday closures, check-ins
marking slots operating, and the operating rate (staffed slots ÷ scheduled slots).

Decisions where the issue was silent (docs/community.md):
- A slot is one weekly opening period on one Beijing date. Closed dates (a station's own, or
  city-wide ones with no station) are not scheduled.
- A slot is *staffed* when someone was checked in, on a duty shift of the station (an activity
  linked to the service point), at some moment inside it: a check-in marks the slot it falls in,
  a check-out every slot the stay overlapped. Marks are written after the check-in commits and
  are idempotent (one per slot), so a retried check-in never counts twice.
- Changing the schedule retires the old rules from today instead of deleting them: past
  rates keep the schedule that was in force.
- The rate is scheduled slots in the period minus closed ones, counted arithmetically (how many
  times each rule's weekday falls in the period), so a year of 1,000 stations is one statement
  over the rules, the closures and the marks, never a row per slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from tortoise import connections
from tortoise.transactions import in_transaction

from core.settings import get_settings
from core.time import BEIJING
from models.activity import Activity, SignUp
from models.servicepoint import ServicePoint
from models.station import StationClosure, StationHours, StationSlotMark
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.servicepoint import _may_manage
from resolvers.sql import Sql, fetch
from resolvers.validation import check_text

EPOCH = date(1970, 1, 1)
RULES_MAX = 28
PERIOD_DAYS_MAX = 366 * 2
REASON_MAX = 500


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def beijing_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


@dataclass(frozen=True)
class HoursData:
    weekday: int
    opens: str
    closes: str


def _minute(text: str, field: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise BadInput(field, f"{field} must be a time like 09:00.")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise BadInput(field, f"{field} must be between 00:00 and 24:00.")
    return value


def check_hours(rules: list[HoursData]) -> list[tuple[int, int, int]]:
    """(weekday, opens, closes) sorted; periods of one day may not overlap."""
    if len(rules) > RULES_MAX:
        raise BadInput("hours", f"At most {RULES_MAX} opening periods a week.")
    checked = []
    for rule in rules:
        if not 0 <= rule.weekday <= 6:
            raise BadInput("hours.weekday", "weekday must be 0 (Monday) to 6 (Sunday).")
        opens, closes = _minute(rule.opens, "hours.opens"), _minute(rule.closes, "hours.closes")
        if opens >= closes:
            raise BadInput("hours.closes", "A period must close after it opens.")
        checked.append((rule.weekday, opens, closes))
    checked.sort()
    for before, after in pairwise(checked):
        if before[0] == after[0] and after[1] < before[2]:
            raise BadInput("hours", "Opening periods of one day may not overlap.")
    return checked


async def check_station_manager(viewer: Viewer, point_id: int) -> ServicePoint:
    viewer.require_active()
    point = await ServicePoint.get_or_none(id=point_id)
    if point is None:
        raise NotFound("Service point")
    if not await _may_manage(viewer, point.team_id):
        raise Forbidden("Platform admins, or admins of the operating team, manage the station.")
    return point


async def current_hours(point_id: int, today: int | None = None) -> list[StationHours]:
    today = day_number(beijing_day(datetime.now(UTC))) if today is None else today
    return await StationHours.filter(service_point_id=point_id, valid_from_day__lte=today).filter(
        valid_until_day__isnull=True).order_by("weekday", "opens_minute")


async def do_set_hours(viewer: Viewer, point_id: int, rules: list[HoursData]) -> ServicePoint:
    """Replaces the weekly schedule from today: unchanged periods stay (their marks with them),
    dropped ones are retired, new ones start today."""
    point = await check_station_manager(viewer, point_id)
    wanted = set(check_hours(rules))
    today = day_number(beijing_day(datetime.now(UTC)))
    async with in_transaction() as conn:
        existing = await StationHours.filter(service_point_id=point.id,
                                             valid_until_day__isnull=True).using_db(conn)
        kept = set()
        for rule in existing:
            key = (rule.weekday, rule.opens_minute, rule.closes_minute)
            if key in wanted and key not in kept:
                kept.add(key)
            elif rule.valid_from_day >= today:  # never in force: nothing to keep
                await StationHours.filter(id=rule.id).using_db(conn).delete()
            else:
                await StationHours.filter(id=rule.id).using_db(conn).update(valid_until_day=today)
        await StationHours.bulk_create([
            StationHours(service_point_id=point.id, weekday=w, opens_minute=o, closes_minute=c,
                         valid_from_day=today) for w, o, c in sorted(wanted - kept)],
            using_db=conn)
    return point


async def do_add_closure(viewer: Viewer, point_id: int | None, day: date,
                         reason: str) -> StationClosure:
    """A holiday for one station (its managers) or, without a station, for every station
    (platform admins). Adding the same closure again returns it."""
    volunteer = viewer.require_active()
    reason = check_text(reason, "reason", max_len=REASON_MAX)
    if point_id is None:
        if not viewer.is_platform_admin:
            raise Forbidden("Only platform admins close every station.")
    else:
        await check_station_manager(viewer, point_id)
    number = day_number(day)
    existing = await StationClosure.filter(service_point_id=point_id, day_number=number).first()
    if existing is not None:
        return existing
    marked = StationSlotMark.filter(day_number=number)
    if await (marked if point_id is None else marked.filter(service_point_id=point_id)).exists():
        raise Conflict("Volunteers were on duty that day; it cannot be closed after the fact.")
    return await StationClosure.create(service_point_id=point_id, day_number=number,
                                       reason=reason, created_by_id=volunteer.id)


# --- marks -------------------------------------------------------------------------------


async def mark_operating(sign_up_id: int, now: datetime | None = None) -> int:
    """After a check-in or check-out commits: marks the station's slots the stay touched
    (check-in alone: the slot it falls in). Returns how many slots were newly marked."""
    sign_up = await SignUp.get_or_none(id=sign_up_id)
    if sign_up is None or sign_up.checked_in_at is None:
        return 0
    activity = await Activity.get(id=sign_up.activity_id)
    if activity.service_point_id is None:
        return 0
    start = sign_up.checked_in_at.astimezone(BEIJING)
    end = sign_up.checked_out_at.astimezone(BEIJING) if sign_up.checked_out_at else start
    first, last = day_number(start.date()), day_number(end.date())
    rules = await StationHours.filter(service_point_id=activity.service_point_id,
                                      valid_from_day__lte=last)
    closed = set(await StationClosure.filter(
        day_number__gte=first, day_number__lte=last).filter(
        service_point_id__in=[activity.service_point_id]).values_list("day_number", flat=True))
    closed |= set(await StationClosure.filter(
        day_number__gte=first, day_number__lte=last, service_point_id__isnull=True
    ).values_list("day_number", flat=True))
    marks = []
    for number in range(first, last + 1):
        if number in closed:
            continue
        midnight = datetime.combine(day_of(number), datetime.min.time(), BEIJING)
        for rule in rules:
            if rule.weekday != (number + 3) % 7 or rule.valid_from_day > number or (
                    rule.valid_until_day is not None and rule.valid_until_day <= number):
                continue
            opens = midnight + timedelta(minutes=rule.opens_minute)
            closes = midnight + timedelta(minutes=rule.closes_minute)
            if start < closes and end >= opens:
                marks.append(StationSlotMark(service_point_id=activity.service_point_id,
                                             hours_id=rule.id, day_number=number,
                                             sign_up_id=sign_up.id))
    if not marks:
        return 0
    return await _insert_marks(marks)


async def _insert_marks(marks: list[StationSlotMark]) -> int:
    """One row per slot (a slot already marked stays as it is) and its week's tally, in one
    transaction."""
    weeks: dict[tuple[int, int], int] = {}
    async with in_transaction() as conn:
        for mark in marks:
            if await fetch(conn, Sql(
                    "INSERT INTO station_slot_mark (service_point_id, hours_id, day_number, "
                    "sign_up_id, created_at) VALUES (:point, :hours, :day, :sign_up, :now) "
                    "ON CONFLICT (hours_id, day_number) DO NOTHING RETURNING id",
                    point=mark.service_point_id, hours=mark.hours_id, day=mark.day_number,
                    sign_up=mark.sign_up_id, now=datetime.now(UTC))):
                key = (mark.service_point_id, monday_of(mark.day_number))
                weeks[key] = weeks.get(key, 0) + 1
        for (point, week), added in sorted(weeks.items()):
            await fetch(conn, Sql(
                "INSERT INTO station_week (service_point_id, week, staffed) VALUES (:point, "
                ":week, :added) ON CONFLICT (service_point_id, week) DO UPDATE SET "
                "staffed = station_week.staffed + excluded.staffed RETURNING id",
                point=point, week=week, added=added))
    return sum(weeks.values())


def monday_of(number: int) -> int:
    return number - (number + 3) % 7


async def operating_point_ids(at: datetime) -> set[int]:
    """Stations open at `at` by their schedule whose slot then is marked operating."""
    local = at.astimezone(BEIJING)
    number = day_number(local.date())
    minute = local.hour * 60 + local.minute
    rows = await fetch(connections.get("default"), Sql(
        "SELECT m.service_point_id AS id FROM station_slot_mark m "
        "JOIN station_hours h ON h.id = m.hours_id WHERE m.day_number = :day "
        "AND h.opens_minute <= :minute AND h.closes_minute > :minute",
        day=number, minute=minute))
    return {int(row["id"]) for row in rows}


# --- the operating rate ------------------------------------------------------------------


class Grouping(StrEnum):
    STATION = "STATION"
    DISTRICT = "DISTRICT"
    TEAM = "TEAM"
    WEEK = "WEEK"
    CITY = "CITY"


@dataclass(frozen=True)
class Rate:
    key: str
    scheduled: int
    staffed: int
    point_id: int | None = None
    team_id: int | None = None
    week: date | None = None

    @property
    def rate(self) -> float:
        return self.staffed / self.scheduled if self.scheduled else 0.0


def operating_target(target: float | None) -> float:
    value = get_settings().station_operating_target if target is None else target
    if not 0 < value <= 1:
        raise BadInput("target", "target must be above 0 and at most 1.")
    return value


def _count_in(a: str, b: str) -> str:
    """SQL: how many days n in [a, b) fall on weekday h.weekday (1970-01-01 was a Thursday)."""
    k = f"((h.weekday - ({a} + 3) % 7 + 7) % 7)"
    return f"(CASE WHEN ({b}) - ({a}) > {k} THEN (({b}) - ({a}) - {k} - 1) / 7 + 1 ELSE 0 END)"


# Each rule's share of a period [p.a, p.b), clipped to the days it was in force.
_A = "(CASE WHEN h.valid_from_day > p.a THEN h.valid_from_day ELSE p.a END)"
_B = ("(CASE WHEN h.valid_until_day IS NOT NULL AND h.valid_until_day < p.b "
      "THEN h.valid_until_day ELSE p.b END)")

def _rate_sql(grouping: Grouping, first: int, stop: int) -> str:
    """The one statement. Its numbers are day numbers computed here (integers, never user
    text), written into the text so both dialects type them alike. Scheduled slots: the rules
    grouped first (by key, weekday and validity), times how often each weekday falls in each
    period. Staffed: the weekly tallies of the weeks wholly inside the period, plus the marks
    of the partial weeks at its edges."""
    monday = monday_of(first)
    full_from, full_to = monday_of(first + 6), monday_of(stop)
    if full_from >= full_to:
        full_from = full_to = first
    if grouping == Grouping.WEEK:
        weeks = (stop - monday + 6) // 7
        periods = (
            f"weeks(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM weeks WHERE i + 1 < {weeks}), "
            f"periods AS (SELECT i, CASE WHEN {monday} + 7 * i > {first} THEN {monday} + 7 * i "
            f"ELSE {first} END AS a, CASE WHEN {monday} + 7 * i + 7 < {stop} "
            f"THEN {monday} + 7 * i + 7 ELSE {stop} END AS b FROM weeks)")

        def bucket(day: str) -> str:
            return f"(({day}) - {monday}) / 7"

        def by(day: str) -> str:
            return f", {bucket(day)}"
    else:
        periods = f"periods AS (SELECT 0 AS i, {first} AS a, {stop} AS b)"

        def bucket(day: str) -> str:
            return "0"

        def by(day: str) -> str:
            return ""  # SQLite reads GROUP BY 0 as a column position
    key = _KEYS[grouping]
    return f"""
WITH RECURSIVE {periods},
rules AS (
  SELECT {key} AS k, h.weekday AS weekday, h.valid_from_day AS valid_from_day,
         h.valid_until_day AS valid_until_day, COUNT(*) AS n
  FROM station_hours h JOIN service_point sp ON sp.id = h.service_point_id
  WHERE h.valid_from_day < {stop} AND (h.valid_until_day IS NULL OR h.valid_until_day > {first})
  GROUP BY {key}, h.weekday, h.valid_from_day, h.valid_until_day),
scheduled AS (
  SELECT h.k AS k, p.i AS i, SUM(h.n * {_count_in(_A, _B)}) AS n
  FROM rules h JOIN periods p ON h.valid_from_day < p.b
   AND (h.valid_until_day IS NULL OR h.valid_until_day > p.a)
  GROUP BY h.k, p.i),
closed AS (
  SELECT {key} AS k, {bucket("x.day")} AS i, COUNT(*) AS n FROM (
    SELECT h.id AS rule, h.service_point_id AS point, c.day_number AS day
    FROM station_closure c JOIN station_hours h ON c.service_point_id = h.service_point_id
     AND h.weekday = (c.day_number + 3) % 7 AND h.valid_from_day <= c.day_number
     AND (h.valid_until_day IS NULL OR h.valid_until_day > c.day_number)
    WHERE c.day_number >= {first} AND c.day_number < {stop}
    UNION
    SELECT h.id AS rule, h.service_point_id AS point, c.day_number AS day
    FROM station_closure c JOIN station_hours h ON h.weekday = (c.day_number + 3) % 7
     AND h.valid_from_day <= c.day_number
     AND (h.valid_until_day IS NULL OR h.valid_until_day > c.day_number)
    WHERE c.service_point_id IS NULL AND c.day_number >= {first} AND c.day_number < {stop}) x
  JOIN service_point sp ON sp.id = x.point
  GROUP BY {key}{by("x.day")}),
staffed AS (
  SELECT {key} AS k, {bucket("w.week")} AS i, SUM(w.staffed) AS n
  FROM station_week w JOIN service_point sp ON sp.id = w.service_point_id
  WHERE w.week >= {full_from} AND w.week < {full_to}
  GROUP BY {key}{by("w.week")}
  UNION ALL
  SELECT {key} AS k, {bucket("m.day_number")} AS i, COUNT(*) AS n
  FROM station_slot_mark m JOIN service_point sp ON sp.id = m.service_point_id
  WHERE (m.day_number >= {first} AND m.day_number < {full_from})
     OR (m.day_number >= {full_to} AND m.day_number < {stop})
  GROUP BY {key}{by("m.day_number")}),
staffed_total AS (SELECT k, i, SUM(n) AS n FROM staffed GROUP BY k, i)
SELECT s.k AS k, s.i AS i, s.n - COALESCE(c.n, 0) AS scheduled, COALESCE(m.n, 0) AS staffed
FROM scheduled s LEFT JOIN closed c ON c.k = s.k AND c.i = s.i
LEFT JOIN staffed_total m ON m.k = s.k AND m.i = s.i
WHERE s.n - COALESCE(c.n, 0) > 0 ORDER BY s.k, s.i
"""


_KEYS = {
    Grouping.STATION: "sp.id", Grouping.DISTRICT: "sp.district",
    Grouping.TEAM: "COALESCE(sp.team_id, 0)", Grouping.WEEK: "(sp.id * 0)",
    Grouping.CITY: "(sp.id * 0)",
}


async def operating_rates(viewer: Viewer, start: date, end: date,
                          grouping: Grouping) -> list[Rate]:
    """Staffed ÷ scheduled slots per station, district, operating team, week (Monday) or for
    the city, over Beijing dates [start, end): one statement. Platform admins."""
    viewer.require_active()
    if not viewer.is_platform_admin:
        raise Forbidden("Only platform admins see the stations' operating rates.")
    first, stop = day_number(start), day_number(end)
    if not 0 < stop - first <= PERIOD_DAYS_MAX:
        raise BadInput("to", f"to must be after from, at most {PERIOD_DAYS_MAX} days later.")
    monday = monday_of(first)
    rows = await connections.get("default").execute_query_dict(_rate_sql(grouping, first, stop))
    rates = []
    for row in rows:
        week = day_of(monday + 7 * int(row["i"])) if grouping == Grouping.WEEK else None
        key = row["k"]
        rates.append(Rate(
            key=week.isoformat() if week is not None else str(key),
            scheduled=int(row["scheduled"]), staffed=int(row["staffed"]),
            point_id=int(key) if grouping == Grouping.STATION else None,
            team_id=(int(key) or None) if grouping == Grouping.TEAM else None, week=week))
    return rates
