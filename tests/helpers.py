"""Shared test helpers: people factories, GraphQL execution, SQL statement counting, waiting
for the live machinery instead of sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from argon2 import PasswordHasher, profiles

from core import pii
from forum.search import install_search_index
from models.team import Membership, MembershipRole, MembershipStatus, Team, TeamType
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer, issue_token
from resolvers.helprequest import help_request_matcher
from resolvers.maintenance import make_id_number
from resolvers.pii import install_append_only
from resolvers.services import services
from resolvers.validation import check_id_number, encode_tags
from schema import schema
from schema.context import Context

# Hooks run once per backend after the tables exist (e.g. search indexes): fn(is_postgres).
DB_HOOKS: list[Callable[[bool], Awaitable[None]]] = []
DB_HOOKS.append(install_search_index)
DB_HOOKS.append(install_append_only)

PASSWORD = "correct-horse-1"
# Hash once, with the suite's profile (tests/conftest.py): tests create many people.
PASSWORD_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)

_rng = random.Random(7)
_phone_counter = iter(range(10_000_000, 99_999_999))


def unique_phone() -> str:
    return f"139{next(_phone_counter)}"


_issued_id_numbers: set[str] = set()


def unique_id_number(birth: date | None = None, male: bool = True) -> str:
    """Never the same number twice in a process. A fixed birth date leaves only 500 sequence
    numbers per gender (two people born the same day once collided on the unique index), so a
    repeat is drawn again, from another Beijing district code after the first try."""
    region = "110105"
    while (number := make_id_number(region, birth=birth, male=male, rng=_rng)) in _issued_id_numbers:
        region = f"1101{_rng.randrange(1, 100):02d}"
    _issued_id_numbers.add(number)
    return number


async def make_volunteer(
    name: str = "测试志愿者",
    *,
    district: str = "朝阳区",
    skills: list[str] | None = None,
    platform_admin: bool = False,
    status: VolunteerStatus = VolunteerStatus.ACTIVE,
    birth: date | None = None,
    male: bool = True,
) -> Volunteer:
    identity = check_id_number(unique_id_number(birth, male))
    return await Volunteer.create(
        **pii.identity_columns(unique_phone(), identity.id_number),
        password_hash=PASSWORD_HASH,
        real_name=name,
        display_name=name,
        gender=identity.gender,
        birth_date=identity.birth_date,
        district=district,
        skills=encode_tags(skills or []),
        status=status,
        is_platform_admin=platform_admin,
        consented_at=datetime.now(timezone.utc) if status != VolunteerStatus.PENDING_CONSENT else None,
        volunteer_number=f"TXT{_rng.randrange(10**12):012d}",
    )


async def make_team(
    admin: Volunteer,
    name: str = "测试队伍",
    *,
    type: TeamType = TeamType.COMMUNITY,
    district: str = "朝阳区",
    parent: Team | None = None,
) -> Team:
    team = await Team.create(name=name, type=type, district=district, parent=parent, created_by=admin)
    team.path = f"{parent.path if parent else '/'}{team.id}/"
    await team.save(update_fields=["path"])
    await Membership.create(team=team, volunteer=admin, role=MembershipRole.ADMIN,
                            status=MembershipStatus.APPROVED)
    return team


async def add_member(team: Team, volunteer: Volunteer,
                     status: MembershipStatus = MembershipStatus.APPROVED) -> Membership:
    return await Membership.create(team=team, volunteer=volunteer, status=status)


@dataclass
class Result:
    data: Any
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


async def execute(query: str, variables: dict[str, Any] | None = None,
                  as_: Volunteer | None = None) -> Result:
    """Run an operation through the production schema, as `as_` (anonymous if None)."""
    context = Context(viewer=Viewer(as_), client_address="127.0.0.1")
    result = await schema.execute(query, variable_values=variables, context_value=context)
    errors = [error.formatted for error in result.errors or []]
    return Result(data=result.data, errors=errors)


def token_for(volunteer: Volunteer) -> str:
    return issue_token(volunteer.id)


class _StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.strip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            self.statements.append(message)


@contextlib.contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collects the SQL statements Tortoise sends while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    handler = _StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def until(condition: Callable[[], Any], message: str | Callable[[], str], *,
                timeout: float = 10.0, interval: float = 0.015) -> None:
    """Returns once `condition()` (or what it returns, when awaitable) is true, checked every
    `interval`; fails the test with `message` (or what it returns) after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"still not after {timeout:g} s: "
                                 f"{message() if callable(message) else message}")
        await asyncio.sleep(interval)


def idle(listener: Any) -> bool:
    """A broker Subscription or a help-request Watcher with nothing queued and its reader
    awaiting the next message: it has handled everything delivered to it so far (and a stream
    reading it is past the reads it makes right after subscribing). A subscription with an
    `on_message` callback handles each message as it is delivered: always idle. (Read from
    their insides: the broker has no public "waiting" to ask, and only tests need one.)"""
    if getattr(listener, "_on_message", None) is not None:
        return True
    return not listener._items and bool(listener._ready._waiters)


async def wait_for_subscribers(channel: str, count: int = 1, *, timeout: float = 10.0) -> None:
    """Until `count` local subscriptions on `channel` (at least) wait for their next message:
    subscribed (with Redis, the SUBSCRIBE confirmed: `subscribe()` has returned) and idle, so
    nothing published from now on can be missed."""
    broker = services().broker

    def listeners() -> list[Any]:
        return list(broker._local.get(channel, ()))

    await until(lambda: len(listeners()) >= count and all(map(idle, listeners())),
                lambda: f"{count} subscriber(s) waiting on {channel}; {len(listeners())} "
                        f"subscribed, {sum(map(idle, listeners()))} of them waiting",
                timeout=timeout)


async def wait_for_watchers(count: int, *, timeout: float = 10.0) -> None:
    """Until `count` helpRequestCreated streams (at least) wait for their next help request,
    and the process's matcher for its next event: every request created from now on reaches
    those it matches (and one created before has been handed to them)."""
    matcher = help_request_matcher()

    def watchers() -> list[Any]:
        return list(matcher.index._filters)

    def ready() -> bool:
        reader = matcher._subscription
        return (len(watchers()) >= count and all(map(idle, watchers()))
                and reader is not None and idle(reader))

    await until(ready, lambda: f"{count} help-request watcher(s) waiting; {len(watchers())} "
                               f"watching, {sum(map(idle, watchers()))} of them waiting",
                timeout=timeout)
