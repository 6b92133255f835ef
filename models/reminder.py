"""Reminders: the fact that one was sent is a unique row, written in the transaction that
writes the notification, so a second sender's INSERT finds the row and sends nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity, SignUp
    from models.training import Qualification
    from models.volunteer import Volunteer


class ShiftReminder(Model):
    # One per (sign-up, offset before the start). `sent` is false for a reminder that came
    # due but was not sent (opted out, a nearer one due at the same time, signed up late).

    id = fields.IntField(primary_key=True)
    sign_up: fields.ForeignKeyRelation[SignUp] = fields.ForeignKeyField(
        "models.SignUp", related_name="reminders", on_delete=fields.CASCADE
    )
    offset_minutes = fields.IntField()
    sent = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    sign_up_id: int

    class Meta:
        table = "shift_reminder"
        unique_together = (("sign_up", "offset_minutes"),)


class OrganiserReminder(Model):
    # One per (activity, organiser): check-ins and hours still open after the shift.

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="organiser_reminders", on_delete=fields.CASCADE
    )
    organiser: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="organiser_reminders", on_delete=fields.CASCADE
    )
    # False when nothing was left open at the time (no reminder needed).
    sent = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    activity_id: int
    organiser_id: int

    class Meta:
        table = "organiser_reminder"
        unique_together = (("activity", "organiser"),)


class ReminderPreference(Model):
    # Absent row = the deployment's defaults (every offset, SMS on).

    id = fields.IntField(primary_key=True)
    volunteer: fields.OneToOneRelation[Volunteer] = fields.OneToOneField(
        "models.Volunteer", related_name="reminder_preference", on_delete=fields.CASCADE
    )
    # Offsets (minutes before the start) this person does not want, comma-separated.
    muted_offsets = fields.CharField(max_length=200, default="")
    sms = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    volunteer_id: int

    class Meta:
        table = "reminder_preference"


class QualificationAlert(Model):
    # One per (qualification, days before expiry, expiry date): a renewed qualification (a new
    # expires_at) is alerted again. A row for 7 days also covers the 30-day one.

    id = fields.IntField(primary_key=True)
    qualification: fields.ForeignKeyRelation[Qualification] = fields.ForeignKeyField(
        "models.Qualification", related_name="alerts", on_delete=fields.CASCADE
    )
    days_before = fields.IntField()
    expires_at = fields.DatetimeField()
    sent = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    qualification_id: int

    class Meta:
        table = "qualification_alert"
        unique_together = (("qualification", "days_before", "expires_at"),)
