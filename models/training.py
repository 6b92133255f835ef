"""Training (培训), assessment (考核) and the qualifications (资格) they grant.

A `Qualification` is one row per volunteer and name (e.g. 急救员): passing again renews it.
Activities that require qualifications list them in `activity_qualification` and carry the
denormalised `Activity.has_requirements` flag, so sign-ups for the others pay nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.team import Team
    from models.volunteer import Volunteer


class AssessmentKind(StrEnum):
    RECORDED = "RECORDED"  # the organiser records pass/fail and a score
    QUIZ = "QUIZ"  # multiple-choice questions scored by the server


class Course(Model):
    id = fields.IntField(primary_key=True)
    # Null: a platform course (platform admins manage it).
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="courses", null=True, on_delete=fields.RESTRICT
    )
    team_id: int | None
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_courses", on_delete=fields.RESTRICT
    )
    created_by_id: int
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    # The qualification a passed assessment grants (e.g. 急救员); indexed for "which course
    # grants what I lack" in the NOT_QUALIFIED answer.
    qualification = fields.CharField(max_length=50, db_index=True)
    validity_months = fields.IntField(null=True)  # null: never expires
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "course"


class Lesson(Model):
    id = fields.IntField(primary_key=True)
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "models.Course", related_name="lessons", on_delete=fields.CASCADE
    )
    course_id: int
    position = fields.IntField()
    title = fields.CharField(max_length=200)
    video_url = fields.CharField(max_length=500, null=True)
    material_url = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "lesson"
        unique_together = (("course", "position"),)


class Enrollment(Model):
    id = fields.IntField(primary_key=True)
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "models.Course", related_name="enrollments", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="enrollments", on_delete=fields.CASCADE
    )
    course_id: int
    volunteer_id: int
    lessons_completed = fields.IntField(default=0)
    enrolled_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "enrollment"
        unique_together = (("course", "volunteer"),)
        indexes = (("volunteer_id", "id"),)


class LessonCompletion(Model):
    id = fields.IntField(primary_key=True)
    lesson: fields.ForeignKeyRelation[Lesson] = fields.ForeignKeyField(
        "models.Lesson", related_name="completions", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="lesson_completions", on_delete=fields.CASCADE
    )
    lesson_id: int
    volunteer_id: int
    completed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lesson_completion"
        unique_together = (("lesson", "volunteer"),)


class Assessment(Model):
    id = fields.IntField(primary_key=True)
    course: fields.OneToOneRelation[Course] = fields.OneToOneField(
        "models.Course", related_name="assessment", on_delete=fields.CASCADE
    )
    course_id: int
    kind = fields.CharEnumField(AssessmentKind, max_length=10)
    pass_score = fields.IntField()  # 0–100
    # QUIZ: [{"text": str, "options": [str, ...], "answer": int}]. `answer` never leaves
    # the server: the GraphQL type exposes text and options only.
    questions: Any = fields.JSONField(default=list)

    class Meta:
        table = "assessment"


class AssessmentResult(Model):
    id = fields.IntField(primary_key=True)
    assessment: fields.ForeignKeyRelation[Assessment] = fields.ForeignKeyField(
        "models.Assessment", related_name="results", on_delete=fields.CASCADE
    )
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="assessment_results", on_delete=fields.CASCADE
    )
    recorded_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="recorded_results", null=True,
        on_delete=fields.SET_NULL,
    )
    assessment_id: int
    volunteer_id: int
    recorded_by_id: int | None  # null: scored automatically (quiz)
    passed = fields.BooleanField()
    score = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "assessment_result"
        indexes = (("volunteer_id", "assessment_id"),)


class Qualification(Model):
    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="qualifications", on_delete=fields.CASCADE
    )
    course: fields.ForeignKeyNullableRelation[Course] = fields.ForeignKeyField(
        "models.Course", related_name="granted", null=True, on_delete=fields.SET_NULL
    )
    volunteer_id: int
    course_id: int | None
    name = fields.CharField(max_length=50)
    granted_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)  # null: never expires

    class Meta:
        table = "qualification"
        unique_together = (("volunteer", "name"),)
        indexes = (("name", "expires_at"),)


class ActivityQualification(Model):
    # A qualification an activity requires (all of them); Activity.has_requirements is set.

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="required_qualifications", on_delete=fields.CASCADE
    )
    activity_id: int
    name = fields.CharField(max_length=50)

    class Meta:
        table = "activity_qualification"
        unique_together = (("activity", "name"),)
