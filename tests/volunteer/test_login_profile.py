"""Login (with throttling), profile changes, PII visibility, admin search."""

import pytest

from core import pii
from models.team import MembershipStatus
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import verify_password
from tests.helpers import (
    PASSWORD,
    add_member,
    count_statements,
    execute,
    make_team,
    make_volunteer,
)

LOGIN = "mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token volunteer { displayName phone } } }"
UPDATE = "mutation Update($input: ProfileInput!) { updateProfile(input: $input) { displayName district skills } }"
PERSON = """
query Person($id: ID!) {
  node(id: $id) {
    ... on Volunteer { displayName phone phoneMasked idNumberMasked gender birthYear }
  }
}
"""
VOLUNTEERS = """
query Volunteers($first: Int, $after: String, $search: String, $district: String, $skill: String) {
  volunteers(first: $first, after: $after, search: $search, district: $district, skill: $skill) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { displayName phoneMasked teams(first: 5) { edges { node { name } } } } }
  }
}
"""


async def test_login_with_phone_and_password(db):
    # given
    person = await make_volunteer("钱多")
    # when
    result = await execute(LOGIN, {"phone": pii.phone_of(person), "password": PASSWORD})
    # then
    payload = result.ok()["login"]
    assert payload["token"]
    assert payload["volunteer"] == {"displayName": "钱多", "phone": pii.phone_of(person)}


async def test_wrong_password_and_unknown_phone_look_the_same(db):
    # given
    person = await make_volunteer()
    # when
    wrong = await execute(LOGIN, {"phone": pii.phone_of(person), "password": "not-the-password"})
    unknown = await execute(LOGIN, {"phone": "13999999999", "password": "not-the-password"})
    # then
    assert wrong.codes == unknown.codes == ["UNAUTHENTICATED"]
    assert wrong.errors[0]["message"] == unknown.errors[0]["message"]


async def test_imported_people_cannot_log_in_before_claiming(db):
    # given
    person = await make_volunteer(status=VolunteerStatus.PENDING_CONSENT)
    # when
    result = await execute(LOGIN, {"phone": pii.phone_of(person), "password": PASSWORD})
    # then
    assert result.codes == ["UNAUTHENTICATED"]


async def test_login_is_throttled_per_phone(db):
    # given five wrong attempts
    person = await make_volunteer()
    for _ in range(5):
        assert (await execute(LOGIN, {"phone": pii.phone_of(person), "password": "wrong-password"})).codes == [
            "UNAUTHENTICATED"
        ]
    # when even the right password is tried next
    result = await execute(LOGIN, {"phone": pii.phone_of(person), "password": PASSWORD})
    # then
    assert result.codes == ["RATE_LIMITED"]
    assert result.errors[0]["extensions"]["retryAfter"] > 0


async def test_update_profile(db):
    # given
    person = await make_volunteer("孙悦")
    # when
    result = await execute(
        UPDATE, {"input": {"displayName": "小孙", "district": "海淀区", "skills": ["法律"]}}, as_=person
    )
    # then
    assert result.ok()["updateProfile"] == {"displayName": "小孙", "district": "海淀区", "skills": ["法律"]}
    stored = await Volunteer.get(id=person.id)
    assert (stored.display_name, stored.district, stored.skills) == ("小孙", "海淀区", ",法律,")


async def test_password_change_needs_the_current_password(db):
    # given
    person = await make_volunteer()
    # when
    refused = await execute(UPDATE, {"input": {"newPassword": "new-password-1", "currentPassword": "nope"}},
                            as_=person)
    accepted = await execute(UPDATE, {"input": {"newPassword": "new-password-1", "currentPassword": PASSWORD}},
                             as_=person)
    # then
    assert refused.codes == ["BAD_USER_INPUT"]
    assert refused.errors[0]["extensions"]["field"] == "currentPassword"
    accepted.ok()
    assert await verify_password("new-password-1", (await Volunteer.get(id=person.id)).password_hash)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"displayName": "名" * 51}, "displayName"), ({"displayName": " "}, "displayName"),
     ({"skills": ["x" * 31]}, "skills"), ({"newPassword": "short", "currentPassword": PASSWORD}, "newPassword")],
)
async def test_bad_profile_changes_write_nothing(db, change, field):
    # given
    person = await make_volunteer("周全")
    # when
    result = await execute(UPDATE, {"input": change}, as_=person)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert (await Volunteer.get(id=person.id)).display_name == "周全"


async def test_anonymous_profile_update_is_unauthenticated(db):
    result = await execute(UPDATE, {"input": {"displayName": "匿名"}})
    assert result.codes == ["UNAUTHENTICATED"]


