"""Accident insurance: policies by scope, each confirmed shift knows whether it is covered
(batched), organisers see uncovered upcoming shifts, the insurer's roster streams as CSV with
ID numbers masked unless a reason is given (every export logged), claims on covered shifts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from core import pii
from models.activity import SignUp, SignUpStatus
from models.insurance import InsuranceClaim, InsurancePolicy, InsuranceScope
from models.pii import PiiAccess, PiiField
from models.volunteer import VolunteerStatus
from resolvers import insurance
from resolvers.auth import Viewer
from schema.insurance_http import ROUTES
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer, token_for

CREATE = """mutation($input: InsurancePolicyInput!) { createInsurancePolicy(input: $input) {
  insurer policyNumber coversFrom coversUntil scope activityIds rosterPath } }"""
MY_SHIFTS = "{ me { signUps { edges { node { insured activity { title } } } } } }"
UNCOVERED = "{ uncoveredShifts { volunteer { displayName } activity { title } } }"
CLAIM = """mutation($s: ID!, $at: DateTime!) { openInsuranceClaim(signUpId: $s, incidentAt: $at,
  description: "搬运物资时扭伤脚踝") { status policy { policyNumber } signUp { checkedInAt } } }"""
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def _days(offset: int) -> str:
    return (SOON.date() + timedelta(days=offset)).isoformat()


@pytest.fixture
async def world(db):
    admin = await make_volunteer("平台管理员", platform_admin=True)
    organiser = await make_volunteer("队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    await add_member(team, organiser)
    await team.memberships.filter(volunteer_id=organiser.id).update(role="ADMIN")
    member = await make_volunteer("队员甲")
    await add_member(team, member)
    outsider = await make_volunteer("散客乙")
    named = await make_activity(team, organiser, title="马拉松补给站", starts_at=SOON)
    other = await make_activity(team, organiser, title="社区义诊", starts_at=SOON + timedelta(hours=4))
    late = await make_activity(team, organiser, title="年底慰问", starts_at=SOON + timedelta(days=40))
    shifts = {}
    for person, activity in ((member, other), (outsider, named), (outsider, other),
                             (member, late)):
        shifts[(person.display_name, activity.title)] = await SignUp.create(
            activity=activity, volunteer=person, status=SignUpStatus.CONFIRMED)
    return admin, organiser, team, member, outsider, named, shifts


async def _policy(admin, **input):
    result = await execute(CREATE, {"input": {"insurer": "中国人寿", "coversFrom": _days(-1),
                                              "coversUntil": _days(5), **input}}, as_=admin)
    return result


async def test_policies_are_checked_and_written_whole(world):
    admin, organiser, team, _, _, named, _ = world
    team_id = to_global_id("Team", team.id)
    # when
    made = await _policy(admin, policyNumber="P-001", scope="ACTIVITIES",
                         activityIds=[to_global_id("Activity", named.id)])
    bad = [await _policy(admin, policyNumber="P-002", scope="TEAM"),
           await _policy(admin, policyNumber="P-003", scope="ACTIVITIES"),
           await _policy(admin, policyNumber="P-004", scope="ALL_VOLUNTEERS", teamId=team_id),
           await _policy(admin, policyNumber="P-005", scope="ALL_VOLUNTEERS",
                         coversUntil=_days(-2))]
    duplicate = await _policy(admin, policyNumber="P-001", scope="ALL_VOLUNTEERS")
    refused = await _policy(organiser, policyNumber="P-006", scope="ALL_VOLUNTEERS")
    # then
    policy = made.ok()["createInsurancePolicy"]
    assert (policy["coversFrom"], policy["coversUntil"]) == (_days(-1), _days(5))
    assert policy["rosterPath"].endswith("/roster.csv")
    assert [r.codes for r in bad] == [["BAD_USER_INPUT"]] * 4
    assert duplicate.codes == ["CONFLICT"] and refused.codes == ["FORBIDDEN"]
    assert await InsurancePolicy.all().count() == 1


async def test_each_scope_covers_its_shifts_and_organisers_see_the_rest(world):
    # given: members of the team, and the named activity's participants, for five days
    admin, organiser, team, member, outsider, named, shifts = world
    await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "中国人寿", "T-1", SOON.date() - timedelta(days=1), SOON.date() + timedelta(days=5),
        InsuranceScope.TEAM, team_id=team.id))
    await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "平安保险", "A-1", SOON.date() - timedelta(days=1), SOON.date() + timedelta(days=5),
        InsuranceScope.ACTIVITIES, activity_ids=[named.id]))
    # when
    covered = await insurance.insured_sign_ups([s.id for s in shifts.values()])
    with count_statements() as statements:
        mine = (await execute(MY_SHIFTS, as_=member)).ok()["me"]["signUps"]["edges"]
    uncovered = (await execute(UNCOVERED, as_=organiser)).ok()["uncoveredShifts"]
    stranger = await execute(UNCOVERED, as_=outsider)
    # then
    assert covered == {shifts[("队员甲", "社区义诊")].id, shifts[("散客乙", "马拉松补给站")].id}
    assert sorted((e["node"]["activity"]["title"], e["node"]["insured"]) for e in mine) == [
        ("年底慰问", False), ("社区义诊", True)]
    assert sum("insurance_policy" in s for s in statements) == 1
    assert [(u["volunteer"]["displayName"], u["activity"]["title"]) for u in uncovered] == [
        ("散客乙", "社区义诊"), ("队员甲", "年底慰问")]
    assert stranger.ok()["uncoveredShifts"] == []
    # an all-volunteers policy covers registered volunteers only
    await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "人保", "ALL-1", SOON.date(), SOON.date() + timedelta(days=60),
        InsuranceScope.ALL_VOLUNTEERS))
    await outsider.__class__.filter(id=outsider.id).update(status=VolunteerStatus.SUSPENDED)
    assert await insurance.insured_sign_ups([s.id for s in shifts.values()]) == {
        shifts[("队员甲", "社区义诊")].id, shifts[("散客乙", "马拉松补给站")].id,
        shifts[("队员甲", "年底慰问")].id}


async def _roster(person, policy, **params):
    app = Starlette(routes=ROUTES)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        return await client.get(
            f"/insurance/{to_global_id('InsurancePolicy', policy.id)}/roster.csv",
            params={"from": _days(-1), "to": _days(5), **params},
            headers={"Authorization": f"Bearer {token_for(person)}"})


async def test_the_roster_streams_masked_unless_a_reason_is_given_and_is_logged(world):
    # given
    admin, organiser, team, member, _outsider, _named, _ = world
    policy = await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "中国人寿", "T-9", SOON.date() - timedelta(days=1), SOON.date() + timedelta(days=5),
        InsuranceScope.TEAM, team_id=team.id))
    full_id = pii.id_number_of(member)
    # when
    masked = await _roster(admin, policy)
    full = await _roster(admin, policy, reason="保险公司理赔核对")
    refused = await _roster(organiser, policy)
    # then
    assert masked.status_code == 200 and masked.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(masked.text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["保单号", "保险公司", "姓名", "证件类型", "证件号码"]
    assert [(r[2], r[4], r[6]) for r in rows[1:]] == [
        ("队员甲", full_id[:6] + "********" + full_id[14:], "社区义诊")]
    assert list(csv.reader(io.StringIO(full.text.lstrip("\ufeff"))))[1][4] == full_id
    assert refused.status_code == 403
    exports = await PiiAccess.filter(field=PiiField.EXPORT).values_list("subject_id", "reason")
    assert sorted(exports) == [(member.id, "insurer roster (masked)"), (member.id, "保险公司理赔核对")]


async def test_claims_need_a_covered_checked_in_shift(world):
    # given
    admin, organiser, team, member, outsider, _named, shifts = world
    await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "中国人寿", "T-2", SOON.date() - timedelta(days=1), SOON.date() + timedelta(days=5),
        InsuranceScope.TEAM, team_id=team.id))
    covered, uncovered = shifts[("队员甲", "社区义诊")], shifts[("散客乙", "社区义诊")]
    start = SOON + timedelta(hours=4)
    for sign_up in (covered, uncovered):
        await SignUp.filter(id=sign_up.id).update(checked_in_at=start)
    at = (start + timedelta(hours=1)).isoformat()
    # when
    claim = await execute(CLAIM, {"s": to_global_id("SignUp", covered.id), "at": at},
                          as_=organiser)
    not_covered = await execute(CLAIM, {"s": to_global_id("SignUp", uncovered.id), "at": at},
                                as_=outsider)
    too_early = await execute(CLAIM, {"s": to_global_id("SignUp", covered.id),
                                      "at": (start - timedelta(hours=1)).isoformat()},
                              as_=member)
    stranger = await execute(CLAIM, {"s": to_global_id("SignUp", covered.id), "at": at},
                             as_=outsider)
    # then
    assert claim.ok()["openInsuranceClaim"]["status"] == "OPEN"
    assert claim.ok()["openInsuranceClaim"]["policy"]["policyNumber"] == "T-2"
    assert not_covered.codes == ["CONFLICT"]
    assert too_early.codes == ["BAD_USER_INPUT"]
    assert stranger.codes == ["NOT_FOUND"]
    assert await InsuranceClaim.all().count() == 1
