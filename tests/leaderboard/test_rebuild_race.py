"""A rebuild racing approvals, adjustments and rejections counts every delta exactly once:
afterwards every Redis board equals the database, whatever the interleaving."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from resolvers import leaderboard as board_rules
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours, do_reject_hours
from resolvers.leaderboard import Period, Scope, board_key, board_rows, rebuild_all
from resolvers.services import services
from tests.helpers import add_member, make_team, make_volunteer
from tests.hours.factory import make_activity, now, served

pytestmark = pytest.mark.redis


async def _redis_board(scope: Scope, period: Period, district: str | None) -> list[tuple[int, int]]:
    redis = services().redis
    key = board_key(scope, period, now(), district)
    assert await redis.exists(f"{key}:ready")
    rows = await redis.zrevrange(key, 0, -1, withscores=True)
    return sorted(((int(m), round(s)) for m, s in rows), key=lambda p: (-p[1], p[0]))


@pytest.mark.parametrize("seed", [5, 6])
async def test_rebuilds_racing_approvals_count_each_delta_once(boards, monkeypatch, seed):
    # given: 40 pending records of 12 people at two districts' activities, boards built
    rng = random.Random(seed)
    admin = await make_volunteer("队长")
    teams = [await make_team(admin, "朝阳队"), await make_team(admin, "海淀队", district="海淀区")]
    people = [await make_volunteer(f"队员{i}") for i in range(12)]
    for team in teams:
        for person in people:
            await add_member(team, person)
    records = []
    for index in range(40):
        activity = await make_activity(teams[index % 2], admin, title=f"服务{index}", hours=4,
                                       starts_at=now() - timedelta(hours=5 + index % 3))
        records.append(await served(activity, people[index % 12], rng.choice([1.5, 2.0, 3.25])))
    await rebuild_all()
    # and every after-commit notify takes a random moment to arrive, as across a network
    real_notify = board_rules.notify_hours_changed

    async def late_notify(*args, **kwargs) -> None:
        await asyncio.sleep(rng.random() * 0.05)
        await real_notify(*args, **kwargs)

    monkeypatch.setattr(board_rules, "notify_hours_changed", late_notify)
    viewer = Viewer(admin)

    async def decide(record) -> None:
        await asyncio.sleep(rng.random() * 1.5)
        await do_approve_hours(viewer, record.id)
        if rng.random() < 0.3:
            await do_approve_hours(viewer, record.id, hours=1.0, reason="按实际时长调整")
        if rng.random() < 0.2:
            await do_reject_hours(viewer, record.id, "重复记录")

    decided = asyncio.Event()

    async def decide_all() -> None:
        await asyncio.gather(*(decide(r) for r in records))
        decided.set()

    async def rebuild_until_decided() -> None:
        while not decided.is_set():  # no clean rebuild after the last change
            await rebuild_all()
            await asyncio.sleep(rng.random() * 0.02)

    # when
    await asyncio.gather(decide_all(), rebuild_until_decided(), rebuild_until_decided())
    await asyncio.sleep(0.1)
    # then
    for scope in Scope:
        for period in Period:
            for district in (None, "朝阳区", "海淀区"):
                expected = sorted(await board_rows(scope, period, now(), district),
                                  key=lambda p: (-p[1], p[0]))
                assert await _redis_board(scope, period, district) == expected, (
                    scope, period, district)

