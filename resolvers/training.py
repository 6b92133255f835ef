"""Training and assessment rules: courses, lessons, enrolment, completion, assessments and the
qualifications a pass grants.

Decisions where the issue was silent (docs/training.md):
- A course belongs to a team (its admins and those of parent teams manage it) or to the
  platform (team null: platform admins). It grants one named qualification.
- A course is complete when every lesson is complete; the date is recorded once. A quiz may
  be taken only once the course is complete; an organiser may record a result for any
  enrolled volunteer (offline exams).
- A quiz is scored 0–100 (share of correct answers, rounded down); every attempt is kept;
  at most 5 attempts per volunteer and quiz in 24 hours (RATE_LIMITED), so the score cannot
  be used to find the answers by trial.
- A pass grants or renews the qualification: expiry = pass time + the course's validity
  in months (none: never expires); a renewal never shortens an expiry already held.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.exchange import RecordChangeKind
from models.team import Membership, Team
from models.training import (
    Assessment,
    AssessmentKind,
    AssessmentResult,
    Course,
    Enrollment,
    Lesson,
    LessonCompletion,
    Qualification,
)
from resolvers import exchange
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.services import services
from resolvers.team import administered_team_ids, is_team_admin
from resolvers.validation import (
    LONG_TEXT_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    check_text,
    check_url,
)

VALIDITY_MAX_MONTHS = 120
LESSONS_MAX = 200
QUESTIONS_MAX = 100
OPTIONS_MAX = 10
QUIZ_ATTEMPTS, QUIZ_WINDOW_SECONDS = 5, 24 * 3600  # per volunteer and quiz


@dataclass
class CourseData:
    title: str
    qualification: str
    description: str = ""
    team_id: int | None = None
    validity_months: int | None = None


@dataclass
class LessonData:
    title: str
    video_url: str | None = None
    material_url: str | None = None


@dataclass
class QuestionData:
    text: str
    options: list[str]
    answer: int


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months; the 31st becomes the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


async def may_manage_course(viewer: Viewer, course: Course) -> bool:
    if viewer.volunteer is None:
        return False
    if viewer.is_platform_admin:
        return True
    if course.team_id is None:
        return False
    team = await Team.get_or_none(id=course.team_id)
    return team is not None and await is_team_admin(viewer, team)


async def check_course_admin(viewer: Viewer, course_id: int) -> Course:
    viewer.require()
    course = await Course.get_or_none(id=course_id)
    if course is None:
        raise NotFound("Course")
    if not await may_manage_course(viewer, course):
        raise Forbidden("Only admins of the course's team (platform admins for platform "
                        "courses) can do that.")
    return course


async def do_create_course(viewer: Viewer, data: CourseData) -> Course:
    creator = viewer.require_active()
    title = check_text(data.title, "title", max_len=SHORT_TEXT_MAX)
    description = check_text(data.description, "description", max_len=LONG_TEXT_MAX,
                              required=False)
    qualification = check_text(data.qualification, "qualification", max_len=NAME_MAX)
    if data.validity_months is not None and not 1 <= data.validity_months <= VALIDITY_MAX_MONTHS:
        raise BadInput("validityMonths",
                       f"validityMonths must be between 1 and {VALIDITY_MAX_MONTHS}.")
    if data.team_id is None:
        if not viewer.is_platform_admin:
            raise Forbidden("Only platform admins create platform courses; give a teamId.")
    else:
        team = await Team.get_or_none(id=data.team_id)
        if team is None:
            raise NotFound("Team")
        if not await is_team_admin(viewer, team):
            raise Forbidden("Only an admin of this team or a parent team can do that.")
    return await Course.create(team_id=data.team_id, created_by_id=creator.id, title=title,
                               description=description, qualification=qualification,
                               validity_months=data.validity_months)


async def do_add_lesson(viewer: Viewer, course_id: int, data: LessonData) -> Lesson:
    """Appends a lesson. Volunteers who had completed the course stay complete (dated)."""
    course = await check_course_admin(viewer, course_id)
    title = check_text(data.title, "title", max_len=SHORT_TEXT_MAX)
    video = check_url(data.video_url, "videoUrl")
    material = check_url(data.material_url, "materialUrl")
    for _ in range(3):  # two admins appending at once: the unique position decides, retry
        last = await Lesson.filter(course_id=course.id).order_by("-position").first()
        position = (last.position + 1) if last else 1
        if position > LESSONS_MAX:
            raise Conflict(f"A course has at most {LESSONS_MAX} lessons.")
        try:
            return await Lesson.create(course_id=course.id, position=position, title=title,
                                       video_url=video, material_url=material)
        except IntegrityError:
            continue
    raise Conflict("Another lesson was added at the same moment; try again.")


def check_questions(questions: list[QuestionData]) -> list[dict[str, Any]]:
    if not questions:
        raise BadInput("questions", "A quiz needs at least one question.")
    if len(questions) > QUESTIONS_MAX:
        raise BadInput("questions", f"At most {QUESTIONS_MAX} questions.")
    clean = []
    for question in questions:
        text = check_text(question.text, "questions.text", max_len=SHORT_TEXT_MAX * 5)
        options = [check_text(o, "questions.options", max_len=SHORT_TEXT_MAX)
                   for o in question.options]
        if not 2 <= len(options) <= OPTIONS_MAX:
            raise BadInput("questions.options",
                           f"Each question needs 2–{OPTIONS_MAX} options.")
        if not 0 <= question.answer < len(options):
            raise BadInput("questions.answer", "answer must be the index of one of the options.")
        clean.append({"text": text, "options": options, "answer": question.answer})
    return clean


async def do_set_assessment(viewer: Viewer, course_id: int, kind: AssessmentKind,
                            pass_score: int, questions: list[QuestionData] | None) -> Assessment:
    """Creates or replaces the course's assessment (results already recorded stay)."""
    course = await check_course_admin(viewer, course_id)
    if not 0 <= pass_score <= 100:
        raise BadInput("passScore", "passScore must be between 0 and 100.")
    if kind == AssessmentKind.QUIZ:
        stored = check_questions(questions or [])
    elif questions:
        raise BadInput("questions", "Only a QUIZ assessment has questions.")
    else:
        stored = []
    async with in_transaction() as conn:
        existing = await Assessment.filter(course_id=course.id).using_db(conn) \
            .select_for_update().first()
        if existing is None:
            return await Assessment.create(course_id=course.id, kind=kind,
                                           pass_score=pass_score, questions=stored,
                                           using_db=conn)
        existing.kind, existing.pass_score, existing.questions = kind, pass_score, stored
        await existing.save(using_db=conn, update_fields=["kind", "pass_score", "questions"])
        return existing


