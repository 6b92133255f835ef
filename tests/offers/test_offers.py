"""Time-limited waitlist offers: near the start a freed place is held for the next waitlisted
volunteer instead of promoting them; accept, decline, expiry that fires once with several
workers, and slot counts that show held places."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from models.activity import Activity, SignUp, SignUpStatus
from models.notification import Notification
from resolvers import offers
from resolvers.activity import KIND_CANCELLED, do_cancel_activity
from resolvers.auth import Viewer
from resolvers.errors import Conflict
from resolvers.offers import do_accept_offer, expire_due_offers
from resolvers.signup import do_cancel_sign_up, do_sign_up, slot_state
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

ACCEPT = "mutation A($id: ID!) { acceptOffer(activityId: $id) { status offerExpiresAt } }"
DECLINE = "mutation D($id: ID!) { declineOffer(activityId: $id) { status } }"
COUNTS = """
query C($id: ID!) { node(id: $id) { ... on Activity {
  confirmedCount offeredCount waitlistCount remaining } } }
"""


async def _full_activity(starts_in: timedelta, capacity: int = 2, waiting: int = 3,
                         admin=None):
    admin = admin or await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=capacity, waitlist_limit=10,
                                   starts_in=starts_in)
    confirmed = [await make_volunteer(f"正式{i}") for i in range(capacity)]
    waitlisted = [await make_volunteer(f"候补{i}") for i in range(waiting)]
    for person in confirmed + waitlisted:
        await do_sign_up(Viewer(person), activity.id)
    return activity, confirmed, waitlisted


async def _status(activity: Activity, person) -> SignUpStatus:
    return (await SignUp.get(activity_id=activity.id, volunteer_id=person.id)).status


async def assert_counts_match_rows(activity_id: int) -> Activity:
    activity = await Activity.get(id=activity_id)
    rows = await SignUp.filter(activity_id=activity_id)
    by_status = {s: sum(1 for r in rows if r.status == s) for s in SignUpStatus}
    assert activity.offered_count == by_status[SignUpStatus.OFFERED]
    assert activity.taken_count == by_status[SignUpStatus.CONFIRMED] + activity.offered_count
    assert activity.waitlist_count == by_status[SignUpStatus.WAITLISTED]
    assert activity.taken_count <= activity.capacity
    return activity


async def test_near_the_start_a_freed_place_is_held_not_given(db):
    # given: full, three waiting, five hours before the start
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    late = await make_volunteer("后来者")
    # when
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    newcomer = await do_sign_up(Viewer(late), activity.id)
    # then: the first in line holds the place for 30 minutes; the newcomer waits
    offer = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
    assert offer.status == SignUpStatus.OFFERED
    assert offer.offer_expires_at is not None
    held_for = offer.offer_expires_at - datetime.now(UTC)
    assert timedelta(minutes=29) < held_for <= timedelta(minutes=30)
    assert newcomer.status == SignUpStatus.WAITLISTED
    assert await Notification.filter(volunteer_id=waitlisted[0].id,
                                     kind=offers.OFFER_MADE).count() == 1
    counts = (await execute(COUNTS, {"id": to_global_id("Activity", activity.id)},
                            as_=late)).ok()["node"]
    assert counts == {"confirmedCount": 1, "offeredCount": 1, "waitlistCount": 3,
                      "remaining": 0}
    state = await slot_state(activity.id)
    assert state is not None and (state.confirmed - state.offered, state.offered) == (1, 1)
    await assert_counts_match_rows(activity.id)


async def test_far_from_the_start_promotion_stays_immediate(db):
    # given
    activity, confirmed, waitlisted = await _full_activity(timedelta(days=3))
    # when
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    # then
    assert await _status(activity, waitlisted[0]) == SignUpStatus.CONFIRMED
    assert (await assert_counts_match_rows(activity.id)).offered_count == 0


async def test_accepting_confirms_and_declining_passes_the_place_on(db):
    # given
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    gid = to_global_id("Activity", activity.id)
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    await do_cancel_sign_up(Viewer(confirmed[1]), activity.id)
    # when
    accepted = await execute(ACCEPT, {"id": gid}, as_=waitlisted[0])
    again = await execute(ACCEPT, {"id": gid}, as_=waitlisted[0])
    declined = await execute(DECLINE, {"id": gid}, as_=waitlisted[1])
    not_offered = await execute(ACCEPT, {"id": gid}, as_=confirmed[0])
    # then
    assert accepted.ok()["acceptOffer"] == {"status": "CONFIRMED", "offerExpiresAt": None}
    assert again.ok()["acceptOffer"]["status"] == "CONFIRMED"
    assert declined.ok()["declineOffer"]["status"] == "CANCELLED"
    assert await _status(activity, waitlisted[2]) == SignUpStatus.OFFERED
    assert not_offered.codes == ["CONFLICT"]
    await assert_counts_match_rows(activity.id)


async def test_an_expired_offer_goes_to_the_next_exactly_once_with_several_workers(db):
    # given
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    later = datetime.now(UTC) + timedelta(minutes=31)
    # when: five workers' job loops fire at the same moment
    fired = await asyncio.gather(*(expire_due_offers(later) for _ in range(5)))
    # then
    assert sum(fired) == 1
    assert await _status(activity, waitlisted[0]) == SignUpStatus.CANCELLED
    assert await _status(activity, waitlisted[1]) == SignUpStatus.OFFERED
    assert await Notification.filter(kind=offers.OFFER_EXPIRED).count() == 1
    assert await Notification.filter(kind=offers.OFFER_MADE).count() == 2
    accepted_late = await execute(ACCEPT, {"id": to_global_id("Activity", activity.id)},
                                  as_=waitlisted[0])
    assert accepted_late.codes == ["CONFLICT"]
    await assert_counts_match_rows(activity.id)


async def test_when_nobody_is_left_the_place_becomes_free(db):
    # given: one waiting volunteer, who lets the offer lapse
    activity, confirmed, _waitlisted = await _full_activity(timedelta(hours=5), waiting=1)
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    # when
    await expire_due_offers(datetime.now(UTC) + timedelta(minutes=31))
    # then
    current = await assert_counts_match_rows(activity.id)
    assert (current.taken_count, current.offered_count) == (1, 0)


async def test_offers_never_outlast_the_start(db):
    # given: ten minutes before the start
    activity, confirmed, waitlisted = await _full_activity(timedelta(minutes=10))
    # when
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    # then
    offer = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
    assert offer.offer_expires_at == activity.starts_at


async def test_accept_racing_expiry_leaves_consistent_counts(db):
    # given: many activities, each with a held offer
    results = []
    for _ in range(6):
        activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5), waiting=2)
        await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
        offer = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
        assert offer.offer_expires_at is not None
        results.append((activity, waitlisted, offer.offer_expires_at))

    async def accept(activity, person, just_before) -> str:
        try:
            await do_accept_offer(Viewer(person), activity.id, now=just_before)
            return "accepted"
        except Conflict:
            return "lost"

    # when: each volunteer accepts a moment before the deadline while the job fires after it
    await asyncio.gather(
        *(accept(a, w[0], expires - timedelta(seconds=1)) for a, w, expires in results),
        *(expire_due_offers(expires + timedelta(seconds=1)) for _, _, expires in results))
    # then: each offer ended exactly one way
    for activity, waitlisted, _ in results:
        first = await _status(activity, waitlisted[0])
        second = await _status(activity, waitlisted[1])
        assert (first, second) in {(SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED),
                                   (SignUpStatus.CANCELLED, SignUpStatus.OFFERED)}
        await assert_counts_match_rows(activity.id)


async def test_a_cancelled_activity_tells_the_offered_and_frees_the_hold_quietly(db):
    # given
    admin = await make_volunteer("队长")
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5), admin=admin)
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    # when
    await do_cancel_activity(Viewer(admin), activity.id, "暴雨预警")
    await expire_due_offers(datetime.now(UTC) + timedelta(minutes=31))
    # then
    assert await Notification.filter(volunteer_id=waitlisted[0].id,
                                     kind=KIND_CANCELLED).count() == 1
    assert await Notification.filter(kind=offers.OFFER_EXPIRED).count() == 0
    assert (await assert_counts_match_rows(activity.id)).offered_count == 0


LIVE_SLOTS = """
subscription Slots($id: ID!) { slotCount(activityId: $id) { confirmed offered waitlisted remaining } }
"""


async def test_live_slot_counts_show_the_held_place_until_it_is_accepted(db):
    # given
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    gid = to_global_id("Activity", activity.id)
    stream = await schema.subscribe(LIVE_SLOTS, variable_values={"id": gid},
                                    context_value=Context(viewer=Viewer()))

    async def until(wanted: dict) -> None:
        while True:
            result = await asyncio.wait_for(stream.__anext__(), 5)
            assert not result.errors, result.errors
            if result.data["slotCount"] == wanted:
                return

    try:
        await until({"confirmed": 2, "offered": 0, "waitlisted": 3, "remaining": 0})
        # when / then: the freed place is held, not free
        await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
        await until({"confirmed": 1, "offered": 1, "waitlisted": 2, "remaining": 0})
        # when / then: accepted
        await do_accept_offer(Viewer(waitlisted[0]), activity.id)
        await until({"confirmed": 2, "offered": 0, "waitlisted": 2, "remaining": 0})
    finally:
        await stream.aclose()


async def test_more_places_near_the_start_are_offered_like_freed_ones(db):
    # given: full, three waiting, five hours before the start
    admin = await make_volunteer("队长")
    activity, _confirmed, waitlisted = await _full_activity(timedelta(hours=5), admin=admin)
    # when: the organiser adds two places
    update = """mutation U($id: ID!, $input: ActivityUpdateInput!) {
      updateActivity(id: $id, input: $input) { capacity confirmedCount offeredCount remaining } }"""
    result = (await execute(update, {"id": to_global_id("Activity", activity.id),
                                     "input": {"capacity": 4}}, as_=admin)).ok()
    # then: the first two in line are asked (held for them), not confirmed without asking
    assert result["updateActivity"] == {"capacity": 4, "confirmedCount": 2, "offeredCount": 2,
                                        "remaining": 0}
    assert [await _status(activity, p) for p in waitlisted] == [
        SignUpStatus.OFFERED, SignUpStatus.OFFERED, SignUpStatus.WAITLISTED]
    assert await Notification.filter(kind=offers.OFFER_MADE).count() == 2
    await assert_counts_match_rows(activity.id)
