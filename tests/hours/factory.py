"""Activities, sign-ups and service records for the hours, certificate and notification tests,
written straight to the database so these tests do not depend on the sign-up rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.hours import do_check_in, do_check_out


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


async def make_activity(
    team: Team,
    admin: Volunteer,
    *,
    title: str = "社区清洁",
    starts_at: datetime | None = None,
    hours: float = 3.0,
    status: ActivityStatus = ActivityStatus.PUBLISHED,
    code: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    radius_m: int | None = None,
    capacity: int = 10,
) -> Activity:
    """An activity of `hours` length; by default it started an hour ago (check-in is open)."""
    start = starts_at or now() - timedelta(hours=1)
    return await Activity.create(
        team=team, created_by=admin, title=title, description="描述", category="环保",
        district=team.district, starts_at=start, ends_at=start + timedelta(hours=hours),
        sign_up_deadline=start, capacity=capacity, waitlist_limit=capacity, hours_credit=hours,
        status=status, check_in_code=code, latitude=latitude, longitude=longitude,
        check_in_radius_m=radius_m,
    )


async def confirm(activity: Activity, volunteer: Volunteer,
                  status: SignUpStatus = SignUpStatus.CONFIRMED) -> SignUp:
    return await SignUp.create(activity=activity, volunteer=volunteer, status=status)


async def served(activity: Activity, volunteer: Volunteer, on_site: float | None = None
                 ) -> ServiceRecord:
    """A confirmed sign-up, checked in at the start and out `on_site` hours later."""
    await confirm(activity, volunteer)
    arrived = activity.starts_at
    left = arrived + timedelta(hours=on_site if on_site is not None else (
        (activity.ends_at - activity.starts_at).total_seconds() / 3600))
    viewer = Viewer(volunteer)
    await do_check_in(viewer, activity.id, activity.check_in_code, now=arrived)
    sign_up = await do_check_out(viewer, activity.id, now=left)
    return await ServiceRecord.get(sign_up_id=sign_up.id)


async def approved_records(team: Team, admin: Volunteer, volunteer: Volunteer, count: int) -> None:
    """`count` records of `volunteer` approved at 2 h, one per activity of `team`, in three bulk
    INSERTs: enough rows for a list to page, without the audit rows, points and totals a real
    approval writes."""
    first = utc(2026, 2, 1, 9)
    await Activity.bulk_create([Activity(
        team=team, created_by=admin, title=f"巡河第 {n + 1} 次", description="描述", category="环保",
        district=team.district, starts_at=first + timedelta(days=n),
        ends_at=first + timedelta(days=n, hours=2), sign_up_deadline=first + timedelta(days=n),
        capacity=10, waitlist_limit=10, hours_credit=2.0, status=ActivityStatus.FINISHED,
    ) for n in range(count)])
    activities = await Activity.filter(team_id=team.id).order_by("-id").limit(count)
    await SignUp.bulk_create([SignUp(
        activity=activity, volunteer=volunteer, status=SignUpStatus.CONFIRMED,
        checked_in_at=activity.starts_at, checked_out_at=activity.ends_at,
    ) for activity in activities])
    sign_ups = await SignUp.filter(activity_id__in=[a.id for a in activities], volunteer_id=volunteer.id)
    await ServiceRecord.bulk_create([ServiceRecord(
        sign_up=sign_up, activity_id=sign_up.activity_id,  # type: ignore[attr-defined]
        volunteer=volunteer, hours_claimed=2.0, hours=2.0, status=HoursStatus.APPROVED,
        approved_by=admin, approved_at=first,
    ) for sign_up in sign_ups])
