"""Calendar feeds (iCalendar, RFC 5545), built with the `icalendar` library.

- A person's secret feed: their confirmed shifts (STATUS:CONFIRMED) and held waitlist offers
  (STATUS:TENTATIVE), and shifts of theirs that the organiser cancelled (STATUS:CANCELLED).
  The URL carries a 256-bit random token; only its SHA-256 is stored. Making a new one
  revokes the old one; revoking answers 404 from then on.
- A team's public feed: its published, finished and cancelled (once published) activities.
Every event's UID is `activity-<id>@tongxin` in both feeds; its SEQUENCE counts the
calendar-visible changes in the activity's change log (resolvers/activity_change.py), so an
update or cancellation is seen by calendar clients as a new revision of the same event.
Times carry TZID=Asia/Shanghai with its VTIMEZONE.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from models.activity import ActivityStatus, SignUpStatus
from models.calendar import CalendarFeed
from models.team import Team
from resolvers.activity_change import CALENDAR_FIELDS
from resolvers.auth import Viewer
from resolvers.sql import Sql, fetch

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRODID = "-//Tongxin//Volunteer shifts//ZH"
UID_DOMAIN = "tongxin"
# Feeds show what starts from this long ago on, at most FEED_EVENTS_MAX events.
FEED_PAST = timedelta(days=90)
FEED_EVENTS_MAX = 1000
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def do_create_feed(viewer: Viewer) -> str:
    """A new secret feed token for the caller (shown once); earlier feeds stop working."""
    volunteer = viewer.require()
    token = secrets.token_urlsafe(32)
    async with in_transaction() as conn:
        await CalendarFeed.filter(volunteer_id=volunteer.id, revoked_at=None).using_db(
            conn).update(revoked_at=datetime.now(UTC))
        await CalendarFeed.create(volunteer_id=volunteer.id, token_hash=_hash(token),
                                  using_db=conn)
    return token


async def do_revoke_feeds(viewer: Viewer) -> int:
    """Revokes the caller's feed URL; returns how many were active (0 or 1)."""
    volunteer = viewer.require()
    return int(await CalendarFeed.filter(volunteer_id=volunteer.id, revoked_at=None).update(
        revoked_at=datetime.now(UTC)))


async def active_feed(viewer: Viewer) -> CalendarFeed | None:
    volunteer = viewer.require()
    return await CalendarFeed.filter(volunteer_id=volunteer.id, revoked_at=None).first()


async def feed_owner(token: str) -> int | None:
    """The volunteer id behind an active feed token; None for malformed, unknown or revoked."""
    if not _TOKEN.fullmatch(token):
        return None
    feed = await CalendarFeed.filter(token_hash=_hash(token), revoked_at=None).first()
    return feed.volunteer_id if feed else None


@dataclass(frozen=True)
class _Shown:
    """Everything one VEVENT depends on, as the database answered it (timestamps are text on
    SQLite: parsed only when the event is not cached): also the key of its cached text."""

    activity_id: int
    title: str
    description: str
    address: str | None
    starts_at: Any
    ends_at: Any
    status: str
    sequence: int
    updated_at: Any
    changed_at: Any
    offer_expires_at: Any = None


# Serialising with icalendar costs ~1 ms an event; an event's text depends only on _Shown,
# so each worker keeps the latest texts (bounded) and a feed is mostly concatenation.
EVENT_CACHE_MAX = 20_000
_event_texts: OrderedDict[_Shown, bytes] = OrderedDict()


def _event_text(shown: _Shown) -> bytes:
    text = _event_texts.get(shown)
    if text is not None:
        _event_texts.move_to_end(shown)
        return text
    stamp = _moment(shown.updated_at)
    if shown.changed_at is not None:
        stamp = max(stamp, _moment(shown.changed_at))
    description = shown.description
    if shown.status == "TENTATIVE" and shown.offer_expires_at is not None:
        until = _moment(shown.offer_expires_at).astimezone(SHANGHAI)
        description = f"候补名额保留至 {until:%Y-%m-%d %H:%M}，请在此前确认。\n\n{description}"
    from icalendar import Event  # imported on first use: every server process starts faster

    event = Event()
    event.add("uid", f"activity-{shown.activity_id}@{UID_DOMAIN}")
    # Without METHOD, DTSTAMP is when the stored information was last revised (§3.8.7.2).
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("sequence", shown.sequence)
    event.add("dtstart", _moment(shown.starts_at).astimezone(SHANGHAI))
    event.add("dtend", _moment(shown.ends_at).astimezone(SHANGHAI))
    event.add("summary", shown.title)
    if shown.address:
        event.add("location", shown.address)
    event.add("description", description)
    event.add("status", shown.status)
    text = event.to_ical()
    _event_texts[shown] = text
    if len(_event_texts) > EVENT_CACHE_MAX:
        _event_texts.popitem(last=False)
    return text


@lru_cache(maxsize=1)
def _vtimezone() -> bytes:
    from icalendar import Timezone

    return Timezone.from_tzid("Asia/Shanghai").to_ical()


