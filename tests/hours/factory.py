"""Activities, sign-ups and service records for the hours, certificate and notification tests,
written straight to the database so these tests do not depend on the sign-up rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import ServiceRecord
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
