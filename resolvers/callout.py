"""Emergency call-outs (一呼百应): call volunteers with given skills in given districts and
count who is coming, live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.helprequest import CallOut, CallOutAnswer
from models.notification import Notification, SmsOutbox
from models.team import Team, TeamType
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden, NotFound
from resolvers.notification import notify_created
from resolvers.services import services
from resolvers.team import administered_team_ids
from resolvers.validation import check_tags, check_text, decode_tags, encode_tags, tag_pattern
from subscriptions import channels

CALL_OUT_KIND = "CALL_OUT"
MESSAGE_MAX = 1000
NEEDED_MAX = 10_000


@dataclass
class CallOutData:
    message: str
    districts: list[str]
    skills: list[str]
    needed: int
    team_id: int | None = None
    activity_id: int | None = None


async def check_caller(viewer: Viewer, team_id: int | None) -> Team | None:
    """Platform admins, and admins of an EMERGENCY team (directly or through a parent team)."""
    volunteer = viewer.require_active()
    if viewer.is_platform_admin:
        if team_id is None:
            return None
        team = await Team.get_or_none(id=team_id)
        if team is None:
            raise NotFound("Team")
        return team
    emergency = Team.filter(id__in=await administered_team_ids(volunteer.id),
                            type=TeamType.EMERGENCY)
    if team_id is not None:
        emergency = emergency.filter(id=team_id)
    team = await emergency.order_by("id").first()
    if team is None:
        raise Forbidden("Only platform admins and emergency-team admins can call out volunteers.")
    return team


def targets(districts: list[str], skills: list[str]) -> QuerySet[Volunteer]:
    """Active (consented, not suspended) volunteers in the districts with any of the skills
    (every skill when none is given)."""
    query = Volunteer.filter(status=VolunteerStatus.ACTIVE, district__in=districts)
    if skills:
        any_skill = Q()
        for skill in skills:
            any_skill |= Q(skills__contains=tag_pattern(skill))
        query = query.filter(any_skill)
    return query


def _on_site(activity_ids: list[int]) -> QuerySet[SignUp]:
    """Checked in (and not out) at these activities: already there, so a call-out to the
    activity is not pushed to them (DOMAIN: whoever is on site is not re-recruited)."""
    return SignUp.filter(activity_id__in=activity_ids, status=SignUpStatus.CONFIRMED,
                         checked_in_at__not_isnull=True, checked_out_at=None)


async def on_site_volunteers(activity_id: int | None) -> set[int]:
    if activity_id is None:
        return set()
    rows = await _on_site([activity_id]).values_list("volunteer_id", flat=True)
    return {int(v) for v in rows}  # type: ignore[call-overload]


async def activities_on_site(volunteer_id: int, activity_ids: list[int]) -> set[int]:
    rows = await _on_site(activity_ids).filter(volunteer_id=volunteer_id).values_list(
        "activity_id", flat=True)
    return {int(a) for a in rows}  # type: ignore[call-overload]


def is_target(volunteer: Volunteer, call_out: CallOut) -> bool:
    if volunteer.status != VolunteerStatus.ACTIVE:
        return False
    if volunteer.district not in decode_tags(call_out.districts):
        return False
    wanted = set(decode_tags(call_out.skills))
    return not wanted or bool(wanted & set(decode_tags(volunteer.skills)))


async def do_call_out(viewer: Viewer, data: CallOutData) -> tuple[CallOut, list[Notification]]:
    """Creates the call-out and one notification (+ SMS) per targeted volunteer, atomically."""
    message = check_text(data.message, "input.message", max_len=MESSAGE_MAX)
    districts = check_tags(data.districts, "input.districts")
    if not districts:
        raise BadInput("input.districts", "Give at least one district.")
    skills = check_tags(data.skills, "input.skills")
    if not 1 <= data.needed <= NEEDED_MAX:
        raise BadInput("input.needed", f"needed must be between 1 and {NEEDED_MAX}.")
    team = await check_caller(viewer, data.team_id)
    caller = viewer.require()
    if data.activity_id is not None:
        activity = await Activity.get_or_none(id=data.activity_id)
        if activity is None or activity.status == ActivityStatus.DRAFT:
            raise NotFound("Activity")
    there = await on_site_volunteers(data.activity_id)
    async with in_transaction() as connection:
        call_out = await CallOut.create(
            created_by=caller, message=message, districts=encode_tags(districts),
            skills=encode_tags(skills), needed=data.needed, team=team,
            activity_id=data.activity_id, using_db=connection,
        )
        target_ids = [vid for vid in await targets(districts, skills).exclude(
            id=caller.id).using_db(connection).values_list("id", flat=True) if vid not in there]
        title = f"紧急召集：{message[:60]}"
        await Notification.bulk_create(
            [Notification(volunteer_id=vid, kind=CALL_OUT_KIND, title=title, body=message,
                          subject_type="CallOut", subject_id=call_out.id) for vid in target_ids],
            batch_size=1000, using_db=connection,
        )
        notifications = await Notification.filter(
            kind=CALL_OUT_KIND, subject_type="CallOut", subject_id=call_out.id
        ).using_db(connection)
        await SmsOutbox.bulk_create(
            [SmsOutbox(volunteer_id=n.volunteer_id, notification_id=n.id,
                       text=f"【同心】{title}"[:500]) for n in notifications],
            batch_size=1000, using_db=connection,
        )
    return call_out, notifications


async def get_visible_call_out(viewer: Viewer, call_out_id: int) -> CallOut | None:
    """The caller side (creator, platform admins, emergency-team admins) sees every call-out;
    a volunteer sees those that target them. Others get None (no probing)."""
    volunteer = viewer.volunteer
    if volunteer is None:
        return None
    call_out = await CallOut.get_or_none(id=call_out_id)
    if call_out is None:
        return None
    if await is_caller_side(viewer, call_out) or is_target(volunteer, call_out):
        return call_out
    return None


async def is_caller_side(viewer: Viewer, call_out: CallOut) -> bool:
    if viewer.volunteer is None:
        return False
    if viewer.is_platform_admin or call_out.created_by_id == viewer.id:
        return True
    return await is_emergency_admin(viewer)


async def is_emergency_admin(viewer: Viewer) -> bool:
    if viewer.volunteer is None:
        return False
    team_ids = await administered_team_ids(viewer.volunteer.id)
    return bool(team_ids) and await Team.exists(id__in=team_ids, type=TeamType.EMERGENCY)


async def do_answer_call_out(viewer: Viewer, call_out_id: int, coming: bool) -> CallOut:
    """Counted once per volunteer: a first answer adds to its count, a changed answer moves
    one from the other count. The answer row changes by conditional UPDATE (or a unique
    INSERT), and the counts move in the same transaction only if that row changed."""
    volunteer = viewer.require()
    call_out = await CallOut.get_or_none(id=call_out_id)
    if call_out is None or not is_target(volunteer, call_out):
        raise NotFound("Call-out")
    async with in_transaction() as connection:
        for _ in range(2):  # a concurrent first answer of the same volunteer: flip it instead
            flipped = await CallOutAnswer.filter(
                call_out_id=call_out_id, volunteer_id=volunteer.id, coming=not coming
            ).using_db(connection).update(coming=coming)
            if flipped:
                delta = 1 if coming else -1
                await CallOut.filter(id=call_out_id).using_db(connection).update(
                    coming_count=F("coming_count") + delta, cannot_count=F("cannot_count") - delta,
                    version=F("version") + 1,
                )
                break
            try:
                async with in_transaction() as savepoint:
                    await CallOutAnswer.create(call_out_id=call_out_id, volunteer_id=volunteer.id,
                                               coming=coming, using_db=savepoint)
            except IntegrityError:
                continue  # an answer exists: the same one (nothing to do) or the other one
            counts: dict[str, Any] = (
                {"coming_count": F("coming_count") + 1} if coming
                else {"cannot_count": F("cannot_count") + 1}
            )
            await CallOut.filter(id=call_out_id).using_db(connection).update(
                **counts, version=F("version") + 1)
            break
    await call_out.refresh_from_db()
    return call_out


async def my_answer(volunteer_id: int, call_out_id: int) -> bool | None:
    answer = await CallOutAnswer.get_or_none(call_out_id=call_out_id, volunteer_id=volunteer_id)
    return None if answer is None else answer.coming


def call_out_payload(call_out: CallOut, *, created: bool, volunteer_id: int | None = None,
                     coming: bool | None = None) -> dict[str, Any]:
    return {
        "id": call_out.id, "version": call_out.version, "created": created,
        "comingCount": call_out.coming_count, "cannotCount": call_out.cannot_count,
        "districts": decode_tags(call_out.districts), "volunteerId": volunteer_id,
        "coming": coming,
    }


async def notify_call_out(call_out: CallOut, notifications: list[Notification]) -> None:
    """After commit: targeted volunteers' notification pushes, then the call-outs channel."""
    await notify_created(notifications)
    await services().broker.publish(channels.call_outs(), call_out_payload(call_out, created=True))


