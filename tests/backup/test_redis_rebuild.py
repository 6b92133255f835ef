"""Redis needs no backup: everything in it comes back from the database after it is emptied
(issue 29; docs/operations.md, "Redis"). Leaderboards rebuild lazily or by
`rebuild-leaderboards`, statistics are recomputed, slot counts are read from the activity row
by every new subscriber (Redis holds no slot counter), rate-limit windows and persisted queries
start afresh."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from resolvers import leaderboard as boards_module
from resolvers.auth import Viewer
from resolvers.leaderboard import Period, rebuild_all
from resolvers.services import services
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from subscriptions.channels import NAMESPACE
from tests.activity.factory import make_activity as make_open_activity
from tests.helpers import execute, make_team, make_volunteer
from tests.leaderboard.factory import approve, make_activity
from tests.stats.test_stats import STATS

pytestmark = pytest.mark.redis

BOARD = """
query Board($period: Period!, $teams: Boolean) {
  leaderboard(period: $period, teams: $teams, first: 50) { rank hours volunteer { id } team { id } }
}"""
SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
SLOTS = "subscription S($id: ID!) { slotCount(activityId: $id) { confirmed waitlisted remaining version } }"


async def answers(admin, slots_id: str) -> dict:
    boards = {(period, teams): (await execute(BOARD, {"period": period, "teams": teams})).ok()
              for period in ("WEEK", "YEAR", "ALL_TIME") for teams in (False, True)}
    stream = await schema.subscribe(SLOTS, variable_values={"id": slots_id},
                                    context_value=Context(viewer=Viewer()))
    try:
        first = await asyncio.wait_for(stream.__anext__(), 5)
    finally:
        await stream.aclose()
    return {"boards": boards, "stats": (await execute(STATS, as_=admin)).ok(),
            "slots": first.data}


async def test_everything_in_redis_comes_back_from_the_database_after_a_flush(db):
    # given: hours on the boards, statistics cached, sign-ups counted
    admin = await make_volunteer("平台", platform_admin=True)
    chief = await make_volunteer("队长")
    team = await make_team(chief, "朝阳队")
    other = await make_team(chief, "海淀队", district="海淀区")
    now = datetime.now(timezone.utc)
    people = [await make_volunteer(f"志愿者{i}") for i in range(5)]
    for index, person in enumerate(people):
        await approve(person, await make_activity(team if index % 2 else other), 1.5 + index,
                      now - timedelta(days=index * 40))
    activity = await make_open_activity(team, chief, capacity=2, waitlist_limit=5)
    slots_id = to_global_id("Activity", activity.id)
    for person in people[:3]:
        (await execute(SIGN_UP, {"id": slots_id}, as_=person)).ok()
    before = await answers(admin, slots_id)
    redis = services().redis
    assert redis is not None
    assert [key async for key in redis.scan_iter(match=f"{NAMESPACE}:lb:*")]
    # when: Redis loses everything of this deployment (FLUSHDB on a Redis of its own; here
    # the namespace, since other test runs share this Redis)
    keys = [key async for key in redis.scan_iter(match=f"{NAMESPACE}:*")]
    await redis.delete(*keys)
    # then: the same answers, rebuilt lazily from the database
    after = await answers(admin, slots_id)
    assert after == before
    assert before["slots"]["slotCount"]["confirmed"] == 2
    assert before["slots"]["slotCount"]["waitlisted"] == 1
    # and the rebuild command puts every current board back in Redis, equal to SQL
    await redis.delete(*[key async for key in redis.scan_iter(match=f"{NAMESPACE}:lb:*")])
    assert await rebuild_all() > 0
    for period in Period:
        key = boards_module.board_key(boards_module.Scope.VOLUNTEERS, period, now, None)
        in_redis = [(int(entity.decode().rsplit(":", 1)[-1]), round(score)) for entity, score in
                    await redis.zrevrange(key, 0, -1, withscores=True)]
        in_sql = await boards_module.board_rows(boards_module.Scope.VOLUNTEERS, period, now, None)
        assert sorted(in_redis) == sorted(in_sql), period
