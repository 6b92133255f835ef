from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.servicepoint import ServicePoint
    from models.team import Team
    from models.volunteer import Volunteer


class HelpRequestStatus(StrEnum):
    OPEN = "OPEN"
    CLAIMED = "CLAIMED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class Urgency(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    URGENT = "URGENT"


class HelpRequest(Model):
    id = fields.IntField(primary_key=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="help_requests", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    district = fields.CharField(max_length=50, db_index=True)
    # The exact address (often the requester's home), sealed at rest (core/pii.py).
    address_cipher = fields.CharField(max_length=1000, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    skills = fields.CharField(max_length=700, default="")
    urgency = fields.CharEnumField(Urgency, max_length=8, default=Urgency.NORMAL)
    status = fields.CharEnumField(HelpRequestStatus, max_length=10, default=HelpRequestStatus.OPEN)
    claimed_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="claimed_help_requests", null=True, on_delete=fields.SET_NULL
    )
    claimed_team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="claimed_help_requests", null=True, on_delete=fields.SET_NULL
    )
    service_point: fields.ForeignKeyNullableRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="help_requests", null=True, on_delete=fields.SET_NULL
    )
    service_point_id: int | None
    created_by_id: int
    claimed_by_id: int | None
    claimed_team_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "help_request"
        indexes = (("status", "district"),)


class CallOut(Model):
    # Counts change only through conditional UPDATEs; version orders live count updates.

    id = fields.IntField(primary_key=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_call_outs", on_delete=fields.RESTRICT
    )
    message = fields.CharField(max_length=1000)
    districts = fields.CharField(max_length=700, default="")
    skills = fields.CharField(max_length=700, default="")
    needed = fields.IntField()
    coming_count = fields.IntField(default=0)
    cannot_count = fields.IntField(default=0)
    version = fields.IntField(default=0)
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="call_outs", null=True, on_delete=fields.SET_NULL
    )
    # The activity people are called to, if any: whoever is checked in there is not pushed.
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="call_outs", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int
    team_id: int | None
    activity_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "call_out"


class CallOutAnswer(Model):
    id = fields.IntField(primary_key=True)
    call_out: fields.ForeignKeyRelation[CallOut] = fields.ForeignKeyField(
        "models.CallOut", related_name="answers", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="call_out_answers", on_delete=fields.CASCADE
    )
    call_out_id: int
    volunteer_id: int
    coming = fields.BooleanField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "call_out_answer"
        unique_together = (("call_out", "volunteer"),)
