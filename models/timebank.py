"""Time bank (爱心银行): the reward catalogue, redemptions, donations and point accounts.

The ledger itself is `models.hours.PointsEntry` (append-only); `PointsAccount.balance` is the
ledger's running total, moved in the same transaction as every entry, so a conditional UPDATE
on it can refuse a spend that the balance does not cover.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.helprequest import HelpRequest
    from models.volunteer import Volunteer


class RewardKind(StrEnum):
    REWARD = "REWARD"
    SERVICE = "SERVICE"


class RewardItem(Model):
    # Redeem takes stock and restock adds it through conditional UPDATEs (`stock >= quantity`,
    # `stock + units <= STOCK_MAX`), never read-modify-write; updateRewardItem may set it outright.

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    description = fields.CharField(max_length=2000, default="")
    kind = fields.CharEnumField(RewardKind, max_length=10, default=RewardKind.REWARD)
    cost_points = fields.IntField()
    stock = fields.IntField()
    district = fields.CharField(max_length=50, null=True)
    active = fields.BooleanField(default=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="reward_items", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    created_by_id: int

    class Meta:
        table = "reward_item"
        indexes = (("active", "cost_points"),)


class RewardItemChange(Model):
    # Append-only audit of catalogue edits (who, when, before, after, why).

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[RewardItem] = fields.ForeignKeyField(
        "models.RewardItem", related_name="changes", on_delete=fields.RESTRICT
    )
    actor: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="reward_item_changes", on_delete=fields.RESTRICT
    )
    action = fields.CharField(max_length=10)
    before: Any = fields.JSONField(null=True)
    after: Any = fields.JSONField()
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    item_id: int
    actor_id: int

    class Meta:
        table = "reward_item_change"


class Redemption(Model):
    # One spend; `idempotency_key` makes a retried request return the first redemption.

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[RewardItem] = fields.ForeignKeyField(
        "models.RewardItem", related_name="redemptions", on_delete=fields.RESTRICT
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="redemptions", on_delete=fields.RESTRICT
    )
    quantity = fields.IntField()
    points = fields.IntField()
    idempotency_key = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    item_id: int
    volunteer_id: int

    class Meta:
        table = "redemption"
        unique_together = (("volunteer", "idempotency_key"),)


class PointsTransfer(Model):
    # A donation: one debit entry for the donor and one credit entry for the recipient.

    id = fields.IntField(primary_key=True)
    from_volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="transfers_out", on_delete=fields.RESTRICT
    )
    to_volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="transfers_in", on_delete=fields.RESTRICT
    )
    help_request: fields.ForeignKeyNullableRelation[HelpRequest] = fields.ForeignKeyField(
        "models.HelpRequest", related_name="donations", null=True, on_delete=fields.RESTRICT
    )
    points = fields.IntField()
    note = fields.CharField(max_length=200, null=True)
    idempotency_key = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    from_volunteer_id: int
    to_volunteer_id: int
    help_request_id: int | None

    class Meta:
        table = "points_transfer"
        unique_together = (("from_volunteer", "idempotency_key"),)


class PointsAccount(Model):
    # The ledger's running balance per volunteer (always SUM(points_entry.delta)); the row
    # every ledger append locks, so appends of one volunteer are serialised.

    id = fields.IntField(primary_key=True)
    volunteer: fields.OneToOneRelation[Volunteer] = fields.OneToOneField(
        "models.Volunteer", related_name="points_account", on_delete=fields.RESTRICT
    )
    balance = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    volunteer_id: int

    class Meta:
        table = "points_account"
