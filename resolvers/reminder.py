"""Reminders before a shift (each confirmed volunteer, REMINDER_OFFSETS_HOURS before the start)
and after it (the team's admins, when check-ins or hours are still open).

Exactly once, by construction: the fact "this reminder was handled" is a row with a unique
key ((sign-up, offset) or (activity, organiser); a sign-up's row for an offset also covers its
larger offsets), inserted with ON CONFLICT DO NOTHING in the
same transaction as the notification and its SMS outbox row. A runner whose INSERT returns no
row sends nothing; a runner that dies before commit leaves neither row nor notification, so
the next tick (in this process or another, after a restart) sends it. The lease-row job runner
(resolvers/jobs.py) keeps one runner busy at a time; the unique rows make that an economy, not
a condition of correctness.

Due rules: offset o of a confirmed sign-up on a published activity is due from
starts_at - o until starts_at (a reminder after the start is pointless; the organiser reminder
covers what is left open). When several offsets are due at once (the server was down, or the
volunteer signed up inside the window), only the nearest is sent, and not if the sign-up was
made after that moment (the volunteer just saw the time) or the person muted that offset.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.settings import get_settings
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.reminder import QualificationAlert, ReminderPreference
from models.team import Membership, MembershipRole, MembershipStatus
from models.training import Course, Qualification
from resolvers.auth import Viewer
from resolvers.errors import BadInput, NotFound
from resolvers.notification import NewNotification, create_notifications, notify_created
from resolvers.sql import Sql, bulk_rows, fetch
from resolvers.team import check_team_admin

log = logging.getLogger("tongxin.reminders")

SHIFT_REMINDER = "SHIFT_REMINDER"
ORGANISER_REMINDER = "ORGANISER_REMINDER"
QUALIFICATION_EXPIRING = "QUALIFICATION_EXPIRING"
# Days before a qualification expires at which its holder is told.
QUALIFICATION_ALERT_DAYS = (30, 7)
# Sign-ups handled per transaction.
REMINDER_BATCH = 500
# Activities that ended longer ago than this get no organiser reminder (e.g. a new deployment).
ORGANISER_LOOKBACK = timedelta(days=7)
MUTED_MAX = 10
CLAIM_COLUMNS = (("sign_up_id", "int"), ("offset_minutes", "int"), ("sent", "boolean"))


@dataclass(frozen=True)
class ReminderSettings:
    offsets_minutes: tuple[int, ...]
    muted_minutes: tuple[int, ...]
    sms: bool


def _muted(preference: ReminderPreference | None) -> set[int]:
    if preference is None:
        return set()
    return {int(part) for part in preference.muted_offsets.split(",") if part}


async def get_reminder_settings(viewer: Viewer) -> ReminderSettings:
    volunteer = viewer.require()
    preference = await ReminderPreference.get_or_none(volunteer_id=volunteer.id)
    offsets = get_settings().reminder_offsets_minutes
    return ReminderSettings(
        offsets_minutes=offsets,
        muted_minutes=tuple(m for m in offsets if m in _muted(preference)),
        sms=preference.sms if preference else True)


async def do_update_reminder_settings(viewer: Viewer, muted_hours: list[float] | None,
                                      sms: bool | None) -> ReminderSettings:
    """Either argument left out keeps its value. Muted offsets must be the deployment's."""
    volunteer = viewer.require()
    values: dict[str, Any] = {}
    if muted_hours is not None:
        if len(muted_hours) > MUTED_MAX:
            raise BadInput("mutedHours", f"At most {MUTED_MAX} offsets.")
        offsets = get_settings().reminder_offsets_minutes
        minutes = {round(hours * 60) for hours in muted_hours}
        unknown = minutes - set(offsets)
        if unknown:
            allowed = ", ".join(f"{m / 60:g}" for m in offsets) or "none"
            raise BadInput("mutedHours", f"Reminders are sent {allowed} hours before a shift; "
                                         f"{', '.join(f'{m / 60:g}' for m in sorted(unknown))} "
                                         "is not one of them.")
        values["muted_offsets"] = ",".join(str(m) for m in sorted(minutes, reverse=True))
    if sms is not None:
        values["sms"] = sms
    if values:
        preference, created = await ReminderPreference.get_or_create(
            volunteer_id=volunteer.id, defaults=values)
        if not created:
            await ReminderPreference.filter(id=preference.id).update(**values)
    return await get_reminder_settings(viewer)


