"""Sign-up rules 1–6 (DOMAIN.md): never overbook, waitlist in arrival order, atomic promotion.

The activity row is the judge. Every count change is one conditional UPDATE on it, checked
by the row it returns, inside a short transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the
UPDATE's row lock). Lock order is volunteer row → activity row → sign-up rows; a deadlock
the order cannot rule out (a promotion locking a volunteer who is signing up elsewhere) is
retried. Slot counts are published after commit with the row's `version`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import offers, waitlist
from resolvers.auth import Viewer
from resolvers.errors import Conflict, Forbidden, NotFound, Unauthenticated
from resolvers.notification import create_notification, notify_created
from resolvers.requirements import check_requirements
from resolvers.services import services
from resolvers.sql import run_sql
from subscriptions import channels
from subscriptions.slots import SlotState

log = logging.getLogger("tongxin.signup")

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
MAX_ATTEMPTS = 5


class _Raced(Exception):
    """Another request changed the sign-up between our read and our write: start over."""


def _dialect(conn: BaseDBAsyncClient) -> str:
    return str(conn.capabilities.dialect)


def _retryable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__ or (seen.args[0] if seen.args and
                                  isinstance(seen.args[0], BaseException) else None)
    return False


async def _with_retries(work: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == MAX_ATTEMPTS or not _retryable(exc):
                raise
            log.info("sign-up transaction retried after %s (attempt %d)", type(exc).__name__,
                     attempt)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


# Counts columns returned by every conditional UPDATE on the activity row.
_COUNTS = ("capacity, confirmed_count, waitlist_count, waitlist_seq, version, status, "
           "offered_count")

# PostgreSQL: take the volunteer's row lock (it conflicts with SIGN_UP_FUNCTION's FOR UPDATE of
# the same row, so one person's sign-ups on both paths serialise). The overlap check then
# runs as the next statement: under READ COMMITTED a statement's snapshot predates any lock
# wait inside it, so a check in the locking statement itself misses a sign-up committed while
# it waited (two simultaneous overlapping sign-ups of one person both confirmed).
_LOCK_VOLUNTEER_SQL = "UPDATE volunteer SET updated_at = updated_at WHERE id = ? RETURNING id"


async def _holds_overlapping(conn: BaseDBAsyncClient, volunteer_id: int,
                             activity: Activity) -> bool:
    """Precondition: inside a transaction. Locks the volunteer row first (PostgreSQL; SQLite's
    write transaction already excludes every other writer) so their own sign-ups serialise,
    then checks with a snapshot taken after the lock."""
    if _dialect(conn) == "postgres":
        await run_sql(conn, _LOCK_VOLUNTEER_SQL, volunteer_id)
    return await waitlist.holds_overlapping(conn, volunteer_id, activity)


# PostgreSQL: the whole first sign-up in one round trip, a PL/pgSQL function (the activity's
# preconditions, the account, the person's row lock + overlap check, the activity row lock,
# the counters, the sign-up row), i.e. one implicit transaction whose activity-row lock is held
# only for the rest of the call and its commit. Each statement inside takes a fresh snapshot,
# so the overlap check after the person's row lock sees any of their sign-ups committed while
# it waited (rule 5 under concurrency; a single statement cannot, its snapshot predates its
# lock waits), and the activity is re-read once locked, so one UPDATE decides CONFIRMED vs
# WAITLISTED on the row as it is. The INSERT's arrival time is clock_timestamp() (when it got
# the row: arrival order is waitlist order).
# Columns: `eligible` — a first sign-up (no row of this person) to a published activity
# before its deadline whose requirements (minimum age, qualifications) the person meets, or
# that the caller checked (p_checked); a person who does not meet them is refused by the
# caller's reads, which name the missing requirement;
# otherwise nothing happened and the caller's reads explain why. `found` — the account exists
# and is ACTIVE (the caller may not have read it: a deferred viewer, schema/viewer.py).
# `was_full` — full when read: refused with nothing locked or written, `busy_when_full`
# telling OVERLAP (named first, as _sign_up_in does) from FULL. `busy` — overlapping. No
# `sign_up_id` otherwise: closed or filled while it waited for the lock.
# Measured against the one-statement CTE it replaced (bench straight to the database, 64
# connections): 2,210–2,394 vs 1,325–1,836 sign-ups/s on four activities, 1,292–1,352 vs
# 1,035–1,044 on one row (docs/activities.md).
# Installed by install_sign_up_function() at start-up (server lifespan, test set-up) and, if
# missing, on first use: it is code, versioned by its name, shipped with this module.
SIGN_UP_FUNCTION = """
CREATE OR REPLACE FUNCTION tongxin_sign_up_v1(p_volunteer int, p_activity int,
                                              p_now timestamptz, p_checked boolean)
