"""Training, assessment and qualifications: types, inputs and the Query/Mutation fields.
Rules live in resolvers/training.py and resolvers/requirements.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.activity import Activity as ActivityModel
from models.training import Assessment as AssessmentModel
from models.training import AssessmentKind as AssessmentKindModel
from models.training import AssessmentResult as AssessmentResultModel
from models.training import Course as CourseModel
from models.training import Enrollment as EnrollmentModel
from models.training import Lesson as LessonModel
from models.training import Qualification as QualificationModel
from resolvers import requirements as requirement_rules
from resolvers import training as rules
from resolvers.errors import Forbidden
from schema.context import Info, administered_teams
from schema.lazy import lazy_class
from schema.loaders import (
    AssessmentByCourseLoader,
    CompletionByLessonLoader,
    EnrollmentByCourseLoader,
    RequirementsByActivityLoader,
)
from schema.relay import (
    NEWEST_FIRST,
    Connection,
    Node,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
)
from schema.team import Team, team_loader
from schema.volunteer import Volunteer, require_volunteer

if TYPE_CHECKING:
    from schema.activity import Activity

# Activities load after training (schema/lazy.py).
ActivityRef = Annotated["Activity", strawberry.lazy("schema.activity")]

if TYPE_CHECKING:
    AssessmentKind: TypeAlias = AssessmentKindModel
else:
    AssessmentKind = strawberry.enum(
        AssessmentKindModel, name="AssessmentKind",
        description="RECORDED: the organiser records pass/fail and a score; QUIZ: "
                    "multiple-choice questions scored by the server.")


async def _may_see_training(info: Info, volunteer_id: int) -> bool:
    viewer = info.context.viewer
    if viewer.id is None:
        return False
    if viewer.id == volunteer_id or viewer.is_platform_admin:
        return True
    return await rules.can_see_training(viewer, volunteer_id, await administered_teams(info))


@strawberry.type(description="A training course (培训课程) that grants a qualification when its "
                             "assessment is passed.")
class Course(Node):
    model: strawberry.Private[CourseModel]
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="Description.")
    qualification: str = strawberry.field(description="Qualification a pass grants, e.g. 急救员.")
    validity_months: int | None = strawberry.field(
        description="Months a granted qualification stays valid; null: it never expires.")
    created_at: datetime = strawberry.field(description="When the course was created.")

    @classmethod
    def from_model(cls, model: CourseModel) -> Course:
        return cls(db_id=model.id, model=model, title=model.title,
                   description=model.description, qualification=model.qualification,
                   validity_months=model.validity_months, created_at=model.created_at)

    @strawberry.field(description="Owning team; null for a platform course.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        team = await team_loader(info).load(self.model.team_id)
        return Team.from_model(team) if team else None

    @strawberry.field(description="Lessons in order.")
    async def lessons(self, info: Info) -> list[Lesson]:
        rows = await info.context.loaders.grouped("course.lessons", LessonModel, "course_id",
                                                  ("position",)).load(self.db_id)
        return [Lesson.from_model(row) for row in rows]

    @strawberry.field(description="The assessment that grants the qualification, if set.")
    async def assessment(self, info: Info) -> Assessment | None:
        row = await info.context.loaders.named(AssessmentByCourseLoader).load(self.db_id)
        return Assessment.from_model(row) if row else None

    @strawberry.field(description="The signed-in volunteer's enrolment, if any.")
    async def my_enrollment(self, info: Info) -> CourseEnrollment | None:
        viewer_id = info.context.viewer.id
        if viewer_id is None:
            return None
        row = await info.context.loaders.named(EnrollmentByCourseLoader, viewer_id).load(self.db_id)
        return CourseEnrollment.from_model(row) if row else None

    @strawberry.field(description="Whether the signed-in volunteer may manage this course.")
    async def viewer_can_manage(self, info: Info) -> bool:
        viewer = info.context.viewer
        if viewer.is_platform_admin:
            return True
        return self.model.team_id is not None and \
            self.model.team_id in await administered_teams(info)


@strawberry.type(description="A lesson of a course, with optional video and material links.")
class Lesson(Node):
    model: strawberry.Private[LessonModel]
    position: int = strawberry.field(description="1 for the first lesson.")
    title: str = strawberry.field(description="Title.")
    video_url: str | None = strawberry.field(description="Video link, if any.")
    material_url: str | None = strawberry.field(description="Material (slides, PDF) link, if any.")

    @classmethod
    def from_model(cls, model: LessonModel) -> Lesson:
        return cls(db_id=model.id, model=model, position=model.position, title=model.title,
                   video_url=model.video_url, material_url=model.material_url)

    @strawberry.field(description="Whether the signed-in volunteer completed it.")
    async def completed_by_me(self, info: Info) -> bool:
        viewer_id = info.context.viewer.id
        if viewer_id is None:
            return False
        return await info.context.loaders.named(CompletionByLessonLoader, viewer_id).load(
            self.db_id)


@strawberry.type(description="A multiple-choice quiz question. The correct answer is never sent.")
class QuizQuestion:
    index: int = strawberry.field(description="0-based position; answers go in this order.")
    text: str = strawberry.field(description="The question.")
    options: list[str] = strawberry.field(description="Options; answer with the option's index.")


@strawberry.type(description="The assessment of a course (考核).")
class Assessment(Node):
    model: strawberry.Private[AssessmentModel]
    kind: AssessmentKind = strawberry.field(description="RECORDED or QUIZ.")
    pass_score: int = strawberry.field(description="Score (0–100) needed to pass.")

    @classmethod
    def from_model(cls, model: AssessmentModel) -> Assessment:
        return cls(db_id=model.id, model=model, kind=AssessmentKindModel(model.kind),
                   pass_score=model.pass_score)

    @strawberry.field(description="Quiz questions without their answers (empty for RECORDED).")
    def questions(self) -> list[QuizQuestion]:
        return [QuizQuestion(index=i, text=str(q["text"]), options=list(q["options"]))
                for i, q in enumerate(self.model.questions or [])]

    @strawberry.field(description="The course it assesses.")
    async def course(self, info: Info) -> Course:
        row = await info.context.loaders.by_id(CourseModel).load(self.model.course_id)
        assert row is not None
        return Course.from_model(row)


@strawberry.type(description="A volunteer's enrolment in a course and their progress.")
class CourseEnrollment(Node):
    model: strawberry.Private[EnrollmentModel]
    lessons_completed: int = strawberry.field(description="Lessons completed so far.")
    enrolled_at: datetime = strawberry.field(description="When they enrolled.")
    completed_at: datetime | None = strawberry.field(
        description="When the last lesson was completed (course completion), else null.")

    @classmethod
    def from_model(cls, model: EnrollmentModel) -> CourseEnrollment:
        return cls(db_id=model.id, model=model, lessons_completed=model.lessons_completed,
                   enrolled_at=model.enrolled_at, completed_at=model.completed_at)

    @classmethod
    async def of_volunteer(cls, info: Info, volunteer_id: int, first: int | None,
                           after: str | None) -> Connection[CourseEnrollment]:
        """`Volunteer.courses`: newest first, one windowed query for every page."""
        if not await _may_see_training(info, volunteer_id):
            raise Forbidden("Only the volunteer, platform admins and admins of their teams see "
                            "their courses.")
        return await info.context.loaders.child_page(
            "volunteer.courses", EnrollmentModel, "volunteer_id", volunteer_id, first, after,
            NEWEST_FIRST, convert=cls.from_model)

    @strawberry.field(description="The course.")
    async def course(self, info: Info) -> Course:
        row = await info.context.loaders.by_id(CourseModel).load(self.model.course_id)
        assert row is not None
        return Course.from_model(row)

    @strawberry.field(description="The enrolled volunteer.")
    async def volunteer(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.volunteer_id)


@strawberry.type(description="A qualification (资格) a volunteer holds, e.g. 急救员.")
class Qualification(Node):
    model: strawberry.Private[QualificationModel]
    name: str = strawberry.field(description="Qualification name.")
    granted_at: datetime = strawberry.field(description="When it was last granted or renewed.")
    expires_at: datetime | None = strawberry.field(description="Expiry; null: never expires.")

    @classmethod
    def from_model(cls, model: QualificationModel) -> Qualification:
        return cls(db_id=model.id, model=model, name=model.name, granted_at=model.granted_at,
                   expires_at=model.expires_at)

    @classmethod
    async def of_volunteer(cls, info: Info, volunteer_id: int) -> list[Qualification] | None:
        """`Volunteer.qualifications`: null for viewers who may not see them."""
        if not await _may_see_training(info, volunteer_id):
            return None
        rows = await info.context.loaders.grouped("volunteer.qualifications", QualificationModel,
                                                  "volunteer_id", ("name",)).load(volunteer_id)
        return [cls.from_model(row) for row in rows]

    @strawberry.field(description="Whether it is valid now (not expired).")
    def valid(self) -> bool:
        return self.model.expires_at is None or self.model.expires_at > datetime.now(UTC)

    @strawberry.field(description="The course whose assessment granted it, if still there.")
    async def course(self, info: Info) -> Course | None:
        if self.model.course_id is None:
            return None
        row = await info.context.loaders.by_id(CourseModel).load(self.model.course_id)
        return Course.from_model(row) if row else None


@strawberry.type(description="One assessment attempt: passed or not, with its score.")
class AssessmentResult(Node):
    model: strawberry.Private[AssessmentResultModel]
    passed: bool = strawberry.field(description="Whether it was passed.")
    score: int = strawberry.field(description="Score 0–100.")
    created_at: datetime = strawberry.field(description="When it was recorded or submitted.")
    qualification: Qualification | None = strawberry.field(
        description="The qualification granted or renewed by this pass (null if failed).")

    @classmethod
    def build(cls, model: AssessmentResultModel,
              granted: QualificationModel | None) -> AssessmentResult:
        return cls(db_id=model.id, model=model, passed=model.passed, score=model.score,
                   created_at=model.created_at,
                   qualification=Qualification.from_model(granted) if granted else None)

    @strawberry.field(description="Whether an organiser recorded it (false: a scored quiz).")
    def recorded_by_organiser(self) -> bool:
        return self.model.recorded_by_id is not None


@strawberry.type(description="What a volunteer needs to sign up for an activity (all of it).")
class ActivityRequirements:
    qualifications: list[str] = strawberry.field(
        description="Qualifications needed, each valid on the activity's start date.")
    minimum_age: int | None = strawberry.field(
        description="Minimum age on the start date (from the ID-number birth date).")


async def activity_requirements(info: Info, model: ActivityModel) -> ActivityRequirements:
    """No statement for activities without requirements; one per request for the others."""
    if not model.has_requirements:
        return ActivityRequirements(qualifications=[], minimum_age=None)
    names = await info.context.loaders.named(RequirementsByActivityLoader).load(model.id)
    return ActivityRequirements(qualifications=names, minimum_age=model.minimum_age)


async def _course_node(info: Info, db_id: int) -> Course | None:
    row = await info.context.loaders.by_id(CourseModel).load(db_id)
    return Course.from_model(row) if row else None


async def _lesson_node(info: Info, db_id: int) -> Lesson | None:
    row = await info.context.loaders.by_id(LessonModel).load(db_id)
    return Lesson.from_model(row) if row else None


async def _assessment_node(info: Info, db_id: int) -> Assessment | None:
    row = await info.context.loaders.by_id(AssessmentModel).load(db_id)
    return Assessment.from_model(row) if row else None


async def _enrollment_node(info: Info, db_id: int) -> CourseEnrollment | None:
    row = await info.context.loaders.by_id(EnrollmentModel).load(db_id)
    if row is None or not await _may_see_training(info, row.volunteer_id):
        return None
    return CourseEnrollment.from_model(row)


async def _qualification_node(info: Info, db_id: int) -> Qualification | None:
    row = await info.context.loaders.by_id(QualificationModel).load(db_id)
    if row is None or not await _may_see_training(info, row.volunteer_id):
        return None
    return Qualification.from_model(row)


async def _result_node(info: Info, db_id: int) -> AssessmentResult | None:
    row = await info.context.loaders.by_id(AssessmentResultModel).load(db_id)
    if row is None or not await _may_see_training(info, row.volunteer_id):
        return None
    return AssessmentResult.build(row, None)


register_node("Course", _course_node)
register_node("AssessmentResult", _result_node)
register_node("Lesson", _lesson_node)
register_node("Assessment", _assessment_node)
register_node("CourseEnrollment", _enrollment_node)
register_node("Qualification", _qualification_node)


@strawberry.input(description="A new course.")
class CourseInput:
    title: str = strawberry.field(description="Title.")
    qualification: str = strawberry.field(description="Qualification a pass grants.")
    description: str = strawberry.field(default="", description="What the course teaches.")
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="Owning team; omit for a platform course (platform admins).")
    validity_months: int | None = strawberry.field(
        default=None, description="1–120 months; omit: the qualification never expires.")


@strawberry.input(description="A lesson appended to a course.")
class LessonInput:
    title: str = strawberry.field(description="Title.")
    video_url: str | None = strawberry.field(default=None, description="http(s) URL.")
    material_url: str | None = strawberry.field(default=None, description="http(s) URL.")


@strawberry.input(description="A multiple-choice question with its correct option.")
class QuizQuestionInput:
    text: str = strawberry.field(description="The question.")
    options: list[str] = strawberry.field(description="The answers to choose from, at least 2.")
    answer: int = strawberry.field(description="0-based index of the correct option.")


@strawberry.input(description="The assessment of a course (replaces the previous one).")
class AssessmentInput:
    kind: AssessmentKind = strawberry.field(description="RECORDED or QUIZ.")
    pass_score: int = strawberry.field(description="0–100.")
    questions: list[QuizQuestionInput] | None = strawberry.field(
        default=None, description="QUIZ only: the questions, at least one.")


@strawberry.input(description="What sign-ups for an activity need (replaces the previous).")
class RequirementsInput:
    qualifications: list[str] = strawberry.field(
        default_factory=list, description="Qualifications needed, all of them.")
    minimum_age: int | None = strawberry.field(
        default=None, description="Minimum age on the start date, 1–100; omit for none.")


@strawberry.type
class TrainingQuery:
    @strawberry.field(description="Courses, newest first; filter by team, granted "
                                  "qualification or a search in title and description.")
    async def courses(
        self, info: Info, first: int | None = None, after: str | None = None,
        team_id: strawberry.ID | None = None, qualification: str | None = None,
        search: str | None = None,
    ) -> Connection[Course]:
        query = rules.list_courses(decode_optional_id(team_id, "Team", "teamId"), search,
                                   qualification)
        return await paginate(query, first, after, convert=Course.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class TrainingMutation:
    @strawberry.mutation(description="Create a course (team admins; platform admins for "
                                     "platform courses).")
    async def create_course(self, info: Info, input: CourseInput) -> Course:
        model = await rules.do_create_course(info.context.viewer, rules.CourseData(
            title=input.title, qualification=input.qualification,
            description=input.description,
            team_id=decode_optional_id(input.team_id, "Team", "teamId"),
            validity_months=input.validity_months))
        return Course.from_model(model)

    @strawberry.mutation(description="Append a lesson to a course (course admins).")
    async def add_lesson(self, info: Info, course_id: strawberry.ID,
                         input: LessonInput) -> Lesson:
        model = await rules.do_add_lesson(
            info.context.viewer, decode_id(course_id, "Course", "courseId"),
            rules.LessonData(title=input.title, video_url=input.video_url,
                             material_url=input.material_url))
        return Lesson.from_model(model)

    @strawberry.mutation(description="Set the course's assessment (course admins).")
    async def set_assessment(self, info: Info, course_id: strawberry.ID,
                             input: AssessmentInput) -> Assessment:
        questions = None if input.questions is None else [
            rules.QuestionData(text=q.text, options=q.options, answer=q.answer)
            for q in input.questions]
        model = await rules.do_set_assessment(
            info.context.viewer, decode_id(course_id, "Course", "courseId"),
            AssessmentKindModel(input.kind), input.pass_score, questions)
        return Assessment.from_model(model)

    @strawberry.mutation(description="Enrol in a course; enrolling again returns the same.")
    async def enroll_in_course(self, info: Info, course_id: strawberry.ID) -> CourseEnrollment:
        model = await rules.do_enroll(info.context.viewer,
                                      decode_id(course_id, "Course", "courseId"))
        return CourseEnrollment.from_model(model)

    @strawberry.mutation(description="Mark a lesson complete; the last one completes the course.")
    async def complete_lesson(self, info: Info, lesson_id: strawberry.ID) -> CourseEnrollment:
        model = await rules.do_complete_lesson(info.context.viewer,
                                               decode_id(lesson_id, "Lesson", "lessonId"))
        return CourseEnrollment.from_model(model)

    @strawberry.mutation(description="Submit quiz answers (one option index per question, in "
                                     "order); a pass grants the course's qualification.")
    async def submit_quiz(self, info: Info, assessment_id: strawberry.ID,
                          answers: list[int]) -> AssessmentResult:
        result, granted = await rules.do_submit_quiz(
            info.context.viewer, decode_id(assessment_id, "Assessment", "assessmentId"), answers)
        return AssessmentResult.build(result, granted)

    @strawberry.mutation(description="Record an organiser-assessed result (course admins); a "
                                     "pass grants the course's qualification.")
    async def record_assessment(self, info: Info, assessment_id: strawberry.ID,
                                volunteer_id: strawberry.ID, passed: bool,
                                score: int) -> AssessmentResult:
        result, granted = await rules.do_record_assessment(
            info.context.viewer, decode_id(assessment_id, "Assessment", "assessmentId"),
            decode_id(volunteer_id, "Volunteer", "volunteerId"), passed, score)
        return AssessmentResult.build(result, granted)

    @strawberry.mutation(description="Set what sign-ups for an activity need (team admins). "
                                     "Existing sign-ups stay.")
    async def set_activity_requirements(
        self, info: Info, activity_id: strawberry.ID, input: RequirementsInput
    ) -> ActivityRef:
        model = await requirement_rules.do_set_requirements(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"),
            input.qualifications, input.minimum_age)
        return lazy_class(ActivityRef).from_model(model)


__all__ = [
    "ActivityRequirements", "Assessment", "AssessmentResult", "Course", "CourseEnrollment",
    "Lesson", "Qualification", "TrainingMutation", "TrainingQuery", "activity_requirements",
]
