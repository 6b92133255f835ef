from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.volunteer import Volunteer


class Notification(Model):
    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=40)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    read = fields.BooleanField(default=False)
    subject_type = fields.CharField(max_length=40, null=True)
    subject_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    volunteer_id: int

    class Meta:
        table = "notification"
        indexes = (("volunteer_id", "read", "id"),)


class SmsOutbox(Model):
    # Messages for an SMS gateway adapter to drain; the phone is looked up at send time.

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="sms_messages", on_delete=fields.CASCADE
    )
    notification: fields.ForeignKeyNullableRelation[Notification] = fields.ForeignKeyField(
        "models.Notification", related_name="sms_messages", null=True, on_delete=fields.SET_NULL
    )
    text = fields.CharField(max_length=500)
    sent_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    volunteer_id: int
    notification_id: int | None

    class Meta:
        table = "sms_outbox"