RETURNS TABLE (eligible boolean, was_full boolean, busy_when_full boolean, found boolean,
               busy boolean, capacity int, confirmed_count int, waitlist_count int,
               waitlist_seq int, version int, status text, offered_count int,
               confirm boolean, sign_up_id int, created_at timestamptz)
LANGUAGE plpgsql AS $fn$
DECLARE
  act activity%ROWTYPE;
  full_now boolean;
  overlapping boolean;
  place boolean;
  new_id int;
  new_at timestamptz;
BEGIN
  SELECT * INTO act FROM activity a
   WHERE a.id = p_activity AND a.status = 'PUBLISHED' AND a.sign_up_deadline > p_now
     AND (p_checked OR NOT a.has_requirements OR (
          -- resolvers/requirements.check_requirements, when it holds: old enough on the
          -- start's date in Beijing, every required qualification valid at the start
          (a.minimum_age IS NULL OR EXISTS (
             SELECT 1 FROM volunteer v WHERE v.id = p_volunteer AND v.birth_date <=
               ((a.starts_at AT TIME ZONE INTERVAL '+08:00')::date
                - make_interval(years => a.minimum_age))::date))
          AND NOT EXISTS (
             SELECT 1 FROM activity_qualification r WHERE r.activity_id = a.id
                AND NOT EXISTS (SELECT 1 FROM qualification q
                                 WHERE q.volunteer_id = p_volunteer AND q.name = r.name
                                   AND (q.expires_at IS NULL OR q.expires_at > a.starts_at)))))
     AND NOT EXISTS (SELECT 1 FROM sign_up s
                      WHERE s.activity_id = p_activity AND s.volunteer_id = p_volunteer);
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::boolean, NULL::boolean, false, NULL::boolean, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::int, NULL::text, NULL::int, NULL::boolean,
      NULL::int, NULL::timestamptz;
    RETURN;
  END IF;
  full_now := act.confirmed_count >= act.capacity AND act.waitlist_count >= act.waitlist_limit;
  PERFORM 1 FROM volunteer v WHERE v.id = p_volunteer AND v.status = 'ACTIVE';
  IF NOT FOUND THEN
    RETURN QUERY SELECT true, full_now, NULL::boolean, false, NULL::boolean, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::int, NULL::text, NULL::int, NULL::boolean,
      NULL::int, NULL::timestamptz;
    RETURN;
  END IF;
  IF NOT full_now THEN
    -- the person's row lock serialises their own sign-ups; the next statement's fresh
    -- snapshot then sees any of theirs committed while this one waited
    PERFORM 1 FROM volunteer v WHERE v.id = p_volunteer FOR UPDATE;
  END IF;
  overlapping := EXISTS (SELECT 1 FROM sign_up s JOIN activity a ON a.id = s.activity_id
                  WHERE s.volunteer_id = p_volunteer AND s.status = 'CONFIRMED'
                    AND a.id <> p_activity AND a.status IN ('PUBLISHED', 'FINISHED')
                    AND a.starts_at < act.ends_at AND a.ends_at > act.starts_at);
  IF full_now OR overlapping THEN
    RETURN QUERY SELECT true, full_now, CASE WHEN full_now THEN overlapping END, true,
      CASE WHEN full_now THEN NULL ELSE overlapping END, NULL::int, NULL::int, NULL::int,
      NULL::int, NULL::int, NULL::text, NULL::int, NULL::boolean, NULL::int,
      NULL::timestamptz;
    RETURN;
  END IF;
  SELECT * INTO act FROM activity a WHERE a.id = p_activity FOR UPDATE;
  IF act.status <> 'PUBLISHED' OR act.sign_up_deadline <= p_now
     OR (act.confirmed_count >= act.capacity AND act.waitlist_count >= act.waitlist_limit) THEN
    RETURN QUERY SELECT true, false, NULL::boolean, true, false, NULL::int, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::text, NULL::int, NULL::boolean, NULL::int,
      NULL::timestamptz;
    RETURN;
  END IF;
  place := act.confirmed_count < act.capacity;
  UPDATE activity a SET
      confirmed_count = a.confirmed_count + CASE WHEN place THEN 1 ELSE 0 END,
      waitlist_count = a.waitlist_count + CASE WHEN place THEN 0 ELSE 1 END,
      waitlist_seq = a.waitlist_seq + CASE WHEN place THEN 0 ELSE 1 END,
      version = a.version + 1
   WHERE a.id = p_activity
  RETURNING * INTO act;
  INSERT INTO sign_up (activity_id, volunteer_id, status, waitlist_seq, created_at, updated_at)
  VALUES (p_activity, p_volunteer, CASE WHEN place THEN 'CONFIRMED' ELSE 'WAITLISTED' END,
          CASE WHEN place THEN NULL ELSE act.waitlist_seq END, clock_timestamp(),
          clock_timestamp())
  RETURNING sign_up.id, sign_up.created_at INTO new_id, new_at;
  RETURN QUERY SELECT true, false, NULL::boolean, true, false, act.capacity,
    act.confirmed_count, act.waitlist_count, act.waitlist_seq, act.version,
    act.status::text, act.offered_count, place, new_id, new_at;
