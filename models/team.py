from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.volunteer import Volunteer


class TeamType(StrEnum):
    COMMUNITY = "COMMUNITY"
    PARTY_MEMBER = "PARTY_MEMBER"
    CIVILIZATION_PRACTICE = "CIVILIZATION_PRACTICE"
    YOUTH = "YOUTH"
    WOMEN = "WOMEN"
    SELF_ORGANIZED = "SELF_ORGANIZED"
    PROFESSIONAL = "PROFESSIONAL"
    EMERGENCY = "EMERGENCY"


class MembershipRole(StrEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class MembershipStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class Team(Model):
    # A volunteer team; path is the materialised ancestry (/1/5/12/) for descendant checks.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    type = fields.CharEnumField(TeamType, max_length=32, db_index=True)
    district = fields.CharField(max_length=50, db_index=True)
    parent: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    path = fields.CharField(max_length=500, default="/", db_index=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_teams", on_delete=fields.RESTRICT
    )
    approved_hours = fields.FloatField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "team"


class Membership(Model):
    id = fields.IntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="memberships", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="memberships", on_delete=fields.CASCADE
    )
    team_id: int
    volunteer_id: int
    decided_by_id: int | None
    role = fields.CharEnumField(MembershipRole, max_length=8, default=MembershipRole.MEMBER)
    status = fields.CharEnumField(MembershipStatus, max_length=10, default=MembershipStatus.PENDING)
    decided_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="decided_memberships", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "membership"
        unique_together = (("team", "volunteer"),)
        indexes = (("volunteer_id", "status"),)
