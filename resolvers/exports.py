"""Exports (issue 27): an activity's roster and a team's hours for a period, as rows for
core/tabular.py to stream as CSV or XLSX (the insurer's roster is resolvers/insurance.py).

Decisions where the issue was silent (docs/care.md "Exports"):
- Who: the admins of the activity's team (or of a parent team) and platform admins, as for
  every other organiser action; anyone else gets FORBIDDEN (NOT_FOUND for a draft they could
  not see) and not one row.
- What: the roster is every sign-up that is not cancelled (confirmed, offered, waitlisted), by
  sign-up order; hours are every service record (any status) of the team's own activities
  starting in the period (Beijing days, at most 366), by record order. Names are the display
  names organisers see everywhere else.
- Phones follow the personal-information rules (resolvers/volunteer.py can_see_pii): the
  roster's phone column is empty for organisers, masked for platform admins, and full only
  for a platform admin who gives a reason, in which case every person on the roster is
  logged as exported (resolvers/pii.py) before the first row is read. Hours carry no phone.
- Rows are read in batches of EXPORT_BATCH, keyset by id, on both backends: no transaction or
  pooled connection is held while a slow client downloads, and memory is one batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from tortoise import connections

from core import pii
from core.tabular import Cell
from core.time import BEIJING
from models.activity import Activity
from models.team import Team
from resolvers.activity import check_activity_admin
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden
from resolvers.pii import check_pii_read, do_record_export
from resolvers.sql import Sql, fetch
from resolvers.team import check_team_admin
from resolvers.validation import mask_phone

EXPORT_BATCH = 2000
PERIOD_DAYS_MAX = 366

ROSTER_HEADER: list[Cell] = ["姓名", "志愿者编号", "手机", "状态", "候补序号", "报名时间",
                             "签到时间", "签退时间"]
HOURS_HEADER: list[Cell] = ["志愿者", "志愿者编号", "活动", "开始", "结束", "申报时长",
                            "核定时长", "状态", "核定时间"]


class Phones(Enum):
    HIDDEN = "hidden"
    MASKED = "masked"
    FULL = "full"


@dataclass(frozen=True)
class RosterExport:
    activity: Activity
    phones: Phones


@dataclass(frozen=True)
class HoursExport:
    team: Team
    start: datetime
    end: datetime


def beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)


def local_time(value: Any) -> str:
    """A stored time as Beijing wall time, whichever way the backend returned it."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(BEIJING)  # formatted by hand: strftime was the export's top cost
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


def check_period(first: date, last: date) -> tuple[datetime, datetime]:
    if not 0 <= (last - first).days < PERIOD_DAYS_MAX:
        raise BadInput("to", f"to must be on or after from, at most {PERIOD_DAYS_MAX} days.")
    return beijing_midnight(first), beijing_midnight(last + timedelta(days=1))


async def keyset_batches(query: Callable[[int, int], Sql]) -> AsyncIterator[list[dict[str, Any]]]:
    """`query(after, limit)` must select `id`, filter `id > after`, order by it and LIMIT."""
    after, batch = 0, EXPORT_BATCH
    while True:
        rows = await fetch(connections.get("default"), query(after, batch))
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = int(rows[-1]["id"])


# --- an activity's roster ----------------------------------------------------------------

ROSTER_SQL = (
    "SELECT s.id AS id, v.display_name AS name, v.volunteer_number AS number, "
    "v.phone_cipher AS phone, s.status AS status, s.waitlist_seq AS seq, "
    "s.created_at AS created, s.checked_in_at AS checked_in, s.checked_out_at AS checked_out "
    "FROM sign_up s JOIN volunteer v ON v.id = s.volunteer_id "
    "WHERE s.activity_id = :activity AND s.status <> 'CANCELLED' AND s.id > :after "
    "ORDER BY s.id LIMIT :limit")


async def check_roster_export(viewer: Viewer, activity_id: int, reason: str | None,
                              client_address: str) -> RosterExport:
    """Organisers and platform admins; full phones only for a platform admin with a reason,
    logged for every person on the roster before returning."""
    activity = await check_activity_admin(viewer, activity_id)
    if reason is None:
        phones = Phones.MASKED if viewer.is_platform_admin else Phones.HIDDEN
        return RosterExport(activity, phones)
    full_reason = check_pii_read(viewer, 0, reason)
    if full_reason is None:
        raise Forbidden("Only platform admins may export full phone numbers.")
    people = await fetch(connections.get("default"), Sql(
        "SELECT DISTINCT volunteer_id AS v FROM sign_up WHERE activity_id = :activity "
        "AND status <> 'CANCELLED'", activity=activity.id))
    await do_record_export(viewer, sorted(int(row["v"]) for row in people), full_reason,
                           client_address)
    return RosterExport(activity, Phones.FULL)


def _phone(sealed: str | None, phones: Phones) -> str:
    if phones == Phones.HIDDEN:
        return ""
    phone = pii.open_optional(sealed, pii.PHONE)
    if not phone:
        return ""
    return phone if phones == Phones.FULL else mask_phone(phone)


async def roster_rows(export: RosterExport) -> AsyncIterator[list[Cell]]:
    yield ROSTER_HEADER
    async for rows in keyset_batches(lambda after, limit: Sql(
            ROSTER_SQL, activity=export.activity.id, after=after, limit=limit)):
        for row in rows:
            yield [row["name"], row["number"], _phone(row["phone"], export.phones),
                   row["status"], row["seq"] if row["status"] == "WAITLISTED" else None,
                   local_time(row["created"]), local_time(row["checked_in"]),
                   local_time(row["checked_out"])]


# --- a team's hours for a period ---------------------------------------------------------

HOURS_SQL = (
    "SELECT r.id AS id, v.display_name AS name, v.volunteer_number AS number, "
    "a.title AS title, a.starts_at AS starts, a.ends_at AS ends, r.hours_claimed AS claimed, "
    "r.hours AS hours, r.status AS status, r.approved_at AS approved "
    "FROM service_record r JOIN activity a ON a.id = r.activity_id "
    "JOIN volunteer v ON v.id = r.volunteer_id "
    "WHERE a.team_id = :team AND a.starts_at >= :start AND a.starts_at < :end "
    "AND r.id > :after ORDER BY r.id LIMIT :limit")


async def check_hours_export(viewer: Viewer, team_id: int, first: date,
                             last: date) -> HoursExport:
    """The team's admins (or a parent team's) and platform admins."""
    team = await check_team_admin(viewer, team_id)
    start, end = check_period(first, last)
    return HoursExport(team, start, end)


async def hours_rows(export: HoursExport) -> AsyncIterator[list[Cell]]:
    yield HOURS_HEADER
    async for rows in keyset_batches(lambda after, limit: Sql(
            HOURS_SQL, team=export.team.id, start=export.start, end=export.end, after=after,
            limit=limit)):
        for row in rows:
            yield [row["name"], row["number"], row["title"], local_time(row["starts"]),
                   local_time(row["ends"]), float(row["claimed"]), float(row["hours"]),
                   row["status"], local_time(row["approved"])]
