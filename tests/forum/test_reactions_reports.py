from forum.models import Reaction, Report
from tests.forum.common import gid, make_forum, open_thread, write_reply
from tests.helpers import count_statements, execute

REACT = """
mutation($id: ID!, $kind: ReactionKind!) {
  react(postId: $id, kind: $kind) { reactions { kind count } myReactions }
}
"""
REPORT = """
mutation($id: ID!, $reason: String!) {
  report(postId: $id, reason: $reason) { id reason resolved reporter { displayName } post { body } }
}
"""
QUEUE = """
query($all: Boolean) {
  board(slug: "fangyi") { reports(first: 10, includeResolved: $all) { totalCount
    edges { node { reason resolved post { body } resolution { action } } } } }
}
"""
MODERATE = """
mutation($target: ID!, $action: ModerationAction!) {
  moderate(action: $action, targetId: $target, reason: "处理举报") { action post { hidden } }
}
"""
POSTS = """
query($id: ID!) { node(id: $id) { ... on Thread { posts(first: 20) {
  edges { node { body reactions { kind count } myReactions author { displayName } } } } } } }
"""


async def test_reacting_twice_with_the_same_kind_removes_it(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    reply = await write_reply(forum.stranger, thread)
    post = gid("Post", reply.id)
    # when
    liked = await execute(REACT, {"id": post, "kind": "LIKE"}, as_=forum.member)
    thanked = await execute(REACT, {"id": post, "kind": "THANKS"}, as_=forum.member)
    other = await execute(REACT, {"id": post, "kind": "LIKE"}, as_=forum.moderator)
    unliked = await execute(REACT, {"id": post, "kind": "LIKE"}, as_=forum.member)
    # then
    assert liked.ok()["react"] == {"reactions": [{"kind": "LIKE", "count": 1}],
                                   "myReactions": ["LIKE"]}
    assert thanked.ok()["react"]["myReactions"] == ["LIKE", "THANKS"]
    assert other.ok()["react"]["reactions"] == [{"kind": "LIKE", "count": 2},
                                                {"kind": "THANKS", "count": 1}]
    assert unliked.ok()["react"] == {"reactions": [{"kind": "LIKE", "count": 1},
                                                   {"kind": "THANKS", "count": 1}],
                                     "myReactions": ["THANKS"]}
    assert await Reaction.all().count() == 2


async def test_reactions_and_authors_load_without_n_plus_one(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    for index in range(8):
        reply = await write_reply(forum.stranger, thread, f"回复{index}")
        await Reaction.create(post=reply, volunteer=forum.member, kind="HUG")
    # when
    with count_statements() as statements:
        result = await execute(POSTS, {"id": gid("Thread", thread.id)}, as_=forum.member)
    # then: thread, moderator check, posts, authors, reaction counts, my reactions
    edges = result.ok()["node"]["posts"]["edges"]
    assert len(edges) == 9 and edges[1]["node"]["myReactions"] == ["HUG"]
    assert len(statements) == 6, statements


async def test_bad_reaction_input_writes_nothing(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    # when
    anonymous = await execute(REACT, {"id": gid("Thread", thread.id), "kind": "LIKE"})
    wrong_type = await execute(REACT, {"id": gid("Thread", thread.id), "kind": "LIKE"},
                               as_=forum.member)
    missing = await execute(REACT, {"id": gid("Post", 999), "kind": "LIKE"}, as_=forum.member)
    bad_kind = await execute(REACT, {"id": gid("Post", 1), "kind": "LOVE"}, as_=forum.member)
    # then
    assert wrong_type.codes == ["BAD_USER_INPUT"] and missing.codes == ["NOT_FOUND"]
    assert bad_kind.codes == ["BAD_USER_INPUT"]
    assert anonymous.codes in (["UNAUTHENTICATED"], ["BAD_USER_INPUT"])
    assert await Reaction.all().count() == 0


async def test_reports_queue_and_resolution_by_a_moderation_action(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    spam = await write_reply(forum.stranger, thread, "加微信领红包")
    first = await execute(REPORT, {"id": gid("Post", spam.id), "reason": "广告"}, as_=forum.member)
    again = await execute(REPORT, {"id": gid("Post", spam.id), "reason": "还是广告"},
                          as_=forum.member)
    # then: one open report per reporter and post
    assert first.ok()["report"]["id"] == again.ok()["report"]["id"]
    queue = (await execute(QUEUE, as_=forum.moderator)).ok()["board"]["reports"]
    assert queue["totalCount"] == 1
    assert queue["edges"][0]["node"] == {"reason": "广告", "resolved": False,
                                         "post": {"body": "加微信领红包"}, "resolution": None}
    # when: the moderator hides the reported post through the report
    hidden = await execute(MODERATE, {"target": first.data["report"]["id"], "action": "HIDE"},
                           as_=forum.moderator)
    # then
    assert hidden.ok()["moderate"] == {"action": "HIDE", "post": {"hidden": True}}
    assert (await execute(QUEUE, as_=forum.moderator)).ok()["board"]["reports"]["edges"] == []
    resolved = (await execute(QUEUE, {"all": True}, as_=forum.moderator)).ok()
    assert resolved["board"]["reports"]["edges"][0]["node"]["resolution"] == {"action": "HIDE"}


async def test_report_queue_is_for_that_boards_moderators_only(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    await execute(REPORT, {"id": gid("Post", (await write_reply(forum.stranger, thread)).id),
                           "reason": "r"}, as_=forum.member)
    report = await Report.get()
    for person, code in [(None, "UNAUTHENTICATED"), (forum.member, "FORBIDDEN"),
                         (forum.other_moderator, "FORBIDDEN")]:
        # when
        queue = await execute(QUEUE, as_=person)
        node = await execute("query($id: ID!) { node(id: $id) { id } }",
                             {"id": gid("Report", report.id)}, as_=person)
        acted = await execute(MODERATE, {"target": gid("Report", report.id), "action": "HIDE"},
                              as_=person)
        # then
        assert queue.codes == [code] and node.ok()["node"] is None
        assert acted.codes == (["NOT_FOUND"] if person else ["UNAUTHENTICATED"])
    assert (await Report.get()).resolved is False
    assert (await execute(QUEUE, as_=forum.admin)).ok()["board"]["reports"]["totalCount"] == 1


async def test_bad_report_input_writes_nothing(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    post = await write_reply(forum.stranger, thread)
    # when
    empty = await execute(REPORT, {"id": gid("Post", post.id), "reason": " "}, as_=forum.member)
    long = await execute(REPORT, {"id": gid("Post", post.id), "reason": "r" * 501},
                         as_=forum.member)
    anonymous = await execute(REPORT, {"id": gid("Post", post.id), "reason": "r"})
    # then
    assert empty.codes == ["BAD_USER_INPUT"] and long.codes == ["BAD_USER_INPUT"]
    assert empty.errors[0]["extensions"]["field"] == "reason"
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert await Report.all().count() == 0
