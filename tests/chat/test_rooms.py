"""Rooms: who gets in (team members, confirmed participants, the team's admins), history paged
with cursors, unread counts per room from the read marker, batched for the room list."""

from __future__ import annotations

from models.activity import SignUp, SignUpStatus
from models.chat import ChatRoom
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
    assert counts[0] == counts[1] <= 6, counts
