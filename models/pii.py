from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.volunteer import Volunteer


class PiiField(StrEnum):
    PHONE = "PHONE"
    ID_NUMBER = "ID_NUMBER"
    ADDRESS = "ADDRESS"
    # A row of personal data leaving the platform whole (an export, an archive).
    EXPORT = "EXPORT"


class PiiAccess(Model):
    # Append-only: who read whose unmasked personal field, when, why and from where. No code
    # updates or deletes a row; on PostgreSQL a trigger refuses it (resolvers/pii.py).

    id = fields.BigIntField(primary_key=True)
    viewer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="pii_reads", on_delete=fields.RESTRICT
    )
    subject: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="pii_read_by", on_delete=fields.RESTRICT
    )
    viewer_id: int
    subject_id: int
    field = fields.CharEnumField(PiiField, max_length=10)
    reason = fields.CharField(max_length=200)
    client_address = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pii_access"
        indexes = (("subject_id", "id"),)
