"""The personal-information access log: every unmasked read by an admin is recorded (one INSERT
per request however many people), the person sees who looked, admins query it all, nobody can
change it."""

from __future__ import annotations

import pytest
from tortoise import connections

from core import pii
from models.pii import PiiAccess, PiiField
from resolvers.auth import Viewer
from resolvers.pii import do_record_export
from schema.relay import to_global_id as encode_id
from tests.helpers import count_statements, execute, make_volunteer

CONTACT = """
query C($id: ID!, $reason: String!) {
  node(id: $id) { ... on Volunteer { phoneMasked contactPhone(reason: $reason) identityNumber(reason: $reason) } }
}
"""
MANY = """
query M($reason: String!) {
  volunteers(first: 20) { edges { node { displayName contactPhone(reason: $reason) } } }
}
"""
MY_LOG = "{ me { piiAccessLog(first: 10) { edges { node { field reason clientAddress viewer { displayName } } } } } }"
ALL_LOG = """
query A($subject: ID) {
  piiAccessLog(first: 10, subjectId: $subject) { edges { node { field subject { displayName } viewer { displayName } clientAddress } } }
}
"""


async def test_an_admin_reads_unmasked_values_only_with_a_recorded_reason(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("吴桐")
    stranger = await make_volunteer("路人")
    variables = {"id": encode_id("Volunteer", person.id), "reason": "紧急召集联系"}
    # when
    as_admin = (await execute(CONTACT, variables, as_=admin)).ok()["node"]
    as_stranger = (await execute(CONTACT, variables, as_=stranger)).ok()["node"]
    as_self = (await execute(CONTACT, variables, as_=person)).ok()["node"]
    # then: the admin got the values, recorded; nobody else got them, and nothing was recorded
    assert as_admin["contactPhone"] == pii.phone_of(person)
    assert as_admin["identityNumber"] == pii.id_number_of(person)
    assert as_admin["phoneMasked"] == pii.phone_of(person)[:3] + "****" + pii.phone_of(person)[7:]
    assert as_stranger == {"phoneMasked": None, "contactPhone": None, "identityNumber": None}
    assert as_self["contactPhone"] is None  # the person reads `phone`, unlogged
    rows = await PiiAccess.all().order_by("id").values("viewer_id", "subject_id", "field", "reason")
    assert rows == [
        {"viewer_id": admin.id, "subject_id": person.id, "field": PiiField.PHONE, "reason": "紧急召集联系"},
        {"viewer_id": admin.id, "subject_id": person.id, "field": PiiField.ID_NUMBER, "reason": "紧急召集联系"},
    ]


async def test_a_blank_reason_is_refused_and_nothing_is_returned_or_recorded(db):
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("吴桐")
    result = await execute(CONTACT, {"id": encode_id("Volunteer", person.id), "reason": "  "}, as_=admin)
    assert "BAD_USER_INPUT" in result.codes
    assert pii.phone_of(person) not in repr(result.data) + repr(result.errors)
    assert await PiiAccess.all().count() == 0


async def test_a_page_of_people_is_recorded_in_one_insert(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    people = [await make_volunteer(f"志愿者{i}") for i in range(8)]
    # when
    with count_statements() as statements:
        result = (await execute(MANY, {"reason": "核对名册"}, as_=admin)).ok()
    # then
    phones = {edge["node"]["contactPhone"] for edge in result["volunteers"]["edges"]}
    assert {pii.phone_of(p) for p in people} <= phones
    inserts = [s for s in statements if s.strip().upper().startswith("INSERT") and "pii_access" in s]
    assert len(inserts) == 1
    assert await PiiAccess.filter(field=PiiField.PHONE).count() == len(people)


async def test_the_person_sees_who_looked_and_admins_query_the_whole_log(db):
    # given: an admin read one person's phone; an export covered two people
    admin = await make_volunteer("管理员", platform_admin=True)
    person, other = await make_volunteer("吴桐"), await make_volunteer("钱多")
    await execute(CONTACT, {"id": encode_id("Volunteer", person.id), "reason": "回访"}, as_=admin)
    await do_record_export(Viewer(admin), [person.id, other.id, admin.id], "名册导出", "10.0.0.9")
    # when
    mine = (await execute(MY_LOG, as_=person)).ok()["me"]["piiAccessLog"]["edges"]
    everything = (await execute(ALL_LOG, as_=admin)).ok()["piiAccessLog"]["edges"]
    about_other = (await execute(ALL_LOG, {"subject": encode_id("Volunteer", other.id)}, as_=admin)
                   ).ok()["piiAccessLog"]["edges"]
    refused = await execute(ALL_LOG, as_=person)
    # then: newest first; the person sees who and why, not the reader's address
    assert [e["node"]["field"] for e in mine] == ["EXPORT", "ID_NUMBER", "PHONE"]
    assert {e["node"]["viewer"]["displayName"] for e in mine} == {"管理员"}
    assert all(e["node"]["clientAddress"] is None for e in mine)
    assert len(everything) == 4  # exporting one's own rows is not recorded
    assert [e["node"]["subject"]["displayName"] for e in about_other] == ["钱多"]
    assert about_other[0]["node"]["clientAddress"] == "10.0.0.9"
    assert refused.codes == ["FORBIDDEN"]


async def test_the_log_cannot_be_changed(db):
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("吴桐")
    await do_record_export(Viewer(admin), [person.id], "导出", "127.0.0.1")
    if not db.postgres:
        pytest.skip("the database-level refusal is PostgreSQL's trigger; SQLite has no update path")
    connection = connections.get("default")
    for statement in ("UPDATE pii_access SET reason = 'x'", "DELETE FROM pii_access"):
        with pytest.raises(Exception, match="append-only"):
            await connection.execute_query(statement)
    assert await PiiAccess.filter(reason="导出").count() == 1
