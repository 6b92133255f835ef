"""Volunteer.signUps / serviceRecords / points / starLevel and Team.approvedHours: visibility
and a flat number of SQL statements however many volunteers are listed."""

from __future__ import annotations

from models.activity import SignUpStatus
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours
from schema.relay import to_global_id
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer
from tests.hours.factory import confirm, make_activity, served, utc

MY_SIGN_UPS = """
{ me { signUps(first: 10) { totalCount edges { node { status activity { title } } } } } }
"""

SIGN_UPS_OF = """
query Of($id: ID!) { node(id: $id) { ... on Volunteer { signUps { totalCount } } } }
"""

RECORDS_OF = """
query Of($id: ID!) {
  node(id: $id) { ... on Volunteer { serviceRecords { totalCount edges { node { status } } } } }
}
"""

TEAM_MEMBERS = """
query Members($id: ID!) {
  node(id: $id) {
    ... on Team {
      approvedHours
      members(first: 50) { edges { node {
        displayName approvedHours starLevel points
        serviceRecords(first: 5) { totalCount edges { node { hours status
          activity { title } approvedBy { displayName } } } }
      } } }
    }
  }
}
"""


async def test_sign_ups_are_visible_to_the_volunteer_only(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    me = await make_volunteer("李明")
    first = await make_activity(team, admin, title="第一场", starts_at=utc(2026, 3, 1, 9))
    second = await make_activity(team, admin, title="第二场", starts_at=utc(2026, 3, 2, 9))
    await confirm(first, me)
    await confirm(second, me, SignUpStatus.WAITLISTED)
    # when
    own = await execute(MY_SIGN_UPS, as_=me)
    by_admin = await execute(SIGN_UPS_OF, {"id": to_global_id("Volunteer", me.id)}, as_=admin)
    # then
    data = own.ok()["me"]["signUps"]
    assert data["totalCount"] == 2
    assert [(e["node"]["status"], e["node"]["activity"]["title"]) for e in data["edges"]] == [
        ("WAITLISTED", "第二场"), ("CONFIRMED", "第一场")]
    assert by_admin.codes == ["FORBIDDEN"]


async def test_others_see_only_approved_service_records(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    me = await make_volunteer("李明")
    stranger = await make_volunteer("路人")
    approved = await served(await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9)), me)
    await served(await make_activity(team, admin, starts_at=utc(2026, 3, 2, 9)), me)
    await do_approve_hours(Viewer(admin), approved.id)
    gid = to_global_id("Volunteer", me.id)
    # when
    own = await execute(RECORDS_OF, {"id": gid}, as_=me)
    public = await execute(RECORDS_OF, {"id": gid}, as_=stranger)
    # then
    assert own.ok()["node"]["serviceRecords"]["totalCount"] == 2
    assert public.ok()["node"]["serviceRecords"] == {
        "totalCount": 1, "edges": [{"node": {"status": "APPROVED"}}]}


async def _team_with_served_members(count: int):
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=4,
                                   capacity=50)
    for index in range(count):
        person = await make_volunteer(f"队员{index}")
        await add_member(team, person)
        record = await served(activity, person, 1 + index % 3)
        await do_approve_hours(Viewer(admin), record.id)
    return admin, team


async def test_member_hours_points_and_records_are_loaded_in_a_fixed_number_of_statements(db):
    # given
    _, small = await _team_with_served_members(2)
    _, large = await _team_with_served_members(6)
    visitor = await make_volunteer("访客")
    # when
    with count_statements() as small_statements:
        small_result = await execute(TEAM_MEMBERS, {"id": to_global_id("Team", small.id)},
                                     as_=visitor)
    with count_statements() as large_statements:
        large_result = await execute(TEAM_MEMBERS, {"id": to_global_id("Team", large.id)},
                                     as_=visitor)
    # then
    members = large_result.ok()["node"]["members"]["edges"]
    served_members = [m["node"] for m in members if m["node"]["displayName"].startswith("队员")]
    assert [m["approvedHours"] for m in served_members] == [1, 2, 3, 1, 2, 3]
    assert [m["points"] for m in served_members] == [10, 20, 30, 10, 20, 30]
    first_record = served_members[0]["serviceRecords"]["edges"][0]["node"]
    assert first_record == {"hours": 1.0, "status": "APPROVED", "activity": {"title": "社区清洁"},
                            "approvedBy": {"displayName": "队长"}}
    assert large_result.data["node"]["approvedHours"] == 12
    assert small_result.ok()["node"]["approvedHours"] == 3
    assert len(large_statements) == len(small_statements), large_statements