def _moment(value: Any) -> datetime:
    """A timestamp from a hand-written SELECT (SQLite answers text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _nearest_due(activity: Activity, now: datetime, offsets: tuple[int, ...]) -> int | None:
    due = [o for o in offsets if activity.starts_at - timedelta(minutes=o) <= now]
    return min(due) if due else None


async def _due_batches(now: datetime,
                       offsets: tuple[int, ...]) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches (up to REMINDER_BATCH) of confirmed sign-ups whose nearest due offset is not
    covered yet (no row for it or a nearer one), walking the activities that start within the
    largest offset and, in each, its sign-ups by id: every sign-up is read once per run."""
    conn = connections.get("default")
    starting = await Activity.filter(
        status=ActivityStatus.PUBLISHED, starts_at__gt=now,
        starts_at__lte=now + timedelta(minutes=max(offsets))).order_by("id")
    batch: list[dict[str, Any]] = []
    for activity in starting:
        nearest = _nearest_due(activity, now, offsets)
        if nearest is None:
            continue
        after_id = 0
        while True:
            page = await fetch(conn, Sql(
                "SELECT s.id AS sign_up_id, s.volunteer_id AS volunteer_id, s.created_at AS "
                "signed_up_at FROM sign_up s WHERE s.activity_id = :activity AND s.status = "
                "'CONFIRMED' AND s.id > :after AND NOT EXISTS (SELECT 1 FROM shift_reminder r "
                "WHERE r.sign_up_id = s.id AND r.offset_minutes <= :nearest) "
                "ORDER BY s.id LIMIT :limit", activity=activity.id, after=after_id,
                nearest=nearest, limit=REMINDER_BATCH - len(batch)))
            for row in page:
                row["activity"] = activity
            batch += page
            if len(batch) >= REMINDER_BATCH:
                yield batch
                batch = []
            if not page:
                break
            after_id = int(page[-1]["sign_up_id"])
    if batch:
        yield batch


def _reminder_text(activity: Activity) -> tuple[str, str]:
    when = activity.starts_at.astimezone(BEIJING)
    place = f"，地点：{activity.address}" if activity.address else ""
    return (f"活动提醒：「{activity.title}」{when:%m月%d日 %H:%M} 开始",
            f"您报名的「{activity.title}」将于 {when:%Y-%m-%d %H:%M}（北京时间）开始{place}。"
            "如不能到场，请尽早取消报名，把名额留给候补的志愿者。")


