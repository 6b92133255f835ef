"""Volunteer, accounts and auth: types, inputs and the Query/Mutation fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from core import pii
from models.pii import PiiField
from models.team import Membership, MembershipRole, MembershipStatus
from models.team import Team as TeamModel
from models.volunteer import Volunteer as VolunteerModel
from resolvers import consent as consent_rules
from resolvers import volunteer as rules
from resolvers.auth import Viewer
from resolvers.hours import star_level
from resolvers.validation import (
    HOME_ADDRESS_MAX,
    PASSWORD_MIN,
    decode_tags,
    mask_address,
    mask_id_number,
    mask_phone,
)
from schema.consent import consents_of, history_of
from schema.context import Info
from schema.lazy import lazy_class
from schema.loaders import PointsBalanceByVolunteerLoader
from schema.pii import read_unmasked, reads_about
from schema.relay import BY_ID, Connection, Node, build_connection, check_first, paginate, register_node

if TYPE_CHECKING:
    from schema.activity import SignUp
    from schema.consent import Consent, ConsentRecord
    from schema.honour import Nomination
    from schema.hours import ServiceRecord
    from schema.pii import PiiAccess
    from schema.team import Team
    from schema.timebank import PointsEntry
    from schema.training import CourseEnrollment, Qualification

if TYPE_CHECKING:
    TeamRole: TypeAlias = MembershipRole
else:
    TeamRole = strawberry.enum(MembershipRole, name="TeamRole",
                               description="A member's role in a team.")

# Types of modules that load after this one (schema/lazy.py).
TeamRef = Annotated["Team", strawberry.lazy("schema.team")]
PointsEntryRef = Annotated["PointsEntry", strawberry.lazy("schema.timebank")]
SignUpRef = Annotated["SignUp", strawberry.lazy("schema.activity")]
QualificationRef = Annotated["Qualification", strawberry.lazy("schema.training")]
CourseEnrollmentRef = Annotated["CourseEnrollment", strawberry.lazy("schema.training")]
NominationRef = Annotated["Nomination", strawberry.lazy("schema.honour")]
ServiceRecordRef = Annotated["ServiceRecord", strawberry.lazy("schema.hours")]
PiiAccessRef = Annotated["PiiAccess", strawberry.lazy("schema.pii")]
ConsentRef = Annotated["Consent", strawberry.lazy("schema.consent")]
ConsentRecordRef = Annotated["ConsentRecord", strawberry.lazy("schema.consent")]


@strawberry.type(description="A real-name volunteer. Contact data is visible only to themself.")
class Volunteer(Node):
    model: strawberry.Private[VolunteerModel]
    display_name: str = strawberry.field(description="Name shown to others (real-name platform).")
    district: str = strawberry.field(description="District the volunteer serves in.")
    skills: list[str] = strawberry.field(description="Declared skills, e.g. 急救, 法律.")
    approved_hours: float = strawberry.field(description="Cumulative approved service hours.")
    volunteer_number: str = strawberry.field(description="Public volunteer number (志愿者编号).")

    @classmethod
    def from_model(cls, model: VolunteerModel) -> Volunteer:
        return cls(
            db_id=model.id,
            model=model,
            display_name=model.display_name,
            district=model.district,
            skills=decode_tags(model.skills),
            approved_hours=round(model.approved_hours, 2),
            volunteer_number=model.volunteer_number,
        )

    def _is_self(self, info: Info) -> bool:
        return info.context.viewer.id == self.db_id

    def _self_or_admin(self, info: Info) -> bool:
        return rules.can_see_pii(info.context.viewer, self.model)

    @strawberry.field(description="Star level (星级) from approved hours; thresholds are configurable.")
    def star_level(self) -> int:
        return star_level(self.model.approved_hours)

    @strawberry.field(description="Phone, masked (138****5678). Self and platform admins only.")
    def phone_masked(self, info: Info) -> str | None:
        if not self._self_or_admin(info):
            return None
        phone = pii.open_optional(self.model.phone_cipher, pii.PHONE)  # null once erased
        return mask_phone(phone) if phone else None

    @strawberry.field(description="ID number, masked. Self and platform admins only.")
    def id_number_masked(self, info: Info) -> str | None:
        if not self._self_or_admin(info):
            return None
        number = pii.open_optional(self.model.id_number_cipher, pii.ID_NUMBER)
        return mask_id_number(number) if number else None

    @strawberry.field(description="Full phone number. The volunteer themself only.")
    def phone(self, info: Info) -> str | None:
        return pii.open_optional(self.model.phone_cipher, pii.PHONE) if self._is_self(info) else None

    @strawberry.field(description="Exact home address. The volunteer themself only (sealed at "
                                  "rest; platform admins read `contactAddress`).")
    def home_address(self, info: Info) -> str | None:
        return pii.home_address_of(self.model) if self._is_self(info) else None

    @strawberry.field(description="Home address down to the district (北京市朝阳区****). Self "
                                  "and platform admins only; null for others or when none is given.")
    def home_address_masked(self, info: Info) -> str | None:
        if not self._self_or_admin(info):
            return None
        address = pii.home_address_of(self.model)
        return mask_address(address) if address else None

    @strawberry.field(description="Exact home address for a platform admin who must reach the "
                                  "person (a home visit, an emergency). Every read is recorded in "
                                  "the access log with the reason, which the person can see. Null "
                                  "for everyone else (the person reads `homeAddress`).")
    async def contact_address(
        self, info: Info,
        reason: Annotated[str, strawberry.argument(description="Why it is needed; recorded.")],
    ) -> str | None:
        return await read_unmasked(info, self.model, PiiField.ADDRESS, reason)

    @strawberry.field(description="Full phone number for a platform admin who must reach the "
                                  "person (a call-out, a dispute). Every read is recorded in the "
                                  "access log with the reason, which the person can see. Null for "
                                  "everyone else (the person reads `phone`).")
    async def contact_phone(
        self, info: Info,
        reason: Annotated[str, strawberry.argument(description="Why it is needed; recorded.")],
    ) -> str | None:
        return await read_unmasked(info, self.model, PiiField.PHONE, reason)

    @strawberry.field(description="Full ID number for a platform admin who must verify identity. "
                                  "Every read is recorded in the access log with the reason. Null "
                                  "for everyone else.")
    async def identity_number(
        self, info: Info,
        reason: Annotated[str, strawberry.argument(description="Why it is needed; recorded.")],
    ) -> str | None:
        return await read_unmasked(info, self.model, PiiField.ID_NUMBER, reason)

    @strawberry.field(description="Who read this person's unmasked personal data, newest first. "
                                  "The person themself and platform admins.")
    async def pii_access_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PiiAccessRef]:
        return await reads_about(info, self.db_id, first, after)

    @strawberry.field(description="Current consent per purpose (purposes never answered are "
                                  "absent). Self and platform admins; null for others.")
    async def consents(self, info: Info) -> list[ConsentRef] | None:
        return await consents_of(info, self.db_id) if self._self_or_admin(info) else None

    @strawberry.field(description="Every grant and withdrawal, newest first (last 200): version, "
                                  "when, from where, guardian. Self and platform admins.")
    async def consent_history(self, info: Info) -> list[ConsentRecordRef] | None:
        return await history_of(info, self.db_id) if self._self_or_admin(info) else None

    @strawberry.field(description="For volunteers aged 14–17, the minors' notice about how their "
                                  "data is handled; null otherwise. The volunteer themself only.")
    def minors_notice(self, info: Info) -> str | None:
        return consent_rules.minors_notice(self.model) if self._is_self(info) else None

    @strawberry.field(description="Derived from the ID number (MALE/FEMALE). Self and platform admins.")
    def gender(self, info: Info) -> str | None:
        return self.model.gender if self._self_or_admin(info) else None

    @strawberry.field(description="Derived from the ID number. Self and platform admins.")
    def birth_year(self, info: Info) -> int | None:
        return self.model.birth_date.year if self._self_or_admin(info) else None

    @strawberry.field(description="Account state: ACTIVE, PENDING_CONSENT or SUSPENDED. Self/admins.")
    def account_status(self, info: Info) -> str | None:
        return self.model.status.value if self._self_or_admin(info) else None

    @strawberry.field(description="Whether this volunteer is a platform admin.")
    def is_platform_admin(self) -> bool:
        return self.model.is_platform_admin

    @strawberry.field(description="Teams this volunteer is an approved member of; with role, "
                                  "only those where they hold that role (ADMIN: the teams they "
                                  "administer directly).")
    async def teams(
        self, info: Info, first: int | None = None, after: str | None = None,
        role: TeamRole | None = None,
    ) -> Connection[TeamRef]:
        size = check_first(first)
        loaders = info.context.loaders
        having = {"role": MembershipRole(role)} if role else {}
        memberships = await loaders.windowed(
            ("volunteer.teams", role), Membership, "volunteer_id", size + 1, after, BY_ID,
            status=MembershipStatus.APPROVED, **having,
        ).load(self.db_id)
        teams = await loaders.by_id(TeamModel).load_many([m.team_id for m in memberships])
        counter = loaders.counts(("volunteer.teams", role), Membership, "volunteer_id",
                                 status=MembershipStatus.APPROVED, **having)
        team = lazy_class(TeamRef)
        team_of = {m.id: team.from_model(t) for m, t in zip(memberships, teams, strict=True) if t}

        async def count() -> int:
            return await counter.load(self.db_id)

        return build_connection(
            [m for m in memberships if m.id in team_of], size, BY_ID, count,
            convert=lambda m: team_of[m.id], started_after=bool(after),
        )

    @strawberry.field(description="Points balance (爱心银行): the sum of the points ledger.")
    async def points(self, info: Info) -> int:
        return await info.context.loaders.named(PointsBalanceByVolunteerLoader).load(self.db_id)

    @strawberry.field(description="Points statement (爱心银行), newest first, each entry with the "
                                  "running balance. The volunteer themself and platform admins.")
    async def points_statement(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PointsEntryRef]:
        return await lazy_class(PointsEntryRef).statement_of(info, self.db_id, first, after)

    @strawberry.field(description="Sign-ups, newest first. The volunteer themself only.")
    async def sign_ups(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SignUpRef]:
        return await lazy_class(SignUpRef).of_volunteer(info, self.db_id, first, after)

    @strawberry.field(description="Qualifications held (expired ones included, marked). "
                                  "Self, platform admins and admins of the volunteer's teams; "
                                  "null for others.")
    async def qualifications(
        self, info: Info
    ) -> list[QualificationRef] | None:
        return await lazy_class(QualificationRef).of_volunteer(info, self.db_id)

    @strawberry.field(description="Honours awarded (表彰), latest decision first.")
    async def honours(
        self, info: Info
    ) -> list[NominationRef]:
        return await lazy_class(NominationRef).honours_of(info, self.db_id)

    @strawberry.field(description="Course enrolments, newest first. Self, platform admins and "
                                  "admins of the volunteer's teams (others: FORBIDDEN).")
    async def courses(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CourseEnrollmentRef]:
        return await lazy_class(CourseEnrollmentRef).of_volunteer(info, self.db_id, first, after)

    @strawberry.field(description="Service records, newest first: all for the volunteer "
                                  "themself and platform admins, approved ones for others.")
    async def service_records(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ServiceRecordRef]:
        return await lazy_class(ServiceRecordRef).of_volunteer(info, self.db_id, first, after)


def volunteer_loader(info: Info):  # type: ignore[no-untyped-def]
    return info.context.loaders.by_id(VolunteerModel)


async def load_volunteer(info: Info, volunteer_id: int | None) -> Volunteer | None:
    if volunteer_id is None:
        return None
    model = await volunteer_loader(info).load(volunteer_id)
    return Volunteer.from_model(model) if model is not None else None


@strawberry.type(description="A message a volunteer sent (chat, service desk).")
class SentByVolunteer(Node):
    """The sender's fields of a message type: its name, the person (masked as everywhere) and
    the sender's own retry key, which only the sender reads back."""
    author_id: strawberry.Private[int]
    known_author_name: strawberry.Private[str | None]
    own_client_id: strawberry.Private[str]

    @strawberry.field(description="The sender's display name.")
    async def author_name(self, info: Info) -> str:
        if self.known_author_name is not None:
            return self.known_author_name
        author = await load_volunteer(info, self.author_id)
        return author.display_name if author else ""

    @strawberry.field(description="The sender (personal data masked as everywhere).")
    async def author(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.author_id)

    @strawberry.field(description="The sender's own retry key (null for everyone else).")
    def client_id(self, info: Info) -> str | None:
        return self.own_client_id if info.context.viewer.id == self.author_id else None