async def test_contact_data_is_visible_only_to_self_and_masked_for_admins(db):
    # given
    person = await make_volunteer("吴桐")
    stranger = await make_volunteer("路人")
    admin = await make_volunteer("管理员", platform_admin=True)
    person_id = (await execute("{ me { id } }", as_=person)).ok()["me"]["id"]
    # when
    as_self = (await execute(PERSON, {"id": person_id}, as_=person)).ok()["node"]
    as_stranger = (await execute(PERSON, {"id": person_id}, as_=stranger)).ok()["node"]
    as_admin = (await execute(PERSON, {"id": person_id}, as_=admin)).ok()["node"]
    # then
    assert as_self["phone"] == pii.phone_of(person)
    assert as_self["idNumberMasked"] == pii.id_number_of(person)[:6] + "********" + pii.id_number_of(person)[14:]
    assert as_stranger == {"displayName": "吴桐", "phone": None, "phoneMasked": None,
                           "idNumberMasked": None, "gender": None, "birthYear": None}
    assert as_admin["phone"] is None
    assert as_admin["phoneMasked"] == pii.phone_of(person)[:3] + "****" + pii.phone_of(person)[7:]


async def test_volunteer_search_is_for_admins_only(db):
    # given
    person = await make_volunteer()
    # when
    result = await execute(VOLUNTEERS, {}, as_=person)
    anonymous = await execute(VOLUNTEERS, {})
    # then
    assert result.codes == ["FORBIDDEN"]
    assert anonymous.codes == ["UNAUTHENTICATED"]


async def test_team_admins_search_only_their_teams_including_sub_teams(db):
    # given
    admin = await make_volunteer("队长")
    parent = await make_team(admin, "街道队")
    child = await make_team(await make_volunteer("社区队长"), "社区队", parent=parent)
    member = await make_volunteer("社区队员", skills=["急救"])
    await add_member(child, member)
    applicant = await make_volunteer("申请人")
    await add_member(parent, applicant, MembershipStatus.PENDING)
    await make_volunteer("外人")
    # when
    result = await execute(VOLUNTEERS, {"first": 50}, as_=admin)
    by_skill = await execute(VOLUNTEERS, {"skill": "急救"}, as_=admin)
    # then
    names = {e["node"]["displayName"] for e in result.ok()["volunteers"]["edges"]}
    assert names == {"队长", "社区队长", "社区队员", "申请人"}
    assert [e["node"]["displayName"] for e in by_skill.ok()["volunteers"]["edges"]] == ["社区队员"]


async def test_pages_are_keyset_paginated_and_capped(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    for index in range(4):
        await make_volunteer(f"志愿者{index}")
    # when
    first_page = (await execute(VOLUNTEERS, {"first": 3}, as_=admin)).ok()["volunteers"]
    second_page = (await execute(VOLUNTEERS, {"first": 3, "after": first_page["pageInfo"]["endCursor"]},
                                 as_=admin)).ok()["volunteers"]
    too_big = await execute(VOLUNTEERS, {"first": 101}, as_=admin)
    bad_cursor = await execute(VOLUNTEERS, {"after": "garbage"}, as_=admin)
    # then
    assert first_page["totalCount"] == 5 and first_page["pageInfo"]["hasNextPage"] is True
    assert len(second_page["edges"]) == 2 and second_page["pageInfo"]["hasNextPage"] is False
    assert too_big.codes == ["BAD_USER_INPUT"] and too_big.errors[0]["extensions"]["field"] == "first"
    assert bad_cursor.codes == ["BAD_USER_INPUT"] and bad_cursor.errors[0]["extensions"]["field"] == "after"


@pytest.mark.parametrize("page_size", [5, 100])
async def test_statement_count_does_not_grow_with_page_size(db, page_size):
    # given page_size volunteers, each in two teams
    admin = await make_volunteer("管理员", platform_admin=True)
    teams = [await make_team(admin, f"队伍{i}") for i in range(2)]
    for index in range(page_size):
        person = await make_volunteer(f"志愿者{index}")
        for team in teams:
            await add_member(team, person)
    # when
    with count_statements() as statements:
        result = await execute(VOLUNTEERS, {"first": page_size}, as_=admin)
    # then
    edges = result.ok()["volunteers"]["edges"]
    assert len(edges) == page_size
    assert all(len(e["node"]["teams"]["edges"]) == 2 for e in edges if e["node"]["displayName"] != "管理员")
    # page + totalCount + memberships (one windowed query) + teams by id, whatever the page size
    assert len(statements) == 4, "\n".join(s[:40] + " ... " + s[-120:] for s in statements)


async def test_login_is_throttled_per_client_address(db, monkeypatch):
    # given an address limit of three attempts
    from dataclasses import replace

    from resolvers import volunteer as rules

    limited = replace(rules.get_settings(), login_attempts_per_address=3)
    monkeypatch.setattr(rules, "get_settings", lambda: limited)
    people = [await make_volunteer() for _ in range(4)]
    # when one address tries four different accounts
    results = [await execute(LOGIN, {"phone": pii.phone_of(p), "password": "wrong-password"}) for p in people]
    # then the fourth is refused before any password is checked
    assert [r.codes for r in results] == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
