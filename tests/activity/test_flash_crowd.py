"""Rule 1 under real concurrency: 300 distinct volunteers race for 50 places (+100 waitlist)
through a real two-worker server, then 40 confirmed volunteers cancel at once."""

import asyncio
import time

import httpx
import pytest

from models.activity import Activity, SignUp, SignUpStatus
from schema.relay import to_global_id
from tests.activity.clients import CANCEL, SIGN_UP, SlotWatcher, bulk_volunteers, call
from tests.activity.factory import make_activity
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for

pytestmark = pytest.mark.e2e

COUNTS = "query Q($id: ID!) { node(id: $id) { ... on Activity { confirmedCount waitlistCount } } }"


async def _poll(client: httpx.AsyncClient, url: str, gid: str, seen: list[tuple[int, int]],
                stop: asyncio.Event) -> None:
    while not stop.is_set():
        body = (await client.post(url, json={"query": COUNTS, "variables": {"id": gid}})).json()
        node = body["data"]["node"]
        seen.append((node["confirmedCount"], node["waitlistCount"]))
        await asyncio.sleep(0.01)


async def _assert_rows_match(activity_id: int) -> tuple[list[SignUp], list[SignUp]]:
    activity = await Activity.get(id=activity_id)
    rows = await SignUp.filter(activity_id=activity_id).order_by("id")
    confirmed = [r for r in rows if r.status == SignUpStatus.CONFIRMED]
    waitlisted = sorted((r for r in rows if r.status == SignUpStatus.WAITLISTED),
                        key=lambda r: r.waitlist_seq or 0)
    assert activity.taken_count == len(confirmed)
    assert activity.waitlist_count == len(waitlisted)
    assert len({r.volunteer_id for r in rows}) == len(rows)  # nobody is both
    return confirmed, waitlisted


async def test_flash_crowd_never_overbooks(db, pair_server):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=50, waitlist_limit=100)
    gid = to_global_id("Activity", activity.id)
    people = await bulk_volunteers(300, PASSWORD_HASH)
    tokens = {person.id: token_for(person) for person in people}
    server = pair_server
    watcher = SlotWatcher(server.ws_url, gid)
    stop = asyncio.Event()
    polled: list[tuple[int, int]] = []
    try:
        await watcher.start()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            poller = asyncio.create_task(_poll(client, server.url, gid, polled, stop))
            # when: 300 sign-ups at once
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(
                call(client, server.url, tokens[p.id], SIGN_UP, {"id": gid}, "signUp")
                for p in people))
            sign_up_seconds = time.perf_counter() - started
            by_status = {s: sum(1 for o in outcomes if o.status == s)
                         for s in {o.status for o in outcomes}}
            confirmed, waitlisted = await _assert_rows_match(activity.id)
            # then
            assert by_status == {"CONFIRMED": 50, "WAITLISTED": 100, "CONFLICT": 150}, by_status
            assert len(confirmed) == 50 and len(waitlisted) == 100
            assert [r.waitlist_seq for r in waitlisted] == list(range(1, 101))
            arrival = [r.created_at for r in waitlisted]
            assert arrival == sorted(arrival)  # waitlist order is arrival (commit) order
            # when: 40 confirmed volunteers cancel at once
            leaving = confirmed[:40]
            cancels = await asyncio.gather(*(
                call(client, server.url, tokens[r.volunteer_id], CANCEL, {"id": gid},
                     "cancelSignUp") for r in leaving))
            stop.set()
            await poller
        # then
        assert {o.status for o in cancels} == {"CANCELLED"}
        confirmed_after, waitlisted_after = await _assert_rows_match(activity.id)
        assert len(confirmed_after) == 50 and len(waitlisted_after) == 60
        promoted = {r.volunteer_id for r in confirmed_after} - {r.volunteer_id for r in confirmed}
        assert promoted == {r.volunteer_id for r in waitlisted[:40]}  # earliest 40, in order
        assert [r.volunteer_id for r in waitlisted_after] == \
            [r.volunteer_id for r in waitlisted[40:]]
        assert await watcher.wait_for(lambda last: (last["confirmed"], last["waitlisted"])
                                      == (50, 60), timeout=20), (watcher.last, server.log()[-3000:])
        assert polled, "the poller saw nothing"
        assert all(c <= 50 and w <= 100 for c, w in polled), max(polled)
        versions = [m["version"] for _, m in watcher.seen]
        assert versions == sorted(set(versions))  # never backwards, never repeated
        assert all(m["confirmed"] <= 50 for _, m in watcher.seen)
        assert all(m["waitlisted"] <= 100 for _, m in watcher.seen)
        print(f"\n[{db.name}] 300 sign-ups in {sign_up_seconds:.2f}s; "
              f"{len(watcher.seen)} slot messages; {len(polled)} polls")
    finally:
        stop.set()
        await watcher.stop()
