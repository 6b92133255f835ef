"""A real HTTP cache (Debian's varnish, default configuration) in front of a real server: a
flash crowd refreshing the activity list is answered by the cache, while slot counts stay live
over WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer, token_for
from tests.live import LiveServer, free_port

VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
REFRESH = "query Refresh { activities(first: 20) { edges { node { id title confirmedCount } } } }"
SLOTS = "subscription Slots($id: ID!) { slotCount(activityId: $id) { confirmed } }"
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"


@pytest.fixture
def varnish(live_server: LiveServer) -> Iterator[str]:
    """varnishd in front of the live server; its URL for /graphql."""
    if not os.access(VARNISHD, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("varnish missing (apt-get install varnish; .ci/run installs it)")
        pytest.skip("varnish missing: apt-get install varnish")
    origin_port = live_server.url.split(":")[2].split("/")[0]
    # varnish's worker runs as its own user: the test's private data directory is closed to it
    work = Path(tempfile.mkdtemp(prefix="tongxin-varnish-"))
    work.chmod(0o755)
    vcl = work / "default.vcl"
    vcl.write_text(f'vcl 4.1;\nbackend origin {{ .host = "127.0.0.1"; .port = "{origin_port}"; }}\n')
    port = free_port()
    process = subprocess.Popen([VARNISHD, "-F", "-a", f"127.0.0.1:{port}", "-f", str(vcl),
                                "-n", str(work / "state"), "-s", "malloc,16m"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url.replace("/graphql", "/healthz"), timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def origin_refreshes(server: LiveServer) -> int:
    return server.log().count('"operation": "Refresh"')


async def test_a_flash_crowd_refresh_is_served_by_the_cache_while_counts_stay_live(
        live_server, varnish):
    # given: an activity with a subscriber watching its slot count over WebSocket
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=30)
    gid = to_global_id("Activity", activity.id)
    volunteer = await make_volunteer("小林")
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as ws, \
            httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as client:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SLOTS, "variables": {"id": gid}}}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        # when: 300 anonymous refreshes through the cache, with a sign-up in the middle
        refresh = {"query": REFRESH, "operationName": "Refresh"}
        before = await asyncio.gather(*(client.get(varnish, params=refresh) for _ in range(150)))
        await client.post(live_server.url, json={"query": SIGN_UP, "variables": {"id": gid}},
                          headers={"Authorization": f"Bearer {token_for(volunteer)}"})
        live = json.loads(await asyncio.wait_for(ws.recv(), 10))
        after = await asyncio.gather(*(client.get(varnish, params=refresh) for _ in range(150)))
        # and a read without a cache hint, which the cache must pass through
        uncached = {"query": "query Uncached { me { id } }", "operationName": "Uncached"}
        for _ in range(5):
            await client.get(varnish, params=uncached)
    # then: the origin answered the list about once (varnish may fetch a second copy while
    # the first is in flight); the count moved over WebSocket at once
    assert all(response.status_code == 200 for response in before + after)
    assert origin_refreshes(live_server) <= 2
    # and every answer is a copy of one the origin gave (the same list before and after the
    # sign-up while the copy is fresh; a loaded machine can pass its 10 s and see one refresh)
    bodies = {json.dumps(response.json(), sort_keys=True) for response in before + after}
    assert len(bodies) <= origin_refreshes(live_server)
    assert after[0].headers["cache-control"] == "public, max-age=10, stale-while-revalidate=10"
    assert live_server.log().count('"operation": "Uncached"') == 5
    assert first["payload"]["data"]["slotCount"]["confirmed"] == 0
    assert live["payload"]["data"]["slotCount"]["confirmed"] == 1
