"""The exact home address: sealed at rest like the phone, unmasked only for the person, masked
for platform admins (who read it whole only with a recorded reason), nothing for others,
erased with the account."""

from __future__ import annotations

from core import pii
from models.pii import PiiAccess, PiiField
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.privacy import do_delete_account
from schema.relay import to_global_id as encode_id
from tests.helpers import PASSWORD, execute, make_volunteer
from tests.pii.test_encryption import dump_all_tables

HOME = "北京市朝阳区幸福里小区7号楼2单元301"
SET = """mutation Set($address: String!) {
  updateProfile(input: {homeAddress: $address}) { homeAddress homeAddressMasked } }"""
ME = "{ me { homeAddress homeAddressMasked } }"
SEEN = """query Seen($id: ID!, $reason: String!) { node(id: $id) { ... on Volunteer {
  homeAddress homeAddressMasked contactAddress(reason: $reason) } } }"""


async def test_a_home_address_is_sealed_and_shown_whole_only_to_the_person(db):
    # given
    person = await make_volunteer("吴桐")
    admin = await make_volunteer("管理员", platform_admin=True)
    stranger = await make_volunteer("路人")
    variables = {"id": encode_id("Volunteer", person.id), "reason": "上门慰问"}
    # when
    saved = (await execute(SET, {"address": f"  {HOME} "}, as_=person)).ok()["updateProfile"]
    mine = (await execute(ME, as_=person)).ok()["me"]
    by_admin = (await execute(SEEN, variables, as_=admin)).ok()["node"]
    by_stranger = (await execute(SEEN, variables, as_=stranger)).ok()["node"]
    dump = await dump_all_tables(db.postgres)
    # then
    assert saved == mine == {"homeAddress": HOME, "homeAddressMasked": "北京市朝阳区****"}
    assert by_admin == {"homeAddress": None, "homeAddressMasked": "北京市朝阳区****",
                        "contactAddress": HOME}
    assert by_stranger == {"homeAddress": None, "homeAddressMasked": None, "contactAddress": None}
    assert HOME not in dump and "幸福里" not in dump
    stored = (await Volunteer.get(id=person.id)).home_address_cipher
    assert stored is not None and pii.open_sealed(stored, pii.HOME_ADDRESS) == HOME
    log = await PiiAccess.all().values("viewer_id", "subject_id", "field", "reason")
    assert log == [{"viewer_id": admin.id, "subject_id": person.id, "field": PiiField.ADDRESS,
                    "reason": "上门慰问"}]


async def test_a_bad_address_writes_nothing_and_an_empty_one_removes_it(db):
    # given
    person = await make_volunteer("吴桐")
    (await execute(SET, {"address": HOME}, as_=person)).ok()
    before = (await Volunteer.get(id=person.id)).home_address_cipher
    # when
    too_long = await execute(SET, {"address": "幸" * 201}, as_=person)
    after_refusal = (await Volunteer.get(id=person.id)).home_address_cipher
    removed = (await execute(SET, {"address": ""}, as_=person)).ok()["updateProfile"]
    # then
    assert too_long.codes == ["BAD_USER_INPUT"]
    assert too_long.errors[0]["extensions"]["field"] == "homeAddress"
    assert after_refusal == before
    assert removed == {"homeAddress": None, "homeAddressMasked": None}
    assert (await Volunteer.get(id=person.id)).home_address_cipher is None


async def test_deleting_the_account_erases_the_home_address(db):
    person = await make_volunteer("吴桐")
    (await execute(SET, {"address": HOME}, as_=person)).ok()
    await do_delete_account(Viewer(await Volunteer.get(id=person.id)), PASSWORD)
    assert (await Volunteer.get(id=person.id)).home_address_cipher is None
