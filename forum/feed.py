"""The personal feed: new activities of the volunteer's teams, experience posts of those
teams, open help requests in their district, replies to their threads and announcements of
the platform and their teams, newest first.

Each source is one keyset query (its time: publication for activities, creation otherwise;
then a fixed kind rank, then id, all descending) fetching one page + 1 of keys; one statement
runs the five as a UNION ALL and keeps the newest page + 1, then the page's rows are read by
id, one statement per kind on the page. The sources are hand-written SQL (SOURCES): building
five filtered Tortoise querysets cost several milliseconds of CPU per page. So a page costs
at most six statements (and `totalCount` one more, the five counts summed in one), and only
the rows shown become models.
Items inserted while a client pages are newer than its cursor, so they never shift or repeat
later pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.models import Model

from core.cursors import open_cursor, seal_cursor
from db.routing import read_connection
from forum.models import ExperiencePost, Post
from models.activity import Activity, ActivityStatus
from models.helprequest import HelpRequest, HelpRequestStatus
from models.honour import Announcement, AnnouncementStatus
from models.team import MembershipStatus
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import BadInput
from resolvers.sql import Sql, execute

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


# Each source as SQL over its row `x`, with the viewer's id (:me) and district (:district):
# (table, the rule of what the viewer sees). The kinds' times are TIME_FIELD.
_MINE = (f"SELECT m.team_id FROM membership m WHERE m.volunteer_id = :me AND m.status = "
         f"'{MembershipStatus.APPROVED.value}'")
SOURCES: dict[str, tuple[str, str]] = {
    "Activity": ("activity", f"x.team_id IN ({_MINE}) AND x.status IN "
                             f"('{ActivityStatus.PUBLISHED.value}', "
                             f"'{ActivityStatus.FINISHED.value}')"),
    "ExperiencePost": ("experience_post", f"x.team_id IN ({_MINE})"),
    "Announcement": ("announcement", f"(x.team_id IS NULL OR x.team_id IN ({_MINE})) AND "
                                     f"x.status = '{AnnouncementStatus.PUBLISHED.value}'"),
    "HelpRequest": ("help_request", f"x.district = :district AND "
                                    f"x.status = '{HelpRequestStatus.OPEN.value}'"),
    # Others' visible replies in the viewer's visible threads.
    "Post": ("forum_post", "NOT x.is_opening AND NOT x.hidden AND x.author_id <> :me AND "
                           "EXISTS (SELECT 1 FROM forum_thread t WHERE t.id = x.thread_id AND "
                           "t.author_id = :me AND NOT t.hidden)"),
}
MODELS: dict[str, type[Model]] = {"Activity": Activity, "ExperiencePost": ExperiencePost,
                                  "Announcement": Announcement, "HelpRequest": HelpRequest,
                                  "Post": Post}
KINDS_BY_RANK = {rank: kind for kind, rank in RANKS.items()}


def _visible(kind: str, volunteer: Volunteer) -> Sql:
    rule = SOURCES[kind][1]
    values = {"me": volunteer.id, "district": volunteer.district}
    return Sql(rule, **{name: value for name, value in values.items() if f":{name}" in rule})


def _after(kind: str, cursor: tuple[datetime, int, int] | None) -> Sql:
    """Strictly after the cursor in (time DESC, rank DESC, id DESC) order."""
    if cursor is None:
        return Sql("TRUE")
    at, rank, db_id = cursor
    mine, time = RANKS[kind], f"x.{TIME_FIELD[kind]}"
    at = at.astimezone(UTC)
    if mine > rank:
        return Sql(f"{time} < :at", at=at)
    if mine < rank:
        return Sql(f"{time} <= :at", at=at)
    return Sql(f"({time} < :at OR ({time} = :at AND x.id < :id))", at=at, id=db_id)


async def feed_page(viewer: Viewer, size: int, after: str | None
                    ) -> tuple[list[FeedEntry], bool]:
    """The newest page + 1 of keys over the five sources in one statement, then the page's
    rows by id (a statement per kind on the page); returns the page and whether more follow."""
    volunteer = viewer.require()
    cursor = decode_cursor(after) if after else None
    # first: 0 reads the keys' first row too: hasNextPage says whether there is any item.
    # Each source's page + 1 as (rank, id, time), wrapped so that SQLite accepts its ORDER BY
    # and LIMIT inside the UNION ALL.
    sources = Sql.join(" UNION ALL ", (
        Sql(f"SELECT * FROM (SELECT {RANKS[kind]} AS k, x.id AS i, x.{TIME_FIELD[kind]} AS t "
            f"FROM {table} x WHERE :visible AND :after ORDER BY x.{TIME_FIELD[kind]} DESC, "
            f"x.id DESC LIMIT {size + 1}) s{RANKS[kind]}",
            visible=_visible(kind, volunteer), after=_after(kind, cursor))
        for kind, (table, _) in SOURCES.items()))
    _, rows = await execute(read_connection(), Sql(
        f"SELECT k, i FROM (:sources) u ORDER BY t DESC, k DESC, i DESC LIMIT {size + 1}",
        sources=sources))
    wanted: dict[str, list[int]] = {}
    for row in list(rows)[:size]:
        wanted.setdefault(KINDS_BY_RANK[int(row[0])], []).append(int(row[1]))
    entries: list[FeedEntry] = []
    for kind, ids in wanted.items():
        entries.extend(FeedEntry(kind, model)
                       for model in await MODELS[kind].filter(id__in=ids))
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return entries, len(rows) > size


async def feed_count(viewer: Viewer) -> int:
    """The five sources counted in one statement."""
    volunteer = viewer.require()
    total = Sql.join(" + ", (Sql(f"(SELECT count(*) FROM {table} x WHERE :visible)",
                                 visible=_visible(kind, volunteer))
                             for kind, (table, _) in SOURCES.items()))
    _, rows = await execute(read_connection(), Sql("SELECT :total", total=total))
    return int(rows[0][0])
