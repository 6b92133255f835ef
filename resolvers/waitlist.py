"""Walking an activity's waitlist when places free up: promotion (here) and waitlist offers
(resolvers.offers) differ only in what they do with each person. Also rule 5, the overlap
check both they and a sign-up make."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from resolvers.notification import create_notification
from resolvers.slots import PROMOTE, change_counts, lock_volunteer
from resolvers.sql import Sql, fetch

# Rule 5: does the person hold a confirmed sign-up to another live activity overlapping this one?
OVERLAP_SQL = (
    "SELECT 1 AS busy FROM sign_up s JOIN activity a ON a.id = s.activity_id "
    "WHERE s.volunteer_id = :volunteer AND s.status = 'CONFIRMED' AND a.id <> :activity "
    "AND a.status IN ('PUBLISHED', 'FINISHED') AND a.starts_at < :ends AND a.ends_at > :starts "
    "LIMIT 1"
)


async def holds_overlapping(conn: BaseDBAsyncClient, volunteer_id: int, activity: Activity) -> bool:
    """Twin: the overlap section of resolvers/signup_pg.sql."""
    return bool(await fetch(conn, Sql(OVERLAP_SQL, volunteer=volunteer_id, activity=activity.id,
                                      ends=activity.ends_at, starts=activity.starts_at)))


async def overlaps_after_locking(conn: BaseDBAsyncClient, volunteer_id: int,
                                 activity: Activity) -> bool:
    """holds_overlapping with a snapshot taken after the person's row lock, so their own
    concurrent sign-ups serialise with this one. Precondition: inside a transaction."""
    await lock_volunteer(conn, volunteer_id)
    return await holds_overlapping(conn, volunteer_id, activity)


async def next_in_line(conn: BaseDBAsyncClient, activity: Activity, places: int,
                       busy: Callable[[int], Awaitable[bool]]) -> AsyncIterator[SignUp]:
    """Up to `places` waitlisted sign-ups of `activity` in arrival order, passing over people
    for whom `busy(volunteer_id)` says they cannot take a place now (they keep their turn).
    Read a page (places + 5) at a time; the caller moves each one off the waitlist before
    asking for the next. Precondition: the caller holds the activity row."""
    last_seq = -1
    while places > 0:
        page = await SignUp.filter(
            activity_id=activity.id, status=SignUpStatus.WAITLISTED, waitlist_seq__gt=last_seq
        ).using_db(conn).order_by("waitlist_seq").limit(places + 5)
        if not page:
            return
        for candidate in page:
            last_seq = candidate.waitlist_seq or last_seq
            if await busy(candidate.volunteer_id):
                continue
            yield candidate
            places -= 1
            if places <= 0:
                return


async def promote_waitlisted(activity_id: int, conn: BaseDBAsyncClient) -> list[Notification]:
    """Fill free places from the waitlist in arrival order, skipping volunteers who meanwhile
    hold an overlapping confirmed sign-up. Precondition: the caller holds the activity row."""
    notifications: list[Notification] = []
    activity = await Activity.get(id=activity_id, using_db=conn)
    if activity.status != ActivityStatus.PUBLISHED:
        return notifications

    async def busy(volunteer_id: int) -> bool:
        return await overlaps_after_locking(conn, volunteer_id, activity)

    async for candidate in next_in_line(conn, activity, activity.capacity - activity.taken_count,
                                        busy):
        await SignUp.filter(id=candidate.id).using_db(conn).update(
            status=SignUpStatus.CONFIRMED, updated_at=datetime.now(UTC))
        await change_counts(conn, activity_id, PROMOTE)
        notifications.append(await create_notification(
            candidate.volunteer_id, "WAITLIST_PROMOTED", f"候补转正：{activity.title}",
            f"有名额空出，您在活动「{activity.title}」的候补报名已转为正式报名。",
            subject=("Activity", activity_id), sms=True, using=conn,
        ))
    return notifications
