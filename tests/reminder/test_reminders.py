"""Shift reminders (24 h and 2 h before, muted offsets, SMS) and organiser reminders, sent
exactly once: by construction (a unique row in the notification's transaction), proven with
concurrent runners and a runner that dies in the middle."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from models.activity import Activity, SignUp
from models.hours import HoursStatus, ServiceRecord
from models.notification import Notification, SmsOutbox
from models.reminder import OrganiserReminder, ShiftReminder
from resolvers import reminder
from resolvers.auth import Viewer
from resolvers.jobs import default_jobs
from resolvers.reminder import (
    ORGANISER_REMINDER,
    SHIFT_REMINDER,
    do_update_reminder_settings,
    send_due_organiser_reminders,
    send_due_shift_reminders,
)
from resolvers.services import services
from resolvers.signup import do_cancel_sign_up, do_sign_up
from subscriptions import channels
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

SETTINGS = "{ reminderSettings { offsetsHours mutedHours sms } }"
UPDATE = """
mutation U($muted: [Float!], $sms: Boolean) {
  updateReminderSettings(mutedHours: $muted, sms: $sms) { offsetsHours mutedHours sms } }
"""
INBOX = "{ notifications(first: 20) { edges { node { kind title subject { id } } } } }"


async def _shift(starts_in: timedelta, people: int, *, capacity: int | None = None,
                 title: str = "社区助老活动"):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, title=title, capacity=capacity or people,
                                   waitlist_limit=5, starts_in=abs(starts_in))
    volunteers = [await make_volunteer(f"志愿者{i}") for i in range(people)]
    for person in volunteers:
        await do_sign_up(Viewer(person), activity.id)
    if starts_in < timedelta(0):  # a shift in the past: signed up before, moved back now
        await Activity.filter(id=activity.id).update(
            starts_at=activity.starts_at + 2 * starts_in, ends_at=activity.ends_at + 2 * starts_in)
        await activity.refresh_from_db()
    # signed up well before any reminder came due
    await SignUp.filter(activity_id=activity.id).update(
        created_at=datetime.now(UTC) - timedelta(days=3))
    return admin, activity, volunteers


async def _kinds(person, kind=SHIFT_REMINDER) -> int:
    return await Notification.filter(volunteer_id=person.id, kind=kind).count()


async def test_each_confirmed_volunteer_is_reminded_24h_and_2h_before_once(db):
    # given: two confirmed, one waitlisted, one who muted the 24 h reminder
    _, activity, people = await _shift(timedelta(hours=30), 3, capacity=2)
    muted, confirmed, waitlisted = people[0], people[1], people[2]
    await do_update_reminder_settings(Viewer(muted), [24], None)
    now = datetime.now(UTC)
    # when: nothing is due yet, then 24 h before, twice
    assert await send_due_shift_reminders(now) == 0
    day_before = now + timedelta(hours=6, minutes=1)
    assert await send_due_shift_reminders(day_before) == 1
    assert await send_due_shift_reminders(day_before) == 0
    # then
    assert (await _kinds(muted), await _kinds(confirmed), await _kinds(waitlisted)) == (0, 1, 0)
    note = await Notification.get(volunteer_id=confirmed.id, kind=SHIFT_REMINDER)
    assert note.subject_id == activity.id and activity.title in note.title
    assert await SmsOutbox.filter(notification_id=note.id).count() == 1
    # when: 2 h before
    assert await send_due_shift_reminders(now + timedelta(hours=28, minutes=1)) == 2
    assert (await _kinds(muted), await _kinds(confirmed), await _kinds(waitlisted)) == (1, 2, 0)
    # after the start nothing more
    assert await send_due_shift_reminders(now + timedelta(hours=31)) == 0


async def test_after_downtime_only_the_nearest_reminder_goes_and_late_sign_ups_get_none(db):
    # given: the server was down for both moments; 90 minutes before the start
    _, activity, people = await _shift(timedelta(minutes=90), 2)
    early, late = people
    # the 2 h moment was 30 minutes ago; `late` signed up after it
    await SignUp.filter(activity_id=activity.id, volunteer_id=late.id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=10))
    # when
    sent = await send_due_shift_reminders()
    # then: the 2 h reminder for `early` only (its row covers the 24 h one); `late` handled unsent
    assert sent == 1
    assert [n.kind for n in await Notification.filter(volunteer_id=early.id)] == [SHIFT_REMINDER]
    rows = await ShiftReminder.filter(sign_up__volunteer_id=early.id)
    assert [(r.offset_minutes, r.sent) for r in rows] == [(120, True)]
    assert [r.sent for r in await ShiftReminder.filter(sign_up__volunteer_id=late.id)] == [False]
    assert await _kinds(late) == 0
    assert await send_due_shift_reminders() == 0


async def test_signing_up_inside_the_window_is_not_reminded_of_the_moment_already_passed(db):
    # given: signed up 5 h before the start (after the 24 h moment)
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, starts_in=timedelta(hours=5))
    person = await make_volunteer()
    await do_sign_up(Viewer(person), activity.id)
    # when / then: no 24 h reminder now; the 2 h one later
    assert await send_due_shift_reminders() == 0
    assert await send_due_shift_reminders(datetime.now(UTC) + timedelta(hours=3, minutes=1)) == 1


async def test_cancelled_sign_ups_and_cancelled_activities_are_not_reminded(db):
    _, activity, people = await _shift(timedelta(hours=1), 2)
    await do_cancel_sign_up(Viewer(people[0]), activity.id)
    assert await send_due_shift_reminders() == 1
    assert await _kinds(people[0]) == 0


async def test_two_runners_and_a_crash_in_the_middle_send_each_reminder_exactly_once(
        db, monkeypatch):
    # given: 3 activities × 12 confirmed, all due; small batches so the run has many steps
    shifts = [await _shift(timedelta(hours=1, minutes=i), 12, title=f"活动{i}") for i in range(3)]
    everyone = [p for _, _, people in shifts for p in people]
    monkeypatch.setattr(reminder, "REMINDER_BATCH", 5)
    real = reminder.create_notifications
    calls = 0

    async def dies_on_the_third_batch(items, conn):
        nonlocal calls
        calls += 1
        made = await real(items, conn)
        if calls == 3:
            raise RuntimeError("process killed")  # after its claims and notifications, before commit
        return made

    monkeypatch.setattr(reminder, "create_notifications", dies_on_the_third_batch)
    # when: a runner dies mid-run (its open transaction rolls back) ...
    with pytest.raises(RuntimeError):
        await send_due_shift_reminders()
    partial = await Notification.filter(kind=SHIFT_REMINDER).count()
    assert partial == 10  # two committed batches
    monkeypatch.setattr(reminder, "create_notifications", real)
    # ... and after the restart two runners race (as if the lease had lapsed), then a third
    results = await asyncio.gather(send_due_shift_reminders(), send_due_shift_reminders())
    assert sum(results) == len(everyone) - partial
    assert await send_due_shift_reminders() == 0
    # then: exactly one reminder each, in-app and SMS
    for person in everyone:
        assert await _kinds(person) == 1
    assert await SmsOutbox.filter(notification__kind=SHIFT_REMINDER).count() == len(everyone)
    assert await ShiftReminder.filter(sent=True).count() == len(everyone)


async def test_the_reminder_job_runs_under_a_lease():
    jobs = {job.name: job for job in default_jobs()}
    assert jobs["reminders"].single_runner
    assert jobs["reminders"].run is reminder.send_due_reminders


async def test_organisers_are_reminded_once_of_open_check_ins_and_hours(db):
    # given: ended 4 h ago; one check-in still open, one record pending, one no-show
    admin, activity, people = await _shift(timedelta(hours=-7), 3)
    started = activity.starts_at
    await SignUp.filter(activity_id=activity.id, volunteer_id=people[0].id).update(
        checked_in_at=started)
    done = await SignUp.get(activity_id=activity.id, volunteer_id=people[1].id)
    await SignUp.filter(id=done.id).update(checked_in_at=started, checked_out_at=activity.ends_at)
    await ServiceRecord.create(sign_up_id=done.id, activity_id=activity.id,
                               volunteer_id=people[1].id, hours_claimed=3, hours=3,
                               status=HoursStatus.PENDING)
    quiet_admin, quiet, _ = await _shift(timedelta(hours=-7), 0)
    # when
    assert await send_due_organiser_reminders() == 1
    assert await send_due_organiser_reminders() == 0
    # then
    note = await Notification.get(volunteer_id=admin.id, kind=ORGANISER_REMINDER)
    assert "1 人已签到未签退" in note.body and "1 人未签到" in note.body
    assert "1 条服务时长待审核" in note.body
    assert await _kinds(quiet_admin, ORGANISER_REMINDER) == 0
    assert await OrganiserReminder.filter(activity_id=quiet.id, sent=False).count() == 1


async def test_reminder_settings_through_graphql(db):
    # given
    person = await make_volunteer()
    # when / then
    assert (await execute(SETTINGS, as_=person)).ok()["reminderSettings"] == {
        "offsetsHours": [24.0, 2.0], "mutedHours": [], "sms": True}
    changed = (await execute(UPDATE, {"muted": [2], "sms": False}, as_=person)).ok()
    assert changed["updateReminderSettings"] == {
        "offsetsHours": [24.0, 2.0], "mutedHours": [2.0], "sms": False}
    bad = await execute(UPDATE, {"muted": [5], "sms": True}, as_=person)
    assert bad.codes == ["BAD_USER_INPUT"] and bad.errors[0]["extensions"]["field"] == "mutedHours"
    assert (await execute(SETTINGS, as_=person)).ok()["reminderSettings"]["sms"] is False
    assert (await execute(SETTINGS)).codes == ["UNAUTHENTICATED"]


async def test_sms_off_keeps_the_in_app_reminder_pushed_live_and_in_the_inbox(db):
    _, _, people = await _shift(timedelta(hours=1), 1)
    await do_update_reminder_settings(Viewer(people[0]), None, False)
    live = await services().broker.subscribe(channels.notifications(people[0].id))
    try:
        assert await send_due_shift_reminders() == 1
        note = await Notification.get(volunteer_id=people[0].id)
        assert await asyncio.wait_for(live.get(), 5) == {"id": note.id}  # pushed live
    finally:
        await live.close()
    assert await SmsOutbox.all().count() == 0
    inbox = (await execute(INBOX, as_=people[0])).ok()["notifications"]["edges"]
    assert [edge["node"]["kind"] for edge in inbox] == [SHIFT_REMINDER]
    assert inbox[0]["node"]["subject"] is not None
