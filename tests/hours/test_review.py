"""Approve, adjust and reject hours: totals, points ledger, audit, notifications, leaderboards,
permissions, and correctness under concurrent decisions."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

import pytest

from core.settings import get_settings
from models.hours import HoursAudit, HoursStatus, PointsEntry, ServiceRecord
from models.notification import Notification
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer
from resolvers import hours as hours_rules
from resolvers import leaderboard
from resolvers.auth import Viewer
from resolvers.errors import BadInput
from resolvers.hours import do_approve_hours, do_reject_hours
from schema.relay import to_global_id
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc

APPROVE = """
mutation Approve($id: ID!, $hours: Float, $reason: String) {
  approveHours(recordId: $id, hours: $hours, reason: $reason) {
    id hours hoursClaimed status approvedAt approvedBy { displayName }
    activity { title } volunteer { approvedHours starLevel points }
  }
}
"""

REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectHours(recordId: $id, reason: $reason) { status hours approvedBy { id } }
}
"""

AUDIT = """
query Audit($id: ID!) {
  node(id: $id) { ... on ServiceRecord { status audit { action hoursBefore hoursAfter
    statusBefore statusAfter reason actor { displayName } } } }
}
"""

TEAM_RECORDS = """
query Records($teamId: ID!, $status: HoursStatus) {
  serviceRecords(teamId: $teamId, status: $status) {
    totalCount edges { node { hours status volunteer { displayName } } }
  }
}
"""


@pytest.fixture
def board_updates(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    async def record(volunteer_id: int, team_id: int, district: str, delta: float,
                     approved_at: datetime, delta_id: int | None = None) -> None:
        calls.append((volunteer_id, team_id, district, delta, approved_at))

    monkeypatch.setattr(leaderboard, "notify_hours_changed", record)
    return calls


async def _record(on_site: float = 2.5, hours: float = 3.0):
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    volunteer = await make_volunteer("李明")
    await add_member(team, volunteer)
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=hours)
    record = await served(activity, volunteer, on_site)
    return admin, team, volunteer, record


def _gid(record: ServiceRecord) -> str:
    return to_global_id("ServiceRecord", record.id)


async def test_approving_as_claimed_updates_totals_points_audit_and_tells_the_volunteer(
        db, board_updates):
    # given
    admin, team, volunteer, record = await _record(on_site=2.5)
    # when
    result = await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # then
    data = result.ok()["approveHours"]
    assert data["status"] == "APPROVED" and data["hours"] == 2.5 == data["hoursClaimed"]
    assert data["approvedBy"]["displayName"] == "队长"
    assert data["volunteer"] == {"approvedHours": 2.5, "starLevel": 0, "points": 25}
    assert (await Team.get(id=team.id)).approved_hours == 2.5
    audit = await HoursAudit.filter(record_id=record.id).order_by("id")
    assert [(a.action, a.status_before, a.status_after, a.actor_id) for a in audit] == [
        ("CLAIM", None, "PENDING", volunteer.id), ("APPROVE", "PENDING", "APPROVED", admin.id)]
    note = await Notification.get(volunteer_id=volunteer.id)
    assert note.kind == "HOURS_APPROVED" and note.subject_type == "ServiceRecord"
    approved = await ServiceRecord.get(id=record.id)
    assert board_updates == [(volunteer.id, team.id, "朝阳区", 2.5, approved.approved_at)]


async def test_approving_twice_changes_nothing(db, board_updates):
    # given
    admin, _, volunteer, record = await _record()
    await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # when
    again = await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # then
    assert again.ok()["approveHours"]["status"] == "APPROVED"
    assert await HoursAudit.filter(record_id=record.id).count() == 2
    assert await PointsEntry.filter(volunteer_id=volunteer.id).count() == 1
    assert len(board_updates) == 1


async def test_adjusting_needs_a_reason_and_moves_totals_by_the_difference(db, board_updates):
    # given
    admin, team, volunteer, record = await _record(on_site=2.5)
    await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # when
    no_reason = await execute(APPROVE, {"id": _gid(record), "hours": 2.0}, as_=admin)
    adjusted = await execute(APPROVE, {"id": _gid(record), "hours": 2.0, "reason": "提前离场"},
                             as_=admin)
    # then
    assert no_reason.codes == ["BAD_USER_INPUT"]
    assert no_reason.errors[0]["extensions"]["field"] == "reason"
    assert adjusted.ok()["approveHours"]["hours"] == 2.0
    assert adjusted.data["approveHours"]["volunteer"]["points"] == 20
    assert (await Volunteer.get(id=volunteer.id)).approved_hours == pytest.approx(2.0)
    assert (await Team.get(id=team.id)).approved_hours == pytest.approx(2.0)
    last = await HoursAudit.filter(record_id=record.id).order_by("-id").first()
    assert last is not None
    assert (last.action, last.hours_before, last.hours_after, last.reason) == (
        "ADJUST", 2.5, 2.0, "提前离场")
    kinds = await Notification.filter(volunteer_id=volunteer.id).order_by("id").values_list(
        "kind", flat=True)
    assert kinds == ["HOURS_APPROVED", "HOURS_ADJUSTED"]
    # the correction is booked in the period the hours were first approved in
    assert [call[3] for call in board_updates] == [2.5, -0.5]
    assert board_updates[0][4] == board_updates[1][4]


