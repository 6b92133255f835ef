"""Rooms: who gets in (team members, confirmed participants, the team's admins), history paged
with cursors, unread counts per room from the read marker, batched for the room list."""

from __future__ import annotations

import json

from tortoise import connections

from models.activity import SignUp, SignUpStatus
from models.chat import ChatMessage, ChatRoom
from resolvers import chat as chat_rules
from resolvers.sql import Sql, fetch
from tests.activity.factory import make_activity
from tests.chat.common import gid, say, team_room
from tests.helpers import count_statements, execute, make_volunteer

ROOM = """query($team: ID, $activity: ID) { chatRoom(teamId: $team, activityId: $activity) {
  id kind unreadCount } }"""
HISTORY = """query($team: ID!, $after: String) { chatRoom(teamId: $team) {
  messages(first: 2, after: $after) { totalCount edges { node { body authorName } }
  pageInfo { hasNextPage endCursor } } } }"""
MY_ROOMS = "{ myChatRooms { kind unreadCount team { name } activity { title } } }"
MARK_READ = "mutation($room: ID!) { markChatRead(roomId: $room) { unreadCount } }"


async def test_team_members_and_admins_get_the_room_and_strangers_do_not(db):
    # given
    chat = await team_room()
    team = gid("Team", chat.team.id)
    # when
    as_member = await execute(ROOM, {"team": team}, as_=chat.member)
    as_admin = await execute(ROOM, {"team": team}, as_=chat.admin)
    as_stranger = await execute(ROOM, {"team": team}, as_=chat.stranger)
    neither = await execute(ROOM, {}, as_=chat.member)
    # then
    assert as_member.ok()["chatRoom"]["id"] == as_admin.ok()["chatRoom"]["id"] == gid(
        "ChatRoom", chat.room.id)
    assert as_stranger.codes == ["NOT_FOUND"]
    assert neither.codes == ["BAD_USER_INPUT"]
    assert await ChatRoom.filter(team_id=chat.team.id).count() == 1


async def test_only_confirmed_participants_enter_an_activity_room(db):
    # given
    chat = await team_room()
    activity = await make_activity(chat.team, chat.admin, title="重阳节敬老活动", capacity=1)
    await SignUp.create(activity=activity, volunteer=chat.member, status=SignUpStatus.CONFIRMED)
    await SignUp.create(activity=activity, volunteer=chat.other, status=SignUpStatus.WAITLISTED,
                        waitlist_seq=1)
    variables = {"activity": gid("Activity", activity.id)}
    # when
    confirmed = await execute(ROOM, variables, as_=chat.member)
    waitlisted = await execute(ROOM, variables, as_=chat.other)
    organiser = await execute(ROOM, variables, as_=chat.admin)
    # then
    assert confirmed.ok()["chatRoom"]["kind"] == "ACTIVITY"
    assert waitlisted.codes == ["NOT_FOUND"]
    assert organiser.ok()["chatRoom"]["kind"] == "ACTIVITY"


