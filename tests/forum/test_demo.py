from forum.models import Post, Thread
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


async def test_demo_posts_are_dated_no_later_than_their_thread_s_last_post(db):
    # given: the board lists show a thread's last_post_at; its posts must not be newer
    assert await seed_demo() is True
    # then
    for thread in await Thread.all():
        posts = await Post.filter(thread_id=thread.id).order_by("id")
        assert posts and all(p.created_at <= thread.last_post_at for p in posts), thread.title
        assert posts[-1].created_at == thread.last_post_at and thread.created_at <= posts[0].created_at
