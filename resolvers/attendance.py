"""Offline check-in: an organiser's device uploads the check-ins/outs it recorded offline.

Each entry is judged on its own and applied in its own short transaction, so one conflict
never holds back the rest. Idempotency: an applied entry is stored under the unique
(device_id, client_id); a replay finds it and is answered APPLIED/replayed without touching
anything. Conflicts are not stored — a re-upload is judged again against the current state
(a check-out that arrived before its check-in is accepted once the check-in is in).
The sign-up row is the judge of state: `checked_in_at IS NULL` / `checked_out_at IS NULL`
conditional UPDATEs decide races between devices, and a check-out's service record is
created in the same transaction as its UPDATE, so hours are claimed at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.attendance import AttendanceEvent, AttendanceKind
from models.hours import HoursAudit, HoursStatus, ServiceRecord
from models.team import Team
from resolvers.auth import Viewer
from resolvers.errors import BadInput
from resolvers.hours import CHECK_IN_OPENS_BEFORE, ON_SITE_COUNTED_AFTER_END, claimed_hours
from resolvers.team import is_team_admin

BATCH_MAX = 500
ID_MAX = 64
# Device clocks drift: times this far outside the window (or ahead of the server) still count.
CLOCK_TOLERANCE = timedelta(minutes=15)


class SyncOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    CHECKED_IN_ELSEWHERE = "CHECKED_IN_ELSEWHERE"
    ALREADY_CHECKED_OUT = "ALREADY_CHECKED_OUT"
    NOT_CHECKED_IN = "NOT_CHECKED_IN"
    CHECK_OUT_BEFORE_CHECK_IN = "CHECK_OUT_BEFORE_CHECK_IN"
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
    NOT_SIGNED_UP = "NOT_SIGNED_UP"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"


@dataclass
class SyncEntry:
    client_id: str
    activity_id: int | None
    volunteer_id: int | None
    kind: AttendanceKind
    at: datetime
    problem: str | None = None  # set by the caller when an ID could not be decoded


@dataclass
class SyncResult:
    client_id: str
    outcome: SyncOutcome
    replayed: bool = False
    message: str | None = None
    sign_up_id: int | None = None  # the stay an APPLIED entry changed (station marks follow)


def entry_window(activity: Activity, kind: AttendanceKind) -> tuple[datetime, datetime]:
    """When a device time is believable for this activity (online rules plus tolerance)."""
    opens = activity.starts_at - CHECK_IN_OPENS_BEFORE - CLOCK_TOLERANCE
    if kind == AttendanceKind.CHECK_IN:
        return opens, activity.ends_at + CLOCK_TOLERANCE
    return opens, activity.ends_at + ON_SITE_COUNTED_AFTER_END + CLOCK_TOLERANCE


def check_device_id(device_id: str) -> str:
    value = (device_id or "").strip()
    if not value or len(value) > ID_MAX:
        raise BadInput("deviceId", f"deviceId must be 1–{ID_MAX} characters.")
    return value


class _Batch:
    """Per-batch caches: activities and the uploader's right to record for them."""

    def __init__(self, viewer: Viewer, device_id: str, now: datetime) -> None:
        self.viewer = viewer
        self.device_id = device_id
        self.now = now
        self.activities: dict[int, Activity | None] = {}
        self.allowed: dict[int, bool] = {}

    async def activity(self, activity_id: int) -> Activity | None:
        if activity_id not in self.activities:
            found = await Activity.get_or_none(id=activity_id)
            if found is not None and found.status == ActivityStatus.DRAFT:
                found = None
            self.activities[activity_id] = found
        return self.activities[activity_id]

    async def may_record(self, activity: Activity) -> bool:
        if activity.id not in self.allowed:
            team = await Team.get_or_none(id=activity.team_id)
            self.allowed[activity.id] = team is not None and await is_team_admin(self.viewer,
                                                                                  team)
        return self.allowed[activity.id]


async def do_sync_attendance(viewer: Viewer, device_id: str, entries: list[SyncEntry], *,
                             now: datetime | None = None) -> list[SyncResult]:
    """Results in input order; entries are applied in device-time order (check-ins before
    check-outs at the same instant), so a batch recorded out of order still applies."""
    viewer.require_active("record attendance")
    device = check_device_id(device_id)
    if len(entries) > BATCH_MAX:
        raise BadInput("entries", f"At most {BATCH_MAX} entries per batch.")
    batch = _Batch(viewer, device, now or datetime.now(UTC))
    order = sorted(range(len(entries)), key=lambda i: (
        entries[i].at, entries[i].kind != AttendanceKind.CHECK_IN, i))
    results: dict[int, SyncResult] = {}
    for index in order:
        results[index] = await _apply(batch, entries[index])
    return [results[i] for i in range(len(entries))]


