"""Training fixtures built on the models, for tests that need a qualified volunteer fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.team import Team
from models.training import Assessment, AssessmentKind, Course, Qualification
from models.volunteer import Volunteer
from resolvers.requirements import Requirements, write_requirements

QUIZ = [
    {"text": "成人心肺复苏按压深度是多少？", "options": ["2 厘米", "5–6 厘米", "10 厘米"], "answer": 1},
    {"text": "发现有人倒地，第一步应当？", "options": ["确认环境安全", "立即离开"], "answer": 0},
]


async def make_course(creator: Volunteer, team: Team | None = None, *,
                      qualification: str = "急救员", validity_months: int | None = 24,
                      kind: AssessmentKind = AssessmentKind.QUIZ) -> Course:
    course = await Course.create(team=team, created_by=creator, title=f"{qualification}培训",
                                 description="红十字会标准课程。", qualification=qualification,
                                 validity_months=validity_months)
    await Assessment.create(course=course, kind=kind, pass_score=60,
                            questions=QUIZ if kind == AssessmentKind.QUIZ else [])
    return course


async def qualify(volunteer: Volunteer, name: str = "急救员", *,
                  expires_in: timedelta | None = timedelta(days=365)) -> Qualification:
    now = datetime.now(UTC)
    return await Qualification.create(volunteer=volunteer, name=name, granted_at=now,
                                      expires_at=now + expires_in if expires_in else None)


async def require(activity_id: int, *names: str, minimum_age: int | None = None) -> None:
    await write_requirements(activity_id, Requirements(sorted(names), minimum_age))
