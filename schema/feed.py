"""The personal feed: `FeedItem` union and the `feed` query (rules in forum/feed.py)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from forum import feed as rules
from forum.schema import ExperiencePost, Post
from schema.activity import Activity
from schema.context import Info
from schema.helprequest import HelpRequest
from schema.honour import Announcement
from schema.relay import Connection, Edge, PageInfo, check_first

FeedItem = Annotated[
    Activity | Announcement | ExperiencePost | HelpRequest | Post,
    strawberry.union("FeedItem", description="One entry of the personal feed."),
]

_CONVERT: dict[str, Any] = {
    "Activity": Activity.from_model,
    "Announcement": Announcement.from_model,
    "ExperiencePost": ExperiencePost.from_model,
    "HelpRequest": HelpRequest.from_model,
    "Post": Post.from_model,
}


@strawberry.type
class FeedQuery:
    @strawberry.field(description="Your timeline, newest first: new activities of your teams, "
                                  "their experience posts, open help requests in your district, "
                                  "replies to your threads and announcements of the platform "
                                  "and your teams.")
    async def feed(self, info: Info, first: int | None = None,
                   after: str | None = None) -> Connection[FeedItem]:
        viewer = info.context.viewer
        size = check_first(first)
        entries, has_next = await rules.feed_page(viewer, size, after)
        edges = [Edge(position=rules.encode_cursor(entry), node=_CONVERT[entry.kind](entry.model))
                 for entry in entries]

        async def count() -> int:
            return await rules.feed_count(viewer)

        return Connection(
            edges=edges,
            page_info=PageInfo(has_next_page=has_next, has_previous_page=bool(after),
                               edges=edges),
            count_fn=count,
        )


__all__ = ["FeedItem", "FeedQuery"]
