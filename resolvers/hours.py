"""Service hours: check-in/out, the claim a check-out creates, approval, adjustment, rejection.

Every change of a record's hours or status is written in one transaction together with its
append-only audit row, the points-ledger entry, the volunteer's and the team's approved-hours
totals, the `stats` aggregates (monthly hours summary, `last_approved_at`) and the volunteer's
notification. Live pushes and leaderboards run after commit.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.geo import Circle
from core.settings import get_settings
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursAudit, HoursStatus, PointsEntry, PointsKind, ServiceRecord
from models.notification import Notification
from models.team import Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import exchange, leaderboard, stats, timebank
from resolvers.auth import Viewer
from resolvers.consent import check_location_allowed
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.messages import ledger_note
from resolvers.notification import (
    HOURS_ADJUSTED,
    HOURS_APPROVED,
    HOURS_REJECTED,
    STAR_LEVEL_REACHED,
    create_notification,
    notify_created,
)
from resolvers.project import record_project_hours
from resolvers.services import services
from resolvers.team import check_team_admin, is_team_admin
from resolvers.validation import check_coordinates, check_optional_text, check_text

log = logging.getLogger("tongxin.hours")

# The check-in window: from an hour before the start until the end of the activity.
CHECK_IN_OPENS_BEFORE = timedelta(hours=1)
# Time on site is counted until check-out, but not beyond this long after the end
# (a forgotten check-out does not turn into extra hours).
ON_SITE_COUNTED_AFTER_END = timedelta(hours=1)
# Wrong check-in codes: attempts per volunteer and activity per window.
CHECK_IN_CODE_ATTEMPTS = 10
CHECK_IN_CODE_WINDOW_SECONDS = 600
REASON_MAX = 500
CHECK_IN_CODE_MAX = 20


def star_level(approved_hours: float) -> int:
    """Star level (星级) from cumulative approved hours; thresholds are deployment settings."""
    thresholds = get_settings().star_thresholds
    return sum(1 for threshold in thresholds if approved_hours >= threshold - 1e-9)


def points_for(hours: float) -> int:
    return round(hours * get_settings().points_per_hour)


def activity_length_hours(activity: Activity) -> float:
    return max(0.0, (activity.ends_at - activity.starts_at).total_seconds() / 3600)


def claimed_hours(activity: Activity, checked_in_at: datetime, checked_out_at: datetime) -> float:
    """Time on site (counted until at most an hour after the end), capped by the length."""
    counted_until = min(checked_out_at, activity.ends_at + ON_SITE_COUNTED_AFTER_END)
    on_site = max(0.0, (counted_until - checked_in_at).total_seconds() / 3600)
    return math.floor(min(on_site, activity_length_hours(activity)) * 100) / 100


def team_id_of(activity: Activity) -> int:
    """The owning team's id (the FK column Tortoise adds; not declared on the model)."""
    return int(activity.team_id)  # type: ignore[attr-defined]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


async def _own_sign_up(
    viewer: Viewer, activity_id: int
) -> tuple[Volunteer, Activity, SignUp | None]:
    volunteer = viewer.require()
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    sign_up = await SignUp.get_or_none(activity_id=activity.id, volunteer_id=volunteer.id)
    return volunteer, activity, sign_up


def _check_code(activity: Activity, code: str | None) -> None:
    expected = (activity.check_in_code or "").strip()
    if not expected:
        return
    given = (code or "").strip()
    if not given:
        raise BadInput("code", "This activity needs the check-in code shown by the organiser.")
    if len(given) > CHECK_IN_CODE_MAX or not hmac.compare_digest(
        given.casefold().encode(), expected.casefold().encode()
    ):
        raise BadInput("code", "The check-in code is wrong.")


def _check_location(activity: Activity, latitude: float | None, longitude: float | None) -> None:
    if not activity.check_in_radius_m or activity.latitude is None or activity.longitude is None:
        return
    if latitude is None or longitude is None:
        raise BadInput("latitude", "This activity needs your location to check in.")
    latitude, longitude = check_coordinates(latitude, longitude)
    site = Circle(activity.latitude, activity.longitude, activity.check_in_radius_m / 1000)
    if not site.contains(latitude, longitude):
        raise BadInput("latitude", f"You must be within {activity.check_in_radius_m} m "
                                   "of the activity to check in.")


