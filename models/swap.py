"""Shift hand-over (swap): a confirmed volunteer offers their place to a named volunteer or to
the activity's waitlist; the receiver accepts; the place moves in one transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity, SignUp
    from models.volunteer import Volunteer


class SwapStatus(StrEnum):
    OPEN = "OPEN"  # waiting for the receiver
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # accepted; the activity needs an organiser's yes
    DONE = "DONE"  # the place moved
    DECLINED = "DECLINED"  # the named receiver said no
    WITHDRAWN = "WITHDRAWN"  # the giver took it back
    REJECTED = "REJECTED"  # the organiser said no
    LAPSED = "LAPSED"  # the giver no longer held the place, or the activity closed or started


class ShiftSwap(Model):
    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="swaps", on_delete=fields.CASCADE
    )
    giver_sign_up: fields.ForeignKeyRelation[SignUp] = fields.ForeignKeyField(
        "models.SignUp", related_name="swaps_given", on_delete=fields.CASCADE
    )
    giver: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="swaps_given", on_delete=fields.CASCADE
    )
    # Null: offered to the activity's waitlist (the first waitlisted volunteer to accept).
    receiver: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="swaps_offered", null=True, on_delete=fields.CASCADE
    )
    # Who accepted (the named receiver, or the waitlisted volunteer who took it).
    taker: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="swaps_taken", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharEnumField(SwapStatus, max_length=20, default=SwapStatus.OPEN)
    # The giver's sign-up id while the swap is OPEN or AWAITING_APPROVAL, else null: the
    # unique constraint allows one live swap per place on every backend (nulls are distinct).
    live_key = fields.IntField(null=True, unique=True)
    decided_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="swaps_decided", null=True, on_delete=fields.SET_NULL
    )
    # Why the organiser refused (REJECTED); shown to giver and taker.
    decision_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    activity_id: int
    giver_sign_up_id: int
    giver_id: int
    receiver_id: int | None
    taker_id: int | None
    decided_by_id: int | None

    class Meta:
        table = "shift_swap"
        indexes = (("activity_id", "status"), ("receiver_id", "status"), ("giver_id", "status"))


class SwapPolicy(Model):
    # Absent row: swaps need no approval.

    id = fields.IntField(primary_key=True)
    activity: fields.OneToOneRelation[Activity] = fields.OneToOneField(
        "models.Activity", related_name="swap_policy", on_delete=fields.CASCADE
    )
    needs_approval = fields.BooleanField(default=False)

    activity_id: int

    class Meta:
        table = "swap_policy"