async def _send_shift_batch(page: list[dict[str, Any]], now: datetime,
                            offsets: tuple[int, ...]) -> list[Any]:
    """One transaction: claim the due rows of `page`, write the notifications of the claims
    that won. Returns the notifications to push after commit."""
    people = {int(row["volunteer_id"]) for row in page}
    preferences = {p.volunteer_id: p for p in await ReminderPreference.filter(
        volunteer_id__in=people)}
    async with in_transaction() as conn:
        # Still confirmed, now that this transaction writes (SQLite: holds the write lock).
        confirmed = {int(row["id"]) for row in await SignUp.filter(
            id__in=[int(row["sign_up_id"]) for row in page], status=SignUpStatus.CONFIRMED
        ).using_db(conn).values("id")}
        recorded: dict[int, set[int]] = {}
        for sign_up_id, offset in await _recorded(conn, confirmed):
            recorded.setdefault(sign_up_id, set()).add(offset)
        claims: list[tuple[int, int, bool]] = []
        for row in page:
            sign_up_id = int(row["sign_up_id"])
            if sign_up_id not in confirmed:
                continue
            activity = row["activity"]
            nearest = _nearest_due(activity, now, offsets)
            if nearest is None or any(r <= nearest for r in recorded.get(sign_up_id, ())):
                continue  # handled meanwhile (a row for the nearest moment covers the others)
            preference = preferences.get(int(row["volunteer_id"]))
            send = (nearest not in _muted(preference) and _moment(row["signed_up_at"])
                    <= activity.starts_at - timedelta(minutes=nearest))
            claims.append((sign_up_id, nearest, send))
        if not claims:
            return []
        won = await fetch(conn, Sql(
            "INSERT INTO shift_reminder (sign_up_id, offset_minutes, sent, created_at) "
            "SELECT b.sign_up_id, b.offset_minutes, b.sent, :at FROM (:rows) AS b WHERE TRUE "
            "ON CONFLICT (sign_up_id, offset_minutes) DO NOTHING RETURNING sign_up_id, sent",
            at=now, rows=bulk_rows(conn.capabilities.dialect, CLAIM_COLUMNS, claims)))
        sending = {int(row["sign_up_id"]) for row in won if row["sent"]}
        items = []
        for row in page:
            if int(row["sign_up_id"]) in sending:
                activity = row["activity"]
                title, body = _reminder_text(activity)
                preference = preferences.get(int(row["volunteer_id"]))
                items.append(NewNotification(
                    int(row["volunteer_id"]), SHIFT_REMINDER, title, body,
                    subject=("Activity", activity.id), sms=preference.sms if preference else True))
        return await create_notifications(items, conn)


async def _recorded(conn: BaseDBAsyncClient, sign_up_ids: set[int]) -> list[tuple[int, int]]:
    if not sign_up_ids:
        return []
    rows = await fetch(conn, Sql("SELECT sign_up_id, offset_minutes FROM shift_reminder WHERE ")
                       + Sql.one_of("sign_up_id", sorted(sign_up_ids)))
    return [(int(row["sign_up_id"]), int(row["offset_minutes"])) for row in rows]


async def send_due_shift_reminders(now: datetime | None = None) -> int:
    """Sends every shift reminder due at `now` that no one has sent; returns how many."""
    offsets = get_settings().reminder_offsets_minutes
    if not offsets:
        return 0
    moment = now or datetime.now(UTC)
    sent = 0
    async for batch in _due_batches(moment, offsets):
        notifications = await _send_shift_batch(batch, moment, offsets)
        sent += len(notifications)
        await notify_created(notifications)
    return sent


@dataclass(frozen=True)
class OpenWork:
    open_check_ins: int
    no_shows: int
    pending_hours: int

    @property
    def any(self) -> bool:
        return bool(self.open_check_ins or self.no_shows or self.pending_hours)


async def open_work(conn: BaseDBAsyncClient, activity_id: int) -> OpenWork:
    """What an organiser still has to finish after the shift, counted in one statement."""
    rows = await fetch(conn, Sql(
        "SELECT (SELECT COUNT(*) FROM sign_up s WHERE s.activity_id = :activity AND "
        "s.status = 'CONFIRMED' AND s.checked_in_at IS NOT NULL AND s.checked_out_at IS NULL"
        ") AS open_check_ins, (SELECT COUNT(*) FROM sign_up s WHERE s.activity_id = :activity "
        "AND s.status = 'CONFIRMED' AND s.checked_in_at IS NULL) AS no_shows, "
        "(SELECT COUNT(*) FROM service_record r WHERE r.activity_id = :activity AND "
        "r.status = 'PENDING') AS pending_hours", activity=activity_id))
    row = rows[0]
    return OpenWork(int(row["open_check_ins"]), int(row["no_shows"]), int(row["pending_hours"]))


