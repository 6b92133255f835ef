"""The sign-up rules (DOMAIN.md rules 1–6) and the outcomes they decide, on both paths.

Each rule has a Python form and an SQL twin in resolvers/signup_pg.sql, whose sections name
the Python function they mirror:

| outcome         | Python (portable path)                      | signup_pg.sql               |
|-----------------|---------------------------------------------|-----------------------------|
| INACTIVE        | Viewer.require_active (check_sign_up)       | Viewer.require_active       |
| NOT_FOUND       | visible                                     | first read's refusal CASE   |
| SIGNED_UP       | holds_place                                 | first read's refusal CASE   |
| CLOSED          | check_open; refusal_after_write             | first read; locked re-read  |
| DEADLINE_PASSED | check_open; refusal_after_write             | first read; locked re-read  |
| INELIGIBLE      | requirements.check_requirements             | first read's requirements   |
| OVERLAP         | waitlist.holds_overlapping                  | waitlist.holds_overlapping  |
| FULL            | slots.PLACE_FREE, slots.WAITLIST_FREE       | as read; locked re-read     |
| CONFIRMED       | slots.TAKE_PLACE where OPEN and PLACE_FREE  | the UPDATE                  |
| WAITLISTED      | slots.JOIN_WAITLIST where OPEN and WAITLIST_FREE | the UPDATE             |

A new rule goes in three places: a function here (or in its domain's module) called from
check_sign_up or the write, its twin in signup_pg.sql, and a case in
tests/activity/test_signup_twins.py, which runs every case through both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeGuard

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from resolvers.errors import Conflict, DomainError, Forbidden, NotFound
from subscriptions.slots import SlotState


class Outcome(StrEnum):
    CONFIRMED = "CONFIRMED"  # a place was free
    WAITLISTED = "WAITLISTED"  # no place, a waitlist turn
    FULL = "FULL"  # neither
    OVERLAP = "OVERLAP"  # a confirmed sign-up of theirs overlaps this one (rule 5)
    CLOSED = "CLOSED"  # not PUBLISHED
    DEADLINE_PASSED = "DEADLINE_PASSED"
    INELIGIBLE = "INELIGIBLE"  # a requirement (minimum age, qualification) not met
    NOT_FOUND = "NOT_FOUND"  # no such activity, or a draft
    SIGNED_UP = "SIGNED_UP"  # a sign-up of this person exists (a cancelled one is revived)
    INACTIVE = "INACTIVE"  # no ACTIVE account


# Refusals the one-round-trip path makes before it takes any lock. The reads then give the
# exact answer: the missing requirement and its course, the account's state before the
# activity's, the existing sign-up itself, the revival of a cancelled one.
ASK_THE_READS = frozenset({Outcome.NOT_FOUND, Outcome.SIGNED_UP, Outcome.CLOSED,
                           Outcome.DEADLINE_PASSED, Outcome.INELIGIBLE, Outcome.INACTIVE})


@dataclass(frozen=True)
class SignUpResult:
    """What a write decided: the sign-up and the row's new counts when it made one."""

    outcome: Outcome
    sign_up: SignUp | None = None
    state: SlotState | None = None


def visible(activity: Activity) -> bool:
    """Drafts are hidden from volunteers: signing up to one is NOT_FOUND, as a missing one."""
    return activity.status != ActivityStatus.DRAFT


def holds_place(existing: SignUp | None) -> TypeGuard[SignUp]:
    """Signing up again returns the sign-up already held (idempotent)."""
    return existing is not None and existing.status != SignUpStatus.CANCELLED


def check_open(activity: Activity, now: datetime) -> None:
    if activity.status != ActivityStatus.PUBLISHED:
        raise Conflict(f"This activity is {activity.status.value.lower()} and takes no sign-ups.",
                       reason="NOT_OPEN")
    if activity.sign_up_deadline <= now:
        raise Conflict("The sign-up deadline has passed.", reason="DEADLINE_PASSED")


def refusal_after_write(activity: Activity, now: datetime) -> Outcome:
    """Why the conditional UPDATEs found no place on the row as it is now."""
    if activity.status != ActivityStatus.PUBLISHED:
        return Outcome.CLOSED
    if activity.sign_up_deadline <= now:
        return Outcome.DEADLINE_PASSED
    return Outcome.FULL


def refusal(outcome: Outcome) -> DomainError:
    """The error for a refusal decided by the write (under the row locks)."""
    if outcome == Outcome.OVERLAP:
        return Conflict("You already have a confirmed sign-up at an overlapping time.",
                        reason="OVERLAP")
    if outcome == Outcome.CLOSED:
        return Conflict("This activity no longer takes sign-ups.", reason="NOT_OPEN")
    if outcome == Outcome.DEADLINE_PASSED:
        return Conflict("This activity no longer takes sign-ups.", reason="DEADLINE_PASSED")
    if outcome == Outcome.INACTIVE:
        return Forbidden("Your account cannot sign up right now.")
    if outcome == Outcome.NOT_FOUND:
        return NotFound("Activity")
    return Conflict("This activity and its waitlist are full.", reason="FULL")
