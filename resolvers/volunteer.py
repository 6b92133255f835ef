"""Accounts: registration with real-name checks, login, profile, admin search."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core import pii
from core.settings import get_settings
from models.consent import ConsentPurpose
from models.team import Membership
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer, hash_password, issue_token, verify_password
from resolvers.consent import check_guardian, record_consent
from resolvers.errors import BadInput, Conflict, Forbidden, Unauthenticated
from resolvers.services import services
from resolvers.team import administered_team_ids
from resolvers.training import valid_qualification_holders
from resolvers.validation import (
    HOME_ADDRESS_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    check_id_number,
    check_password,
    check_phone,
    check_tags,
    check_text,
    encode_tags,
    normalise_phone,
)


@dataclass
class RegisterData:
    phone: str
    password: str
    real_name: str
    id_number: str
    district: str
    consent: bool
    skills: list[str] | None = None
    display_name: str | None = None
    # Under 14 (PIPL Art. 31): the parent or guardian whose consent is recorded.
    guardian_name: str | None = None
    guardian_relation: str | None = None
    client_address: str = "unknown"


@dataclass
class ProfileData:
    display_name: str | None = None
    district: str | None = None
    skills: list[str] | None = None
    current_password: str | None = None
    new_password: str | None = None
    # The exact home address; "" removes it. Sealed at rest (core/pii.py).
    home_address: str | None = None


def new_volunteer_number() -> str:
    return "TX" + "".join(secrets.choice("0123456789") for _ in range(12))


async def check_register(data: RegisterData) -> dict[str, Any]:
    if not data.consent:
        raise BadInput("consent", "You must accept the service terms to register.")
    phone = check_phone(data.phone)
    password = check_password(data.password)
    real_name = check_text(data.real_name, "realName", max_len=NAME_MAX)
    identity = check_id_number(data.id_number)
    check_guardian(identity.birth_date, data.guardian_name, data.guardian_relation)
    district = check_text(data.district, "district", max_len=NAME_MAX)
    skills = check_tags(data.skills, "skills")
    display_name = check_text(data.display_name or real_name, "displayName", max_len=NAME_MAX)
    same_id = pii.with_id_number(identity.id_number)
    existing = await Volunteer.filter(Q(**same_id) | Q(**pii.with_phone(phone))).first()
    if existing is not None:
        if existing.status == VolunteerStatus.PENDING_CONSENT:
            raise Conflict(
                "An organisation already registered you; claim your account instead.",
                field="idNumber",
            )
        if existing.id_number_index in same_id["id_number_index__in"]:
            raise Conflict("This ID number already has an account.", field="idNumber")
        raise Conflict("This phone number already has an account.", field="phone")
    return {
        **pii.identity_columns(phone, identity.id_number),
        "password_hash": await hash_password(password),
        "real_name": real_name,
        "display_name": display_name,
        "gender": identity.gender,
        "birth_date": identity.birth_date,
        "district": district,
        "skills": encode_tags(skills),
    }


async def do_register(data: RegisterData) -> tuple[str, Volunteer]:
    """The account and its REGISTRATION consent (with the guardian's, under 14) in one
    transaction."""
    fields = await check_register(data)
    guardian = check_guardian(fields["birth_date"], data.guardian_name, data.guardian_relation)
    try:
        async with in_transaction() as connection:
            volunteer = await Volunteer.create(
                **fields,
                status=VolunteerStatus.ACTIVE,
                consented_at=datetime.now(timezone.utc),
                volunteer_number=new_volunteer_number(),
                using_db=connection,
            )
            await record_consent(volunteer.id, ConsentPurpose.REGISTRATION, True,
                                 data.client_address, guardian=guardian, using_db=connection)
    except IntegrityError:
        raise Conflict("This ID number or phone already has an account.", field="idNumber") from None
    return issue_token(volunteer.id), volunteer


async def do_login(phone: str, password: str, client_address: str) -> tuple[str, Volunteer]:
    """A phone that is no mobile number is answered, and throttled, like a wrong password;
    every way of typing one number shares that number's throttle."""
    settings = get_settings()
    limiter = services().limiter
    number = normalise_phone(phone)
    phone_key = f"login:phone:{number or (phone or '').strip()}"
    await limiter.hit(f"login:addr:{client_address}", settings.login_attempts_per_address,
                      settings.login_window_seconds)
    await limiter.hit(phone_key, settings.login_attempts_per_phone, settings.login_window_seconds)
    volunteer = await Volunteer.get_or_none(**pii.with_phone(number)) if number else None
    ok = await verify_password(password or "", volunteer.password_hash if volunteer else None)
    if volunteer is None or not ok:
        raise Unauthenticated("Wrong phone number or password.", reason="BAD_CREDENTIALS")
    if volunteer.status == VolunteerStatus.PENDING_CONSENT:
        raise Unauthenticated("This account was imported; claim it first.", reason="PENDING_CONSENT")
    await limiter.reset(phone_key)
    return issue_token(volunteer.id), volunteer


async def do_update_profile(viewer: Viewer, data: ProfileData) -> Volunteer:
    volunteer = viewer.require()
    changes: dict[str, object] = {}
    if data.display_name is not None:
        changes["display_name"] = check_text(data.display_name, "displayName", max_len=NAME_MAX)
    if data.district is not None:
        changes["district"] = check_text(data.district, "district", max_len=NAME_MAX)
    if data.skills is not None:
        changes["skills"] = encode_tags(check_tags(data.skills, "skills"))
    if data.home_address is not None:
        address = check_text(data.home_address, "homeAddress", max_len=HOME_ADDRESS_MAX,
                             required=False)
        changes["home_address_cipher"] = pii.seal(address, pii.HOME_ADDRESS) if address else None
    if data.new_password is not None:
        new_password = check_password(data.new_password, "newPassword")
        if not await verify_password(data.current_password or "", volunteer.password_hash):
            raise BadInput("currentPassword", "Current password is wrong.")
        changes["password_hash"] = await hash_password(new_password)
    if changes:
        await Volunteer.filter(id=volunteer.id).update(**changes)
        await volunteer.refresh_from_db()
    return volunteer


async def search_volunteers(
    viewer: Viewer,
    *,
    district: str | None = None,
    skill: str | None = None,
    search: str | None = None,
    qualification: str | None = None,
) -> QuerySet[Volunteer]:
    """Platform admins search everyone; team admins search the people of their teams.
    `qualification` keeps holders of that qualification valid now (expired ones do not count)."""
    volunteer = viewer.require()
    query = Volunteer.all()
    if not volunteer.is_platform_admin:
        team_ids = await administered_team_ids(volunteer.id)
        if not team_ids:
            raise Forbidden("Only platform admins and team admins can search volunteers.")
        members = Membership.filter(team_id__in=team_ids).values("volunteer_id")
        query = query.filter(id__in=Subquery(members))
    if district:
        query = query.filter(district=check_text(district, "district", max_len=NAME_MAX))
    if skill:
        query = query.filter(skills__contains=f",{check_text(skill, 'skill', max_len=30)},")
    if search:
        term = check_text(search, "search", max_len=SHORT_TEXT_MAX)
        query = query.filter(Q(display_name__icontains=term) | Q(real_name__icontains=term))
    if qualification:
        name = check_text(qualification, "qualification", max_len=NAME_MAX)
        holders = valid_qualification_holders(name).values("volunteer_id")
        query = query.filter(id__in=Subquery(holders))
    return query


def can_see_pii(viewer: Viewer, volunteer: Volunteer) -> bool:
    """Self sees their own contact data; platform admins see it masked like everyone's."""
    return viewer.id == volunteer.id or viewer.is_platform_admin
