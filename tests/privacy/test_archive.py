"""What a copy of one's data holds: every table is accounted for against the models
(resolvers/archive.py), the person's sealed values appear opened, rows that belong to theirs
follow them (staff replies in their tickets, claims on their shifts), and other people's
records stay out of an organiser's or an admin's copy."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

from core import pii
from models.chat import ChatMessage, ChatRoom, ChatRoomKind
from models.consent import ConsentPurpose
from models.helprequest import HelpRequest
from models.insurance import InsuranceClaim, InsurancePolicy, InsuranceScope
from models.servicedesk import ServiceTicket, ServiceTicketMessage
from resolvers import archive
from resolvers.auth import Viewer
from resolvers.consent import record_consent
from resolvers.hours import do_approve_hours
from resolvers.privacy import build_archive
from schema.relay import to_global_id as encode_id
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import make_activity, now, served

HOME = "北京市朝阳区幸福里小区7号楼2单元301"
HELP_ADDRESS = "朝阳区安贞里3号楼"
SET_HOME = "mutation H($a: String!) { updateProfile(input: {homeAddress: $a}) { id } }"
HELP = "mutation H($input: HelpRequestInput!) { createHelpRequest(input: $input) { id } }"
READ_ADDRESS = """query R($id: ID!) { node(id: $id) { ... on Volunteer {
  contactAddress(reason: "核对上门服务地址") } } }"""


async def _archive(volunteer_id: int) -> dict[str, Any]:
    files = zipfile.ZipFile(io.BytesIO(await build_archive(volunteer_id)))
    return {name.removesuffix(".json"): json.loads(files.read(name))
            for name in files.namelist() if name.endswith(".json")}


def _text(copy: dict[str, Any]) -> str:
    return json.dumps(copy, ensure_ascii=False)


async def test_every_foreign_key_to_a_person_or_their_rows_is_declared(db):
    assert archive.undeclared() == []


async def test_an_undeclared_table_is_reported(db, monkeypatch):
    # given: declarations as they would be before someone declared these tables
    monkeypatch.delitem(archive.VOLUNTEER_LINKS, "chat_read_marker.volunteer_id")
    monkeypatch.delitem(archive.THROUGH, "insurance_claim.sign_up_id")
    monkeypatch.delitem(archive.SEALED, "help_request.address_cipher")
    monkeypatch.setitem(archive.THROUGH, "sign_up.gone_id", None)
    # when
    problems = archive.undeclared()
    # then
    assert [p.split(":")[0] for p in problems] == [
        "chat_read_marker.volunteer_id", "insurance_claim.sign_up_id", "sign_up.gone_id",
        "help_request.address_cipher"]


async def test_the_copy_holds_every_row_that_concerns_the_person_and_no_one_elses(db):
    # given: a volunteer with hours, a home address, a help request, a service-desk ticket
    # answered by the staff, a chat message, an insurance claim an organiser opened on their
    # shift, a withdrawn consent and an admin's read of their address
    organiser = await make_volunteer("王队长")
    platform = await make_volunteer("平台客服", platform_admin=True)
    team = await make_team(organiser, "朝阳区志愿服务总队")
    me = await make_volunteer("李明")
    await add_member(team, me)
    record = await served(await make_activity(team, organiser, title="社区清洁",
                                              starts_at=now() - timedelta(days=3)), me)
    await do_approve_hours(Viewer(organiser), record.id)
    (await execute(SET_HOME, {"a": HOME}, as_=me)).ok()
    asked = {"title": "需要买药", "description": "腿脚不便", "district": "朝阳区", "address": HELP_ADDRESS}
    (await execute(HELP, {"input": asked}, as_=me)).ok()
    neighbour = await make_volunteer("张奶奶")
    claimed = await HelpRequest.create(
        created_by=neighbour, claimed_by=me, title="陪同就医", description="d", district="朝阳区",
        address_cipher=pii.seal("朝阳区和平里5号", pii.HELP_ADDRESS))
    ticket = await ServiceTicket.create(opener=me, subject="时长没记上", district="朝阳区",
                                        last_message_at=now())
    await ServiceTicketMessage.create(ticket=ticket, author=me, from_staff=False, client_id="a",
                                      body="我的时长少了一小时")
    await ServiceTicketMessage.create(ticket=ticket, author=platform, from_staff=True,
                                      client_id="b", body="已转给队长核实")
    room = await ChatRoom.create(kind=ChatRoomKind.TEAM, team=team)
    await ChatMessage.create(room=room, author=me, client_id="c", body="明天几点集合")
    policy = await InsurancePolicy.create(
        insurer="人保", policy_number="PICC-1", covers_from=now() - timedelta(days=30),
        covers_until=now() + timedelta(days=30), scope=InsuranceScope.ALL_VOLUNTEERS,
        created_by=organiser)
    claim = await InsuranceClaim.create(
        policy=policy, sign_up_id=record.sign_up_id, service_record=record,
        incident_at=now() - timedelta(days=3), description="扭伤脚踝", created_by=organiser)
    await record_consent(me.id, ConsentPurpose.SMS, False, "127.0.0.1")
    read = await execute(READ_ADDRESS, {"id": encode_id("Volunteer", me.id)}, as_=platform)
    assert read.ok()["node"]["contactAddress"] == HOME
    # when
    mine = await _archive(me.id)
    organisers = await _archive(organiser.id)
    platforms = await _archive(platform.id)
    # then: the person's sealed values, opened
    profile = mine["profile"]
    assert (profile["phone"], profile["idNumber"], profile["homeAddress"]) == (
        pii.phone_of(me), pii.id_number_of(me), HOME)
    requests = {row["title"]: row for row in mine["help_request"]}
    assert requests["需要买药"]["address"] == HELP_ADDRESS
    assert requests["陪同就医"]["id"] == claimed.id and "address" not in requests["陪同就医"]
    assert "_cipher" not in _text(mine) and "朝阳区和平里" not in _text(mine)
    # every personal table, and rows belonging to the person's rows
    assert [row["id"] for row in mine["service_ticket"]] == [ticket.id]
    assert [row["body"] for row in mine["service_ticket_message"]] == ["我的时长少了一小时", "已转给队长核实"]
    assert [row["body"] for row in mine["chat_message"]] == ["明天几点集合"]
    assert [row["id"] for row in mine["insurance_claim"]] == [claim.id]
    assert [(row["purpose"], row["granted"]) for row in mine["consent_event"]] == [("SMS", False)]
    assert [(row["field"], row["reason"]) for row in mine["pii_access"]] == [("ADDRESS", "核对上门服务地址")]
    assert {"sign_up", "service_record", "hours_audit", "points_entry", "record_change",
            "membership", "notification", "consent"} <= set(mine)
    # the organiser and the admin keep what they did, not the person's records
    assert "insurance_claim" not in organisers and "hours_audit" not in organisers
    assert {"activity", "insurance_policy", "team"} <= set(organisers)
    assert [row["body"] for row in platforms["service_ticket_message"]] == ["已转给队长核实"]
    assert "service_ticket" not in platforms and "pii_access" not in platforms
    for others in (organisers, platforms):
        assert HOME not in _text(others) and "扭伤脚踝" not in _text(others)
