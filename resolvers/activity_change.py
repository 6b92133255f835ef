"""The change log of an activity: every change to its time, place, title, capacity,
requirements or status, recorded in the transaction of the change (who, when, before → after).
Calendar feeds number their revisions (SEQUENCE) from it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models.activity import Activity, SignUp
from models.calendar import ActivityChange
from models.team import Team
from resolvers.auth import Viewer
from resolvers.errors import NotFound
from resolvers.team import is_team_admin

# Fields logged, by the names activity rules use.
LOGGED_FIELDS = ("title", "starts_at", "ends_at", "sign_up_deadline", "district", "address",
                 "latitude", "longitude", "capacity", "waitlist_limit", "skills",
                 "qualifications", "minimum_age", "status")
# Changes that a calendar event shows: each one bumps the event's SEQUENCE (RFC 5545 §3.8.7.4).
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "address", "status")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(str(part) for part in value)
    return str(getattr(value, "value", value))


async def record_changes(conn: BaseDBAsyncClient, activity_id: int, actor_id: int | None,
                         before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Logs each LOGGED_FIELDS entry of `after` that differs from `before`; returns their names.
    Precondition: inside the transaction that makes the change."""
    changed = [name for name in LOGGED_FIELDS
               if name in after and _text(before.get(name)) != _text(after[name])]
    if changed:
        await ActivityChange.bulk_create([
            ActivityChange(activity_id=activity_id, actor_id=actor_id, field=name,
                           before=_text(before.get(name)), after=_text(after[name]))
            for name in changed], using_db=conn)
    return changed


async def check_change_log_reader(viewer: Viewer, activity_id: int) -> Activity:
    """Participants (anyone who signed up, in any state) and the team's admins read the log;
    for everyone else the activity does not exist (NOT_FOUND, IDs cannot be probed)."""
    volunteer = viewer.require()
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("Activity")
    if await SignUp.exists(activity_id=activity_id, volunteer_id=volunteer.id):
        return activity
    team = await Team.get(id=activity.team_id)
    if await is_team_admin(viewer, team):
        return activity
    raise NotFound("Activity")


def list_changes(activity: Activity) -> QuerySet[ActivityChange]:
    return ActivityChange.filter(activity_id=activity.id)
