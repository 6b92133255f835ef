"""Shift hand-over: to a named volunteer or the waitlist, with or without the organiser's
approval; the rules of a sign-up hold for the taker; refusals write nothing; and the move is
atomic under a crowd of competing acceptances, sign-ups and cancellations."""

from __future__ import annotations

import asyncio

from models.activity import SignUp, SignUpStatus
from models.notification import Notification
from models.swap import ShiftSwap, SwapStatus
from resolvers import swap as rules
from resolvers.auth import Viewer
from resolvers.errors import DomainError
from resolvers.signup import do_cancel_sign_up, do_sign_up
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer
from tests.offers.test_offers import assert_counts_match_rows

OFFER = """
mutation O($activity: ID!, $to: ID) { offerShiftSwap(activityId: $activity, toVolunteerId: $to) {
  id status toWaitlist giver { displayName } receiver { displayName } } }
"""
ACCEPT = "mutation A($id: ID!) { acceptShiftSwap(id: $id) { status taker { displayName } } }"
DECIDE = """
mutation D($id: ID!, $ok: Boolean!, $why: String) {
  decideShiftSwap(id: $id, approve: $ok, reason: $why) { status decisionReason } }
"""
AWAITING = """
{ shiftSwapsAwaitingApproval(first: 10) { totalCount edges { node { status activity { title }
  giver { displayName } taker { displayName } } } } }
"""
REQUIRED = "query R($id: ID!) { shiftSwapApprovalRequired(activityId: $id) }"
APPROVAL = """
mutation P($id: ID!, $on: Boolean!) { setShiftSwapApproval(activityId: $id, required: $on) { id } }
"""
MINE = "{ shiftSwaps { totalCount edges { node { status activity { title } } } } }"


async def _full(capacity: int = 1, waiting: int = 0, title: str = "社区助老活动"):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, title=title, capacity=capacity,
                                   waitlist_limit=20)
    confirmed = [await make_volunteer(f"正式{i}") for i in range(capacity)]
    waitlisted = [await make_volunteer(f"候补{i}") for i in range(waiting)]
    for person in confirmed + waitlisted:
        await do_sign_up(Viewer(person), activity.id)
    return admin, activity, confirmed, waitlisted


async def _status(activity, person) -> SignUpStatus | None:
    row = await SignUp.get_or_none(activity_id=activity.id, volunteer_id=person.id)
    return row.status if row else None


def _gid(kind: str, db_id: int) -> str:
    return to_global_id(kind, db_id)


async def test_a_named_volunteer_accepts_and_the_place_moves(db):
    # given
    admin, activity, (giver,), _ = await _full()
    friend = await make_volunteer("好友")
    offered = (await execute(OFFER, {"activity": _gid("Activity", activity.id),
                                     "to": _gid("Volunteer", friend.id)}, as_=giver)).ok()
    swap = offered["offerShiftSwap"]
    assert (swap["status"], swap["toWaitlist"], swap["receiver"]["displayName"]) == (
        "OPEN", False, "好友")
    assert await Notification.filter(volunteer_id=friend.id, kind=rules.SWAP_OFFERED).count() == 1
    # when
    accepted = (await execute(ACCEPT, {"id": swap["id"]}, as_=friend)).ok()["acceptShiftSwap"]
    # then
    assert accepted == {"status": "DONE", "taker": {"displayName": "好友"}}
    assert await _status(activity, giver) == SignUpStatus.CANCELLED
    assert await _status(activity, friend) == SignUpStatus.CONFIRMED
    after = await assert_counts_match_rows(activity.id)
    assert (after.taken_count, after.version > activity.version) == (1, True)
    for person in (giver, friend, admin):
        assert await Notification.filter(volunteer_id=person.id, kind=rules.SWAP_DONE).count() == 1
    assert (await execute(MINE, as_=giver)).ok()["shiftSwaps"]["totalCount"] == 1


async def test_offered_to_the_waitlist_the_first_waitlisted_taker_wins(db):
    # given
    _, activity, (giver,), (first, second) = await _full(waiting=2)
    stranger = await make_volunteer("路人")
    swap = await rules.do_offer_swap(Viewer(giver), activity.id, None)
    assert await Notification.filter(kind=rules.SWAP_OFFERED).count() == 2
    # when / then
    sid = _gid("ShiftSwap", swap.id)
    assert (await execute(ACCEPT, {"id": sid}, as_=stranger)).codes == ["NOT_FOUND"]
    assert (await execute(ACCEPT, {"id": sid}, as_=second)).ok()["acceptShiftSwap"]["status"] == "DONE"
    assert (await execute(ACCEPT, {"id": sid}, as_=first)).codes == ["CONFLICT"]
    assert (await _status(activity, second), await _status(activity, first)) == (
        SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED)
    after = await assert_counts_match_rows(activity.id)
    assert (after.taken_count, after.waitlist_count) == (1, 1)


