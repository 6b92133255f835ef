"""SIGTERM: the server stops accepting connections, finishes the requests in flight, and closes
WebSockets with 1001 Going Away so that clients reconnect elsewhere (issue 29;
docs/operations.md, "What SIGTERM does")."""

from __future__ import annotations

import asyncio
import json
import signal
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
from tests.live import start_server

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
