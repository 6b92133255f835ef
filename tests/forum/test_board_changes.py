"""boardChanges: what a reader's open board or thread needs to stay true, live. New posts, and
content a moderator hid or restored: readers are told to withdraw it (without its content),
moderators get it marked hidden; after a broker reconnect the missed changes are replayed."""

import asyncio

import pytest

from forum import rules
from forum.models import ModerationAction
from forum.rules import ModerateData, ModerationTarget
from resolvers.auth import Viewer
from resolvers.services import services
from subscriptions import channels
from subscriptions.broker import RESYNC
from tests.forum.common import (
    gid,
    make_forum,
    next_event,
    open_thread,
    opening_post,
    subscribe,
    write_reply,
)
from tests.helpers import wait_for_subscribers

CHANGES = """subscription($board: ID!) { boardChanges(boardId: $board) {
  kind threadId postId post { body hidden } } }"""
BOARD_ACTIVITY = "subscription($board: ID!) { boardActivity(boardId: $board) { body } }"


async def _moderate(forum, action: ModerationAction, kind: str, db_id: int) -> None:
    await rules.do_moderate(Viewer(forum.moderator), ModerateData(
        action=action, target=ModerationTarget(kind, db_id), reason="违规"))


async def _announce(author, thread, body):
    post = await write_reply(author, thread, body)
    await rules.notify_new_post(thread.board_id, post.id)
    return post


async def _streams(forum, *people):
    board = gid("Board", forum.board.id)
    streams = [await subscribe(CHANGES, person, {"board": board}) for person in people]
    firsts = [asyncio.ensure_future(next_event(stream)) for stream in streams]
    await wait_for_subscribers(channels.board(forum.board.id), len(streams))
    return streams, firsts


def _change(result):
    assert not result.errors, result.errors
    return result.data["boardChanges"]


async def test_a_hidden_reply_is_withdrawn_from_readers_and_marked_for_moderators_live(db):
    # given: a thread with a reply, watched by a reader and by the board's moderator
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "周末活动")
    reply = await write_reply(forum.stranger, thread, "加我微信买口罩")
    (reader, moderator), (first, first_for_moderator) = await _streams(
        forum, forum.member, forum.moderator)
    try:
        # when
        await _moderate(forum, ModerationAction.HIDE, "Post", reply.id)
        # then: the reader learns only which post to withdraw; the moderator sees it marked
        ids = {"threadId": gid("Thread", thread.id), "postId": gid("Post", reply.id)}
        assert _change(await first) == {"kind": "HIDDEN", **ids, "post": None}
        assert _change(await first_for_moderator) == {
            "kind": "HIDDEN", **ids, "post": {"body": "加我微信买口罩", "hidden": True}}
        # when restored, both get it back
        await _moderate(forum, ModerationAction.RESTORE, "Post", reply.id)
        assert _change(await next_event(reader)) == {
            "kind": "RESTORED", **ids, "post": {"body": "加我微信买口罩", "hidden": False}}
        assert _change(await next_event(moderator))["kind"] == "RESTORED"
        # and a new post still arrives as POSTED
        new = await _announce(forum.member, thread, "我也报名")
        assert _change(await next_event(reader)) == {
            "kind": "POSTED", "threadId": gid("Thread", thread.id), "postId": gid("Post", new.id),
            "post": {"body": "我也报名", "hidden": False}}
    finally:
        await reader.aclose()
        await moderator.aclose()