async def test_bad_hours_are_refused_and_write_nothing(db, board_updates):
    # given: a 3-hour activity
    admin, _, volunteer, record = await _record(hours=3.0)
    # when
    results = [await execute(APPROVE, {"id": _gid(record), "hours": hours, "reason": "r"},
                             as_=admin) for hours in (0, -1, 3.5, 0.004, 1e309)]
    long_reason = await execute(APPROVE, {"id": _gid(record), "hours": 1, "reason": "长" * 501},
                                as_=admin)
    # then
    # (0.004 h is stored to 0.01 h: it would be an approval of 0 h)
    for result in results[:4]:
        assert result.codes == ["BAD_USER_INPUT"]
        assert result.errors[0]["extensions"]["field"] == "hours"
    assert results[4].codes == ["BAD_USER_INPUT"]
    assert long_reason.codes == ["BAD_USER_INPUT"]
    assert long_reason.errors[0]["extensions"]["field"] == "reason"
    assert (await ServiceRecord.get(id=record.id)).status == HoursStatus.PENDING
    assert await HoursAudit.filter(record_id=record.id).count() == 1
    assert await Notification.filter(volunteer_id=volunteer.id).count() == 0
    assert board_updates == []


async def test_rejecting_approved_hours_takes_them_back(db, board_updates):
    # given
    admin, team, volunteer, record = await _record(on_site=3.0)
    await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # when
    no_reason = await execute(REJECT, {"id": _gid(record), "reason": "  "}, as_=admin)
    rejected = await execute(REJECT, {"id": _gid(record), "reason": "未实际到场"}, as_=admin)
    again = await execute(REJECT, {"id": _gid(record), "reason": "未实际到场"}, as_=admin)
    # then
    assert no_reason.codes == ["BAD_USER_INPUT"]
    assert rejected.ok()["rejectHours"] == {"status": "REJECTED", "hours": 3.0, "approvedBy": None}
    assert again.ok()["rejectHours"]["status"] == "REJECTED"
    assert (await Volunteer.get(id=volunteer.id)).approved_hours == pytest.approx(0)
    assert (await Team.get(id=team.id)).approved_hours == pytest.approx(0)
    ledger = await PointsEntry.filter(volunteer_id=volunteer.id).order_by("id").values_list(
        "delta", flat=True)
    assert ledger == [30, -30]
    assert [call[3] for call in board_updates] == [3.0, -3.0]
    assert board_updates[0][4] == board_updates[1][4]
    kinds = await Notification.filter(volunteer_id=volunteer.id).order_by("id").values_list(
        "kind", flat=True)
    assert kinds == ["HOURS_APPROVED", "HOURS_REJECTED"]
    # and overturning the rejection needs a reason
    overturn = await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    assert overturn.codes == ["BAD_USER_INPUT"]
    overturned = await execute(APPROVE, {"id": _gid(record), "reason": "核实已到场"}, as_=admin)
    assert overturned.ok()["approveHours"]["volunteer"]["approvedHours"] == 3.0


async def test_who_may_decide(db, board_updates):
    # given
    admin, team, volunteer, record = await _record()
    parent_admin = await make_volunteer("上级队长")
    parent = await make_team(parent_admin, "区总队")
    team.parent = parent
    team.path = f"{parent.path}{team.id}/"
    await team.save()
    member = await make_volunteer("队员")
    await add_member(team, member)
    # when
    by_member = await execute(APPROVE, {"id": _gid(record)}, as_=member)
    by_self = await execute(APPROVE, {"id": _gid(record)}, as_=volunteer)
    anonymous = await execute(APPROVE, {"id": _gid(record)})
    missing = await execute(APPROVE, {"id": to_global_id("ServiceRecord", 999)}, as_=admin)
    wrong_type = await execute(APPROVE, {"id": to_global_id("Team", 1)}, as_=admin)
    # then
    assert by_member.codes == ["FORBIDDEN"]
    assert by_self.codes == ["FORBIDDEN"]
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert missing.codes == ["NOT_FOUND"]
    assert wrong_type.codes == ["BAD_USER_INPUT"]
    assert wrong_type.errors[0]["extensions"]["field"] == "recordId"
    assert (await ServiceRecord.get(id=record.id)).status == HoursStatus.PENDING
    # when: an admin of the parent team decides
    by_parent = await execute(APPROVE, {"id": _gid(record)}, as_=parent_admin)
    # then
    assert by_parent.ok()["approveHours"]["status"] == "APPROVED"


