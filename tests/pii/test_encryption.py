"""Phones, ID numbers and home addresses at rest: sealed, findable through blind indexes, never plain in any
table, and re-sealed under a new key while logins keep working."""

from __future__ import annotations

import base64
import importlib
import os
from datetime import date
from types import SimpleNamespace

import pytest
from tortoise import Tortoise, connections

from core import pii
from core.settings import ConfigurationError, get_settings, parse_pii_keys
from models.helprequest import HelpRequest
from models.volunteer import Volunteer
from resolvers.pii import rotate_pii_keys
from tests.helpers import execute, make_volunteer, unique_id_number, unique_phone

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { volunteer { id phone phoneMasked idNumberMasked } }
}
"""
HELP = "mutation H($input: HelpRequestInput!) { createHelpRequest(input: $input) { address } }"
LOGIN = "mutation L($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"
PASSWORD = "s3cret-password"


def new_key() -> bytes:
    return os.urandom(32)


def registration(phone: str, id_number: str) -> dict[str, object]:
    return {"input": {"phone": phone, "password": PASSWORD, "realName": "赵雷", "idNumber": id_number,
                      "district": "朝阳区", "consent": True}}


async def dump_all_tables(postgres: bool) -> str:
    """Every row of every table (models' and others'), as text."""
    connection = connections.get("default")
    if postgres:
        rows = await connection.execute_query_dict(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    else:
        rows = await connection.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
    text = []
    for row in rows:
        for record in await connection.execute_query_dict(f'SELECT * FROM "{row["name"]}"'):
            text.append(repr(record))
    return "\n".join(text)


def test_a_value_opens_only_in_its_own_column_with_a_configured_key():
    # given
    ring = pii.Keyring([(1, new_key())])
    sealed = ring.seal("13812345678", pii.PHONE)
    # then
    assert sealed.startswith("1:") and "13812345678" not in sealed
    assert ring.open(sealed, pii.PHONE) == "13812345678"
    assert ring.seal("13812345678", pii.PHONE) != sealed  # fresh nonce every time
    with pytest.raises(pii.PiiKeyError):
        ring.open(sealed, pii.ID_NUMBER)  # moved to another column
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(pii.PiiKeyError):
        ring.open(tampered, pii.PHONE)
    with pytest.raises(pii.PiiKeyError, match=r"key '1'.*not configured"):
        pii.Keyring([(2, new_key())]).open(sealed, pii.PHONE)


def test_blind_indexes_are_keyed_and_per_column():
    ring, other = pii.Keyring([(1, new_key())]), pii.Keyring([(1, new_key())])
    assert ring.index("13812345678", pii.PHONE) == ring.index("13812345678", pii.PHONE)
    assert ring.index("13812345678", pii.PHONE) != other.index("13812345678", pii.PHONE)
    assert ring.index("13812345678", pii.PHONE) != ring.index("13812345678", pii.ID_NUMBER)


def test_pii_keys_parse_by_id_and_refuse_bad_keys():
    one, two = new_key(), new_key()
    text = f"2:{base64.urlsafe_b64encode(two).decode()},1:{base64.urlsafe_b64encode(one).decode()}"
    assert parse_pii_keys(text) == ((1, one), (2, two))
    assert parse_pii_keys(base64.b64encode(one).decode()) == ((1, one),)
    with pytest.raises(ConfigurationError, match=r"32 bytes.*token_bytes"):
        parse_pii_keys("1:" + base64.urlsafe_b64encode(b"short").decode())


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch):
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_shared_database_without_a_pii_key_is_refused(fresh_settings):
    fresh_settings.delenv("PII_KEY", raising=False)
    fresh_settings.delenv("PII_KEYS", raising=False)
    fresh_settings.setenv("DATABASE_URL", "postgres://db.example/tongxin")
    with pytest.raises(ConfigurationError, match="PII_KEY must be set"):
        get_settings()


def test_the_embedded_default_generates_its_key_once(fresh_settings, tmp_path):
    fresh_settings.delenv("PII_KEY", raising=False)
    fresh_settings.delenv("PII_KEYS", raising=False)
    fresh_settings.delenv("DATABASE_URL", raising=False)
    fresh_settings.setattr("core.settings.DATA_DIR", tmp_path)
    keys = get_settings().pii_keys
    get_settings.cache_clear()
    assert len(keys) == 1 and len(keys[0][1]) == 32
    assert get_settings().pii_keys == keys  # kept in the data directory across restarts
    assert (tmp_path / "pii_keys").stat().st_mode & 0o777 == 0o600


async def test_no_plain_phone_or_id_number_is_stored_anywhere(db):
    # given: volunteers registered through the API and created by the rules, signed in
    people = [(unique_phone(), unique_id_number(date(1988, 3, 9), male=i % 2 == 0)) for i in range(3)]
    for phone, id_number in people:
        result = await execute(REGISTER, registration(phone, id_number))
        assert result.ok()["register"]["volunteer"]["phone"] == phone
        assert (await execute(LOGIN, {"phone": phone, "password": PASSWORD})).ok()
    made = await make_volunteer("钱多")
    people.append((pii.phone_of(made), pii.id_number_of(made)))
    home = "朝阳区幸福里小区7号楼2单元301"
    asked = await execute(HELP, {"input": {"title": "需要买药", "description": "腿脚不便",
                                          "district": "朝阳区", "address": home}}, as_=made)
    assert asked.ok()["createHelpRequest"]["address"] == home
    # when
    dump = await dump_all_tables(db.postgres)
    # then: neither the values nor their masked-away middles are in any table
    assert "phone_cipher" in dump or "1:" in dump
    assert home not in dump and "幸福里" not in dump
    for phone, id_number in people:
        assert phone not in dump and id_number not in dump
        assert id_number[:6] + id_number[14:] not in dump


async def test_the_same_id_number_or_phone_cannot_register_twice(db):
    phone, id_number = unique_phone(), unique_id_number()
    assert (await execute(REGISTER, registration(phone, id_number))).ok()
    again = await execute(REGISTER, registration(unique_phone(), id_number.lower()))
    assert again.codes == ["CONFLICT"] and again.errors[0]["extensions"]["field"] == "idNumber"
    same_phone = await execute(REGISTER, registration(phone, unique_id_number()))
    assert same_phone.codes == ["CONFLICT"] and same_phone.errors[0]["extensions"]["field"] == "phone"
    assert await Volunteer.all().count() == 1


async def test_rotation_re_seals_every_row_while_logins_and_uniqueness_hold(db, monkeypatch):
    # given: volunteers sealed under key 1
    old, new = new_key(), new_key()
    monkeypatch.setattr(pii, "keyring", lambda: pii.Keyring([(1, old)]))
    people = [(unique_phone(), unique_id_number()) for _ in range(5)]
    for phone, id_number in people:
        assert (await execute(REGISTER, registration(phone, id_number))).ok()
    author = await Volunteer.get(**pii.with_phone(people[0][0]))
    asked = {"title": "买药", "description": "d", "district": "朝阳区", "address": "幸福里7号楼"}
    assert (await execute(HELP, {"input": asked}, as_=author)).ok()
    home = "mutation { updateProfile(input: {homeAddress: \"朝阳区幸福里9号楼\"}) { id } }"
    assert (await execute(home, as_=author)).ok()
    # when: key 2 is configured (key 1 kept) and becomes current
    monkeypatch.setattr(pii, "keyring", lambda: pii.Keyring([(1, old), (2, new)]))
    # then: before any rotation, old rows still sign in and still block a second account
    assert (await execute(LOGIN, {"phone": people[0][0], "password": PASSWORD})).ok()
    twice = await execute(REGISTER, registration(unique_phone(), people[1][1]))
    assert twice.codes == ["CONFLICT"]
    # when: rotated in batches smaller than the table
    report = await rotate_pii_keys(batch_size=2)
    # then
    assert (report.key_id, report.rows, report.left, report.addresses) == (2, 5, 0, 1)
    stored = await Volunteer.all().values_list("phone_cipher", "id_number_cipher")
    assert all(p.startswith("2:") and n.startswith("2:") for p, n in stored)
    assert (await rotate_pii_keys()).rows == 0  # running again touches nothing
    # and key 1 can be retired: everything opens and signs in with key 2 alone
    monkeypatch.setattr(pii, "keyring", lambda: pii.Keyring([(2, new)]))
    for phone, _ in people:
        assert (await execute(LOGIN, {"phone": phone, "password": PASSWORD})).ok()
    me = await Volunteer.get(**pii.with_phone(people[2][0]))
    assert pii.id_number_of(me) == people[2][1]
    author = await Volunteer.get(id=author.id)
    assert author.home_address_cipher and author.home_address_cipher.startswith("2:")
    assert pii.home_address_of(author) == "朝阳区幸福里9号楼"
    help_request = await HelpRequest.get()
    assert help_request.address_cipher and help_request.address_cipher.startswith("2:")
    assert pii.open_sealed(help_request.address_cipher, pii.HELP_ADDRESS) == "幸福里7号楼"


async def test_the_migration_seals_plain_rows_in_resumable_batches(db, monkeypatch):
    # given: rows as the previous schema held them (plain columns, nothing sealed yet)
    migration = importlib.import_module("migrations.0006_pii")
    monkeypatch.setattr(migration, "SEAL_BATCH", 2)
    connection = connections.get("default")
    made = [await make_volunteer(f"老{i}") for i in range(3)]
    plain = {v.id: (unique_phone(), unique_id_number()) for v in made}
    await connection.execute_script("ALTER TABLE volunteer ADD COLUMN phone VARCHAR(11); "
                                    "ALTER TABLE volunteer ADD COLUMN id_number VARCHAR(18)")
    try:
        for volunteer_id, (phone, id_number) in plain.items():
            await Volunteer.filter(id=volunteer_id).update(
                phone_cipher=None, phone_index=None, id_number_cipher=None, id_number_index=None)
            await connection.execute_script(
                f"UPDATE volunteer SET phone = '{phone}', id_number = '{id_number}' WHERE id = {volunteer_id}")
        editor = SimpleNamespace(client=connection)
        # when: sealed, then run again as after an interruption
        await migration.seal_existing(Tortoise.apps, editor)
        sealed = await Volunteer.all().values_list("id", "phone_cipher")
        await migration.seal_existing(Tortoise.apps, editor)
        # then
        assert await Volunteer.all().values_list("id", "phone_cipher") == sealed
        for volunteer_id, (phone, id_number) in plain.items():
            person = await Volunteer.get(**pii.with_phone(phone))
            assert person.id == volunteer_id and pii.id_number_of(person) == id_number
    finally:
        await connection.execute_script("ALTER TABLE volunteer DROP COLUMN phone; "
                                        "ALTER TABLE volunteer DROP COLUMN id_number")


async def test_the_migration_seals_plain_help_request_addresses(db, monkeypatch):
    migration = importlib.import_module("migrations.0006_pii")
    monkeypatch.setattr(migration, "SEAL_BATCH", 2)
    connection = connections.get("default")
    author = await make_volunteer("求助人")
    ids = [(await HelpRequest.create(created_by=author, title=f"求助{i}", description="d",
                                     district="朝阳区")).id for i in range(3)]
    await connection.execute_script("ALTER TABLE help_request ADD COLUMN address VARCHAR(200)")
    try:
        for number, request_id in enumerate(ids[:2]):  # the third has no address
            await connection.execute_script(
                f"UPDATE help_request SET address = '幸福里{number}号' WHERE id = {request_id}")
        editor = SimpleNamespace(client=connection)
        await migration.seal_help_addresses(Tortoise.apps, editor)
        await migration.seal_help_addresses(Tortoise.apps, editor)  # again, as after an interruption
        stored = dict(await HelpRequest.filter(id__in=ids).values_list("id", "address_cipher"))
        assert [pii.open_optional(stored[i], pii.HELP_ADDRESS) for i in ids] == ["幸福里0号", "幸福里1号", None]
    finally:
        await connection.execute_script("ALTER TABLE help_request DROP COLUMN address")
