"""chatMessages on the shared path (schema/live/fanout.py): a room's subscribers on one worker
share one execution and get the per-subscriber bytes, and access stays exact per member:
whoever leaves (KICK) or loses access any other way stops receiving at once, the others
keep receiving, even when the leaver is the member the group's execution was started for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from models.team import Membership
from resolvers import chat
from resolvers.auth import Viewer
from schema.live.fanout import RULES
from tests.broker.test_fanout import hub, per_subscriber, settle, shared
from tests.chat.common import gid, say, team_room
from tests.helpers import execute

MESSAGES = """subscription C($room: ID!) { chatMessages(roomId: $room) {
  id body photoUrls deleted createdAt authorName mentionIds roomId } }"""
WITH_CLIENT_ID = """subscription C($room: ID!) { chatMessages(roomId: $room) {
  body clientId } }"""
LEAVE = "mutation($team: ID!) { leaveTeam(teamId: $team) { name } }"


def _next(text: str) -> dict:
    message = json.loads(text)
    assert message["type"] == "next", message
    return message["payload"]["data"]["chatMessages"]


def _is_next(message: dict) -> bool:
    return message["type"] == "next"


async def _clients(room, people, make=shared):
    clients = []
    for person in people:
        client = make()
        await client.connect(person)
        await client.subscribe(MESSAGES, {"room": gid("ChatRoom", room.room.id)})
        clients.append(client)
    await settle()  # every stream reached the broker
    return clients


async def test_room_members_share_one_execution_and_get_the_per_subscriber_bytes(db):
    # given: two members and the admin on the shared path, one member per subscriber
    room = await team_room()
    started = hub().started
    members = await _clients(room, [room.other, room.admin, room.member])
    alone = (await _clients(room, [room.member], per_subscriber))[0]
    try:
        # when
        posted = await say(room.member, room.room, "周六上午九点社区门口集合")
        # then: one group for the room, the same bytes everyone would have got alone
        frames = [await client.frame() for client in [*members, alone]]
        assert hub().started == started + 1
        assert [len(group.members) for group in hub().groups.values()] == [3]
        assert len(set(frames)) == 1
        assert _next(frames[0])["body"] == "周六上午九点社区门口集合"
        assert _next(frames[0])["authorName"] == "李明"
        # and a deletion reaches every member alike
        message, _, name = await chat.do_delete_message(Viewer(room.admin), posted.message.id,
                                                        "发错了")
        await chat.notify_deleted(message, name)
        deleted = [_next(await client.frame()) for client in members]
        assert all(each["deleted"] and each["body"] == "" for each in deleted)
    finally:
        for client in [*members, alone]:
            await client.close()


async def test_the_senders_own_client_id_is_never_shared(db):
    # given: the sender and another member select clientId
    room = await team_room()
    sender, reader = shared(), shared()
    for client, person in ((sender, room.member), (reader, room.other)):
        await client.connect(person)
        await client.subscribe(WITH_CLIENT_ID, {"room": gid("ChatRoom", room.room.id)})
    await settle()
    try:
        # when
        await say(room.member, room.room, "收到请回复", client_id="phone-1")
        # then: per subscriber, each sees only their own key
        assert _next(await sender.frame())["clientId"] == "phone-1"
        assert _next(await reader.frame())["clientId"] is None
        assert not any(key[3] == "chatMessages" for key in hub().groups)
    finally:
        await sender.close()
        await reader.close()


async def test_a_leaver_stops_at_once_and_the_others_keep_receiving(db):
    # given: the leaver subscribed first (the group's execution runs with their viewer)
    room = await team_room()
    leaver, stays = await _clients(room, [room.other, room.member])
    try:
        # when
        (await execute(LEAVE, {"team": gid("Team", room.team.id)}, as_=room.other)).ok()
        # then: the leaver's subscription completes without waiting for a message
        assert json.loads(await leaver.frame()) == {"type": "complete", "id": "1"}
        await say(room.admin, room.room, "离队后的消息")
        assert _next(await stays.frame())["body"] == "离队后的消息"
        await settle()
        assert leaver.socket.frames.empty()
        assert [len(group.members) for group in hub().groups.values()] == [1]
    finally:
        await leaver.close()
        await stays.close()


async def test_access_lost_without_a_kick_ends_before_the_next_message_is_written(db):
    # given: removed behind the rules' back (no KICK published)
    room = await team_room()
    former, stays = await _clients(room, [room.other, room.admin])
    await Membership.filter(team_id=room.team.id, volunteer_id=room.other.id).delete()
    try:
        # when
        await say(room.member, room.room, "只给队员看的消息")
        # then
        assert _next(await stays.frame_where(_is_next))["body"] == "只给队员看的消息"
        assert json.loads(await former.frame()) == {"type": "complete", "id": "1"}
        await settle()
        assert former.socket.frames.empty()
    finally:
        await former.close()
        await stays.close()


async def test_a_muted_member_still_reads_the_room_live(db):
    # given
    room = await team_room()
    muted = (await _clients(room, [room.other]))[0]
    await chat.do_mute(Viewer(room.admin), room.room.id, room.other.id,
                       datetime.now(UTC) + timedelta(days=1), "刷屏")
    try:
        # when
        await say(room.member, room.room, "禁言也能看到")
        # then
        assert _next(await muted.frame())["body"] == "禁言也能看到"
    finally:
        await muted.close()


def test_every_chat_message_field_is_shareable_or_deliberately_per_viewer():
    # given
    from schema import schema

    fields = set(schema._schema.type_map["ChatMessage"].fields)  # type: ignore[attr-defined]
    per_viewer = {"clientId", "author"}
    # when
    shareable = RULES["chatMessages"].fields["ChatMessage"]
    # then
    assert fields == shareable | per_viewer
    assert not shareable & per_viewer


SINCE = """subscription C($room: ID!, $after: ID) { chatMessages(roomId: $room, after: $after) {
  id body photoUrls deleted createdAt authorName mentionIds roomId } }"""


async def test_members_subscribing_after_the_same_message_share_it_and_miss_nothing(db):
    # given: both read the history up to 早上好; 漏掉的 is posted before either subscribes,
    # 中间的 after the first did and before the second did
    room = await team_room()
    newest = (await say(room.member, room.room, "早上好")).message.id
    variables = {"room": gid("ChatRoom", room.room.id), "after": gid("ChatMessage", newest)}
    await say(room.member, room.room, "漏掉的")
    started = hub().started
    first, second, alone = shared(), shared(), per_subscriber()
    await first.connect(room.other)
    await first.subscribe(SINCE, variables)
    await settle()
    await say(room.admin, room.room, "中间的")
    for client, person in ((second, room.admin), (alone, room.member)):
        await client.connect(person)
        await client.subscribe(SINCE, variables)
    await settle()
    try:
        # when
        await say(room.member, room.room, "之后的")
        # then: every message after 早上好 once, in order, the same bytes on both paths
        frames = {name: [await client.frame() for _ in range(3)]
                  for name, client in (("first", first), ("second", second), ("alone", alone))}
        assert [_next(frame)["body"] for frame in frames["first"]] == ["漏掉的", "中间的", "之后的"]
        assert frames["first"] == frames["second"] == frames["alone"]
        await settle()
        assert all(client.socket.frames.empty() for client in (first, second, alone))
        assert hub().started == started + 1  # one execution for both shared members
    finally:
        for client in (first, second, alone):
            await client.close()
