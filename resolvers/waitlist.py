"""Walking an activity's waitlist when places free up: shared by promotion (resolvers.signup)
and waitlist offers (resolvers.offers), which differ only in what they do with each person."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from tortoise.backends.base.client import BaseDBAsyncClient

from models.activity import Activity, SignUp, SignUpStatus
from resolvers.sql import run_sql

# Rule 5: does the person hold a confirmed sign-up to another live activity overlapping this one?
OVERLAP_SQL = (
    "SELECT 1 AS busy FROM sign_up s JOIN activity a ON a.id = s.activity_id "
    "WHERE s.volunteer_id = ? AND s.status = 'CONFIRMED' AND a.id <> ? "
    "AND a.status IN ('PUBLISHED', 'FINISHED') AND a.starts_at < ? AND a.ends_at > ? LIMIT 1"
)


async def holds_overlapping(conn: BaseDBAsyncClient, volunteer_id: int, activity: Activity) -> bool:
    return bool(await run_sql(conn, OVERLAP_SQL, volunteer_id, activity.id, activity.ends_at,
                              activity.starts_at))


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