def _organiser_text(activity: Activity, work: OpenWork) -> tuple[str, str]:
    parts = []
    if work.open_check_ins:
        parts.append(f"{work.open_check_ins} 人已签到未签退")
    if work.no_shows:
        parts.append(f"{work.no_shows} 人未签到")
    if work.pending_hours:
        parts.append(f"{work.pending_hours} 条服务时长待审核")
    return (f"待处理：「{activity.title}」的签到和时长",
            f"活动「{activity.title}」已结束：{'，'.join(parts)}。请及时核对签到并审核时长。")


async def send_due_organiser_reminders(now: datetime | None = None) -> int:
    """Reminds each admin of an activity's team, once, when the activity ended
    ORGANISER_REMINDER_AFTER_HOURS ago and check-ins or hours are still open."""
    moment = now or datetime.now(UTC)
    after = timedelta(hours=get_settings().organiser_reminder_after_hours)
    ended = await Activity.filter(
        status__in=["PUBLISHED", "FINISHED"], ends_at__lte=moment - after,
        ends_at__gt=moment - ORGANISER_LOOKBACK,
    ).order_by("id").limit(REMINDER_BATCH)
    handled = {int(row["activity_id"]) for row in await fetch(connections.get("default"), Sql(
        "SELECT DISTINCT activity_id FROM organiser_reminder WHERE ") + Sql.one_of(
        "activity_id", [a.id for a in ended]))} if ended else set()
    sent = 0
    for activity in ended:
        if activity.id in handled:
            continue
        admins = [int(row["volunteer_id"]) for row in await Membership.filter(
            team_id=activity.team_id, role=MembershipRole.ADMIN,
            status=MembershipStatus.APPROVED).order_by("volunteer_id").values("volunteer_id")]
        if not admins:
            continue
        async with in_transaction() as conn:
            work = await open_work(conn, activity.id)
            won = await fetch(conn, "INSERT INTO organiser_reminder (activity_id, organiser_id, "
                                    "sent, created_at) VALUES " + Sql.join(", ", (Sql(
                                        "(:activity, :organiser, :sent, :at)",
                                        activity=activity.id, organiser=admin, sent=work.any,
                                        at=moment) for admin in admins))
                              + " ON CONFLICT (activity_id, organiser_id) DO NOTHING "
                                "RETURNING organiser_id")
            title, body = _organiser_text(activity, work)
            notifications = await create_notifications([
                NewNotification(int(row["organiser_id"]), ORGANISER_REMINDER, title, body,
                                subject=("Activity", activity.id), sms=True)
                for row in won] if work.any else [], conn)
        sent += len(notifications)
        await notify_created(notifications)
    return sent


async def send_due_reminders(now: datetime | None = None) -> int:
    """The `reminders` job: shift reminders, organiser reminders, qualification alerts."""
    return (await send_due_shift_reminders(now) + await send_due_organiser_reminders(now)
            + await send_due_qualification_alerts(now))


async def renewing_courses(names: Iterable[str]) -> dict[str, Course]:
    """Per qualification name, the course whose assessment grants it (the oldest), if any."""
    found: dict[str, Course] = {}
    wanted = sorted(set(names))
    if wanted:
        for course in await Course.filter(qualification__in=wanted,
                                          assessment__id__isnull=False).order_by("-id"):
            found[course.qualification] = course
    return found


def _alert_text(qualification: Qualification, course: Course | None) -> tuple[str, str]:
    day = qualification.expires_at.astimezone(BEIJING) if qualification.expires_at else None
    renew = (f"参加课程「{course.title}」并通过考核即可续期。" if course is not None
             else "请联系所在队伍了解续期方式。")
    return (f"资质即将到期：{qualification.name}",
            f"您的「{qualification.name}」资质将于 {day:%Y-%m-%d} 到期，到期后不能报名需要该资质的"
            f"活动。{renew}")


