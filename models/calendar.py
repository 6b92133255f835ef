"""Calendar feeds (RFC 5545): a person's secret feed URL, and the record of activity changes
that gives every calendar event its SEQUENCE."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.volunteer import Volunteer


class CalendarFeed(Model):
    # The URL's token is shown once; only its SHA-256 is stored (a leaked database does not
    # leak working feed URLs). Revoked feeds keep their row, with revoked_at set.

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="calendar_feeds", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    volunteer_id: int

    class Meta:
        table = "calendar_feed"
        indexes = (("volunteer_id", "revoked_at"),)


class ActivityChange(Model):
    # One row per changed field of an activity that a participant's calendar shows (time,
    # place, title, status): before → after, who, when. Count per activity = iCal SEQUENCE.

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="changes", on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="activity_changes", null=True,
        on_delete=fields.SET_NULL
    )
    field = fields.CharField(max_length=30)
    before = fields.TextField(null=True)
    after = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    activity_id: int
    actor_id: int | None

    class Meta:
        table = "activity_change"
        indexes = (("activity_id", "id"),)
