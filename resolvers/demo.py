"""Demo data for `make run`: idempotent (a second run finds the marker and does nothing)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from core import pii
from models.team import Membership, MembershipRole, MembershipStatus, Team, TeamType
from models.timebank import RewardKind
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import hash_password
from resolvers.maintenance import make_id_number
from resolvers.validation import check_id_number, encode_tags
from resolvers.volunteer import new_volunteer_number

DEMO_PASSWORD = "tongxin123"
ADMIN_PHONE = "13800000000"

PEOPLE = [
    ("13800000001", "李明", "朝阳区", ["急救", "驾驶"]),
    ("13800000002", "王芳", "朝阳区", ["心理疏导"]),
    ("13800000003", "张伟", "海淀区", ["法律"]),
    ("13800000004", "刘洋", "海淀区", ["翻译", "英语"]),
    ("13800000005", "陈静", "东城区", ["助老", "陪诊"]),
    ("13800000006", "杨磊", "西城区", ["电工"]),
]

# Later domains append their own seeding steps; each receives the people created here.
DemoStep = Callable[[dict[str, Volunteer], dict[str, Team]], Awaitable[None]]
EXTRA_STEPS: list[DemoStep] = []


async def _person(phone: str, name: str, district: str, skills: list[str], password_hash: str,
                  rng: random.Random, admin: bool = False) -> Volunteer:
    identity = check_id_number(make_id_number(rng=rng, male=rng.random() < 0.5))
    return await Volunteer.create(
        **pii.identity_columns(phone, identity.id_number), password_hash=password_hash,
        real_name=name, display_name=name, gender=identity.gender, birth_date=identity.birth_date,
        district=district, skills=encode_tags(skills), status=VolunteerStatus.ACTIVE,
        is_platform_admin=admin, consented_at=datetime.now(timezone.utc),
        volunteer_number=new_volunteer_number(),
    )


async def seed_demo() -> bool:
    if await Volunteer.exists(**pii.with_phone(ADMIN_PHONE)):
        return False
    rng = random.Random(20261124)
    password_hash = await hash_password(DEMO_PASSWORD)
    people = {ADMIN_PHONE: await _person(ADMIN_PHONE, "平台管理员", "市级", [], password_hash, rng, True)}
    for phone, name, district, skills in PEOPLE:
        people[phone] = await _person(phone, name, district, skills, password_hash, rng)

    async def team(name: str, kind: TeamType, district: str, admin: Volunteer,
                   parent: Team | None = None) -> Team:
        created = await Team.create(name=name, type=kind, district=district, parent=parent,
                                    created_by=admin)
        created.path = f"{parent.path if parent else '/'}{created.id}/"
        await created.save(update_fields=["path"])
        await Membership.create(team=created, volunteer=admin, role=MembershipRole.ADMIN,
                                status=MembershipStatus.APPROVED)
        return created

    admin = people[ADMIN_PHONE]
    city = await team("市志愿者联合会", TeamType.CIVILIZATION_PRACTICE, "市级", admin)
    chaoyang = await team("朝阳区志愿服务总队", TeamType.COMMUNITY, "朝阳区", people["13800000001"], city)
    haidian = await team("海淀区青年志愿者协会", TeamType.YOUTH, "海淀区", people["13800000003"], city)
    rescue = await team("蓝天应急救援队", TeamType.EMERGENCY, "朝阳区", admin, city)
    teams = {"city": city, "chaoyang": chaoyang, "haidian": haidian, "rescue": rescue}
    for phone, target in [("13800000002", chaoyang), ("13800000004", haidian),
                          ("13800000005", chaoyang), ("13800000006", rescue),
                          ("13800000001", rescue)]:
        await Membership.create(team=target, volunteer=people[phone], status=MembershipStatus.APPROVED)
    for step in EXTRA_STEPS:
        await step(people, teams)
    return True


async def seed_service_hours(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """Two finished activities with approved hours (totals, points, audit, notifications) and
    one claim still waiting for review, so the hours screens have something to show."""
    from datetime import timedelta

    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from models.hours import ServiceRecord
    from resolvers.auth import Viewer
    from resolvers.hours import do_approve_hours, do_check_in, do_check_out

    reviewer = Viewer(people[ADMIN_PHONE])
    today = datetime.now(timezone.utc).replace(hour=1, minute=0, second=0, microsecond=0)
    plan = [
        ("chaoyang", "社区环境清洁日", 14, 3.0, [("13800000002", 3.0), ("13800000005", 2.5)], True),
        ("haidian", "青年普法宣传进社区", 10, 2.0, [("13800000004", 2.0)], True),
        ("chaoyang", "独居老人探访", 3, 2.0, [("13800000002", 1.5)], False),
    ]
    for team_key, title, days_ago, length, attendees, approve in plan:
        team = teams[team_key]
        starts = today - timedelta(days=days_ago)
        activity = await Activity.create(
            team=team, created_by=people[ADMIN_PHONE], title=title, description=title,
            category="社区服务", district=team.district, starts_at=starts,
            ends_at=starts + timedelta(hours=length), sign_up_deadline=starts,
            capacity=10, waitlist_limit=10, hours_credit=length, status=ActivityStatus.FINISHED,
            taken_count=len(attendees), version=len(attendees),
        )
        for phone, on_site in attendees:
            volunteer = Viewer(people[phone])
            await SignUp.create(activity=activity, volunteer=people[phone],
                                status=SignUpStatus.CONFIRMED)
            await do_check_in(volunteer, activity.id, now=starts)
            sign_up = await do_check_out(volunteer, activity.id,
                                         now=starts + timedelta(hours=on_site))
            if approve:
                record = await ServiceRecord.get(sign_up_id=sign_up.id)
                await do_approve_hours(reviewer, record.id)


EXTRA_STEPS.append(seed_service_hours)


def _forum_step() -> DemoStep:
    from forum.demo import seed_forum

    return seed_forum


EXTRA_STEPS.append(_forum_step())


async def seed_help_requests(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """A few help requests (one claimed) and a call-out from the rescue team."""
    from resolvers.auth import Viewer
    from resolvers.callout import CallOutData, do_call_out
    from resolvers.helprequest import HelpRequestData, do_claim_help_request, do_create_help_request

    resident = Viewer(people["13800000005"])
    plan = [
        ("独居老人需要代买药品", "朝阳区", ["助老"], 39.9215, 116.4431),
        ("楼道灯坏了，需要电工", "西城区", ["电工"], 39.9122, 116.3661),
        ("外籍住户就医需要翻译", "海淀区", ["翻译", "英语"], 39.9593, 116.2985),
    ]
    created = []
    for title, district, skills, latitude, longitude in plan:
        created.append(await do_create_help_request(resident, HelpRequestData(
            title=title, description=title, district=district, address=f"{district}某小区",
            latitude=latitude, longitude=longitude, skills=skills)))
    await do_claim_help_request(Viewer(people["13800000006"]), created[1].id)
    await do_call_out(Viewer(people[ADMIN_PHONE]), CallOutData(
        message="暴雨预警：朝阳区低洼小区需要转移老人", districts=["朝阳区"],
        skills=["急救", "驾驶"], needed=10, team_id=teams["rescue"].id))


EXTRA_STEPS.append(seed_help_requests)


async def seed_activities(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """Upcoming published activities with sign-ups (one full, with a waitlist) and a draft."""
    from datetime import timedelta

    from resolvers.activity import ActivityData, do_create_activity, do_publish_activity
    from resolvers.auth import Viewer
    from resolvers.signup import do_sign_up

    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    plan = [
        ("chaoyang", "13800000001", "重阳节敬老院陪伴", "助老", 5, 3.0, 39.9219, 116.4436,
         ["13800000002", "13800000005"], True),
        ("haidian", "13800000003", "中关村垃圾分类宣传", "环保", 2, 2.0, 39.9834, 116.3162,
         ["13800000004", "13800000002", "13800000005"], True),
        ("rescue", ADMIN_PHONE, "社区急救技能培训", "应急", 30, 4.0, 39.9289, 116.4883,
         ["13800000006", "13800000001"], True),
        ("chaoyang", "13800000001", "冬季送温暖（筹备中）", "助老", 20, 3.0, None, None, [], False),
    ]
    for days, (team_key, admin, title, category, capacity, hours, lat, lon, crowd,
               publish) in enumerate(plan, start=2):
        team = teams[team_key]
        starts = start + timedelta(days=days, hours=1)
        activity = await do_create_activity(Viewer(people[admin]), team.id, ActivityData(
            title=title, description=f"{title}。欢迎报名参加！", category=category,
            district=team.district, address=f"{team.district}社区服务中心", latitude=lat,
            longitude=lon, starts_at=starts, ends_at=starts + timedelta(hours=hours),
            capacity=capacity, hours_credit=hours, skills=[category]))
        if publish:
            await do_publish_activity(Viewer(people[admin]), activity.id)
        for phone in crowd:
            await do_sign_up(Viewer(people[phone]), activity.id)


EXTRA_STEPS.append(seed_activities)


def _training_step() -> DemoStep:
    from resolvers.demo_training import seed_training

    return seed_training


def _project_step() -> DemoStep:
    from resolvers.demo_training import seed_projects

    return seed_projects


def _service_point_step() -> DemoStep:
    from resolvers.demo_training import seed_service_points

    return seed_service_points


def _honour_step() -> DemoStep:
    from resolvers.demo_training import seed_honours

    return seed_honours


EXTRA_STEPS.append(_training_step())
EXTRA_STEPS.append(_project_step())
EXTRA_STEPS.append(_service_point_step())
EXTRA_STEPS.append(_honour_step())
REWARD_CATALOGUE = [
    ("爱心大米 5kg", "凭兑换记录到社区服务站领取。", RewardKind.REWARD, 50, 100),
    ("社区理发一次", "社区便民理发点，周二、周四上午。", RewardKind.SERVICE, 20, 40),
    ("家电义务维修", "上门检修小家电一次（不含配件）。", RewardKind.SERVICE, 80, 20),
    ("公交卡充值 20 元", "到街道志愿服务站办理。", RewardKind.REWARD, 120, 50),
    ("志愿者文化衫", "限量纪念款。", RewardKind.REWARD, 60, 30),
]


async def seed_timebank(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """The 爱心银行 catalogue, one redemption and one donation (volunteers hold points from
    the approved demo hours)."""
    from resolvers.auth import Viewer
    from resolvers.timebank import (
        ItemInput,
        account_balances,
        do_create_reward_item,
        do_donate_points,
        do_redeem,
    )

    admin = Viewer(people[ADMIN_PHONE])
    items = [await do_create_reward_item(admin, ItemInput(
        title=title, description=description, kind=kind, cost_points=cost, stock=stock))
        for title, description, kind, cost, stock in REWARD_CATALOGUE]
    balances = await account_balances([person.id for person in people.values()])
    points, rich = max(zip(balances, people.values(), strict=True), key=lambda pair: pair[0])
    if points >= items[1].cost_points + 10:
        await do_redeem(Viewer(rich), items[1].id, idempotency_key="demo-haircut")
        await do_donate_points(Viewer(rich), 10, to_volunteer_id=people["13800000005"].id,
                               note="谢谢您陪诊", idempotency_key="demo-gift")


EXTRA_STEPS.append(seed_timebank)


def _chat_step() -> DemoStep:
    from resolvers.demo_chat import seed_chat

    return seed_chat


EXTRA_STEPS.append(_chat_step())


def _care_step() -> DemoStep:
    from resolvers.demo_care import seed_care

    return seed_care


EXTRA_STEPS.append(_care_step())


def _privacy_step() -> DemoStep:
    from resolvers.demo_privacy import seed_privacy

    return seed_privacy


EXTRA_STEPS.append(_privacy_step())


def _station_step() -> DemoStep:
    from resolvers.demo_station import seed_stations

    return seed_stations


EXTRA_STEPS.append(_station_step())


def _insurance_step() -> DemoStep:
    from resolvers.demo_insurance import seed_insurance

    return seed_insurance


EXTRA_STEPS.append(_insurance_step())


def _service_desk_step() -> DemoStep:
    from resolvers.demo_servicedesk import seed_service_desk

    return seed_service_desk


EXTRA_STEPS.append(_service_desk_step())


def _import_step() -> DemoStep:
    from resolvers.demo_importer import seed_import

    return seed_import


EXTRA_STEPS.append(_import_step())
