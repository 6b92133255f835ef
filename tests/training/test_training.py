"""Courses, lessons, completion, assessments and the qualifications they grant, through
GraphQL and (for the calendar arithmetic) the rules directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.training import AssessmentKind, AssessmentResult, Enrollment, Qualification
from resolvers.training import add_months
from schema.relay import to_global_id
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer
from tests.training.factory import make_course, qualify

CREATE_COURSE = """
mutation C($input: CourseInput!) {
  createCourse(input: $input) { id title qualification validityMonths team { name } }
}"""
ADD_LESSON = """
mutation L($id: ID!, $input: LessonInput!) { addLesson(courseId: $id, input: $input) { id position } }"""
SET_QUIZ = """
mutation A($id: ID!, $input: AssessmentInput!) {
  setAssessment(courseId: $id, input: $input) { id kind passScore questions { index text options } }
}"""
ENROLL = "mutation E($id: ID!) { enrollInCourse(courseId: $id) { id lessonsCompleted completedAt } }"
COMPLETE = "mutation D($id: ID!) { completeLesson(lessonId: $id) { lessonsCompleted completedAt } }"
SUBMIT = """
mutation Q($id: ID!, $answers: [Int!]!) {
  submitQuiz(assessmentId: $id, answers: $answers) {
    passed score recordedByOrganiser qualification { name expiresAt valid }
  }
}"""
RECORD = """
mutation R($a: ID!, $v: ID!, $passed: Boolean!, $score: Int!) {
  recordAssessment(assessmentId: $a, volunteerId: $v, passed: $passed, score: $score) {
    passed score recordedByOrganiser qualification { name expiresAt }
  }
}"""
ANSWER_LEAK = """
query Q($id: ID!) { node(id: $id) { ... on Course { assessment { questions { answer } } } } }"""
MY_TRAINING = """
query V($id: ID!) {
  node(id: $id) {
    ... on Volunteer {
      qualifications { name valid expiresAt course { title } }
      courses(first: 10) { totalCount edges { node { completedAt course { title } } } }
    }
  }
}"""
QUALIFIED_ONLY = """
query S($q: String) { volunteers(qualification: $q, first: 50) { totalCount edges { node { displayName } } } }"""
COURSES = """
query C($first: Int) {
  courses(first: $first) {
    totalCount
    edges { node { title assessment { kind } lessons { title completedByMe } myEnrollment { lessonsCompleted } } }
  }
}"""
QUIZ_INPUT = {"kind": "QUIZ", "passScore": 60, "questions": [
    {"text": "成人心肺复苏按压深度是多少？", "options": ["2 厘米", "5–6 厘米", "10 厘米"], "answer": 1},
    {"text": "发现有人倒地，第一步应当？", "options": ["确认环境安全", "立即离开"], "answer": 0},
]}


async def _quiz_course(admin, team):
    course = (await execute(CREATE_COURSE, {"input": {
        "title": "急救员培训", "qualification": "急救员", "validityMonths": 24,
        "teamId": to_global_id("Team", team.id)}}, as_=admin)).ok()["createCourse"]
    lessons = [(await execute(ADD_LESSON, {"id": course["id"], "input": {
        "title": title, "videoUrl": "https://video.example.cn/cpr.mp4"}}, as_=admin)
                ).ok()["addLesson"] for title in ("心肺复苏", "止血包扎")]
    quiz = (await execute(SET_QUIZ, {"id": course["id"], "input": QUIZ_INPUT}, as_=admin)
            ).ok()["setAssessment"]
    return course, lessons, quiz


async def test_a_volunteer_studies_passes_the_quiz_and_holds_the_qualification(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "急救队")
    student = await make_volunteer("学员")
    course, lessons, quiz = await _quiz_course(admin, team)
    assert course["team"] == {"name": "急救队"}
    assert [lesson["position"] for lesson in lessons] == [1, 2]
    assert quiz["questions"][0] == {"index": 0, "text": "成人心肺复苏按压深度是多少？",
                                    "options": ["2 厘米", "5–6 厘米", "10 厘米"]}
    # when
    enrolled = (await execute(ENROLL, {"id": course["id"]}, as_=student)).ok()["enrollInCourse"]
    again = (await execute(ENROLL, {"id": course["id"]}, as_=student)).ok()["enrollInCourse"]
    early = await execute(SUBMIT, {"id": quiz["id"], "answers": [1, 0]}, as_=student)
    first = (await execute(COMPLETE, {"id": lessons[0]["id"]}, as_=student)).ok()
    repeat = (await execute(COMPLETE, {"id": lessons[0]["id"]}, as_=student)).ok()
    last = (await execute(COMPLETE, {"id": lessons[1]["id"]}, as_=student)).ok()
    failed = (await execute(SUBMIT, {"id": quiz["id"], "answers": [0, 1]}, as_=student)).ok()
    passed = (await execute(SUBMIT, {"id": quiz["id"], "answers": [1, 0]}, as_=student)).ok()
    # then
    assert again["id"] == enrolled["id"]
    assert early.codes == ["CONFLICT"]
    assert early.errors[0]["extensions"]["reason"] == "COURSE_NOT_COMPLETED"
    assert first["completeLesson"] == {"lessonsCompleted": 1, "completedAt": None}
    assert repeat["completeLesson"]["lessonsCompleted"] == 1
    assert last["completeLesson"]["lessonsCompleted"] == 2
    assert last["completeLesson"]["completedAt"] is not None
    assert failed["submitQuiz"] == {"passed": False, "score": 0, "recordedByOrganiser": False,
                                    "qualification": None}
    granted = passed["submitQuiz"]
    assert (granted["passed"], granted["score"]) == (True, 100)
    assert granted["qualification"]["name"] == "急救员" and granted["qualification"]["valid"]
    expires = datetime.fromisoformat(granted["qualification"]["expiresAt"])
    assert abs(expires - add_months(datetime.now(UTC), 24)) < timedelta(minutes=1)
    assert await AssessmentResult.filter(volunteer_id=student.id).count() == 2
    mine = (await execute(MY_TRAINING, {"id": to_global_id("Volunteer", student.id)},
                          as_=student)).ok()["node"]
    assert [q["name"] for q in mine["qualifications"]] == ["急救员"]
    assert mine["qualifications"][0]["course"] == {"title": "急救员培训"}
    assert mine["courses"]["totalCount"] == 1
    assert mine["courses"]["edges"][0]["node"]["completedAt"] is not None


async def test_quiz_answers_are_never_sent(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    course, _, _ = await _quiz_course(admin, team)
    # when
    result = await execute(ANSWER_LEAK, {"id": course["id"]}, as_=admin)
    # then: the field does not exist, not even for the course's admin
    assert result.codes == ["BAD_USER_INPUT"]


async def test_course_input_is_validated_and_only_admins_manage(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    outsider = await make_volunteer("路人")
    good = {"title": "导诊培训", "qualification": "导诊", "teamId": to_global_id("Team", team.id)}
    # when
    platform = await execute(CREATE_COURSE, {"input": {"title": "x", "qualification": "导诊"}},
                             as_=admin)
    foreign = await execute(CREATE_COURSE, {"input": good}, as_=outsider)
    validity = await execute(CREATE_COURSE, {"input": {**good, "validityMonths": 0}}, as_=admin)
    blank = await execute(CREATE_COURSE, {"input": {**good, "qualification": " "}}, as_=admin)
    course = (await execute(CREATE_COURSE, {"input": good}, as_=admin)).ok()["createCourse"]
    lesson = await execute(ADD_LESSON, {"id": course["id"], "input": {
        "title": "第一课", "videoUrl": "ftp://x"}}, as_=admin)
    quiz_by_outsider = await execute(SET_QUIZ, {"id": course["id"], "input": QUIZ_INPUT},
                                     as_=outsider)
    bad_answer = await execute(SET_QUIZ, {"id": course["id"], "input": {
        **QUIZ_INPUT, "questions": [{"text": "?", "options": ["a", "b"], "answer": 2}]}},
                               as_=admin)
    # then
    assert platform.codes == ["FORBIDDEN"]
    assert foreign.codes == ["FORBIDDEN"]
    assert [e["extensions"].get("field") for e in validity.errors] == ["validityMonths"]
    assert [e["extensions"].get("field") for e in blank.errors] == ["qualification"]
    assert [e["extensions"].get("field") for e in lesson.errors] == ["videoUrl"]
    assert quiz_by_outsider.codes == ["FORBIDDEN"]
    assert [e["extensions"].get("field") for e in bad_answer.errors] == ["questions.answer"]


async def test_organiser_records_an_offline_exam_and_renewal_never_shortens(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    course = await make_course(admin, team, qualification="应急救援", validity_months=12,
                               kind=AssessmentKind.RECORDED)
    assessment = await course.assessment
    student = await make_volunteer("学员")
    stranger = await make_volunteer("未报名")
    await Enrollment.create(course=course, volunteer=student)
    held = await qualify(student, "应急救援", expires_in=timedelta(days=900))
    ids = {"a": to_global_id("Assessment", assessment.id)}
    # when
    by_student = await execute(RECORD, {**ids, "v": to_global_id("Volunteer", student.id),
                                        "passed": True, "score": 90}, as_=student)
    not_enrolled = await execute(RECORD, {**ids, "v": to_global_id("Volunteer", stranger.id),
                                          "passed": True, "score": 90}, as_=admin)
    bad_score = await execute(RECORD, {**ids, "v": to_global_id("Volunteer", student.id),
                                       "passed": True, "score": 101}, as_=admin)
    quiz = await execute(SUBMIT, {"id": ids["a"], "answers": []}, as_=student)
    recorded = (await execute(RECORD, {**ids, "v": to_global_id("Volunteer", student.id),
                                       "passed": True, "score": 90}, as_=admin)).ok()
    # then
    assert by_student.codes == ["FORBIDDEN"]
    assert not_enrolled.codes == ["NOT_FOUND"]
    assert [e["extensions"].get("field") for e in bad_score.errors] == ["score"]
    assert quiz.codes == ["CONFLICT"]
    assert recorded["recordAssessment"]["recordedByOrganiser"] is True
    renewed = await Qualification.get(volunteer_id=student.id, name="应急救援")
    assert renewed.id == held.id and renewed.course_id == course.id
    assert renewed.expires_at == held.expires_at  # 12 months would have shortened 900 days
    assert await AssessmentResult.filter(volunteer_id=student.id).count() == 1


async def test_training_is_private_to_self_and_their_team_admins(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    member = await make_volunteer("队员")
    await add_member(team, member)
    stranger = await make_volunteer("路人")
    await qualify(member)
    gid = to_global_id("Volunteer", member.id)
    # when
    by_admin = (await execute(MY_TRAINING, {"id": gid}, as_=admin)).ok()["node"]
    by_stranger = await execute(MY_TRAINING, {"id": gid}, as_=stranger)
    # then
    assert [q["name"] for q in by_admin["qualifications"]] == ["急救员"]
    assert by_stranger.data["node"] is None or by_stranger.data["node"].get(
        "qualifications") is None
    assert "FORBIDDEN" in by_stranger.codes


async def test_volunteers_filtered_by_a_valid_qualification(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    for name, expires_in in (("持证", timedelta(days=30)), ("过期", timedelta(days=-1)),
                             ("无证", None)):
        person = await make_volunteer(name)
        await add_member(team, person)
        if expires_in is not None:
            await qualify(person, expires_in=expires_in)
    # when
    found = (await execute(QUALIFIED_ONLY, {"q": "急救员"}, as_=admin)).ok()["volunteers"]
    everyone = (await execute(QUALIFIED_ONLY, {"q": None}, as_=admin)).ok()["volunteers"]
    # then
    assert [e["node"]["displayName"] for e in found["edges"]] == ["持证"]
    assert found["totalCount"] == 1
    assert everyone["totalCount"] == 4


async def test_course_list_statements_do_not_grow_with_the_page(db):
    # given
    admin = await make_volunteer("队长", platform_admin=True)
    for index in range(8):
        course = await make_course(admin, qualification=f"资格{index}")
        await Enrollment.create(course=course, volunteer=admin)

    async def statements_for(first: int) -> int:
        with count_statements() as statements:
            page = (await execute(COURSES, {"first": first}, as_=admin)).ok()["courses"]
        assert len(page["edges"]) == first and page["totalCount"] == 8
        return len(statements)

    # when
    small, large = await statements_for(2), await statements_for(8)
    # then
    assert small == large


def test_months_are_calendar_months():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


async def test_quiz_attempts_are_capped_so_scores_cannot_reveal_the_answers(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    student = await make_volunteer("学员")
    course, lessons, quiz = await _quiz_course(admin, team)
    (await execute(ENROLL, {"id": course["id"]}, as_=student)).ok()
    for lesson in lessons:
        (await execute(COMPLETE, {"id": lesson["id"]}, as_=student)).ok()
    # when
    tries = [await execute(SUBMIT, {"id": quiz["id"], "answers": [0, 1]}, as_=student)
             for _ in range(6)]
    # then
    assert [t.codes for t in tries[:5]] == [[]] * 5
    assert tries[5].codes == ["RATE_LIMITED"]
    assert await AssessmentResult.filter(volunteer_id=student.id).count() == 5


async def test_a_question_may_be_as_long_as_its_description_says(db):
    # given: a case-based question (a scenario to read), at the bound the schema states
    admin = await make_volunteer("队长")
    team = await make_team(admin, "急救队")
    course = (await execute(CREATE_COURSE, {"input": {
        "title": "急救员培训", "qualification": "急救员", "teamId": to_global_id("Team", team.id)}},
        as_=admin)).ok()["createCourse"]
    scenario = "场" * 1000
    # when
    saved = await execute(SET_QUIZ, {"id": course["id"], "input": {
        **QUIZ_INPUT, "questions": [{"text": scenario, "options": ["a", "b"], "answer": 0}]}},
        as_=admin)
    # then
    assert saved.ok()["setAssessment"]["questions"][0]["text"] == scenario
