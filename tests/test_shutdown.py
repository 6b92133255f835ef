"""SIGTERM: the server stops accepting connections, finishes the requests in flight, and closes
WebSockets with 1001 Going Away so that clients reconnect elsewhere (issue 29;
docs/operations.md, "What SIGTERM does")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from schema.relay import to_global_id
from tests.activity.clients import SLOTS
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer
from tests.live import ROOT, free_port, start_server

pytestmark = pytest.mark.e2e

QUERY = json.dumps({"query": "{ __typename }"}).encode()


async def test_sigterm_drains_requests_in_flight_and_closes_websockets_going_away(db):
    # given: a server of its own, a subscriber, and a request whose body is half sent
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=5)
    server = await asyncio.to_thread(start_server, db)
    address = urlsplit(server.url)
    try:
        async with websockets.connect(server.ws_url, open_timeout=30,
                                      subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SLOTS, "variables": {"id": to_global_id("Activity", activity.id)}}}))
            assert json.loads(await socket.recv())["type"] == "next"
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            writer.write(b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(QUERY)}\r\n\r\n".encode() + QUERY[:5])
            await writer.drain()
            await asyncio.sleep(0.3)  # the server has read the head: a request in flight
            # when
            terminated = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            # then: the subscriber is told to go elsewhere
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(socket.recv(), timeout=10)
            assert socket.close_code == 1001, (socket.close_code, socket.close_reason)
        # no new connection is accepted while the old request drains
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as client:
                await client.get(server.url.replace("/graphql", "/healthz"), timeout=2)
        # and the request in flight still gets its whole answer
        writer.write(QUERY[5:])
        await writer.drain()
        head, _, body = (await asyncio.wait_for(reader.read(), timeout=10)).partition(b"\r\n\r\n")
        writer.close()
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"connection: close" in head.lower()
        assert json.loads(body) == {"data": {"__typename": "Query"}}
        # uvicorn ends by raising the signal it caught again, after its graceful shutdown
        assert await asyncio.to_thread(server.process.wait, 15) in (0, -signal.SIGTERM)
        assert time.monotonic() - terminated < 15
        assert "Application shutdown complete" in server.log()
        assert "Traceback" not in server.log()
    finally:
        server.stop()


PARENT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "server.py", "serve"], start_new_session=True,
                         env={**os.environ, "TONGXIN_EXIT_WITH_PARENT": str(os.getpid())},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
child.wait()
"""


@pytest.mark.postgres  # one backend is enough: this is about processes
def test_a_server_stops_when_the_process_that_started_it_is_killed(backend):
    # given: a two-worker server started, in a session of its own, by a process that is then
    # SIGKILLed (a test run or bench killed without its cleanup)
    port = free_port()
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE,
                              env={**os.environ, "DATABASE_URL": backend.database_url, "SKIP_MIGRATIONS": "1",
                                   "WORKERS": "2", "JOBS": "0", "PORT": str(port),
                                   **({"REDIS_URL": backend.redis_url} if backend.redis_url else {})})
    assert parent.stdout is not None
    server = int(parent.stdout.readline())
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        group = os.getpgid(server)
        # when
        parent.kill()
        parent.wait()
        # then the server and its workers are gone within seconds, with nobody to stop them
        for _ in range(100):
            if not _alive_in(group):
                break
            time.sleep(0.1)
        assert not _alive_in(group), "the server outlived the process that started it"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server, signal.SIGKILL)


def _alive_in(group: int) -> bool:
    """Whether any process of the process group is alive (zombies left to init count as gone)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                if int(stat[2]) == group and stat[0] != "Z":
                    return True
    return False
