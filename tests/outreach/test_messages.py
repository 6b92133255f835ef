"""Organiser messages: audiences, in-app + live + SMS delivery, replies to the organiser,
coded refusals that write nothing, the rate limit, and the log for team admins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from models.activity import SignUp
from models.notification import Notification, SmsOutbox
from models.outreach import OrganiserMessage
from resolvers.auth import Viewer
from resolvers.outreach import ORGANISER_MESSAGE, ORGANISER_MESSAGE_REPLY
from resolvers.services import services
from resolvers.signup import do_sign_up
from schema.relay import to_global_id
from subscriptions import channels
from tests.activity.factory import make_activity
from tests.helpers import add_member, execute, make_team, make_volunteer

SEND = """
mutation S($audience: MessageAudience!, $activity: ID, $team: ID, $title: String!,
           $body: String!, $sms: Boolean) {
  sendOrganiserMessage(audience: $audience, activityId: $activity, teamId: $team, title: $title,
                       body: $body, sms: $sms) { id recipientCount audience sender { displayName } } }
"""
REPLY = """
mutation R($id: ID!, $body: String!) { replyToOrganiserMessage(messageId: $id, body: $body) {
  body author { displayName } } }
"""
LOG = """
query L($activity: ID) { organiserMessages(activityId: $activity) { totalCount
  edges { node { title recipientCount replies { totalCount edges { node { body } } } } } } }
"""


async def _roster():
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=2, waitlist_limit=5)
    confirmed = [await make_volunteer(f"正式{i}") for i in range(2)]
    waiting = await make_volunteer("候补")
    for person in [*confirmed, waiting]:
        await do_sign_up(Viewer(person), activity.id)
    return admin, team, activity, confirmed, waiting


def _vars(activity, audience="CONFIRMED", **extra):
    return {"audience": audience, "activity": to_global_id("Activity", activity.id),
            "title": "集合地点调整", "body": "明早八点改在东门集合。", **extra}


async def test_confirmed_volunteers_get_it_live_and_reply_to_the_organiser(db):
    # given
    admin, _, activity, confirmed, waiting = await _roster()
    live = await services().broker.subscribe(channels.notifications(confirmed[0].id))
    try:
        # when
        sent = (await execute(SEND, _vars(activity, sms=True), as_=admin)).ok()
        message = sent["sendOrganiserMessage"]
        # then
        assert (message["recipientCount"], message["sender"]["displayName"]) == (2, "队长")
        note = await Notification.get(volunteer_id=confirmed[0].id, kind=ORGANISER_MESSAGE)
        assert await asyncio.wait_for(live.get(), 5) == {"id": note.id}
    finally:
        await live.close()
    assert await Notification.filter(volunteer_id=waiting.id).count() == 0
    assert await SmsOutbox.all().count() == 2
    # a recipient replies; someone who did not receive it cannot
    reply = await execute(REPLY, {"id": message["id"], "body": "收到"}, as_=confirmed[1])
    assert reply.ok()["replyToOrganiserMessage"]["author"]["displayName"] == "正式1"
    assert await Notification.filter(volunteer_id=admin.id, kind=ORGANISER_MESSAGE_REPLY).count() == 1
    assert (await execute(REPLY, {"id": message["id"], "body": "我也要"}, as_=waiting)).codes == [
        "NOT_FOUND"]
    # the organiser's log shows the message and its replies
    log = (await execute(LOG, {"activity": to_global_id("Activity", activity.id)}, as_=admin)).ok()
    node = log["organiserMessages"]["edges"][0]["node"]
    assert (node["recipientCount"], node["replies"]["totalCount"]) == (2, 1)
    assert (await execute(LOG, {"activity": to_global_id("Activity", activity.id)},
                          as_=confirmed[0])).codes == ["FORBIDDEN"]


async def test_audiences_waitlisted_checked_in_and_team(db):
    admin, team, activity, confirmed, _ = await _roster()
    member = await make_volunteer("队员")
    await add_member(team, member)
    await SignUp.filter(activity_id=activity.id, volunteer_id=confirmed[0].id).update(
        checked_in_at=datetime.now(UTC))
    counts = {}
    for audience in ("WAITLISTED", "CHECKED_IN", "SIGNED_UP"):
        sent = (await execute(SEND, _vars(activity, audience), as_=admin)).ok()
        counts[audience] = sent["sendOrganiserMessage"]["recipientCount"]
    team_vars = {**_vars(activity, "TEAM"), "activity": None, "team": to_global_id("Team", team.id)}
    counts["TEAM"] = (await execute(SEND, team_vars, as_=admin)).ok()[
        "sendOrganiserMessage"]["recipientCount"]
    assert counts == {"WAITLISTED": 1, "CHECKED_IN": 1, "SIGNED_UP": 3, "TEAM": 1}
    assert await Notification.filter(volunteer_id=member.id, kind=ORGANISER_MESSAGE).count() == 1


async def test_refusals_write_nothing_and_the_rate_limit_holds(db):
    admin, team, activity, confirmed, _ = await _roster()
    bad = [
        (_vars(activity, body="   "), "BAD_USER_INPUT"),
        (_vars(activity, "TEAM"), "BAD_USER_INPUT"),
        ({**_vars(activity), "team": to_global_id("Team", team.id)}, "BAD_USER_INPUT"),
        (_vars(activity, body="长" * 2001), "BAD_USER_INPUT"),
    ]
    for variables, code in bad:
        assert (await execute(SEND, variables, as_=admin)).codes == [code]
    assert (await execute(SEND, _vars(activity), as_=confirmed[0])).codes == ["FORBIDDEN"]
    assert await OrganiserMessage.all().count() == 0
    assert await Notification.all().count() == 0
    for _ in range(10):
        (await execute(SEND, _vars(activity), as_=admin)).ok()
    assert (await execute(SEND, _vars(activity), as_=admin)).codes == ["RATE_LIMITED"]
    assert await OrganiserMessage.all().count() == 10