async def _apply(batch: _Batch, entry: SyncEntry) -> SyncResult:
    client_id = (entry.client_id or "").strip()

    def result(outcome: SyncOutcome, message: str | None = None,
               replayed: bool = False) -> SyncResult:
        return SyncResult(client_id, outcome, replayed, message)

    if not client_id or len(client_id) > ID_MAX:
        return result(SyncOutcome.INVALID, f"clientId must be 1–{ID_MAX} characters.")
    if entry.problem or entry.activity_id is None or entry.volunteer_id is None:
        return result(SyncOutcome.INVALID, entry.problem or "activityId and volunteerId needed.")
    if entry.at.tzinfo is None:
        return result(SyncOutcome.INVALID, "at needs a time zone.")
    earlier = await AttendanceEvent.get_or_none(device_id=batch.device_id, client_id=client_id)
    if earlier is not None:
        return await _replay(earlier, entry, result)
    activity = await batch.activity(entry.activity_id)
    if activity is None:
        return result(SyncOutcome.NOT_FOUND, "Activity not found.")
    if not await batch.may_record(activity):
        return result(SyncOutcome.FORBIDDEN, "Only the activity's team admins record attendance.")
    opens, closes = entry_window(activity, entry.kind)
    if not opens <= entry.at <= closes or entry.at > batch.now + CLOCK_TOLERANCE:
        return result(SyncOutcome.OUTSIDE_WINDOW, "The time is outside the activity's window.")
    sign_up = await SignUp.get_or_none(activity_id=activity.id, volunteer_id=entry.volunteer_id)
    if sign_up is None or sign_up.status != SignUpStatus.CONFIRMED:
        return result(SyncOutcome.NOT_SIGNED_UP, "No confirmed sign-up for this volunteer.")
    for _ in range(2):  # a lost race is judged again against the winner's state
        outcome = await _judge(batch, entry, sign_up)
        if outcome is not None:
            return result(outcome)
        try:
            if await _write(batch, entry, client_id, activity, sign_up):
                return SyncResult(client_id, SyncOutcome.APPLIED, sign_up_id=sign_up.id)
        except IntegrityError:
            earlier = await AttendanceEvent.get_or_none(device_id=batch.device_id,
                                                        client_id=client_id)
            if earlier is not None:
                return await _replay(earlier, entry, result)
            raise
        sign_up = await SignUp.get(id=sign_up.id)
    outcome = await _judge(batch, entry, sign_up)
    return result(outcome or SyncOutcome.DUPLICATE)


async def _replay(earlier: AttendanceEvent, entry: SyncEntry,
                  result: Callable[..., SyncResult]) -> SyncResult:
    sign_up = await SignUp.get(id=earlier.sign_up_id)
    same = (sign_up.activity_id == entry.activity_id and sign_up.volunteer_id ==
            entry.volunteer_id and earlier.kind == entry.kind and earlier.device_at == entry.at)
    if not same:
        return result(SyncOutcome.INVALID, "This clientId was already used for another entry.")
    return result(SyncOutcome.APPLIED, replayed=True)


async def _applied_by(sign_up: SignUp, kind: AttendanceKind) -> str | None:
    event = await AttendanceEvent.filter(sign_up_id=sign_up.id, kind=kind).order_by("-id").first()
    return event.device_id if event else None


async def _judge(batch: _Batch, entry: SyncEntry, sign_up: SignUp) -> SyncOutcome | None:
    """The conflict this entry meets in the sign-up's current state, or None to apply it."""
    if entry.kind == AttendanceKind.CHECK_IN:
        if sign_up.checked_in_at is None:
            return None
        same_device = await _applied_by(sign_up, AttendanceKind.CHECK_IN) == batch.device_id
        return SyncOutcome.DUPLICATE if same_device else SyncOutcome.CHECKED_IN_ELSEWHERE
    if sign_up.checked_in_at is None:
        return SyncOutcome.NOT_CHECKED_IN
    if sign_up.checked_out_at is not None:
        same_device = await _applied_by(sign_up, AttendanceKind.CHECK_OUT) == batch.device_id
        return SyncOutcome.DUPLICATE if same_device else SyncOutcome.ALREADY_CHECKED_OUT
    if entry.at < sign_up.checked_in_at:
        return SyncOutcome.CHECK_OUT_BEFORE_CHECK_IN
    return None


