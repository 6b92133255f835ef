"""Shared test helpers: people factories, GraphQL execution, SQL statement counting."""

from __future__ import annotations

import contextlib
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
from resolvers.maintenance import make_id_number
from resolvers.pii import install_append_only
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