@lru_cache(maxsize=256)
def _frame(name: str) -> tuple[bytes, bytes]:
    """The calendar's own lines before and after its components."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    text = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert text.endswith(end)
    return text[:-len(end)], end


def _calendar(name: str, shown: list[_Shown]) -> bytes:
    head, tail = _frame(name)
    parts = [head]
    if shown:
        parts.append(_vtimezone())
        parts.extend(_event_text(item) for item in shown)
    parts.append(tail)
    return b"".join(parts)


def _moment(value: Any) -> datetime:
    """A timestamp as the database answered it (SQLite: text), in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


# Per activity a: SEQUENCE and the time of the last calendar-visible change, as columns of
# the feed's one statement (correlated subqueries on activity_change's (activity_id, id)).
_VISIBLE_CHANGE = (Sql("FROM activity_change c WHERE c.activity_id = a.id AND ")
                   + Sql.one_of("c.field", CALENDAR_FIELDS)
                   + Sql(" AND NOT (c.field = 'status' AND c.after = :published)",
                         published=ActivityStatus.PUBLISHED.value))
_EVENT_COLUMNS = ("a.id AS id, a.title AS title, a.description AS description, "
                  "a.address AS address, a.starts_at AS starts_at, a.ends_at AS ends_at, "
                  "a.status AS activity_status, a.updated_at AS updated_at, ")
_LIVE_STATUSES = (ActivityStatus.PUBLISHED.value, ActivityStatus.FINISHED.value,
                  ActivityStatus.CANCELLED.value)


def _columns() -> Sql:
    return (Sql(_EVENT_COLUMNS) + "(SELECT COUNT(*) " + _VISIBLE_CHANGE + ") AS sequence, "
            + "(SELECT MAX(c.created_at) " + _VISIBLE_CHANGE + ") AS changed_at")


def _shown(row: dict[str, Any], status: str, offer_expires_at: Any = None) -> _Shown:
    return _Shown(
        activity_id=int(row["id"]), title=row["title"], description=row["description"],
        address=row["address"], starts_at=row["starts_at"], ends_at=row["ends_at"],
        status=status, sequence=int(row["sequence"]), updated_at=row["updated_at"],
        changed_at=row["changed_at"], offer_expires_at=offer_expires_at)


def _event_status(activity_status: str) -> str:
    return "CANCELLED" if activity_status == ActivityStatus.CANCELLED.value else "CONFIRMED"


async def person_calendar(volunteer_id: int, now: datetime | None = None) -> bytes:
    """One statement for the rows; cached event texts for the rest."""
    moment = now or datetime.now(UTC)
    rows = await fetch(connections.get("default"), Sql(
        "SELECT s.status AS sign_up_status, s.offer_expires_at AS offer_expires_at, :columns "
        "FROM sign_up s JOIN activity a ON a.id = s.activity_id WHERE s.volunteer_id = "
        ":volunteer AND :sign_up_statuses AND :activity_statuses AND a.starts_at >= :since "
        "ORDER BY a.starts_at, s.id LIMIT :limit",
        columns=_columns(), volunteer=volunteer_id,
        sign_up_statuses=Sql.one_of("s.status", (SignUpStatus.CONFIRMED.value,
                                                 SignUpStatus.OFFERED.value)),
        activity_statuses=Sql.one_of("a.status", _LIVE_STATUSES),
        since=moment - FEED_PAST, limit=FEED_EVENTS_MAX))
    shown = []
    for row in rows:
        activity_status = str(row["activity_status"])
        if (row["sign_up_status"] == SignUpStatus.OFFERED.value
                and activity_status != ActivityStatus.CANCELLED.value):
            shown.append(_shown(row, "TENTATIVE", row["offer_expires_at"]))
        else:
            shown.append(_shown(row, _event_status(activity_status)))
    return _calendar("同心 · 我的志愿服务", shown)


async def team_calendar(team_id: int, now: datetime | None = None) -> bytes | None:
    """None if the team does not exist. A cancelled activity shows only if it had been
    published (a cancelled draft was never public)."""
    moment = now or datetime.now(UTC)
    team = await Team.get_or_none(id=team_id).values("name")
    if team is None:
        return None
    rows = await fetch(connections.get("default"), Sql(
        "SELECT :columns FROM activity a WHERE a.team_id = :team AND :statuses "
        "AND a.starts_at >= :since AND (a.status <> :cancelled OR EXISTS (SELECT 1 FROM "
        "activity_change p WHERE p.activity_id = a.id AND p.field = 'status' "
        "AND p.after = :published)) ORDER BY a.starts_at, a.id LIMIT :limit",
        columns=_columns(), team=team_id, statuses=Sql.one_of("a.status", _LIVE_STATUSES),
        since=moment - FEED_PAST, cancelled=ActivityStatus.CANCELLED.value,
        published=ActivityStatus.PUBLISHED.value, limit=FEED_EVENTS_MAX))
    return _calendar(f"同心 · {team['name']}", [
        _shown(row, _event_status(str(row["activity_status"]))) for row in rows])
