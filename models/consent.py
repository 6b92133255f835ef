from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.volunteer import Volunteer


class ConsentPurpose(StrEnum):
    REGISTRATION = "REGISTRATION"
    LOCATION = "LOCATION"
    SMS = "SMS"
    LEADERBOARD_DISPLAY = "LEADERBOARD_DISPLAY"


class ConsentEvent(Model):
    # Append-only history: every grant and withdrawal, with the text version agreed to, when
    # and from where; for a volunteer under 14, who gave the guardian's consent.

    id = fields.BigIntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="consent_events", on_delete=fields.RESTRICT
    )
    volunteer_id: int
    purpose = fields.CharEnumField(ConsentPurpose, max_length=20)
    version = fields.IntField()
    granted = fields.BooleanField()
    client_address = fields.CharField(max_length=64)
    guardian_name = fields.CharField(max_length=50, null=True)
    guardian_relation = fields.CharField(max_length=20, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consent_event"
        indexes = (("volunteer_id", "purpose", "id"),)


class Consent(Model):
    # The current answer per (volunteer, purpose): the latest event, kept beside the history
    # so matching and leaderboards read one row instead of searching the history.

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="consents", on_delete=fields.CASCADE
    )
    volunteer_id: int
    purpose = fields.CharEnumField(ConsentPurpose, max_length=20)
    version = fields.IntField()
    granted = fields.BooleanField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "consent"
        unique_together = (("volunteer_id", "purpose"),)
