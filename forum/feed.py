"""The personal feed: new activities of the volunteer's teams, experience posts of those
teams, open help requests in their district, replies to their threads and announcements of
the platform and their teams, newest first.

Each source is one keyset query (its time: publication for activities, creation otherwise;
then a fixed kind rank, then id, all descending) fetching one page + 1; the page is the
merge of the five. Items inserted while a client pages are newer than its cursor, so they
never shift or repeat later pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from core.cursors import open_cursor, seal_cursor
from forum.models import ExperiencePost, Post
from models.activity import Activity, ActivityStatus
from models.helprequest import HelpRequest, HelpRequestStatus
from models.honour import Announcement, AnnouncementStatus
from models.team import Membership, MembershipStatus
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import BadInput

# At equal times, higher ranks come first; the rank is part of the cursor.
RANKS: dict[str, int] = {"Announcement": 5, "Activity": 4, "ExperiencePost": 3,
                         "HelpRequest": 2, "Post": 1}
# Activities and announcements enter the feed when published; everything else when created.
TIME_FIELD: dict[str, str] = {"Announcement": "published_at", "Activity": "published_at",
                              "ExperiencePost": "created_at", "HelpRequest": "created_at",
                              "Post": "created_at"}


@dataclass(frozen=True)
class FeedEntry:
    kind: str
    model: Any

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (getattr(self.model, TIME_FIELD[self.kind]), RANKS[self.kind], self.model.id)


def encode_cursor(entry: FeedEntry) -> str:
    created_at, rank, db_id = entry.key
    return seal_cursor([created_at.isoformat(), rank, db_id])


def decode_cursor(cursor: str) -> tuple[datetime, int, int]:
    try:
        at, rank, db_id = open_cursor(cursor)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or rank not in RANKS.values():
            raise ValueError
        return when, int(rank), int(db_id)
    except (ValueError, TypeError):
        raise BadInput("after", "after is not a valid cursor.") from None


def _after(kind: str, cursor: tuple[datetime, int, int] | None) -> Q:
    """Strictly after the cursor in (time DESC, rank DESC, id DESC) order."""
    if cursor is None:
        return Q()
    at, rank, db_id = cursor
    mine, time = RANKS[kind], TIME_FIELD[kind]
    before: dict[str, Any] = {f"{time}__lt": at}
    if mine > rank:
        return Q(**before)
    if mine < rank:
        not_after: dict[str, Any] = {f"{time}__lte": at}
        return Q(**not_after)
    same_time: dict[str, Any] = {time: at, "id__lt": db_id}
    return Q(**before) | Q(**same_time)


def _sources(volunteer: Volunteer) -> dict[str, Any]:
    my_teams = Subquery(Membership.filter(volunteer_id=volunteer.id,
                                          status=MembershipStatus.APPROVED).values("team_id"))
    return {
        "Activity": Activity.filter(
            team_id__in=my_teams, status__in=[ActivityStatus.PUBLISHED, ActivityStatus.FINISHED]),
        "ExperiencePost": ExperiencePost.filter(team_id__in=my_teams),
        "Announcement": Announcement.filter(
            Q(team_id__isnull=True) | Q(team_id__in=my_teams),
            status=AnnouncementStatus.PUBLISHED),
        "HelpRequest": HelpRequest.filter(district=volunteer.district,
                                          status=HelpRequestStatus.OPEN),
        "Post": Post.filter(thread__author_id=volunteer.id, is_opening=False, hidden=False,
                            thread__hidden=False).exclude(author_id=volunteer.id),
    }


async def feed_page(viewer: Viewer, size: int, after: str | None
                    ) -> tuple[list[FeedEntry], bool]:
    """One query per source (five in all), merged; returns the page and whether more follow."""
    volunteer = viewer.require()
    cursor = decode_cursor(after) if after else None
    if size == 0:
        return [], False
    entries: list[FeedEntry] = []
    for kind, query in _sources(volunteer).items():
        rows: list[Model] = await query.filter(_after(kind, cursor)).order_by(
            f"-{TIME_FIELD[kind]}", "-id").limit(size + 1)
        entries.extend(FeedEntry(kind, row) for row in rows)
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return entries[:size], len(entries) > size


async def feed_count(viewer: Viewer) -> int:
    volunteer = viewer.require()
    total = 0
    for query in _sources(volunteer).values():
        total += await query.count()
    return total
