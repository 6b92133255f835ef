from datetime import timedelta

from forum.models import Board, BoardModerator, Post, Thread
from tests.forum.common import gid, make_board, make_forum, open_thread, write_reply
from tests.helpers import count_statements, execute, make_volunteer

CREATE_BOARD = """
mutation($input: BoardInput!) { createBoard(input: $input) { id slug name category } }
"""
ASSIGN = """
mutation($board: ID!, $person: ID!) {
  assignModerator(boardId: $board, volunteerId: $person) { moderators { displayName } }
}
"""
BOARDS = "{ boards { slug name category threadCount moderators { displayName } } }"
BOARD_THREADS = """
query($slug: String!, $after: String) {
  board(slug: $slug) {
    threads(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { title pinned replyCount lastPostAt author { displayName } } }
    }
  }
}
"""
BENCH_QUERY = """
query($slug: String!) {
  board(slug: $slug) { threads(first: 50) { edges { node { author { displayName } replyCount } } } }
}
"""
CREATE_THREAD = """
mutation($board: ID!, $title: String!, $body: String!) {
  createThread(boardId: $board, title: $title, body: $body) {
    id title replyCount author { displayName } board { slug }
    posts(first: 5) { edges { node { body isOpening } } }
  }
}
"""
REPLY = """
mutation($thread: ID!, $body: String!) {
  reply(threadId: $thread, body: $body) { body author { displayName } thread { replyCount } }
}
"""
THREAD = """
query($id: ID!) {
  node(id: $id) {
    ... on Thread { title replyCount lastPostAt createdAt
      posts(first: 10) { totalCount edges { node { body isOpening author { displayName } } } } }
  }
}
"""


async def test_platform_admin_creates_boards_and_assigns_moderators(db):
    # given
    admin = await make_volunteer("平台管理员", platform_admin=True)
    moderator = await make_volunteer("版主甲")
    # when
    created = await execute(CREATE_BOARD, {"input": {
        "slug": "ershou", "name": "二手交换", "category": "二手", "description": "闲置互换"}},
        as_=admin)
    board_id = created.ok()["createBoard"]["id"]
    assigned = await execute(ASSIGN, {"board": board_id, "person": gid("Volunteer", moderator.id)},
                             as_=admin)
    again = await execute(ASSIGN, {"board": board_id, "person": gid("Volunteer", moderator.id)},
                          as_=admin)
    # then
    assert created.data["createBoard"]["slug"] == "ershou"
    assert assigned.ok()["assignModerator"]["moderators"] == [{"displayName": "版主甲"}]
    assert again.ok()["assignModerator"]["moderators"] == [{"displayName": "版主甲"}]
    listed = (await execute(BOARDS)).ok()["boards"]
    assert listed == [{"slug": "ershou", "name": "二手交换", "category": "二手", "threadCount": 0,
                       "moderators": [{"displayName": "版主甲"}]}]


async def test_only_platform_admins_create_boards_or_assign(db):
    # given
    forum = await make_forum()
    new_board = {"input": {"slug": "shixi", "name": "实习招聘", "category": "实习"}}
    assign = {"board": gid("Board", forum.board.id), "person": gid("Volunteer", forum.member.id)}
    # when / then
    for person, code in [(None, "UNAUTHENTICATED"), (forum.member, "FORBIDDEN"),
                         (forum.moderator, "FORBIDDEN")]:
        assert (await execute(CREATE_BOARD, new_board, as_=person)).codes == [code]
        assert (await execute(ASSIGN, assign, as_=person)).codes == [code]
    assert await Board.filter(slug="shixi").count() == 0
    assert await BoardModerator.filter(volunteer_id=forum.member.id).count() == 0


async def test_bad_board_input_is_refused_and_writes_nothing(db):
    # given
    admin = await make_volunteer("平台管理员", platform_admin=True)
    await make_board(admin, "fangyi", "防疫志愿")
    cases = [
        ({"slug": "Bad Slug!", "name": "x", "category": "c"}, "BAD_USER_INPUT", "slug"),
        ({"slug": "ok-slug", "name": " ", "category": "c"}, "BAD_USER_INPUT", "name"),
        ({"slug": "ok-slug", "name": "n", "category": "c" * 51}, "BAD_USER_INPUT",
         "category"),
        ({"slug": "fangyi", "name": "重复", "category": "c"}, "CONFLICT", "slug"),
    ]
    for data, code, field in cases:
        # when
        result = await execute(CREATE_BOARD, {"input": data}, as_=admin)
        # then
        assert result.codes == [code], data
        assert result.errors[0]["extensions"]["field"] == field
    assert await Board.all().count() == 1


async def test_threads_and_replies(db):
    # given
    forum = await make_forum()
    # when
    created = await execute(CREATE_THREAD, {"board": gid("Board", forum.board.id),
                                            "title": "周末核酸检测引导", "body": "需要十名志愿者"},
                            as_=forum.member)
    thread_id = created.ok()["createThread"]["id"]
    replied = await execute(REPLY, {"thread": thread_id, "body": "我可以参加"}, as_=forum.stranger)
    # then
    assert created.data["createThread"] == {
        "id": thread_id, "title": "周末核酸检测引导", "replyCount": 0,
        "author": {"displayName": "李明"}, "board": {"slug": "fangyi"},
        "posts": {"edges": [{"node": {"body": "需要十名志愿者", "isOpening": True}}]}}
    assert replied.ok()["reply"] == {"body": "我可以参加", "author": {"displayName": "王芳"},
                                     "thread": {"replyCount": 1}}
    shown = (await execute(THREAD, {"id": thread_id})).ok()["node"]
    assert shown["replyCount"] == 1
    assert shown["lastPostAt"] > shown["createdAt"]
    assert [e["node"]["body"] for e in shown["posts"]["edges"]] == ["需要十名志愿者", "我可以参加"]
    assert shown["posts"]["totalCount"] == 2


