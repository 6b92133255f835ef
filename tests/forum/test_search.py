from tests.forum.common import gid, make_forum, open_thread, write_reply
from tests.helpers import execute

SEARCH = """
query($q: String!, $first: Int, $after: String, $board: ID) {
  searchForum(query: $q, first: $first, after: $after, boardId: $board) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { title } }
  }
}
"""


async def _titles(query: str, **variables) -> list[str]:
    result = await execute(SEARCH, {"q": query, **variables})
    return [e["node"]["title"] for e in result.ok()["searchForum"]["edges"]]


async def test_chinese_words_are_found_by_segmented_terms(db):
    # given
    forum = await make_forum()
    await open_thread(forum.member, forum.board, "社区防疫志愿服务总结",
                      "上周我们在朝阳区开展了核酸检测引导，老人们很配合。")
    await open_thread(forum.member, forum.other_board, "助老服务经验分享",
                      "陪伴独居老人聊天，帮他们学用智能手机。")
    # when / then
    assert await _titles("防疫") == ["社区防疫志愿服务总结"]
    assert await _titles("志愿服务") == ["社区防疫志愿服务总结"]
    assert await _titles("核酸检测") == ["社区防疫志愿服务总结"]
    assert await _titles("智能手机") == ["助老服务经验分享"]
    assert set(await _titles("老人")) == {"社区防疫志愿服务总结", "助老服务经验分享"}
    assert await _titles("防疫 手机") == []  # every word must match
    assert await _titles("编程") == []


async def test_replies_are_searched_too(db):
    # given
    forum = await make_forum()
    thread = await open_thread(forum.member, forum.board, "周末活动", "大家来报名")
    await write_reply(forum.stranger, thread, "我会带上急救包和体温计")
    # when / then
    assert await _titles("急救包") == ["周末活动"]


async def test_latin_text_is_case_insensitive(db):
    # given
    forum = await make_forum()
    await open_thread(forum.member, forum.board, "English Corner for Volunteers",
                      "Practice speaking English with foreign residents every Friday.")
    await open_thread(forum.member, forum.board, "Python 编程课", "教社区青少年写 Python 程序")
    # when / then
    assert await _titles("english") == ["English Corner for Volunteers"]
    assert await _titles("FOREIGN residents") == ["English Corner for Volunteers"]
    assert await _titles("python") == ["Python 编程课"]


async def test_title_matches_rank_first_and_pages_follow_the_ranking(db):
    # given
    forum = await make_forum()
    await open_thread(forum.member, forum.board, "周末集合", "请带好防疫用品")
    await open_thread(forum.member, forum.board, "防疫经验", "分享防疫心得")
    await open_thread(forum.member, forum.board, "其他话题", "这里也提到防疫")
    # when
    first = await execute(SEARCH, {"q": "防疫", "first": 1})
    page = first.ok()["searchForum"]
    rest = await _titles("防疫", first=5, after=page["pageInfo"]["endCursor"])
    # then
    assert [e["node"]["title"] for e in page["edges"]] == ["防疫经验"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    assert len(rest) == 2 and "防疫经验" not in rest


async def test_search_within_one_board(db):
    # given
    forum = await make_forum()
    await open_thread(forum.member, forum.board, "防疫志愿者招募")
    await open_thread(forum.member, forum.other_board, "助老防疫知识")
    # when / then
    assert await _titles("防疫", board=gid("Board", forum.other_board.id)) == ["助老防疫知识"]


async def test_search_text_cannot_inject_query_syntax(db):
    # given
    forum = await make_forum()
    await open_thread(forum.member, forum.board, "引号测试", 'he said "hello" OR NOT')
    # when / then
    for query in ['"hello', "hello OR", "NOT*", "a:b", "'); DROP TABLE forum_post; --"]:
        result = await execute(SEARCH, {"q": query})
        assert not result.errors, (query, result.errors)
    assert await _titles('"hello"') == ["引号测试"]


async def test_bad_search_input(db):
    # when
    empty = await execute(SEARCH, {"q": "  "})
    long = await execute(SEARCH, {"q": "长" * 101})
    cursor = await execute(SEARCH, {"q": "防疫", "after": "nonsense"})
    # then
    for result, field in ((empty, "query"), (long, "query"), (cursor, "after")):
        assert result.codes == ["BAD_USER_INPUT"]
        assert result.errors[0]["extensions"]["field"] == field


def test_the_segmenter_can_be_loaded_before_the_first_post(monkeypatch):
    # given a worker that has not segmented anything yet
    from forum import search

    monkeypatch.setattr(search, "_jieba", None)
    # when it starts with SEARCH_PRELOAD (server.py's lifespan calls preload)
    search.preload()
    loaded = search._jieba
    # then the segmenter is ready, and the first post uses that one
    assert loaded is not None
    assert "老人" in search.segment_document("社区老人们的午餐").split()
    assert search._jieba is loaded
