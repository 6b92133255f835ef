"""Platform statistics: the dashboard cities otherwise compile by hand.

People are counted by their own district, teams by the team's, activities and hours by the
district of the activity (where the service took place). "Registered" means consented
accounts (ACTIVE or SUSPENDED); imported, unclaimed people are `pendingConsent` only.
"Active" means approved hours in the last 12 months.

Nothing here scans service_record on read: the hours rules maintain, inside each decision's
transaction, a monthly summary (`stats_hours_month`) and `Volunteer.last_approved_at`;
`rebuild_stats` recomputes both from the records (`python server.py rebuild-stats`). A read is
four grouped statements (people, summary, teams, activities), concurrent on PostgreSQL, then
the service desk's tickets of the last 30 days (their first-reply figure).
Results are cached per district (Redis when configured, else in-process) for
`STATS_CACHE_SECONDS` and refreshed in the background when stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.redis_outage import REDIS_FAILED
from db.routing import read_connection
from models.hours import HoursStatus, ServiceRecord
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden
from resolvers.leaderboard import AGGREGATE_WORK_MEM, TIME_ZONE
from resolvers.servicedesk import FirstReplyFigures, compute_first_reply
from resolvers.services import services
from resolvers.sql import Sql, execute, fetch
from resolvers.team import administered_team_ids
from resolvers.validation import NAME_MAX, check_text
from subscriptions.channels import NAMESPACE

log = logging.getLogger("tongxin.stats")

CACHE_SECONDS = float(os.environ.get("STATS_CACHE_SECONDS", "60"))
# (label, minimum age in years); the first band whose minimum the person has reached wins.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("60+", 60), ("50-59", 50), ("35-49", 35), ("18-34", 18), ("<18", 0),
)
MONTHS_SHOWN = 12


@dataclass
class Bucket:
    key: str
    count: int
    hours: float | None = None


@dataclass
class PlatformStats:
    registered: int
    active: int
    pending_consent: int
    teams: int
    activities: int
    approved_hours: float
    by_district: list[Bucket]
    by_gender: list[Bucket]
    by_age_band: list[Bucket]
    by_team_type: list[Bucket]
    hours_by_month: list[Bucket]
    computed_at: float = 0.0
    # The service desk's first-reply figure (resolvers/servicedesk.py); None only in a cached
    # entry written before it existed.
    service_desk: FirstReplyFigures | None = None

    @classmethod
    def from_json(cls, raw: str | bytes) -> PlatformStats:
        data = json.loads(raw)
        for name in ("by_district", "by_gender", "by_age_band", "by_team_type", "hours_by_month"):
            data[name] = [Bucket(**item) for item in data[name]]
        desk = data.get("service_desk")
        data["service_desk"] = FirstReplyFigures(**desk) if desk else None
        return cls(**data)


async def check_stats_access(viewer: Viewer, district: str | None) -> str | None:
    """Platform admins see everything; team admins see the districts of their teams."""
    volunteer = viewer.require()
    checked = check_text(district, "district", max_len=NAME_MAX) if district is not None else None
    if viewer.is_platform_admin:
        return checked
    team_ids = await administered_team_ids(volunteer.id)
    if not team_ids:
        raise Forbidden("Only platform admins and team admins can see statistics.")
    districts = set(await Team.filter(id__in=team_ids).values_list("district", flat=True))
    if checked is None:
        if len(districts) != 1:
            raise BadInput("district", "Choose one of your teams' districts.")
        return str(districts.pop())
    if checked not in districts:
        raise Forbidden("You can see statistics of your teams' districts only.")
    return checked


_memory_cache: dict[str, PlatformStats] = {}
_refresh_tasks: dict[str, asyncio.Task[PlatformStats]] = {}


def _cache_key(district: str | None) -> str:
    return f"{NAMESPACE}:stats:{district or '*'}"


async def platform_stats(viewer: Viewer, district: str | None = None) -> PlatformStats:
    where = await check_stats_access(viewer, district)
    key = _cache_key(where)
    cached = await _cache_get(key)
    if cached is not None and CACHE_SECONDS > 0:
        if time.time() - cached.computed_at > CACHE_SECONDS and key not in _refresh_tasks:
            task = _refresh_tasks[key] = asyncio.create_task(_refresh(key, where))
            task.add_done_callback(lambda _: _refresh_tasks.pop(key, None))
        return cached
    return await _refresh(key, where)


async def _refresh(key: str, district: str | None) -> PlatformStats:
    result = await compute_stats(district)
    result.service_desk = await compute_first_reply(district, datetime.now(timezone.utc),
                                                    read_connection())
    await _cache_put(key, result)
    return result


async def _cache_get(key: str) -> PlatformStats | None:
    redis = services().redis
    if redis is None:
        return _memory_cache.get(key)
    try:
        raw = await redis.get(key)
    except REDIS_FAILED:
        return None
    return PlatformStats.from_json(raw) if raw else None


async def _cache_put(key: str, result: PlatformStats) -> None:
    redis = services().redis
    if redis is None:
        _memory_cache[key] = result
        return
    try:
        await redis.set(key, json.dumps(asdict(result)), ex=max(int(CACHE_SECONDS * 10), 60))
    except REDIS_FAILED:
        log.warning("stats cache write failed", exc_info=True)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


async def compute_stats(district: str | None, now: datetime | None = None) -> PlatformStats:
    """Four independent grouped reads; on PostgreSQL they run at once on separate pool
    connections, so the wall time is the slowest of them (the people pass)."""
    moment = now or datetime.now(timezone.utc)
    connection = read_connection()  # the replica for the stats query (DATABASE_READ_URL)
    postgres = connection.capabilities.dialect == "postgres"
    today = moment.astimezone(TIME_ZONE).date()
    statements = [
        _people_statement(district, today, moment - timedelta(days=365)),
        _hours_statement(district),
        _teams_statement(district),
        _activities_statement(district),
    ]
    if postgres and not isinstance(connection, TransactionalDBClient):
        people, hours, team_rows, activity_rows = await asyncio.gather(
            *(fetch(connection, statement) for statement in statements))
    else:
        people, hours, team_rows, activity_rows = [
            await fetch(connection, statement) for statement in statements]
    return _assemble(people, hours, team_rows, activity_rows, today)


def _in_district(district: str | None, keyword: str, column: str = "district") -> Sql:
    """`<keyword> <column> = district`, or nothing for the whole city."""
    if district is None:
        return Sql()
    return Sql(f"{keyword} {column} = :district", district=district)


def _people_statement(district: str | None, today: date, active_since: datetime) -> Sql:
    """One pass over volunteers grouped in the order of their covering index: cumulative
    counts per age-band boundary, and how many have approved hours since `active_since`."""
    bands = Sql.join(", ", (
        Sql(f"COUNT(*) FILTER (WHERE birth_date <= :born) AS b{index}",
            born=_years_before(today, age))
        for index, (_, age) in enumerate(AGE_BANDS[:-1])))
    return Sql("SELECT district, status, gender, COUNT(*) AS n, :bands, "
               "COUNT(*) FILTER (WHERE last_approved_at >= :since) AS active "
               "FROM volunteer :where GROUP BY district, status, gender",
               bands=bands, since=active_since.astimezone(timezone.utc),
               where=_in_district(district, "WHERE"))


def _hours_statement(district: str | None) -> Sql:
    return Sql("SELECT district, month, records AS n, hours AS h FROM stats_hours_month "
               "WHERE records <> 0 :district", district=_in_district(district, "AND"))


def _teams_statement(district: str | None) -> Sql:
    return Sql("SELECT type, COUNT(*) AS n, SUM(approved_hours) AS h FROM team :where "
               "GROUP BY 1", where=_in_district(district, "WHERE"))


def _activities_statement(district: str | None) -> Sql:
    return Sql("SELECT COUNT(*) AS n FROM activity WHERE status IN (:published, :finished) "
               ":district", published="PUBLISHED", finished="FINISHED",
               district=_in_district(district, "AND"))


def _sqlite_offset() -> str:
    offset = datetime.now(TIME_ZONE).utcoffset() or timedelta()
    return f"{offset.total_seconds() / 3600:+.0f} hours"


def _assemble(people: list[dict[str, Any]], hours: list[dict[str, Any]],
              team_rows: list[dict[str, Any]], activity_rows: list[dict[str, Any]], today: date
              ) -> PlatformStats:
    registered = pending = active = 0
    by_district: dict[str, Bucket] = {}
    by_gender: dict[str, int] = {}
    by_band: dict[str, int] = {label: 0 for label, _ in reversed(AGE_BANDS)}
    for row in people:
        count = int(row["n"])
        if row["status"] == "PENDING_CONSENT":
            pending += count
            continue
        if row["status"] == "DELETED":  # no longer a person; their hours still count below
            continue
        registered += count
        active += int(row["active"] or 0)
        by_district.setdefault(row["district"], Bucket(row["district"], 0, 0.0)).count += count
        by_gender[row["gender"]] = by_gender.get(row["gender"], 0) + count
        below = 0  # people born on or before the previous (older) boundary
        for index, (label, _) in enumerate(AGE_BANDS):
            cumulative = int(row[f"b{index}"] or 0) if index < len(AGE_BANDS) - 1 else count
            by_band[label] += cumulative - below
            below = cumulative
    months = _last_months(today, MONTHS_SHOWN)
    by_month = {key: Bucket(key, 0, 0.0) for key in months}
    total_hours = 0.0
    for row in hours:
        amount = float(row["h"] or 0)
        total_hours += amount
        bucket = by_district.setdefault(row["district"], Bucket(row["district"], 0, 0.0))
        bucket.hours = (bucket.hours or 0) + amount
        if row["month"] in by_month:
            by_month[row["month"]].count += int(row["n"])
            by_month[row["month"]].hours = (by_month[row["month"]].hours or 0) + amount
    for item in [*by_district.values(), *by_month.values()]:
        item.hours = round(item.hours or 0, 2)
    return PlatformStats(
        registered=registered,
        active=active,
        pending_consent=pending,
        teams=sum(int(row["n"]) for row in team_rows),
        activities=int(activity_rows[0]["n"]),
        approved_hours=round(total_hours, 2),
        by_district=sorted(by_district.values(), key=lambda b: (-b.count, b.key)),
        by_gender=[Bucket(k, v) for k, v in sorted(by_gender.items())],
        by_age_band=[Bucket(k, v) for k, v in by_band.items()],
        by_team_type=sorted(
            (Bucket(row["type"], int(row["n"]), round(float(row["h"] or 0), 2))
             for row in team_rows), key=lambda b: b.key),
        hours_by_month=[by_month[key] for key in months],
        computed_at=time.time(),
    )


def _last_months(today: date, count: int) -> list[str]:
    year, month = today.year, today.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(keys))


# ---------------------------------------------------------------- aggregates maintained on write

UNKNOWN_MONTH = ""  # approved records without an approval time count in totals, not in months
_ADD_HOURS = (
    "INSERT INTO stats_hours_month (district, month, hours, records) "
    "VALUES (:district, :month, :hours, :records) "
    "ON CONFLICT (district, month) DO UPDATE SET "
    "hours = stats_hours_month.hours + excluded.hours, "
    "records = stats_hours_month.records + excluded.records"
)


def stats_month(approved_at: datetime | None) -> str:
    """The local month an approval counts in (the month `hoursByMonth` shows it under)."""
    if approved_at is None:
        return UNKNOWN_MONTH
    return approved_at.astimezone(TIME_ZONE).strftime("%Y-%m")


async def record_hours_change(conn: BaseDBAsyncClient, district: str,
                              removed: tuple[datetime | None, float] | None,
                              added: tuple[datetime | None, float] | None) -> None:
    """Moves approved hours in the monthly summary: `removed`/`added` are (approved_at, hours)
    of the record before/after the decision. Call it inside the decision's transaction before
    the volunteer row is touched: `rebuild_stats` locks this table first, then volunteer rows."""
    deltas: dict[str, list[float]] = {}
    if removed is not None:
        entry = deltas.setdefault(stats_month(removed[0]), [0.0, 0])
        entry[0] -= removed[1]
        entry[1] -= 1
    if added is not None:
        entry = deltas.setdefault(stats_month(added[0]), [0.0, 0])
        entry[0] += added[1]
        entry[1] += 1
    for month, (hours, records) in sorted(deltas.items()):
        if records or abs(hours) > 1e-9:
            await execute(conn, Sql(_ADD_HOURS, district=district, month=month,
                                    hours=round(hours, 4), records=int(records)))


async def track_latest_approval(conn: BaseDBAsyncClient, volunteer_id: int,
                                approved_at: datetime | None) -> None:
    """A newly counted approval: `last_approved_at` only ever moves forward here, so racing
    approvals of one person need no lock (the conditional UPDATE re-checks after waiting)."""
    if approved_at is None:
        return
    await Volunteer.filter(
        Q(last_approved_at__isnull=True) | Q(last_approved_at__lt=approved_at), id=volunteer_id,
    ).using_db(conn).update(last_approved_at=approved_at)


async def recount_latest_approval(conn: BaseDBAsyncClient, volunteer_id: int) -> None:
    """Approved hours were taken back: the latest remaining approval, read after locking the
    volunteer row so a concurrent approval of the same person is either seen or applied after."""
    await Volunteer.filter(id=volunteer_id).select_for_update().using_db(conn).only("id").first()
    latest = await ServiceRecord.filter(
        volunteer_id=volunteer_id, status=HoursStatus.APPROVED, approved_at__isnull=False,
    ).using_db(conn).order_by("-approved_at").first().values_list("approved_at", flat=True)
    await Volunteer.filter(id=volunteer_id).using_db(conn).update(last_approved_at=latest)


def source_hours_statement(postgres: bool, district: str | None = None) -> Sql:
    """The truth the summary is rebuilt from: approved records grouped by activity district
    and local month of approval (what `stats` computed on every read before the summary)."""
    month = (Sql("to_char(sr.approved_at AT TIME ZONE :zone, 'YYYY-MM')", zone=str(TIME_ZONE))
             if postgres else Sql(f"strftime('%Y-%m', sr.approved_at, '{_sqlite_offset()}')"))
    return Sql(f"SELECT a.district AS district, COALESCE(:month, '{UNKNOWN_MONTH}') AS month, "
               "COUNT(*) AS n, SUM(sr.hours) AS h "
               "FROM service_record sr JOIN activity a ON a.id = sr.activity_id "
               "WHERE sr.status = :approved :district GROUP BY 1, 2",
               month=month, approved="APPROVED", district=_in_district(district, "AND", "a.district"))


@dataclass
class RebuildReport:
    months: int
    volunteers_changed: int
    seconds: float


VOLUNTEER_CHUNK = 100_000


async def rebuild_stats() -> RebuildReport:
    """Recomputes the monthly hours summary and every `last_approved_at` from service_record,
    in one transaction. On PostgreSQL it holds the summary table in EXCLUSIVE mode, so hour
    decisions wait at their first summary write (before touching volunteer rows) until it is done."""
    started = time.perf_counter()
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    async with in_transaction() as conn:
        if postgres:
            await conn.execute_query("LOCK TABLE stats_hours_month IN EXCLUSIVE MODE")
            await conn.execute_query(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
        await conn.execute_query("DELETE FROM stats_hours_month")
        await execute(conn, Sql("INSERT INTO stats_hours_month (district, month, hours, records) "
                                "SELECT district, month, h, n FROM (:source) AS source",
                                source=source_hours_statement(postgres)))
        months = (await conn.execute_query_dict("SELECT COUNT(*) AS n FROM stats_hours_month")
                  )[0]["n"]
        await conn.execute_query(
            "CREATE TEMP TABLE stats_latest AS SELECT volunteer_id AS id, MAX(approved_at) AS m "
            "FROM service_record WHERE status = 'APPROVED' GROUP BY volunteer_id")
        await conn.execute_query("CREATE INDEX stats_latest_id ON stats_latest (id)")
        if postgres:
            await conn.execute_query("ANALYZE stats_latest")
        differs = "IS DISTINCT FROM" if postgres else "IS NOT"
        top = (await conn.execute_query_dict("SELECT COALESCE(MAX(id), 0) AS top FROM volunteer")
               )[0]["top"]
        changed = 0
        for low in range(0, int(top) + 1, VOLUNTEER_CHUNK):
            bounds = {"low": low, "high": low + VOLUNTEER_CHUNK}
            count, _ = await execute(conn, Sql(
                "UPDATE volunteer SET last_approved_at = stats_latest.m FROM stats_latest "
                "WHERE volunteer.id = stats_latest.id "
                "AND volunteer.id >= :low AND volunteer.id < :high "
                f"AND volunteer.last_approved_at {differs} stats_latest.m", **bounds))
            cleared, _ = await execute(conn, Sql(
                "UPDATE volunteer SET last_approved_at = NULL WHERE id >= :low AND id < :high "
                "AND last_approved_at IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM stats_latest WHERE stats_latest.id = volunteer.id)",
                **bounds))
            changed += count + cleared
        await conn.execute_query("DROP TABLE stats_latest")
    return RebuildReport(months=int(months), volunteers_changed=changed,
                         seconds=time.perf_counter() - started)
