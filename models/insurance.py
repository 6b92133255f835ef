"""Volunteer accident insurance: policies (who is covered, when) and claims for incidents on a
shift. Whether a sign-up is covered is derived at read time from the policies, never stored,
so a policy recorded late covers the shifts it names at once."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity, SignUp
    from models.hours import ServiceRecord
    from models.team import Team
    from models.volunteer import Volunteer


class InsuranceScope(StrEnum):
    ALL_VOLUNTEERS = "ALL_VOLUNTEERS"
    TEAM = "TEAM"
    ACTIVITIES = "ACTIVITIES"


class ClaimStatus(StrEnum):
    OPEN = "OPEN"
    SUBMITTED = "SUBMITTED"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"


class InsurancePolicy(Model):
    # Covers shifts lying wholly within [covers_from, covers_until) (Beijing midnights).

    id = fields.IntField(primary_key=True)
    insurer = fields.CharField(max_length=100)
    policy_number = fields.CharField(max_length=64, unique=True)
    covers_from = fields.DatetimeField()
    covers_until = fields.DatetimeField()
    scope = fields.CharEnumField(InsuranceScope, max_length=16)
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="insurance_policies", null=True, on_delete=fields.RESTRICT)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="insurance_policies", on_delete=fields.RESTRICT)
    created_at = fields.DatetimeField(auto_now_add=True)

    team_id: int | None
    created_by_id: int

    class Meta:
        table = "insurance_policy"
        indexes = (("covers_from", "covers_until"),)


class InsurancePolicyActivity(Model):
    # The activities an ACTIVITIES policy names (their confirmed participants are covered).

    id = fields.IntField(primary_key=True)
    policy: fields.ForeignKeyRelation[InsurancePolicy] = fields.ForeignKeyField(
        "models.InsurancePolicy", related_name="activities", on_delete=fields.CASCADE)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="insurance_policies", on_delete=fields.CASCADE)

    policy_id: int
    activity_id: int

    class Meta:
        table = "insurance_policy_activity"
        unique_together = (("policy", "activity"),)
        indexes = (("activity_id",),)


class InsuranceClaim(Model):
    # An incident on a shift: the sign-up holds the attendance (check-in/out), the service
    # record the hours, when there is one.

    id = fields.IntField(primary_key=True)
    policy: fields.ForeignKeyRelation[InsurancePolicy] = fields.ForeignKeyField(
        "models.InsurancePolicy", related_name="claims", on_delete=fields.RESTRICT)
    sign_up: fields.ForeignKeyRelation[SignUp] = fields.ForeignKeyField(
        "models.SignUp", related_name="insurance_claims", on_delete=fields.RESTRICT)
    service_record: fields.ForeignKeyNullableRelation[ServiceRecord] = fields.ForeignKeyField(
        "models.ServiceRecord", related_name="insurance_claims", null=True,
        on_delete=fields.SET_NULL)
    incident_at = fields.DatetimeField()
    description = fields.CharField(max_length=2000)
    status = fields.CharEnumField(ClaimStatus, max_length=10, default=ClaimStatus.OPEN)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="insurance_claims_opened", on_delete=fields.RESTRICT)
    created_at = fields.DatetimeField(auto_now_add=True)

    policy_id: int
    sign_up_id: int
    service_record_id: int | None
    created_by_id: int

    class Meta:
        table = "insurance_claim"
