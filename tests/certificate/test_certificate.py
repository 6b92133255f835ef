"""Certificates: issued on request with the frozen content, verifiable by anyone, immutable."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core import pii
from models.activity import Activity
from models.hours import Certificate
from resolvers.auth import Viewer
from resolvers.certificate import new_serial
from resolvers.hours import do_approve_hours
from resolvers.validation import mask_id_number
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc

FIELDS = """
code serialNumber volunteerName idType idNumberMasked volunteerNumber teams totalHours
issuer issuerContact issuedAt
entries { activityTitle team startsAt endsAt hours }
records { id hours status activity { id } volunteer { displayName } }
"""

ISSUE = "mutation { issueCertificate { " + FIELDS + " } }"
VERIFY = "query Verify($code: String!) { verifyCertificate(code: $code) { " + FIELDS + " } }"


async def _volunteer_with_hours():
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    other_team = await make_team(admin, "社区服务队")
    me = await make_volunteer("李明")
    await add_member(team, me)
    await add_member(other_team, me)
    first = await make_activity(team, admin, title="社区清洁", starts_at=utc(2026, 3, 1, 9),
                                hours=3)
    second = await make_activity(team, admin, title="助老探访", starts_at=utc(2026, 3, 8, 14),
                                 hours=2)
    pending = await make_activity(team, admin, title="未审核", starts_at=utc(2026, 3, 9, 9))
    for activity in (first, second):
        record = await served(activity, me)
        await do_approve_hours(Viewer(admin), record.id)
    await served(pending, me)
    return admin, me, first


async def test_issue_and_verify_show_the_same_frozen_content(db):
    # given
    _, me, _ = await _volunteer_with_hours()
    # when
    issued = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    verified = (await execute(VERIFY, {"code": issued["code"]}, as_=me)).ok()["verifyCertificate"]
    by_anyone = (await execute(VERIFY, {"code": issued["code"]})).ok()["verifyCertificate"]
    # then
    assert verified == issued
    assert by_anyone == {**issued, "volunteerName": "李*"}  # the real name only for its holder
    assert issued["volunteerName"] == "李明"
    assert issued["idType"] == "居民身份证"
    assert issued["idNumberMasked"] == mask_id_number(pii.id_number_of(me))
    assert issued["volunteerNumber"] == me.volunteer_number
    assert sorted(issued["teams"]) == ["朝阳区志愿服务总队", "社区服务队"]
    assert issued["totalHours"] == 5.0
    assert [(e["activityTitle"], e["team"], e["hours"]) for e in issued["entries"]] == [
        ("社区清洁", "朝阳区志愿服务总队", 3.0), ("助老探访", "朝阳区志愿服务总队", 2.0)]
    assert issued["entries"][0]["startsAt"].startswith("2026-03-01T09:00:00")
    assert [r["hours"] for r in issued["records"]] == [3.0, 2.0]
    assert issued["records"][0]["volunteer"]["displayName"] == "李明"
    assert issued["issuer"] and issued["issuerContact"]
    assert re.fullmatch(r"TX-\d{8}-[0-9A-HJ-NP-Z]{8}", issued["serialNumber"])
    assert len(issued["code"]) >= 32


async def test_certificate_never_changes_after_issue(db):
    # given
    admin, me, first = await _volunteer_with_hours()
    issued = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    record_id = (await Certificate.get(code=issued["code"])).content["records"][0]["recordId"]
    # when: hours are adjusted and the activity renamed afterwards
    await do_approve_hours(Viewer(admin), record_id, 1.0, "复核调整")
    await Activity.filter(id=first.id).update(title="改名后的活动")
    # then
    verified = (await execute(VERIFY, {"code": issued["code"]})).ok()["verifyCertificate"]
    assert verified["entries"] == issued["entries"]
    assert verified["totalHours"] == 5.0
    # and a new certificate shows the new state under a new code and serial
    again = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    assert again["totalHours"] == 3.0
    assert again["code"] != issued["code"] and again["serialNumber"] != issued["serialNumber"]


@pytest.mark.parametrize("length", [40, 41, 64, 500])
async def test_unknown_codes_verify_to_null_and_longer_than_the_column_are_refused(db, length):
    # when: around the code column's 40 characters (the input boundary says so in the schema)
    unknown = await execute(VERIFY, {"code": "not-a-real-code"})
    sent = await execute(VERIFY, {"code": "x" * length})
    # then
    assert unknown.ok()["verifyCertificate"] is None
    if length <= 40:
        assert sent.ok()["verifyCertificate"] is None
    else:
        assert [e["extensions"] for e in sent.errors] == [{"field": "code", "code": "BAD_USER_INPUT"}]


async def test_issuing_needs_a_signed_in_volunteer_and_is_throttled(db):
    # given
    _, me, _ = await _volunteer_with_hours()
    # when
    anonymous = await execute(ISSUE)
    results = [await execute(ISSUE, as_=me) for _ in range(11)]
    # then
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert all(r.ok()["issueCertificate"]["totalHours"] == 5 for r in results[:10])
    assert results[10].codes == ["RATE_LIMITED"]
    assert await Certificate.all().count() == 10


async def test_issuing_without_approved_hours_is_refused_and_writes_nothing(db):
    # given: hours claimed but not approved yet
    admin = await make_volunteer("队长")
    team = await make_team(admin, "社区服务队")
    me = await make_volunteer("李明")
    await served(await make_activity(team, admin, title="未审核"), me)
    # when
    refused = await execute(ISSUE, as_=me)
    # then
    assert refused.codes == ["CONFLICT"]
    assert refused.errors[0]["extensions"]["reason"] == "NO_HOURS"
    assert await Certificate.all().count() == 0


def test_the_serial_carries_the_beijing_issue_date():
    # 05:07 on 7 Dec in Beijing is still 6 Dec in UTC
    assert new_serial(datetime(2026, 12, 6, 21, 7, tzinfo=UTC)).startswith("TX-20261207-")
