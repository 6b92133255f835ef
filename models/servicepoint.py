"""Service points (服务阵地) and the communities whose walking-time coverage a city reports."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.team import Team


class ServicePointKind(StrEnum):
    STATION = "STATION"
    SCHOOL = "SCHOOL"
    HUB = "HUB"
    LIBRARY = "LIBRARY"
    PARK = "PARK"
    COMMUNITY_CENTRE = "COMMUNITY_CENTRE"


class ServicePoint(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(ServicePointKind, max_length=16, db_index=True)
    district = fields.CharField(max_length=50, db_index=True)
    address = fields.CharField(max_length=200, null=True)
    latitude = fields.FloatField()
    longitude = fields.FloatField()
    opening_hours = fields.CharField(max_length=200, default="")
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="service_points", null=True, on_delete=fields.SET_NULL
    )
    team_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_point"
        # The bounding-box prefilter of `servicePoints(near:)` ranges over latitude first.
        indexes = (("latitude", "longitude"),)


class Community(Model):
    # A community (社区) or sub-district with its centre: the unit of the coverage statistic.
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    district = fields.CharField(max_length=50, db_index=True)
    latitude = fields.FloatField()
    longitude = fields.FloatField()

    class Meta:
        table = "community"
        unique_together = (("district", "name"),)
