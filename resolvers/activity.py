"""Activities: create, publish, update, cancel, list. Counts change only in resolvers/slots.py."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.geo import Circle
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from models.notification import Notification
from models.team import Team
from resolvers.activity_change import LOGGED_FIELDS, record_changes
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.notification import create_notification, notify_created
from resolvers.offers import fill_freed_places
from resolvers.slots import lock_activity, notify_slot_change
from resolvers.team import administered_team_ids, check_team_admin, is_team_admin
from resolvers.validation import (
    LONG_TEXT_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    check_aware,
    check_coordinates,
    check_optional_text,
    check_tags,
    check_text,
    encode_tags,
)

CAPACITY_MAX = 10_000
REASON_MAX = 500
CHECK_IN_CODE_MAX = 20
ACTIVITY_LENGTH_MAX = timedelta(days=31)

KIND_CANCELLED = "ACTIVITY_CANCELLED"
KIND_CHANGED = "ACTIVITY_TIME_CHANGED"
KIND_PLACE_CHANGED = "ACTIVITY_PLACE_CHANGED"
KIND_PROMOTED = "WAITLIST_PROMOTED"


UNSET: Any = object()


@dataclass
class ActivityData:
    """Input of createActivity and updateActivity; UNSET fields keep their value on update."""

    title: Any = UNSET
    description: Any = UNSET
    category: Any = UNSET
    district: Any = UNSET
    address: Any = UNSET
    latitude: Any = UNSET
    longitude: Any = UNSET
    starts_at: Any = UNSET
    ends_at: Any = UNSET
    sign_up_deadline: Any = UNSET
    capacity: Any = UNSET
    hours_credit: Any = UNSET
    skills: Any = UNSET
    waitlist_limit: Any = UNSET
    check_in_code: Any = UNSET
    check_in_radius_m: Any = UNSET

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not UNSET}


def check_activity_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete set of activity fields (input names in errors are the GraphQL ones)."""
    clean: dict[str, Any] = {
        "title": check_text(values.get("title"), "title", max_len=SHORT_TEXT_MAX),
        "description": check_text(values.get("description"), "description",
                                  max_len=LONG_TEXT_MAX, required=False),
        "category": check_text(values.get("category"), "category", max_len=NAME_MAX),
        "district": check_text(values.get("district"), "district", max_len=NAME_MAX),
        "address": check_optional_text(values.get("address"), "address", max_len=SHORT_TEXT_MAX),
        "skills": encode_tags(check_tags(values.get("skills"), "skills")),
        "check_in_code": check_optional_text(values.get("check_in_code"), "checkInCode",
                                             max_len=CHECK_IN_CODE_MAX),
    }
    clean["latitude"], clean["longitude"] = check_coordinates(values.get("latitude"),
                                                              values.get("longitude"))
    for name, field in (("starts_at", "startsAt"), ("ends_at", "endsAt")):
        if values.get(name) is None:
            raise BadInput(field, f"{field} is required.")
        clean[name] = check_aware(values[name], field)
    starts_at, ends_at = clean["starts_at"], clean["ends_at"]
    if ends_at <= starts_at:
        raise BadInput("endsAt", "endsAt must be after startsAt.")
    if ends_at - starts_at > ACTIVITY_LENGTH_MAX:
        raise BadInput("endsAt", "An activity may last at most 31 days.")
    deadline = values.get("sign_up_deadline")
    deadline = starts_at if deadline is None else check_aware(deadline, "signUpDeadline")
    if deadline > starts_at:
        raise BadInput("signUpDeadline", "signUpDeadline must not be after startsAt.")
    clean["sign_up_deadline"] = deadline
    capacity = values.get("capacity")
    if not isinstance(capacity, int) or not 1 <= capacity <= CAPACITY_MAX:
        raise BadInput("capacity", f"capacity must be between 1 and {CAPACITY_MAX}.")
    clean["capacity"] = capacity
    waitlist_limit = values.get("waitlist_limit")
    waitlist_limit = capacity if waitlist_limit is None else waitlist_limit
    if not 0 <= waitlist_limit <= CAPACITY_MAX:
        raise BadInput("waitlistLimit", f"waitlistLimit must be between 0 and {CAPACITY_MAX}.")
    clean["waitlist_limit"] = waitlist_limit
    hours = values.get("hours_credit")
    length_hours = (ends_at - starts_at).total_seconds() / 3600
    if hours is None or not hours == hours or not 0 < hours <= length_hours + 1e-9:
        raise BadInput("hoursCredit", "hoursCredit must be greater than 0 and at most the "
                                      f"activity's length ({length_hours:g} h).")
    clean["hours_credit"] = float(hours)
    radius = values.get("check_in_radius_m")
    if radius is not None and not 10 <= radius <= 10_000:
        raise BadInput("checkInRadiusM", "checkInRadiusM must be between 10 and 10000 metres.")
    if radius is not None and clean["latitude"] is None:
        raise BadInput("checkInRadiusM", "A check-in radius needs the activity's coordinates.")
    clean["check_in_radius_m"] = radius
    return clean


