"""Service hours, recognition and certificates: types and the Query/Mutation fields."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry

from models.hours import Certificate as CertificateModel
from models.hours import HoursAudit as HoursAuditModel
from models.hours import HoursStatus as HoursStatusModel
from models.hours import ServiceRecord as ServiceRecordModel
from resolvers import certificate as certificates
from resolvers import hours as rules
from resolvers import station
from resolvers.errors import Forbidden
from schema.activity import Activity, SignUp, activity_loader
from schema.context import Info, administered_teams
from schema.relay import (
    NEWEST_FIRST,
    Connection,
    Node,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
)
from schema.volunteer import Volunteer, load_volunteer, require_volunteer

if TYPE_CHECKING:
    HoursStatus: TypeAlias = HoursStatusModel
else:
    HoursStatus = strawberry.enum(
        HoursStatusModel, name="HoursStatus",
        description="Review state of claimed hours: only APPROVED hours count.",
    )


def record_loader(info: Info):  # type: ignore[no-untyped-def]
    return info.context.loaders.by_id(ServiceRecordModel)


async def _may_review(info: Info, record: ServiceRecordModel) -> bool:
    """The volunteer themself, platform admins and admins of the activity's team."""
    viewer = info.context.viewer
    if viewer.id is None:
        return False
    if viewer.id == record.volunteer_id or viewer.is_platform_admin:
        return True
    activity = await activity_loader(info).load(record.activity_id)
    return activity is not None and rules.team_id_of(activity) in await administered_teams(info)


@strawberry.type(description="One entry of a record's append-only audit trail.")
class HoursAuditEntry:
    model: strawberry.Private[HoursAuditModel]
    action: str = strawberry.field(
        description="CLAIM, CLOSE_OUT, OFFLINE_CLAIM, AUTO_CLOSE, APPROVE, ADJUST or REJECT.")
    hours_before: float | None = strawberry.field(description="Hours before the change.")
    hours_after: float | None = strawberry.field(description="Hours after the change.")
    status_before: HoursStatus | None = strawberry.field(description="Status before the change.")
    status_after: HoursStatus = strawberry.field(description="Status after the change.")
    reason: str | None = strawberry.field(description="Why (required for adjust and reject).")
    created_at: datetime = strawberry.field(description="When the change was made.")

    @classmethod
    def from_model(cls, model: HoursAuditModel) -> HoursAuditEntry:
        return cls(
            model=model, action=model.action, hours_before=model.hours_before,
            hours_after=model.hours_after,
            status_before=HoursStatusModel(model.status_before) if model.status_before else None,
            status_after=HoursStatusModel(model.status_after), reason=model.reason,
            created_at=model.created_at,
        )

    @strawberry.field(description="Who made the change.")
    async def actor(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.actor_id)


@strawberry.type(description="Hours served at one activity (one per attended sign-up).")
class ServiceRecord(Node):
    model: strawberry.Private[ServiceRecordModel]
    hours: float = strawberry.field(
        description="Hours as approved or adjusted (as claimed until then).")
    hours_claimed: float = strawberry.field(
        description="Time on site from check-in to check-out, capped by the activity's length.")
    status: HoursStatus = strawberry.field(description="PENDING, APPROVED or REJECTED.")
    approved_at: datetime | None = strawberry.field(
        description="When the hours were approved (the moment they started to count).")
    created_at: datetime = strawberry.field(description="When the volunteer checked out.")
    needs_review: bool = strawberry.field(
        description="No check-out was recorded: the attendance job closed the check-in at the "
                    "activity's end. Look before approving.")

    @classmethod
    def from_model(cls, model: ServiceRecordModel) -> ServiceRecord:
        return cls(
            db_id=model.id, model=model, hours=round(model.hours, 2),
            needs_review=bool(model.needs_review),
            hours_claimed=round(model.hours_claimed, 2), status=HoursStatusModel(model.status),
            approved_at=model.approved_at, created_at=model.created_at,
        )

    @classmethod
    async def of_volunteer(
        cls, info: Info, volunteer_id: int, first: int | None, after: str | None
    ) -> Connection[ServiceRecord]:
        """`Volunteer.serviceRecords`: all for self and platform admins, approved for others."""
        check_first(first)
        equals = rules.list_volunteer_records(info.context.viewer, volunteer_id)
        return await info.context.loaders.child_page(
            ("volunteer.service_records", tuple(sorted(equals))), ServiceRecordModel,
            "volunteer_id", volunteer_id, first, after, NEWEST_FIRST, convert=cls.from_model,
            **equals)

    @strawberry.field(description="The activity served at.")
    async def activity(self, info: Info) -> Activity:
        return Activity.from_model(await activity_loader(info).load(self.model.activity_id))

    @strawberry.field(description="The volunteer who served.")
    async def volunteer(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.volunteer_id)

    @strawberry.field(description="The admin who approved the hours; null unless APPROVED.")
    async def approved_by(self, info: Info) -> Volunteer | None:
        if self.model.status != HoursStatusModel.APPROVED:
            return None
        return await load_volunteer(info, self.model.approved_by_id)

    @strawberry.field(description="Every change, oldest first (the volunteer and team admins).")
    async def audit(self, info: Info) -> list[HoursAuditEntry]:
        if not await _may_review(info, self.model):
            raise Forbidden("Only the volunteer and the team's admins see the audit trail.")
        rows = await info.context.loaders.grouped(
            "hours.audit", HoursAuditModel, "record_id").load(self.db_id)
        return [HoursAuditEntry.from_model(row) for row in rows]


