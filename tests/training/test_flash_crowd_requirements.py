"""The flash-crowd path with requirements on: 240 volunteers (half qualified, half not) race
for 40 places + 40 waitlist through a real two-worker server while confirmed volunteers cancel
and waitlisted ones are promoted. No overbooking, no deadlock, every refusal typed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from models.activity import Activity, SignUp, SignUpStatus
from models.training import Qualification
from schema.relay import to_global_id
from tests.activity.clients import CANCEL, SIGN_UP, bulk_volunteers, call
from tests.activity.factory import make_activity
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for
from tests.training.factory import require

pytestmark = pytest.mark.e2e


async def test_flash_crowd_with_requirements_never_overbooks(db, pair_server):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, title="马拉松医疗保障", capacity=40,
                                   waitlist_limit=40)
    await require(activity.id, "急救员", minimum_age=18)
    gid = to_global_id("Activity", activity.id)
    people = await bulk_volunteers(240, PASSWORD_HASH, prefix="赛")
    qualified = people[::2]
    now = datetime.now(UTC)
    await Qualification.bulk_create([
        Qualification(volunteer_id=p.id, name="急救员", granted_at=now,
                      expires_at=now + timedelta(days=365)) for p in qualified])
    qualified_ids = {p.id for p in qualified}
    tokens = {p.id: token_for(p) for p in people}
    server = pair_server
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # when: everyone at once
        outcomes = await asyncio.gather(*(
            call(client, server.url, tokens[p.id], SIGN_UP, {"id": gid}, "signUp")
            for p in people))
        first_wave = await SignUp.filter(activity_id=activity.id,
                                         status=SignUpStatus.CONFIRMED)
        # when: 15 confirmed cancel while the refused half tries again
        leaving = first_wave[:15]
        retry = [p for p in people if p.id not in qualified_ids][:60]
        second = await asyncio.gather(
            *(call(client, server.url, tokens[r.volunteer_id], CANCEL, {"id": gid},
                   "cancelSignUp") for r in leaving),
            *(call(client, server.url, tokens[p.id], SIGN_UP, {"id": gid}, "signUp")
              for p in retry))
    # then
    by_status = {s: sum(1 for o in outcomes if o.status == s)
                 for s in {o.status for o in outcomes}}
    assert by_status == {"CONFIRMED": 40, "WAITLISTED": 40, "CONFLICT": 40,
                         "FORBIDDEN": 120}, by_status
    assert [o.status for o in second[:15]] == ["CANCELLED"] * 15
    assert {o.status for o in second[15:]} == {"FORBIDDEN"}
    await activity.refresh_from_db()
    rows = await SignUp.filter(activity_id=activity.id)
    confirmed = [r for r in rows if r.status == SignUpStatus.CONFIRMED]
    waitlisted = [r for r in rows if r.status == SignUpStatus.WAITLISTED]
    assert activity.taken_count == len(confirmed) == 40
    assert activity.waitlist_count == len(waitlisted) == 25
    assert {r.volunteer_id for r in rows} <= qualified_ids
    assert (await Activity.get(id=activity.id)).taken_count <= activity.capacity