async def check_activity_admin(viewer: Viewer, activity_id: int) -> Activity:
    """The activity, if the viewer administers its team (or an ancestor); NOT_FOUND otherwise
    when the viewer could not even see it (drafts), FORBIDDEN when they could."""
    viewer.require()
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("Activity")
    team = await Team.get(id=activity.team_id)
    if not await is_team_admin(viewer, team):
        if activity.status == ActivityStatus.DRAFT:
            raise NotFound("Activity")
        raise Forbidden("Only an admin of the activity's team or a parent team can do that.")
    return activity


async def do_create_activity(viewer: Viewer, team_id: int, data: ActivityData) -> Activity:
    viewer.require_active()
    team = await check_team_admin(viewer, team_id)
    clean = check_activity_fields(data.given())
    return await Activity.create(team=team, created_by_id=viewer.id,
                                 status=ActivityStatus.DRAFT, **clean)


async def do_publish_activity(viewer: Viewer, activity_id: int) -> Activity:
    """DRAFT → PUBLISHED; publishing again is a no-op."""
    activity = await check_activity_admin(viewer, activity_id)
    if activity.status == ActivityStatus.PUBLISHED:
        return activity
    if activity.status != ActivityStatus.DRAFT:
        raise Conflict(f"A {activity.status.value.lower()} activity cannot be published.")
    if activity.sign_up_deadline <= datetime.now(UTC):
        raise Conflict("The sign-up deadline has passed; move it before publishing.")
    async with in_transaction() as conn:
        changed = await Activity.filter(id=activity.id, status=ActivityStatus.DRAFT).using_db(
            conn).update(status=ActivityStatus.PUBLISHED, version=F("version") + 1,
                         published_at=datetime.now(UTC))
        if changed:
            await record_changes(conn, activity.id, viewer.id, {"status": ActivityStatus.DRAFT},
                                 {"status": ActivityStatus.PUBLISHED})
    await activity.refresh_from_db()
    if changed:
        await notify_slot_change(activity.id)
    return activity


async def do_cancel_activity(viewer: Viewer, activity_id: int, reason: str) -> Activity:
    """Cancels and tells every confirmed or waitlisted volunteer, in one transaction."""
    activity = await check_activity_admin(viewer, activity_id)
    reason = check_text(reason, "reason", max_len=REASON_MAX)
    if activity.status == ActivityStatus.CANCELLED:
        return activity
    if activity.status == ActivityStatus.FINISHED:
        raise Conflict("A finished activity cannot be cancelled.")
    notifications: list[Notification] = []
    async with in_transaction() as conn:
        changed = await Activity.filter(
            id=activity.id, status__in=[ActivityStatus.DRAFT, ActivityStatus.PUBLISHED]
        ).using_db(conn).update(status=ActivityStatus.CANCELLED, cancel_reason=reason,
                                version=F("version") + 1)
        if changed:
            await record_changes(conn, activity.id, viewer.id, {"status": activity.status},
                                 {"status": ActivityStatus.CANCELLED})
            for volunteer_id in await _signed_up(activity.id, conn):
                notifications.append(await create_notification(
                    volunteer_id, KIND_CANCELLED, f"活动已取消：{activity.title}",
                    f"您报名的活动「{activity.title}」已取消。原因：{reason}",
                    subject=("Activity", activity.id), sms=True, using=conn,
                ))
    await activity.refresh_from_db()
    await notify_created(notifications)
    if changed:
        await notify_slot_change(activity.id)
    return activity