async def _record_node(info: Info, db_id: int) -> ServiceRecord | None:
    model = await record_loader(info).load(db_id)
    if model is None:
        return None
    if model.status != HoursStatusModel.APPROVED and not await _may_review(info, model):
        return None
    return ServiceRecord.from_model(model)


register_node("ServiceRecord", _record_node)


@strawberry.type(description="One activity on a certificate, frozen at issue.")
class CertificateEntry:
    activity_title: str = strawberry.field(description="Activity title at issue time.")
    team: str = strawberry.field(description="Organising team at issue time.")
    starts_at: datetime = strawberry.field(description="Start of the activity.")
    ends_at: datetime = strawberry.field(description="End of the activity.")
    hours: float = strawberry.field(description="Approved hours.")
    date: str = strawberry.field(description="Service date (Beijing), YYYY-MM-DD.")


@strawberry.type(description="A service-record certificate (志愿服务记录证明); immutable after "
                             "issue, verifiable by anyone with its code.")
class Certificate:
    content: strawberry.Private[dict[str, Any]]
    code: str = strawberry.field(description="Verification code (unguessable).")
    serial_number: str = strawberry.field(description="Human-readable serial number.")
    volunteer_name: str = strawberry.field(description="Real name of the volunteer.")
    id_type: str = strawberry.field(description="Type of identity document.")
    id_number_masked: str = strawberry.field(description="Identity number, masked.")
    volunteer_number: str = strawberry.field(description="Volunteer number (志愿者编号).")
    teams: list[str] = strawberry.field(description="Teams the volunteer belonged to at issue.")
    total_hours: float = strawberry.field(description="Total approved hours.")
    issuer: str = strawberry.field(description="Issuing organisation.")
    issuer_contact: str = strawberry.field(description="Contact of the issuing organisation.")
    issuer_principal: str = strawberry.field(
        description="Person in charge of the issuing organisation (负责人).")
    issuer_handler: str = strawberry.field(description="Who handled the issue (经办人).")
    verification_url: str = strawberry.field(
        description="Public verification page (the PDF's QR code opens it); shows the "
                    "certificate masked.")
    pdf_url: str = strawberry.field(description="The certificate as a PDF.")
    superseded: bool = strawberry.field(
        description="True once a correction reissued it (or its holder deleted the account).")
    issued_at: datetime = strawberry.field(description="Issue date and time.")
    entries: list[CertificateEntry] = strawberry.field(
        description="Each activity with its dates and approved hours, as frozen at issue.")

    @classmethod
    def from_model(cls, model: CertificateModel, *, masked: bool = False) -> Certificate:
        """`masked`: for anyone but the holder, the real name as the public page shows it."""
        content = model.content
        url = certificates.verification_url(model.code)
        return cls(
            content=content, code=model.code, serial_number=content["serialNumber"],
            issuer_principal=content["issuer"].get("principal", ""),
            issuer_handler=content["issuer"].get("handler", ""),
            verification_url=url, pdf_url=f"{url}.pdf",
            superseded=model.superseded_at is not None,
            volunteer_name=certificates.mask_real_name(content["volunteerName"]) if masked
            else content["volunteerName"], id_type=content["idType"],
            id_number_masked=content["idNumberMasked"],
            volunteer_number=content["volunteerNumber"], teams=list(content["teams"]),
            total_hours=content["totalHours"], issuer=content["issuer"]["name"],
            issuer_contact=content["issuer"]["contact"],
            issued_at=datetime.fromisoformat(content["issuedAt"]),
            entries=[
                CertificateEntry(
                    activity_title=entry["activityTitle"], team=entry["team"],
                    starts_at=datetime.fromisoformat(entry["startsAt"]),
                    ends_at=datetime.fromisoformat(entry["endsAt"]), hours=entry["hours"],
                    date=entry.get("date") or entry["startsAt"][:10],
                )
                for entry in content["records"]
            ],
        )

    @strawberry.field(description="The certified service records (hours as frozen at issue).")
    def records(self) -> list[ServiceRecord]:
        return [
            ServiceRecord.from_model(ServiceRecordModel(
                id=entry["recordId"], activity_id=entry["activityId"],
                volunteer_id=self.content["volunteerId"], hours=entry["hours"],
                hours_claimed=entry["hours"], status=HoursStatusModel.APPROVED,
                approved_at=datetime.fromisoformat(entry["approvedAt"])
                if entry.get("approvedAt") else None,
                created_at=datetime.fromisoformat(entry["approvedAt"] or self.content["issuedAt"]),
            ))
            for entry in self.content["records"]
        ]