END $fn$;
"""
SIGN_UP_CALL = "SELECT * FROM tongxin_sign_up_v1($1, $2, $3, $4)"
_INSTALL_LOCK = 4_242_001  # pg_advisory_xact_lock key: workers starting together


async def install_sign_up_function(conn: BaseDBAsyncClient | None = None) -> None:
    """Creates (or replaces) the sign-up function on PostgreSQL; nothing on SQLite."""
    conn = conn or connections.get("default")
    if _dialect(conn) != "postgres":
        return
    async with in_transaction(conn.connection_name) as tx:
        await tx.execute_query(f"SELECT pg_advisory_xact_lock({_INSTALL_LOCK})")
        await tx.execute_script(SIGN_UP_FUNCTION)


def _missing_function(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''}"
    return "tongxin_sign_up_v1" in text and "does not exist" in text


def _state(activity_id: int, row: Mapping[str, Any]) -> SlotState:
    return SlotState(activity_id, int(row["capacity"]), int(row["confirmed_count"]),
                     int(row["waitlist_count"]), ActivityStatus(row["status"]),
                     int(row["version"]), datetime.now(UTC), int(row["offered_count"]))


async def check_sign_up(viewer: Viewer, activity_id: int) -> tuple[Activity, SignUp | None]:
    """Rule 6 and visibility; returns the activity and the caller's existing sign-up."""
    volunteer = viewer.require_active("sign up")
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    existing = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer.id)
    if existing is not None and existing.status != SignUpStatus.CANCELLED:
        return activity, existing
    if activity.status != ActivityStatus.PUBLISHED:
        raise Conflict(f"This activity is {activity.status.value.lower()} and takes no sign-ups.",
                       reason="NOT_OPEN")
    if activity.sign_up_deadline <= datetime.now(UTC):
        raise Conflict("The sign-up deadline has passed.", reason="DEADLINE_PASSED")
    return activity, existing


