"""Donations: to a volunteer or a help request's beneficiary, never beyond the balance, both
sides in one transaction; crossing donations under concurrency conserve the total."""

from __future__ import annotations

import asyncio
import random

from models.helprequest import HelpRequest
from models.hours import PointsEntry, PointsKind
from models.notification import Notification
from models.timebank import PointsTransfer
from models.volunteer import VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import Conflict
from resolvers.timebank import POINTS_RECEIVED, do_donate_points
from schema.relay import to_global_id
from tests.helpers import execute, make_volunteer
from tests.timebank.factory import assert_ledger_consistent, balance, grant

DONATE = """
mutation Donate($input: DonatePointsInput!) {
  donatePoints(input: $input) {
    points note fromVolunteer { displayName } toVolunteer { displayName } helpRequest { title }
  }
}
"""


async def test_donating_to_a_volunteer_moves_points_and_tells_them(db):
    # given
    donor = await make_volunteer("张伟")
    friend = await make_volunteer("刘洋")
    await grant(donor, 100)
    # when
    result = await execute(DONATE, {"input": {"points": 30, "note": "谢谢您的帮助",
                                              "toVolunteerId": to_global_id("Volunteer",
                                                                            friend.id)}},
                           as_=donor)
    # then
    donation = result.ok()["donatePoints"]
    assert donation["toVolunteer"]["displayName"] == "刘洋"
    assert (await balance(donor), await balance(friend)) == (70, 30)
    kinds = await PointsEntry.filter(transfer_id__not_isnull=True).order_by("id").values_list(
        "volunteer_id", "kind", "delta")
    assert kinds == [(donor.id, PointsKind.DONATE_OUT, -30), (friend.id, PointsKind.DONATE_IN, 30)]
    assert await Notification.filter(volunteer_id=friend.id, kind=POINTS_RECEIVED).count() == 1
    await assert_ledger_consistent()


async def test_donating_to_a_help_request_reaches_its_beneficiary(db):
    # given
    donor = await make_volunteer("张伟")
    resident = await make_volunteer("赵奶奶")
    request = await HelpRequest.create(created_by=resident, title="需要买药", description="腿脚不便",
                                       district="朝阳区")
    await grant(donor, 50)
    # when
    result = await execute(DONATE, {"input": {"points": 50, "helpRequestId": to_global_id(
        "HelpRequest", request.id)}}, as_=donor)
    # then
    assert result.ok()["donatePoints"]["helpRequest"]["title"] == "需要买药"
    assert (await balance(donor), await balance(resident)) == (0, 50)


async def test_bad_donations_are_refused_and_write_nothing(db):
    # given
    donor = await make_volunteer("张伟")
    friend = await make_volunteer("刘洋")
    pending = await make_volunteer("未激活", status=VolunteerStatus.PENDING_CONSENT)
    await grant(donor, 10)
    to = to_global_id("Volunteer", friend.id)
    # when
    too_much = await execute(DONATE, {"input": {"points": 11, "toVolunteerId": to}}, as_=donor)
    to_self = await execute(DONATE, {"input": {"points": 1, "toVolunteerId": to_global_id(
        "Volunteer", donor.id)}}, as_=donor)
    nobody = await execute(DONATE, {"input": {"points": 1}}, as_=donor)
    zero = await execute(DONATE, {"input": {"points": 0, "toVolunteerId": to}}, as_=donor)
    unclaimed = await execute(DONATE, {"input": {"points": 1, "toVolunteerId": to_global_id(
        "Volunteer", pending.id)}}, as_=donor)
    # then
    assert too_much.codes == ["CONFLICT"]
    assert to_self.codes == nobody.codes == zero.codes == ["BAD_USER_INPUT"]
    assert zero.errors[0]["extensions"]["field"] == "points"
    assert unclaimed.codes == ["NOT_FOUND"]
    assert await PointsTransfer.all().count() == 0
    assert (await balance(donor), await balance(friend)) == (10, 0)


async def test_crossing_concurrent_donations_conserve_points_and_never_overdraw(db):
    # given: six people with 50 points each donate to each other at random, 200 times at once
    people = [await make_volunteer(f"志愿者{i}") for i in range(6)]
    for person in people:
        await grant(person, 50)
    rng = random.Random(13)
    pairs = [tuple(rng.sample(people, 2)) for _ in range(200)]

    async def give(donor, recipient) -> bool:
        try:
            await do_donate_points(Viewer(donor), rng.randint(1, 15), to_volunteer_id=recipient.id)
            return True
        except Conflict:
            return False

    # when
    outcomes = await asyncio.gather(*(give(a, b) for a, b in pairs))
    # then
    balances = [await balance(person) for person in people]
    assert sum(balances) == 300
    assert min(balances) >= 0
    assert any(outcomes)
    assert await PointsTransfer.all().count() == sum(outcomes)
    await assert_ledger_consistent()


async def test_a_retried_donation_key_donates_once(db):
    # given
    donor = await make_volunteer("张伟")
    friend = await make_volunteer("刘洋")
    await grant(donor, 100)
    # when
    results = await asyncio.gather(*(do_donate_points(
        Viewer(donor), 10, to_volunteer_id=friend.id, idempotency_key="gift-1") for _ in range(4)))
    # then
    assert len({r.transfer.id for r in results}) == 1
    assert (await balance(donor), await balance(friend)) == (90, 10)
