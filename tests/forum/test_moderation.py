from datetime import UTC, datetime, timedelta

import pytest

from forum.models import BoardSuspension, ModerationLog, Post, Report, Thread
from tests.forum.common import gid, make_forum, open_thread, opening_post, write_reply
from tests.helpers import execute, make_volunteer

MODERATE = """
mutation($action: ModerationAction!, $target: ID!, $reason: String!, $to: ID, $until: DateTime,
         $board: ID) {
  moderate(action: $action, targetId: $target, reason: $reason, toBoardId: $to, until: $until,
           boardId: $board) {
    action reason actor { displayName } board { slug } until
  }
}
"""
REPLY = "mutation($thread: ID!, $body: String!) { reply(threadId: $thread, body: $body) { body } }"
CREATE_THREAD = """
mutation($board: ID!) { createThread(boardId: $board, title: "新帖", body: "正文") { id } }
"""
THREAD = "query($id: ID!) { node(id: $id) { ... on Thread { pinned locked hidden board { slug } } } }"
LOG = """
query($slug: String!) {
  board(slug: $slug) { moderationLog(first: 20) { edges { node { action reason actor { displayName }
    thread { title } targetVolunteer { displayName } toBoard { slug } } } } }
}
"""

ACTIONS = ["PIN", "UNPIN", "LOCK", "UNLOCK", "HIDE", "RESTORE", "MOVE", "SUSPEND_USER"]


def _variables(action: str, target: str, forum) -> dict:
    variables = {"action": action, "target": target, "reason": "违反版规"}
    if action == "MOVE":
        variables["to"] = gid("Board", forum.other_board.id)
    if action == "SUSPEND_USER":
        variables["until"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    return variables


async def _snapshot(thread_id: int) -> tuple:
    thread = await Thread.get(id=thread_id)
    posts = await Post.filter(thread_id=thread_id).order_by("id").values_list("hidden", flat=True)
    return (thread.board_id, thread.pinned, thread.locked, thread.hidden, tuple(posts),
            await BoardSuspension.all().count(), await ModerationLog.all().count())


@pytest.mark.parametrize("action", ACTIONS)
async def test_moderators_of_the_board_can_act(db, action):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    reply = await write_reply(forum.stranger, thread)
    target = gid("Post", reply.id) if action in ("HIDE", "RESTORE", "SUSPEND_USER") else \
        gid("Thread", thread.id)
    # when
    result = await execute(MODERATE, _variables(action, target, forum), as_=forum.moderator)
    # then
    entry = result.ok()["moderate"]
    assert entry["action"] == action and entry["actor"] == {"displayName": "版主甲"}
    assert entry["board"] == {"slug": "fangyi"} and entry["reason"] == "违反版规"
    assert await ModerationLog.filter(action=action, actor_id=forum.moderator.id).count() == 1


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["member", "author", "other_moderator", "anonymous"])
async def test_nobody_else_can_act_and_nothing_changes(db, action, who):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    reply = await write_reply(forum.stranger, thread)
    person = {"member": forum.stranger, "author": forum.member,
              "other_moderator": forum.other_moderator, "anonymous": None}[who]
    target = gid("Post", reply.id) if action in ("HIDE", "RESTORE") else gid("Thread", thread.id)
    before = await _snapshot(thread.id)
    # when
    result = await execute(MODERATE, _variables(action, target, forum), as_=person)
    # then
    assert result.codes == ["UNAUTHENTICATED" if person is None else "FORBIDDEN"]
    assert await _snapshot(thread.id) == before


async def test_platform_admin_moderates_every_board(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.other_board)
    # when
    result = await execute(MODERATE, _variables("PIN", gid("Thread", thread.id), forum),
                           as_=forum.admin)
    # then
    result.ok()
    assert (await Thread.get(id=thread.id)).pinned is True


