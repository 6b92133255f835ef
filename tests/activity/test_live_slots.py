"""slotCount end to end: across server processes through Redis, and with Redis cut mid-run."""

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from models.activity import Activity, SignUp, SignUpStatus
from schema.relay import to_global_id
from subscriptions.channels import NAMESPACE
from tests.activity.clients import SIGN_UP, SlotWatcher, bulk_volunteers, call
from tests.activity.factory import make_activity
from tests.activity.proxy import TcpProxy
from tests.conftest import Backend
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for
from tests.live import start_server

pytestmark = pytest.mark.e2e


async def _activity(capacity: int, waitlist: int) -> tuple[Activity, str]:
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=capacity,
                                   waitlist_limit=waitlist)
    return activity, to_global_id("Activity", activity.id)


@pytest.mark.redis
async def test_a_subscriber_on_one_server_sees_sign_ups_made_on_another(db, live_server, pair_server):
    # given
    _, gid = await _activity(capacity=5, waitlist=5)
    people = await bulk_volunteers(8, PASSWORD_HASH)
    watching, writing = live_server, pair_server
    watcher = SlotWatcher(watching.ws_url, gid)
    try:
        await watcher.start()
        assert watcher.last is not None and watcher.last["confirmed"] == 0
        # when
        async with httpx.AsyncClient(timeout=30) as client:
            outcomes = await asyncio.gather(*(
                call(client, writing.url, token_for(p), SIGN_UP, {"id": gid}, "signUp")
                for p in people))
        # then
        assert sorted(o.status for o in outcomes) == ["CONFIRMED"] * 5 + ["WAITLISTED"] * 3
        assert await watcher.wait_for(lambda m: (m["confirmed"], m["waitlisted"]) == (5, 3),
                                      timeout=5), watcher.seen
        assert watcher.last["remaining"] == 0
    finally:
        await watcher.stop()


@pytest.mark.redis
async def test_sign_ups_stay_correct_when_redis_is_flushed_or_down(db):
    # given: the server reaches Redis through a proxy we can cut
    assert db.redis_url is not None
    target = urlsplit(db.redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    proxied = Backend(db.name, db.database_url, f"redis://127.0.0.1:{proxy.port}/0")
    activity, gid = await _activity(capacity=30, waitlist=30)
    people = await bulk_volunteers(90, PASSWORD_HASH)
    server = await asyncio.to_thread(start_server, proxied, workers=2)
    watcher = SlotWatcher(server.ws_url, gid)
    redis = Redis.from_url(db.redis_url)
    try:
        await watcher.start()
        async with httpx.AsyncClient(timeout=60) as client:

            async def wave(group):
                return await asyncio.gather(*(
                    call(client, server.url, token_for(p), SIGN_UP, {"id": gid}, "signUp")
                    for p in group))

            # when: a third with Redis up, then Redis flushed, then Redis down
            first = await wave(people[:30])
            keys = [key async for key in redis.scan_iter(match=f"{NAMESPACE}:*")]
            if keys:
                await redis.delete(*keys)
            second = await wave(people[30:50])
            await proxy.cut()
            third = await wave(people[50:])
        outcomes = [o.status for o in first + second + third]
        # then
        assert outcomes.count("CONFIRMED") == 30
        assert outcomes.count("WAITLISTED") == 30
        assert outcomes.count("CONFLICT") == 30
        rows = await SignUp.filter(activity_id=activity.id)
        fresh = await Activity.get(id=activity.id)
        assert fresh.taken_count == sum(r.status == SignUpStatus.CONFIRMED for r in rows) == 30
        assert fresh.waitlist_count == sum(r.status == SignUpStatus.WAITLISTED for r in rows) == 30
        # and when Redis returns, the subscriber catches up from the database
        await proxy.start()
        assert await watcher.wait_for(lambda m: (m["confirmed"], m["waitlisted"]) == (30, 30),
                                      timeout=15), (watcher.seen[-3:], server.log()[-2000:])
    finally:
        await watcher.stop()
        server.stop()
        await proxy.cut()
        await redis.aclose()
