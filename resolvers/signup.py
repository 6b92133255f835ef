"""Signing up and cancelling: never overbook, waitlist in arrival order, atomic promotion.

The rules are in resolvers/signup_rules.py (with their SQL twins), the counts and their locks
in resolvers/slots.py, the waitlist walk in resolvers/waitlist.py. Here they are put in order:
check_sign_up (the rules on what can be read), then the write under the row locks, then the
notification after commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import offers, signup_pg
from resolvers import signup_rules as rules
from resolvers.auth import Viewer
from resolvers.errors import Conflict, NotFound, Unauthenticated
from resolvers.notification import notify_created
from resolvers.requirements import check_requirements
from resolvers.signup_pg import install_sign_up_function as install_sign_up_function
from resolvers.signup_rules import Outcome, SignUpResult
from resolvers.slots import (
    JOIN_WAITLIST,
    PLACE_FREE,
    TAKE_PLACE,
    WAITLIST_FREE,
    CountChange,
    Raced,
    change_counts,
    notify_slot_change,
    open_at,
    state_of,
    with_retries,
)
from resolvers.slots import slot_state as slot_state
from resolvers.sql import Sql, fetch
from resolvers.waitlist import overlaps_after_locking


class _Refused(Exception):
    """The write's rules refused under the row locks: roll back, then answer `outcome`."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


async def check_sign_up(viewer: Viewer, activity_id: int) -> tuple[Activity, SignUp | None]:
    """The activity and the caller's existing sign-up, if the rules that need no lock allow
    signing up; a sign-up they already hold is returned for the caller to give back."""
    volunteer = viewer.require_active("sign up")
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or not rules.visible(activity):
        raise NotFound("Activity")
    existing = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer.id)
    if rules.holds_place(existing):
        return activity, existing
    rules.check_open(activity, datetime.now(UTC))
    await check_requirements(volunteer, activity)
    return activity, existing


async def do_sign_up(viewer: Viewer, activity_id: int) -> SignUp:
    """Confirmed if a place is free, else waitlisted, else CONFLICT. Repeats return the same row.

    On PostgreSQL a first sign-up tries signup_pg first: check_sign_up's rules and the write
    in one round trip, with no read before it. What that leaves to the reads
    (rules.ASK_THE_READS), and every sign-up on SQLite, goes through check_sign_up and then
    the write."""
    # A deferred viewer (schema/viewer.py: signUp is token-only) is loaded only off the fast
    # path: the function itself requires the account to exist and be ACTIVE.
    volunteer_id = viewer.claimed_id if not viewer.loaded else \
        viewer.require_active("sign up").id
    if volunteer_id is None:
        raise Unauthenticated()
    postgres = signup_pg.applies()
    if postgres:
        result = await signup_pg.sign_up_at_once(activity_id, volunteer_id,
                                                 requirements_checked=False)
        if result.outcome not in rules.ASK_THE_READS:
            return await _settle(result, activity_id, volunteer_id)
    await viewer.load()
    activity, existing = await check_sign_up(viewer, activity_id)
    if rules.holds_place(existing):
        return existing
    if existing is None and postgres:
        result = await signup_pg.sign_up_at_once(activity_id, volunteer_id,
                                                 requirements_checked=True)
    else:
        result = await write_sign_up(activity, volunteer_id, existing)
    return await _settle(result, activity_id, volunteer_id)


async def _settle(result: SignUpResult, activity_id: int, volunteer_id: int) -> SignUp:
    """The write's answer: its sign-up (slot counts published), the winner of a concurrent
    request of the same person, or the refusal."""
    if result.sign_up is not None:
        await notify_slot_change(activity_id, result.state)
        return result.sign_up
    if result.outcome == Outcome.SIGNED_UP:
        winner = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer_id)
        if winner is None or winner.status == SignUpStatus.CANCELLED:
            raise Conflict("Your sign-up changed at the same moment; try again.",
                           reason="RETRY") from None
        return winner
    raise rules.refusal(result.outcome)


async def write_sign_up(activity: Activity, volunteer_id: int,
                        existing: SignUp | None) -> SignUpResult:
    """The portable write after check_sign_up: a new sign-up, or `existing` (cancelled)
    revived. SIGNED_UP when a concurrent request of the same person won."""
    attempts = 0

    async def attempt() -> SignUpResult:
        nonlocal attempts
        attempts += 1
        revive = existing
        if attempts > 1:
            revive = await SignUp.get_or_none(activity_id=activity.id, volunteer_id=volunteer_id)
            if rules.holds_place(revive):
                raise Raced()
        async with in_transaction() as conn:
            return await _sign_up_in(conn, activity, volunteer_id, revive)

    try:
        return await with_retries(attempt)
    except (Raced, IntegrityError):
        return SignUpResult(Outcome.SIGNED_UP)
    except _Refused as refused:
        return SignUpResult(refused.outcome)


