"""Approved service records written straight to the database, announced to the leaderboards
the way the hours rules do after commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from models.team import Team
from models.volunteer import Volunteer
from resolvers.leaderboard import notify_hours_changed


async def make_activity(team: Team, district: str | None = None) -> Activity:
    start = datetime.fromisoformat("2026-01-05T09:00:00+08:00")
    return await Activity.create(
        team=team, created_by_id=team.created_by_id, title="服务", description="d", category="助老",
        district=district or team.district, starts_at=start, ends_at=start + timedelta(hours=8),
        sign_up_deadline=start, capacity=1000, waitlist_limit=0, hours_credit=8,
        status=ActivityStatus.FINISHED)


async def approve(volunteer: Volunteer, activity: Activity, hours: float, at: datetime,
                  *, announce: bool = True) -> ServiceRecord:
    sign_up = await SignUp.create(activity=activity, volunteer=volunteer,
                                  status=SignUpStatus.CONFIRMED)
    record = await ServiceRecord.create(
        sign_up=sign_up, activity=activity, volunteer=volunteer, hours_claimed=hours, hours=hours,
        status=HoursStatus.APPROVED, approved_at=at)
    if announce:
        await notify_hours_changed(volunteer.id, activity.team_id, activity.district, hours, at)
    return record


async def reject(record: ServiceRecord, activity: Activity) -> None:
    """An approved record rejected later: the boards lose its hours."""
    approved_at = record.approved_at
    assert approved_at is not None
    await ServiceRecord.filter(id=record.id).update(status=HoursStatus.REJECTED, approved_at=None)
    await notify_hours_changed(record.volunteer_id, activity.team_id, activity.district,
                               -record.hours, approved_at)