async def do_check_in(
    viewer: Viewer,
    activity_id: int,
    code: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    *,
    now: datetime | None = None,
) -> SignUp:
    """Idempotent; one conditional UPDATE (`checked_in_at IS NULL AND CONFIRMED`), no lock."""
    volunteer, activity, sign_up = await _own_sign_up(viewer, activity_id)
    if sign_up is None or sign_up.status != SignUpStatus.CONFIRMED:
        raise Conflict("Only volunteers with a confirmed sign-up can check in.")
    if sign_up.checked_in_at is not None:
        return sign_up
    if volunteer.status != VolunteerStatus.ACTIVE:
        raise Forbidden("Your account cannot do that right now.")
    if activity.status not in (ActivityStatus.PUBLISHED, ActivityStatus.FINISHED):
        raise Conflict("This activity is not taking place.")
    moment = _now(now)
    if not activity.starts_at - CHECK_IN_OPENS_BEFORE <= moment <= activity.ends_at:
        raise Conflict("Check-in opens an hour before the start and closes at the end.")
    if activity.check_in_code:
        await services().limiter.hit(f"checkin:{volunteer.id}:{activity.id}",
                                     CHECK_IN_CODE_ATTEMPTS, CHECK_IN_CODE_WINDOW_SECONDS)
    _check_code(activity, code)
    if activity.check_in_radius_m and activity.latitude is not None:
        await check_location_allowed(viewer)  # withdrawn: no position is taken
    _check_location(activity, latitude, longitude)
    changed = await SignUp.filter(
        id=sign_up.id, checked_in_at=None, status=SignUpStatus.CONFIRMED
    ).update(checked_in_at=moment)
    current = await SignUp.get(id=sign_up.id)
    if not changed and current.checked_in_at is None:
        raise Conflict("Your sign-up was cancelled.")
    return current


async def do_check_out(viewer: Viewer, activity_id: int, *, volunteer_id: int | None = None,
                       now: datetime | None = None) -> SignUp:
    """Idempotent. Creates the PENDING service record with the claimed hours and its first
    audit row; the conditional UPDATE on `checked_out_at IS NULL` makes a racing repeat a no-op.

    With `volunteer_id`, an admin of the activity's team closes out someone who forgot to
    check out: time on site counts until the activity's end at the latest."""
    if volunteer_id is None or volunteer_id == viewer.id:
        volunteer, activity, sign_up = await _own_sign_up(viewer, activity_id)
        actor_id, action, reason = volunteer.id, "CLAIM", None
        moment = max(_now(now), sign_up.checked_in_at) if sign_up and sign_up.checked_in_at else None
    else:
        activity, sign_up = await _sign_up_of(viewer, activity_id, volunteer_id)
        actor_id, action, reason = viewer.require().id, "CLOSE_OUT", "checked out by the organiser"
        moment = (max(min(_now(now), activity.ends_at), sign_up.checked_in_at)
                  if sign_up and sign_up.checked_in_at else None)
    if sign_up is None or sign_up.checked_in_at is None or moment is None:
        raise Conflict("Check in first.")
    if sign_up.checked_out_at is not None:
        return sign_up
    if sign_up.status != SignUpStatus.CONFIRMED:
        raise Conflict("The sign-up was cancelled.")
    hours = claimed_hours(activity, sign_up.checked_in_at, moment)
    async with in_transaction() as conn:
        changed = await SignUp.filter(
            id=sign_up.id, checked_out_at=None, status=SignUpStatus.CONFIRMED
        ).using_db(conn).update(checked_out_at=moment)
        if changed:
            record = await ServiceRecord.create(
                sign_up_id=sign_up.id, activity_id=activity.id,
                volunteer_id=sign_up.volunteer_id,  # type: ignore[attr-defined]
                hours_claimed=hours, hours=hours, status=HoursStatus.PENDING, using_db=conn,
            )
            await HoursAudit.create(
                record=record, actor_id=actor_id, action=action, hours_before=None,
                hours_after=hours, status_before=None, status_after=HoursStatus.PENDING,
                reason=reason, using_db=conn,
            )
    current = await SignUp.get(id=sign_up.id)
    if current.checked_out_at is None:
        raise Conflict("The sign-up was cancelled.")
    return current


async def _sign_up_of(viewer: Viewer, activity_id: int,
                      volunteer_id: int) -> tuple[Activity, SignUp | None]:
    """Someone else's sign-up, for admins of the activity's team (or an ancestor) only."""
    viewer.require()
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    team = await Team.get_or_none(id=team_id_of(activity))
    if team is None or not await is_team_admin(viewer, team):
        raise Forbidden("Only the activity's team admins can check others out.")
    return activity, await SignUp.get_or_none(activity_id=activity.id, volunteer_id=volunteer_id)


@dataclass
class HoursChange:
    """What an approval/adjustment/rejection did, for the after-commit notifications."""

    record: ServiceRecord
    delta: float = 0.0
    team_id: int = 0
    district: str = ""
    counted_at: datetime | None = None
    audit_id: int | None = None  # identifies the leaderboard delta (counted exactly once)
    notifications: list[Notification] = field(default_factory=list)


