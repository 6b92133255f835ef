"""Volunteer accident insurance: policies, whether each confirmed shift is covered, the shifts
organisers still need cover for, the insurer's roster (名单) and claims.

Decisions where the issue was silent (docs/community.md):
- A policy covers a shift when the shift lies wholly inside its coverage dates (Beijing) and
  the volunteer is in its scope: ALL_VOLUNTEERS = every registered (ACTIVE, consenting)
  volunteer; TEAM = the team's approved members, on any shift; ACTIVITIES = the confirmed
  participants of the activities it names. Coverage is derived when read, never stored.
- Platform admins record policies and export rosters; organisers (admins of the activity's
  team) see their uncovered upcoming shifts and open claims, as does the injured volunteer.
- The roster shows ID numbers masked; a platform admin who gives a reason gets them in full.
  Either way every person on it is logged as exported (resolvers/pii.py), before the first
  byte leaves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import pii
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import ServiceRecord
from models.insurance import (
    ClaimStatus,
    InsuranceClaim,
    InsurancePolicy,
    InsurancePolicyActivity,
    InsuranceScope,
)
from models.team import Team
from models.volunteer import Volunteer
from resolvers.activity import check_activity_admin
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.pii import check_pii_read, do_record_export
from resolvers.sql import Sql, fetch
from resolvers.team import administered_team_ids
from resolvers.validation import check_text, mask_id_number

INSURER_MAX = 100
POLICY_NUMBER_MAX = 64
DESCRIPTION_MAX = 2000
ACTIVITIES_MAX = 100
UNCOVERED_MAX = 200
ROSTER_DAYS_MAX = 366
ROSTER_BATCH = 500
ROSTER_LOG_BATCH = 5000


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)


# Shift (sign-up s, activity a, volunteer v) covered by policy p: one predicate for every use.
COVERED_BY = """(p.covers_from <= a.starts_at AND p.covers_until >= a.ends_at AND (
  (p.scope = 'ALL_VOLUNTEERS' AND v.status = 'ACTIVE')
  OR (p.scope = 'TEAM' AND EXISTS (SELECT 1 FROM membership m WHERE m.team_id = p.team_id
      AND m.volunteer_id = s.volunteer_id AND m.status = 'APPROVED'))
  OR (p.scope = 'ACTIVITIES' AND EXISTS (SELECT 1 FROM insurance_policy_activity pa
      WHERE pa.policy_id = p.id AND pa.activity_id = s.activity_id))))"""
SHIFT = ("sign_up s JOIN activity a ON a.id = s.activity_id "
         "JOIN volunteer v ON v.id = s.volunteer_id")


@dataclass
class PolicyData:
    insurer: str
    policy_number: str
    covers_from: date
    covers_until: date
    scope: InsuranceScope
    team_id: int | None = None
    activity_ids: list[int] | None = None


def _require_admin(viewer: Viewer, doing: str) -> Volunteer:
    admin = viewer.require_active()
    if not admin.is_platform_admin:
        raise Forbidden(f"Only platform admins {doing}.")
    return admin


async def do_create_policy(viewer: Viewer, data: PolicyData) -> InsurancePolicy:
    """Platform admins. The policy and its activity list in one transaction; a policy number
    recorded twice is a CONFLICT."""
    admin = _require_admin(viewer, "record insurance policies")
    insurer = check_text(data.insurer, "input.insurer", max_len=INSURER_MAX)
    number = check_text(data.policy_number, "input.policyNumber", max_len=POLICY_NUMBER_MAX)
    if data.covers_until < data.covers_from:
        raise BadInput("input.coversUntil", "coversUntil must not be before coversFrom.")
    activity_ids = sorted(set(data.activity_ids or []))
    if data.scope == InsuranceScope.TEAM:
        if data.team_id is None or not await Team.exists(id=data.team_id):
            raise BadInput("input.teamId", "A TEAM policy needs an existing teamId.")
    elif data.team_id is not None:
        raise BadInput("input.teamId", "Only a TEAM policy names a team.")
    if data.scope == InsuranceScope.ACTIVITIES:
        if not 1 <= len(activity_ids) <= ACTIVITIES_MAX:
            raise BadInput("input.activityIds", f"An ACTIVITIES policy names 1–{ACTIVITIES_MAX} "
                                                "activities.")
        if await Activity.filter(id__in=activity_ids).count() != len(activity_ids):
            raise BadInput("input.activityIds", "Every activity must exist.")
    elif activity_ids:
        raise BadInput("input.activityIds", "Only an ACTIVITIES policy names activities.")
    try:
        async with in_transaction() as conn:
            policy = await InsurancePolicy.create(
                insurer=insurer, policy_number=number, covers_from=midnight(data.covers_from),
                covers_until=midnight(data.covers_until + timedelta(days=1)), scope=data.scope,
                team_id=data.team_id, created_by_id=admin.id, using_db=conn)
            await InsurancePolicyActivity.bulk_create([
                InsurancePolicyActivity(policy_id=policy.id, activity_id=i) for i in activity_ids],
                using_db=conn)
    except IntegrityError:
        raise Conflict("A policy with this number is already recorded.") from None
    return policy


def list_policies(viewer: Viewer) -> Any:
    _require_admin(viewer, "see insurance policies")
    return InsurancePolicy.all()


async def insured_sign_ups(sign_up_ids: list[int]) -> set[int]:
    """Which of these sign-ups are confirmed shifts some policy covers: one statement."""
    if not sign_up_ids:
        return set()
    rows = await fetch(connections.get("default"), Sql(
        f"SELECT s.id AS id FROM {SHIFT} WHERE :ids AND s.status = 'CONFIRMED' "
        f"AND EXISTS (SELECT 1 FROM insurance_policy p WHERE {COVERED_BY})",
        ids=Sql.one_of("s.id", sign_up_ids)))
    return {int(row["id"]) for row in rows}


async def uncovered_shifts(viewer: Viewer, team_id: int | None = None) -> list[SignUp]:
    """Confirmed sign-ups of upcoming published activities of the teams the viewer
    administers (or of one of them) that no policy covers, soonest first."""
    volunteer = viewer.require()
    teams = await administered_team_ids(volunteer.id) if not viewer.is_platform_admin else None
    if team_id is not None:
        if teams is not None and team_id not in teams:
            raise Forbidden("Only the team's admins see its uncovered shifts.")
        teams = {team_id}
    scope = Sql.one_of("a.team_id", sorted(teams)) if teams is not None else Sql("1 = 1")
    rows = await fetch(connections.get("default"), Sql(
        f"SELECT s.id AS id FROM {SHIFT} WHERE :teams AND s.status = 'CONFIRMED' "
        "AND a.status = 'PUBLISHED' AND a.starts_at > :now "
        f"AND NOT EXISTS (SELECT 1 FROM insurance_policy p WHERE {COVERED_BY}) "
        "ORDER BY a.starts_at, s.id LIMIT :limit",
        teams=scope, now=datetime.now(UTC), limit=UNCOVERED_MAX))
    ids = [int(row["id"]) for row in rows]
    found = {s.id: s for s in await SignUp.filter(id__in=ids)}
    return [found[i] for i in ids]


# --- roster ------------------------------------------------------------------------------

ROSTER_HEADER = ["保单号", "保险公司", "姓名", "证件类型", "证件号码", "志愿者编号", "活动",
                 "地点", "开始", "结束"]


@dataclass(frozen=True)
class RosterRequest:
    policy: InsurancePolicy
    start: datetime
    end: datetime
    full_ids_reason: str | None


async def check_roster(viewer: Viewer, policy_id: int, first_day: date, last_day: date,
                       reason: str | None, client_address: str) -> RosterRequest:
    """Platform admins. Logs every person on the roster as exported (with the reason, or
    'insurer roster') before returning, so nothing leaves unlogged."""
    _require_admin(viewer, "export insurance rosters")
    policy = await InsurancePolicy.get_or_none(id=policy_id)
    if policy is None:
        raise NotFound("Insurance policy")
    if not 0 <= (last_day - first_day).days < ROSTER_DAYS_MAX:
        raise BadInput("to", f"to must be on or after from, at most {ROSTER_DAYS_MAX} days.")
    full_reason = check_pii_read(viewer, 0, reason) if reason else None
    request = RosterRequest(policy, midnight(first_day), midnight(last_day + timedelta(days=1)),
                            full_reason)
    after = 0
    while people := await fetch(connections.get("default"), Sql(  # in batches: flat memory
            f"SELECT DISTINCT v.id AS v FROM {SHIFT} JOIN insurance_policy p ON p.id = :policy "
            "WHERE s.status = 'CONFIRMED' AND a.starts_at >= :start AND a.starts_at < :end "
            f"AND v.id > :after AND {COVERED_BY} ORDER BY v.id LIMIT :limit",
            policy=policy.id, start=request.start, end=request.end, after=after,
            limit=ROSTER_LOG_BATCH)):
        await do_record_export(viewer, [int(row["v"]) for row in people],
                               full_reason or "insurer roster (masked)", client_address)
        after = int(people[-1]["v"])
    return request


async def _roster_rows(request: RosterRequest, after: int, limit: int, *,
                       columns: str) -> list[dict[str, Any]]:
    return await fetch(connections.get("default"), Sql(
        f"SELECT {columns} FROM {SHIFT} JOIN insurance_policy p ON p.id = :policy "
        f"WHERE s.status = 'CONFIRMED' AND a.starts_at >= :start AND a.starts_at < :end "
        f"AND s.id > :after AND {COVERED_BY} ORDER BY s.id LIMIT :limit",
        policy=request.policy.id, start=request.start, end=request.end, after=after,
        limit=limit))


async def roster_lines(request: RosterRequest) -> AsyncIterator[list[str]]:
    """The roster's rows in batches (keyset by sign-up id): memory stays one batch."""
    yield ROSTER_HEADER
    after = 0
    policy = request.policy
    while True:
        rows = await _roster_rows(request, after, ROSTER_BATCH, columns=(
            "s.id AS id, v.real_name AS name, v.id_number_cipher AS id_number, "
            "v.volunteer_number AS number, a.title AS title, a.address AS address, "
            "a.district AS district, a.starts_at AS starts, a.ends_at AS ends"))
        if not rows:
            return
        for row in rows:
            id_number = pii.open_optional(row["id_number"], pii.ID_NUMBER) or ""
            shown = id_number if request.full_ids_reason else mask_id_number(id_number) \
                if id_number else ""
            yield [policy.policy_number, policy.insurer, row["name"], "居民身份证", shown,
                   row["number"] or "", row["title"], row["address"] or row["district"],
                   _local(row["starts"]), _local(row["ends"])]
        after = int(rows[-1]["id"])


