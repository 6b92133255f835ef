from datetime import UTC, datetime, timedelta

import pytest

from models.activity import Activity, ActivityStatus, SignUp
from models.notification import Notification
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

CREATE = """
mutation Create($input: ActivityInput!) {
  createActivity(input: $input) {
    id title status capacity remaining waitlistLimit hoursCredit skills signUpDeadline startsAt
    team { name }
  }
}"""
PUBLISH = "mutation Publish($id: ID!) { publishActivity(id: $id) { status remaining } }"
CANCEL_ACTIVITY = """
mutation Cancel($id: ID!, $reason: String!) {
  cancelActivity(id: $id, reason: $reason) { status cancelReason remaining }
}"""
UPDATE = """
mutation Update($id: ID!, $input: ActivityUpdateInput!) {
  updateActivity(id: $id, input: $input) { capacity confirmedCount waitlistCount startsAt }
}"""
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
ACTIVITIES = """
query List($status: ActivityStatus, $district: String, $category: String, $open: Boolean,
           $after: DateTime, $near: GeoInput, $first: Int, $cursor: String) {
  activities(status: $status, district: $district, category: $category, hasOpenSlots: $open,
             startsAfter: $after, near: $near, first: $first, after: $cursor) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { title team { name } mySignUp { status } } }
  }
}"""
TEAM_ACTIVITIES = """
query TeamActivities($first: Int) {
  teams(first: 10) { edges { node { name activities(first: $first) {
    totalCount edges { node { title status } } } } } }
}"""

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)


def activity_input(team_id: str, **changes):
    values = {
        "teamId": team_id, "title": "重阳节敬老活动", "description": "陪老人聊天、包饺子。",
        "category": "助老", "district": "朝阳区", "address": "朝阳区幸福路1号",
        "latitude": 39.92, "longitude": 116.44,
        "startsAt": START.isoformat(), "endsAt": (START + timedelta(hours=4)).isoformat(),
        "capacity": 20, "hoursCredit": 4.0, "skills": ["助老", "陪诊"],
    }
    values.update(changes)
    return {"input": values}


async def test_team_admin_creates_a_draft_and_publishes_it(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "阳光社区服务队")
    # when
    created = (await execute(CREATE, activity_input(to_global_id("Team", team.id)), as_=admin)).ok()
    published = (await execute(PUBLISH, {"id": created["createActivity"]["id"]}, as_=admin)).ok()
    # then
    activity = created["createActivity"]
    assert activity["status"] == "DRAFT"
    assert activity["waitlistLimit"] == 20
    assert activity["signUpDeadline"] == activity["startsAt"]
    assert activity["skills"] == ["助老", "陪诊"]
    assert activity["team"] == {"name": "阳光社区服务队"}
    assert published["publishActivity"] == {"status": "PUBLISHED", "remaining": 20}


async def test_admin_of_a_parent_team_may_create_but_members_may_not(db):
    # given
    city_admin = await make_volunteer("市级管理员")
    city = await make_team(city_admin, "市联合会")
    community = await make_team(await make_volunteer("社区队长"), "社区队", parent=city)
    member = await make_volunteer("队员")
    await add_member(community, member)
    team_id = to_global_id("Team", community.id)
    # when
    by_parent = await execute(CREATE, activity_input(team_id), as_=city_admin)
    by_member = await execute(CREATE, activity_input(team_id), as_=member)
    anonymous = await execute(CREATE, activity_input(team_id))
    # then
    assert by_parent.ok()["createActivity"]["status"] == "DRAFT"
    assert by_member.codes == ["FORBIDDEN"]
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert await Activity.all().count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"endsAt": START.isoformat()}, "endsAt"),
    ({"signUpDeadline": (START + timedelta(minutes=1)).isoformat()}, "signUpDeadline"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": 10_001}, "capacity"),
    ({"hoursCredit": 4.5}, "hoursCredit"),
    ({"hoursCredit": 0}, "hoursCredit"),
    ({"latitude": 91.0}, "latitude"),
    ({"longitude": None}, "longitude"),
    ({"title": "长" * 201}, "title"),
    ({"title": "  "}, "title"),
    ({"description": "字" * 20_001}, "description"),
    ({"address": "址" * 201}, "address"),
    ({"skills": ["急救"] * 1 + [f"技能{i}" for i in range(20)]}, "skills"),
    ({"waitlistLimit": -1}, "waitlistLimit"),
    ({"startsAt": "2030-01-01T10:00:00"}, "startsAt"),
])
async def test_bad_input_is_refused_with_its_field_and_writes_nothing(db, changes, field):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    # when
    result = await execute(CREATE, activity_input(to_global_id("Team", team.id), **changes),
                           as_=admin)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert await Activity.all().count() == 0


