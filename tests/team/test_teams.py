"""Teams: hierarchy, who may create and decide, applications, filters, node."""

import pytest

from models.team import Membership, MembershipRole, MembershipStatus, Team, TeamType
from schema.relay import to_global_id
from tests.helpers import add_member, execute, make_team, make_volunteer

CREATE = """
mutation Create($input: TeamInput!) {
  createTeam(input: $input) { id name type district parent { name } memberCount viewerIsAdmin }
}
"""
JOIN = "mutation Join($id: ID!) { joinTeam(teamId: $id) { name memberCount } }"
DECIDE = """
mutation Decide($team: ID!, $person: ID!, $approve: Boolean!) {
  decideMembership(teamId: $team, volunteerId: $person, approve: $approve) { memberCount }
}
"""
TEAMS = """
query Teams($type: TeamType, $district: String, $parentId: ID) {
  teams(type: $type, district: $district, parentId: $parentId) {
    totalCount edges { node { name children { name } } }
  }
}
"""
TEAM = """
query Team($id: ID!) {
  node(id: $id) { ... on Team { name members(first: 10) { totalCount edges { node { displayName } } } } }
}
"""
APPLICANTS = "query A($id: ID!) { node(id: $id) { ... on Team { applicants { edges { node { displayName } } } } } }"


def gid(kind: str, db_id: int) -> str:
    return str(to_global_id(kind, db_id))


async def test_any_volunteer_creates_a_top_level_team_and_becomes_its_admin(db):
    # given
    founder = await make_volunteer("创始人")
    # when
    result = await execute(CREATE, {"input": {"name": "阳光助老队", "type": "SELF_ORGANIZED",
                                              "district": "朝阳区"}}, as_=founder)
    # then
    team = result.ok()["createTeam"]
    assert team["memberCount"] == 1 and team["viewerIsAdmin"] is True and team["parent"] is None
    membership = await Membership.get(volunteer_id=founder.id)
    assert (membership.role, membership.status) == (MembershipRole.ADMIN, MembershipStatus.APPROVED)


async def test_sub_teams_need_an_admin_of_the_parent(db):
    # given
    admin = await make_volunteer("街道管理员")
    parent = await make_team(admin, "街道总队")
    outsider = await make_volunteer("外人")
    data = {"name": "社区分队", "type": "COMMUNITY", "district": "朝阳区", "parentId": gid("Team", parent.id)}
    # when
    refused = await execute(CREATE, {"input": data}, as_=outsider)
    accepted = await execute(CREATE, {"input": data}, as_=admin)
    # then
    assert refused.codes == ["FORBIDDEN"]
    assert accepted.ok()["createTeam"]["parent"] == {"name": "街道总队"}
    assert await Team.filter(name="社区分队").count() == 1


async def test_top_level_emergency_teams_are_for_platform_admins(db):
    # given
    person = await make_volunteer()
    admin = await make_volunteer(platform_admin=True)
    data = {"name": "应急队", "type": "EMERGENCY", "district": "全市"}
    # when
    refused = await execute(CREATE, {"input": data}, as_=person)
    accepted = await execute(CREATE, {"input": data}, as_=admin)
    # then
    assert refused.codes == ["FORBIDDEN"]
    accepted.ok()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": ""}, "BAD_USER_INPUT", "name"),
        ({"name": "队" * 101}, "BAD_USER_INPUT", "name"),
        ({"district": "区" * 51}, "BAD_USER_INPUT", "district"),
        ({"parentId": "not-an-id"}, "BAD_USER_INPUT", "parentId"),
        ({"parentId": to_global_id("Volunteer", 1)}, "BAD_USER_INPUT", "parentId"),
        ({"parentId": to_global_id("Team", 999_999)}, "NOT_FOUND", None),
    ],
)
async def test_bad_team_input_writes_nothing(db, overrides, code, field):
    # given
    person = await make_volunteer()
    data = {"name": "好队伍", "type": "COMMUNITY", "district": "朝阳区", **overrides}
    # when
    result = await execute(CREATE, {"input": data}, as_=person)
    # then
    assert result.codes == [code]
    if field:
        assert result.errors[0]["extensions"]["field"] == field
    assert await Team.all().count() == 0


async def test_unknown_team_type_is_rejected_by_the_schema(db):
    person = await make_volunteer()
    result = await execute(CREATE, {"input": {"name": "x", "type": "MARTIAN", "district": "x"}}, as_=person)
    assert result.codes == ["BAD_USER_INPUT"]


async def test_anonymous_cannot_create_or_join(db):
    admin = await make_volunteer()
    team = await make_team(admin)
    created = await execute(CREATE, {"input": {"name": "x", "type": "COMMUNITY", "district": "x"}})
    joined = await execute(JOIN, {"id": gid("Team", team.id)})
    assert created.codes == joined.codes == ["UNAUTHENTICATED"]


