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
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.calendar import ActivityChange, CalendarFeed
from models.team import Team
from resolvers.activity_change import CALENDAR_FIELDS
from resolvers.auth import Viewer

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


async def sequences(activity_ids: Iterable[int]) -> dict[int, int]:
    """SEQUENCE per activity: its calendar-visible changes (publication excluded), one query."""
    wanted = sorted(set(activity_ids))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = await ActivityChange.filter(
        activity_id__in=wanted, field__in=CALENDAR_FIELDS).values_list("activity_id", "field",
                                                                        "after")
    for activity_id, field, after in rows:
        if field == "status" and after == ActivityStatus.PUBLISHED.value:
            continue
        counts[int(activity_id)] += 1
    return counts


def _event(activity: Activity, sequence: int, status: str, note: str | None = None) -> Event:
    event = Event()
    event.add("uid", f"activity-{activity.id}@{UID_DOMAIN}")
    # Without METHOD, DTSTAMP is when the stored information was last revised (§3.8.7.2).
    event.add("dtstamp", activity.updated_at.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("dtstart", activity.starts_at.astimezone(SHANGHAI))
    event.add("dtend", activity.ends_at.astimezone(SHANGHAI))
    event.add("summary", activity.title)
    if activity.address:
        event.add("location", activity.address)
    description = activity.description
    if note:
        description = f"{note}\n\n{description}"
    event.add("description", description)
    event.add("status", status)
    event.add("last-modified", activity.updated_at.astimezone(UTC))
    return event


def _calendar(name: str, events: list[Event]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    for event in events:
        calendar.add_component(event)
    if events:
        calendar.add_missing_timezones()
    return calendar.to_ical()


def _status(activity: Activity) -> str:
    return "CANCELLED" if activity.status == ActivityStatus.CANCELLED else "CONFIRMED"


async def person_calendar(volunteer_id: int, now: datetime | None = None) -> bytes:
    moment = now or datetime.now(UTC)
    sign_ups = await SignUp.filter(
        volunteer_id=volunteer_id, status__in=[SignUpStatus.CONFIRMED, SignUpStatus.OFFERED],
        activity__status__in=[ActivityStatus.PUBLISHED, ActivityStatus.FINISHED,
                              ActivityStatus.CANCELLED],
        activity__starts_at__gte=moment - FEED_PAST,
    ).order_by("activity__starts_at", "id").limit(FEED_EVENTS_MAX).prefetch_related("activity")
    numbers = await sequences(s.activity_id for s in sign_ups)
    events = []
    for sign_up in sign_ups:
        activity = sign_up.activity
        if sign_up.status == SignUpStatus.OFFERED and activity.status != ActivityStatus.CANCELLED:
            until = sign_up.offer_expires_at.astimezone(SHANGHAI) if sign_up.offer_expires_at \
                else None
            note = f"候补名额保留至 {until:%Y-%m-%d %H:%M}，请在此前确认。" if until else None
            events.append(_event(activity, numbers[activity.id], "TENTATIVE", note))
        else:
            events.append(_event(activity, numbers[activity.id], _status(activity)))
    return _calendar("同心 · 我的志愿服务", events)


async def team_calendar(team_id: int, now: datetime | None = None) -> bytes | None:
    """None if the team does not exist."""
    moment = now or datetime.now(UTC)
    team = await Team.get_or_none(id=team_id)
    if team is None:
        return None
    activities = await Activity.filter(
        team_id=team_id, status__in=[ActivityStatus.PUBLISHED, ActivityStatus.FINISHED,
                                     ActivityStatus.CANCELLED],
        starts_at__gte=moment - FEED_PAST,
    ).order_by("starts_at", "id").limit(FEED_EVENTS_MAX)
    cancelled = [a.id for a in activities if a.status == ActivityStatus.CANCELLED]
    # A draft that was cancelled was never public: only cancelled ones once published show.
    published = set(await ActivityChange.filter(
        activity_id__in=cancelled, field="status", after=ActivityStatus.PUBLISHED.value,
    ).values_list("activity_id", flat=True)) if cancelled else set()
    shown = [a for a in activities if a.status != ActivityStatus.CANCELLED or a.id in published]
    numbers = await sequences(a.id for a in shown)
    return _calendar(f"同心 · {team.name}",
                     [_event(a, numbers[a.id], _status(a)) for a in shown])