async def check_record_admin(viewer: Viewer, record_id: int) -> tuple[ServiceRecord, Activity]:
    """Team admins of the activity's team (or an ancestor) and platform admins; nobody decides
    on their own hours."""
    admin = viewer.require()
    record = await ServiceRecord.get_or_none(id=record_id)
    if record is None:
        raise NotFound("Service record")
    activity = await Activity.get(id=record.activity_id)
    team = await Team.get(id=team_id_of(activity))
    if not await is_team_admin(viewer, team):
        raise Forbidden("Only an admin of the activity's team can decide on its hours.")
    if record.volunteer_id == admin.id:
        raise Forbidden("Another admin must decide on your own hours.")
    return record, activity


def check_service_hours(hours: float, activity: Activity) -> float:
    """Hours as they will be stored (to 0.01 h), checked as stored: more than 0 and at most the
    activity's length. Checked before rounding, 0.001 h passed and was kept as 0 h."""
    length = activity_length_hours(activity)
    kept = round(hours, 2) if math.isfinite(hours) else hours
    if not math.isfinite(kept) or not 0 < kept or not hours <= length + 1e-9:
        raise BadInput("hours", f"hours must be at least 0.01 and at most the activity's length "
                                f"({round(length, 2)} h).")
    return kept


async def _apply(
    conn: BaseDBAsyncClient,
    actor: Volunteer,
    record: ServiceRecord,
    activity: Activity,
    *,
    action: str,
    new_status: HoursStatus,
    new_hours: float,
    reason: str | None,
    moment: datetime,
) -> HoursChange:
    """Precondition: `record` was read inside `conn`'s transaction with a row lock (PostgreSQL)
    or under BEGIN IMMEDIATE (SQLite), so `record.status/hours` are the current values."""
    old_counted = record.hours if record.status == HoursStatus.APPROVED else 0.0
    new_counted = new_hours if new_status == HoursStatus.APPROVED else 0.0
    delta = round(new_counted - old_counted, 4)
    counted_at = record.approved_at if record.status == HoursStatus.APPROVED else moment
    change = HoursChange(record=record, delta=delta, team_id=team_id_of(activity),
                         district=activity.district, counted_at=counted_at)
    status_before, hours_before, approved_before = record.status, record.hours, record.approved_at
    was_counted = status_before == HoursStatus.APPROVED
    is_counted = new_status == HoursStatus.APPROVED

    record.status = new_status
    record.hours = new_hours
    record.approved_by_id = actor.id
    record.approved_at = counted_at if is_counted else None
    await record.save(using_db=conn,
                      update_fields=["status", "hours", "approved_by_id", "approved_at"])
    await stats.record_hours_change(
        conn, activity.district,
        removed=(approved_before, hours_before) if was_counted else None,
        added=(counted_at, new_hours) if is_counted else None)
    audit = await HoursAudit.create(
        record_id=record.id, actor_id=actor.id, action=action, hours_before=hours_before,
        hours_after=new_hours, status_before=status_before.value, status_after=new_status.value,
        reason=reason, using_db=conn,
    )
    change.audit_id = audit.id
    await exchange.enqueue_hours(
        conn, volunteer_id=record.volunteer_id, record_id=record.id,
        activity_title=activity.title, team_id=change.team_id, starts_at=activity.starts_at,
        hours=new_hours, status=new_status.value, moment=moment)
    points = points_for(new_counted) - points_for(old_counted)
    if points:
        await timebank.post_entry(
            conn, record.volunteer_id, points, PointsKind.EARN,
            ledger_note(f"HOURS_{action}", title=activity.title), actor_id=actor.id, record_id=record.id,
            overdraw=True)
    stars_before = stars_after = 0
    if delta:
        await Volunteer.filter(id=record.volunteer_id).using_db(conn).update(
            approved_hours=F("approved_hours") + delta)
        await Team.filter(id=team_id_of(activity)).using_db(conn).update(
            approved_hours=F("approved_hours") + delta)
        if delta > 0:
            person = await Volunteer.filter(id=record.volunteer_id).using_db(conn).only(
                "id", "approved_hours").get()
            stars_after = star_level(person.approved_hours)
            stars_before = star_level(person.approved_hours - delta)
    await record_project_hours(conn, activity, record.volunteer_id, was_counted, is_counted,
                               delta)
    if is_counted and not was_counted:
        await stats.track_latest_approval(conn, record.volunteer_id, counted_at)
    elif was_counted and not is_counted:
        await stats.recount_latest_approval(conn, record.volunteer_id)

    subject = ("ServiceRecord", record.id)
    if new_status == HoursStatus.REJECTED:
        kind, title = HOURS_REJECTED, f"服务时长未通过：{activity.title}"
        body = f"您在“{activity.title}”的服务时长未通过审核。原因：{reason}"
    elif action == "ADJUST":
        kind, title = HOURS_ADJUSTED, f"服务时长已调整：{activity.title}"
        body = f"您在“{activity.title}”的服务时长调整为 {new_hours:g} 小时。原因：{reason}"
    else:
        kind, title = HOURS_APPROVED, f"服务时长已确认：{activity.title}"
        body = f"您在“{activity.title}”的 {new_hours:g} 小时服务时长已通过审核。"
    change.notifications.append(await create_notification(
        record.volunteer_id, kind, title, body, subject=subject, using=conn))
    if stars_after > stars_before:
        change.notifications.append(await create_notification(
            record.volunteer_id, STAR_LEVEL_REACHED, f"恭喜成为{stars_after}星级志愿者",
            f"您的累计服务时长已达到{stars_after}星级志愿者标准。", subject=subject, using=conn))
    return change


