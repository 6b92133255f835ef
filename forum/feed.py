"""The personal feed: new activities of the volunteer's teams, experience posts of those
teams, open help requests in their district, replies to their threads and announcements of
the platform and their teams, newest first.

Each source is one keyset query (its time: publication for activities, creation otherwise;
then a fixed kind rank, then id, all descending) fetching one page + 1 of keys; one statement
runs the five as a UNION ALL and keeps the newest page + 1, then the page's rows are read by
id, one statement per kind on the page. So a page costs at most six statements (and
`totalCount` one more, the five counts summed in one), and only the rows shown become models.
Items inserted while a client pages are newer than its cursor, so they never shift or repeat
later pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import CountQuery, ValuesListQuery

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


MODELS: dict[str, type[Model]] = {"Activity": Activity, "ExperiencePost": ExperiencePost,
                                  "Announcement": Announcement, "HelpRequest": HelpRequest,
                                  "Post": Post}
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _combined(queries: list[Any], templates: list[str],
              joiner: str) -> tuple[BaseDBAsyncClient, str, list[Any]]:
    """Several Tortoise queries as one statement: each one's parameterised SQL put into its
    template (`{sql}`) and joined; PostgreSQL's numbered placeholders renumbered."""
    parts: list[str] = []
    params: list[Any] = []
    db: BaseDBAsyncClient | None = None
    for query, template in zip(queries, templates, strict=True):
        query._choose_db_if_not_chosen()
        query._make_query()
        db = db or query._db
        sql, values = query.query.get_parameterized_sql()
        offset = len(params)
        sql = _PLACEHOLDER.sub(lambda m, o=offset: f"${int(m.group(1)) + o}", sql)  # type: ignore[misc]
        parts.append(template.replace("{sql}", sql))
        params.extend(values)
    assert db is not None
    return db, joiner.join(parts), params


async def feed_page(viewer: Viewer, size: int, after: str | None
                    ) -> tuple[list[FeedEntry], bool]:
    """The newest page + 1 of keys over the five sources in one statement, then the page's
    rows by id (a statement per kind on the page); returns the page and whether more follow."""
    volunteer = viewer.require()
    cursor = decode_cursor(after) if after else None
    if size == 0:
        return [], False
    kinds = list(_sources(volunteer).items())
    keys: list[ValuesListQuery[Any]] = [
        query.filter(_after(kind, cursor)).order_by(f"-{TIME_FIELD[kind]}", "-id")
        .limit(size + 1).values_list("id", TIME_FIELD[kind]) for kind, query in kinds]
    # Each source's page + 1 as (source index, id, time), wrapped so that SQLite accepts its
    # ORDER BY and LIMIT inside the UNION ALL.
    db, union, params = _combined(keys, [
        f'SELECT {index} AS "k", "q"."0" AS "i", "q"."1" AS "t" FROM ({{sql}}) "q"'
        for index, _ in enumerate(kinds)], " UNION ALL ")
    ranks = " ".join(f"WHEN {index} THEN {RANKS[kind]}" for index, (kind, _) in enumerate(kinds))
    _, rows = await db.execute_query(
        f'SELECT "k", "i" FROM ({union}) "u" ORDER BY "t" DESC, CASE "k" {ranks} END DESC, '
        f'"i" DESC LIMIT {size + 1}', params)
    wanted: dict[str, list[int]] = {}
    for row in list(rows)[:size]:
        wanted.setdefault(kinds[int(row[0])][0], []).append(int(row[1]))
    entries: list[FeedEntry] = []
    for kind, ids in wanted.items():
        entries.extend(FeedEntry(kind, model)
                       for model in await MODELS[kind].filter(id__in=ids))
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return entries, len(rows) > size


async def feed_count(viewer: Viewer) -> int:
    """The five sources counted in one statement."""
    volunteer = viewer.require()
    counts: list[CountQuery] = [query.count() for query in _sources(volunteer).values()]
    db, total, params = _combined(counts, ["({sql})"] * len(counts), " + ")
    _, rows = await db.execute_query(f"SELECT {total}", params)
    return int(rows[0][0])
