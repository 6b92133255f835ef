from datetime import UTC, datetime, timedelta
from typing import Any

from forum.models import ExperiencePost, Post
from models.activity import Activity, ActivityStatus
from models.helprequest import HelpRequest, HelpRequestStatus
from tests.forum.common import make_activity, make_forum, open_thread, write_reply
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

FEED = """
query($first: Int, $after: String) {
  feed(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      __typename
      ... on Activity { title team { name } }
      ... on ExperiencePost { title author { displayName } }
      ... on HelpRequest { title district }
      ... on Post { body author { displayName } thread { title } }
    } }
  }
}
"""
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _label(edge: dict) -> str:
    node = edge["node"]
    return f"{node['__typename']}:{node.get('title') or node.get('body')}"


async def _labels(person, first: int = 20, after: str | None = None) -> tuple[list[str], dict]:
    result = await execute(FEED, {"first": first, "after": after}, as_=person)
    feed = result.ok()["feed"]
    return [_label(e) for e in feed["edges"]], feed


async def _at(model, row, minutes: int) -> None:
    # activities are dated by publication, everything else by creation
    field = "published_at" if model.__name__ == "Activity" else "created_at"
    await model.filter(id=row.id).update(**{field: T0 + timedelta(minutes=minutes)})


async def _world():
    forum = await make_forum()
    me = forum.member  # 李明, 朝阳区
    leader = await make_volunteer("队长")
    my_team = await make_team(leader, "朝阳助老队")
    other_team = await make_team(leader, "海淀青年队", district="海淀区")
    await add_member(my_team, me)
    items: dict[str, Any] = {
        "activity": await make_activity(my_team, leader, title="重阳节敬老"),
        "draft": await make_activity(my_team, leader, title="草稿活动",
                                     status=ActivityStatus.DRAFT),
        "foreign": await make_activity(other_team, leader, title="别队活动"),
    }
    items["experience"] = await ExperiencePost.create(
        activity=items["activity"], team=my_team, author=leader, title="敬老心得", body="b")
    items["help"] = await HelpRequest.create(created_by=leader, title="帮老人买菜",
                                             description="d", district="朝阳区")
    items["far_help"] = await HelpRequest.create(created_by=leader, title="海淀求助",
                                                 description="d", district="海淀区")
    items["claimed"] = await HelpRequest.create(created_by=leader, title="已认领",
                                                description="d", district="朝阳区",
                                                status=HelpRequestStatus.CLAIMED)
    thread = await open_thread(me, forum.board, "我的帖子")
    items["reply"] = await write_reply(forum.stranger, thread, "别人的回复")
    items["own_reply"] = await write_reply(me, thread, "我自己的回复")
    others = await open_thread(forum.stranger, forum.board, "别人的帖子")
    items["reply_elsewhere"] = await write_reply(me, others, "我回复别人")
    return forum, me, items


async def test_feed_mixes_the_four_sources_newest_first(db):
    # given
    _, me, items = await _world()
    await _at(Activity, items["activity"], 1)
    await _at(HelpRequest, items["help"], 2)
    await _at(Post, items["reply"], 3)
    await _at(ExperiencePost, items["experience"], 4)
    # when
    labels, feed = await _labels(me)
    # then
    assert labels == ["ExperiencePost:敬老心得", "Post:别人的回复", "HelpRequest:帮老人买菜",
                      "Activity:重阳节敬老"]
    assert feed["totalCount"] == 4 and feed["pageInfo"]["hasNextPage"] is False


async def test_pages_are_stable_under_concurrent_inserts_and_equal_times(db):
    # given: all four at the same instant, plus a second reply
    forum, me, items = await _world()
    thread = await Post.get(id=items["reply"].id).prefetch_related("thread")
    second = await write_reply(forum.stranger, thread.thread, "第二条回复")
    for model, row in [(Activity, items["activity"]), (HelpRequest, items["help"]),
                       (Post, items["reply"]), (Post, second),
                       (ExperiencePost, items["experience"])]:
        await _at(model, row, 0)
    everything, _ = await _labels(me)
    # when: paging two at a time while new items arrive between pages
    seen: list[str] = []
    after = None
    for round_ in range(5):
        page, feed = await _labels(me, first=2, after=after)
        seen += page
        newest = f"新回复{round_}"
        await write_reply(forum.stranger, thread.thread, newest)
        if not feed["pageInfo"]["hasNextPage"]:
            break
        after = feed["pageInfo"]["endCursor"]
    # then: every item exactly once, in the original order; newer ones wait at the top
    assert seen == everything and len(seen) == 5
    assert (await _labels(me, first=1))[0] == [f"Post:{newest}"]


async def test_feed_statement_count_does_not_grow_with_items(db):
    # given
    _, me, items = await _world()
    with count_statements() as small:
        (await execute(FEED, {"first": 20}, as_=me)).ok()
    thread = (await Post.get(id=items["reply"].id).prefetch_related("thread")).thread
    for index in range(10):
        author = await make_volunteer(f"回复者{index}")
        await write_reply(author, thread, f"回复{index}")
    # when
    with count_statements() as large:
        result = await execute(FEED, {"first": 20}, as_=me)
    # then
    assert len(result.ok()["feed"]["edges"]) == 14
    assert len(large) == len(small), large


async def test_feed_statements_stay_constant_in_page_size(db):
    # given ten items of each of the four kinds, interleaved in time
    forum, me, items = await _world()
    thread = (await Post.get(id=items["reply"].id).prefetch_related("thread")).thread
    leader = await items["activity"].created_by
    team = await items["activity"].team
    for index in range(10):
        minutes = 4 * index
        await _at(Activity, await make_activity(team, leader, title=f"活动{index}"), minutes)
        await _at(HelpRequest, await HelpRequest.create(
            created_by=leader, title=f"求助{index}", description="d", district="朝阳区"),
            minutes + 1)
        await _at(Post, await write_reply(forum.stranger, thread, f"回复{index}"), minutes + 2)
        await _at(ExperiencePost, await ExperiencePost.create(
            activity=items["activity"], team=team, author=leader, title=f"心得{index}", body="b"),
            minutes + 3)
    counts = []
    for first in (4, 12, 30):
        # when a page of each size is read, with its count
        with count_statements() as statements:
            result = await execute(FEED, {"first": first}, as_=me)
        assert len(result.ok()["feed"]["edges"]) == first
        counts.append(len(statements))
    # then as many statements whatever the size: the page's keys, its rows of each of the
    # four kinds, the authors, teams and threads, and one for the five counts
    assert counts == [9, 9, 9], counts


async def test_feed_needs_a_signed_in_volunteer_and_a_valid_cursor(db):
    # given
    me = await make_volunteer("李明")
    # when
    anonymous = await execute(FEED, {"first": 5})
    bad_cursor = await execute(FEED, {"first": 5, "after": "abc"}, as_=me)
    too_many = await execute(FEED, {"first": 101}, as_=me)
    # then
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert bad_cursor.codes == ["BAD_USER_INPUT"] and too_many.codes == ["BAD_USER_INPUT"]
