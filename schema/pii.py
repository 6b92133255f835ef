"""Personal information: unmasked reads recorded in the access log, and the log itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from core import pii
from models.pii import PiiAccess as PiiAccessModel
from models.pii import PiiField as PiiFieldModel
from models.volunteer import Volunteer as VolunteerModel
from resolvers import pii as rules
from schema.context import Info
from schema.lazy import lazy_class
from schema.loaders import NamedLoader
from schema.relay import NEWEST_FIRST, Connection, Node, decode_id, paginate

if TYPE_CHECKING:
    from schema.volunteer import Volunteer

VolunteerRef = Annotated["Volunteer", strawberry.lazy("schema.volunteer")]

PiiField = PiiFieldModel
strawberry.enum(PiiFieldModel, name="PiiField", description="A personal field whose unmasked value "
                "was read, or EXPORT: personal rows exported whole.")


class PiiReadRecorder(NamedLoader[rules.PiiRead, None]):
    """The request's unmasked reads, written in one INSERT per batch before any value returns."""

    async def batch_load(self, reads: list[rules.PiiRead]) -> Sequence[None]:
        await rules.do_record_pii_reads(reads)
        return [None] * len(reads)


async def read_unmasked(info: Info, person: VolunteerModel, field: PiiFieldModel,
                        reason: str) -> str | None:
    """The unmasked value for a platform admin, recorded first; None for everyone else."""
    viewer = info.context.viewer
    checked = rules.check_pii_read(viewer, person.id, reason)
    if checked is None or viewer.id is None:
        return None
    sealed, column = {
        PiiFieldModel.PHONE: (person.phone_cipher, pii.PHONE),
        PiiFieldModel.ID_NUMBER: (person.id_number_cipher, pii.ID_NUMBER),
        PiiFieldModel.ADDRESS: (person.home_address_cipher, pii.HOME_ADDRESS),
    }[field]
    if sealed is None:  # erased, or no address given
        return None
    await info.context.loaders.named(PiiReadRecorder).load(
        rules.PiiRead(viewer.id, person.id, field, checked, info.context.client_address))
    return pii.open_sealed(sealed, column)


@strawberry.type(description="One read of a person's unmasked personal data (append-only).")
class PiiAccess(Node):
    model: strawberry.Private[PiiAccessModel]
    field: PiiField = strawberry.field(description="What was read.")
    reason: str = strawberry.field(description="The reason the reader gave.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, model: PiiAccessModel) -> PiiAccess:
        return cls(db_id=model.id, model=model, field=PiiFieldModel(model.field),
                   reason=model.reason, created_at=model.created_at)

    @strawberry.field(description="Who read it.")
    async def viewer(self, info: Info) -> VolunteerRef | None:
        found = await info.context.loaders.by_id(VolunteerModel).load(self.model.viewer_id)
        return lazy_class(VolunteerRef).from_model(found) if found else None

    @strawberry.field(description="Whose data it was.")
    async def subject(self, info: Info) -> VolunteerRef | None:
        found = await info.context.loaders.by_id(VolunteerModel).load(self.model.subject_id)
        return lazy_class(VolunteerRef).from_model(found) if found else None

    @strawberry.field(description="Network address of the reader. Platform admins only.")
    def client_address(self, info: Info) -> str | None:
        return self.model.client_address if info.context.viewer.is_platform_admin else None


async def reads_about(info: Info, subject_id: int, first: int | None,
                      after: str | None) -> Connection[PiiAccess]:
    query = rules.pii_reads_about(info.context.viewer, subject_id)
    return await paginate(query, first, after, convert=PiiAccess.from_model, order=NEWEST_FIRST)


@strawberry.type
class PiiQuery:
    @strawberry.field(description="The whole personal-information access log, newest first, "
                                  "optionally about one person or by one reader. Platform admins.")
    async def pii_access_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        subject_id: strawberry.ID | None = None,
        viewer_id: strawberry.ID | None = None,
    ) -> Connection[PiiAccess]:
        query = rules.all_pii_reads(
            info.context.viewer,
            subject_id=decode_id(subject_id, "Volunteer", "subjectId") if subject_id else None,
            viewer_id=decode_id(viewer_id, "Volunteer", "viewerId") if viewer_id else None)
        return await paginate(query, first, after, convert=PiiAccess.from_model, order=NEWEST_FIRST)