async def test_history_pages_newest_first_with_cursors(db):
    # given
    chat = await team_room()
    for body in ("早上好", "今天九点集合", "记得带袖标"):
        await say(chat.member, chat.room, body)
    team = gid("Team", chat.team.id)
    # when
    first = (await execute(HISTORY, {"team": team}, as_=chat.other)).ok()["chatRoom"]["messages"]
    second = (await execute(HISTORY, {"team": team, "after": first["pageInfo"]["endCursor"]},
                            as_=chat.other)).ok()["chatRoom"]["messages"]
    # then
    assert [e["node"]["body"] for e in first["edges"]] == ["记得带袖标", "今天九点集合"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    assert [e["node"] for e in second["edges"]] == [{"body": "早上好", "authorName": "李明"}]
    assert not second["pageInfo"]["hasNextPage"]


async def test_unread_counts_per_room_follow_the_read_marker_in_one_statement(db):
    # given: a team room and an activity room, each with news from others
    chat = await team_room()
    activity = await make_activity(chat.team, chat.admin, title="垃圾分类宣传")
    await SignUp.create(activity=activity, volunteer=chat.member, status=SignUpStatus.CONFIRMED)
    await SignUp.create(activity=activity, volunteer=chat.other, status=SignUpStatus.CONFIRMED)
    activity_room = (await execute(ROOM, {"activity": gid("Activity", activity.id)},
                                   as_=chat.member)).ok()["chatRoom"]["id"]
    await say(chat.other, chat.room, "大家好")
    await say(chat.other, chat.room, "明天见")
    await say(chat.member, chat.room, "收到")  # one's own messages are never unread
    activity_chat = await ChatRoom.get(activity_id=activity.id)
    await say(chat.other, activity_chat, "几点到？")
    # when
    with count_statements() as statements:
        rooms = (await execute(MY_ROOMS, as_=chat.member)).ok()["myChatRooms"]
    marked = await execute(MARK_READ, {"room": gid("ChatRoom", chat.room.id)}, as_=chat.member)
    after = (await execute(MY_ROOMS, as_=chat.member)).ok()["myChatRooms"]
    # then
    assert [(r["kind"], r["unreadCount"]) for r in rooms] == [("TEAM", 2), ("ACTIVITY", 1)]
    assert rooms[0]["team"]["name"] == "朝阳门社区志愿服务队"
    assert sum("chat_message" in s for s in statements) == 1
    assert marked.ok()["markChatRead"]["unreadCount"] == 0
    assert [r["unreadCount"] for r in after] == [0, 1]
    assert activity_room == gid("ChatRoom", activity_chat.id)


async def test_a_stranger_cannot_mark_or_read_anothers_room(db):
    # given
    chat = await team_room()
    outsider = await make_volunteer("外人")
    # when
    result = await execute(MARK_READ, {"room": gid("ChatRoom", chat.room.id)}, as_=outsider)
    node = await execute("query($id: ID!) { node(id: $id) { id } }",
                         {"id": gid("ChatRoom", chat.room.id)}, as_=outsider)
    # then
    assert result.codes == ["NOT_FOUND"]
    assert node.ok()["node"] is None


PAGE = """query($team: ID!, $first: Int) { chatRoom(teamId: $team) {
  unreadCount messages(first: $first) { edges { node { id body authorName createdAt } } } } }"""


async def test_a_history_page_costs_the_same_few_statements_at_any_size(db):
    # given: messages from several authors
    chat = await team_room()
    for number in range(12):
        await say([chat.member, chat.admin, chat.other][number % 3], chat.room, f"消息{number}")
    team = gid("Team", chat.team.id)
    counts = []
    for first in (2, 12):
        # when
        with count_statements() as statements:
            page = (await execute(PAGE, {"team": team, "first": first}, as_=chat.other)).ok()
        counts.append(len(statements))
        # then
        assert len(page["chatRoom"]["messages"]["edges"]) == first
    assert counts[0] == counts[1] <= 5, counts


async def _fill(room: ChatRoom, author_id: int, up_to: int) -> None:
    had = await ChatMessage.filter(room_id=room.id).count()
    await ChatMessage.bulk_create([
        ChatMessage(room_id=room.id, author_id=author_id, client_id=f"bulk-{n}", body=f"旧消息{n}")
        for n in range(had, up_to)])


def _rows_read(plan: object) -> int:
    """Rows PostgreSQL's EXPLAIN ANALYZE says the scans of chat_message returned."""
    if isinstance(plan, list):
        return sum(_rows_read(item) for item in plan)
    if not isinstance(plan, dict):
        return 0
    own = plan["Actual Rows"] * plan["Actual Loops"] \
        if plan.get("Relation Name") == "chat_message" else 0
    return own + sum(_rows_read(child) for child in plan.get("Plans", [])) + \
        _rows_read(plan.get("Plan"))


async def test_a_history_page_reads_only_its_rows_however_long_the_room(db):
    # given: the same room at two sizes; a page from the newest and one from a cursor
    chat = await team_room()
    conn = connections.get("default")
    team = gid("Team", chat.team.id)
    statements, rows_read, plans = [], [], []
    for size in (30, 600):
        await _fill(chat.room, chat.member.id, size)
        first = (await execute(PAGE, {"team": team, "first": 10}, as_=chat.other)).ok()
        newest = first["chatRoom"]["messages"]["edges"]
        middle = await ChatMessage.filter(room_id=chat.room.id).order_by("id").offset(
            size // 2).first()
        for older_than in (None, middle.id):
            sql = chat_rules.history_sql([chat.room.id], 11, older_than=older_than)
            # when
            with count_statements() as seen:
                pages = await chat_rules.history_pages([chat.room.id], 11,
                                                       older_than=older_than)
            statements.append(len(seen))
            if conn.capabilities.dialect == "postgres":
                explained = await fetch(conn, Sql("EXPLAIN (ANALYZE, FORMAT JSON) ") + sql)
                plan = explained[0]["QUERY PLAN"]
                rows_read.append(_rows_read(json.loads(plan) if isinstance(plan, str) else plan))
            else:
                explained = await fetch(conn, Sql("EXPLAIN QUERY PLAN ") + sql)
                plans.append(" | ".join(str(row["detail"]) for row in explained))
            # then: the page is the 11 next to the bound, newest first
            ids = [message.id for message in pages[chat.room.id]]
            assert len(ids) == 11 and ids == sorted(ids, reverse=True)
            assert older_than is None or ids[0] == older_than - 1
        assert len(newest) == 10
    assert statements == [1, 1, 1, 1]
    # rows read do not grow with the room: exactly the page (+1) at 30 and at 600 messages
    postgres = conn.capabilities.dialect == "postgres"
    assert rows_read == ([11, 11, 11, 11] if postgres else []), rows_read
    for plan in plans:  # SQLite: an index search in id order, no sort of the whole room
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


HISTORY_FORWARD = """query($team: ID!, $last: Int, $before: String) { chatRoom(teamId: $team) {
  messages(last: $last, before: $before) { edges { node { body } }
  pageInfo { hasPreviousPage startCursor } } } }"""


async def test_last_before_pages_forward_from_a_cursor_and_mixing_is_refused(db):
    # given: five messages; the client has the oldest two
    chat = await team_room()
    for number in range(5):
        await say(chat.member, chat.room, f"第{number}条")
    team = gid("Team", chat.team.id)
    oldest = (await execute(HISTORY, {"team": team, "after": None}, as_=chat.other)).ok()
    cursor = None
    while True:  # walk back to the oldest page's last cursor
        page = (await execute(HISTORY, {"team": team, "after": cursor},
                              as_=chat.other)).ok()["chatRoom"]["messages"]
        cursor = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    # when: the two right after 第0条, then the rest
    forward = (await execute(HISTORY_FORWARD, {"team": team, "last": 2, "before": cursor},
                             as_=chat.other)).ok()["chatRoom"]["messages"]
    rest = (await execute(HISTORY_FORWARD, {"team": team, "last": 5,
                                            "before": forward["pageInfo"]["startCursor"]},
                          as_=chat.other)).ok()["chatRoom"]["messages"]
    mixed = await execute("""query($team: ID!) { chatRoom(teamId: $team) {
      messages(first: 2, before: "x") { edges { cursor } } } }""", {"team": team},
                          as_=chat.other)
    forged = await execute(HISTORY_FORWARD, {"team": team, "last": 2, "before": "abc.def"},
                           as_=chat.other)
    # then: newest first within each page, hasPreviousPage while newer ones follow
    assert oldest["chatRoom"]["messages"]["totalCount"] == 5
    assert [e["node"]["body"] for e in forward["edges"]] == ["第2条", "第1条"]
    assert forward["pageInfo"]["hasPreviousPage"]
    assert [e["node"]["body"] for e in rest["edges"]] == ["第4条", "第3条"]
    assert not rest["pageInfo"]["hasPreviousPage"]
    assert mixed.codes == ["BAD_USER_INPUT"]
    assert forged.codes == ["BAD_USER_INPUT"]
