"""Service stations that keep their hours (城市志愿服务站): a service point's weekly opening
schedule, the dates it is closed (holidays), and the opening slots a check-in at the station
marked operating.

A *slot* is one weekly opening period (`StationHours`) on one date. Duty shifts are ordinary
activities linked to the service point (`Activity.service_point`), signed up for through the
ordinary guarded path; their check-ins write `StationSlotMark` rows, so the operating rate is a
count of marks over a count of scheduled slots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import SignUp
    from models.servicepoint import ServicePoint
    from models.volunteer import Volunteer


class StationHours(Model):
    # One weekly opening period: weekday 0 = Monday; minutes after midnight, Beijing time.

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="opening_hours_rules", on_delete=fields.CASCADE)
    weekday = fields.SmallIntField()
    opens_minute = fields.SmallIntField()
    closes_minute = fields.SmallIntField()
    # In force from this day (days since 1970-01-01, Beijing dates) until the day before
    # `valid_until_day`: a changed schedule retires rules instead of deleting their history.
    valid_from_day = fields.IntField()
    valid_until_day = fields.IntField(null=True)

    service_point_id: int

    class Meta:
        table = "station_hours"
        indexes = (("service_point_id", "weekday"),)


class StationClosure(Model):
    # A date a station (or, with no service point, every station) stays closed: its slots
    # that day are not scheduled.

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyNullableRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="closures", null=True, on_delete=fields.CASCADE)
    day_number = fields.IntField()  # days since 1970-01-01
    reason = fields.CharField(max_length=500)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="station_closures", on_delete=fields.RESTRICT)
    created_at = fields.DatetimeField(auto_now_add=True)

    service_point_id: int | None
    created_by_id: int

    class Meta:
        table = "station_closure"
        unique_together = (("service_point", "day_number"),)
        indexes = (("day_number",),)


class StationSlotMark(Model):
    # A slot someone was checked in at the station for: the first check-in that covered it.

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="slot_marks", on_delete=fields.CASCADE)
    hours: fields.ForeignKeyRelation[StationHours] = fields.ForeignKeyField(
        "models.StationHours", related_name="marks", on_delete=fields.CASCADE)
    day_number = fields.IntField()  # days since 1970-01-01
    sign_up: fields.ForeignKeyNullableRelation[SignUp] = fields.ForeignKeyField(
        "models.SignUp", related_name="station_marks", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    service_point_id: int
    hours_id: int
    sign_up_id: int | None

    class Meta:
        table = "station_slot_mark"
        unique_together = (("hours", "day_number"),)
        indexes = (("day_number", "service_point_id"),)


class StationWeek(Model):
    # Marks per station per week (`week` = the Monday's day number), moved in the transaction
    # that writes each mark, so a year's rate sums ~52 rows a station instead of every mark.

    id = fields.IntField(primary_key=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name="week_tallies", on_delete=fields.CASCADE)
    week = fields.IntField()
    staffed = fields.IntField(default=0)

    service_point_id: int

    class Meta:
        table = "station_week"
        unique_together = (("service_point", "week"),)
        indexes = (("week",),)
