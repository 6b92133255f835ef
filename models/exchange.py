"""The outbox of record changes for the national volunteer-service system (records export)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class RecordChangeKind(StrEnum):
    SERVICE_HOURS = "SERVICE_HOURS"  # hours approved, adjusted or taken back
    TRAINING = "TRAINING"  # a qualification granted by a course
    AWARD = "AWARD"  # an honour awarded


class RecordChange(Model):
    # Written in the transaction of the change itself; drained in id order by the exporter,
    # which stamps `exported_at` and `batch` so a repeated run writes nothing twice.

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(RecordChangeKind, max_length=20)
    # The unified volunteer number (never the ID number) and the source row.
    volunteer_number = fields.CharField(max_length=20)
    subject_id = fields.IntField()
    payload: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    exported_at = fields.DatetimeField(null=True)
    batch = fields.CharField(max_length=40, null=True, db_index=True)

    class Meta:
        table = "record_change"
        indexes = (("exported_at", "id"),)