async def require_volunteer(info: Info, volunteer_id: int) -> Volunteer:
    """A volunteer a foreign key guarantees (authors, sign-ups, records are RESTRICTed)."""
    volunteer = await load_volunteer(info, volunteer_id)
    assert volunteer is not None
    return volunteer


async def _node(info: Info, db_id: int) -> Volunteer | None:
    return await load_volunteer(info, db_id)


register_node("Volunteer", _node)


@strawberry.type(description="A session token and the signed-in volunteer.")
class AuthPayload:
    token: str = strawberry.field(description="Bearer token for the Authorization header.")
    volunteer: Volunteer = strawberry.field(description="The signed-in volunteer.")


PHONE_DESCRIPTION = ("Mainland mobile number, 11 digits starting with 1; a +86, 0086 or 86 prefix, "
                     "spaces and hyphens are ignored.")


@strawberry.input(description="Registration with real-name data and explicit consent.")
class RegisterInput:
    phone: str = strawberry.field(description=PHONE_DESCRIPTION)
    password: str = strawberry.field(description=f"At least {PASSWORD_MIN} characters.")
    real_name: str = strawberry.field(description="Legal name as on the ID card.")
    id_number: str = strawberry.field(description="18-character resident ID number (GB 11643).")
    district: str = strawberry.field(description="District the volunteer serves in.")
    consent: bool = strawberry.field(description="Explicit acceptance of the service terms.")
    skills: list[str] | None = strawberry.field(default=None, description="Skills.")
    display_name: str | None = strawberry.field(default=None, description="Defaults to the real name.")
    guardian_name: str | None = strawberry.field(
        default=None, description="Under 14 only, and then required: the parent or guardian who "
                                  "consents for the volunteer (recorded with the consent).")
    guardian_relation: str | None = strawberry.field(
        default=None, description="The guardian's relation to the volunteer, e.g. 父亲, 母亲.")


