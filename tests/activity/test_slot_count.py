import asyncio
import itertools
import time
from datetime import UTC, datetime

import pytest

from models.activity import ActivityStatus
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from subscriptions.broker import RESYNC, MemoryBroker
from subscriptions.channels import slots
from subscriptions.cost import PublishCost
from subscriptions.slots import SlotHub, SlotState
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

SLOTS = """
subscription Slots($id: ID!) {
  slotCount(activityId: $id) { activityId capacity confirmed waitlisted remaining status version }
}"""
SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
CANCEL_ACTIVITY = "mutation C($id: ID!) { cancelActivity(id: $id, reason: \"暴雨\") { status } }"
UPDATE = "mutation U($id: ID!) { updateActivity(id: $id, input: {capacity: 4}) { capacity } }"


async def _next(stream, timeout: float = 5.0):
    result = await asyncio.wait_for(stream.__anext__(), timeout)
    assert not result.errors, result.errors
    return result.data["slotCount"]


async def _drain(stream, until, timeout: float = 5.0) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(await _next(stream, deadline - time.monotonic()))
        if until(seen[-1]):
            return seen
    raise AssertionError(seen)


async def test_current_counts_first_then_coalesced_changes(db):
    # given
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=3, waitlist_limit=20)
    gid = to_global_id("Activity", activity.id)
    people = [await make_volunteer(f"志愿者{i}") for i in range(12)]
    stream = await schema.subscribe(SLOTS, variable_values={"id": gid},
                                    context_value=Context(viewer=Viewer()))
    try:
        first = await _next(stream)
        # when
        started = time.monotonic()
        for person in people:
            (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
        elapsed = time.monotonic() - started
        seen = await _drain(stream, lambda m: m["waitlisted"] == 9)
        (await execute(UPDATE, {"id": gid}, as_=admin)).ok()
        grown = await _drain(stream, lambda m: m["capacity"] == 4)
        (await execute(CANCEL_ACTIVITY, {"id": gid}, as_=admin)).ok()
        cancelled = await _drain(stream, lambda m: m["status"] == "CANCELLED")
    finally:
        await stream.aclose()
    # then
    assert first == {"activityId": gid, "capacity": 3, "confirmed": 0, "waitlisted": 0,
                     "remaining": 3, "status": "PUBLISHED", "version": 0}
    assert seen[-1]["confirmed"] == 3 and seen[-1]["remaining"] == 0
    assert len(seen) <= 2 + elapsed / 0.1, (len(seen), elapsed)  # at most one per 100 ms
    versions = [m["version"] for m in [first, *seen, *grown, *cancelled]]
    assert versions == sorted(set(versions))
    totals = [m["confirmed"] + m["waitlisted"] for m in seen]
    assert totals == sorted(totals)  # never backwards within the burst
    assert (grown[-1]["confirmed"], grown[-1]["waitlisted"]) == (4, 8)  # promotion published
    assert cancelled[-1]["remaining"] == 0


async def test_drafts_cannot_be_watched_by_outsiders(db):
    # given
    admin = await make_volunteer("队长")
    draft = await make_activity(await make_team(admin), admin, status=ActivityStatus.DRAFT)
    # when
    stream = await schema.subscribe(SLOTS, variable_values={"id": to_global_id("Activity",
                                                                               draft.id)},
                                    context_value=Context(viewer=Viewer()))
    result = await asyncio.wait_for(stream.__anext__(), 5)
    await stream.aclose()
    # then
    assert result.errors and result.errors[0].extensions["code"] == "NOT_FOUND"


async def test_flushes_stay_apart_by_the_processs_fan_out_cost():
    # given: this process's shared publish loops take 0.2 s (10,000 members, say)
    broker = MemoryBroker()

    async def load(activity_id: int) -> SlotState:
        return _state(1, 1)

    hub = SlotHub(broker, load, flush_interval=0.01, settle_seconds=5,
                  delivery_cost=lambda: 0.2)
    watcher = await hub.watch(7)
    await watcher.next()
    # when: changes keep arriving
    arrivals = []
    for version in range(2, 6):
        await broker.publish(slots(7), _state(version, version).to_message())
        arrivals.append(await asyncio.wait_for(watcher.next(), 2))
        arrivals[-1] = (arrivals[-1].version, time.monotonic())
    # then: every change arrives, flushes 1.5 x 0.2 s apart rather than every 10 ms, so the
    # writes take at most two thirds of the worker and the sign-ups keep their share
    assert [version for version, _ in arrivals] == [2, 3, 4, 5]
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(arrivals)]
    assert all(gap >= 0.28 for gap in gaps), gaps
    await watcher.close()


def test_the_publish_cost_ignores_one_slow_loop_adds_groups_and_fades():
    cost = PublishCost()
    # one loop preempted on a loaded machine does not triple the gap...
    for seconds in (0.03, 0.14, 0.03, 0.03):
        cost.record(seconds, now=100.0, key=1)
    assert cost.seconds(100.0) == 0.03
    # ...but loops that stay long take over from the second one
    cost.record(0.1, now=100.0, key=1)
    assert cost.seconds(100.0) == 0.03
    cost.record(0.1, now=100.0, key=1)
    assert cost.seconds(100.0) == 0.1
    # a change reaches every group of the activity: their loops add up
    cost.record(0.02, now=100.0, key=2)
    assert cost.seconds(100.0) == pytest.approx(0.12)
    # a group that stopped looping fades out, one that ended is gone
    assert cost.seconds(101.0) == pytest.approx(0.06) and cost.seconds(110.0) < 0.001
    cost.forget(1)
    assert cost.seconds(100.0) == pytest.approx(0.02)


def _state(version: int, confirmed: int) -> SlotState:
    return SlotState(7, 10, confirmed, 0, ActivityStatus.PUBLISHED, version, datetime.now(UTC))


async def test_hub_drops_stale_versions_and_always_delivers_the_last():
    # given
    broker = MemoryBroker()
    database = {"state": _state(1, 1)}

    async def load(activity_id: int) -> SlotState:
        return database["state"]

    hub = SlotHub(broker, load, flush_interval=0.05, settle_seconds=0.2)
    watcher = await hub.watch(7)
    assert (await watcher.next()).version == 1
    # when: a burst arrives out of order, then the database moves on silently
    for version in (3, 2, 5, 4):
        await broker.publish(slots(7), _state(version, version).to_message())
    first = await asyncio.wait_for(watcher.next(), 1)
    last = await asyncio.wait_for(watcher.next(), 1)
    database["state"] = _state(9, 9)
    await broker.publish(slots(7), RESYNC)
    resynced = await asyncio.wait_for(watcher.next(), 1)
    # then
    assert first.version == 3  # leading edge
    assert last.version == 5  # trailing edge: the newest, never 4 or 2
    assert resynced.version == 9
    await watcher.close()
    assert broker.local_subscriber_count() == 0
