"""Certificates per MCA Order 67: the PDF (read back), the public verification page, and
reissue after a correction of one of its records."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pypdf
import pytest
from starlette.applications import Starlette

from core import pii
from models.hours import Certificate
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours
from resolvers.validation import mask_id_number
from schema.pages import ROUTES
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc

ISSUE = """mutation { issueCertificate { code serialNumber verificationUrl pdfUrl superseded
  issuerPrincipal issuerHandler entries { date activityTitle hours team } } }"""
REQUEST_FIX = """mutation Fix($recordId: ID!, $hours: Float!, $reason: String!) {
  requestRecordCorrection(recordId: $recordId, hours: $hours, reason: $reason) { id status } }"""
DECIDE = """mutation Decide($id: ID!, $approve: Boolean!, $reason: String!) {
  decideDataRequest(id: $id, approve: $approve, reason: $reason) { status decisionReason } }"""
RECORDS = "query { me { serviceRecords { edges { node { id hours } } } } }"


@pytest.fixture
async def client(db) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def _served_twice() -> tuple[Volunteer, Volunteer]:
    admin = await make_volunteer("王队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    me = await make_volunteer("欧阳娜娜")
    await add_member(team, me)
    for title, start, hours in (("社区清洁", utc(2026, 3, 1, 1), 3), ("助老探访", utc(2026, 3, 8, 6), 2)):
        record = await served(await make_activity(team, admin, title=title, starts_at=start,
                                                  hours=hours), me)
        await do_approve_hours(Viewer(admin), record.id)
    return admin, me


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_the_pdf_carries_everything_order_67_asks_for_and_a_qr_link(db, client, monkeypatch):
    # given
    for name, value in {"CERTIFICATE_ISSUER": "朝阳区志愿服务联合会", "CERTIFICATE_PRINCIPAL": "张主任",
                        "CERTIFICATE_HANDLER": "李经办", "CERTIFICATE_CONTACT": "010-65000000",
                        "PUBLIC_BASE_URL": "https://tongxin.example.cn"}.items():
        monkeypatch.setenv(name, value)
    _, me = await _served_twice()
    issued = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    # when
    response = await client.get(_path(issued["pdfUrl"]))
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)  # no wraps
    id_number = pii.id_number_of(me)
    for shown in ("志愿服务记录证明", "欧阳娜娜", "居民身份证", mask_id_number(id_number),
                  me.volunteer_number, issued["serialNumber"], "社区清洁", "助老探访",
                  "2026-03-01", "2026-03-08", "朝阳区志愿服务总队", "朝阳区志愿服务联合会",
                  "张主任", "李经办", "010-65000000", issued["verificationUrl"]):
        assert shown in text, shown
    assert id_number not in text
    assert "累计参加志愿服务5小时" in text
    fonts = {str(font["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("STSong-Light" in font for font in fonts)
    assert issued["verificationUrl"] == f"https://tongxin.example.cn/certificates/{issued['code']}"
    assert issued["issuerPrincipal"] == "张主任" and issued["issuerHandler"] == "李经办"
    assert [e["date"] for e in issued["entries"]] == ["2026-03-01", "2026-03-08"]


async def test_the_verification_page_shows_the_certificate_masked_and_nothing_else(db, client):
    # given
    _, me = await _served_twice()
    issued = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    # when
    page = await client.get(f"/certificates/{issued['code']}")
    unknown = await client.get("/certificates/not-a-code")
    unknown_pdf = await client.get("/certificates/not-a-code.pdf")
    # then
    assert page.status_code == 200
    body = page.text
    assert "欧***" in body and "欧阳娜娜" not in body
    assert mask_id_number(pii.id_number_of(me)) in body
    assert pii.id_number_of(me) not in body and pii.phone_of(me) not in body
    assert issued["serialNumber"] in body and "本证明有效" in body
    assert "社区清洁" in body and "5 小时" in body
    assert page.headers["cache-control"] == "no-store"
    assert unknown.status_code == 404 and unknown_pdf.status_code == 404


async def test_a_granted_record_correction_reissues_the_certificate_and_supersedes_the_old(db, client):
    # given
    admin, me = await _served_twice()
    old = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    record = (await execute(RECORDS, as_=me)).ok()["me"]["serviceRecords"]["edges"][0]["node"]
    record_id = record["id"]
    asked = (await execute(REQUEST_FIX, {"recordId": record_id, "hours": 1.5,
                                         "reason": "实际服务 1.5 小时"}, as_=me)).ok()
    request_id = asked["requestRecordCorrection"]["id"]
    # when
    decided = await execute(DECIDE, {"id": request_id, "approve": True, "reason": "核实签到表"},
                            as_=admin)
    # then
    assert decided.ok()["decideDataRequest"] == {"status": "DONE", "decisionReason": "核实签到表"}
    previous = await Certificate.get(code=old["code"])
    successor = await Certificate.get(id=previous.superseded_by_id)
    assert successor.serial != old["serialNumber"] and successor.code != old["code"]
    assert successor.content["totalHours"] == 5 - record["hours"] + 1.5
    assert previous.content["totalHours"] == 5  # the old one is never altered
    page = await client.get(f"/certificates/{old['code']}")
    assert "已失效" in page.text and successor.serial in page.text
    assert (await client.get(f"/certificates/{successor.code}")).text.count("本证明有效") == 1


async def test_record_corrections_are_decided_by_the_team_with_a_reason(db):
    # given
    admin, me = await _served_twice()
    stranger = await make_volunteer("路人")
    record_id = (await execute(RECORDS, as_=me)).ok()["me"]["serviceRecords"]["edges"][0]["node"]["id"]
    zero = await execute(REQUEST_FIX, {"recordId": record_id, "hours": 0, "reason": "x"}, as_=me)
    # (stored to 0.01 h, 0.004 h would ask for 0 h, which no organiser could then grant)
    tiny = await execute(REQUEST_FIX, {"recordId": record_id, "hours": 0.004, "reason": "x"}, as_=me)
    not_mine = await execute(REQUEST_FIX, {"recordId": record_id, "hours": 1, "reason": "x"},
                             as_=stranger)
    asked = (await execute(REQUEST_FIX, {"recordId": record_id, "hours": 1, "reason": "少记"},
                           as_=me)).ok()["requestRecordCorrection"]
    pending = "query { pendingDataRequests { edges { node { id kind } } } }"
    # when
    for_admin = (await execute(pending, as_=admin)).ok()["pendingDataRequests"]["edges"]
    for_stranger = (await execute(pending, as_=stranger)).ok()["pendingDataRequests"]["edges"]
    by_stranger = await execute(DECIDE, {"id": asked["id"], "approve": True, "reason": "好"},
                                as_=stranger)
    no_reason = await execute(DECIDE, {"id": asked["id"], "approve": False, "reason": " "},
                              as_=admin)
    refused = await execute(DECIDE, {"id": asked["id"], "approve": False,
                                     "reason": "签到记录显示 3 小时"}, as_=admin)
    again = await execute(DECIDE, {"id": asked["id"], "approve": True, "reason": "改主意"},
                          as_=admin)
    # then
    assert zero.codes == ["BAD_USER_INPUT"] and zero.errors[0]["extensions"]["field"] == "hours"
    assert tiny.codes == ["BAD_USER_INPUT"] and tiny.errors[0]["extensions"]["field"] == "hours"
    assert not_mine.codes == ["NOT_FOUND"]
    assert [e["node"] for e in for_admin] == [{"id": asked["id"], "kind": "RECORD_CORRECTION"}]
    assert for_stranger == []
    assert by_stranger.codes == ["FORBIDDEN"]
    assert no_reason.codes == ["BAD_USER_INPUT"]
    assert refused.ok()["decideDataRequest"] == {"status": "REFUSED",
                                                 "decisionReason": "签到记录显示 3 小时"}
    assert again.codes == ["CONFLICT"]
    assert await Certificate.all().count() == 0


async def test_the_server_mounts_the_pages_before_the_web_client(db):
    # given: the assembled app (its lifespan is not needed: the test set up the database)
    from server import create_app

    _, me = await _served_twice()
    issued = (await execute(ISSUE, as_=me)).ok()["issueCertificate"]
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        # when
        page = await http.get(f"/certificates/{issued['code']}")
        pdf = await http.get(f"/certificates/{issued['code']}.pdf")
        archive = await http.get("/privacy/archive/unknown-token")
    # then
    assert page.status_code == 200 and "志愿服务记录证明核验" in page.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert archive.status_code == 404 and "已失效" in archive.text