@strawberry.input(description="Profile changes; omitted fields stay as they are.")
class ProfileInput:
    display_name: str | None = None
    district: str | None = None
    skills: list[str] | None = None
    current_password: str | None = strawberry.field(default=None, description="Needed to change it.")
    new_password: str | None = None
    home_address: str | None = strawberry.field(
        default=None, description=f"Exact home address (≤ {HOME_ADDRESS_MAX} characters), sealed at "
                                  "rest and shown unmasked only to yourself; an empty string removes it.")


def auth_payload(token: str, model: VolunteerModel) -> AuthPayload:
    return AuthPayload(token=token, volunteer=Volunteer.from_model(model))


@strawberry.type
class VolunteerQuery:
    @strawberry.field(description="The signed-in volunteer, or null when anonymous.")
    def me(self, info: Info) -> Volunteer | None:
        volunteer = info.context.viewer.volunteer
        return Volunteer.from_model(volunteer) if volunteer else None

    @strawberry.field(description="Search volunteers: platform admins see all, team admins their teams.")
    async def volunteers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        district: str | None = None,
        skill: str | None = None,
        search: str | None = None,
        qualification: Annotated[str | None, strawberry.argument(
            description="Only holders of this qualification, valid now (e.g. 急救员).")] = None,
    ) -> Connection[Volunteer]:
        query = await rules.search_volunteers(
            info.context.viewer, district=district, skill=skill, search=search,
            qualification=qualification,
        )
        return await paginate(query, first, after, convert=Volunteer.from_model)


