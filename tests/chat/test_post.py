"""Posting: idempotent retry by client id, mentions notify room members only, the input
boundary and rate limit refuse with a code and write nothing; moderators mute and delete,
logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.chat import ChatMessage, ChatModerationLog
from models.notification import Notification
from resolvers.chat import CHAT_MENTION
from resolvers.services import services
from subscriptions import channels
from tests.chat.common import gid, say, team_room
from tests.helpers import execute

POST = """mutation($room: ID!, $body: String!, $client: String!, $photos: [String!],
  $mentions: [ID!]) { postChatMessage(roomId: $room, body: $body, clientId: $client,
  photoUrls: $photos, mentionIds: $mentions) { id body photoUrls clientId authorName mentionIds } }"""
MUTE = """mutation($room: ID!, $who: ID!, $until: DateTime) { muteChatMember(roomId: $room,
  volunteerId: $who, until: $until, reason: "刷屏") { action reason actor { displayName } } }"""
DELETE = """mutation($id: ID!) { deleteChatMessage(messageId: $id, reason: "广告") {
  deleted body } }"""
LOG = """query($team: ID!) { chatRoom(teamId: $team) { moderationLog { edges { node {
  action reason target { displayName } } } } } }"""


async def test_a_retried_send_is_stored_and_notified_once(db):
    # given
    chat = await team_room()
    variables = {"room": gid("ChatRoom", chat.room.id), "body": "@张丽 周六一起去吗？",
                 "client": "4f0c-1", "photos": ["https://img.example.cn/a.jpg"],
                 "mentions": [gid("Volunteer", chat.other.id)]}
    # when: the connection dropped after the first send and the client sent it again
    first = (await execute(POST, variables, as_=chat.member)).ok()["postChatMessage"]
    again = (await execute(POST, variables, as_=chat.member)).ok()["postChatMessage"]
    # then
    assert first == again
    assert first["clientId"] == "4f0c-1" and first["authorName"] == "李明"
    assert first["photoUrls"] == ["https://img.example.cn/a.jpg"]
    assert await ChatMessage.filter(room_id=chat.room.id).count() == 1
    mention = await Notification.get(volunteer_id=chat.other.id, kind=CHAT_MENTION)
    assert "李明" in mention.title and mention.subject_type == "ChatRoom"
    assert await Notification.filter(kind=CHAT_MENTION).count() == 1


async def test_mentioning_someone_outside_the_room_tells_them_nothing(db):
    # given
    chat = await team_room()
    # when
    posted = await say(chat.member, chat.room, "@路人 你好", mentions=[chat.stranger.id])
    # then
    assert posted.message.mentions == []
    assert await Notification.filter(kind=CHAT_MENTION).count() == 0


async def test_bad_messages_are_refused_with_a_code_and_write_nothing(db):
    # given
    chat = await team_room()
    room = gid("ChatRoom", chat.room.id)
    base = {"room": room, "body": "你好", "client": "k1"}
    # when
    cases = [
        await execute(POST, {**base, "body": "   "}, as_=chat.member),
        await execute(POST, {**base, "body": "长" * 2001}, as_=chat.member),
        await execute(POST, {**base, "photos": ["javascript:alert(1)"]}, as_=chat.member),
        await execute(POST, {**base, "client": "k" * 65}, as_=chat.member),
        await execute(POST, {**base, "room": gid("Team", 1)}, as_=chat.member),
        await execute(POST, base, as_=chat.stranger),
        await execute(POST, base),
    ]
    # then
    assert [r.codes for r in cases] == [["BAD_USER_INPUT"]] * 5 + [["NOT_FOUND"],
                                                                   ["UNAUTHENTICATED"]]
    assert await ChatMessage.all().count() == 0


async def test_flooding_is_rate_limited(db):
    # given
    chat = await team_room()
    await services().limiter.reset(f"chat:{chat.member.id}")
    room = gid("ChatRoom", chat.room.id)
    # when
    results = [await execute(POST, {"room": room, "body": f"第{i}条", "client": f"n{i}"},
                             as_=chat.member) for i in range(31)]
    # then
    assert [r.codes for r in results[:30]] == [[]] * 30
    assert results[30].codes == ["RATE_LIMITED"]
    assert await ChatMessage.all().count() == 30
    await services().limiter.reset(f"chat:{chat.member.id}")


async def test_the_team_admin_mutes_a_member_and_deletes_a_message_both_logged(db):
    # given
    chat = await team_room()
    spam = await say(chat.other, chat.room, "低价代购，加微信")
    room, other = gid("ChatRoom", chat.room.id), gid("Volunteer", chat.other.id)
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    # when
    by_member = await execute(MUTE, {"room": room, "who": other, "until": until}, as_=chat.member)
    muted = await execute(MUTE, {"room": room, "who": other, "until": until}, as_=chat.admin)
    blocked = await execute(POST, {"room": room, "body": "再发一次", "client": "x"},
                            as_=chat.other)
    deleted = await execute(DELETE, {"id": gid("ChatMessage", spam.message.id)}, as_=chat.admin)
    log = await execute(LOG, {"team": gid("Team", chat.team.id)}, as_=chat.admin)
    log_for_member = await execute(LOG, {"team": gid("Team", chat.team.id)}, as_=chat.member)
    # then
    assert by_member.codes == ["FORBIDDEN"]
    assert muted.ok()["muteChatMember"] == {"action": "MUTE", "reason": "刷屏",
                                            "actor": {"displayName": "队长王强"}}
    assert blocked.codes == ["FORBIDDEN"]
    assert deleted.ok()["deleteChatMessage"] == {"deleted": True, "body": ""}
    entries = [e["node"] for e in log.ok()["chatRoom"]["moderationLog"]["edges"]]
    assert entries == [{"action": "DELETE", "reason": "广告", "target": {"displayName": "张丽"}},
                       {"action": "MUTE", "reason": "刷屏", "target": {"displayName": "张丽"}}]
    assert log_for_member.codes == ["FORBIDDEN"]
    assert await ChatModerationLog.all().count() == 2


MEMBERS = """query($team: ID!, $search: String, $first: Int! = 20) { chatRoom(teamId: $team) {
  viewerCanModerate members(search: $search, first: $first) { id displayName } } }"""
ACTIVITY_MEMBERS = """query($activity: ID!) { chatRoom(activityId: $activity) {
  viewerCanModerate members { displayName } } }"""
MUTED_UNTIL = """query($team: ID!) { chatRoom(teamId: $team) { myMutedUntil } }"""


async def test_the_mention_picker_lists_the_room_members_by_name_to_members_only(db):
    # given a team room of 队长王强 (admin), 李明 and 张丽, and 路人 outside it
    chat = await team_room()
    team = gid("Team", chat.team.id)
    # when
    everyone = await execute(MEMBERS, {"team": team}, as_=chat.member)
    searched = await execute(MEMBERS, {"team": team, "search": "@张"}, as_=chat.member)
    as_admin = await execute(MEMBERS, {"team": team, "search": "%"}, as_=chat.admin)
    too_many = await execute(MEMBERS, {"team": team, "first": 51}, as_=chat.member)
    outsider = await execute(MEMBERS, {"team": team}, as_=chat.stranger)
    # then: the caller left out, a search by name (the @ typed first ignored, no wildcards)
    room = everyone.ok()["chatRoom"]
    assert sorted(p["displayName"] for p in room["members"]) == sorted(["队长王强", "张丽"])
    assert room["viewerCanModerate"] is False
    assert searched.ok()["chatRoom"]["members"] == [{"id": gid("Volunteer", chat.other.id),
                                                     "displayName": "张丽"}]
    assert as_admin.ok()["chatRoom"] == {"viewerCanModerate": True, "members": []}
    assert too_many.codes == ["BAD_USER_INPUT"]
    assert outsider.codes == ["NOT_FOUND"]


async def test_an_activity_room_lists_its_confirmed_participants_and_its_teams_admins(db):
    # given an activity of the team with one confirmed participant and one cancelled
    from models.activity import SignUp, SignUpStatus
    from tests.activity.factory import make_activity

    chat = await team_room()
    activity = await make_activity(chat.team, chat.admin, title="周六巡河")
    await SignUp.create(activity=activity, volunteer=chat.member, status=SignUpStatus.CONFIRMED)
    await SignUp.create(activity=activity, volunteer=chat.other, status=SignUpStatus.CANCELLED)
    # when the participant opens the picker
    found = await execute(ACTIVITY_MEMBERS, {"activity": gid("Activity", activity.id)},
                          as_=chat.member)
    # then the organiser is there, the one who cancelled is not
    assert found.ok()["chatRoom"]["members"] == [{"displayName": "队长王强"}]


async def test_a_muted_member_is_told_until_when_and_unmuting_tells_them_too(db):
    # given
    chat = await team_room()
    room, other = gid("ChatRoom", chat.room.id), gid("Volunteer", chat.other.id)
    until = datetime.now(UTC) + timedelta(hours=2)
    published: list[tuple[str, dict]] = []
    broker = services().broker
    original = broker.publish_many

    async def capture(items):  # type: ignore[no-untyped-def]
        published.extend(items)
        await original(items)

    broker.publish_many = capture  # type: ignore[method-assign]
    try:
        # when
        await execute(MUTE, {"room": room, "who": other, "until": until.isoformat()},
                      as_=chat.admin)
        muted = await execute(MUTED_UNTIL, {"team": gid("Team", chat.team.id)}, as_=chat.other)
        await execute(MUTE, {"room": room, "who": other, "until": None}, as_=chat.admin)
        unmuted = await execute(MUTED_UNTIL, {"team": gid("Team", chat.team.id)}, as_=chat.other)
    finally:
        del broker.publish_many
    # then: a notification about the room each time, pushed live to that member only
    told = await Notification.filter(volunteer_id=chat.other.id).order_by("id")
    assert [(n.kind, n.body, n.subject_type, n.subject_id) for n in told] == [
        ("CHAT_MUTED", "刷屏", "ChatRoom", chat.room.id),
        ("CHAT_UNMUTED", "刷屏", "ChatRoom", chat.room.id)]
    assert "朝阳门社区志愿服务队" in told[0].title and "被禁言至" in told[0].title
    assert [channel for channel, _ in published] == [channels.notifications(chat.other.id)] * 2
    assert datetime.fromisoformat(muted.ok()["chatRoom"]["myMutedUntil"]) == until
    assert unmuted.ok()["chatRoom"]["myMutedUntil"] is None


async def test_every_reader_gets_the_senders_id(db):
    # given
    chat = await team_room()
    await say(chat.member, chat.room, "大家好")
    # when
    page = await execute("""query($team: ID!) { chatRoom(teamId: $team) { messages { edges {
      node { authorId author { id } } } } } }""", {"team": gid("Team", chat.team.id)},
                         as_=chat.other)
    # then
    node = page.ok()["chatRoom"]["messages"]["edges"][0]["node"]
    assert node["authorId"] == node["author"]["id"] == gid("Volunteer", chat.member.id)