async def test_board_lists_pinned_first_then_latest_activity(db):
    # given
    forum = await make_forum()
    old = await open_thread(forum.member, forum.board, "旧帖")
    middle = await open_thread(forum.member, forum.board, "中间帖")
    newest = await open_thread(forum.member, forum.board, "新帖")
    await write_reply(forum.stranger, old)  # old now has the latest activity
    await Thread.filter(id=middle.id).update(pinned=True)
    # when
    first = (await execute(BOARD_THREADS, {"slug": "fangyi"})).ok()["board"]["threads"]
    cursor = first["pageInfo"]["endCursor"]
    second = (await execute(BOARD_THREADS, {"slug": "fangyi", "after": cursor})).ok()
    # then
    titles = [e["node"]["title"] for e in first["edges"]]
    titles += [e["node"]["title"] for e in second["board"]["threads"]["edges"]]
    assert titles == ["中间帖", "旧帖", "新帖"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    assert second["board"]["threads"]["pageInfo"]["hasNextPage"] is False
    assert newest.id > old.id


async def test_board_threads_query_is_three_statements(db):
    # given
    forum = await make_forum()
    for index in range(12):
        author = await make_volunteer(f"作者{index}")
        thread = await open_thread(author, forum.board, f"帖子{index}")
        await write_reply(forum.member, thread)
    # when
    with count_statements() as statements:
        result = await execute(BENCH_QUERY, {"slug": "fangyi"}, as_=forum.member)
    # then: board, its threads, their authors
    edges = result.ok()["board"]["threads"]["edges"]
    assert len(edges) == 12 and all(e["node"]["replyCount"] == 1 for e in edges)
    assert len(statements) == 4, statements  # + the viewer's moderator check


async def test_bad_thread_input_is_refused_and_writes_nothing(db):
    # given
    forum = await make_forum()
    board = gid("Board", forum.board.id)
    cases = [
        ({"board": board, "title": "", "body": "正文"}, "BAD_USER_INPUT", "title"),
        ({"board": board, "title": "标" * 201, "body": "正文"}, "BAD_USER_INPUT", "title"),
        ({"board": board, "title": "标题", "body": "  "}, "BAD_USER_INPUT", "body"),
        ({"board": board, "title": "标题", "body": "长" * 10_001}, "BAD_USER_INPUT", "body"),
        ({"board": "not-an-id", "title": "标题", "body": "正文"}, "BAD_USER_INPUT", "boardId"),
        ({"board": gid("Thread", 1), "title": "标题", "body": "正文"}, "BAD_USER_INPUT",
         "boardId"),
    ]
    for variables, code, field in cases:
        # when
        result = await execute(CREATE_THREAD, variables, as_=forum.member)
        # then
        assert result.codes == [code], variables
        assert result.errors[0]["extensions"]["field"] == field
    missing = await execute(CREATE_THREAD, {"board": gid("Board", 999), "title": "t", "body": "b"},
                            as_=forum.member)
    anonymous = await execute(CREATE_THREAD, {"board": board, "title": "t", "body": "b"})
    assert missing.codes == ["NOT_FOUND"] and anonymous.codes == ["UNAUTHENTICATED"]
    assert await Thread.all().count() == 0 and await Post.all().count() == 0


async def test_bad_reply_input_is_refused_and_writes_nothing(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    # when
    empty = await execute(REPLY, {"thread": gid("Thread", thread.id), "body": ""},
                          as_=forum.stranger)
    missing = await execute(REPLY, {"thread": gid("Thread", 999), "body": "b"}, as_=forum.stranger)
    anonymous = await execute(REPLY, {"thread": gid("Thread", thread.id), "body": "b"})
    # then
    assert empty.codes == ["BAD_USER_INPUT"] and empty.errors[0]["extensions"]["field"] == "body"
    assert missing.codes == ["NOT_FOUND"] and anonymous.codes == ["UNAUTHENTICATED"]
    assert await Post.all().count() == 1
    assert (await Thread.get(id=thread.id)).reply_count == 0


async def test_posting_is_rate_limited_per_user(db):
    # given: the default limit is 10 posts a minute
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    variables = {"thread": gid("Thread", thread.id), "body": "刷屏"}
    for _ in range(10):
        (await execute(REPLY, variables, as_=forum.stranger)).ok()
    # when
    refused = await execute(REPLY, variables, as_=forum.stranger)
    other = await execute(REPLY, variables, as_=forum.moderator)
    # then
    assert refused.codes == ["RATE_LIMITED"]
    assert 1 <= refused.errors[0]["extensions"]["retryAfter"] <= 61
    other.ok()
    assert await Post.filter(author_id=forum.stranger.id).count() == 10


async def test_last_post_at_follows_replies(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board)
    before = (await Thread.get(id=thread.id)).last_post_at
    # when
    await write_reply(forum.stranger, thread)
    # then
    after = (await Thread.get(id=thread.id)).last_post_at
    assert after >= before and after - before < timedelta(seconds=5)