async def test_cancel_needs_a_reason_and_notifies_everyone_signed_up(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=1, waitlist_limit=1)
    confirmed, waitlisted = await make_volunteer("甲"), await make_volunteer("乙")
    gid = to_global_id("Activity", activity.id)
    for person in (confirmed, waitlisted):
        (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
    # when
    no_reason = await execute(CANCEL_ACTIVITY, {"id": gid, "reason": " "}, as_=admin)
    by_volunteer = await execute(CANCEL_ACTIVITY, {"id": gid, "reason": "下雨"}, as_=confirmed)
    cancelled = (await execute(CANCEL_ACTIVITY, {"id": gid, "reason": "暴雨预警"}, as_=admin)).ok()
    # then
    assert no_reason.codes == ["BAD_USER_INPUT"]
    assert by_volunteer.codes == ["FORBIDDEN"]
    assert cancelled["cancelActivity"] == {"status": "CANCELLED", "cancelReason": "暴雨预警",
                                           "remaining": 0}
    told = await Notification.filter(kind="ACTIVITY_CANCELLED").values_list("volunteer_id",
                                                                            flat=True)
    assert sorted(told) == sorted([confirmed.id, waitlisted.id])
    late = await execute(SIGN_UP, {"id": gid}, as_=await make_volunteer("丙"))
    assert late.codes == ["CONFLICT"]


async def test_more_capacity_promotes_the_waitlist_in_order(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=1, waitlist_limit=5)
    people = [await make_volunteer(f"志愿者{i}") for i in range(4)]
    gid = to_global_id("Activity", activity.id)
    for person in people:
        (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
    # when
    updated = (await execute(UPDATE, {"id": gid, "input": {"capacity": 3}}, as_=admin)).ok()
    shrink = await execute(UPDATE, {"id": gid, "input": {"capacity": 2}}, as_=admin)
    # then
    assert updated["updateActivity"]["capacity"] == 3
    assert updated["updateActivity"]["confirmedCount"] == 3
    assert updated["updateActivity"]["waitlistCount"] == 1
    statuses = {s.volunteer_id: s.status.value for s in await SignUp.all()}
    assert [statuses[p.id] for p in people] == ["CONFIRMED", "CONFIRMED", "CONFIRMED",
                                                 "WAITLISTED"]
    promoted = await Notification.filter(kind="WAITLIST_PROMOTED").values_list("volunteer_id",
                                                                               flat=True)
    assert sorted(promoted) == sorted([people[1].id, people[2].id])
    assert shrink.codes == ["BAD_USER_INPUT"]
    assert shrink.errors[0]["extensions"]["field"] == "capacity"


async def test_time_change_notifies_signed_up_volunteers(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=5)
    person = await make_volunteer()
    gid = to_global_id("Activity", activity.id)
    (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
    later = activity.starts_at + timedelta(hours=2)
    # when
    result = await execute(UPDATE, {"id": gid, "input": {
        "startsAt": later.isoformat(), "endsAt": (later + timedelta(hours=3)).isoformat()}},
        as_=admin)
    # then
    assert result.ok()["updateActivity"]["startsAt"] == later.isoformat()
    assert await Notification.filter(volunteer_id=person.id,
                                     kind="ACTIVITY_TIME_CHANGED").count() == 1


async def test_list_filters(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "阳光队")
    near = await make_activity(team, admin, title="近处", latitude=39.9042, longitude=116.4074)
    await make_activity(team, admin, title="远处", latitude=31.2304, longitude=121.4737,
                        district="浦东新区")
    full = await make_activity(team, admin, title="已满", capacity=1,
                               starts_in=timedelta(days=10))
    await make_activity(team, admin, title="草稿", status=ActivityStatus.DRAFT)
    (await execute(SIGN_UP, {"id": to_global_id("Activity", full.id)},
                   as_=await make_volunteer())).ok()

    async def titles(**variables):
        data = (await execute(ACTIVITIES, variables, as_=admin)).ok()["activities"]
        assert data["totalCount"] == len(data["edges"])
        return [edge["node"]["title"] for edge in data["edges"]]

    # when / then
    assert await titles() == ["近处", "远处", "已满"]
    assert await titles(district="浦东新区") == ["远处"]
    assert await titles(open=True) == ["近处", "远处"]
    assert await titles(open=False) == ["已满"]
    assert await titles(status="DRAFT") == ["草稿"]
    assert await titles(after=(near.starts_at + timedelta(days=1)).isoformat()) == ["已满"]
    assert await titles(near={"latitude": 39.91, "longitude": 116.40, "radiusKm": 5}) == ["近处"]
    assert await titles(category="环保") == []
    bad = await execute(ACTIVITIES, {"near": {"latitude": 39.9, "longitude": 116.4,
                                              "radiusKm": 0}})
    assert bad.codes == ["BAD_USER_INPUT"]
    assert (await execute(ACTIVITIES, {"status": "DRAFT"})).ok()["activities"]["edges"] == []


async def test_near_pages_through_many_candidates(db):
    # given: 60 activities in the bounding box corners (outside the circle), 3 inside
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    for index in range(60):
        await make_activity(team, admin, title=f"角落{index}", latitude=39.9 + 0.0447,
                            longitude=116.4 + 0.058, starts_in=timedelta(days=1, minutes=index))
    for index in range(3):
        await make_activity(team, admin, title=f"圆内{index}", latitude=39.9, longitude=116.4,
                            starts_in=timedelta(days=2, minutes=index))
    near = {"latitude": 39.9, "longitude": 116.4, "radiusKm": 5}
    # when
    first = (await execute(ACTIVITIES, {"near": near, "first": 2})).ok()["activities"]
    rest = (await execute(ACTIVITIES, {"near": near, "first": 2,
                                       "cursor": first["pageInfo"]["endCursor"]})).ok()
    # then
    assert [e["node"]["title"] for e in first["edges"]] == ["圆内0", "圆内1"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 3
    assert [e["node"]["title"] for e in rest["activities"]["edges"]] == ["圆内2"]


async def test_lists_are_free_of_n_plus_one(db):
    # given
    admin = await make_volunteer("队长")
    viewer = await make_volunteer("志愿者")
    for index in range(4):
        team = await make_team(admin, f"队伍{index}")
        for number in range(3):
            activity = await make_activity(team, admin, title=f"活动{index}-{number}",
                                           starts_in=timedelta(days=1 + index, hours=number))
            (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)},
                           as_=viewer)).ok() if number == 0 and index == 0 else None
    # when
    with count_statements() as listing:
        data = (await execute(ACTIVITIES, {"first": 20}, as_=viewer)).ok()
    with count_statements() as by_team:
        teams = (await execute(TEAM_ACTIVITIES, {"first": 2}, as_=viewer)).ok()
    # then
    assert data["activities"]["totalCount"] == 12
    assert len(listing) == 4, listing  # page, count, teams, my sign-ups
    assert [len(t["node"]["activities"]["edges"]) for t in teams["teams"]["edges"]] == [2] * 4
    assert len(by_team) == 4, by_team  # teams, administered teams, window, counts


async def test_district_cannot_move_once_hours_were_approved_under_it(db):
    # given an activity with approved hours
    from models.hours import HoursStatus, ServiceRecord

    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=5)
    person = await make_volunteer()
    gid = to_global_id("Activity", activity.id)
    (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
    before = await execute(UPDATE, {"id": gid, "input": {"district": "海淀区"}}, as_=admin)
    sign_up = await SignUp.get(activity_id=activity.id, volunteer_id=person.id)
    await ServiceRecord.create(sign_up=sign_up, activity=activity, volunteer=person, hours_claimed=2,
                               hours=2, status=HoursStatus.APPROVED, approved_at=datetime.now(UTC))
    # when
    after = await execute(UPDATE, {"id": gid, "input": {"district": "东城区"}}, as_=admin)
    # then moving it was fine before any approval, and refused after
    before.ok()
    assert after.codes == ["BAD_USER_INPUT"]
    assert after.errors[0]["extensions"]["field"] == "district"
    assert (await Activity.get(id=activity.id)).district == "海淀区"