async def do_sign_up(viewer: Viewer, activity_id: int) -> SignUp:
    """Confirmed if a slot is free, else waitlisted, else CONFLICT. Repeats return the same row.

    Two steps with a clear boundary: `check_sign_up` (rules on what was read: account state,
    visibility, idempotency, open for sign-ups; checks about the volunteer, such as
    requirements, belong there or right after it) decides whether to try; then the write
    (`_sign_up_at_once` on PostgreSQL, `_sign_up_in` in a transaction otherwise) decides the
    outcome under the row locks. On PostgreSQL a first sign-up to an open activity without
    requirements skips the reads: SIGN_UP_FUNCTION checks those preconditions itself, and
    only when they do not hold are the reads made, to give the exact answer."""
    # A deferred viewer (schema/viewer.py: signUp is token-only) is loaded only off the fast
    # path: SIGN_UP_FUNCTION itself requires the account to exist and be ACTIVE.
    volunteer_id = viewer.claimed_id if not viewer.loaded else \
        viewer.require_active("sign up").id
    if volunteer_id is None:
        raise Unauthenticated()
    conn = connections.get("default")
    postgres = _dialect(conn) == "postgres"
    if postgres:
        try:
            done = await _with_retries(
                lambda: _sign_up_at_once(conn, activity_id, volunteer_id, False))
        except IntegrityError:
            return await _winner(activity_id, volunteer_id)
        if done is not None:
            await publish_slots(done[1])
            return done[0]
    await viewer.load()
    activity, existing = await check_sign_up(viewer, activity_id)
    if existing is not None and existing.status != SignUpStatus.CANCELLED:
        return existing
    # Reads only, before the transaction: no lock, nothing for the lock order to see.
    await check_requirements(viewer.require(), activity)
    if existing is None and postgres:
        try:
            done = await _with_retries(
                lambda: _sign_up_at_once(conn, activity.id, volunteer_id, True))
        except IntegrityError:
            return await _winner(activity_id, volunteer_id)
        if done is None:  # closed, a sign-up of this person appeared, or the account was
            # suspended, since the reads
            if await SignUp.exists(activity_id=activity_id, volunteer_id=volunteer_id):
                return await _winner(activity_id, volunteer_id)
            if not await Volunteer.exists(id=volunteer_id, status=VolunteerStatus.ACTIVE):
                raise Forbidden("Your account cannot sign up right now.")
            raise await _refusal(activity_id, datetime.now(UTC), conn)
        await publish_slots(done[1])
        return done[0]
    attempts = 0

    async def attempt() -> tuple[SignUp, SlotState]:
        nonlocal attempts
        attempts += 1
        revive = existing
        if attempts > 1:
            revive = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer_id)
            if revive is not None and revive.status != SignUpStatus.CANCELLED:
                raise _Raced()
        async with in_transaction() as conn:
            return await _sign_up_in(conn, activity, volunteer_id, revive)

    try:
        sign_up, state = await _with_retries(attempt)
    except (_Raced, IntegrityError):
        return await _winner(activity_id, volunteer_id)
    await publish_slots(state)
    return sign_up


async def _winner(activity_id: int, volunteer_id: int) -> SignUp:
    """A concurrent request of the same volunteer won: return its sign-up (idempotent)."""
    winner = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=volunteer_id)
    if winner is None or winner.status == SignUpStatus.CANCELLED:
        raise Conflict("Your sign-up changed at the same moment; try again.",
                       reason="RETRY") from None
    return winner


async def _refusal(activity_id: int, now: datetime, conn: BaseDBAsyncClient) -> Conflict:
    """Why the conditional updates found no place: closed, past the deadline, or full."""
    current = await Activity.get(id=activity_id, using_db=conn)
    if current.status != ActivityStatus.PUBLISHED:
        return Conflict("This activity no longer takes sign-ups.", reason="NOT_OPEN")
    if current.sign_up_deadline <= now:
        return Conflict("This activity no longer takes sign-ups.", reason="DEADLINE_PASSED")
    return _full()


def _full() -> Conflict:
    return Conflict("This activity and its waitlist are full.", reason="FULL")


def _overlap() -> Conflict:
    return Conflict("You already have a confirmed sign-up at an overlapping time.",
                    reason="OVERLAP")


async def _call(conn: BaseDBAsyncClient, arguments: list[Any]) -> Mapping[str, Any]:
    """SIGN_UP_CALL's row. On the pooled client (the hot path), straight through its asyncpg
    pool: tortoise's query wrapper, debug log and dict copy cost ~35 µs of CPU of a ~700 µs
    sign-up. asyncpg's errors are translated, and the statement logged (DEBUG, tortoise's
    db_client logger), as tortoise's own methods do; a transaction's client goes through
    tortoise."""
    pool = getattr(conn, "_pool", None)
    if pool is None or not isinstance(conn, AsyncpgDBClient) or \
            isinstance(conn, TransactionalDBClient):
        return (await conn.execute_query_dict(SIGN_UP_CALL, arguments))[0]
    if conn.log.isEnabledFor(logging.DEBUG):  # as tortoise logs its statements
        conn.log.debug("%s: %s", SIGN_UP_CALL, arguments)
    return await conn._translate_exceptions(  # type: ignore[return-value]
        lambda _client: pool.fetchrow(SIGN_UP_CALL, *arguments))


