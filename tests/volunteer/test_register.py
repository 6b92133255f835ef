"""Registration: real-name rules, every refusal coded and nothing written."""

from datetime import date, timedelta

import pytest

from core import pii
from models.volunteer import Volunteer
from resolvers.errors import BadInput
from resolvers.maintenance import make_id_number
from resolvers.validation import check_id_number, id_check_char
from tests.helpers import execute, make_volunteer, unique_id_number, unique_phone

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    token
    volunteer { id displayName district skills gender birthYear phoneMasked idNumberMasked starLevel }
  }
}
"""


def registration(**overrides):
    data = {
        "phone": unique_phone(),
        "password": "s3cret-password",
        "realName": "赵雷",
        "idNumber": unique_id_number(date(1990, 5, 17), male=True),
        "district": "朝阳区",
        "skills": ["急救", "驾驶"],
        "consent": True,
    }
    data.update(overrides)
    return data


def with_bad_check_digit(id_number: str) -> str:
    wrong = next(c for c in "0123456789X" if c != id_number[17])
    return id_number[:17] + wrong


def test_id_number_checksum_and_derived_facts():
    # given the example from GB 11643
    first17 = "11010519491231002"
    # when
    facts = check_id_number(first17 + id_check_char(first17))
    # then
    assert facts.id_number[-1] == "X"
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.gender == "FEMALE"


@pytest.mark.parametrize(
    "raw",
    ["", "12345", "11010519491231002Y", "1101051949123100X2", "110105194913310027"],
)
def test_malformed_id_numbers_are_refused(raw):
    with pytest.raises(BadInput) as caught:
        check_id_number(raw)
    assert caught.value.field == "idNumber"


async def test_register_returns_token_and_derived_identity(db):
    # given
    data = registration()
    # when
    result = await execute(REGISTER, {"input": data})
    # then
    payload = result.ok()["register"]
    assert payload["token"]
    person = payload["volunteer"]
    assert person["gender"] == "MALE" and person["birthYear"] == 1990
    assert person["skills"] == ["急救", "驾驶"]
    assert person["phoneMasked"] == data["phone"][:3] + "****" + data["phone"][7:]
    assert person["idNumberMasked"] == data["idNumber"][:6] + "********" + data["idNumber"][14:]
    assert person["starLevel"] == 0


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"idNumber": "wrong-checksum"}, "idNumber", "BAD_USER_INPUT"),
        ({"consent": False}, "consent", "BAD_USER_INPUT"),
        ({"phone": "23800000000"}, "phone", "BAD_USER_INPUT"),
        ({"phone": "1380000000"}, "phone", "BAD_USER_INPUT"),
        ({"password": "short"}, "password", "BAD_USER_INPUT"),
        ({"realName": "名" * 51}, "realName", "BAD_USER_INPUT"),
        ({"realName": "   "}, "realName", "BAD_USER_INPUT"),
        ({"district": "区" * 51}, "district", "BAD_USER_INPUT"),
        ({"skills": ["技" * 31]}, "skills", "BAD_USER_INPUT"),
        ({"skills": [f"skill{i}" for i in range(21)]}, "skills", "BAD_USER_INPUT"),
    ],
)
async def test_bad_registrations_are_refused_and_write_nothing(db, overrides, field, code):
    # given
    data = registration(**overrides)
    if data["idNumber"] == "wrong-checksum":
        data["idNumber"] = with_bad_check_digit(unique_id_number())
    # when
    result = await execute(REGISTER, {"input": data})
    # then
    assert result.codes == [code]
    assert result.errors[0]["extensions"]["field"] == field
    assert await Volunteer.all().count() == 0


async def test_future_birth_date_is_refused(db):
    # given an ID number whose birth date is tomorrow
    tomorrow = date.today() + timedelta(days=1)
    data = registration(idNumber=make_id_number(birth=tomorrow))
    # when
    result = await execute(REGISTER, {"input": data})
    # then every validation error carries the code
    assert result.codes and set(result.codes) == {"BAD_USER_INPUT"}
    assert result.data is None
    assert result.errors[0]["extensions"]["field"] == "idNumber"
    assert "future" in result.errors[0]["message"]
    assert await Volunteer.all().count() == 0


async def test_one_id_number_one_account(db):
    # given
    first = registration()
    await execute(REGISTER, {"input": first})
    # when the same person registers again with another phone
    result = await execute(REGISTER, {"input": registration(idNumber=first["idNumber"])})
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["field"] == "idNumber"
    assert await Volunteer.all().count() == 1


async def test_lowercase_x_is_the_same_id_number(db):
    # given an ID number ending in X
    existing = await make_volunteer()
    first17 = "11010519491231002"
    id_number = first17 + id_check_char(first17)
    sealed = pii.identity_columns(pii.phone_of(existing), id_number)
    await Volunteer.filter(id=existing.id).update(
        id_number_cipher=sealed["id_number_cipher"], id_number_index=sealed["id_number_index"])
    # when someone registers it with a lowercase x
    result = await execute(REGISTER, {"input": registration(idNumber=id_number.lower())})
    # then
    assert result.codes == ["CONFLICT"]


async def test_phone_is_unique(db):
    # given
    first = registration()
    await execute(REGISTER, {"input": first})
    # when
    result = await execute(REGISTER, {"input": registration(phone=first["phone"])})
    # then
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["field"] == "phone"


async def test_missing_required_input_is_a_coded_error(db):
    # when a client omits a required input field
    result = await execute(
        "mutation { register(input: {phone: \"13800000000\"}) { token } }"
    )
    # then every validation error carries the code
    assert result.codes and set(result.codes) == {"BAD_USER_INPUT"}
    assert result.data is None