@strawberry.type
class VolunteerMutation:
    @strawberry.mutation(description="Register with real-name data; returns a session token.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        token, model = await rules.do_register(
            rules.RegisterData(
                phone=input.phone,
                password=input.password,
                real_name=input.real_name,
                id_number=input.id_number,
                district=input.district,
                consent=input.consent,
                skills=input.skills,
                display_name=input.display_name,
                guardian_name=input.guardian_name,
                guardian_relation=input.guardian_relation,
                client_address=info.context.client_address,
            )
        )
        info.context.viewer = Viewer(model)
        return auth_payload(token, model)

    @strawberry.mutation(description="Sign in with phone and password (throttled).")
    async def login(
        self, info: Info,
        phone: Annotated[str, strawberry.argument(description=PHONE_DESCRIPTION)],
        password: str,
    ) -> AuthPayload:
        token, model = await rules.do_login(phone, password, info.context.client_address)
        info.context.viewer = Viewer(model)
        return auth_payload(token, model)

    @strawberry.mutation(description="Change your own profile.")
    async def update_profile(self, info: Info, input: ProfileInput) -> Volunteer:
        model = await rules.do_update_profile(
            info.context.viewer,
            rules.ProfileData(
                display_name=input.display_name,
                district=input.district,
                skills=input.skills,
                current_password=input.current_password,
                new_password=input.new_password,
                home_address=input.home_address,
            ),
        )
        return Volunteer.from_model(model)


__all__ = ["AuthPayload", "Viewer", "Volunteer", "VolunteerMutation", "VolunteerQuery"]
