from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.project import Position, Project
    from models.servicepoint import ServicePoint
    from models.team import Team
    from models.volunteer import Volunteer


class ActivityStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"


class SignUpStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    WAITLISTED = "WAITLISTED"
    # A freed place held for this waitlisted volunteer until offer_expires_at (resolvers/offers.py).
    OFFERED = "OFFERED"
    CANCELLED = "CANCELLED"


class Activity(Model):
    # Counts live on the row and change only through resolvers/slots.py's UPDATEs.

    id = fields.IntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="activities", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_activities", on_delete=fields.RESTRICT
    )
    team_id: int
    created_by_id: int
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    category = fields.CharField(max_length=50, db_index=True)
    district = fields.CharField(max_length=50, db_index=True)
    address = fields.CharField(max_length=200, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    sign_up_deadline = fields.DatetimeField()
    capacity = fields.IntField()
    # Places taken: confirmed sign-ups and held waitlist offers (offered_count of them).
    taken_count = fields.IntField(default=0)
    waitlist_count = fields.IntField(default=0)
    waitlist_limit = fields.IntField()
    waitlist_seq = fields.IntField(default=0)
    # Held waitlist offers; they are also counted in taken_count.
    offered_count = fields.IntField(default=0, db_default=0)
    version = fields.IntField(default=0)
    hours_credit = fields.FloatField()
    skills = fields.CharField(max_length=700, default="")
    status = fields.CharEnumField(ActivityStatus, max_length=10, default=ActivityStatus.DRAFT)
    cancel_reason = fields.CharField(max_length=500, null=True)
    check_in_code = fields.CharField(max_length=20, null=True)
    check_in_radius_m = fields.IntField(null=True)
    # Requirements (resolvers/requirements.py): the flag is true when the activity lists
    # required qualifications or a minimum age, so sign-ups for the others skip the check.
    # db_default too: hand-written INSERTs (benches, raw SQL) need not name it.
    has_requirements = fields.BooleanField(default=False, db_default=False)
    minimum_age = fields.IntField(null=True)
    # Project library (models/project.py): the programme and fixed post a shift belongs to.
    project: fields.ForeignKeyNullableRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="activities", null=True, on_delete=fields.SET_NULL
    )
    project_id: int | None
    position: fields.ForeignKeyNullableRelation[Position] = fields.ForeignKeyField(
        "models.Position", related_name="shifts", null=True, on_delete=fields.SET_NULL
    )
    position_id: int | None
    service_point: fields.ForeignKeyNullableRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="activities", null=True, on_delete=fields.SET_NULL
    )
    service_point_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set again when a draft is published: the feed dates activities by publication.
    published_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "activity"
        indexes = (("status", "starts_at"),)


class SignUp(Model):
    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="sign_ups", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="sign_ups", on_delete=fields.CASCADE
    )
    activity_id: int
    volunteer_id: int
    status = fields.CharEnumField(SignUpStatus, max_length=10)
    waitlist_seq = fields.IntField(null=True)
    checked_in_at = fields.DatetimeField(null=True)
    checked_out_at = fields.DatetimeField(null=True)
    # Set while OFFERED: the stored timer the offer job fires on (survives restarts).
    offer_expires_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sign_up"
        unique_together = (("activity", "volunteer"),)
        indexes = (("activity_id", "status", "waitlist_seq"), ("volunteer_id", "status"))
