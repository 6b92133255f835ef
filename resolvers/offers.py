"""Time-limited waitlist offers (DOMAIN sign-up rule 4, near the start).

A place freed less than `offer_window_hours` before the start is not given away at once:
the earliest eligible waitlisted volunteer is OFFERED it until `offer_expires_at` (at most
`offer_hold_minutes`, never past the start). The held place stays counted in
`activity.taken_count` (places taken), so the sign-up hot path cannot hand it to a
newcomer, and in `activity.offered_count`, so slot counts show it. Accepting confirms it;
declining or letting it expire cancels that sign-up and offers the place to the next one.

The timer is the stored `offer_expires_at`; `expire_due_offers` (run by every worker's job
loop) ends each due offer with a conditional UPDATE (`status = 'OFFERED' AND
offer_expires_at <= now`), so with several workers each offer fires exactly once.
Lock order as in resolvers/slots.py: volunteer row → activity row → sign-up rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.settings import get_settings
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from resolvers import waitlist
from resolvers.auth import Viewer
from resolvers.errors import Conflict, NotFound
from resolvers.notification import create_notification, notify_created
from resolvers.slots import (
    OFFER,
    CountChange,
    Raced,
    change_counts,
    lock_volunteer_lightly,
    notify_slot_change,
    with_retries,
)

log = logging.getLogger("tongxin.offers")

OFFER_MADE = "WAITLIST_OFFER"
OFFER_EXPIRED = "WAITLIST_OFFER_EXPIRED"

# An ended offer frees its place; _end_offer bumped the version already, to lock the row.
OFFER_ENDED = CountChange(taken=-1, offered=-1, bump_version=False)
# An accepted offer keeps its place, now a confirmed one.
OFFER_ACCEPTED = CountChange(offered=-1)


async def _ended(activity_id: int, sign_up_id: int, *, expired: bool,
                 now: datetime) -> list[Notification] | None:
    """One transaction ending one offer; None if it was no longer held."""

    async def attempt() -> list[Notification]:
        async with in_transaction() as conn:
            return await _end_offer(conn, activity_id, sign_up_id, expired=expired, now=now)

    try:
        return await with_retries(attempt)
    except _NotHeld:
        return None


class _NotHeld(Exception):
    """The offer was accepted, declined or expired by someone else first: roll back."""


def offers_apply(activity: Activity, now: datetime) -> bool:
    window = get_settings().offer_window_hours
    return (window > 0 and activity.status == ActivityStatus.PUBLISHED
            and now < activity.starts_at <= now + timedelta(hours=window))


async def _busy(conn: BaseDBAsyncClient, volunteer_id: int, activity: Activity, *,
                lock: bool = False) -> bool:
    """Holds an overlapping confirmed sign-up? With `lock` (PostgreSQL) the volunteer row is
    locked first, so their own concurrent sign-ups serialise with the acceptance."""
    if lock:
        await lock_volunteer_lightly(conn, volunteer_id)
    return await waitlist.holds_overlapping(conn, volunteer_id, activity)


async def fill_freed_places(activity_id: int, conn: BaseDBAsyncClient, *,
                            now: datetime | None = None) -> list[Notification]:
    """Precondition: the caller holds the activity row. Near the start: offer the free
    places in waitlist order; otherwise promote at once."""
    moment = now or datetime.now(UTC)
    activity = await Activity.get(id=activity_id, using_db=conn)
    if not offers_apply(activity, moment):
        return await waitlist.promote_waitlisted(activity_id, conn)
    expires = min(moment + timedelta(minutes=get_settings().offer_hold_minutes),
                  activity.starts_at)
    notifications: list[Notification] = []

    async def busy(volunteer_id: int) -> bool:
        return await _busy(conn, volunteer_id, activity)

    async for candidate in waitlist.next_in_line(
            conn, activity, activity.capacity - activity.taken_count, busy):
        await SignUp.filter(id=candidate.id).using_db(conn).update(
            status=SignUpStatus.OFFERED, offer_expires_at=expires, updated_at=moment)
        await change_counts(conn, activity_id, OFFER)
        until = expires.astimezone(BEIJING).strftime("%H:%M")
        notifications.append(await create_notification(
            candidate.volunteer_id, OFFER_MADE, f"候补名额待确认：{activity.title}",
            f"活动「{activity.title}」有名额空出，为您保留至北京时间 {until}。"
            "请在此之前确认，逾期将顺延给下一位候补。",
            subject=("Activity", activity_id), sms=True, using=conn))
    return notifications


async def _end_offer(conn: BaseDBAsyncClient, activity_id: int, sign_up_id: int, *,
                     expired: bool, now: datetime) -> list[Notification]:
    """Precondition: inside a transaction. Activity row first (the version bump is the
    lock), then the conditional UPDATE that only one caller can win; raises _NotHeld."""
    await change_counts(conn, activity_id, CountChange())
    query = SignUp.filter(id=sign_up_id, status=SignUpStatus.OFFERED)
    if expired:
        query = query.filter(offer_expires_at__lte=now)
    if not await query.using_db(conn).update(status=SignUpStatus.CANCELLED,
                                             offer_expires_at=None, updated_at=now):
        raise _NotHeld()
    await change_counts(conn, activity_id, OFFER_ENDED)
    notifications: list[Notification] = []
    activity = await Activity.get(id=activity_id, using_db=conn)
    if expired and activity.status == ActivityStatus.PUBLISHED:
        sign_up = await SignUp.get(id=sign_up_id, using_db=conn)
        notifications.append(await create_notification(
            sign_up.volunteer_id, OFFER_EXPIRED, f"候补名额已过期：{activity.title}",
            f"您未在保留时间内确认活动「{activity.title}」的名额，名额已顺延给下一位候补。",
            subject=("Activity", activity_id), using=conn))
    return notifications + await fill_freed_places(activity_id, conn, now=now)


async def decline_in(conn: BaseDBAsyncClient, activity_id: int,
                     sign_up: SignUp) -> list[Notification]:
    """`cancelSignUp` of an OFFERED sign-up: a decline. Precondition: inside a transaction."""
    now = datetime.now(UTC)
    try:
        notifications = await _end_offer(conn, activity_id, sign_up.id, expired=False, now=now)
    except _NotHeld:
        raise Raced() from None
    sign_up.status, sign_up.updated_at = SignUpStatus.CANCELLED, now
    return notifications


async def _offered(viewer: Viewer, activity_id: int, doing: str) -> SignUp:
    volunteer = viewer.require_active(doing)
    sign_up = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer.id)
    if sign_up is None:
        raise NotFound("Sign-up")
    return sign_up


async def do_accept_offer(viewer: Viewer, activity_id: int, *,
                          now: datetime | None = None) -> SignUp:
    """Idempotent. CONFLICT once the offer has expired or been declined, or if the volunteer
    meanwhile holds an overlapping confirmed sign-up."""
    sign_up = await _offered(viewer, activity_id, "accept an offer")
    if sign_up.status == SignUpStatus.CONFIRMED:
        return sign_up
    moment = now or datetime.now(UTC)
    if sign_up.status != SignUpStatus.OFFERED or (
            sign_up.offer_expires_at is not None and sign_up.offer_expires_at <= moment):
        raise Conflict("No place is held for you: the offer expired or was declined.")
    activity = await Activity.get(id=activity_id)
    async with in_transaction() as conn:
        if await _busy(conn, sign_up.volunteer_id, activity, lock=True):
            raise Conflict("You already have a confirmed sign-up at an overlapping time; "
                           "decline this offer or cancel the other one.")
        await change_counts(conn, activity_id, OFFER_ACCEPTED)
        changed = await SignUp.filter(
            id=sign_up.id, status=SignUpStatus.OFFERED, offer_expires_at__gt=moment
        ).using_db(conn).update(status=SignUpStatus.CONFIRMED, offer_expires_at=None,
                                updated_at=moment)
        if not changed:
            raise Conflict("No place is held for you: the offer expired or was declined.")
    await notify_slot_change(activity_id)
    return await SignUp.get(id=sign_up.id)


async def do_decline_offer(viewer: Viewer, activity_id: int) -> SignUp:
    """Idempotent for an already cancelled sign-up; the place goes to the next in line."""
    sign_up = await _offered(viewer, activity_id, "decline an offer")
    if sign_up.status == SignUpStatus.CANCELLED:
        return sign_up
    if sign_up.status != SignUpStatus.OFFERED:
        raise Conflict("There is no offer to decline.")
    notifications = await _ended(activity_id, sign_up.id, expired=False, now=datetime.now(UTC))
    if notifications is None:
        current = await SignUp.get(id=sign_up.id)
        if current.status == SignUpStatus.CANCELLED:
            return current
        raise Conflict("The offer changed at the same moment; try again.") from None
    await notify_created(notifications)
    await notify_slot_change(activity_id)
    return await SignUp.get(id=sign_up.id)


async def expire_due_offers(now: datetime | None = None) -> int:
    """Ends every offer whose timer has passed and offers the place on. Safe to run in every
    worker at once: each offer is ended by exactly one conditional UPDATE."""
    moment = now or datetime.now(UTC)
    due = await SignUp.filter(status=SignUpStatus.OFFERED,
                              offer_expires_at__lte=moment).order_by("offer_expires_at").values(
        "id", "activity_id")
    expired = 0
    for row in due:
        notifications = await _ended(int(row["activity_id"]), int(row["id"]), expired=True,
                                     now=moment)
        if notifications is None:
            continue
        expired += 1
        await notify_created(notifications)
        await notify_slot_change(int(row["activity_id"]))
    if expired:
        log.info("%d waitlist offers expired", expired)
    return expired
