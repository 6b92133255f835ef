"""Qualification-expiry alerts (30 and 7 days before, naming the course that renews it,
once per threshold and expiry date) and the organisers' view of who lapses before a shift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.notification import Notification, SmsOutbox
from models.training import Qualification
from resolvers.auth import Viewer
from resolvers.reminder import QUALIFICATION_EXPIRING, send_due_qualification_alerts
from resolvers.signup import do_sign_up
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer
from tests.training.factory import make_course, qualify, require

LAPSING = """
query L($id: ID!) { lapsingQualifications(activityId: $id) {
  qualification expiresAt volunteer { displayName } renewingCourse { title } } }
"""


async def _alerts(person) -> list[Notification]:
    return list(await Notification.filter(volunteer_id=person.id, kind=QUALIFICATION_EXPIRING)
                .order_by("id"))


async def test_holders_are_told_30_and_7_days_before_once_each_with_the_course(db):
    # given
    admin = await make_volunteer("培训负责人")
    await make_course(admin, qualification="急救员")
    person = await make_volunteer("持证人")
    qualification = await qualify(person, "急救员", expires_in=timedelta(days=40))
    now = datetime.now(UTC)
    # when / then: nothing 40 days before; once at 30; once at 7
    assert await send_due_qualification_alerts(now) == 0
    assert await send_due_qualification_alerts(now + timedelta(days=10, hours=1)) == 1
    assert await send_due_qualification_alerts(now + timedelta(days=11)) == 0
    assert await send_due_qualification_alerts(now + timedelta(days=33, hours=1)) == 1
    assert await send_due_qualification_alerts(now + timedelta(days=34)) == 0
    alerts = await _alerts(person)
    assert len(alerts) == 2 and "急救员培训" in alerts[0].body
    assert alerts[0].subject_type == "Course"
    assert await SmsOutbox.filter(notification_id=alerts[0].id).count() == 1
    # when: renewed, the new expiry date is alerted again
    await Qualification.filter(id=qualification.id).update(
        expires_at=now + timedelta(days=400))
    assert await send_due_qualification_alerts(now + timedelta(days=371)) == 1


async def test_after_downtime_only_the_nearest_alert_goes(db):
    person = await make_volunteer("持证人")
    await qualify(person, "救生员", expires_in=timedelta(days=5))
    assert await send_due_qualification_alerts() == 1
    assert await send_due_qualification_alerts() == 0
    assert "联系所在队伍" in (await _alerts(person))[0].body  # no course renews it


async def test_organisers_see_who_lapses_before_the_shift(db):
    # given: a shift in 20 days that came to need 急救员 after two signed up (their sign-ups
    # stay); one holder's lapses on day 10, the other's is valid
    admin = await make_volunteer("队长")
    await make_course(admin, qualification="急救员")
    activity = await make_activity(await make_team(admin), admin, starts_in=timedelta(days=20))
    lapsing, fine = await make_volunteer("将过期"), await make_volunteer("有效")
    await qualify(lapsing, "急救员", expires_in=timedelta(days=10))
    await qualify(fine, "急救员", expires_in=timedelta(days=100))
    for person in (lapsing, fine):
        await do_sign_up(Viewer(person), activity.id)
    await require(activity.id, "急救员")
    variables = {"id": to_global_id("Activity", activity.id)}
    # when
    found = (await execute(LAPSING, variables, as_=admin)).ok()["lapsingQualifications"]
    # then
    assert [(f["volunteer"]["displayName"], f["qualification"], f["renewingCourse"]["title"])
            for f in found] == [("将过期", "急救员", "急救员培训")]
    assert (await execute(LAPSING, variables, as_=fine)).codes == ["FORBIDDEN"]
