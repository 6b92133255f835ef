"""Project library rules: projects, positions (岗位), recurring series and project statistics.

Decisions where the issue was silent (docs/training.md):
- A series generates one ordinary activity per date (a shift), linked to the project and the
  position; editing, cancelling or signing up for one shift goes through the existing
  activity and sign-up rules and never touches the others. Extending a series creates only
  dates it does not have yet (an edited or cancelled shift is never recreated).
- Shifts inherit the position's requirements (qualifications, minimum age) and capacity.
- Dates are Beijing dates; a monthly series on the 29th–31st skips months without that day.
  Dates already past are skipped. A series spans at most 366 days.
- Project.stats: approved hours of its activities, distinct volunteers with an approved record
  and distinct activities with an approved record ("held"), maintained in the hours decision's
  transaction; `rebuild_project_stats` recomputes them from the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.time import BEIJING
from models.activity import Activity, ActivityStatus
from models.hours import HoursStatus, ServiceRecord
from models.project import (
    Frequency,
    Position,
    Project,
    ProjectSeries,
    ProjectTally,
    SeriesOccurrence,
    TallySubject,
)
from models.team import Team
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.requirements import Requirements, check_requirement_input, write_requirements
from resolvers.sql import Sql, fetch
from resolvers.team import check_team_admin, is_team_admin
from resolvers.validation import (
    LONG_TEXT_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    check_coordinates,
    check_optional_text,
    check_text,
    check_url,
    decode_tags,
    encode_tags,
)

CAPACITY_MAX = 10_000
SERIES_DAYS_MAX = 366
DURATION_MIN, DURATION_MAX = 15, 24 * 60
TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class ProjectData:
    name: str
    category: str
    district: str
    description: str = ""
    cover_image_url: str | None = None


@dataclass
class PositionData:
    name: str
    capacity_per_shift: int
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    qualifications: list[str] | None = None
    minimum_age: int | None = None


@dataclass
class SeriesData:
    frequency: Frequency
    start_time: str
    duration_minutes: int
    first_date: date
    last_date: date
    weekdays: list[int] | None = None
    day_of_month: int | None = None
    title: str | None = None
    capacity: int | None = None
    publish: bool = True


async def check_project_admin(viewer: Viewer, project_id: int) -> Project:
    viewer.require()
    project = await Project.get_or_none(id=project_id)
    if project is None:
        raise NotFound("Project")
    team = await Team.get(id=project.team_id)
    if not await is_team_admin(viewer, team):
        raise Forbidden("Only an admin of the project's team or a parent team can do that.")
    return project


async def do_create_project(viewer: Viewer, team_id: int, data: ProjectData) -> Project:
    creator = viewer.require_active()
    team = await check_team_admin(viewer, team_id)
    return await Project.create(
        team_id=team.id, created_by_id=creator.id,
        name=check_text(data.name, "name", max_len=SHORT_TEXT_MAX),
        category=check_text(data.category, "category", max_len=NAME_MAX),
        district=check_text(data.district, "district", max_len=NAME_MAX),
        description=check_text(data.description, "description", max_len=LONG_TEXT_MAX,
                               required=False),
        cover_image_url=check_url(data.cover_image_url, "coverImageUrl"))


async def do_create_position(viewer: Viewer, project_id: int, data: PositionData) -> Position:
    project = await check_project_admin(viewer, project_id)
    name = check_text(data.name, "name", max_len=SHORT_TEXT_MAX)
    address = check_optional_text(data.address, "address", max_len=SHORT_TEXT_MAX)
    latitude, longitude = check_coordinates(data.latitude, data.longitude)
    if not 1 <= data.capacity_per_shift <= CAPACITY_MAX:
        raise BadInput("capacityPerShift", f"capacityPerShift must be between 1 and {CAPACITY_MAX}.")
    requirements = check_requirement_input(data.qualifications, data.minimum_age)
    return await Position.create(
        project_id=project.id, name=name, address=address, latitude=latitude,
        longitude=longitude, capacity_per_shift=data.capacity_per_shift,
        qualifications=encode_tags(requirements.qualifications),
        minimum_age=requirements.minimum_age)


def series_days(frequency: Frequency, first: date, last: date, weekdays: list[int],
                day_of_month: int | None) -> list[date]:
    days = []
    day = first
    while day <= last:
        if (frequency == Frequency.WEEKLY and day.isoweekday() in weekdays) or \
                (frequency == Frequency.MONTHLY and day.day == day_of_month):
            days.append(day)
        day += timedelta(days=1)
    return days


def _check_series(data: SeriesData, position: Position | None) -> dict[str, Any]:
    match = TIME_RE.match(data.start_time or "")
    if match is None:
        raise BadInput("startTime", "startTime must be HH:MM (Beijing time).")
    if not DURATION_MIN <= data.duration_minutes <= DURATION_MAX:
        raise BadInput("durationMinutes",
                       f"durationMinutes must be between {DURATION_MIN} and {DURATION_MAX}.")
    if data.last_date < data.first_date:
        raise BadInput("lastDate", "lastDate must not be before firstDate.")
    if (data.last_date - data.first_date).days >= SERIES_DAYS_MAX:
        raise BadInput("lastDate", f"A series spans at most {SERIES_DAYS_MAX} days.")
    weekdays: list[int] = []
    if data.frequency == Frequency.WEEKLY:
        weekdays = sorted(set(data.weekdays or []))
        if not weekdays or any(not 1 <= d <= 7 for d in weekdays):
            raise BadInput("weekdays", "A weekly series needs weekdays 1 (Monday)–7 (Sunday).")
        if data.day_of_month is not None:
            raise BadInput("dayOfMonth", "Only a monthly series has dayOfMonth.")
    else:
        if data.day_of_month is None or not 1 <= data.day_of_month <= 31:
            raise BadInput("dayOfMonth", "A monthly series needs dayOfMonth 1–31.")
        if data.weekdays:
            raise BadInput("weekdays", "Only a weekly series has weekdays.")
    capacity = data.capacity if data.capacity is not None else (
        position.capacity_per_shift if position is not None else None)
    if capacity is None or not 1 <= capacity <= CAPACITY_MAX:
        raise BadInput("capacity", f"capacity must be between 1 and {CAPACITY_MAX}.")
    return {"start_time": data.start_time, "duration_minutes": data.duration_minutes,
            "first_date": data.first_date, "last_date": data.last_date,
            "weekdays": encode_tags([str(d) for d in weekdays]),
            "day_of_month": data.day_of_month, "capacity": capacity,
            "frequency": data.frequency}


async def _generate(series: ProjectSeries, project: Project, position: Position | None,
                    creator_id: int, publish: bool) -> list[Activity]:
    """Creates the missing dated activities of the series in one short transaction; returns
    them in date order."""
    weekdays = [int(d) for d in decode_tags(series.weekdays)]
    hour, minute = (int(part) for part in series.start_time.split(":"))
    now = datetime.now(UTC)
    requirements = Requirements(decode_tags(position.qualifications), position.minimum_age) \
        if position is not None else Requirements([], None)
    created: list[Activity] = []
    async with in_transaction() as conn:
        have = set(await SeriesOccurrence.filter(series_id=series.id).using_db(conn)
                   .values_list("day", flat=True))
        for day in series_days(Frequency(series.frequency), series.first_date, series.last_date,
                               weekdays, series.day_of_month):
            starts = datetime.combine(day, time(hour, minute), BEIJING).astimezone(UTC)
            if day in have or starts <= now:
                continue
            activity = await Activity.create(
                team_id=project.team_id, created_by_id=creator_id, title=series.title,
                description=project.description, category=project.category,
                district=project.district,
                address=position.address if position else None,
                latitude=position.latitude if position else None,
                longitude=position.longitude if position else None,
                starts_at=starts, ends_at=starts + timedelta(minutes=series.duration_minutes),
                sign_up_deadline=starts, capacity=series.capacity,
                waitlist_limit=series.capacity, hours_credit=series.duration_minutes / 60,
                status=ActivityStatus.PUBLISHED if publish else ActivityStatus.DRAFT,
                project_id=project.id, position_id=position.id if position else None,
                using_db=conn)
            await SeriesOccurrence.create(series_id=series.id, activity_id=activity.id, day=day,
                                          using_db=conn)
            if requirements.qualifications or requirements.minimum_age is not None:
                await write_requirements(activity.id, requirements, using=conn)
            created.append(activity)
    return created


async def do_schedule_series(viewer: Viewer, project_id: int, position_id: int | None,
                             data: SeriesData) -> tuple[ProjectSeries, list[Activity]]:
    """A weekly or monthly rule generating dated shifts; returns the series and the shifts."""
    creator = viewer.require_active()
    project = await check_project_admin(viewer, project_id)
    position = None
    if position_id is not None:
        position = await Position.get_or_none(id=position_id, project_id=project.id)
        if position is None:
            raise NotFound("Position")
    clean = _check_series(data, position)
    default_title = f"{project.name}·{position.name}" if position else project.name
    title = check_text(data.title or default_title[:SHORT_TEXT_MAX], "title",
                       max_len=SHORT_TEXT_MAX)
    series = await ProjectSeries.create(project_id=project.id,
                                        position_id=position.id if position else None,
                                        title=title, **clean)
    created = await _generate(series, project, position, creator.id, data.publish)
    return series, created


async def do_extend_series(viewer: Viewer, series_id: int, last_date: date,
                           publish: bool = True) -> tuple[ProjectSeries, list[Activity]]:
    creator = viewer.require_active()
    series = await ProjectSeries.get_or_none(id=series_id)
    if series is None:
        raise NotFound("Series")
    project = await check_project_admin(viewer, series.project_id)
    if last_date < series.last_date:
        raise BadInput("lastDate", "A series can only be extended (cancel single shifts instead).")
    if (last_date - series.first_date).days >= SERIES_DAYS_MAX:
        raise BadInput("lastDate", f"A series spans at most {SERIES_DAYS_MAX} days.")
    changed = await ProjectSeries.filter(id=series.id, last_date=series.last_date).update(
        last_date=last_date)
    if not changed:
        raise Conflict("The series changed at the same moment; try again.")
    series.last_date = last_date
    position = await Position.get_or_none(id=series.position_id) if series.position_id else None
    return series, await _generate(series, project, position, creator.id, publish)


@dataclass
class ProjectFilter:
    category: str | None = None
    district: str | None = None
    team_id: int | None = None
    search: str | None = None


def list_projects(where: ProjectFilter) -> QuerySet[Project]:
    query = Project.all()
    if where.category:
        query = query.filter(category=check_text(where.category, "filter.category",
                                                 max_len=NAME_MAX))
    if where.district:
        query = query.filter(district=check_text(where.district, "filter.district",
                                                 max_len=NAME_MAX))
    if where.team_id is not None:
        query = query.filter(team_id=where.team_id)
    if where.search:
        term = check_text(where.search, "filter.search", max_len=SHORT_TEXT_MAX)
        query = query.filter(Q(name__icontains=term) | Q(description__icontains=term))
    return query


# --- statistics, maintained on write ------------------------------------------------------

_UPSERT = ("INSERT INTO project_tally (project_id, subject, subject_id, records) "
           "VALUES (:project, :subject, :subject_id, 1) "
           "ON CONFLICT (project_id, subject, subject_id) "
           "DO UPDATE SET records = project_tally.records + 1 RETURNING records")
_DECREMENT = ("UPDATE project_tally SET records = records - 1 WHERE project_id = :project "
              "AND subject = :subject AND subject_id = :subject_id RETURNING records")


async def _tally(conn: BaseDBAsyncClient, project_id: int, subject: TallySubject,
                 subject_id: int, step: int) -> bool:
    """+1/-1 approved record for the subject; True when it started or stopped counting."""
    rows = await fetch(conn, Sql(_UPSERT if step > 0 else _DECREMENT, project=project_id,
                                 subject=subject, subject_id=subject_id))
    records = int(rows[0]["records"]) if rows else 0
    if step < 0 and records <= 0:
        await ProjectTally.filter(project_id=project_id, subject=subject,
                                  subject_id=subject_id).using_db(conn).delete()
        return bool(rows)
    return step > 0 and records == 1


async def record_project_hours(conn: BaseDBAsyncClient, activity: Activity, volunteer_id: int,
                               was_counted: bool, is_counted: bool, delta: float) -> None:
    """Inside the hours decision's transaction. Activities outside projects: no statement."""
    if activity.project_id is None:
        return
    step = 1 if is_counted and not was_counted else -1 if was_counted and not is_counted else 0
    served = held = 0
    if step:
        if await _tally(conn, activity.project_id, TallySubject.VOLUNTEER, volunteer_id, step):
            served = step
        if await _tally(conn, activity.project_id, TallySubject.ACTIVITY, activity.id, step):
            held = step
    if served or held or abs(delta) > 1e-9:
        await Project.filter(id=activity.project_id).using_db(conn).update(
            volunteers_served=F("volunteers_served") + served,
            activities_held=F("activities_held") + held,
            approved_hours=F("approved_hours") + delta)


