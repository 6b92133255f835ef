"""A phone is typed as people write it (+86, spaces, hyphens, full-width digits) wherever it
is entered, and stored and looked up as its 11 digits."""

from __future__ import annotations

import pytest

from core import pii
from models.volunteer import Volunteer
from tests.conftest import Backend
from tests.helpers import PASSWORD, execute, make_volunteer, unique_id_number

LOGIN = "mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"
REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { volunteer { phone } } }"


def typed_forms(number: str) -> list[str]:
    grouped = f"{number[:3]} {number[3:7]} {number[7:]}"
    return [f"+86{number}", f"+86 {grouped}", f"0086 {grouped}", f"86{number}",
            f"{number[:3]}-{number[3:7]}-{number[7:]}",
            "".join(chr(ord(digit) + 0xFEE0) for digit in number), f" {number} "]


async def test_login_accepts_the_ways_people_type_their_number(db: Backend) -> None:
    # given
    person = await make_volunteer()
    # when
    results = [await execute(LOGIN, {"phone": typed, "password": PASSWORD})
               for typed in typed_forms(pii.phone_of(person))]
    # then
    assert [result.errors for result in results] == [[]] * len(results)


@pytest.mark.parametrize("typed", ["+8613800000001999999", "1" * 20, "+86 138 0000", "电话号码"])
async def test_a_phone_that_is_no_number_answers_like_any_failed_login(db: Backend, typed: str) -> None:
    # given
    person = await make_volunteer()
    # when
    not_a_number = await execute(LOGIN, {"phone": typed, "password": PASSWORD})
    wrong_password = await execute(LOGIN, {"phone": pii.phone_of(person), "password": "not-the-password"})
    # then
    assert not_a_number.codes == wrong_password.codes == ["UNAUTHENTICATED"]
    assert not_a_number.errors[0]["message"] == wrong_password.errors[0]["message"]


async def test_every_way_of_typing_one_number_shares_its_throttle(db: Backend) -> None:
    # given: five wrong attempts, each typed differently
    person = await make_volunteer()
    for typed in typed_forms(pii.phone_of(person))[:5]:
        assert (await execute(LOGIN, {"phone": typed, "password": "wrong-password"})).codes == [
            "UNAUTHENTICATED"]
    # when
    result = await execute(LOGIN, {"phone": pii.phone_of(person), "password": PASSWORD})
    # then
    assert result.codes == ["RATE_LIMITED"]


async def test_registration_stores_the_eleven_digits(db: Backend) -> None:
    # when
    result = await execute(REGISTER, {"input": {
        "phone": "+86 139-1234-5678", "password": "password-123", "realName": "张三",
        "idNumber": unique_id_number(), "district": "朝阳区", "consent": True}})
    # then
    assert result.ok()["register"]["volunteer"]["phone"] == "13912345678"
    assert await Volunteer.filter(**pii.with_phone("13912345678")).count() == 1