async def test_an_admin_cannot_approve_their_own_hours(db, board_updates):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9))
    record = await served(activity, admin)
    # when
    result = await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # then
    assert result.codes == ["FORBIDDEN"]


async def test_concurrent_decisions_keep_totals_equal_to_the_records(db, board_updates):
    # given: two admins and one volunteer with two records
    admin = await make_volunteer("队长")
    second_admin = await make_volunteer("副队长")
    team = await make_team(admin)
    await Membership.create(team=team, volunteer=second_admin, role=MembershipRole.ADMIN,
                            status=MembershipStatus.APPROVED)
    volunteer = await make_volunteer("李明")
    records = [
        await served(await make_activity(team, admin, starts_at=utc(2026, 3, day, 9), hours=4),
                     volunteer, 4)
        for day in (1, 2)
    ]
    admins = [Viewer(admin), Viewer(second_admin)]

    async def decide(index: int) -> None:
        record = records[index % 2]
        viewer = admins[index % 2]
        try:
            if index % 3 == 0:
                await do_reject_hours(viewer, record.id, "复核")
            else:
                await do_approve_hours(viewer, record.id, 1 + index % 4, "调整")
        except BadInput:
            pass

    # when
    await asyncio.gather(*(decide(i) for i in range(24)))
    # then
    final = await ServiceRecord.filter(volunteer_id=volunteer.id)
    counted = sum(r.hours for r in final if r.status == HoursStatus.APPROVED)
    assert (await Volunteer.get(id=volunteer.id)).approved_hours == pytest.approx(counted)
    assert (await Team.get(id=team.id)).approved_hours == pytest.approx(counted)
    points = sum(entry.delta for entry in await PointsEntry.filter(volunteer_id=volunteer.id))
    assert points == sum(hours_rules.points_for(r.hours) for r in final
                         if r.status == HoursStatus.APPROVED)
    assert sum(call[3] for call in board_updates) == pytest.approx(counted)


async def test_star_level_rises_with_approved_hours_and_is_announced(db, board_updates):
    # given: 99 approved hours so far
    admin, _, volunteer, record = await _record(on_site=2.0)
    await Volunteer.filter(id=volunteer.id).update(approved_hours=99)
    # when
    result = await execute(APPROVE, {"id": _gid(record)}, as_=admin)
    # then
    assert result.ok()["approveHours"]["volunteer"]["starLevel"] == 1
    kinds = await Notification.filter(volunteer_id=volunteer.id).order_by("id").values_list(
        "kind", flat=True)
    assert kinds == ["HOURS_APPROVED", "STAR_LEVEL_REACHED"]


async def test_star_thresholds_are_configuration(monkeypatch: pytest.MonkeyPatch):
    # given: a city using 50/150/300/800/1500
    city = dataclasses.replace(get_settings(), star_thresholds=(50, 150, 300, 800, 1500))
    monkeypatch.setattr(hours_rules, "get_settings", lambda: city)
    # then
    assert [hours_rules.star_level(h) for h in (49.9, 50, 299, 300, 1500)] == [0, 1, 2, 3, 5]


async def test_audit_trail_and_review_list_are_for_the_volunteer_and_admins(db, board_updates):
    # given
    admin, team, volunteer, record = await _record(on_site=2.0)
    stranger = await make_volunteer("路人")
    await execute(APPROVE, {"id": _gid(record), "hours": 1.5, "reason": "迟到"}, as_=admin)
    # when
    own = await execute(AUDIT, {"id": _gid(record)}, as_=volunteer)
    foreign = await execute(AUDIT, {"id": _gid(record)}, as_=stranger)
    pending = await execute(TEAM_RECORDS, {"teamId": to_global_id("Team", team.id),
                                           "status": "PENDING"}, as_=admin)
    approved = await execute(TEAM_RECORDS, {"teamId": to_global_id("Team", team.id),
                                            "status": "APPROVED"}, as_=admin)
    not_admin = await execute(TEAM_RECORDS, {"teamId": to_global_id("Team", team.id)},
                              as_=stranger)
    # then
    trail = own.ok()["node"]["audit"]
    assert [(a["action"], a["hoursBefore"], a["hoursAfter"], a["reason"]) for a in trail] == [
        ("CLAIM", None, 2.0, None), ("ADJUST", 2.0, 1.5, "迟到")]
    assert trail[1]["actor"]["displayName"] == "队长"
    assert foreign.codes == ["FORBIDDEN"]
    assert pending.ok()["serviceRecords"]["totalCount"] == 0
    assert approved.ok()["serviceRecords"]["edges"][0]["node"] == {
        "hours": 1.5, "status": "APPROVED", "volunteer": {"displayName": "李明"}}
    assert not_admin.codes == ["FORBIDDEN"]
