"""Consent by purpose: recorded with version, time and address; guardians for under-14s; the
minors' notice; withdrawing LOCATION, SMS or LEADERBOARD_DISPLAY takes effect at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from core.time import BEIJING
from models.consent import Consent, ConsentEvent, ConsentPurpose
from models.notification import SmsOutbox
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.consent import current_version
from resolvers.notification import create_notification, drain_sms_outbox
from schema import schema
from schema.context import Context
from tests.helpers import (
    execute,
    make_team,
    make_volunteer,
    unique_id_number,
    unique_phone,
    wait_for_watchers,
)
from tests.leaderboard.conftest import boards  # noqa: F401  (fixture)
from tests.leaderboard.factory import approve, make_activity

REGISTER = """
mutation R($input: RegisterInput!) { register(input: $input) { volunteer { displayName } } }
"""
MINE = """{ me { minorsNotice consents { purpose version granted }
                 consentHistory { purpose granted clientAddress guardianName } } }"""
GRANT = """
mutation G($purpose: ConsentPurpose!, $version: Int, $name: String, $relation: String) {
  grantConsent(purpose: $purpose, version: $version, guardianName: $name, guardianRelation: $relation) {
    purpose version granted }
}"""
WITHDRAW = "mutation W($purpose: ConsentPurpose!) { withdrawConsent(purpose: $purpose) { purpose granted } }"
BOARD = "{ leaderboard(period: ALL_TIME) { rank hours volunteer { displayName } } }"
NEARBY = """query N($near: GeoInput) { helpRequests(near: $near) { totalCount } }"""
PUSHED = """subscription P($near: GeoInput) { helpRequestCreated(near: $near) { title } }"""
HERE = {"latitude": 39.9087, "longitude": 116.3975, "radiusKm": 1.5}


def born_years_ago(years: int) -> date:
    today = datetime.now(BEIJING).date()
    return date(today.year - years, 1, 1) if today >= date(today.year, 1, 2) else date(
        today.year - years - 1, 1, 1)


def registration(birth: date, **extra: Any) -> dict[str, Any]:
    return {"input": {"phone": unique_phone(), "password": "s3cret-password", "realName": "小明",
                      "idNumber": unique_id_number(birth), "district": "朝阳区", "consent": True,
                      **extra}}


async def test_registration_records_the_registration_consent(db):
    # when
    assert (await execute(REGISTER, registration(born_years_ago(30)))).ok()
    person = await Volunteer.get()
    mine = (await execute(MINE, as_=person)).ok()["me"]
    # then
    assert mine["consents"] == [{"purpose": "REGISTRATION", "granted": True,
                                 "version": current_version(ConsentPurpose.REGISTRATION)}]
    assert mine["consentHistory"] == [{"purpose": "REGISTRATION", "granted": True,
                                       "clientAddress": "127.0.0.1", "guardianName": None}]
    assert mine["minorsNotice"] is None
    stranger = await make_volunteer("路人")
    assert (await execute("query($id: ID!) { node(id: $id) { ... on Volunteer { consents { granted } } } }",
                          {"id": _global(person.id)}, as_=stranger)).ok()["node"]["consents"] is None


def _global(volunteer_id: int) -> str:
    from schema.relay import to_global_id
    return to_global_id("Volunteer", volunteer_id)


async def test_under_14_needs_a_guardian_and_14_to_17_see_the_minors_notice(db):
    # when: a 12-year-old without, then with a guardian; a 16-year-old
    refused = await execute(REGISTER, registration(born_years_ago(12)))
    child = await execute(REGISTER, registration(born_years_ago(12), guardianName="王芳",
                                                 guardianRelation="母亲"))
    teen = await execute(REGISTER, registration(born_years_ago(16)))
    # then
    assert refused.codes == ["BAD_USER_INPUT"] and refused.errors[0]["extensions"]["field"] == "guardian"
    assert child.ok() and teen.ok()
    assert await Volunteer.all().count() == 2
    event = await ConsentEvent.get(guardian_name="王芳")
    assert (event.purpose, event.guardian_relation) == (ConsentPurpose.REGISTRATION, "母亲")
    people = {v.birth_date.year: v for v in await Volunteer.all()}
    teen_view = (await execute(MINE, as_=people[born_years_ago(16).year])).ok()["me"]
    child_view = (await execute(MINE, as_=people[born_years_ago(12).year])).ok()["me"]
    assert teen_view["minorsNotice"] and "未满18周岁" in teen_view["minorsNotice"]
    assert child_view["minorsNotice"] is None


async def test_grants_need_the_current_text_and_registration_is_not_withdrawn_here(db):
    person = await make_volunteer()
    stale = await execute(GRANT, {"purpose": "SMS", "version": 0}, as_=person)
    registration_off = await execute(WITHDRAW, {"purpose": "REGISTRATION"}, as_=person)
    anonymous = await execute(WITHDRAW, {"purpose": "SMS"})
    assert stale.codes == ["BAD_USER_INPUT"] and registration_off.codes == ["BAD_USER_INPUT"]
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert await ConsentEvent.all().count() == 0
    granted = (await execute(GRANT, {"purpose": "SMS", "version": 1}, as_=person)).ok()
    assert granted["grantConsent"] == {"purpose": "SMS", "version": 1, "granted": True}


async def test_withdrawing_leaderboard_display_anonymises_at_once(boards):  # noqa: F811
    # given: two volunteers with approved hours
    admin = await make_volunteer("管理员")
    team = await make_team(admin, "朝阳队")
    shy, proud = await make_volunteer("甲"), await make_volunteer("乙")
    await approve(shy, await make_activity(team), 9.0, datetime.now(UTC))
    await approve(proud, await make_activity(team), 4.0, datetime.now(UTC))
    assert [e["volunteer"]["displayName"] for e in (await execute(BOARD)).ok()["leaderboard"]] == ["甲", "乙"]
    # when
    assert (await execute(WITHDRAW, {"purpose": "LEADERBOARD_DISPLAY"}, as_=shy)).ok()
    # then: the place and hours stay, the name goes; granting again brings it back
    board = (await execute(BOARD)).ok()["leaderboard"]
    assert board == [{"rank": 1, "hours": 9.0, "volunteer": None},
                     {"rank": 2, "hours": 4.0, "volunteer": {"displayName": "乙"}}]
    assert (await execute(GRANT, {"purpose": "LEADERBOARD_DISPLAY"}, as_=shy)).ok()
    assert (await execute(BOARD)).ok()["leaderboard"][0]["volunteer"] == {"displayName": "甲"}


async def test_withdrawing_location_stops_nearby_search_and_live_matching(db):
    # given: a volunteer watching nearby requests
    person, resident = await make_volunteer("附近的人"), await make_volunteer("居民")
    assert (await execute(NEARBY, {"near": HERE}, as_=person)).ok()
    stream = await schema.subscribe(PUSHED, variable_values={"near": HERE},
                                    context_value=Context(viewer=Viewer(person)))
    first = asyncio.ensure_future(stream.__anext__())
    await wait_for_watchers(1)  # and listening for a withdrawal, subscribed before it waits
    try:
        # when
        assert (await execute(WITHDRAW, {"purpose": "LOCATION"}, as_=person)).ok()
        # then: the live stream ends with a coded error, and nearby search is refused
        ended = await asyncio.wait_for(first, 5)
        assert ended.errors[0].extensions["code"] == "FORBIDDEN"
        assert (await execute(NEARBY, {"near": HERE}, as_=person)).codes == ["FORBIDDEN"]
        assert (await execute(NEARBY, {}, as_=person)).ok()  # without a position, as before
        assert (await execute(NEARBY, {"near": HERE}, as_=resident)).ok()
        again = await schema.subscribe(PUSHED, variable_values={"near": HERE},
                                       context_value=Context(viewer=Viewer(person)))
        refused = await asyncio.wait_for(again.__anext__(), 5)
        assert refused.errors[0].extensions["code"] == "FORBIDDEN"
    finally:
        first.cancel()
        await stream.aclose()
    assert await Consent.filter(volunteer_id=person.id, purpose=ConsentPurpose.LOCATION,
                                granted=False).exists()


async def test_withdrawing_sms_stops_messages(db):
    quiet, reachable = await make_volunteer("安静"), await make_volunteer("可达")
    assert (await execute(WITHDRAW, {"purpose": "SMS"}, as_=quiet)).ok()
    for person in (quiet, reachable):
        await create_notification(person.id, "K", "提醒", "b", sms=True)

    class Gateway:
        sent: list[str] = []

        async def send(self, phone: str, text: str) -> None:
            self.sent.append(phone)

    gateway = Gateway()
    assert await drain_sms_outbox(gateway) == 1
    assert len(gateway.sent) == 1
    assert (await SmsOutbox.get(volunteer_id=quiet.id)).sent_at is None


async def test_withdrawn_location_refuses_check_in_by_position_only(db):
    # given: one activity checked in by position, one without
    from tests.hours.factory import confirm
    from tests.hours.factory import make_activity as make_hours_activity

    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    person = await make_volunteer("签到人")
    by_position = await make_hours_activity(team, admin, latitude=39.9087, longitude=116.3975,
                                            radius_m=200)
    plain = await make_hours_activity(team, admin, title="无需定位")
    for activity in (by_position, plain):
        await confirm(activity, person)
    assert (await execute(WITHDRAW, {"purpose": "LOCATION"}, as_=person)).ok()
    check_in = "mutation C($id: ID!, $lat: Float, $lon: Float) { checkIn(activityId: $id, latitude: $lat, longitude: $lon) { checkedInAt } }"
    # when
    refused = await execute(check_in, {"id": _activity(by_position.id), "lat": 39.9087, "lon": 116.3975},
                            as_=person)
    allowed = await execute(check_in, {"id": _activity(plain.id)}, as_=person)
    # then
    assert refused.codes == ["FORBIDDEN"]
    assert allowed.ok()["checkIn"]["checkedInAt"]


def _activity(activity_id: int) -> str:
    from schema.relay import to_global_id
    return to_global_id("Activity", activity_id)