async def _sign_up_in(conn: BaseDBAsyncClient, activity: Activity, volunteer_id: int,
                      revive: SignUp | None) -> SignUpResult:
    """Precondition: inside a transaction. Holds the activity row from the UPDATE to commit."""
    if await overlaps_after_locking(conn, volunteer_id, activity):
        raise _Refused(Outcome.OVERLAP)
    # Under the person's lock: an account deleted (or suspended) since check_sign_up read it
    # gets no place (resolvers/privacy.py cancels the places it held when it locked the row).
    if not await Volunteer.filter(id=volunteer_id, status=VolunteerStatus.ACTIVE) \
            .using_db(conn).exists():
        raise _Refused(Outcome.INACTIVE)
    now = datetime.now(UTC)
    status, seq = SignUpStatus.CONFIRMED, None
    row = await change_counts(conn, activity.id, TAKE_PLACE, open_at(now), PLACE_FREE)
    if row is None:
        row = await change_counts(conn, activity.id, JOIN_WAITLIST, open_at(now), WAITLIST_FREE)
        if row is None:
            current = await Activity.get(id=activity.id, using_db=conn)
            raise _Refused(rules.refusal_after_write(current, now))
        status, seq = SignUpStatus.WAITLISTED, int(row["waitlist_seq"])
    if revive is not None:
        changed = await SignUp.filter(id=revive.id, status=SignUpStatus.CANCELLED).using_db(
            conn).update(status=status, waitlist_seq=seq, created_at=now, updated_at=now,
                         checked_in_at=None, checked_out_at=None)
        if not changed:
            raise Raced()
        sign_up = revive
        sign_up.status, sign_up.waitlist_seq, sign_up.created_at = status, seq, now
        sign_up.checked_in_at = sign_up.checked_out_at = None
    else:
        sign_up = await SignUp.create(activity_id=activity.id, volunteer_id=volunteer_id,
                                      status=status, waitlist_seq=seq, using_db=conn)
    return SignUpResult(Outcome(status.value), sign_up, state_of(activity.id, row))


async def do_cancel_sign_up(viewer: Viewer, activity_id: int) -> SignUp:
    """Cancelling a confirmed sign-up promotes the earliest eligible waitlisted one atomically."""
    volunteer = viewer.require()
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")

    async def attempt() -> tuple[SignUp, list[Notification]]:
        sign_up = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer.id)
        if sign_up is None:
            raise NotFound("Sign-up")
        if sign_up.status == SignUpStatus.CANCELLED:
            return sign_up, []
        if activity.status != ActivityStatus.PUBLISHED:
            raise Conflict(f"This activity is {activity.status.value.lower()}; "
                           "its sign-ups can no longer change.")
        if sign_up.checked_in_at is not None:
            raise Conflict("You have already checked in.")
        if activity.starts_at <= datetime.now(UTC):
            raise Conflict("The activity has started; ask the organiser instead.")
        async with in_transaction() as conn:
            promoted = await _cancel_in(conn, activity_id, sign_up)
        return sign_up, promoted

    try:
        sign_up, promoted = await with_retries(attempt)
    except Raced:
        raise Conflict("Your sign-up changed at the same moment; try again.") from None
    await notify_created(promoted)
    await notify_slot_change(activity_id)
    return sign_up


async def _cancel_in(conn: BaseDBAsyncClient, activity_id: int,
                     sign_up: SignUp) -> list[Notification]:
    """Precondition: inside a transaction. Activity row first, then sign-up rows."""
    if sign_up.status == SignUpStatus.OFFERED:
        return await offers.decline_in(conn, activity_id, sign_up)
    confirmed = sign_up.status == SignUpStatus.CONFIRMED
    await change_counts(conn, activity_id,
                        CountChange(taken=-1) if confirmed else CountChange(waitlisted=-1))
    now = datetime.now(UTC)
    changed = await SignUp.filter(id=sign_up.id, status=sign_up.status).using_db(conn).update(
        status=SignUpStatus.CANCELLED, updated_at=now)
    if not changed:
        raise Raced()
    sign_up.status = SignUpStatus.CANCELLED
    sign_up.updated_at = now
    if confirmed:
        return await offers.fill_freed_places(activity_id, conn)
    return []


async def waitlist_positions(sign_up_ids: list[int]) -> dict[int, int]:
    """Position = waitlisted rows of the same activity with a smaller sequence, plus one."""
    if not sign_up_ids:
        return {}
    rows = await fetch(connections.get("default"), Sql(
        "SELECT s.id AS id, (SELECT COUNT(*) FROM sign_up w WHERE w.activity_id = s.activity_id "
        "AND w.status = 'WAITLISTED' AND w.waitlist_seq < s.waitlist_seq) + 1 AS position "
        "FROM sign_up s WHERE s.status = 'WAITLISTED' AND :ids",
        ids=Sql.one_of("s.id", sign_up_ids)))
    return {int(row["id"]): int(row["position"]) for row in rows}
