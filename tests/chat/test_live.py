"""chatMessages: new messages and deletions arrive live; leaving the team ends an open
subscription at once, and access lost any other way is caught on the next message."""

from __future__ import annotations

import asyncio

from models.team import Membership
from resolvers import chat
from resolvers.auth import Viewer
from tests.chat.common import gid, next_event, say, subscribe, team_room
from tests.helpers import execute

MESSAGES = """subscription($room: ID!) { chatMessages(roomId: $room) {
  body deleted authorName } }"""
LEAVE = "mutation($team: ID!) { leaveTeam(teamId: $team) { name } }"


async def _watch(person, room):
    stream = await subscribe(MESSAGES, person, {"room": gid("ChatRoom", room.id)})
    first = asyncio.ensure_future(next_event(stream))
    await asyncio.sleep(0.2)  # let it reach the broker
    return stream, first


def _message(result):
    assert not result.errors, result.errors
    return result.data["chatMessages"]


async def test_messages_and_deletions_arrive_live(db):
    # given
    room = await team_room()
    stream, first = await _watch(room.other, room.room)
    try:
        # when
        posted = await say(room.member, room.room, "集合点改到北门")
        # then
        assert _message(await first) == {"body": "集合点改到北门", "deleted": False,
                                         "authorName": "李明"}
        message, _, name = await chat.do_delete_message(Viewer(room.admin), posted.message.id,
                                                        "发错了")
        await chat.notify_deleted(message, name)
        assert _message(await next_event(stream)) == {"body": "", "deleted": True,
                                                      "authorName": "李明"}
    finally:
        await stream.aclose()


async def test_leaving_the_team_closes_an_open_subscription_at_once(db):
    # given
    room = await team_room()
    _stream, first = await _watch(room.other, room.room)
    # when
    left = await execute(LEAVE, {"team": gid("Team", room.team.id)}, as_=room.other)
    # then: the stream ends without a message, and later messages never reach them
    assert left.ok()["leaveTeam"]["name"] == "朝阳门社区志愿服务队"
    try:
        await asyncio.wait_for(first, 5)
        raise AssertionError("the subscription should have ended")
    except StopAsyncIteration:
        pass
    again = await subscribe(MESSAGES, room.other, {"room": gid("ChatRoom", room.room.id)})
    refused = await next_event(again)
    assert [e.extensions["code"] for e in refused.errors] == ["NOT_FOUND"]


async def test_access_lost_without_a_kick_is_caught_on_the_next_message(db):
    # given: removed behind the rules' back (no KICK published)
    room = await team_room()
    _watcher, first = await _watch(room.other, room.room)
    stays, first_for_member = await _watch(room.admin, room.room)
    await Membership.filter(team_id=room.team.id, volunteer_id=room.other.id).delete()
    try:
        # when
        await say(room.member, room.room, "只给队员看的消息")
        # then
        assert _message(await first_for_member)["body"] == "只给队员看的消息"
        try:
            await asyncio.wait_for(first, 5)
            raise AssertionError("the former member should not receive it")
        except StopAsyncIteration:
            pass
    finally:
        await stays.aclose()


async def test_the_last_admin_cannot_leave(db):
    # given
    room = await team_room()
    # when
    result = await execute(LEAVE, {"team": gid("Team", room.team.id)}, as_=room.admin)
    # then
    assert result.codes == ["CONFLICT"]
    assert await Membership.filter(team_id=room.team.id, volunteer_id=room.admin.id).exists()


HISTORY = """query($team: ID!) { chatRoom(teamId: $team) { id
  messages(first: 20) { edges { node { id body } } } } }"""
SINCE = """subscription($room: ID!, $after: ID) { chatMessages(roomId: $room, after: $after) {
  id body } }"""


async def _read_history(room):
    found = (await execute(HISTORY, {"team": gid("Team", room.team.id)}, as_=room.other)).ok()
    edges = found["chatRoom"]["messages"]["edges"]
    # the newest message the page has, or the room itself when it has none
    return [e["node"]["body"] for e in edges], edges[0]["node"]["id"] if edges else \
        found["chatRoom"]["id"]


async def test_a_message_posted_between_history_and_subscribing_arrives_exactly_once(db):
    # given: the client read the history; a message is posted before it subscribes
    room = await team_room()
    await say(room.member, room.room, "早上好")
    history, newest = await _read_history(room)
    await say(room.member, room.room, "在间隙里发的")
    # when
    stream = await subscribe(SINCE, room.other, {"room": gid("ChatRoom", room.room.id),
                                                 "after": newest})
    try:
        missed = _message(await next_event(stream))
        await asyncio.sleep(0.2)  # as _watch: the broker confirms the subscription
        await say(room.member, room.room, "之后发的")
        live = _message(await next_event(stream))
    finally:
        await stream.aclose()
    # then: history + replay + live is every message once
    assert history == ["早上好"]
    assert [missed["body"], live["body"]] == ["在间隙里发的", "之后发的"]


async def test_a_message_committed_before_the_replay_but_published_after_comes_once(db):
    # given: an empty room (the client has nothing: after = the room's ID); a message is
    # committed but its publish is still on its way when the client subscribes
    room = await team_room()
    history, newest = await _read_history(room)
    in_flight = await chat.do_post_message(Viewer(room.member), room.room.id, chat.MessageData(
        body="发布还在路上", client_id="in-flight", photo_urls=[], mention_ids=[]))
    stream = await subscribe(SINCE, room.other, {"room": gid("ChatRoom", room.room.id),
                                                 "after": newest})
    try:
        # when: the replay sends it, then its late publish arrives live, then a new message
        replayed = _message(await next_event(stream))
        await asyncio.sleep(0.2)
        await chat.notify_posted(in_flight)
        await say(room.member, room.room, "下一条")
        following = _message(await next_event(stream))
    finally:
        await stream.aclose()
    # then: the live copy of the replayed message is not sent again
    assert history == [] and newest == gid("ChatRoom", room.room.id)
    assert replayed == {"id": gid("ChatMessage", in_flight.message.id), "body": "发布还在路上"}
    assert following["body"] == "下一条"


async def test_after_must_be_a_message_or_this_room(db):
    # given
    room = await team_room()
    other_room = await team_room()
    # when
    stream = await subscribe(SINCE, room.other, {"room": gid("ChatRoom", room.room.id),
                                                 "after": gid("ChatRoom", other_room.room.id)})
    refused = await next_event(stream)
    # then
    assert [e.extensions["code"] for e in refused.errors] == ["BAD_USER_INPUT"]