async def do_enroll(viewer: Viewer, course_id: int) -> Enrollment:
    """Idempotent: enrolling again returns the same enrolment."""
    volunteer = viewer.require_active("enrol")
    course = await Course.get_or_none(id=course_id)
    if course is None:
        raise NotFound("Course")
    existing = await Enrollment.get_or_none(course_id=course.id, volunteer_id=volunteer.id)
    if existing is not None:
        return existing
    try:
        return await Enrollment.create(course_id=course.id, volunteer_id=volunteer.id)
    except IntegrityError:
        return await Enrollment.get(course_id=course.id, volunteer_id=volunteer.id)


async def do_complete_lesson(viewer: Viewer, lesson_id: int) -> Enrollment:
    """Marks the lesson done (idempotent); the last one completes the course, dated once."""
    volunteer = viewer.require_active("study")
    lesson = await Lesson.get_or_none(id=lesson_id)
    if lesson is None:
        raise NotFound("Lesson")
    enrollment = await Enrollment.get_or_none(course_id=lesson.course_id,
                                              volunteer_id=volunteer.id)
    if enrollment is None:
        raise Conflict("Enrol in the course first.", reason="NOT_ENROLLED")
    if await LessonCompletion.exists(lesson_id=lesson.id, volunteer_id=volunteer.id):
        return enrollment
    try:
        async with in_transaction() as conn:
            await LessonCompletion.create(lesson_id=lesson.id, volunteer_id=volunteer.id,
                                          using_db=conn)
            await Enrollment.filter(id=enrollment.id).using_db(conn).update(
                lessons_completed=F("lessons_completed") + 1)
            total = await Lesson.filter(course_id=lesson.course_id).using_db(conn).count()
            await Enrollment.filter(id=enrollment.id, completed_at=None,
                                    lessons_completed__gte=total).using_db(conn).update(
                completed_at=datetime.now(UTC))
    except IntegrityError:
        pass  # the same lesson completed twice at once: the first one counted
    await enrollment.refresh_from_db()
    return enrollment


async def _grant(volunteer_id: int, course: Course, now: datetime,
                 conn: Any) -> Qualification:
    """Grant or renew in the caller's transaction; a renewal never shortens an expiry."""
    expires = add_months(now, course.validity_months) if course.validity_months else None
    held = await Qualification.filter(volunteer_id=volunteer_id, name=course.qualification) \
        .using_db(conn).select_for_update().first()
    if held is None:
        held = await Qualification.create(volunteer_id=volunteer_id, name=course.qualification,
                                          course_id=course.id, granted_at=now,
                                          expires_at=expires, using_db=conn)
    else:
        if held.expires_at is not None and (expires is None or expires > held.expires_at):
            held.expires_at = expires
        held.granted_at, held.course_id = now, course.id
        await held.save(using_db=conn, update_fields=["expires_at", "granted_at", "course_id"])
    await exchange.enqueue_for(conn, RecordChangeKind.TRAINING, volunteer_id, held.id, {
        "title": course.qualification, "status": "GRANTED", "occurredAt": now.isoformat()})
    return held


