"""The volunteer import: claiming an imported account, and the imports platform admins run
from the web (uploaded at POST /imports/volunteers, schema/importer_http.py) with their progress
and rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.importer import ImportStatus as ImportStatusModel
from models.importer import VolunteerImport as VolunteerImportModel
from models.importer import VolunteerImportError as VolunteerImportErrorModel
from resolvers import importer_jobs as jobs
from resolvers.auth import Viewer
from resolvers.importer import do_claim_account
from resolvers.messages import import_message
from schema.context import Info
from schema.errors import request_language
from schema.relay import NEWEST_FIRST, Connection, Node, Order, decode_id, paginate, register_node
from schema.volunteer import PHONE_DESCRIPTION, AuthPayload, Volunteer, auth_payload

if TYPE_CHECKING:
    VolunteerImportStatus: TypeAlias = ImportStatusModel
else:
    VolunteerImportStatus = strawberry.enum(
        ImportStatusModel, name="VolunteerImportStatus",
        description="QUEUED (stored, not started) → RUNNING → DONE, or FAILED when the file as a "
                    "whole cannot be read (failureCode says why), or CANCELLED by a platform "
                    "admin (cancelVolunteerImport) while QUEUED or RUNNING.")


@strawberry.type(description="A row of an imported roster that was not imported, and why. "
                             "Never holds a value of the row.")
class VolunteerImportRowError:
    row: int = strawberry.field(description="Row number as a spreadsheet shows it (the header "
                                            "is row 1).")
    column: str = strawberry.field(description="The column at fault: name, phone, id_number, "
                                               "district, team, skills; empty for the whole row.")
    code: str = strawberry.field(description="INVALID, UNKNOWN_TEAM, AMBIGUOUS_TEAM, "
                                             "DUPLICATE_IN_FILE, ALREADY_REGISTERED or "
                                             "BATCH_COLLISION.")
    other_row: int | None = strawberry.field(description="DUPLICATE_IN_FILE: the row it repeats, "
                                                         "when known.")
    original: strawberry.Private[str]

    @strawberry.field(description="What is wrong, in the reader's language (Accept-Language).")
    def message(self, info: Info) -> str:
        return import_message(request_language(info.context), self.code, self.column,
                              self.original, self.other_row)

    @classmethod
    def from_model(cls, model: VolunteerImportErrorModel) -> VolunteerImportRowError:
        return cls(row=model.row_number, column=model.column_name, code=model.code,
                   other_row=model.other_row, original=model.message)


FILE_ORDER = Order(fields=(("row_number", False),))


@strawberry.type(description="A volunteer roster imported from the web by a platform admin, "
                             "with its progress. Poll it while QUEUED or RUNNING.")
class VolunteerImport(Node):
    model: strawberry.Private[VolunteerImportModel]
    file_name: str = strawberry.field(description="The uploaded file's name.")
    file_bytes: int = strawberry.field(description="Its size in bytes.")
    status: VolunteerImportStatus = strawberry.field(description="Where the job stands.")
    rows_total: int | None = strawberry.field(
        description="Data rows the file holds, estimated when stored (the progress bar's end); "
                    "null if unknown.")
    rows_read: int = strawberry.field(description="Data rows read so far.")
    imported: int = strawberry.field(description="People imported so far (PENDING_CONSENT until "
                                                 "they claim their account).")
    rejected: int = strawberry.field(description="Rows rejected so far (listed in `rowErrors`).")
    failure_code: str | None = strawberry.field(
        description="FAILED: MISSING_COLUMNS, EMPTY_FILE, FILE_TYPE, NOT_UTF8, UNREADABLE or "
                    "INTERNAL.")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    started_at: datetime | None = strawberry.field(description="When the import began.")
    finished_at: datetime | None = strawberry.field(
        description="When it ended (DONE, FAILED or CANCELLED).")

    @strawberry.field(description="Who uploaded it.")
    def started_by(self) -> Volunteer:
        return Volunteer.from_model(self.model.started_by)

    @strawberry.field(description="CANCELLED: the platform admin who cancelled it; null otherwise.")
    def cancelled_by(self) -> Volunteer | None:
        cancelled_by = self.model.cancelled_by
        return None if cancelled_by is None else Volunteer.from_model(cancelled_by)

    @strawberry.field(description="FAILED: why, in the reader's language.")
    def failure_message(self, info: Info) -> str | None:
        if self.failure_code is None:
            return None
        return import_message(request_language(info.context), self.failure_code, "file",
                              self.model.failure_message or "")

    @strawberry.field(description="The rejected rows in file order.")
    async def row_errors(self, first: int | None = None,
                     after: str | None = None) -> Connection[VolunteerImportRowError]:
        return await paginate(jobs.row_errors(self.db_id), first, after,
                              convert=VolunteerImportRowError.from_model, order=FILE_ORDER)

    @classmethod
    def from_model(cls, model: VolunteerImportModel) -> VolunteerImport:
        return cls(db_id=model.id, model=model, file_name=model.file_name,
                   file_bytes=model.file_bytes, status=model.status, rows_total=model.rows_total,
                   rows_read=model.rows_read, imported=model.imported, rejected=model.rejected,
                   failure_code=model.failure_code, created_at=model.created_at,
                   started_at=model.started_at, finished_at=model.finished_at)


async def _import_node(info: Info, db_id: int) -> VolunteerImport | None:
    viewer: Viewer = info.context.viewer
    if not viewer.is_platform_admin:
        return None
    return VolunteerImport.from_model(await jobs.visible_import(viewer, db_id))


register_node("VolunteerImport", _import_node)


@strawberry.type
class ImporterQuery:
    @strawberry.field(description="A volunteer import and its progress. Platform admins only.")
    async def volunteer_import(self, info: Info, id: strawberry.ID) -> VolunteerImport:
        job = await jobs.visible_import(info.context.viewer, decode_id(id, "VolunteerImport", "id"))
        return VolunteerImport.from_model(job)

    @strawberry.field(description="Volunteer imports, newest first. Platform admins only.")
    async def volunteer_imports(self, info: Info, first: int | None = None,
                                after: str | None = None) -> Connection[VolunteerImport]:
        return await paginate(jobs.list_imports(info.context.viewer), first, after,
                              convert=VolunteerImport.from_model, order=NEWEST_FIRST)


@strawberry.type
class ImporterMutation:
    @strawberry.mutation(description="Claim an imported account: prove phone and ID number, set a "
                         "password and accept the terms. Returns a session token (throttled).")
    async def claim_account(
        self, info: Info, phone: Annotated[str, strawberry.argument(description=PHONE_DESCRIPTION)],
        id_number: str, password: str, consent: bool,
    ) -> AuthPayload:
        token, model = await do_claim_account(phone, id_number, password, consent,
                                              info.context.client_address)
        info.context.viewer = Viewer(model)
        return auth_payload(token, model)

    @strawberry.mutation(description="Cancel a QUEUED or RUNNING volunteer import (platform admins). "
                         "It stops after the batch being written, in whichever process runs it: "
                         "people of the batches written before stay (PENDING_CONSENT) and "
                         "`imported` counts them; a QUEUED import imports nobody. CONFLICT "
                         "(reason IMPORT_DONE, IMPORT_FAILED or IMPORT_CANCELLED) once it ended.")
    async def cancel_volunteer_import(self, info: Info, id: strawberry.ID) -> VolunteerImport:
        job = await jobs.do_cancel_import(info.context.viewer,
                                          decode_id(id, "VolunteerImport", "id"))
        return VolunteerImport.from_model(job)
