"""Activity requirements: required qualifications (all of them) and a minimum age.

`check_requirements` runs in the sign-up path before its transaction: it only reads (the
volunteer's qualifications, the activity's list), takes no lock and writes nothing, so the
sign-up's lock order (volunteer row → activity row → sign-up rows) and its conditional UPDATE,
the only judge of places, are untouched. Activities without requirements (the flag on the
row the sign-up already loaded) cost no statement at all.

Decisions: a qualification counts when it has not expired by the activity's start (the
volunteer must hold it while serving); age is computed from the ID-number birth date on the
activity's start date in Beijing time. Changing an activity's requirements does not cancel
existing sign-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from core.time import BEIJING
from db.routing import read_connection
from models.activity import Activity, ActivityStatus
from models.training import ActivityQualification, Course
from models.volunteer import Volunteer
from resolvers.activity import check_activity_admin
from resolvers.activity_change import record_changes
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, GlobalRef, NotQualified
from resolvers.sql import Sql, fetch
from resolvers.validation import NAME_MAX, check_text

MINIMUM_AGE_MAX = 100
QUALIFICATIONS_MAX = 10


@dataclass(frozen=True)
class Requirements:
    qualifications: list[str]
    minimum_age: int | None


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def activity_day(activity: Activity) -> date:
    return activity.starts_at.astimezone(BEIJING).date()


async def _missing_qualification(volunteer_id: int, activity: Activity) -> str | None:
    """The first required qualification (by name) the volunteer lacks on the start date."""
    rows = await fetch(read_connection(), Sql(
        "SELECT r.name AS name FROM activity_qualification r "
        "WHERE r.activity_id = :activity AND NOT EXISTS ("
        "SELECT 1 FROM qualification q "
        "WHERE q.volunteer_id = :volunteer AND q.name = r.name "
        "AND (q.expires_at IS NULL OR q.expires_at > :starts)) "
        "ORDER BY r.name LIMIT 1",
        activity=activity.id, volunteer=volunteer_id, starts=activity.starts_at))
    return str(rows[0]["name"]) if rows else None


async def granting_course(name: str) -> int | None:
    """A course whose assessment grants the qualification (the oldest, as the usual one)."""
    course = await Course.filter(qualification=name, assessment__id__isnull=False) \
        .order_by("id").first()
    return course.id if course is not None else None


async def check_requirements(volunteer: Volunteer, activity: Activity) -> None:
    """Raises NotQualified (FORBIDDEN, reason NOT_QUALIFIED) naming the failed requirement."""
    if not activity.has_requirements:
        return
    if activity.minimum_age is not None:
        age = age_on(volunteer.birth_date, activity_day(activity))
        if age < activity.minimum_age:
            raise NotQualified(
                f"This activity needs volunteers aged {activity.minimum_age} or over on its "
                "start date.",
                {"kind": "MINIMUM_AGE", "minimumAge": activity.minimum_age},
            )
    missing = await _missing_qualification(volunteer.id, activity)
    if missing is not None:
        course_id = await granting_course(missing)
        raise NotQualified(
            f"This activity needs the qualification {missing}, valid on its start date.",
            {"kind": "QUALIFICATION", "qualification": missing},
            GlobalRef("Course", course_id) if course_id is not None else None,
        )


def check_requirement_input(qualifications: list[str] | None,
                            minimum_age: int | None) -> Requirements:
    names: list[str] = []
    for raw in qualifications or []:
        name = check_text(raw, "qualifications", max_len=NAME_MAX)
        if name not in names:
            names.append(name)
    if len(names) > QUALIFICATIONS_MAX:
        raise BadInput("qualifications", f"At most {QUALIFICATIONS_MAX} qualifications.")
    if minimum_age is not None and not 1 <= minimum_age <= MINIMUM_AGE_MAX:
        raise BadInput("minimumAge", f"minimumAge must be between 1 and {MINIMUM_AGE_MAX}.")
    return Requirements(sorted(names), minimum_age)


async def write_requirements(activity_id: int, requirements: Requirements,
                             using: object | None = None) -> None:
    """Replace the activity's requirements (caller's transaction if `using` is given)."""

    async def write(conn: object) -> None:
        await ActivityQualification.filter(activity_id=activity_id).using_db(conn).delete()  # type: ignore[arg-type]
        if requirements.qualifications:
            await ActivityQualification.bulk_create(
                [ActivityQualification(activity_id=activity_id, name=name)
                 for name in requirements.qualifications], using_db=conn)  # type: ignore[arg-type]
        await Activity.filter(id=activity_id).using_db(conn).update(  # type: ignore[arg-type]
            has_requirements=bool(requirements.qualifications)
            or requirements.minimum_age is not None,
            minimum_age=requirements.minimum_age)

    if using is not None:
        await write(using)
        return
    async with in_transaction() as conn:
        await write(conn)


async def do_set_requirements(viewer: Viewer, activity_id: int, qualifications: list[str] | None,
                              minimum_age: int | None) -> Activity:
    """Team admins set what sign-ups need; existing sign-ups stay (they were accepted)."""
    activity = await check_activity_admin(viewer, activity_id)
    if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
        raise Conflict(f"A {activity.status.value.lower()} activity cannot be changed.",
                       reason="NOT_OPEN")
    requirements = check_requirement_input(qualifications, minimum_age)
    before = (await requirements_of([activity.id]))[activity.id]
    async with in_transaction() as conn:
        await write_requirements(activity.id, requirements, using=conn)
        await record_changes(conn, activity.id, viewer.id,
                             {"qualifications": before, "minimum_age": activity.minimum_age},
                             {"qualifications": requirements.qualifications,
                              "minimum_age": requirements.minimum_age})
    await activity.refresh_from_db()
    return activity


async def requirements_of(activity_ids: list[int]) -> dict[int, list[str]]:
    """Required qualification names per activity, in one statement (for a DataLoader)."""
    found: dict[int, list[str]] = {i: [] for i in activity_ids}
    rows = await ActivityQualification.filter(activity_id__in=activity_ids).order_by(
        "activity_id", "name").values_list("activity_id", "name")
    for activity_id, name in rows:
        found[int(activity_id)].append(str(name))
    return found
