"""Project library (项目库): long-lived programmes owned by a team, their fixed posts (岗位)
and recurring series that generate dated activities (one activity per shift).

`Project` carries its statistics, maintained inside each hours decision's transaction
(resolvers/project.py); `ProjectTally` counts approved records per volunteer and per activity
so "volunteers served" and "activities held" stay exact distinct counts without a scan.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.team import Team
    from models.volunteer import Volunteer


class Frequency(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class TallySubject(StrEnum):
    VOLUNTEER = "VOLUNTEER"
    ACTIVITY = "ACTIVITY"


class Project(Model):
    id = fields.IntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="projects", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_projects", on_delete=fields.RESTRICT
    )
    team_id: int
    created_by_id: int
    name = fields.CharField(max_length=200)
    category = fields.CharField(max_length=50, db_index=True)
    district = fields.CharField(max_length=50, db_index=True)
    description = fields.TextField()
    cover_image_url = fields.CharField(max_length=500, null=True)
    activities_held = fields.IntField(default=0)
    volunteers_served = fields.IntField(default=0)
    approved_hours = fields.FloatField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project"


class Position(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="positions", on_delete=fields.CASCADE
    )
    project_id: int
    name = fields.CharField(max_length=200)
    address = fields.CharField(max_length=200, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    capacity_per_shift = fields.IntField()
    qualifications = fields.CharField(max_length=700, default="")  # ',a,b,' like tags
    minimum_age = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "position"


class ProjectSeries(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="series", on_delete=fields.CASCADE
    )
    position: fields.ForeignKeyNullableRelation[Position] = fields.ForeignKeyField(
        "models.Position", related_name="series", null=True, on_delete=fields.CASCADE
    )
    project_id: int
    position_id: int | None
    title = fields.CharField(max_length=200)
    frequency = fields.CharEnumField(Frequency, max_length=8)
    weekdays = fields.CharField(max_length=20, default="")  # ISO weekdays ',1,3,' (WEEKLY)
    day_of_month = fields.IntField(null=True)  # MONTHLY
    start_time = fields.CharField(max_length=5)  # HH:MM, Beijing time
    duration_minutes = fields.IntField()
    capacity = fields.IntField()
    first_date = fields.DateField()
    last_date = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project_series"


class SeriesOccurrence(Model):
    # One generated date of a series; the activity is then edited like any other.
    id = fields.IntField(primary_key=True)
    series: fields.ForeignKeyRelation[ProjectSeries] = fields.ForeignKeyField(
        "models.ProjectSeries", related_name="occurrences", on_delete=fields.CASCADE
    )
    activity: fields.OneToOneRelation[Activity] = fields.OneToOneField(
        "models.Activity", related_name="occurrence", on_delete=fields.CASCADE
    )
    series_id: int
    activity_id: int
    day = fields.DateField()

    class Meta:
        table = "series_occurrence"
        unique_together = (("series", "day"),)


class ProjectTally(Model):
    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="tallies", on_delete=fields.CASCADE
    )
    project_id: int
    subject = fields.CharEnumField(TallySubject, max_length=10)
    subject_id = fields.IntField()
    records = fields.IntField(default=0)

    class Meta:
        table = "project_tally"
        unique_together = (("project", "subject", "subject_id"),)