async def test_a_hidden_thread_is_withdrawn_whole_and_its_replies_stay_out_of_sight(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "违规转卖")
    other = await open_thread(forum.member, forum.board, "周末活动")
    reply = await write_reply(forum.stranger, thread, "多少钱")
    (reader,), (first,) = await _streams(forum, forum.stranger)
    try:
        # when: hiding the opening post hides the thread; a reply of it is hidden, restored
        await _moderate(forum, ModerationAction.HIDE, "Post", (await opening_post(thread)).id)
        await _moderate(forum, ModerationAction.HIDE, "Post", reply.id)
        await _moderate(forum, ModerationAction.RESTORE, "Post", reply.id)
        new = await _announce(forum.member, other, "别的帖子")
        # then: the whole thread goes (no post id); the reply's hide is told (withdrawing it
        # again is harmless); its restore is not (it is still inside a hidden thread)
        whole = {"threadId": gid("Thread", thread.id), "postId": None, "post": None}
        assert _change(await first) == {"kind": "HIDDEN", **whole}
        assert _change(await next_event(reader))["kind"] == "HIDDEN"
        assert _change(await next_event(reader))["postId"] == gid("Post", new.id)
        # when the thread comes back, so does it for the reader
        await _moderate(forum, ModerationAction.RESTORE, "Thread", thread.id)
        assert _change(await next_event(reader)) == {"kind": "RESTORED", **whole}
    finally:
        await reader.aclose()


async def test_board_activity_does_not_mistake_a_hide_for_a_new_post(db):
    # given: a moderator watching boardActivity (hidden posts do reach moderators)
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "周末活动")
    reply = await write_reply(forum.stranger, thread, "广告")
    stream = await subscribe(BOARD_ACTIVITY, forum.moderator, {"board": gid("Board", forum.board.id)})
    first = asyncio.ensure_future(next_event(stream))
    await wait_for_subscribers(channels.board(forum.board.id))
    try:
        # when
        await _moderate(forum, ModerationAction.HIDE, "Post", reply.id)
        await _announce(forum.member, thread, "真正的新回复")
        # then
        assert (await first).data["boardActivity"] == {"body": "真正的新回复"}
    finally:
        await stream.aclose()


async def test_after_a_broker_reconnect_missed_posts_and_hides_are_replayed_once(db, monkeypatch):
    # given: a reader watching, and changes made while the broker lost them
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "周末活动")
    reply = await write_reply(forum.stranger, thread, "广告")
    (reader,), (first,) = await _streams(forum, forum.member)
    try:
        async def lost(*_args: object) -> None:
            return None

        with monkeypatch.context() as patch:
            patch.setattr(rules, "notify_visibility", lost)
            await _moderate(forum, ModerationAction.HIDE, "Post", reply.id)
        missed = await write_reply(forum.stranger, thread, "错过的回复")  # never announced
        # when
        await services().broker.publish(channels.board(forum.board.id), RESYNC)
        await services().broker.publish(channels.board(forum.board.id), RESYNC)  # twice
        # then: each missed change once, then live again
        assert _change(await first)["postId"] == gid("Post", missed.id)
        assert _change(await next_event(reader)) == {
            "kind": "HIDDEN", "threadId": gid("Thread", thread.id),
            "postId": gid("Post", reply.id), "post": None}
        live = await _announce(forum.member, thread, "之后的回复")
        assert _change(await next_event(reader))["postId"] == gid("Post", live.id)
    finally:
        await reader.aclose()


@pytest.mark.parametrize("board", ["Qm9hcmQ6OTk5", "not-an-id"])
async def test_board_changes_of_a_missing_board(db, board):
    stream = await subscribe(CHANGES, None, {"board": board})
    result = await next_event(stream)
    assert result.errors and result.errors[0].extensions["code"] in ("NOT_FOUND", "BAD_USER_INPUT")


@pytest.mark.parametrize("query", [CHANGES, BOARD_ACTIVITY])
async def test_closing_a_board_stream_unsubscribes_from_the_broker_at_once(db, query):
    # given: a live board stream that has delivered something
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "周末活动")
    channel = channels.board(forum.board.id)
    stream = await subscribe(query, forum.member, {"board": gid("Board", forum.board.id)})
    first = asyncio.ensure_future(next_event(stream))
    await wait_for_subscribers(channels.board(forum.board.id))
    await _announce(forum.member, thread, "你好")
    await first
    assert services().broker._local.get(channel)
    # when
    await stream.aclose()
    # then: no subscription left behind waiting for garbage collection
    assert not services().broker._local.get(channel)