async def notify_answer(call_out: CallOut, volunteer_id: int, coming: bool) -> None:
    await services().broker.publish(
        channels.call_outs(),
        call_out_payload(call_out, created=False, volunteer_id=volunteer_id, coming=coming),
    )


def list_call_outs(district: str | None) -> QuerySet[CallOut]:
    query = CallOut.all()
    if district is not None:
        query = query.filter(districts__contains=tag_pattern(
            check_text(district, "district", max_len=50)))
    return query


async def visible_call_outs(viewer: Viewer, district: str | None) -> QuerySet[CallOut]:
    volunteer = viewer.require()
    query = list_call_outs(district)
    if viewer.is_platform_admin or await is_emergency_admin(viewer):
        return query
    mine = Q(created_by_id=volunteer.id)
    if volunteer.status != VolunteerStatus.ACTIVE:
        return query.filter(mine)
    any_skill = Q(skills="")
    for skill in decode_tags(volunteer.skills):
        any_skill |= Q(skills__contains=tag_pattern(skill))
    return query.filter(mine | (Q(districts__contains=tag_pattern(volunteer.district)) & any_skill))


class CallOutWatch:
    """What one `callOuts` subscriber may be pushed: callers see every call-out (in the
    district filter); a volunteer sees those targeting them until they answer CANNOT."""

    def __init__(self, viewer: Viewer, district: str | None, caller_side: bool) -> None:
        self.viewer = viewer
        self.district = district
        self.caller_side = caller_side
        self._declined: set[int] = set()
        self._known: dict[int, bool] = {}
        self._activity: dict[int, int] = {}

    @classmethod
    async def start(cls, viewer: Viewer, district: str | None) -> CallOutWatch:
        viewer.require()
        checked = check_text(district, "district", max_len=50) if district is not None else None
        return cls(viewer, checked, await is_emergency_admin(viewer) or viewer.is_platform_admin)

    async def wanted(self, payloads: list[dict[str, Any]]) -> list[int]:
        """The call-out ids to push for a batch of messages (latest version per call-out)."""
        latest: dict[int, dict[str, Any]] = {}
        me = self.viewer.id
        for payload in payloads:
            call_out_id = int(payload["id"])
            if payload.get("volunteerId") == me and payload.get("coming") is not None:
                if payload["coming"]:
                    self._declined.discard(call_out_id)
                else:
                    self._declined.add(call_out_id)
            if self.district is not None and self.district not in payload.get("districts", []):
                continue
            previous = latest.get(call_out_id)
            if previous is None or payload["version"] >= previous["version"]:
                latest[call_out_id] = payload
        if self.caller_side:
            return sorted(latest)
        unknown = [i for i in latest if i not in self._known]
        if unknown:
            assert self.viewer.volunteer is not None
            rows = await CallOut.filter(id__in=unknown)
            for row in rows:
                self._known[row.id] = is_target(self.viewer.volunteer, row) or (
                    row.created_by_id == me)
            declined = await CallOutAnswer.filter(
                call_out_id__in=unknown, volunteer_id=me, coming=False
            ).values_list("call_out_id", flat=True)
            self._declined.update(int(i) for i in declined)  # type: ignore[call-overload]
            self._activity.update({row.id: row.activity_id for row in rows if row.activity_id})
        wanted = [i for i in latest if self._known.get(i) and i not in self._declined]
        linked = {self._activity[i] for i in wanted if i in self._activity}
        if linked:  # checked in meanwhile? then no more pushes for that call-out
            assert me is not None
            there = await activities_on_site(me, sorted(linked))
            wanted = [i for i in wanted if self._activity.get(i) not in there]
        return sorted(wanted)
