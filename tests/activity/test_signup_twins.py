"""The sign-up rules and their SQL twin decide alike. Every case is built twice, once for each
path: the portable path (check_sign_up, then write_sign_up) on both backends, and on
PostgreSQL the one-round-trip function (resolvers/signup_pg.sql). Both must reach the case's
outcome. A new sign-up rule adds its cases here (resolvers/signup_rules.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise import connections

from models.activity import ActivityStatus, SignUp, SignUpStatus
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import signup_pg
from resolvers.auth import Viewer
from resolvers.errors import Conflict, Forbidden, NotFound, NotQualified
from resolvers.signup import check_sign_up, install_sign_up_function, write_sign_up
from resolvers.signup_rules import Outcome, holds_place
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer
from tests.training.factory import qualify, require

REASONS = {"NOT_OPEN": Outcome.CLOSED, "DEADLINE_PASSED": Outcome.DEADLINE_PASSED,
           "FULL": Outcome.FULL, "OVERLAP": Outcome.OVERLAP}


@dataclass(frozen=True)
class World:
    person: Volunteer
    activity_id: int


Build = Callable[[], Awaitable[World]]


async def _activity(person: Volunteer | None = None, **fields: object) -> World:
    admin = await make_volunteer("队长")
    team = await make_team(admin, "助老队")
    activity = await make_activity(team, admin, **fields)  # type: ignore[arg-type]
    return World(person or await make_volunteer("报名者"), activity.id)


async def _overlapping(*, taken: bool = False, other_status: ActivityStatus =
                       ActivityStatus.PUBLISHED, other_starts_in: timedelta =
                       timedelta(days=3)) -> World:
    world = await _activity(**({"taken_count": 1, "waitlist_count": 1, "capacity": 1,
                                "waitlist_limit": 1} if taken else {}))
    admin = await make_volunteer("另一队长")
    other = await make_activity(await make_team(admin, "另一队"), admin, status=other_status,
                                starts_in=other_starts_in)
    await SignUp.create(activity=other, volunteer=world.person, status=SignUpStatus.CONFIRMED)
    return world


async def _aged(years: int, minimum_age: int) -> World:
    today = datetime.now(UTC).date()
    person = await make_volunteer("少年", birth=date(today.year - years, 1, 1))
    world = await _activity(person)
    await require(world.activity_id, minimum_age=minimum_age)
    return world


async def _qualified(expires_in: timedelta | None) -> World:
    world = await _activity()
    await require(world.activity_id, "急救员")
    if expires_in is not None:
        await qualify(world.person, "急救员", expires_in=expires_in)
    return world


async def _signed_up() -> World:
    world = await _activity()
    await SignUp.create(activity_id=world.activity_id, volunteer=world.person,
                        status=SignUpStatus.CONFIRMED)
    return world


async def _suspended() -> World:
    return await _activity(await make_volunteer("停用者", status=VolunteerStatus.SUSPENDED))


async def _missing() -> World:
    return World(await make_volunteer("报名者"), 2_000_000_000)


CASES: dict[str, tuple[Build, Outcome]] = {
    "room": (lambda: _activity(), Outcome.CONFIRMED),
    "places taken, waitlist open": (
        lambda: _activity(capacity=2, taken_count=2, waitlist_limit=1), Outcome.WAITLISTED),
    "waitlist full": (lambda: _activity(capacity=1, taken_count=1, waitlist_limit=1,
                                        waitlist_count=1), Outcome.FULL),
    "no waitlist": (lambda: _activity(capacity=1, taken_count=1, waitlist_limit=0),
                    Outcome.FULL),
    "cancelled": (lambda: _activity(status=ActivityStatus.CANCELLED), Outcome.CLOSED),
    "finished": (lambda: _activity(status=ActivityStatus.FINISHED), Outcome.CLOSED),
    "deadline passed": (lambda: _activity(sign_up_deadline=datetime.now(UTC)
                                          - timedelta(minutes=1)), Outcome.DEADLINE_PASSED),
    "draft": (lambda: _activity(status=ActivityStatus.DRAFT), Outcome.NOT_FOUND),
    "no such activity": (_missing, Outcome.NOT_FOUND),
    "overlap": (lambda: _overlapping(), Outcome.OVERLAP),
    "overlap named before full": (lambda: _overlapping(taken=True), Outcome.OVERLAP),
    "overlap with a cancelled activity": (
        lambda: _overlapping(other_status=ActivityStatus.CANCELLED), Outcome.CONFIRMED),
    "back to back": (lambda: _overlapping(other_starts_in=timedelta(days=3, hours=3)),
                     Outcome.CONFIRMED),
    "too young": (lambda: _aged(15, 18), Outcome.INELIGIBLE),
    "old enough": (lambda: _aged(30, 18), Outcome.CONFIRMED),
    "qualification missing": (lambda: _qualified(None), Outcome.INELIGIBLE),
    "qualification expires before the start": (lambda: _qualified(timedelta(days=1)),
                                                Outcome.INELIGIBLE),
    "qualification held": (lambda: _qualified(timedelta(days=365)), Outcome.CONFIRMED),
    "already signed up": (_signed_up, Outcome.SIGNED_UP),
    "suspended account": (_suspended, Outcome.INACTIVE),
}


async def _portable(world: World) -> Outcome:
    try:
        activity, existing = await check_sign_up(Viewer(world.person), world.activity_id)
        if holds_place(existing):
            return Outcome.SIGNED_UP
        return (await write_sign_up(activity, world.person.id, existing)).outcome
    except NotQualified:
        return Outcome.INELIGIBLE
    except NotFound:
        return Outcome.NOT_FOUND
    except Forbidden:
        return Outcome.INACTIVE
    except Conflict as refused:
        return REASONS[refused.extensions["reason"]]


async def _function(world: World) -> Outcome:
    return (await signup_pg.sign_up_at_once(world.activity_id, world.person.id,
                                            requirements_checked=False)).outcome


@pytest.mark.parametrize("name", list(CASES))
async def test_both_paths_decide_the_same_outcome(db, name):
    # given: the case, built once for each path
    build, expected = CASES[name]
    portable_world = await build()
    function_world = await build() if db.postgres else None
    # when
    portable = await _portable(portable_world)
    function = await _function(function_world) if function_world is not None else expected
    # then
    assert (portable, function) == (expected, expected)


async def test_a_database_without_the_current_function_gets_it_on_first_use(db):
    # given: the function dropped (someone else's tooling set the database up)
    if not db.postgres:
        pytest.skip("the function is PostgreSQL's")
    await connections.get("default").execute_script(
        f"DROP FUNCTION IF EXISTS {signup_pg.FUNCTION_NAME}(int, int, timestamptz, boolean)")
    world = await _activity()
    # when
    result = await signup_pg.sign_up_at_once(world.activity_id, world.person.id,
                                             requirements_checked=False)
    # then
    assert result.outcome == Outcome.CONFIRMED
    await install_sign_up_function()
