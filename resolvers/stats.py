"""Platform statistics: the dashboard cities otherwise compile by hand.

People are counted by their own district, teams by the team's, activities and hours by the
district of the activity (where the service took place). "Registered" means consented
accounts (ACTIVE or SUSPENDED); imported, unclaimed people are `pendingConsent` only.
"Active" means approved hours in the last 12 months.

Three grouped statements compute everything. Results are cached per district (Redis when
configured, else in-process) for `STATS_CACHE_SECONDS` and refreshed in the background when
stale, so dashboards read in well under a millisecond after the first computation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from redis.exceptions import RedisError
from tortoise import connections

from models.team import Team
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden
from resolvers.leaderboard import TIME_ZONE, run_aggregate
from resolvers.services import services
from resolvers.validation import NAME_MAX, check_text
from resolvers.volunteer import administered_team_ids
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

    @classmethod
    def from_json(cls, raw: str | bytes) -> PlatformStats:
        data = json.loads(raw)
        for name in ("by_district", "by_gender", "by_age_band", "by_team_type", "hours_by_month"):
            data[name] = [Bucket(**item) for item in data[name]]
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
    await _cache_put(key, result)
    return result


async def _cache_get(key: str) -> PlatformStats | None:
    redis = services().redis
    if redis is None:
        return _memory_cache.get(key)
    try:
        raw = await redis.get(key)
    except RedisError:
        return None
    return PlatformStats.from_json(raw) if raw else None


async def _cache_put(key: str, result: PlatformStats) -> None:
    redis = services().redis
    if redis is None:
        _memory_cache[key] = result
        return
    try:
        await redis.set(key, json.dumps(asdict(result)), ex=max(int(CACHE_SECONDS * 10), 60))
    except RedisError:
        log.warning("stats cache write failed", exc_info=True)


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


async def compute_stats(district: str | None, now: datetime | None = None) -> PlatformStats:
    moment = now or datetime.now(timezone.utc)
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    today = moment.astimezone(TIME_ZONE).date()

    def query(sql: str, values: list[Any]) -> Any:
        return run_aggregate(sql if postgres else _question_marks(sql), values)

    # 1. People: one pass over volunteers grouped by district, gender, age band and status.
    band_sql = " ".join(
        f"WHEN birth_date <= ${i + 1} THEN '{label}'" for i, (label, _) in enumerate(AGE_BANDS)
    )
    band_values: list[Any] = [_years_before(today, age) for _, age in AGE_BANDS]
    people_where = ""
    people_values = list(band_values)
    if district is not None:
        people_values.append(district)
        people_where = f"WHERE district = ${len(people_values)}"
    people = await query(
        f"SELECT district, gender, CASE {band_sql} ELSE '<18' END AS band, status, "
        f"COUNT(*) AS n FROM volunteer {people_where} GROUP BY 1, 2, 3, 4",
        people_values,
    )
    # 2. Hours: approved records grouped by activity district and local month.
    month = ("to_char(sr.approved_at AT TIME ZONE $2, 'YYYY-MM')" if postgres else
             f"strftime('%Y-%m', sr.approved_at, '{_sqlite_offset()}')")
    hours_values: list[Any] = ["APPROVED", str(TIME_ZONE)] if postgres else ["APPROVED"]
    hours_where = ""
    if district is not None:
        hours_values.append(district)
        hours_where = f"AND a.district = ${len(hours_values)}"
    hours = await query(
        f"SELECT a.district AS district, {month} AS month, COUNT(*) AS n, SUM(sr.hours) AS h "
        f"FROM service_record sr JOIN activity a ON a.id = sr.activity_id "
        f"WHERE sr.status = $1 {hours_where} GROUP BY 1, 2",
        hours_values,
    )
    # 3. Active volunteers, teams by type, activities.
    since = moment - timedelta(days=365)
    active_values: list[Any] = ["APPROVED", since, "PENDING_CONSENT"]
    active_where = ""
    team_where = ""
    activity_values: list[Any] = ["PUBLISHED", "FINISHED"]
    activity_where = ""
    team_values: list[Any] = []
    if district is not None:
        active_values.append(district)
        active_where = f"AND v.district = ${len(active_values)}"
        team_values.append(district)
        team_where = "WHERE district = $1"
        activity_values.append(district)
        activity_where = "AND district = $3"
    active = await query(
        "SELECT COUNT(*) AS n FROM volunteer v WHERE v.status <> $3 " + active_where +
        " AND EXISTS (SELECT 1 FROM service_record sr WHERE sr.volunteer_id = v.id "
        "AND sr.status = $1 AND sr.approved_at >= $2)",
        active_values,
    )
    team_rows = await query(
        f"SELECT type, COUNT(*) AS n, SUM(approved_hours) AS h FROM team {team_where} GROUP BY 1",
        team_values,
    )
    activity_rows = await query(
        f"SELECT COUNT(*) AS n FROM activity WHERE status IN ($1, $2) {activity_where}",
        activity_values,
    )
    return _assemble(people, hours, active, team_rows, activity_rows, today)


def _question_marks(sql: str) -> str:
    """$n placeholders → SQLite's numbered ?n."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _sqlite_offset() -> str:
    offset = datetime.now(TIME_ZONE).utcoffset() or timedelta()
    return f"{offset.total_seconds() / 3600:+.0f} hours"


def _assemble(people: list[dict[str, Any]], hours: list[dict[str, Any]],
              active: list[dict[str, Any]], team_rows: list[dict[str, Any]],
              activity_rows: list[dict[str, Any]], today: date
              ) -> PlatformStats:
    registered = pending = 0
    by_district: dict[str, Bucket] = {}
    by_gender: dict[str, int] = {}
    by_band: dict[str, int] = {label: 0 for label, _ in reversed(AGE_BANDS)}
    for row in people:
        count = int(row["n"])
        if row["status"] == "PENDING_CONSENT":
            pending += count
            continue
        registered += count
        by_district.setdefault(row["district"], Bucket(row["district"], 0, 0.0)).count += count
        by_gender[row["gender"]] = by_gender.get(row["gender"], 0) + count
        by_band[row["band"]] = by_band.get(row["band"], 0) + count
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
        active=int(active[0]["n"]),
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