async def _sign_up_at_once(conn: BaseDBAsyncClient, activity_id: int, volunteer_id: int,
                           requirements_checked: bool) -> tuple[SignUp, SlotState] | None:
    """PostgreSQL, a first sign-up (no row to revive): SIGN_UP_FUNCTION, one round trip. None
    when its preconditions did not hold (see the function): nothing was written."""
    now = datetime.now(UTC)
    arguments = [volunteer_id, activity_id, now, requirements_checked]
    try:
        row = await _call(conn, arguments)
    except OperationalError as exc:
        if not _missing_function(exc):
            raise
        await install_sign_up_function(conn)
        row = await _call(conn, arguments)
    if not row["eligible"]:
        return None
    if not row["found"]:  # no such ACTIVE account: the caller's reads say why
        return None
    if row["was_full"]:
        if row["busy_when_full"]:
            raise _overlap()
        raise _full()
    if row["busy"]:
        raise _overlap()
    if row["sign_up_id"] is None:
        raise await _refusal(activity_id, now, conn)
    confirmed = bool(row["confirm"])
    sign_up = SignUp(id=int(row["sign_up_id"]), activity_id=activity_id, volunteer_id=volunteer_id,
                     status=SignUpStatus.CONFIRMED if confirmed else SignUpStatus.WAITLISTED,
                     waitlist_seq=None if confirmed else int(row["waitlist_seq"]),
                     checked_in_at=None, checked_out_at=None, created_at=row["created_at"],
                     updated_at=row["created_at"])
    sign_up._saved_in_db = True
    return sign_up, _state(activity_id, row)


async def _sign_up_in(conn: BaseDBAsyncClient, activity: Activity, volunteer_id: int,
                      revive: SignUp | None) -> tuple[SignUp, SlotState]:
    """Precondition: inside a transaction. Holds the activity row from the UPDATE to commit."""
    if await _holds_overlapping(conn, volunteer_id, activity):
        raise _overlap()
    now = datetime.now(UTC)
    rows = await run_sql(
        conn,
        "UPDATE activity SET confirmed_count = confirmed_count + 1, version = version + 1 "
        "WHERE id = ? AND status = 'PUBLISHED' AND sign_up_deadline > ? "
        f"AND confirmed_count < capacity RETURNING {_COUNTS}",
        activity.id, now,
    )
    status, seq = SignUpStatus.CONFIRMED, None
    if not rows:
        rows = await run_sql(
            conn,
            "UPDATE activity SET waitlist_count = waitlist_count + 1, "
            "waitlist_seq = waitlist_seq + 1, version = version + 1 "
            "WHERE id = ? AND status = 'PUBLISHED' AND sign_up_deadline > ? "
            f"AND waitlist_count < waitlist_limit RETURNING {_COUNTS}",
            activity.id, now,
        )
        if not rows:
            raise await _refusal(activity.id, now, conn)
        status, seq = SignUpStatus.WAITLISTED, int(rows[0]["waitlist_seq"])
    if revive is not None:
        changed = await SignUp.filter(id=revive.id, status=SignUpStatus.CANCELLED).using_db(
            conn).update(status=status, waitlist_seq=seq, created_at=now, updated_at=now,
                         checked_in_at=None, checked_out_at=None)
        if not changed:
            raise _Raced()
        sign_up = revive
        sign_up.status, sign_up.waitlist_seq, sign_up.created_at = status, seq, now
        sign_up.checked_in_at = sign_up.checked_out_at = None
    else:
        sign_up = await SignUp.create(activity_id=activity.id, volunteer_id=volunteer_id,
                                      status=status, waitlist_seq=seq, using_db=conn)
    return sign_up, _state(activity.id, rows[0])


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
        sign_up, promoted = await _with_retries(attempt)
    except _Raced:
        raise Conflict("Your sign-up changed at the same moment; try again.") from None
    await notify_created(promoted)
    await notify_slots(activity_id)
    return sign_up


