"""Demo data for training: a platform first-aid course with a quiz, a rescue team course with an
organiser-recorded exam, qualified volunteers and an activity that requires the qualification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.team import Team
from models.training import AssessmentKind
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"


async def seed_training(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.activity import ActivityData, do_create_activity, do_publish_activity
    from resolvers.requirements import do_set_requirements
    from resolvers.signup import do_sign_up
    from resolvers.training import (
        CourseData,
        LessonData,
        QuestionData,
        do_add_lesson,
        do_complete_lesson,
        do_create_course,
        do_enroll,
        do_record_assessment,
        do_set_assessment,
        do_submit_quiz,
    )

    admin = Viewer(people[ADMIN_PHONE])
    first_aid = await do_create_course(admin, CourseData(
        title="急救员培训（红十字标准课程）", qualification="急救员", validity_months=36,
        description="心肺复苏、AED 使用、止血包扎与骨折固定。通过考核获得急救员资格，有效期三年。"))
    lessons = [await do_add_lesson(admin, first_aid.id, LessonData(
        title=title, video_url=f"https://video.example.cn/first-aid/{index}.mp4",
        material_url=f"https://docs.example.cn/first-aid/{index}.pdf"))
        for index, title in enumerate(("心肺复苏与 AED", "止血与包扎", "骨折固定与搬运"), 1)]
    quiz = await do_set_assessment(admin, first_aid.id, AssessmentKind.QUIZ, 60, [
        QuestionData("成人胸外按压的深度是？", ["2–3 厘米", "5–6 厘米", "8–10 厘米"], 1),
        QuestionData("成人胸外按压的频率是每分钟？", ["60–80 次", "100–120 次", "150 次以上"], 1),
        QuestionData("发现有人倒地，第一步应当？", ["确认现场环境安全", "立即搬动伤员"], 0),
    ])
    rescue = await do_create_course(admin, CourseData(
        title="应急救援队员训练", qualification="应急救援", validity_months=12,
        team_id=teams["rescue"].id, description="绳索、水域与城市搜救基础训练，线下考核。"))
    exam = await do_set_assessment(admin, rescue.id, AssessmentKind.RECORDED, 70, None)
    guide = await do_create_course(admin, CourseData(
        title="医院导诊志愿者培训", qualification="导诊", team_id=teams["chaoyang"].id,
        description="门诊流程、自助机使用与文明用语。"))
    await do_add_lesson(admin, guide.id, LessonData(title="门诊流程与分诊"))

    medic = Viewer(people["13800000001"])  # 李明: passes the quiz
    await do_enroll(medic, first_aid.id)
    for lesson in lessons:
        await do_complete_lesson(medic, lesson.id)
    await do_submit_quiz(medic, quiz.id, [1, 1, 0])
    learner = Viewer(people["13800000005"])  # 陈静: halfway through
    await do_enroll(learner, first_aid.id)
    await do_complete_lesson(learner, lessons[0].id)
    rescuer = people["13800000006"]  # 杨磊: offline exam recorded by the organiser
    await do_enroll(Viewer(rescuer), rescue.id)
    await do_record_assessment(admin, exam.id, rescuer.id, True, 86)

    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=9)
    marathon = await do_create_activity(admin, teams["rescue"].id, ActivityData(
        title="城市马拉松医疗保障", description="赛道沿线医疗点值守，需持有效急救员资格、年满 18 周岁。",
        category="应急", district="朝阳区", address="朝阳公园南门", latitude=39.9339,
        longitude=116.4732, starts_at=starts, ends_at=starts + timedelta(hours=6), capacity=40,
        hours_credit=6.0, skills=["急救"]))
    await do_set_requirements(admin, marathon.id, ["急救员"], 18)
    await do_publish_activity(admin, marathon.id)
    await do_sign_up(medic, marathon.id)


async def seed_projects(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """The U爱·公交文明引导 project with two bus-stop posts and a weekly series of shifts."""
    from models.project import Frequency
    from resolvers.project import (
        PositionData,
        ProjectData,
        SeriesData,
        do_create_position,
        do_create_project,
        do_schedule_series,
    )

    lead = Viewer(people["13800000001"])  # admin of 朝阳区志愿服务总队
    project = await do_create_project(lead, teams["chaoyang"].id, ProjectData(
        name="U爱·公交文明引导", category="文明交通", district="朝阳区",
        description="早晚高峰在公交站台引导乘客排队候车、先下后上，协助老人和残障乘客上下车。",
        cover_image_url="https://img.example.cn/projects/bus-guide.jpg"))
    await do_create_project(lead, teams["chaoyang"].id, ProjectData(
        name="社区助老·爱心午餐", category="助老", district="朝阳区",
        description="为社区独居老人送午餐并陪伴聊天。"))
    first = datetime.now(UTC).date() + timedelta(days=1)
    for name, address, lat, lon in (("1路 国贸站", "建国门外大街国贸站台", 39.9087, 116.4605),
                                    ("37路 团结湖站", "团结湖路团结湖站台", 39.9339, 116.4620)):
        post = await do_create_position(lead, project.id, PositionData(
            name=name, capacity_per_shift=3, address=address, latitude=lat, longitude=lon,
            qualifications=[], minimum_age=16))
        await do_schedule_series(lead, project.id, post.id, SeriesData(
            frequency=Frequency.WEEKLY, weekdays=[1, 3, 5], start_time="07:30",
            duration_minutes=120, first_date=first, last_date=first + timedelta(days=27)))


async def seed_service_points(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """Service points (服务阵地) and communities, so the 15-minute circle has something to show."""
    from models.servicepoint import ServicePointKind
    from resolvers.servicepoint import (
        ServicePointData,
        do_create_community,
        do_create_service_point,
    )

    admin = Viewer(people[ADMIN_PHONE])
    points = [
        ("国贸地铁站志愿服务驿站", ServicePointKind.STATION, "朝阳区", 39.9087, 116.4605,
         "每日 7:00–20:00", "chaoyang"),
        ("团结湖社区新时代文明实践站", ServicePointKind.COMMUNITY_CENTRE, "朝阳区", 39.9339,
         116.4620, "周一至周六 9:00–18:00", "chaoyang"),
        ("朝阳公园志愿服务站", ServicePointKind.PARK, "朝阳区", 39.9339, 116.4732,
         "每日 6:00–21:00", "rescue"),
        ("中关村青年志愿者之家", ServicePointKind.HUB, "海淀区", 39.9834, 116.3162,
         "周一至周五 9:00–17:00", "haidian"),
        ("海淀区图书馆志愿服务岗", ServicePointKind.LIBRARY, "海淀区", 39.9593, 116.2985,
         "周二至周日 9:00–20:30", "haidian"),
        ("人大附中志愿服务点", ServicePointKind.SCHOOL, "海淀区", 39.9750, 116.3110,
         "上学日 7:00–18:00", None),
    ]
    for name, kind, district, lat, lon, hours, team_key in points:
        await do_create_service_point(admin, ServicePointData(
            name=name, kind=kind, district=district, latitude=lat, longitude=lon,
            address=f"{district}{name}", opening_hours=hours,
            team_id=teams[team_key].id if team_key else None))
    for name, district, lat, lon in (
            ("建外街道社区", "朝阳区", 39.9070, 116.4580), ("团结湖社区", "朝阳区", 39.9320, 116.4650),
            ("望京西园社区", "朝阳区", 40.0020, 116.4700), ("中关村社区", "海淀区", 39.9800, 116.3200),
            ("紫竹院社区", "海淀区", 39.9430, 116.3130), ("东华门社区", "东城区", 39.9140, 116.4010)):
        await do_create_community(admin, name, district, lat, lon)


async def seed_honours(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """A pinned platform announcement, a team news brief, and a 五星志愿者 award with its list."""
    from resolvers.honour import (
        AnnouncementData,
        AwardData,
        do_create_announcement,
        do_create_award,
        do_nominate,
    )

    admin = Viewer(people[ADMIN_PHONE])
    await do_create_announcement(admin, AnnouncementData(
        title="关于开展“学雷锋志愿服务月”活动的通知",
        body="三月为学雷锋志愿服务月，请各队伍结合项目库和服务阵地组织常态化服务。",
        attachments=["https://docs.example.cn/notice/2026-03.pdf"], pinned=True))
    await do_create_announcement(Viewer(people["13800000001"]), AnnouncementData(
        title="朝阳区志愿服务简报（第 12 期）", team_id=teams["chaoyang"].id,
        body="本月开展公交文明引导 24 班次，服务乘客逾万人次。"))
    today = datetime.now(UTC).date()
    award = await do_create_award(admin, AwardData(
        name="五星志愿者", tier=1, period_start=today.replace(month=1, day=1), period_end=today,
        min_period_hours=2))
    await do_nominate(admin, award.id)