async def test_join_is_an_application_an_admin_decides(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "读书会")
    person = await make_volunteer("新人")
    # when the person applies twice and the admin approves
    await execute(JOIN, {"id": gid("Team", team.id)}, as_=person)
    again = await execute(JOIN, {"id": gid("Team", team.id)}, as_=person)
    pending = await execute(APPLICANTS, {"id": gid("Team", team.id)}, as_=admin)
    decided = await execute(DECIDE, {"team": gid("Team", team.id), "person": gid("Volunteer", person.id),
                                     "approve": True}, as_=admin)
    # then
    assert again.ok()["joinTeam"]["memberCount"] == 1
    assert await Membership.filter(team_id=team.id, volunteer_id=person.id).count() == 1
    assert [e["node"]["displayName"] for e in pending.ok()["node"]["applicants"]["edges"]] == ["新人"]
    assert decided.ok()["decideMembership"]["memberCount"] == 2


async def test_admins_of_a_parent_team_decide_for_sub_teams(db):
    # given
    city_admin = await make_volunteer("市级管理员")
    city = await make_team(city_admin, "市总队")
    community = await make_team(await make_volunteer("社区队长"), "社区队", parent=city)
    person = await make_volunteer("申请人")
    await add_member(community, person, MembershipStatus.PENDING)
    # when
    result = await execute(DECIDE, {"team": gid("Team", community.id), "person": gid("Volunteer", person.id),
                                    "approve": False}, as_=city_admin)
    # then
    result.ok()
    assert (await Membership.get(volunteer_id=person.id)).status == MembershipStatus.REJECTED


async def test_members_and_strangers_cannot_decide(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    member = await make_volunteer("队员")
    await add_member(team, member)
    person = await make_volunteer("申请人")
    await add_member(team, person, MembershipStatus.PENDING)
    variables = {"team": gid("Team", team.id), "person": gid("Volunteer", person.id), "approve": True}
    # when
    as_member = await execute(DECIDE, variables, as_=member)
    applicants = await execute(APPLICANTS, {"id": gid("Team", team.id)}, as_=member)
    # then
    assert as_member.codes == ["FORBIDDEN"]
    assert applicants.codes == ["FORBIDDEN"]
    assert (await Membership.get(volunteer_id=person.id)).status == MembershipStatus.PENDING


async def test_admin_teams_leave_out_those_one_is_only_a_member_of(db):
    # given: the #/manage page's question (web/js/views/manage.js ManageTeams) by an admin of
    # one team who is a plain member of another, whose applicants they may not see
    admin = await make_volunteer("队长")
    own = await make_team(admin, "自己的队")
    other = await make_team(await make_volunteer("别的队长"), "别的队")
    await add_member(other, admin)
    query = """query ManageTeams { me { teams(first: 50, role: ADMIN) { totalCount edges { node {
      name applicants(first: 50) { edges { node { displayName } } } } } } } }"""
    # when
    result = await execute(query, as_=admin)
    # then
    teams = result.ok()["me"]["teams"]
    assert [e["node"]["name"] for e in teams["edges"]] == [own.name] and teams["totalCount"] == 1


async def test_deciding_without_an_application_is_not_found(db):
    admin = await make_volunteer()
    team = await make_team(admin)
    stranger = await make_volunteer()
    result = await execute(DECIDE, {"team": gid("Team", team.id), "person": gid("Volunteer", stranger.id),
                                    "approve": True}, as_=admin)
    assert result.codes == ["NOT_FOUND"]


async def test_team_filters_and_hierarchy(db):
    # given
    admin = await make_volunteer()
    city = await make_team(admin, "市总队", type=TeamType.CIVILIZATION_PRACTICE, district="市级")
    await make_team(admin, "朝阳青年", type=TeamType.YOUTH, district="朝阳区", parent=city)
    await make_team(admin, "海淀青年", type=TeamType.YOUTH, district="海淀区", parent=city)
    # when
    youth = (await execute(TEAMS, {"type": "YOUTH"})).ok()["teams"]
    chaoyang = (await execute(TEAMS, {"district": "朝阳区"})).ok()["teams"]
    children = (await execute(TEAMS, {"parentId": gid("Team", city.id)})).ok()["teams"]
    roots = (await execute(TEAMS, {"type": "CIVILIZATION_PRACTICE"})).ok()["teams"]
    # then
    assert youth["totalCount"] == 2
    assert [e["node"]["name"] for e in chaoyang["edges"]] == ["朝阳青年"]
    assert children["totalCount"] == 2
    assert {c["name"] for c in roots["edges"][0]["node"]["children"]} == {"朝阳青年", "海淀青年"}


async def test_node_resolves_teams_and_members(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "读书会")
    await add_member(team, await make_volunteer("队员甲"))
    await add_member(team, await make_volunteer("申请中"), MembershipStatus.PENDING)
    # when
    result = await execute(TEAM, {"id": gid("Team", team.id)})
    missing = await execute(TEAM, {"id": gid("Team", 999_999)})
    malformed = await execute(TEAM, {"id": "%%%"})
    # then
    members = result.ok()["node"]["members"]
    assert members["totalCount"] == 2
    assert [e["node"]["displayName"] for e in members["edges"]] == ["队长", "队员甲"]
    assert missing.ok()["node"] is None
    assert malformed.codes == ["BAD_USER_INPUT"]