async def test_with_approval_the_organiser_decides(db):
    # given: the activity needs approval
    admin, activity, (giver, other), _ = await _full(capacity=2)
    friend, friend2 = await make_volunteer("好友"), await make_volunteer("好友二")
    assert (await execute(APPROVAL, {"id": _gid("Activity", activity.id), "on": True},
                          as_=giver)).codes == ["FORBIDDEN"]
    (await execute(APPROVAL, {"id": _gid("Activity", activity.id), "on": True}, as_=admin)).ok()
    swap = await rules.do_offer_swap(Viewer(giver), activity.id, friend.id)
    # when: accepted, it waits for the organiser
    waiting = (await execute(ACCEPT, {"id": _gid("ShiftSwap", swap.id)}, as_=friend)).ok()
    assert waiting["acceptShiftSwap"]["status"] == "AWAITING_APPROVAL"
    assert await Notification.filter(volunteer_id=admin.id, kind=rules.SWAP_ACCEPTED).count() == 1
    assert await _status(activity, friend) is None
    assert (await execute(DECIDE, {"id": _gid("ShiftSwap", swap.id), "ok": True},
                          as_=friend)).codes == ["FORBIDDEN"]
    assert (await execute(REQUIRED, {"id": _gid("Activity", activity.id)}, as_=admin)).ok() == {
        "shiftSwapApprovalRequired": True}
    assert (await execute(REQUIRED, {"id": _gid("Activity", activity.id)},
                          as_=giver)).codes == ["FORBIDDEN"]
    # the organiser's list has it; nobody else's does
    awaiting = (await execute(AWAITING, as_=admin)).ok()["shiftSwapsAwaitingApproval"]
    assert [(e["node"]["giver"]["displayName"], e["node"]["taker"]["displayName"])
            for e in awaiting["edges"]] == [("正式0", "好友")]
    assert (await execute(AWAITING, as_=giver)).ok()["shiftSwapsAwaitingApproval"]["totalCount"] == 0
    outsider = await make_volunteer("别队队长")
    await make_team(outsider, "别的队")
    assert (await execute(AWAITING, as_=outsider)).ok()["shiftSwapsAwaitingApproval"][
        "totalCount"] == 0
    # then: approved, it moves
    decided = await execute(DECIDE, {"id": _gid("ShiftSwap", swap.id), "ok": True}, as_=admin)
    assert decided.ok()["decideShiftSwap"]["status"] == "DONE"
    assert await _status(activity, friend) == SignUpStatus.CONFIRMED
    # and a rejected one leaves the place where it was
    second = await rules.do_offer_swap(Viewer(other), activity.id, friend2.id)
    await rules.do_accept_swap(Viewer(friend2), second.id)
    for why in (None, "  ", "长" * 501):  # a refusal says why, within 500 characters
        refused = await execute(DECIDE, {"id": _gid("ShiftSwap", second.id), "ok": False,
                                         "why": why}, as_=admin)
        assert refused.codes == ["BAD_USER_INPUT"]
        assert refused.errors[0]["extensions"]["field"] == "reason"
    assert (await ShiftSwap.get(id=second.id)).status == SwapStatus.AWAITING_APPROVAL
    rejected = await execute(DECIDE, {"id": _gid("ShiftSwap", second.id), "ok": False,
                                      "why": "两人资质不同"}, as_=admin)
    assert rejected.ok()["decideShiftSwap"] == {"status": "REJECTED", "decisionReason": "两人资质不同"}
    told = await Notification.filter(volunteer_id=friend2.id, kind=rules.SWAP_ENDED).first()
    assert told is not None and "两人资质不同" in told.body
    assert (await execute(AWAITING, as_=admin)).ok()["shiftSwapsAwaitingApproval"]["totalCount"] == 0
    assert (await _status(activity, other), await _status(activity, friend2)) == (
        SignUpStatus.CONFIRMED, None)
    await assert_counts_match_rows(activity.id)