async def _record(assessment: Assessment, course: Course, volunteer_id: int, passed: bool,
                  score: int, recorded_by: int | None) -> tuple[AssessmentResult,
                                                            Qualification | None]:
    for attempt in range(2):
        try:
            async with in_transaction() as conn:
                now = datetime.now(UTC)
                result = await AssessmentResult.create(
                    assessment_id=assessment.id, volunteer_id=volunteer_id, passed=passed,
                    score=score, recorded_by_id=recorded_by, using_db=conn)
                granted = await _grant(volunteer_id, course, now, conn) if passed else None
                return result, granted
        except IntegrityError:
            if attempt:  # two first grants of one name raced; the retry sees the winner
                raise
    raise AssertionError("unreachable")


async def check_assessment(assessment_id: int) -> tuple[Assessment, Course]:
    assessment = await Assessment.get_or_none(id=assessment_id)
    if assessment is None:
        raise NotFound("Assessment")
    return assessment, await Course.get(id=assessment.course_id)


async def do_submit_quiz(viewer: Viewer, assessment_id: int,
                         answers: list[int]) -> tuple[AssessmentResult, Qualification | None]:
    volunteer = viewer.require_active("take a quiz")
    assessment, course = await check_assessment(assessment_id)
    if assessment.kind != AssessmentKind.QUIZ:
        raise Conflict("This assessment is recorded by the organiser, not a quiz.",
                       reason="NOT_A_QUIZ")
    enrollment = await Enrollment.get_or_none(course_id=course.id, volunteer_id=volunteer.id)
    if enrollment is None or enrollment.completed_at is None:
        raise Conflict("Complete every lesson of the course before its quiz.",
                       reason="COURSE_NOT_COMPLETED")
    questions: list[dict[str, Any]] = list(assessment.questions or [])
    if len(answers) != len(questions):
        raise BadInput("answers", f"Give one answer per question ({len(questions)}).")
    # The score is feedback; without a cap it would reveal the answers by trial.
    await services().limiter.hit(f"quiz:{volunteer.id}:{assessment.id}", QUIZ_ATTEMPTS,
                                 QUIZ_WINDOW_SECONDS)
    correct = sum(1 for question, answer in zip(questions, answers, strict=True)
                  if answer == question["answer"])
    score = correct * 100 // len(questions)
    return await _record(assessment, course, volunteer.id, score >= assessment.pass_score,
                         score, None)


async def do_record_assessment(viewer: Viewer, assessment_id: int, volunteer_id: int,
                               passed: bool, score: int) -> tuple[AssessmentResult,
                                                                  Qualification | None]:
    """The organiser's verdict (offline exam); the volunteer must be enrolled."""
    organiser = viewer.require_active()
    assessment, course = await check_assessment(assessment_id)
    if not await may_manage_course(viewer, course):
        raise Forbidden("Only admins of the course's team record its results.")
    if assessment.kind != AssessmentKind.RECORDED:
        raise Conflict("A quiz is scored automatically; results cannot be recorded.",
                       reason="IS_A_QUIZ")
    if not 0 <= score <= 100:
        raise BadInput("score", "score must be between 0 and 100.")
    if not await Enrollment.exists(course_id=course.id, volunteer_id=volunteer_id):
        raise NotFound("Enrolment")
    return await _record(assessment, course, volunteer_id, passed, score, organiser.id)


async def can_see_training(viewer: Viewer, volunteer_id: int,
                           administered: set[int] | None = None) -> bool:
    """Self, platform admins, and admins of a team the volunteer belongs to."""
    if viewer.id is None:
        return False
    if viewer.id == volunteer_id or viewer.is_platform_admin:
        return True
    teams = administered if administered is not None else await administered_team_ids(viewer.id)
    if not teams:
        return False
    return await Membership.exists(volunteer_id=volunteer_id, team_id__in=sorted(teams))


def list_courses(team_id: int | None, search: str | None,
                 qualification: str | None) -> QuerySet[Course]:
    query = Course.all()
    if team_id is not None:
        query = query.filter(team_id=team_id)
    if qualification:
        query = query.filter(qualification=check_text(qualification, "qualification",
                                                      max_len=NAME_MAX))
    if search:
        term = check_text(search, "search", max_len=SHORT_TEXT_MAX)
        query = query.filter(Q(title__icontains=term) | Q(description__icontains=term))
    return query


def valid_qualification_holders(name: str, at: datetime | None = None) -> QuerySet[Qualification]:
    """Qualifications of that name valid at `at` (default now)."""
    moment = at or datetime.now(UTC)
    return Qualification.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment),
                                name=name)