async def send_due_qualification_alerts(now: datetime | None = None) -> int:
    """Tells each holder QUALIFICATION_ALERT_DAYS (30, 7) before a qualification expires,
    once per threshold and expiry date (only the nearest when several are due), naming the
    course that renews it. Same exactly-once construction as the shift reminders."""
    thresholds = QUALIFICATION_ALERT_DAYS
    moment = now or datetime.now(UTC)
    candidates = await Qualification.filter(
        expires_at__gt=moment, expires_at__lte=moment + timedelta(days=max(thresholds)),
    ).order_by("id").limit(REMINDER_BATCH * 10)
    if not candidates:
        return 0
    covered: dict[int, list[tuple[int, datetime]]] = {}
    for qualification_id, days, expires_at in await QualificationAlert.filter(
            qualification_id__in=[q.id for q in candidates]).values_list(
            "qualification_id", "days_before", "expires_at"):
        covered.setdefault(int(qualification_id), []).append((int(days), expires_at))
    claims = []
    for qualification in candidates:
        assert qualification.expires_at is not None
        due = [d for d in thresholds if qualification.expires_at - timedelta(days=d) <= moment]
        nearest = min(due)
        if not any(days <= nearest and expires_at == qualification.expires_at
                   for days, expires_at in covered.get(qualification.id, [])):
            claims.append((qualification, nearest))
    if not claims:
        return 0
    courses = await renewing_courses(q.name for q, _ in claims)
    sent = 0
    for start in range(0, len(claims), REMINDER_BATCH):
        part = claims[start:start + REMINDER_BATCH]
        async with in_transaction() as conn:
            won = await fetch(conn, Sql(
                "INSERT INTO qualification_alert (qualification_id, days_before, expires_at, "
                "sent, created_at) VALUES ") + Sql.join(", ", (Sql(
                    "(:qualification, :days, :expires, TRUE, :at)", qualification=q.id,
                    days=days, expires=q.expires_at, at=moment) for q, days in part))
                + " ON CONFLICT (qualification_id, days_before, expires_at) DO NOTHING "
                  "RETURNING qualification_id")
            winners = {int(row["qualification_id"]) for row in won}
            items = []
            for qualification, _ in part:
                if qualification.id in winners:
                    course = courses.get(qualification.name)
                    title, body = _alert_text(qualification, course)
                    items.append(NewNotification(
                        qualification.volunteer_id, QUALIFICATION_EXPIRING, title, body,
                        subject=("Course", course.id) if course else None, sms=True))
            notifications = await create_notifications(items, conn)
        sent += len(notifications)
        await notify_created(notifications)
    return sent


@dataclass(frozen=True)
class Lapsing:
    volunteer_id: int
    qualification: str
    expires_at: datetime
    course: Course | None


async def lapsing_before_shift(viewer: Viewer, activity_id: int) -> list[Lapsing]:
    """Team admins: the confirmed volunteers whose required qualification expires before the
    activity starts (they were qualified when they signed up), with the renewing course."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("Activity")
    await check_team_admin(viewer, activity.team_id)
    rows = await fetch(connections.get("default"), Sql(
        "SELECT s.volunteer_id AS volunteer_id, q.name AS name, q.expires_at AS expires_at "
        "FROM sign_up s JOIN activity_qualification r ON r.activity_id = s.activity_id "
        "JOIN qualification q ON q.volunteer_id = s.volunteer_id AND q.name = r.name "
        "WHERE s.activity_id = :activity AND s.status IN ('CONFIRMED', 'OFFERED') "
        "AND q.expires_at IS NOT NULL AND q.expires_at <= :starts "
        "ORDER BY q.expires_at, s.volunteer_id", activity=activity.id,
        starts=activity.starts_at))
    courses = await renewing_courses(str(row["name"]) for row in rows)
    return [Lapsing(int(row["volunteer_id"]), str(row["name"]), _moment(row["expires_at"]),
                    courses.get(str(row["name"]))) for row in rows]