async def rebuild_project_stats() -> int:
    """Recompute every project's tallies and statistics from the approved records."""
    async with in_transaction() as conn:
        await ProjectTally.all().using_db(conn).delete()
        rows = await ServiceRecord.filter(
            status=HoursStatus.APPROVED, activity__project_id__isnull=False,
        ).using_db(conn).values_list("activity__project_id", "activity_id", "volunteer_id",
                                     "hours")
        tallies: dict[tuple[int, TallySubject, int], int] = {}
        hours: dict[int, float] = {}
        for project_id, activity_id, volunteer_id, record_hours in rows:
            for key in ((project_id, TallySubject.VOLUNTEER, volunteer_id),
                        (project_id, TallySubject.ACTIVITY, activity_id)):
                tallies[key] = tallies.get(key, 0) + 1
            hours[project_id] = hours.get(project_id, 0.0) + float(record_hours)
        await ProjectTally.bulk_create(
            [ProjectTally(project_id=p, subject=s, subject_id=i, records=n)
             for (p, s, i), n in tallies.items()], batch_size=500, using_db=conn)
        await Project.all().using_db(conn).update(activities_held=0, volunteers_served=0,
                                                  approved_hours=0)
        projects = set(hours)
        for project_id in projects:
            await Project.filter(id=project_id).using_db(conn).update(
                approved_hours=round(hours[project_id], 4),
                volunteers_served=sum(1 for (p, s, _) in tallies
                                      if p == project_id and s == TallySubject.VOLUNTEER),
                activities_held=sum(1 for (p, s, _) in tallies
                                    if p == project_id and s == TallySubject.ACTIVITY))
    return len(projects)
