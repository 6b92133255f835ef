from resolvers.demo import seed_demo
from tests.helpers import execute

BOARDS = "{ boards { slug name moderators { displayName } threadCount } }"
SEARCH = '{ searchForum(query: "防疫志愿服务") { edges { node { title replyCount } } } }'


async def test_demo_seeds_boards_threads_and_replies_in_chinese(db):
    # when
    assert await seed_demo() is True
    # then
    boards = (await execute(BOARDS)).ok()["boards"]
    assert {b["name"] for b in boards} == {"防疫志愿", "助老服务", "实习招聘", "二手交换", "生活交流"}
    assert all(b["moderators"] and b["threadCount"] >= 1 for b in boards)
    found = (await execute(SEARCH)).ok()["searchForum"]["edges"]
    assert "本周六社区防疫志愿服务招募" in [e["node"]["title"] for e in found]
