"""Hidden content is invisible to everyone but the board's moderators and platform admins,
through every path: node, board threads, thread posts, search, feed, live board activity."""

import asyncio

from forum import rules
from forum.models import ModerationAction
from resolvers.auth import Viewer
from subscriptions import channels
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

NODE = "query($id: ID!) { node(id: $id) { id ... on Thread { hidden } ... on Post { hidden } } }"
BOARD = """
query { board(slug: "fangyi") { threadCount threads(first: 10) { totalCount
  edges { node { title hidden replyCount } } } } }
"""
POSTS = """
query($id: ID!) { node(id: $id) { ... on Thread { posts(first: 10) { totalCount
  edges { node { body hidden } } } } } }
"""
SEARCH = """
query($q: String!) { searchForum(query: $q) { totalCount edges { node { title } } } }
"""
FEED = "{ feed(first: 10) { edges { node { __typename ... on Post { body } } } } }"
BOARD_ACTIVITY = "subscription($board: ID!) { boardActivity(boardId: $board) { body hidden } }"
REACT = "mutation($id: ID!) { react(postId: $id, kind: LIKE) { id } }"
REPORT = "mutation($id: ID!) { report(postId: $id, reason: \"广告\") { id } }"
REPLY = "mutation($id: ID!) { reply(threadId: $id, body: \"回复\") { id } }"


async def _hide(forum, kind: str, db_id: int) -> None:
    from forum.rules import ModerateData, ModerationTarget
    await rules.do_moderate(Viewer(forum.moderator), ModerateData(
        action=ModerationAction.HIDE, target=ModerationTarget(kind, db_id), reason="违规"))


async def _execute(query, variables=None, as_=None):
    from tests.helpers import execute
    return await execute(query, variables, as_=as_)


async def test_hidden_thread_through_every_read_path(db):
    # given
    forum = await make_forum()
    hidden = await open_thread(forum.member, forum.board, "防疫物资违规转卖", "违规内容")
    shown = await open_thread(forum.member, forum.board, "防疫物资发放通知", "正常内容")
    await write_reply(forum.stranger, hidden, "回复被隐藏的帖子")
    await _hide(forum, "Thread", hidden.id)
    thread_id, post_id = gid("Thread", hidden.id), gid("Post", (await opening_post(hidden)).id)
    for person in (None, forum.stranger, forum.member, forum.other_moderator):
        # when
        node = await _execute(NODE, {"id": thread_id}, as_=person)
        post = await _execute(NODE, {"id": post_id}, as_=person)
        board = await _execute(BOARD, as_=person)
        search = await _execute(SEARCH, {"q": "防疫物资"}, as_=person)
        posts = await _execute(POSTS, {"id": thread_id}, as_=person)
        # then
        assert node.ok()["node"] is None and post.ok()["node"] is None
        assert posts.ok()["node"] is None
        threads = board.ok()["board"]["threads"]
        assert [e["node"]["title"] for e in threads["edges"]] == ["防疫物资发放通知"]
        assert threads["totalCount"] == 1 and board.data["board"]["threadCount"] == 1
        assert [e["node"]["title"] for e in search.ok()["searchForum"]["edges"]] == [
            "防疫物资发放通知"]
    # and the author's feed no longer shows replies to it
    feed = await _execute(FEED, as_=forum.member)
    assert feed.ok()["feed"]["edges"] == []
    # and nobody but moderators can act on it
    for mutation in (REACT, REPORT):
        assert (await _execute(mutation, {"id": post_id}, as_=forum.stranger)).codes == [
            "NOT_FOUND"]
    assert (await _execute(REPLY, {"id": thread_id}, as_=forum.stranger)).codes == ["NOT_FOUND"]
    # while the board's moderator and admins still see it, marked hidden
    for person in (forum.moderator, forum.admin):
        assert (await _execute(NODE, {"id": thread_id}, as_=person)).ok()["node"]["hidden"] is True
        titles = [e["node"]["title"] for e in
                  (await _execute(BOARD, as_=person)).ok()["board"]["threads"]["edges"]]
        assert set(titles) == {"防疫物资违规转卖", "防疫物资发放通知"}
    assert shown.id != hidden.id


async def test_hidden_reply_through_every_read_path(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "社区防疫志愿服务", "招募")
    bad = await write_reply(forum.stranger, thread, "违规广告 加微信")
    await write_reply(forum.stranger, thread, "正常回复")
    await _hide(forum, "Post", bad.id)
    for person in (None, forum.stranger, forum.member, forum.other_moderator):
        # when
        node = await _execute(NODE, {"id": gid("Post", bad.id)}, as_=person)
        posts = await _execute(POSTS, {"id": gid("Thread", thread.id)}, as_=person)
        search = await _execute(SEARCH, {"q": "广告"}, as_=person)
        # then
        assert node.ok()["node"] is None
        listed = posts.ok()["node"]["posts"]
        assert [e["node"]["body"] for e in listed["edges"]] == ["招募", "正常回复"]
        assert listed["totalCount"] == 2
        assert search.ok()["searchForum"]["edges"] == []
    feed = (await _execute(FEED, as_=forum.member)).ok()["feed"]["edges"]
    assert [e["node"]["body"] for e in feed] == ["正常回复"]
    board = (await _execute(BOARD, as_=forum.stranger)).ok()["board"]["threads"]["edges"]
    assert board[0]["node"]["replyCount"] == 1
    moderator_view = (await _execute(POSTS, {"id": gid("Thread", thread.id)},
                                     as_=forum.moderator)).ok()["node"]["posts"]
    assert [e["node"]["hidden"] for e in moderator_view["edges"]] == [False, True, False]


async def test_board_activity_streams_only_visible_posts(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "直播测试")
    hidden_thread = await open_thread(forum.member, forum.board, "将被隐藏")
    await _hide(forum, "Thread", hidden_thread.id)
    board = gid("Board", forum.board.id)
    viewer_stream = await subscribe(BOARD_ACTIVITY, forum.stranger, {"board": board})
    moderator_stream = await subscribe(BOARD_ACTIVITY, forum.moderator, {"board": board})
    first = asyncio.ensure_future(next_event(viewer_stream))
    first_for_moderator = asyncio.ensure_future(next_event(moderator_stream))
    await wait_for_subscribers(channels.board(forum.board.id), 2)
    try:
        # when: a reply on the hidden thread (by its moderator), one on another board, one visible
        await _announce(forum.moderator, hidden_thread, "隐藏帖里的回复")
        other = await open_thread(forum.member, forum.other_board, "别的版块")
        await _announce(forum.member, other, "别的版块的回复")
        await _announce(forum.stranger, thread, "看得见的回复")
        # then
        assert (await first).data["boardActivity"] == {"body": "看得见的回复", "hidden": False}
        assert (await first_for_moderator).data["boardActivity"]["body"] == "隐藏帖里的回复"
        assert (await next_event(moderator_stream)).data["boardActivity"]["body"] == "看得见的回复"
    finally:
        await viewer_stream.aclose()
        await moderator_stream.aclose()


async def _announce(author, thread, body):
    post = await write_reply(author, thread, body)
    await rules.notify_new_post(thread.board_id, post.id)
    return post


async def test_board_activity_of_a_missing_board(db):
    # given
    stream = await subscribe(BOARD_ACTIVITY, None, {"board": gid("Board", 999)})
    # when
    result = await next_event(stream)
    # then
    assert result.errors and result.errors[0].extensions["code"] == "NOT_FOUND"
