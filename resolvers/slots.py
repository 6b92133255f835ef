"""An activity's places: the only code that changes the counts on its row, the locks around
that change, the retries the lock order cannot rule out, and the notification after commit.

The activity row is the judge. Every count change is one UPDATE of it (`change_counts`),
conditional where it hands out a place and checked by the row it returns, inside a short
transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the UPDATE's row lock, held to commit).
Lock order: volunteer row → activity row → sign-up rows. `taken_count` counts confirmed and
offered places (an offer holds its place), `offered_count` the offers alone. Every change bumps
`version`, which orders the published states: subscribers keep the highest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from models.activity import Activity, ActivityStatus
from resolvers.errors import NotFound
from resolvers.services import services
from resolvers.sql import Sql, execute, fetch
from subscriptions import channels
from subscriptions.slots import SlotState

log = logging.getLogger("tongxin.slots")

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
MAX_ATTEMPTS = 5

# The row's counts as every count change returns them (state_of reads them back).
COUNTS = "capacity, taken_count, waitlist_count, waitlist_seq, version, status, offered_count"
# Conditions of the UPDATEs that hand out a place or a waitlist turn.
PLACE_FREE = Sql("taken_count < capacity")
WAITLIST_FREE = Sql("waitlist_count < waitlist_limit")


def open_at(now: datetime) -> Sql:
    return Sql("status = 'PUBLISHED' AND sign_up_deadline > :now", now=now)


class Raced(Exception):
    """Another request changed the sign-up between our read and our write: start over."""


def retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure anywhere in the exception's cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__ or (seen.args[0] if seen.args and
                                  isinstance(seen.args[0], BaseException) else None)
    return False


async def with_retries(work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` (one whole transaction) again after a deadlock the lock order cannot rule
    out, such as a promotion locking a volunteer who is signing up elsewhere."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == MAX_ATTEMPTS or not retryable(exc):
                raise
            log.info("slot transaction retried after %s (attempt %d)", type(exc).__name__,
                     attempt)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class CountChange:
    """What one UPDATE adds to the row's counts. `arrival` advances `waitlist_seq`: the new
    waitlisted sign-up's place in line."""

    taken: int = 0
    waitlisted: int = 0
    offered: int = 0
    arrival: bool = False
    bump_version: bool = True

    def assignments(self) -> str:
        deltas = [("taken_count", self.taken), ("waitlist_count", self.waitlisted),
                  ("offered_count", self.offered), ("waitlist_seq", int(self.arrival)),
                  ("version", int(self.bump_version))]
        return ", ".join(f"{column} = {column} {'+' if delta > 0 else '-'} {abs(delta)}"
                         for column, delta in deltas if delta)


TAKE_PLACE = CountChange(taken=1)
JOIN_WAITLIST = CountChange(waitlisted=1, arrival=True)
PROMOTE = CountChange(taken=1, waitlisted=-1)
OFFER = CountChange(taken=1, waitlisted=-1, offered=1)


async def change_counts(conn: BaseDBAsyncClient, activity_id: int, change: CountChange,
                        *conditions: Sql) -> Mapping[str, Any] | None:
    """The row's new COUNTS, or None when a condition did not hold (nothing changed).
    Precondition: inside a transaction; from here to commit it holds the activity row."""
    where = Sql.join(" AND ", [Sql("id = :id", id=activity_id), *conditions])
    rows = await fetch(conn, Sql(f"UPDATE activity SET {change.assignments()} WHERE :where "
                                 f"RETURNING {COUNTS}", where=where))
    return rows[0] if rows else None


def state_of(activity_id: int, row: Mapping[str, Any]) -> SlotState:
    return SlotState(activity_id, int(row["capacity"]), int(row["taken_count"]),
                     int(row["waitlist_count"]), ActivityStatus(row["status"]),
                     int(row["version"]), datetime.now(UTC), int(row["offered_count"]))


async def lock_activity(activity_id: int, conn: BaseDBAsyncClient) -> Activity:
    """Precondition: inside a transaction (SQLite already holds the write lock)."""
    activity = await Activity.filter(id=activity_id).using_db(conn).select_for_update().first()
    if activity is None:
        raise NotFound("Activity")
    return activity


async def lock_volunteer(conn: BaseDBAsyncClient, volunteer_id: int) -> None:
    """PostgreSQL: the person's row lock, which the sign-up function's FOR UPDATE of the same
    row also takes, so one person's sign-ups on every path serialise. A check that must see
    their sign-ups committed while this waited runs as the next statement: under READ
    COMMITTED a statement's snapshot predates its own lock waits. SQLite's write transaction
    already excludes every other writer."""
    if conn.capabilities.dialect == "postgres":
        await execute(conn, Sql("UPDATE volunteer SET updated_at = updated_at WHERE id = :id "
                                "RETURNING id", id=volunteer_id))


async def lock_volunteer_lightly(conn: BaseDBAsyncClient, volunteer_id: int) -> None:
    """As lock_volunteer, but NO KEY UPDATE: it conflicts with sign-ups' FOR UPDATE of the same
    person, not with the KEY SHARE lock a notification insert for them takes (an offer expiry
    holding the activity row would otherwise deadlock with an acceptance)."""
    if conn.capabilities.dialect == "postgres":
        await execute(conn, Sql("SELECT id FROM volunteer WHERE id = :id FOR NO KEY UPDATE",
                                id=volunteer_id))


async def slot_state(activity_id: int) -> SlotState | None:
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        return None
    return SlotState(activity.id, activity.capacity, activity.taken_count,
                     activity.waitlist_count, ActivityStatus(activity.status), activity.version,
                     datetime.now(UTC), activity.offered_count)


async def notify_slot_change(activity_id: int, state: SlotState | None = None) -> None:
    """After commit: publish `state`, or the row as it is now (its version orders it among
    the others). The caller does not wait for the broker (Broker.publish_latest: the newest
    state per activity, batched); a lost publish loses nothing, subscribers re-read on resync
    and after every burst."""
    if state is None:
        state = await slot_state(activity_id)
        if state is None:
            return
    services().broker.publish_latest(channels.slots(state.activity_id), state.to_message(),
                                     state.version)
