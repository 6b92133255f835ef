"""Organiser messages to an activity's participants or a team's members, and their replies.
The message row is also the audit record: who sent what, to whom, when, to how many."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.team import Team
    from models.volunteer import Volunteer


class Audience(StrEnum):
    CONFIRMED = "CONFIRMED"
    WAITLISTED = "WAITLISTED"
    CHECKED_IN = "CHECKED_IN"
    SIGNED_UP = "SIGNED_UP"  # confirmed, waitlisted and held offers
    TEAM = "TEAM"  # the team's approved members


class OrganiserMessage(Model):
    id = fields.IntField(primary_key=True)
    sender: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="organiser_messages", on_delete=fields.RESTRICT
    )
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="organiser_messages", null=True,
        on_delete=fields.CASCADE
    )
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="organiser_messages", on_delete=fields.CASCADE
    )
    audience = fields.CharEnumField(Audience, max_length=12)
    title = fields.CharField(max_length=200)
    body = fields.TextField()  # at most 2,000 characters (resolvers/outreach.py)
    sms = fields.BooleanField(default=False)
    recipient_count = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    sender_id: int
    activity_id: int | None
    team_id: int

    class Meta:
        table = "organiser_message"
        indexes = (("team_id", "id"), ("activity_id", "id"))


class OrganiserMessageReply(Model):
    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[OrganiserMessage] = fields.ForeignKeyField(
        "models.OrganiserMessage", related_name="replies", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="organiser_message_replies", on_delete=fields.CASCADE
    )
    body = fields.TextField()  # at most 2,000 characters (resolvers/outreach.py)
    created_at = fields.DatetimeField(auto_now_add=True)

    message_id: int
    author_id: int

    class Meta:
        table = "organiser_message_reply"
        indexes = (("message_id", "id"),)
