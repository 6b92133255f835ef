"""Requests about one's own data (copy, correction, deletion): types and fields."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.privacy import DataRequest as DataRequestModel
from models.privacy import DataRequestKind as DataRequestKindModel
from models.privacy import DataRequestStatus as DataRequestStatusModel
from resolvers import privacy as rules
from schema.context import Info
from schema.relay import (
    NEWEST_FIRST,
    Connection,
    Node,
    decode_id,
    paginate,
    register_node,
    to_global_id,
)

if TYPE_CHECKING:
    DataRequestKind: TypeAlias = DataRequestKindModel
    DataRequestStatus: TypeAlias = DataRequestStatusModel
else:
    DataRequestKind = strawberry.enum(
        DataRequestKindModel, name="DataRequestKind",
        description="EXPORT: a copy of all your data; CORRECTION: a profile field; "
                    "RECORD_CORRECTION: a service record's hours; DELETION: your account.")
    DataRequestStatus = strawberry.enum(
        DataRequestStatusModel, name="DataRequestStatus",
        description="PENDING → (PROCESSING → READY, exports) → DONE, or REFUSED with a reason.")


@strawberry.type(description="A request about your own data and the decision on it (PIPL "
                             "art. 45–47, 50). Refusals carry their reason.")
class DataRequest(Node):
    kind: DataRequestKind = strawberry.field(description="What was asked.")
    status: DataRequestStatus = strawberry.field(description="Where it stands.")
    field: str | None = strawberry.field(description="CORRECTION: the profile field.")
    requested_value: str | None = strawberry.field(
        description="CORRECTION: the value asked for (cleared when the account is deleted).")
    record_id: strawberry.ID | None = strawberry.field(
        description="RECORD_CORRECTION: the service record.")
    requested_hours: float | None = strawberry.field(
        description="RECORD_CORRECTION: the hours asked for.")
    reason: str = strawberry.field(description="Why the person asked.")
    decision_reason: str | None = strawberry.field(
        description="Why it was granted or refused (always given for a refusal).")
    decided_at: datetime | None = strawberry.field(description="When it was decided or done.")
    created_at: datetime = strawberry.field(description="When it was asked.")
    archive_bytes: int | None = strawberry.field(description="EXPORT: size of the archive.")

    @classmethod
    def from_model(cls, model: DataRequestModel) -> DataRequest:
        return cls(
            db_id=model.id, kind=model.kind, status=model.status,
            field=model.field, requested_value=model.requested_value,
            record_id=to_global_id("ServiceRecord", model.record_id) if model.record_id else None,
            requested_hours=model.requested_hours, reason=model.reason,
            decision_reason=model.decision_reason, decided_at=model.decided_at,
            created_at=model.created_at, archive_bytes=model.archive_bytes)


async def _request_node(info: Info, db_id: int) -> DataRequest | None:
    model = await rules.visible_request(info.context.viewer, db_id)
    return DataRequest.from_model(model) if model else None


register_node("DataRequest", _request_node)


@strawberry.type(description="A one-time download link of your data archive.")
class ArchiveLink:
    url: str = strawberry.field(description="Open once; the archive is removed after download.")
    expires_at: datetime = strawberry.field(description="The link stops working at this time.")


@strawberry.type
class PrivacyQuery:
    @strawberry.field(description="Your requests about your own data, newest first.")
    async def my_data_requests(self, info: Info, first: int | None = None,
                               after: str | None = None) -> Connection[DataRequest]:
        return await paginate(rules.list_own_requests(info.context.viewer), first, after,
                              convert=DataRequest.from_model, order=NEWEST_FIRST)

    @strawberry.field(description="Corrections waiting for your decision: all of them for "
                                  "platform admins, your teams' records for team admins.")
    async def pending_data_requests(self, info: Info, first: int | None = None,
                                    after: str | None = None) -> Connection[DataRequest]:
        query = await rules.list_pending_requests(info.context.viewer)
        return await paginate(query, first, after, convert=DataRequest.from_model)


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(description="Ask for a complete copy of your data (a ZIP of JSON). It "
                                     "is built in the background; then ask for dataArchiveLink.")
    async def request_data_export(self, info: Info) -> DataRequest:
        return DataRequest.from_model(await rules.do_request_export(info.context.viewer))

    @strawberry.mutation(description="A one-time link to your built data archive, valid for a "
                                     "few minutes.")
    async def data_archive_link(self, info: Info, request_id: strawberry.ID) -> ArchiveLink:
        link = await rules.do_create_archive_link(
            info.context.viewer, decode_id(request_id, "DataRequest", "requestId"))
        return ArchiveLink(url=link.url, expires_at=link.expires_at)

    @strawberry.mutation(description="Ask for a profile field to be corrected (realName: "
                                     "others you edit yourself or follow from your ID "
                                     "number); a platform admin decides with a reason.")
    async def request_correction(self, info: Info, field: str, value: str,
                                 reason: str) -> DataRequest:
        return DataRequest.from_model(
            await rules.do_request_correction(info.context.viewer, field, value, reason))

    @strawberry.mutation(description="Ask the organiser to correct the hours of one of your "
                                     "service records; granted, your certificates are reissued.")
    async def request_record_correction(self, info: Info, record_id: strawberry.ID,
                                        hours: float, reason: str) -> DataRequest:
        return DataRequest.from_model(await rules.do_request_record_correction(
            info.context.viewer, decode_id(record_id, "ServiceRecord", "recordId"), hours,
            reason))

    @strawberry.mutation(description="Grant or refuse a correction request, with a reason.")
    async def decide_data_request(self, info: Info, id: strawberry.ID, approve: bool,
                                  reason: str) -> DataRequest:
        return DataRequest.from_model(await rules.do_decide_request(
            info.context.viewer, decode_id(id, "DataRequest", "id"), approve, reason))

    @strawberry.mutation(description="Delete your account: your personal data is erased, your "
                                     "service records are kept without your identity, and you "
                                     "can no longer sign in. Cannot be undone.")
    async def delete_account(
        self, info: Info,
        password: Annotated[str, strawberry.argument(
            description="Your password, to confirm (BAD_USER_INPUT if wrong).")],
        reason: Annotated[str | None, strawberry.argument(
            description="Why you leave (optional).")] = None,
    ) -> DataRequest:
        return DataRequest.from_model(
            await rules.do_delete_account(info.context.viewer, password, reason or ""))
