from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity, SignUp
    from models.timebank import PointsTransfer, Redemption
    from models.volunteer import Volunteer


class HoursStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ServiceRecord(Model):
    id = fields.IntField(primary_key=True)
    sign_up: fields.OneToOneRelation[SignUp] = fields.OneToOneField(
        "models.SignUp", related_name="service_record", on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="service_records", on_delete=fields.RESTRICT
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="service_records", on_delete=fields.RESTRICT
    )
    hours_claimed = fields.FloatField()
    hours = fields.FloatField()
    status = fields.CharEnumField(HoursStatus, max_length=10, default=HoursStatus.PENDING)
    approved_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="approved_records", null=True, on_delete=fields.SET_NULL
    )
    approved_at = fields.DatetimeField(null=True, db_index=True)
    # Set when the record was not claimed by a check-out (the attendance job closed a forgotten
    # check-in): organisers should look before approving.
    needs_review = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    sign_up_id: int
    activity_id: int
    volunteer_id: int
    approved_by_id: int | None

    class Meta:
        table = "service_record"
        indexes = (("volunteer_id", "status"),)


class HoursAudit(Model):
    # Append-only: rows are inserted, never updated or deleted.

    id = fields.IntField(primary_key=True)
    record: fields.ForeignKeyRelation[ServiceRecord] = fields.ForeignKeyField(
        "models.ServiceRecord", related_name="audit", on_delete=fields.RESTRICT
    )
    actor: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="hours_audit_actions", null=True, on_delete=fields.RESTRICT
    )
    action = fields.CharField(max_length=20)
    hours_before = fields.FloatField(null=True)
    hours_after = fields.FloatField(null=True)
    status_before = fields.CharField(max_length=10, null=True)
    status_after = fields.CharField(max_length=10)
    reason = fields.CharField(max_length=500, null=True)
    # Indexed: leaderboard rebuilds read the last minutes' changes (resolvers/leaderboard.py).
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    record_id: int
    actor_id: int | None

    class Meta:
        table = "hours_audit"


class PointsKind(StrEnum):
    EARN = "EARN"  # approved hours (or an adjustment of them; negative when taken back)
    REDEEM = "REDEEM"
    DONATE_OUT = "DONATE_OUT"
    DONATE_IN = "DONATE_IN"
    EXPIRE = "EXPIRE"


class PointsEntry(Model):
    # The points ledger, append-only: the balance is SUM(delta), never a bare counter.
    # `balance_after` is the running balance right after this entry (per volunteer).

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="points_entries", on_delete=fields.RESTRICT
    )
    delta = fields.IntField()
    reason = fields.CharField(max_length=200)
    record: fields.ForeignKeyNullableRelation[ServiceRecord] = fields.ForeignKeyField(
        "models.ServiceRecord", related_name="points_entries_for_record", null=True,
        on_delete=fields.RESTRICT,
    )
    kind = fields.CharEnumField(PointsKind, max_length=10, default=PointsKind.EARN,
                                db_default=PointsKind.EARN.value)
    balance_after = fields.IntField(default=0, db_default=0)
    actor: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="points_entries_made", null=True,
        on_delete=fields.RESTRICT,
    )
    redemption: fields.ForeignKeyNullableRelation[Redemption] = fields.ForeignKeyField(
        "models.Redemption", related_name="entries", null=True, on_delete=fields.RESTRICT,
    )
    transfer: fields.ForeignKeyNullableRelation[PointsTransfer] = fields.ForeignKeyField(
        "models.PointsTransfer", related_name="entries", null=True, on_delete=fields.RESTRICT,
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    volunteer_id: int
    record_id: int | None
    actor_id: int | None
    redemption_id: int | None
    transfer_id: int | None

    class Meta:
        table = "points_entry"
        indexes = (("volunteer_id", "created_at"),)


class Certificate(Model):
    # Immutable after issue: content is the frozen snapshot shown by verifyCertificate.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    serial = fields.CharField(max_length=40, unique=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="certificates", on_delete=fields.RESTRICT
    )
    content: Any = fields.JSONField()
    issued_at = fields.DatetimeField(auto_now_add=True)
    # Set when a correction of one of its records reissued it (the successor), or when the
    # holder deleted their account (no successor). Verification then says it is superseded.
    superseded_by: fields.ForeignKeyNullableRelation[Certificate] = fields.ForeignKeyField(
        "models.Certificate", related_name="supersedes", null=True, on_delete=fields.RESTRICT
    )
    superseded_at = fields.DatetimeField(null=True)

    volunteer_id: int
    superseded_by_id: int | None

    class Meta:
        table = "certificate"
