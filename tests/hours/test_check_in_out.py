"""Check-in (window, code, location) and check-out (claimed hours, one record, audit)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.activity import ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursAudit, HoursStatus, ServiceRecord
from resolvers.auth import Viewer
from resolvers.errors import Conflict
from resolvers.hours import claimed_hours, do_check_in, do_check_out
from schema.relay import to_global_id
from tests.helpers import execute, make_team, make_volunteer
from tests.hours.factory import confirm, make_activity, now, utc

CHECK_IN = """
mutation CheckIn($activityId: ID!, $code: String, $latitude: Float, $longitude: Float) {
  checkIn(activityId: $activityId, code: $code, latitude: $latitude, longitude: $longitude) {
    id status checkedInAt checkedOutAt
  }
}
"""

CHECK_OUT = """
mutation CheckOut($activityId: ID!) { checkOut(activityId: $activityId) { status checkedOutAt } }
"""


async def _setup(**activity_options):
    admin = await make_volunteer("管理员")
    team = await make_team(admin, "朝阳队")
    volunteer = await make_volunteer("李明")
    activity = await make_activity(team, admin, **activity_options)
    return admin, volunteer, activity


def _gid(activity) -> str:
    return to_global_id("Activity", activity.id)


async def test_check_in_with_the_code_then_check_out_creates_a_pending_record(db):
    # given
    _, volunteer, activity = await _setup(code="A7K2")
    await confirm(activity, volunteer)
    # when
    checked_in = await execute(CHECK_IN, {"activityId": _gid(activity), "code": " a7k2 "},
                               as_=volunteer)
    again = await execute(CHECK_IN, {"activityId": _gid(activity), "code": "A7K2"}, as_=volunteer)
    checked_out = await execute(CHECK_OUT, {"activityId": _gid(activity)}, as_=volunteer)
    out_again = await execute(CHECK_OUT, {"activityId": _gid(activity)}, as_=volunteer)
    # then
    sign_up = checked_in.ok()["checkIn"]
    assert sign_up["status"] == "CONFIRMED" and sign_up["checkedInAt"] is not None
    assert again.ok()["checkIn"]["checkedInAt"] == sign_up["checkedInAt"]
    assert checked_out.ok()["checkOut"]["checkedOutAt"] is not None
    assert out_again.ok()["checkOut"]["checkedOutAt"] == checked_out.data["checkOut"]["checkedOutAt"]
    record = await ServiceRecord.get(volunteer_id=volunteer.id)
    assert record.status == HoursStatus.PENDING
    assert record.hours == record.hours_claimed == pytest.approx(0, abs=0.02)
    assert await ServiceRecord.all().count() == 1
    audit = await HoursAudit.filter(record_id=record.id)
    assert [(a.action, a.status_after, a.actor_id) for a in audit] == [
        ("CLAIM", "PENDING", volunteer.id)]


async def test_wrong_or_missing_code_is_refused_and_writes_nothing(db):
    # given
    _, volunteer, activity = await _setup(code="A7K2")
    await confirm(activity, volunteer)
    # when
    wrong = await execute(CHECK_IN, {"activityId": _gid(activity), "code": "B000"}, as_=volunteer)
    missing = await execute(CHECK_IN, {"activityId": _gid(activity)}, as_=volunteer)
    # then
    assert wrong.codes == ["BAD_USER_INPUT"] and wrong.errors[0]["extensions"]["field"] == "code"
    assert missing.codes == ["BAD_USER_INPUT"]
    assert missing.errors[0]["extensions"]["field"] == "code"
    assert (await SignUp.get(volunteer_id=volunteer.id)).checked_in_at is None


async def test_guessing_the_code_is_throttled(db):
    # given
    _, volunteer, activity = await _setup(code="A7K2")
    await confirm(activity, volunteer)
    # when
    codes = [(await execute(CHECK_IN, {"activityId": _gid(activity), "code": f"{i:04d}"},
                            as_=volunteer)).codes[0] for i in range(11)]
    right = await execute(CHECK_IN, {"activityId": _gid(activity), "code": "A7K2"}, as_=volunteer)
    # then
    assert codes[:10] == ["BAD_USER_INPUT"] * 10
    assert codes[10] == "RATE_LIMITED"
    assert right.codes == ["RATE_LIMITED"]


async def test_location_must_be_within_the_radius(db):
    # given: Tiananmen, 200 m radius
    _, volunteer, activity = await _setup(latitude=39.9087, longitude=116.3975, radius_m=200)
    await confirm(activity, volunteer)
    # when
    missing = await execute(CHECK_IN, {"activityId": _gid(activity)}, as_=volunteer)
    far = await execute(CHECK_IN, {"activityId": _gid(activity), "latitude": 39.92,
                                   "longitude": 116.3975}, as_=volunteer)
    invalid = await execute(CHECK_IN, {"activityId": _gid(activity), "latitude": 91.0,
                                       "longitude": 116.3975}, as_=volunteer)
    # then
    for refused in (missing, far, invalid):
        assert refused.codes == ["BAD_USER_INPUT"]
        assert refused.errors[0]["extensions"]["field"] == "latitude"
    assert (await SignUp.get(volunteer_id=volunteer.id)).checked_in_at is None
    # when: 100 m north of the site
    near = await execute(CHECK_IN, {"activityId": _gid(activity), "latitude": 39.9096,
                                    "longitude": 116.3975}, as_=volunteer)
    # then
    assert near.ok()["checkIn"]["checkedInAt"] is not None


async def test_only_confirmed_volunteers_in_the_window_can_check_in(db):
    # given
    admin = await make_volunteer("管理员")
    team = await make_team(admin)
    waitlisted, outsider, early, late = [await make_volunteer(n) for n in "甲乙丙丁"]
    running = await make_activity(team, admin)
    tomorrow = await make_activity(team, admin, starts_at=now() + timedelta(days=1))
    finished = await make_activity(team, admin, starts_at=now() - timedelta(days=1))
    cancelled = await make_activity(team, admin, status=ActivityStatus.CANCELLED)
    draft = await make_activity(team, admin, status=ActivityStatus.DRAFT)
    await confirm(running, waitlisted, SignUpStatus.WAITLISTED)
    await confirm(tomorrow, early)
    await confirm(finished, late)
    await confirm(cancelled, late)
    await confirm(draft, late)
    # when
    results = {
        "waitlisted": await execute(CHECK_IN, {"activityId": _gid(running)}, as_=waitlisted),
        "no sign-up": await execute(CHECK_IN, {"activityId": _gid(running)}, as_=outsider),
        "too early": await execute(CHECK_IN, {"activityId": _gid(tomorrow)}, as_=early),
        "too late": await execute(CHECK_IN, {"activityId": _gid(finished)}, as_=late),
        "cancelled": await execute(CHECK_IN, {"activityId": _gid(cancelled)}, as_=late),
    }
    draft_result = await execute(CHECK_IN, {"activityId": _gid(draft)}, as_=late)
    anonymous = await execute(CHECK_IN, {"activityId": _gid(running)})
    bad_id = await execute(CHECK_IN, {"activityId": to_global_id("Team", 1)}, as_=outsider)
    # then
    assert {name: r.codes for name, r in results.items()} == {
        name: ["CONFLICT"] for name in results}
    assert draft_result.codes == ["NOT_FOUND"]
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert bad_id.codes == ["BAD_USER_INPUT"]
    assert bad_id.errors[0]["extensions"]["field"] == "activityId"
    assert await SignUp.filter(checked_in_at__not_isnull=True).count() == 0


async def test_check_out_needs_a_check_in(db):
    # given
    _, volunteer, activity = await _setup()
    await confirm(activity, volunteer)
    # when
    result = await execute(CHECK_OUT, {"activityId": _gid(activity)}, as_=volunteer)
    # then
    assert result.codes == ["CONFLICT"]
    assert await ServiceRecord.all().count() == 0


async def test_claimed_hours_are_time_on_site_capped_by_the_length(db):
    # given: a 3-hour activity from 09:00 to 12:00
    admin = await make_volunteer("管理员")
    team = await make_team(admin)
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=3)
    # then
    assert claimed_hours(activity, utc(2026, 3, 1, 9, 30), utc(2026, 3, 1, 11, 15)) == 1.75
    assert claimed_hours(activity, utc(2026, 3, 1, 8), utc(2026, 3, 1, 13)) == 3.0
    # a forgotten check-out counts only until an hour after the end
    assert claimed_hours(activity, utc(2026, 3, 1, 11, 30), utc(2026, 3, 2, 9)) == 1.5


async def test_check_out_records_the_claim_once_under_concurrent_repeats(db):
    # given
    admin = await make_volunteer("管理员")
    team = await make_team(admin)
    volunteer = await make_volunteer("李明")
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=3)
    await confirm(activity, volunteer)
    viewer = Viewer(volunteer)
    await do_check_in(viewer, activity.id, now=utc(2026, 3, 1, 9, 5))
    # when
    await asyncio.gather(*(do_check_out(viewer, activity.id, now=utc(2026, 3, 1, 11, 35))
                           for _ in range(5)))
    # then
    record = await ServiceRecord.get(volunteer_id=volunteer.id)
    assert record.hours_claimed == 2.5
    assert await ServiceRecord.all().count() == 1
    assert await HoursAudit.all().count() == 1


async def test_a_cancelled_sign_up_cannot_check_out(db):
    # given
    admin = await make_volunteer("管理员")
    team = await make_team(admin)
    volunteer = await make_volunteer("李明")
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9))
    sign_up = await confirm(activity, volunteer)
    await do_check_in(Viewer(volunteer), activity.id, now=utc(2026, 3, 1, 9))
    await SignUp.filter(id=sign_up.id).update(status=SignUpStatus.CANCELLED)
    # when / then
    with pytest.raises(Conflict):
        await do_check_out(Viewer(volunteer), activity.id, now=utc(2026, 3, 1, 10))
    assert await ServiceRecord.all().count() == 0


CLOSE_OUT = """
mutation CloseOut($activityId: ID!, $volunteerId: ID) {
  checkOut(activityId: $activityId, volunteerId: $volunteerId) { status checkedOutAt }
}
"""


async def test_an_organiser_closes_out_someone_who_forgot_to_check_out(db):
    # given a volunteer who checked in at the start of a 3-hour activity that ended long ago
    admin, volunteer, activity = await _setup(starts_at=now() - timedelta(hours=10))
    sign_up = await confirm(activity, volunteer)
    await SignUp.filter(id=sign_up.id).update(checked_in_at=activity.starts_at)
    stranger = await make_volunteer("路人")
    variables = {"activityId": _gid(activity), "volunteerId": to_global_id("Volunteer", volunteer.id)}
    # when
    refused = await execute(CLOSE_OUT, variables, as_=stranger)
    closed = await execute(CLOSE_OUT, variables, as_=admin)
    # then the stranger may not, the organiser may; time counts until the end, not until now
    assert refused.codes == ["FORBIDDEN"]
    assert closed.ok()["checkOut"]["checkedOutAt"] is not None
    record = await ServiceRecord.get(volunteer_id=volunteer.id)
    assert (record.hours_claimed, record.status) == (3.0, HoursStatus.PENDING)
    audit = await HoursAudit.get(record_id=record.id)
    assert (audit.actor_id, audit.action) == (admin.id, "CLOSE_OUT")


async def test_closing_out_someone_who_never_checked_in_is_refused(db):
    admin, volunteer, activity = await _setup()
    await confirm(activity, volunteer)
    result = await execute(CLOSE_OUT, {"activityId": _gid(activity),
                                       "volunteerId": to_global_id("Volunteer", volunteer.id)}, as_=admin)
    assert result.codes == ["CONFLICT"]
    assert await ServiceRecord.all().count() == 0