async def do_update_activity(viewer: Viewer, activity_id: int, data: ActivityData) -> Activity:
    """Edit a draft or published activity. A capacity increase fills the new places from the
    waitlist as a freed place is filled (offered near the start, else promoted at once); a
    time change notifies everyone signed up. Holds the activity row for the whole change."""
    activity = await check_activity_admin(viewer, activity_id)
    if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
        raise Conflict(f"A {activity.status.value.lower()} activity cannot be changed.")
    given = data.given()
    if not given:
        return activity
    notifications: list[Notification] = []
    async with in_transaction() as conn:
        current = await lock_activity(activity.id, conn)
        if current.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
            raise Conflict(f"A {current.status.value.lower()} activity cannot be changed.")
        merged = {
            "title": current.title, "description": current.description,
            "category": current.category, "district": current.district,
            "address": current.address, "latitude": current.latitude,
            "longitude": current.longitude, "starts_at": current.starts_at,
            "ends_at": current.ends_at, "sign_up_deadline": current.sign_up_deadline,
            "capacity": current.capacity, "hours_credit": current.hours_credit,
            "skills": [t for t in current.skills.split(",") if t],
            "waitlist_limit": current.waitlist_limit, "check_in_code": current.check_in_code,
            "check_in_radius_m": current.check_in_radius_m,
        }
        if "starts_at" in given and "sign_up_deadline" not in given and \
                current.sign_up_deadline == current.starts_at:
            merged["sign_up_deadline"] = None  # the default deadline follows the start
        merged.update(given)
        clean = check_activity_fields(merged)
        if clean["capacity"] < current.taken_count:
            raise BadInput("capacity", f"capacity cannot go below the {current.taken_count} "
                                       "confirmed sign-ups; cancel some first.")
        if clean["waitlist_limit"] < current.waitlist_count:
            raise BadInput("waitlistLimit", f"waitlistLimit cannot go below the "
                                            f"{current.waitlist_count} waitlisted sign-ups.")
        if clean["district"] != current.district and await ServiceRecord.filter(
                activity_id=current.id, status=HoursStatus.APPROVED).using_db(conn).exists():
            # Statistics and leaderboards count approved hours under the activity's district.
            raise BadInput("district", "Hours of this activity were already approved under its "
                                       "district; the district can no longer change.")
        counts_changed = (clean["capacity"] != current.capacity
                          or clean["waitlist_limit"] != current.waitlist_limit)
        await Activity.filter(id=current.id).using_db(conn).update(
            **clean, version=F("version") + (1 if counts_changed else 0)
        )
        await record_changes(conn, current.id, viewer.id,
                             {name: getattr(current, name, None) for name in LOGGED_FIELDS}, clean)
        if clean["capacity"] > current.capacity and current.status == ActivityStatus.PUBLISHED:
            notifications += await fill_freed_places(current.id, conn)
        time_changed = (clean["starts_at"] != current.starts_at
                        or clean["ends_at"] != current.ends_at)
        if time_changed and current.status == ActivityStatus.PUBLISHED:
            when = clean["starts_at"].astimezone(BEIJING)
            for volunteer_id in await _signed_up(current.id, conn):
                notifications.append(await create_notification(
                    volunteer_id, KIND_CHANGED, f"活动时间变更：{clean['title']}",
                    f"您报名的活动「{clean['title']}」时间已改为 "
                    f"{when:%Y-%m-%d %H:%M}（北京时间）。",
                    subject=("Activity", current.id), sms=True, using=conn,
                ))
        elif clean["address"] != current.address and current.status == ActivityStatus.PUBLISHED:
            # A new meeting point is the other change a participant must not miss.
            for volunteer_id in await _signed_up(current.id, conn):
                notifications.append(await create_notification(
                    volunteer_id, KIND_PLACE_CHANGED, f"活动地点变更：{clean['title']}",
                    f"您报名的活动「{clean['title']}」地点已改为：{clean['address'] or '待定'}。",
                    subject=("Activity", current.id), sms=True, using=conn,
                ))
    await activity.refresh_from_db()
    await notify_created(notifications)
    if counts_changed or notifications:
        await notify_slot_change(activity.id)
    return activity


async def _signed_up(activity_id: int, conn: BaseDBAsyncClient) -> list[int]:
    rows = await SignUp.filter(
        activity_id=activity_id, status__in=[SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED,
                                          SignUpStatus.OFFERED]
    ).using_db(conn).order_by("id").values("volunteer_id")
    return [int(row["volunteer_id"]) for row in rows]


@dataclass
class ActivityFilter:
    status: ActivityStatus | None = None
    district: str | None = None
    category: str | None = None
    has_open_slots: bool | None = None
    starts_after: datetime | None = None
    near: Circle | None = None


async def list_activities(viewer: Viewer, where: ActivityFilter) -> QuerySet[Activity]:
    """Without a status: everything but drafts. Drafts: only those of teams the viewer runs."""
    query = Activity.all()
    if where.status is None:
        query = query.filter(status__not=ActivityStatus.DRAFT)
    elif where.status == ActivityStatus.DRAFT and not viewer.is_platform_admin:
        teams = await administered_team_ids(viewer.id) if viewer.id is not None else set()
        query = query.filter(status=ActivityStatus.DRAFT, team_id__in=sorted(teams) or [0])
    else:
        query = query.filter(status=where.status)
    if where.district:
        query = query.filter(district=check_text(where.district, "district", max_len=NAME_MAX))
    if where.category:
        query = query.filter(category=check_text(where.category, "category", max_len=NAME_MAX))
    if where.starts_after is not None:
        query = query.filter(starts_at__gt=check_aware(where.starts_after, "startsAfter"))
    if where.has_open_slots is True:
        query = query.annotate(free=F("capacity") - F("taken_count")).filter(
            free__gt=0, status=ActivityStatus.PUBLISHED,
            sign_up_deadline__gt=datetime.now(UTC),
        )
    elif where.has_open_slots is False:
        query = query.annotate(free=F("capacity") - F("taken_count")).filter(
            Q(free__lte=0) | Q(status__not=ActivityStatus.PUBLISHED)
            | Q(sign_up_deadline__lte=datetime.now(UTC))
        )
    if where.near is not None:
        query = query.filter(**where.near.filters())
    return query
