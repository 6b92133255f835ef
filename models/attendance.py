"""Attendance recorded on organisers' devices and uploaded later (offline check-in)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import SignUp
    from models.volunteer import Volunteer


class AttendanceKind(StrEnum):
    CHECK_IN = "CHECK_IN"
    CHECK_OUT = "CHECK_OUT"


class AttendanceEvent(Model):
    # Append-only: one row per applied device entry. Unique (device_id, client_id) makes a
    # replayed upload find its first application instead of applying twice.

    id = fields.IntField(primary_key=True)
    device_id = fields.CharField(max_length=64)
    client_id = fields.CharField(max_length=64)
    sign_up: fields.ForeignKeyRelation[SignUp] = fields.ForeignKeyField(
        "models.SignUp", related_name="attendance_events", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(AttendanceKind, max_length=10)
    device_at = fields.DatetimeField()
    uploaded_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="attendance_uploads", on_delete=fields.RESTRICT
    )
    received_at = fields.DatetimeField(auto_now_add=True)

    sign_up_id: int
    uploaded_by_id: int

    class Meta:
        table = "attendance_event"
        unique_together = (("device_id", "client_id"),)
        indexes = (("sign_up_id", "kind"),)