def _local(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))


# --- claims ------------------------------------------------------------------------------


async def do_open_claim(viewer: Viewer, sign_up_id: int, incident_at: datetime,
                        description: str) -> InsuranceClaim:
    """The injured volunteer or the activity's team admins, for a confirmed, checked-in shift
    a policy covers; the incident lies between check-in and check-out (or the shift's end)."""
    person = viewer.require_active()
    description = check_text(description, "description", max_len=DESCRIPTION_MAX)
    if incident_at.tzinfo is None:
        raise BadInput("incidentAt", "incidentAt needs a time zone offset.")
    sign_up = await SignUp.get_or_none(id=sign_up_id)
    if sign_up is None:
        raise NotFound("Sign-up")
    if sign_up.volunteer_id != person.id:
        try:
            await check_activity_admin(viewer, sign_up.activity_id)
        except Forbidden:
            raise NotFound("Sign-up") from None
    activity = await Activity.get(id=sign_up.activity_id)
    if sign_up.status != SignUpStatus.CONFIRMED or sign_up.checked_in_at is None:
        raise Conflict("Claims are for confirmed shifts the volunteer checked in to.")
    until = sign_up.checked_out_at or activity.ends_at
    if not sign_up.checked_in_at <= incident_at <= until:
        raise BadInput("incidentAt", "The incident must lie between check-in and check-out.")
    rows = await fetch(connections.get("default"), Sql(
        f"SELECT p.id AS id FROM {SHIFT} JOIN insurance_policy p ON {COVERED_BY} "
        "WHERE s.id = :sign_up ORDER BY p.covers_from DESC, p.id LIMIT 1", sign_up=sign_up.id))
    if not rows:
        raise Conflict("No policy covers this shift.")
    record = await ServiceRecord.get_or_none(sign_up_id=sign_up.id)
    return await InsuranceClaim.create(
        policy_id=int(rows[0]["id"]), sign_up_id=sign_up.id,
        service_record_id=record.id if record else None, incident_at=incident_at,
        description=description, status=ClaimStatus.OPEN, created_by_id=person.id)


async def claim_visible(viewer: Viewer, claim: InsuranceClaim) -> bool:
    if viewer.is_platform_admin:
        return True
    sign_up = await SignUp.get(id=claim.sign_up_id)
    if sign_up.volunteer_id == viewer.id:
        return True
    activity = await Activity.get(id=sign_up.activity_id)
    return activity.status != ActivityStatus.DRAFT and activity.team_id in (
        await administered_team_ids(viewer.id) if viewer.id else set())
