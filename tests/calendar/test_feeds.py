"""Calendar feeds read back by a real iCalendar parser: a person's secret, revocable feed and a
team's public one; stable UIDs, SEQUENCE bumped by updates and cancellation, Beijing time;
and the activity change log behind SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar
from starlette.applications import Starlette

from models.activity import ActivityStatus, SignUp, SignUpStatus
from models.calendar import ActivityChange, CalendarFeed
from models.notification import Notification
from resolvers.activity import (
    KIND_PLACE_CHANGED,
    ActivityData,
    do_cancel_activity,
    do_publish_activity,
    do_update_activity,
)
from resolvers.auth import Viewer
from resolvers.requirements import do_set_requirements
from resolvers.signup import do_cancel_sign_up, do_sign_up
from schema.calendar_http import ROUTES
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

CREATE = "mutation { createCalendarFeed { path createdAt } }"
REVOKE = "mutation { revokeCalendarFeed }"
FEED = "{ calendarFeed { createdAt } }"
CHANGES = """
query L($id: ID!) { activityChanges(activityId: $id) { totalCount
  edges { node { field before after actor { displayName } } } } }
"""
APP = Starlette(routes=ROUTES)


async def _get(path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP),
                                 base_url="http://test") as client:
        return await client.get(path)


async def _events(path: str) -> dict[str, dict]:
    response = await _get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] in ([], ["Asia/Shanghai"])
    found = {}
    for event in calendar.walk("VEVENT"):
        found[str(event["SUMMARY"])] = {
            "uid": str(event["UID"]), "sequence": int(event.get("SEQUENCE", 0)),
            "status": str(event["STATUS"]), "start": event.decoded("DTSTART"),
            "tzid": event["DTSTART"].params.get("TZID")}
    return found


async def _team_with_shifts():
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳社区志愿队")
    shifts = {title: await make_activity(team, admin, title=title, capacity=1,
                                         starts_in=timedelta(days=days))
              for days, title in enumerate(["确认的班", "候补的班", "排队的班", "退出的班"], 2)}
    return admin, team, shifts


async def test_my_feed_shows_confirmed_and_offered_shifts_in_beijing_time(db):
    # given
    _, _, shifts = await _team_with_shifts()
    me, other = await make_volunteer("我"), await make_volunteer("别人")
    await do_sign_up(Viewer(me), shifts["确认的班"].id)
    await do_sign_up(Viewer(other), shifts["候补的班"].id)
    await do_sign_up(Viewer(me), shifts["候补的班"].id)
    await SignUp.filter(activity_id=shifts["候补的班"].id, volunteer_id=me.id).update(
        status=SignUpStatus.OFFERED, offer_expires_at=datetime.now(UTC) + timedelta(minutes=30))
    await do_sign_up(Viewer(other), shifts["排队的班"].id)
    await do_sign_up(Viewer(me), shifts["排队的班"].id)  # waitlisted: not in the feed
    await do_sign_up(Viewer(me), shifts["退出的班"].id)
    await do_cancel_sign_up(Viewer(me), shifts["退出的班"].id)
    # when
    path = (await execute(CREATE, as_=me)).ok()["createCalendarFeed"]["path"]
    events = await _events(path)
    # then
    assert set(events) == {"确认的班", "候补的班"}
    confirmed = events["确认的班"]
    assert confirmed["uid"] == f"activity-{shifts['确认的班'].id}@tongxin"
    assert (confirmed["status"], confirmed["sequence"]) == ("CONFIRMED", 0)
    assert confirmed["tzid"] == "Asia/Shanghai"
    assert confirmed["start"] == shifts["确认的班"].starts_at
    assert confirmed["start"].utcoffset() == timedelta(hours=8)
    assert events["候补的班"]["status"] == "TENTATIVE"


async def test_updates_and_cancellation_keep_the_uid_and_bump_the_sequence(db):
    # given: my confirmed shift in my feed and in the team's
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳社区志愿队")
    shift = await make_activity(team, admin, title="周末巡河", status=ActivityStatus.DRAFT)
    await do_publish_activity(Viewer(admin), shift.id)
    me = await make_volunteer("我")
    await do_sign_up(Viewer(me), shift.id)
    mine = (await execute(CREATE, as_=me)).ok()["createCalendarFeed"]["path"]
    team_path = f"/calendar/team/{to_global_id('Team', team.id)}.ics"
    before = (await _events(mine))["周末巡河"]
    assert (await _events(team_path))["周末巡河"] == before
    # when: the time moves
    later = shift.starts_at + timedelta(hours=2)
    await do_update_activity(Viewer(admin), shift.id, ActivityData(
        starts_at=later, ends_at=later + timedelta(hours=3)))
    moved = (await _events(mine))["周末巡河"]
    # then
    assert moved["uid"] == before["uid"] and moved["sequence"] == 2  # start and end
    assert moved["start"] == later
    # when: it is cancelled
    await do_cancel_activity(Viewer(admin), shift.id, "天气原因")
    for path in (mine, team_path):
        cancelled = (await _events(path))["周末巡河"]
        assert (cancelled["uid"], cancelled["status"], cancelled["sequence"]) == (
            before["uid"], "CANCELLED", 3)


async def test_the_team_feed_shows_published_activities_only(db):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    await make_activity(team, admin, title="已发布")
    await make_activity(team, admin, title="草稿", status=ActivityStatus.DRAFT)
    never_public = await make_activity(team, admin, title="未发布就取消", status=ActivityStatus.DRAFT)
    await do_cancel_activity(Viewer(admin), never_public.id, "不办了")
    assert set(await _events(f"/calendar/team/{to_global_id('Team', team.id)}.ics")) == {"已发布"}
    assert (await _get(f"/calendar/team/{to_global_id('Team', team.id + 99)}.ics")).status_code == 404
    assert (await _get("/calendar/team/not-an-id.ics")).status_code == 404
    assert (await _get(f"/calendar/team/{to_global_id('Activity', 1)}.ics")).status_code == 404


async def test_a_feed_url_is_secret_stored_hashed_and_revocable(db):
    # given
    me = await make_volunteer("我")
    first = (await execute(CREATE, as_=me)).ok()["createCalendarFeed"]["path"]
    token = first.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40
    assert not await CalendarFeed.filter(token_hash=token).exists()
    assert (await _get(first)).headers["cache-control"] == "private, no-store"
    # when: a new URL is made, the old one stops working
    second = (await execute(CREATE, as_=me)).ok()["createCalendarFeed"]["path"]
    assert (await _get(first)).status_code == 404
    assert (await _get(second)).status_code == 200
    assert (await execute(FEED, as_=me)).ok()["calendarFeed"]["createdAt"]
    # when: revoked
    assert (await execute(REVOKE, as_=me)).ok()["revokeCalendarFeed"] is True
    assert (await _get(second)).status_code == 404
    assert (await execute(FEED, as_=me)).ok()["calendarFeed"] is None
    assert (await execute(REVOKE, as_=me)).ok()["revokeCalendarFeed"] is False
    assert (await _get("/calendar/feed/short.ics")).status_code == 404
    assert (await execute(CREATE)).codes == ["UNAUTHENTICATED"]


async def test_participants_and_admins_read_the_change_log_others_do_not(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    shift = await make_activity(team, admin, title="社区义诊", capacity=5)
    me, stranger = await make_volunteer("我"), await make_volunteer("路人")
    await do_sign_up(Viewer(me), shift.id)
    # when
    await do_update_activity(Viewer(admin), shift.id, ActivityData(capacity=8, address="社区活动中心"))
    # then
    variables = {"id": to_global_id("Activity", shift.id)}
    log = (await execute(CHANGES, variables, as_=me)).ok()["activityChanges"]
    assert log["totalCount"] == 2
    assert {(e["node"]["field"], e["node"]["before"], e["node"]["after"]) for e in log["edges"]} == {
        ("capacity", "5", "8"), ("address", None, "社区活动中心")}
    assert log["edges"][0]["node"]["actor"]["displayName"] == "队长"
    assert (await execute(CHANGES, variables, as_=admin)).ok()["activityChanges"]["totalCount"] == 2
    assert (await execute(CHANGES, variables, as_=stranger)).codes == ["NOT_FOUND"]
    assert (await execute(CHANGES, {"id": "bad"}, as_=me)).codes == ["BAD_USER_INPUT"]


async def test_a_new_place_notifies_participants_and_requirements_are_logged(db):
    # given
    admin = await make_volunteer("队长")
    shift = await make_activity(await make_team(admin), admin, title="社区义诊", capacity=5)
    me = await make_volunteer("我")
    await do_sign_up(Viewer(me), shift.id)
    # when
    await do_update_activity(Viewer(admin), shift.id, ActivityData(address="街道卫生服务中心"))
    await do_set_requirements(Viewer(admin), shift.id, ["急救证"], 18)
    # then
    note = await Notification.get(volunteer_id=me.id, kind=KIND_PLACE_CHANGED)
    assert "街道卫生服务中心" in note.body
    changes = await ActivityChange.filter(activity_id=shift.id).order_by("id")
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("address", None, "街道卫生服务中心"), ("qualifications", "", "急救证"),
        ("minimum_age", None, "18")]