async def _write(batch: _Batch, entry: SyncEntry, client_id: str, activity: Activity,
                 sign_up: SignUp) -> bool:
    """One transaction: the event row, the conditional UPDATE and (check-out) the PENDING
    service record with its audit row. False if another writer got there first."""
    async with in_transaction() as conn:
        if entry.kind == AttendanceKind.CHECK_IN:
            changed = await SignUp.filter(
                id=sign_up.id, checked_in_at=None, status=SignUpStatus.CONFIRMED
            ).using_db(conn).update(checked_in_at=entry.at)
        else:
            changed = await SignUp.filter(
                id=sign_up.id, checked_in_at=sign_up.checked_in_at, checked_out_at=None,
                status=SignUpStatus.CONFIRMED,
            ).using_db(conn).update(checked_out_at=entry.at)
        if not changed:
            return False
        await AttendanceEvent.create(
            device_id=batch.device_id, client_id=client_id, sign_up_id=sign_up.id,
            kind=entry.kind, device_at=entry.at, uploaded_by_id=batch.viewer.require().id,
            using_db=conn)
        if entry.kind == AttendanceKind.CHECK_OUT:
            assert sign_up.checked_in_at is not None
            hours = claimed_hours(activity, sign_up.checked_in_at, entry.at)
            record = await ServiceRecord.create(
                sign_up_id=sign_up.id, activity_id=activity.id,
                volunteer_id=sign_up.volunteer_id, hours_claimed=hours, hours=hours,
                status=HoursStatus.PENDING, using_db=conn)
            await HoursAudit.create(
                record=record, actor_id=batch.viewer.require().id, action="OFFLINE_CLAIM",
                hours_before=None, hours_after=hours, status_before=None,
                status_after=HoursStatus.PENDING,
                reason=f"offline check-out uploaded from device {batch.device_id}",
                using_db=conn)
    return True


AUTO_CLOSED = "ATTENDANCE_AUTO_CLOSED"
AUTO_CLOSE_BATCH = 500


async def do_auto_close(now: datetime | None = None) -> int:
    """Closes check-ins still open `auto_close_grace_minutes` after the activity's end: time
    on site counts until the end, the record is PENDING with `needs_review` (never approved
    here), audited as AUTO_CLOSE. Idempotent and safe to race (the `checked_out_at IS NULL`
    UPDATE decides); the job runner still keeps it to one runner. Returns records created."""
    from core.settings import get_settings
    from resolvers.notification import create_notification, notify_created

    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(minutes=get_settings().auto_close_grace_minutes)
    open_ones = await SignUp.filter(
        status=SignUpStatus.CONFIRMED, checked_in_at__not_isnull=True, checked_out_at=None,
        activity__ends_at__lte=cutoff,
    ).order_by("id").limit(AUTO_CLOSE_BATCH)
    closed = 0
    for sign_up in open_ones:
        activity = await Activity.get(id=sign_up.activity_id)
        assert sign_up.checked_in_at is not None
        until = max(activity.ends_at, sign_up.checked_in_at)
        hours = claimed_hours(activity, sign_up.checked_in_at, until)
        async with in_transaction() as conn:
            changed = await SignUp.filter(
                id=sign_up.id, checked_out_at=None, status=SignUpStatus.CONFIRMED
            ).using_db(conn).update(checked_out_at=until)
            if not changed:
                continue
            record = await ServiceRecord.create(
                sign_up_id=sign_up.id, activity_id=activity.id,
                volunteer_id=sign_up.volunteer_id, hours_claimed=hours, hours=hours,
                status=HoursStatus.PENDING, needs_review=True, using_db=conn)
            await HoursAudit.create(
                record=record, actor_id=None, action="AUTO_CLOSE", hours_before=None,
                hours_after=hours, status_before=None, status_after=HoursStatus.PENDING,
                reason="no check-out: closed at the activity's end by the attendance job",
                using_db=conn)
            notice = await create_notification(
                sign_up.volunteer_id, AUTO_CLOSED, f"已自动签退：{activity.title}",
                f"您在「{activity.title}」未签退，系统已按活动结束时间记录 {hours:g} 小时，"
                "待组织者审核。", subject=("ServiceRecord", record.id), using=conn)
        closed += 1
        await notify_created([notice])
    return closed
