"""Volunteer imports started from the web (issue 26): the job, its uploaded file until the job
ends, and the rows it rejected."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.volunteer import Volunteer


class ImportStatus(StrEnum):
    QUEUED = "QUEUED"  # stored, waiting for a process to take it
    RUNNING = "RUNNING"  # a process holds it (heartbeat_at moves with every batch)
    DONE = "DONE"  # every row read; rejected rows listed in volunteer_import_error
    FAILED = "FAILED"  # the file as a whole could not be read (failure_code says why)
    CANCELLED = "CANCELLED"  # a platform admin stopped it; batches committed before stay in


class VolunteerImport(Model):
    # One upload of a roster by a platform admin, and its progress. Rows are kept (the
    # history of who imported what); the file itself is dropped when the job ends.

    id = fields.IntField(primary_key=True)
    started_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="volunteer_imports", on_delete=fields.RESTRICT
    )
    file_name = fields.CharField(max_length=200)
    file_bytes = fields.IntField()
    status = fields.CharEnumField(ImportStatus, max_length=10, default=ImportStatus.QUEUED)
    # Data rows in the file as estimated when it was stored (lines of a CSV, the sheet's
    # dimension of an XLSX): the progress bar's end. rows_read may end below or above it.
    rows_total = fields.IntField(null=True)
    rows_read = fields.IntField(default=0)  # also the checkpoint a resumed job starts after
    imported = fields.IntField(default=0)
    rejected = fields.IntField(default=0)
    failure_code = fields.CharField(max_length=30, null=True)
    failure_message = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    # The process running it: each progress write is conditional on it, so a process that
    # was presumed dead (heartbeat too old) and comes back cannot write over its successor.
    runner = fields.CharField(max_length=40, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    cancelled_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="cancelled_volunteer_imports", null=True,
        on_delete=fields.RESTRICT)

    started_by_id: int
    cancelled_by_id: int | None

    class Meta:
        table = "volunteer_import"
        indexes = (("status", "heartbeat_at"),)


class VolunteerImportChunk(Model):
    # The uploaded file in pieces of at most CHUNK_BYTES, so that any process of any machine
    # can run the job, and no statement carries the whole file. Deleted when the job ends.

    id = fields.IntField(primary_key=True)
    volunteer_import: fields.ForeignKeyRelation[VolunteerImport] = fields.ForeignKeyField(
        "models.VolunteerImport", related_name="chunks", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    data = fields.BinaryField()

    volunteer_import_id: int

    class Meta:
        table = "volunteer_import_chunk"
        unique_together = (("volunteer_import", "seq"),)


class VolunteerImportError(Model):
    # A rejected row: where, which column, a stable code and the rule's English message. No
    # cell value is kept (never a phone or ID number); a duplicate names the other row.

    id = fields.IntField(primary_key=True)
    volunteer_import: fields.ForeignKeyRelation[VolunteerImport] = fields.ForeignKeyField(
        "models.VolunteerImport", related_name="row_errors", on_delete=fields.CASCADE
    )
    row_number = fields.IntField()  # as the person sees it in the file: the header is row 1
    column_name = fields.CharField(max_length=20)
    code = fields.CharField(max_length=30)
    other_row = fields.IntField(null=True)
    message = fields.CharField(max_length=300)

    volunteer_import_id: int

    class Meta:
        table = "volunteer_import_error"
        indexes = (("volunteer_import_id", "row_number", "id"),)  # file order, paged
