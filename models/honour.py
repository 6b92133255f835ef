"""Announcements (公告/简报) and honours (表彰): awards with criteria, nominations computed from
the data, and award decisions with an append-only audit."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.team import Team
    from models.volunteer import Volunteer


class AnnouncementStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class NominationStatus(StrEnum):
    NOMINATED = "NOMINATED"
    AWARDED = "AWARDED"
    DECLINED = "DECLINED"


class Announcement(Model):
    id = fields.IntField(primary_key=True)
    # Null: a platform announcement (everyone's feed); else the team's members' feeds.
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="announcements", null=True, on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="announcements", on_delete=fields.RESTRICT
    )
    team_id: int | None
    author_id: int
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    attachments: Any = fields.JSONField(default=list)  # list of http(s) URLs
    pinned = fields.BooleanField(default=False)
    status = fields.CharEnumField(AnnouncementStatus, max_length=10,
                                  default=AnnouncementStatus.DRAFT)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The feed dates announcements by publication (the creation time while a draft).
    published_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "announcement"
        indexes = (("status", "team_id", "published_at"),)


class Award(Model):
    # An honour tier (e.g. 五星志愿者 / 百优志愿者 / 市长奖) and the criteria nominations use.
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    tier = fields.IntField()  # 1 (highest) – 3
    min_period_hours = fields.FloatField(default=0)
    min_star_level = fields.IntField(default=0)
    period_start = fields.DateField()
    period_end = fields.DateField()
    district = fields.CharField(max_length=50, null=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_awards", on_delete=fields.RESTRICT
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "award"


class Nomination(Model):
    id = fields.IntField(primary_key=True)
    award: fields.ForeignKeyRelation[Award] = fields.ForeignKeyField(
        "models.Award", related_name="nominations", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="nominations", on_delete=fields.CASCADE
    )
    award_id: int
    volunteer_id: int
    period_hours = fields.FloatField()  # snapshot when nominated
    star_level = fields.IntField()
    status = fields.CharEnumField(NominationStatus, max_length=10,
                                  default=NominationStatus.NOMINATED)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "nomination"
        unique_together = (("award", "volunteer"),)
        indexes = (("volunteer_id", "status"),)


class NominationAudit(Model):
    # Append-only: every award decision, who made it and why.
    id = fields.IntField(primary_key=True)
    nomination: fields.ForeignKeyRelation[Nomination] = fields.ForeignKeyField(
        "models.Nomination", related_name="audit", on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="nomination_decisions", on_delete=fields.RESTRICT
    )
    nomination_id: int
    actor_id: int
    status_before = fields.CharField(max_length=10)
    status_after = fields.CharField(max_length=10)
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "nomination_audit"
