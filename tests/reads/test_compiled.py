"""Compiled reads give the general path's answer, in one statement per root field."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from db.routing import read_connection
from forum.models import Thread
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from schema.reads import pg
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.forum.common import make_board, open_thread
from tests.helpers import add_member, count_statements, make_team, make_volunteer
from tests.reads.paths import answer, both, canonical

ACTIVITY_LIST = """
query List($first: Int, $after: String) {
  activities(first: $first, after: $after) {
    totalCount
    edges { cursor node { id title startsAt hoursCredit latitude skills status capacity
                          confirmedCount waitlistCount remaining viewerCanManage checkInCode
                          team { id name type memberCount viewerIsAdmin } mySignUp { status } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
ME = """{ me { id displayName skills phone phoneMasked idNumberMasked birthYear gender
           accountStatus isPlatformAdmin
           teams(first: 10) { totalCount edges { node { name type } } pageInfo { endCursor } }
           signUps(first: 5) { totalCount edges { cursor node { status activity { title } } } } } }"""


async def _seed(count: int):
    admin = await make_volunteer("队长")
    team = await make_team(admin, "社区队")
    for index in range(count):
        await make_activity(team, admin, title=f"活动{index}", starts_in=timedelta(days=1 + index),
                            skills="急救,,法律", latitude=39.9 + index / 7, check_in_code="1234",
                            status=ActivityStatus.DRAFT if index % 5 == 4
                            else ActivityStatus.PUBLISHED)
    return admin, team


async def test_activity_list_is_compiled_and_answers_as_the_general_path(db):
    # given activities (a draft among them), an outsider and the team's admin
    admin, _ = await _seed(7)
    outsider = await make_volunteer("路人")
    for viewer in (None, outsider, admin):
        # when the list is read page by page through both paths
        after = None
        for _ in range(3):
            fast, slow, answered = await both(ACTIVITY_LIST, {"first": 2, "after": after}, viewer)
            # then the answers are the same, and SQL answered the root field
            assert canonical(fast) == canonical(slow)
            assert answered == (1 if db.postgres else 0)
            after = json.loads(slow)["data"]["activities"]["pageInfo"]["endCursor"]


async def test_me_is_compiled_with_masked_personal_data(db):
    # given a volunteer in a team, signed up for an activity
    admin, _ = await _seed(1)
    await SignUp.create(activity=await Activity.first(), volunteer=admin,
                        status=SignUpStatus.CONFIRMED)
    # when they read themselves through both paths
    fast, slow, answered = await both(ME, None, admin)
    # then the same answer
    assert canonical(fast) == canonical(slow)
    assert answered == (1 if db.postgres else 0)


async def test_statements_stay_constant_in_page_size(db):
    # given many activities, and a volunteer who manages their team
    admin, _ = await _seed(30)
    for viewer in (None, admin):
        counts = []
        for first in (1, 10, 25):
            # when a page of each size is read through the compiled path
            with count_statements() as statements:
                await answer(ACTIVITY_LIST, {"first": first}, viewer, compiled=True)
            counts.append(len(statements))
        # then on PostgreSQL as many statements whatever the page size: one, plus the two
        # that read the teams a signed-in viewer manages (checkInCode, viewerCanManage). On
        # SQLite the general path answers (test below).
        if db.postgres:
            assert counts == [1 if viewer is None else 3] * 3, counts


TEAMS_LIST = """query($first: Int) { activities(first: $first) { edges { node { title
  team { name viewerIsAdmin parent { name viewerIsAdmin } } } } } }"""


async def test_general_path_reads_viewer_is_admin_once_per_request(db):
    # given activities of many teams under one parent, and an admin of one of them
    admin = await make_volunteer("总队长")
    parent = await make_team(admin, "街道总队")
    leader = await make_volunteer("队长")
    teams = [await make_team(leader, f"分队{index}", parent=parent) for index in range(12)]
    for index, team in enumerate(teams):
        await make_activity(team, leader, title=f"活动{index}", starts_in=timedelta(days=1 + index))
    for viewer in (leader, admin):
        counts = []
        for first in (2, 6, 12):
            # when the general path reads a page of each size with every team's viewerIsAdmin
            with count_statements() as statements:
                body = json.loads(await answer(TEAMS_LIST, {"first": first}, viewer,
                                               compiled=False))
            counts.append(len(statements))
            # then the right answers (admins of the parent administer every child)
            nodes = [edge["node"] for edge in body["data"]["activities"]["edges"]]
            assert [node["team"]["viewerIsAdmin"] for node in nodes] == [True] * first
            assert {node["team"]["parent"]["viewerIsAdmin"] for node in nodes} == \
                {viewer is admin}
        # and as many statements whatever the page size
        assert counts[0] == counts[1] == counts[2], counts


BOARD = """{ board(slug: "notes") { name threadCount viewerIsModerator
  threads(first: 10) { edges { cursor node { title hidden pinned lastPostAt
                                             author { displayName phone } } } } } }"""


async def test_hidden_threads_reach_only_the_boards_moderators_on_both_paths(db):
    # given a board with a hidden thread, its moderator and another volunteer
    platform_admin = await make_volunteer("管理员", platform_admin=True)
    moderator = await make_volunteer("版主")
    author = await make_volunteer("作者")
    board = await make_board(platform_admin, "notes", "心得", moderators=(moderator,))
    for index in range(3):
        thread = await open_thread(author, board, title=f"话题{index}")
        await Thread.filter(id=thread.id).update(hidden=index == 1)
    for viewer, visible in ((None, 2), (author, 2), (moderator, 3), (platform_admin, 3)):
        # when each reads the board through both paths
        fast, slow, answered = await both(BOARD, None, viewer)
        # then the same answer, hidden threads for moderators only
        assert canonical(fast) == canonical(slow)
        assert answered == (1 if db.postgres else 0)
        threads = json.loads(fast)["data"]["board"]["threads"]["edges"]
        assert len(threads) == visible


async def test_a_connection_asked_only_for_its_count_is_compiled(db):
    # given activities
    await _seed(3)
    # when only totalCount is asked for
    fast, slow, answered = await both("{ activities { totalCount } }", None, None)
    # then the count, from SQL on PostgreSQL
    assert canonical(fast) == canonical(slow) == canonical('{"data": {"activities": {"totalCount": 3}}}')
    assert answered == (1 if db.postgres else 0)


async def test_nested_pages_stay_one_statement_whatever_their_size(db):
    # given a volunteer in many teams with many sign-ups, and a board with many threads
    admin, _ = await _seed(12)
    for index in range(12):
        other = await make_team(admin, f"队伍{index}")
        await make_activity(other, admin, title=f"别的活动{index}")
    for activity in await Activity.all():
        await SignUp.create(activity=activity, volunteer=admin, status=SignUpStatus.CONFIRMED)
    board = await make_board(await make_volunteer("管理员", platform_admin=True), "many", "多")
    for index in range(12):
        await open_thread(admin, board, title=f"话题{index}")
    documents = [
        ("query($n: Int) { me { teams(first: $n) { edges { node { name memberCount } } } "
         "signUps(first: $n) { edges { node { status activity { title team { name } } } } } } }",
         admin),
        ("query($n: Int) { board(slug: \"many\") { threads(first: $n) { edges { node { title "
         "author { displayName } } } } } }", None),
        ("query($n: Int) { activities(first: $n) { edges { node { team { members(first: $n) "
         "{ edges { node { displayName } } } activities(first: $n) { totalCount } } } } } }",
         None),
    ]
    for query, viewer in documents:
        counts = []
        for size in (1, 5, 12):
            # when a page of each size is read through the compiled path
            with count_statements() as statements:
                await answer(query, {"n": size}, viewer, compiled=True)
            counts.append(len(statements))
        # then one statement on PostgreSQL, whatever the size
        if db.postgres:
            assert counts == [1, 1, 1], (query, counts)


PRIVACY = """{ me { contactPhone(reason: "核对") identityNumber(reason: "核对") minorsNotice
                   piiAccessLog(first: 5) { totalCount edges { cursor node { id field reason
                       createdAt viewer { displayName } subject { displayName } } } } } }"""
MEMBERS_PHONES = """query($id: ID!) { node(id: $id) { ... on Team {
    members(first: 5) { edges { node { displayName contactPhone(reason: "召集") } } } } } }"""


async def test_privacy_fields_compile_and_recorded_reads_stay_on_the_general_path(db):
    # given a 15-year-old and an adult, members of a team whose phones a platform admin reads
    # (recorded, on the general path)
    admin = await make_volunteer("平台管理员", platform_admin=True)
    minor = await make_volunteer("少年", birth=date(date.today().year - 15, 1, 1))
    adult = await make_volunteer("成人")
    team = await make_team(adult, "社区队")
    await add_member(team, minor)
    team_id = str(to_global_id("Team", team.id))
    fast, slow, answered = await both(MEMBERS_PHONES, {"id": team_id}, admin)
    assert canonical(fast) == canonical(slow) and answered == 0, fast
    for viewer in (minor, adult, admin):
        # when each reads their own privacy fields through both paths
        fast, slow, answered = await both(PRIVACY, None, viewer)
        # then the same answer, in SQL: no unmasked value on one's own row, the notice for
        # the minor only, and each member sees the admin's two reads of their phone (one per path)
        assert canonical(fast) == canonical(slow), (fast, slow)
        assert answered == (1 if db.postgres else 0)
        me = json.loads(fast)["data"]["me"]
        assert me["contactPhone"] is None and me["identityNumber"] is None
        assert (me["minorsNotice"] is not None) == (viewer is minor)
        assert me["piiAccessLog"]["totalCount"] == (0 if viewer is admin else 2)
    # when another volunteer reads the members' phones, then null, answered in SQL
    fast, slow, answered = await both(MEMBERS_PHONES, {"id": team_id}, adult)
    assert canonical(fast) == canonical(slow) and answered == (1 if db.postgres else 0), fast


LONG_KEY = "aliasLongerThanPostgresqlIdentifiersWhichTruncateAtSixtyThreeBytes"
SELECTION_ORDER = ("query($first: Int) { activities(first: $first) { totalCount edges { node {"
                   " title id team { name " + LONG_KEY + ": name parent { name id } id }"
                   " startsAt } } pageInfo { hasNextPage endCursor } } }")


async def test_objects_keep_the_selection_order_and_keys_longer_than_identifiers(db):
    # given activities of a team with a parent team and of a team without one
    admin, team = await _seed(3)
    child = await make_team(admin, "分队", parent=team)
    await make_activity(child, admin, title="分队活动", starts_in=timedelta(hours=1))
    # when a page is read with its keys out of alphabetical order and an alias longer than a
    # PostgreSQL identifier (an object's columns are named by its keys)
    fast, slow, answered = await both(SELECTION_ORDER, {"first": 3}, None)
    # then the same JSON, key order included, from SQL on PostgreSQL
    assert len(LONG_KEY) > 63
    assert json.dumps(json.loads(fast)) == json.dumps(json.loads(slow))
    assert json.loads(fast)["data"]["activities"]["edges"][0]["node"]["team"]["parent"] == {
        "name": "社区队", "id": to_global_id("Team", team.id)}
    assert answered == (1 if db.postgres else 0)


@pytest.mark.postgres
async def test_global_ids_written_in_sql_are_relays(db):
    # given type names whose `Type:` prefix leaves 0, 1 and 2 bytes after its whole base64
    # groups (the groups are a constant in the SQL), and ids of every length
    ids = [*range(3000), 99_999, 123_456_789, 2**31 - 1]
    for type_name in ("Activity", "Board", "Team", "Post", "ServicePoint", "Volunteer", "X"):
        # when PostgreSQL writes their global ids
        _, rows = await read_connection().execute_query(
            f"SELECT {pg.global_id(type_name, 'g')} FROM unnest($1::int[]) AS u(g)", [ids])
        # then each is schema/relay.py's
        assert [row[0] for row in rows] == [to_global_id(type_name, i) for i in ids], type_name


async def test_a_statement_written_for_one_viewer_is_reused_with_the_next_viewers_own_id(db):
    # given two volunteers in a team, each signed up for a different activity
    first, team = await _seed(2)
    second = await make_volunteer("第二人")
    await add_member(team, second)
    one, two = await Activity.all().order_by("id").limit(2)
    await SignUp.create(activity=one, volunteer=first, status=SignUpStatus.CONFIRMED)
    await SignUp.create(activity=two, volunteer=second, status=SignUpStatus.WAITLISTED)
    for viewer, title in ((first, "活动0"), (second, "活动1"), (first, "活动0")):
        # when each reads `me` in turn (the second request of the document reuses the first's
        # statement)
        fast, slow, answered = await both(ME, None, viewer)
        # then each gets their own account and sign-ups, as the general path answers
        assert canonical(fast) == canonical(slow)
        me = json.loads(fast)["data"]["me"]
        assert me["displayName"] == viewer.display_name
        assert [e["node"]["activity"]["title"] for e in me["signUps"]["edges"]] == [title]
        assert answered == (1 if db.postgres else 0)


@pytest.mark.postgres  # the compiled path (and its statements) is PostgreSQL's
async def test_a_reused_statement_reads_the_clock_of_its_own_request(db, monkeypatch):
    # given an activity whose sign-up closes in an hour
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, title="快截止")
    activity.sign_up_deadline = activity.created_at + timedelta(hours=1)
    await activity.save(update_fields=["sign_up_deadline"])
    query = "{ activities(first: 5, hasOpenSlots: true) { edges { node { title } } } }"
    fast, _, _ = await both(query, None, None)
    assert json.loads(fast)["data"]["activities"]["edges"] == [{"node": {"title": "快截止"}}]

    # when the same document is read two hours later
    from schema.reads import execute

    later = execute.datetime.now(execute.UTC) + timedelta(hours=2)

    class Later(execute.datetime):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(execute, "datetime", Later)
    fast, _, answered = await both(query, None, None)

    # then its sign-up has closed for that request too
    assert json.loads(fast)["data"]["activities"]["edges"] == []
    assert answered == 1


async def test_first_zero_reads_no_edges_but_says_whether_there_are_any(db):
    # given three published activities, and none in another district
    await _seed(3)
    query = ("query Z($district: String) { activities(first: 0, district: $district) { totalCount"
             " edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")
    for district, more in ((None, True), ("无此区", False)):
        # when a page of none is asked for, through both paths
        fast, slow, answered = await both(query, {"district": district}, None)
        # then no edges, and hasNextPage says whether there is any (Relay: more than `first`)
        assert canonical(fast) == canonical(slow)
        page = json.loads(fast)["data"]["activities"]
        assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is more
        assert page["pageInfo"]["endCursor"] is None
        assert page["totalCount"] == (3 if more else 0)
        assert answered == (1 if db.postgres else 0)



async def test_first_zero_near_says_whether_any_activity_is_in_the_circle(db):
    # given an activity at the centre of a circle and one 50 km away
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    await make_activity(team, admin, title="圈内", latitude=39.9042, longitude=116.4074)
    await make_activity(team, admin, title="圈外", latitude=40.35, longitude=116.4074)
    query = ("query N($near: GeoInput) { activities(first: 0, near: $near) { totalCount"
             " edges { cursor } pageInfo { hasNextPage } } }")
    for radius, more, total in ((2, True, 1), (100, True, 2)):
        near = {"latitude": 39.9042, "longitude": 116.4074, "radiusKm": radius}
        # when a page of none is asked for around the centre
        fast, slow, _ = await both(query, {"near": near}, None)
        # then no edges, and hasNextPage says whether any activity is in the circle
        assert canonical(fast) == canonical(slow)
        page = json.loads(slow)["data"]["activities"]
        assert page == {"totalCount": total, "edges": [], "pageInfo": {"hasNextPage": more}}
    near = {"latitude": 30.0, "longitude": 100.0, "radiusKm": 1}
    _, slow, _ = await both(query, {"near": near}, None)
    assert json.loads(slow)["data"]["activities"]["pageInfo"]["hasNextPage"] is False