async def test_refusals_are_coded_and_write_nothing(db):
    # given
    admin, activity, (giver,), (waiting,) = await _full(waiting=1, title="上午班")
    busy = await make_volunteer("忙人")
    clash = await make_activity(await make_team(admin, "别队"), admin, title="同时段",
                                starts_at=activity.starts_at)
    await do_sign_up(Viewer(busy), clash.id)
    variables = {"activity": _gid("Activity", activity.id), "to": _gid("Volunteer", busy.id)}
    # waitlisted people cannot offer; nobody offers to themselves
    assert (await execute(OFFER, {"activity": variables["activity"]}, as_=waiting)).codes == [
        "CONFLICT"]
    assert (await execute(OFFER, {**variables, "to": _gid("Volunteer", giver.id)},
                          as_=giver)).codes == ["CONFLICT"]
    assert (await execute(OFFER, {**variables, "to": "nonsense"}, as_=giver)).codes == [
        "BAD_USER_INPUT"]
    swap = (await execute(OFFER, variables, as_=giver)).ok()["offerShiftSwap"]
    # one live offer per place
    assert (await execute(OFFER, variables, as_=giver)).codes == ["CONFLICT"]
    # the taker's overlapping shift (rule 5)
    refused = await execute(ACCEPT, {"id": swap["id"]}, as_=busy)
    assert refused.codes == ["CONFLICT"] and refused.errors[0]["extensions"]["reason"] == "OVERLAP"
    assert await _status(activity, giver) == SignUpStatus.CONFIRMED
    assert await _status(activity, busy) is None
    assert (await ShiftSwap.first()).status == SwapStatus.OPEN
    # the giver leaves first: the offer lapses
    await do_cancel_sign_up(Viewer(giver), activity.id)  # the waitlisted one is promoted
    await SignUp.filter(activity_id=clash.id, volunteer_id=busy.id).update(
        status=SignUpStatus.CANCELLED)
    lapsed = await execute(ACCEPT, {"id": swap["id"]}, as_=busy)
    assert lapsed.errors[0]["extensions"]["reason"] == "GIVER_LEFT"
    assert (await ShiftSwap.first()).status == SwapStatus.LAPSED
    await assert_counts_match_rows(activity.id)


async def test_withdraw_and_decline(db):
    _, activity, (giver,), _ = await _full()
    friend = await make_volunteer("好友")
    first = await rules.do_offer_swap(Viewer(giver), activity.id, friend.id)
    assert (await rules.do_decline_swap(Viewer(friend), first.id)).status == SwapStatus.DECLINED
    second = await rules.do_offer_swap(Viewer(giver), activity.id, friend.id)
    assert (await rules.do_withdraw_swap(Viewer(giver), second.id)).status == SwapStatus.WITHDRAWN
    assert await _status(activity, giver) == SignUpStatus.CONFIRMED


async def test_a_crowd_racing_the_hand_over_never_overbooks(db):
    """Like the flash crowd: every waitlisted volunteer accepts the same waitlist offer while
    the giver cancels, newcomers sign up and another confirmed volunteer cancels."""
    for round_ in range(3):
        # given
        _, activity, confirmed, waitlisted = await _full(capacity=3, waiting=6,
                                                         title=f"第{round_}轮")
        giver, leaver = confirmed[0], confirmed[1]
        newcomers = [await make_volunteer(f"新人{i}") for i in range(4)]
        swap = await rules.do_offer_swap(Viewer(giver), activity.id, None)

        # when
        async def attempt(coro):
            try:
                return await coro
            except DomainError as error:
                return error

        crowd = [rules.do_accept_swap(Viewer(p), swap.id) for p in waitlisted]
        crowd += [do_sign_up(Viewer(p), activity.id) for p in newcomers]
        crowd.insert(round_ * 2, do_cancel_sign_up(Viewer(giver if round_ == 1 else leaver),
                                                  activity.id))
        results = await asyncio.gather(*(attempt(c) for c in crowd))
        # then
        after = await assert_counts_match_rows(activity.id)
        assert after.taken_count <= after.capacity
        final = await ShiftSwap.get(id=swap.id)
        accepted = [r for r in results[:len(crowd)] if isinstance(r, ShiftSwap)]
        assert len(accepted) <= 1
        if final.status == SwapStatus.DONE:
            assert len(accepted) == 1
            assert await _status(activity, giver) == SignUpStatus.CANCELLED
            taker = await SignUp.get(activity_id=activity.id, volunteer_id=final.taker_id)
            assert taker.status == SignUpStatus.CONFIRMED
        else:
            assert final.status == SwapStatus.LAPSED and not accepted
        confirmed_rows = await SignUp.filter(activity_id=activity.id,
                                             status=SignUpStatus.CONFIRMED).count()
        assert confirmed_rows == after.taken_count - after.offered_count
