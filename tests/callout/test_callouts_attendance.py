"""Call-outs linked to an activity: volunteers already checked in there (and not out) are
neither notified nor pushed live; those who left or never came are."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from models.notification import Notification, SmsOutbox
from resolvers.auth import Viewer
from resolvers.hours import do_check_in, do_check_out
from resolvers.services import services
from schema.relay import to_global_id
from subscriptions import channels
from tests.callout.test_callouts import ANSWER, CALL, _drain, _live, call_input, rescue_setup
from tests.helpers import execute, until, wait_for_subscribers
from tests.hours.factory import confirm, make_activity


async def _site(s: dict[str, Any]):
    """The medic is on site, the driver came and left; the activity is the call-out's."""
    activity = await make_activity(s["team"], s["chief"], title="防汛值守", hours=6)
    for who in ("medic", "driver"):
        await confirm(activity, s[who])
        await do_check_in(Viewer(s[who]), activity.id, now=activity.starts_at)
    await do_check_out(Viewer(s["driver"]), activity.id, now=activity.starts_at + timedelta(hours=1))
    return activity


async def test_volunteers_on_site_are_not_called_again(db):
    # given
    s = await rescue_setup()
    activity = await _site(s)
    # when
    result = await execute(CALL, {"input": call_input(
        activityId=to_global_id("Activity", activity.id))}, as_=s["chief"])
    # then
    assert result.ok()["callOut"]["needed"] == 2
    notified = set(await Notification.filter(kind="CALL_OUT").values_list("volunteer_id",
                                                                             flat=True))
    assert notified == {s["driver"].id}
    assert await SmsOutbox.all().count() == 1


async def test_unknown_activity_is_refused(db):
    # given
    s = await rescue_setup()
    # when
    result = await execute(CALL, {"input": call_input(activityId=to_global_id("Activity", 999))},
                           as_=s["chief"])
    wrong = await execute(CALL, {"input": call_input(activityId=to_global_id("Team", 1))},
                          as_=s["chief"])
    # then
    assert result.codes == ["NOT_FOUND"]
    assert wrong.errors[0]["extensions"]["field"] == "activityId"


async def test_live_pushes_skip_whoever_is_on_site(db):
    # given: the driver is not on site yet when the call goes out
    s = await rescue_setup()
    activity = await make_activity(s["team"], s["chief"], title="防汛值守", hours=6)
    for who in ("medic", "driver"):
        await confirm(activity, s[who])
    await do_check_in(Viewer(s["medic"]), activity.id, now=activity.starts_at)
    seen: dict[str, list[Any]] = {"medic": [], "driver": []}
    streams = {who: await _live(s[who]) for who in seen}
    tasks = [asyncio.ensure_future(_drain(streams[w], seen[w])) for w in seen]
    published: list[dict[str, Any]] = []  # what went out on the channel, whoever it reached
    witness = await services().broker.subscribe(channels.call_outs(), on_message=published.append)
    await wait_for_subscribers(channels.call_outs(), len(streams) + 1)
    try:
        # when: the call goes out, the driver checks in, then the medic answers
        created = (await execute(CALL, {"input": call_input(
            activityId=to_global_id("Activity", activity.id))}, as_=s["chief"])).ok()["callOut"]
        await until(lambda: seen["driver"], lambda: f"the driver sees the call: {seen}")
        await do_check_in(Viewer(s["driver"]), activity.id, now=activity.starts_at)
        await execute(ANSWER, {"id": created["id"], "coming": True}, as_=s["medic"])
        await until(lambda: any(m.get("volunteerId") == s["medic"].id for m in published),
                    lambda: f"the medic's answer is published: {published}")
        # it reached the streams with the witness: both have handled it
        await wait_for_subscribers(channels.call_outs(), len(streams) + 1)
        # then: the medic (on site) saw nothing; the driver saw the call, then nothing more
        assert seen["medic"] == []
        assert [(e["comingCount"]) for e in seen["driver"]] == [0]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams.values():
            await stream.aclose()
        await witness.close()
