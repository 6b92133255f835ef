"""Exports over HTTP: an activity's roster and a team's hours as CSV and XLSX (the same rows
in both, formula-like cells neutralised), only for the people allowed to see those rows,
phones masked unless a platform admin gives a reason (then logged), coded refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import openpyxl
import pytest
from starlette.applications import Starlette

from core import pii, tabular
from core.tabular import neutralise
from models.activity import SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from models.pii import PiiAccess, PiiField
from models.team import Membership, MembershipRole
from resolvers import exports
from schema.exports_http import ROUTES
from schema.insurance_http import ROUTES as INSURANCE_ROUTES
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import add_member, count_statements, make_team, make_volunteer, token_for

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


@pytest.fixture
async def world(db):
    admin = await make_volunteer("平台管理员", platform_admin=True)
    organiser = await make_volunteer("队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    await add_member(team, organiser)
    await Membership.filter(team_id=team.id, volunteer_id=organiser.id).update(
        role=MembershipRole.ADMIN)
    member = await make_volunteer("=HYPERLINK(\"http://x\")")
    waiting = await make_volunteer("@候补")
    outsider = await make_volunteer("散客乙")
    activity = await make_activity(team, organiser, title="+马拉松补给站", starts_at=SOON,
                                   capacity=1)
    confirmed = await SignUp.create(activity=activity, volunteer=member,
                                    status=SignUpStatus.CONFIRMED)
    await SignUp.create(activity=activity, volunteer=waiting, status=SignUpStatus.WAITLISTED,
                        waitlist_seq=1)
    await SignUp.create(activity=activity, volunteer=outsider, status=SignUpStatus.CANCELLED)
    await ServiceRecord.create(sign_up=confirmed, activity=activity, volunteer=member,
                               hours_claimed=3.0, hours=2.5, status=HoursStatus.APPROVED)
    return admin, organiser, team, member, waiting, outsider, activity


async def _get(person, path, headers=None, **params):
    app = Starlette(routes=[*ROUTES, *INSURANCE_ROUTES])
    headers = headers or ({"Authorization": f"Bearer {token_for(person)}"} if person else {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        return await client.get(path, params=params, headers=headers)


def _csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


def _xlsx(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    return [["" if cell is None else str(cell) for cell in row]
            for row in sheet.iter_rows(values_only=True)]


def _roster(activity, suffix):
    return f"/activities/{to_global_id('Activity', activity.id)}/roster.{suffix}"


def _hours(team, suffix):
    return f"/teams/{to_global_id('Team', team.id)}/hours.{suffix}"


def _period():
    return {"from": (SOON.date() - timedelta(days=1)).isoformat(),
            "to": (SOON.date() + timedelta(days=1)).isoformat()}


async def test_the_organiser_gets_the_roster_as_csv_and_xlsx_with_the_same_rows(world):
    # given
    _admin, organiser, _team, member, waiting, _outsider, activity = world
    # when
    as_csv = _csv(await _get(organiser, _roster(activity, "csv")))
    as_xlsx = _xlsx(await _get(organiser, _roster(activity, "xlsx")))
    # then
    assert as_csv[0][:4] == ["姓名", "志愿者编号", "手机", "状态"]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in as_csv[1:]] == [
        ("'=HYPERLINK(\"http://x\")", member.volunteer_number, "", "CONFIRMED", ""),
        ("'@候补", waiting.volunteer_number, "", "WAITLISTED", "1")]
    assert as_xlsx == as_csv


async def test_hours_of_a_team_for_a_period_in_both_formats(world):
    # given
    _admin, organiser, team, member, _waiting, _outsider, _activity = world
    # when
    as_csv = _csv(await _get(organiser, _hours(team, "csv"), **_period()))
    as_xlsx = _xlsx(await _get(organiser, _hours(team, "xlsx"), **_period()))
    later = _csv(await _get(organiser, _hours(team, "csv"),
                            **{"from": (SOON.date() + timedelta(days=2)).isoformat(),
                               "to": (SOON.date() + timedelta(days=9)).isoformat()}))
    # then
    assert as_csv[1][:3] == ["'=HYPERLINK(\"http://x\")", member.volunteer_number, "'+马拉松补给站"]
    assert as_csv[1][5:8] == ["3.0", "2.5", "APPROVED"]
    assert [r[:5] + r[7:] for r in as_xlsx] == [r[:5] + r[7:] for r in as_csv]
    assert [float(r[5]) for r in as_xlsx[1:]] == [3.0]
    assert later == [as_csv[0]]


async def test_people_who_may_not_see_the_rows_get_a_coded_refusal_and_nothing_else(world):
    # given
    _admin, _organiser, team, member, _waiting, outsider, activity = world
    # when
    roster = await _get(member, _roster(activity, "csv"))
    hours = await _get(outsider, _hours(team, "xlsx"), **_period())
    anonymous = await _get(None, _roster(activity, "xlsx"))
    forged = await _get(None, _roster(activity, "csv"), headers={"Authorization": "Bearer x.y.z"})
    # then
    assert roster.status_code == 403 and roster.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.display_name not in roster.text
    assert hours.status_code == 403 and hours.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/activities/nonsense/roster.csv", {}, "activity"),
    ("/teams/{team}/hours.csv", {"from": "2026-13-01", "to": "2026-12-01"}, "from"),
    ("/teams/{team}/hours.csv", {"from": "2026-12-01", "to": "2026-11-01"}, "to"),
    ("/teams/{team}/hours.pdf", {"from": "2026-12-01", "to": "2026-12-02"}, "format"),
])
async def test_bad_parameters_are_bad_user_input(world, path, params, field):
    # given
    _admin, organiser, team, *_ = world
    # when
    response = await _get(organiser, path.format(team=to_global_id("Team", team.id)), **params)
    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_phones_are_masked_for_admins_and_full_only_with_a_reason_which_is_logged(world):
    # given
    admin, organiser, _team, member, waiting, _outsider, activity = world
    phone = pii.phone_of(member)
    # when
    masked = _csv(await _get(admin, _roster(activity, "csv")))
    full = _xlsx(await _get(admin, _roster(activity, "xlsx"), reason="活动当天联系"))
    organiser_asks = await _get(organiser, _roster(activity, "csv"), reason="想要")
    # then
    assert masked[1][2] == phone[:3] + "****" + phone[7:]
    assert full[1][2] == phone
    assert organiser_asks.status_code == 403
    logged = await PiiAccess.filter(field=PiiField.EXPORT).values_list("subject_id", "reason")
    assert sorted(logged) == sorted([(member.id, "活动当天联系"), (waiting.id, "活动当天联系")])


async def test_the_insurer_roster_also_downloads_as_xlsx(world):
    # given
    from models.insurance import InsuranceScope
    from resolvers import insurance
    from resolvers.auth import Viewer
    admin, organiser, team, member, *_ = world
    await add_member(team, member)
    policy = await insurance.do_create_policy(Viewer(admin), insurance.PolicyData(
        "中国人寿", "T-1", SOON.date() - timedelta(days=1), SOON.date() + timedelta(days=5),
        InsuranceScope.TEAM, team_id=team.id))
    path = f"/insurance/{to_global_id('InsurancePolicy', policy.id)}/roster"
    # when
    as_csv = _csv(await _get(admin, path + ".csv", **_period()))
    as_xlsx = _xlsx(await _get(admin, path + ".xlsx", **_period()))
    refused = await _get(organiser, path + ".xlsx", **_period())
    # then
    assert as_xlsx == as_csv and len(as_csv) == 2
    assert as_csv[1][2] == "'=HYPERLINK(\"http://x\")"
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+1", "'=1+1"), ("+86", "'+86"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("张三", "张三"), ("a=b", "a=b"), (-2.5, -2.5), (None, None)])
def test_neutralise(value, shown):
    assert neutralise(value) == shown


async def test_an_xlsx_longer_than_a_sheet_goes_on_to_a_second_sheet_under_the_same_header(monkeypatch):
    # given
    monkeypatch.setattr(tabular, "XLSX_SHEET_ROWS", 3)

    async def rows():
        yield ["姓名", "时长"]
        for index in range(4):
            yield [f"-{index}", index + 0.5]

    # when
    content = b"".join([chunk async for chunk in tabular.xlsx_chunks(rows(), "服务时长")])
    # then
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames == ["服务时长", "服务时长 (2)"]
    assert [list(r) for r in book["服务时长"].iter_rows(values_only=True)] == [
        ["姓名", "时长"], ["'-0", 0.5], ["'-1", 1.5]]
    assert [list(r) for r in book["服务时长 (2)"].iter_rows(values_only=True)] == [
        ["姓名", "时长"], ["'-2", 2.5], ["'-3", 3.5]]


async def test_an_export_reads_in_batches_not_a_statement_per_row(world, monkeypatch):
    # given one hour row, then six
    _admin, organiser, team, *_rest, activity = world
    with count_statements() as one:
        assert len(_csv(await _get(organiser, _hours(team, "csv"), **_period()))) == 2
    for index in range(5):
        person = await make_volunteer(f"队员{index}")
        sign_up = await SignUp.create(activity=activity, volunteer=person,
                                      status=SignUpStatus.CONFIRMED)
        await ServiceRecord.create(sign_up=sign_up, activity=activity, volunteer=person,
                                   hours_claimed=1.0, hours=1.0)
    # when
    with count_statements() as six:
        assert len(_csv(await _get(organiser, _hours(team, "csv"), **_period()))) == 7
    monkeypatch.setattr(exports, "EXPORT_BATCH", 2)
    with count_statements() as batches_of_two:
        assert len(_csv(await _get(organiser, _hours(team, "csv"), **_period()))) == 7
    # then the statements depend on the batches, never on the rows
    assert len(six) == len(one)
    assert sum("service_record" in s for s in batches_of_two) == 4  # 2 + 2 + 2 + an empty read
