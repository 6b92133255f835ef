from forum.models import Thread
from models.draft import Draft
from tests.forum.common import gid, make_forum
from tests.helpers import execute, make_volunteer

SAVE = "mutation($key: String!, $body: String!) { saveDraft(key: $key, body: $body) }"
READ = "query($key: String!) { draft(key: $key) }"
CREATE_THREAD = """
mutation($board: ID!, $key: String) {
  createThread(boardId: $board, title: "标题", body: "正文", draftKey: $key) { id }
}
"""


async def test_drafts_survive_and_stay_private(db):
    # given
    me = await make_volunteer("李明")
    other = await make_volunteer("王芳")
    # when
    (await execute(SAVE, {"key": "thread:new", "body": "写了一半的帖子"}, as_=me)).ok()
    (await execute(SAVE, {"key": "thread:new", "body": "写了一大半的帖子"}, as_=me)).ok()
    # then: a later request (a new session) reads it back; nobody else sees it
    assert (await execute(READ, {"key": "thread:new"}, as_=me)).ok()["draft"] == "写了一大半的帖子"
    assert (await execute(READ, {"key": "thread:new"}, as_=other)).ok()["draft"] is None
    assert (await execute(READ, {"key": "thread:new"})).codes == ["UNAUTHENTICATED"]
    assert (await execute(SAVE, {"key": "thread:new", "body": "x"})).codes == ["UNAUTHENTICATED"]
    assert await Draft.all().count() == 1


async def test_empty_body_deletes_and_publishing_discards_the_draft(db):
    # given
    forum = await make_forum()
    me = forum.member
    await execute(SAVE, {"key": "a", "body": "一"}, as_=me)
    await execute(SAVE, {"key": "thread:fangyi", "body": "草稿"}, as_=me)
    # when
    (await execute(SAVE, {"key": "a", "body": ""}, as_=me)).ok()
    (await execute(CREATE_THREAD, {"board": gid("Board", forum.board.id),
                                   "key": "thread:fangyi"}, as_=me)).ok()
    # then
    assert (await execute(READ, {"key": "a"}, as_=me)).ok()["draft"] is None
    assert (await execute(READ, {"key": "thread:fangyi"}, as_=me)).ok()["draft"] is None
    assert await Thread.all().count() == 1


async def test_bad_draft_input_is_refused_and_writes_nothing(db):
    # given
    me = await make_volunteer("李明")
    cases = [({"key": "", "body": "b"}, "key"), ({"key": "k" * 101, "body": "b"}, "key"),
             ({"key": "空 格", "body": "b"}, "key"), ({"key": "k", "body": "长" * 50_001}, "body")]
    for variables, field in cases:
        # when
        result = await execute(SAVE, variables, as_=me)
        # then
        assert result.codes == ["BAD_USER_INPUT"], variables
        assert result.errors[0]["extensions"]["field"] == field
    assert await Draft.all().count() == 0


async def test_drafts_per_user_are_capped(db):
    # given
    me = await make_volunteer("李明")
    await Draft.bulk_create([Draft(volunteer=me, key=f"k{i}", body="b") for i in range(100)])
    # when
    refused = await execute(SAVE, {"key": "one-more", "body": "b"}, as_=me)
    overwrite = await execute(SAVE, {"key": "k5", "body": "新内容"}, as_=me)
    # then
    assert refused.codes == ["CONFLICT"]
    assert overwrite.ok()["saveDraft"] is True
    assert await Draft.filter(volunteer_id=me.id).count() == 100