@strawberry.type
class HoursQuery:
    @strawberry.field(description="Check a certificate by its code (public). Null if unknown. "
                                  "The real name is masked for anyone but its holder.")
    async def verify_certificate(self, info: Info, code: str) -> Certificate | None:
        model = await certificates.verify_certificate(code)
        if model is None:
            return None
        return Certificate.from_model(model, masked=info.context.viewer.id != model.volunteer_id)

    @strawberry.field(description="Service records of a team's (and its sub-teams') activities, "
                                  "newest first; team admins only. Filter by status to review.")
    async def service_records(
        self,
        info: Info,
        team_id: strawberry.ID,
        status: HoursStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        needs_review: Annotated[bool | None, strawberry.argument(
            description="true: only records the attendance job closed.")] = None,
    ) -> Connection[ServiceRecord]:
        query = await rules.list_team_records(
            info.context.viewer, decode_id(team_id, "Team", "teamId"), status)
        if needs_review is not None:
            query = query.filter(needs_review=needs_review)
        return await paginate(query, first, after, convert=ServiceRecord.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class HoursMutation:
    @strawberry.mutation(description="Check in at an activity you are confirmed for: from an hour "
                                     "before the start to the end; code and location if required.")
    async def check_in(
        self,
        info: Info,
        activity_id: strawberry.ID,
        code: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> SignUp:
        model = await rules.do_check_in(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"), code,
            latitude, longitude)
        await station.mark_operating(model.id)
        return SignUp.from_model(model)

    @strawberry.mutation(description="Check out; creates the service record with the claimed "
                                     "hours, pending approval.")
    async def check_out(
        self, info: Info, activity_id: strawberry.ID,
        volunteer_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Team admins: close out a volunteer who forgot to check out (time "
                        "counts until the activity's end at the latest).")] = None,
    ) -> SignUp:
        model = await rules.do_check_out(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"),
            volunteer_id=decode_optional_id(volunteer_id, "Volunteer", "volunteerId"))
        await station.mark_operating(model.id)
        return SignUp.from_model(model)

    @strawberry.mutation(description="Approve claimed hours, or approve other hours with a reason "
                                     "(adjustment). Team admins of the activity only.")
    async def approve_hours(
        self,
        info: Info,
        record_id: strawberry.ID,
        hours: float | None = None,
        reason: str | None = None,
    ) -> ServiceRecord:
        change = await rules.do_approve_hours(
            info.context.viewer, decode_id(record_id, "ServiceRecord", "recordId"), hours, reason)
        return ServiceRecord.from_model(change.record)

    @strawberry.mutation(description="Reject hours (also after approval) with a reason.")
    async def reject_hours(
        self, info: Info, record_id: strawberry.ID, reason: str
    ) -> ServiceRecord:
        change = await rules.do_reject_hours(
            info.context.viewer, decode_id(record_id, "ServiceRecord", "recordId"), reason)
        return ServiceRecord.from_model(change.record)

    @strawberry.mutation(description="Issue a certificate of your approved hours (free of charge).")
    async def issue_certificate(self, info: Info) -> Certificate:
        return Certificate.from_model(await certificates.do_issue_certificate(info.context.viewer))
