"""`feed` compiled: the five sources' page in one statement, the general path's answer."""

from __future__ import annotations

import json

from forum.models import ExperiencePost, Post
from models.activity import Activity
from models.helprequest import HelpRequest
from models.honour import Announcement, AnnouncementStatus
from tests.feed.test_feed import _at, _world
from tests.forum.common import make_activity, write_reply
from tests.helpers import count_statements
from tests.reads.paths import answer, both, canonical

FEED = """
query($first: Int, $after: String) {
  feed(first: $first, after: $after) {
    totalCount __typename
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      __typename
      ... on Activity { id title startsAt remaining team { name viewerIsAdmin } }
      ... on ExperiencePost { id title body photoUrls createdAt author { displayName } }
      ... on HelpRequest { id title district skills urgency latitude author { displayName } }
      ... on Post { id body hidden isOpening author { displayName } thread { title locked } }
      ... on Announcement { id title pinned attachments publishedAt from: team { name } }
    } }
  }
}
"""


async def _many():
    forum, me, items = await _world()
    thread = (await Post.get(id=items["reply"].id).prefetch_related("thread")).thread
    leader = await items["activity"].created_by
    team = await items["activity"].team
    for index in range(4):
        minutes = 5 * index
        await _at(Activity, await make_activity(team, leader, title=f"活动{index}"), minutes)
        await _at(HelpRequest, await HelpRequest.create(
            created_by=leader, title=f"求助{index}", description="d", district="朝阳区",
            skills="急救,法律"), minutes + 1)
        await _at(Post, await write_reply(forum.stranger, thread, f"回复{index}"), minutes)
        await _at(ExperiencePost, await ExperiencePost.create(
            activity=items["activity"], team=team, author=leader, title=f"心得{index}",
            body="b", photo_urls=["https://example.org/a.jpg"]), minutes + 3)
        await Announcement.create(team=team if index % 2 else None, author=leader,
                                  title=f"通知{index}", body="b", status=AnnouncementStatus.PUBLISHED,
                                  attachments=["https://example.org/x.pdf"] if index else [])
    return me, leader


async def test_feed_is_compiled_and_answers_as_the_general_path(db):
    # given items of the five kinds, some at equal times
    me, leader = await _many()
    for viewer in (me, leader):
        # when the feed is read page by page through both paths
        after, seen = None, 0
        for _ in range(12):
            fast, slow, answered = await both(FEED, {"first": 3, "after": after}, viewer)
            # then the same answer, from SQL on PostgreSQL
            assert canonical(fast) == canonical(slow), (fast, slow)
            assert answered == (1 if db.postgres else 0)
            page = json.loads(fast)["data"]["feed"]
            seen += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == page["totalCount"] > 10


async def test_feed_errors_and_statements(db):
    # given the items
    me, _ = await _many()
    # when anonymous, with a bad cursor and with zero items asked for
    for variables, viewer in (({"first": 3}, None), ({"first": 3, "after": "x"}, me),
                              ({"first": 0}, me), ({"first": 1000}, me)):
        fast, slow, _ = await both(FEED, variables, viewer)
        # then the general path's answer and errors
        assert canonical(fast) == canonical(slow)
    counts = []
    for first in (2, 8, 20):
        with count_statements() as statements:
            await answer(FEED, {"first": first}, me, compiled=True)
        counts.append(len(statements))
    # and one statement per page on PostgreSQL (plus the viewer's administered teams)
    if db.postgres:
        assert counts[0] == counts[1] == counts[2] <= 3, counts