async def test_pin_lock_and_move_change_the_thread(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    target = gid("Thread", thread.id)
    # when
    for action in ("PIN", "LOCK", "MOVE"):
        (await execute(MODERATE, _variables(action, target, forum), as_=forum.moderator)).ok()
    # then
    shown = (await execute(THREAD, {"id": target})).ok()["node"]
    assert shown == {"pinned": True, "locked": True, "hidden": False, "board": {"slug": "zhulao"}}
    # and the old board's moderator no longer moderates it; the new board's does
    again = await execute(MODERATE, _variables("UNPIN", target, forum), as_=forum.moderator)
    assert again.codes == ["FORBIDDEN"]
    (await execute(MODERATE, _variables("UNPIN", target, forum), as_=forum.other_moderator)).ok()
    log = (await execute(LOG, {"slug": "fangyi"}, as_=forum.moderator)).ok()
    actions = [e["node"]["action"] for e in log["board"]["moderationLog"]["edges"]]
    assert actions == ["MOVE", "LOCK", "PIN"]
    assert log["board"]["moderationLog"]["edges"][0]["node"]["toBoard"] == {"slug": "zhulao"}


async def test_locked_thread_refuses_replies_until_unlocked(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    target = gid("Thread", thread.id)
    (await execute(MODERATE, _variables("LOCK", target, forum), as_=forum.moderator)).ok()
    # when
    refused = await execute(REPLY, {"thread": target, "body": "还能回复吗"}, as_=forum.stranger)
    # then
    assert refused.codes == ["FORBIDDEN"]
    assert await Post.filter(thread_id=thread.id).count() == 1
    # when unlocked
    (await execute(MODERATE, _variables("UNLOCK", target, forum), as_=forum.moderator)).ok()
    accepted = await execute(REPLY, {"thread": target, "body": "可以了"}, as_=forum.stranger)
    # then
    accepted.ok()
    assert (await Thread.get(id=thread.id)).reply_count == 1


async def test_suspended_user_cannot_post_on_that_board_until_the_end(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    reply = await write_reply(forum.stranger, thread, "广告")
    (await execute(MODERATE, _variables("SUSPEND_USER", gid("Post", reply.id), forum),
                   as_=forum.moderator)).ok()
    # when
    new_thread = await execute(CREATE_THREAD, {"board": gid("Board", forum.board.id)},
                               as_=forum.stranger)
    new_reply = await execute(REPLY, {"thread": gid("Thread", thread.id), "body": "再来"},
                              as_=forum.stranger)
    elsewhere = await execute(CREATE_THREAD, {"board": gid("Board", forum.other_board.id)},
                              as_=forum.stranger)
    # then
    assert new_thread.codes == ["FORBIDDEN"] and new_reply.codes == ["FORBIDDEN"]
    elsewhere.ok()
    assert await Post.filter(author_id=forum.stranger.id).count() == 2
    # when the suspension has ended
    await BoardSuspension.all().update(until=datetime.now(UTC) - timedelta(seconds=1))
    (await execute(REPLY, {"thread": gid("Thread", thread.id), "body": "回来了"},
                   as_=forum.stranger)).ok()


async def test_suspending_a_volunteer_directly_needs_the_board(db):
    # given
    forum = await make_forum()
    target = gid("Volunteer", forum.stranger.id)
    variables = _variables("SUSPEND_USER", target, forum)
    # when
    missing_board = await execute(MODERATE, variables, as_=forum.moderator)
    other_board = await execute(MODERATE, {**variables, "board": gid("Board", forum.other_board.id)},
                                as_=forum.moderator)
    own_board = await execute(MODERATE, {**variables, "board": gid("Board", forum.board.id)},
                              as_=forum.moderator)
    # then
    assert missing_board.codes == ["BAD_USER_INPUT"]
    assert missing_board.errors[0]["extensions"]["field"] == "boardId"
    assert other_board.codes == ["FORBIDDEN"]
    assert own_board.ok()["moderate"]["until"] is not None
    assert await BoardSuspension.filter(volunteer_id=forum.stranger.id).count() == 1


async def test_moderators_cannot_suspend_each_other_or_themselves(db):
    # given
    forum = await make_forum()
    colleague = await make_volunteer("版主丙")
    from forum import rules
    from resolvers.auth import Viewer
    await rules.do_assign_moderator(Viewer(forum.admin), forum.board.id, colleague.id)
    board = gid("Board", forum.board.id)
    # when
    on_colleague = await execute(MODERATE, {**_variables(
        "SUSPEND_USER", gid("Volunteer", colleague.id), forum), "board": board},
        as_=forum.moderator)
    on_self = await execute(MODERATE, {**_variables(
        "SUSPEND_USER", gid("Volunteer", forum.moderator.id), forum), "board": board},
        as_=forum.moderator)
    # then
    assert on_colleague.codes == ["FORBIDDEN"] and on_self.codes == ["BAD_USER_INPUT"]
    assert await BoardSuspension.all().count() == 0


async def test_bad_moderation_input_is_refused_and_writes_nothing(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    target = gid("Thread", thread.id)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        ({"action": "PIN", "target": target, "reason": " "}, "reason"),
        ({"action": "PIN", "target": target, "reason": "r" * 501}, "reason"),
        ({"action": "MOVE", "target": target, "reason": "r"}, "toBoardId"),
        ({"action": "MOVE", "target": target, "reason": "r", "to": gid("Board", forum.board.id)},
         "toBoardId"),
        ({"action": "SUSPEND_USER", "target": target, "reason": "r"}, "until"),
        ({"action": "SUSPEND_USER", "target": target, "reason": "r", "until": past}, "until"),
        ({"action": "PIN", "target": gid("Board", forum.board.id), "reason": "r"}, "targetId"),
        ({"action": "PIN", "target": "garbage", "reason": "r"}, "targetId"),
        ({"action": "PIN", "target": gid("Volunteer", forum.member.id), "reason": "r"},
         "targetId"),
    ]
    before = await _snapshot(thread.id)
    for variables, field in cases:
        # when
        result = await execute(MODERATE, variables, as_=forum.moderator)
        # then
        assert result.codes == ["BAD_USER_INPUT"], variables
        assert result.errors[0]["extensions"]["field"] == field, variables
    missing = await execute(MODERATE, {"action": "PIN", "target": gid("Thread", 999),
                                       "reason": "r"}, as_=forum.moderator)
    assert missing.codes == ["NOT_FOUND"]
    assert await _snapshot(thread.id) == before


async def test_moderation_log_is_for_moderators_only(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    (await execute(MODERATE, _variables("PIN", gid("Thread", thread.id), forum),
                   as_=forum.moderator)).ok()
    entry = await ModerationLog.get()
    # when
    for person in (None, forum.member, forum.other_moderator):
        listed = await execute(LOG, {"slug": "fangyi"}, as_=person)
        node = await execute("query($id: ID!) { node(id: $id) { id } }",
                             {"id": gid("ModerationLog", entry.id)}, as_=person)
        # then
        assert listed.codes == (["FORBIDDEN"] if person else ["UNAUTHENTICATED"])
        assert node.ok()["node"] is None
    shown = (await execute(LOG, {"slug": "fangyi"}, as_=forum.admin)).ok()
    assert shown["board"]["moderationLog"]["edges"][0]["node"]["thread"] == {
        "title": "社区防疫志愿服务招募"}


async def test_hiding_and_restoring_a_reply_keeps_reply_count_exact(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    reply = await write_reply(forum.stranger, thread)
    await write_reply(forum.stranger, thread, "第二条")
    target = gid("Post", reply.id)
    # when: hidden twice, restored once
    for action in ("HIDE", "HIDE"):
        (await execute(MODERATE, _variables(action, target, forum), as_=forum.moderator)).ok()
    assert (await Thread.get(id=thread.id)).reply_count == 1
    (await execute(MODERATE, _variables("RESTORE", target, forum), as_=forum.moderator)).ok()
    # then
    assert (await Thread.get(id=thread.id)).reply_count == 2


async def test_hiding_the_opening_post_hides_the_thread(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    opening = await opening_post(thread)
    # when
    (await execute(MODERATE, _variables("HIDE", gid("Post", opening.id), forum),
                   as_=forum.moderator)).ok()
    # then
    assert (await Thread.get(id=thread.id)).hidden is True
    assert await Report.all().count() == 0