async def _locked_record(conn: BaseDBAsyncClient, record_id: int) -> ServiceRecord:
    return await ServiceRecord.filter(id=record_id).select_for_update().using_db(conn).get()


async def do_approve_hours(
    viewer: Viewer,
    record_id: int,
    hours: float | None = None,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> HoursChange:
    """Approve as claimed, or with adjusted hours (reason required). Repeating an approval
    with the same hours changes nothing. Overturning a rejection needs a reason."""
    record, activity = await check_record_admin(viewer, record_id)
    actor = viewer.require()
    new_hours = check_service_hours(hours, activity) if hours is not None else None
    reason = check_optional_text(reason, "reason", max_len=REASON_MAX)
    async with in_transaction() as conn:
        current = await _locked_record(conn, record.id)
        target = new_hours if new_hours is not None else current.hours
        changes_hours = abs(target - current.hours) > 1e-9
        if current.status == HoursStatus.APPROVED and not changes_hours:
            return HoursChange(record=current)
        if (changes_hours or current.status == HoursStatus.REJECTED) and not reason:
            raise BadInput("reason", "Give a reason to change hours or overturn a rejection.")
        change = await _apply(
            conn, actor, current, activity,
            action="ADJUST" if changes_hours else "APPROVE",
            new_status=HoursStatus.APPROVED, new_hours=target, reason=reason, moment=_now(now),
        )
    await notify_hours_change(change, record.volunteer_id)
    return change


async def do_reject_hours(
    viewer: Viewer, record_id: int, reason: str, *, now: datetime | None = None
) -> HoursChange:
    """Reject a pending or approved record (approved hours are taken back). Idempotent."""
    record, activity = await check_record_admin(viewer, record_id)
    actor = viewer.require()
    reason_text = check_text(reason, "reason", max_len=REASON_MAX)
    async with in_transaction() as conn:
        current = await _locked_record(conn, record.id)
        if current.status == HoursStatus.REJECTED:
            return HoursChange(record=current)
        change = await _apply(
            conn, actor, current, activity, action="REJECT", new_status=HoursStatus.REJECTED,
            new_hours=current.hours, reason=reason_text, moment=_now(now),
        )
    await notify_hours_change(change, record.volunteer_id)
    return change


async def notify_hours_change(change: HoursChange, volunteer_id: int) -> None:
    """After commit: live push of the notifications, then the leaderboards (never raises)."""
    await notify_created(change.notifications)
    if change.delta and change.counted_at is not None:
        try:
            await leaderboard.notify_hours_changed(
                volunteer_id, change.team_id, change.district, change.delta, change.counted_at,
                change.audit_id)
        except Exception:
            log.exception("leaderboard update failed for record %s", change.record.id)





async def list_team_records(
    viewer: Viewer, team_id: int, status: HoursStatus | None = None
) -> QuerySet[ServiceRecord]:
    """Records of the team's and its sub-teams' activities, for the team's admins."""
    team = await check_team_admin(viewer, team_id)
    query = ServiceRecord.filter(activity__team__path__startswith=team.path)
    if status is not None:
        query = query.filter(status=status)
    return query


def list_volunteer_records(viewer: Viewer, volunteer_id: int) -> dict[str, object]:
    """Filters for a volunteer's records: everything for self and platform admins,
    approved ones for everybody else."""
    if viewer.id == volunteer_id or viewer.is_platform_admin:
        return {}
    return {"status": HoursStatus.APPROVED}


async def points_balances(volunteer_ids: list[int]) -> list[int]:
    """The ledger's SUM(delta) per volunteer in one GROUP BY, in key order."""
    rows = (
        await PointsEntry.filter(volunteer_id__in=volunteer_ids)
        .annotate(total=Sum("delta"))
        .group_by("volunteer_id")
        .values("volunteer_id", "total")
    )
    found = {row["volunteer_id"]: int(row["total"] or 0) for row in rows}
    return [found.get(i, 0) for i in volunteer_ids]
