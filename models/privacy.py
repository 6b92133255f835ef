"""Requests about one's own data (PIPL art. 45–47, 50): copies, corrections, deletion."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.hours import ServiceRecord
    from models.volunteer import Volunteer


class DataRequestKind(StrEnum):
    EXPORT = "EXPORT"  # a copy of all one's data (ZIP of JSON), built in the background
    CORRECTION = "CORRECTION"  # a profile field, decided by a platform admin
    RECORD_CORRECTION = "RECORD_CORRECTION"  # a service record's hours, decided by its team
    DELETION = "DELETION"  # the account erased; service records kept pseudonymised


class DataRequestStatus(StrEnum):
    PENDING = "PENDING"  # waiting for the job (EXPORT) or for a decision
    PROCESSING = "PROCESSING"  # the export job holds it
    READY = "READY"  # EXPORT: the archive can be downloaded once
    DONE = "DONE"  # granted and carried out (EXPORT: downloaded or expired)
    REFUSED = "REFUSED"  # refused; decision_reason says why


class DataRequest(Model):
    # Every request and every decision on it. Rows are never deleted (a deletion request
    # outlives the account it erased, pseudonymous like the service records).

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="data_requests", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(DataRequestKind, max_length=20)
    status = fields.CharEnumField(DataRequestStatus, max_length=12,
                                  default=DataRequestStatus.PENDING)
    # CORRECTION: which profile field and the value asked for (cleared once decided).
    field = fields.CharField(max_length=30, null=True)
    requested_value = fields.CharField(max_length=100, null=True)
    # RECORD_CORRECTION: the record and the hours asked for.
    record: fields.ForeignKeyNullableRelation[ServiceRecord] = fields.ForeignKeyField(
        "models.ServiceRecord", related_name="correction_requests", null=True,
        on_delete=fields.RESTRICT,
    )
    requested_hours = fields.FloatField(null=True)
    reason = fields.CharField(max_length=500, default="")
    decided_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="data_decisions", null=True, on_delete=fields.RESTRICT
    )
    decision_reason = fields.CharField(max_length=500, null=True)
    decided_at = fields.DatetimeField(null=True)
    # EXPORT: the archive (dropped once downloaded), and the one live download link: only the
    # SHA-256 of its token is kept, the token itself is shown once.
    archive = fields.BinaryField(null=True)
    archive_bytes = fields.IntField(null=True)
    link_hash = fields.CharField(max_length=64, null=True, unique=True)
    link_expires_at = fields.DatetimeField(null=True)
    downloaded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    volunteer_id: int
    record_id: int | None
    decided_by_id: int | None

    class Meta:
        table = "data_request"
        indexes = (("volunteer_id", "kind", "status"), ("kind", "status"))