async def _cancel_in(conn: BaseDBAsyncClient, activity_id: int,
                     sign_up: SignUp) -> list[Notification]:
    """Precondition: inside a transaction. Activity row first, then sign-up rows."""
    if sign_up.status == SignUpStatus.OFFERED:
        return await offers.decline_in(conn, activity_id, sign_up)
    if sign_up.status == SignUpStatus.CONFIRMED:
        counter = "confirmed_count = confirmed_count - 1"
    else:
        counter = "waitlist_count = waitlist_count - 1"
    await run_sql(conn, f"UPDATE activity SET {counter}, version = version + 1 WHERE id = ? "
                      "RETURNING id", activity_id)
    now = datetime.now(UTC)
    changed = await SignUp.filter(id=sign_up.id, status=sign_up.status).using_db(conn).update(
        status=SignUpStatus.CANCELLED, updated_at=now)
    if not changed:
        raise _Raced()
    sign_up.status = SignUpStatus.CANCELLED
    sign_up.updated_at = now
    if counter.startswith("confirmed"):
        return await offers.fill_freed_places(activity_id, conn)
    return []


async def lock_activity(activity_id: int, conn: BaseDBAsyncClient) -> Activity:
    """Precondition: inside a transaction (SQLite already holds the write lock)."""
    activity = await Activity.filter(id=activity_id).using_db(conn).select_for_update().first()
    if activity is None:
        raise NotFound("Activity")
    return activity


async def promote_waitlisted(activity_id: int, conn: BaseDBAsyncClient) -> list[Notification]:
    """Fill free slots from the waitlist in arrival order, skipping volunteers who meanwhile
    hold an overlapping confirmed sign-up. Precondition: the caller holds the activity row."""
    notifications: list[Notification] = []
    activity = await Activity.get(id=activity_id, using_db=conn)
    if activity.status != ActivityStatus.PUBLISHED:
        return notifications

    async def busy(volunteer_id: int) -> bool:
        return await _holds_overlapping(conn, volunteer_id, activity)

    async for candidate in waitlist.next_in_line(
            conn, activity, activity.capacity - activity.confirmed_count, busy):
        await SignUp.filter(id=candidate.id).using_db(conn).update(
            status=SignUpStatus.CONFIRMED, updated_at=datetime.now(UTC))
        await run_sql(conn, "UPDATE activity SET confirmed_count = confirmed_count + 1, "
                            "waitlist_count = waitlist_count - 1, version = version + 1 "
                            "WHERE id = ? RETURNING id", activity_id)
        notifications.append(await create_notification(
            candidate.volunteer_id, "WAITLIST_PROMOTED", f"候补转正：{activity.title}",
            f"有名额空出，您在活动「{activity.title}」的候补报名已转为正式报名。",
            subject=("Activity", activity_id), sms=True, using=conn,
        ))
    return notifications


async def slot_state(activity_id: int) -> SlotState | None:
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        return None
    return SlotState(activity.id, activity.capacity, activity.confirmed_count,
                     activity.waitlist_count, ActivityStatus(activity.status), activity.version,
                     datetime.now(UTC), activity.offered_count)


async def publish_slots(state: SlotState) -> None:
    """After commit; the caller does not wait for the broker (Broker.publish_latest: the
    newest state per activity, batched). A lost publish loses nothing: subscribers re-read
    on resync and after every burst."""
    services().broker.publish_latest(channels.slots(state.activity_id), state.to_message(),
                                     state.version)


async def notify_slots(activity_id: int) -> None:
    """After commit: publish the row as it is now (its version orders it among others)."""
    state = await slot_state(activity_id)
    if state is not None:
        await publish_slots(state)


async def waitlist_positions(sign_up_ids: list[int]) -> dict[int, int]:
    """Position = waitlisted rows of the same activity with a smaller sequence, plus one."""
    if not sign_up_ids:
        return {}
    conn = connections.get("default")
    marks = ", ".join("?" for _ in sign_up_ids)
    rows = await run_sql(
        conn,
        "SELECT s.id AS id, (SELECT COUNT(*) FROM sign_up w WHERE w.activity_id = s.activity_id "
        "AND w.status = 'WAITLISTED' AND w.waitlist_seq < s.waitlist_seq) + 1 AS position "
        f"FROM sign_up s WHERE s.status = 'WAITLISTED' AND s.id IN ({marks})",
        *sign_up_ids,
    )
    return {int(row["id"]): int(row["position"]) for row in rows}
