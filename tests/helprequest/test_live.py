"""helpRequestCreated on real servers: with Redis, subscribers on every worker hear a request
posted through any worker."""

import asyncio
import json

import httpx
import websockets

from subscriptions import channels
from tests.helpers import make_volunteer, token_for
from tests.live import wait_for_server_subscribers

PUSHED = "subscription P($d: String) { helpRequestCreated(district: $d) { title district } }"
CREATE = """mutation { createHelpRequest(input: {title: "需要轮椅", description: "去医院复查",
  district: "朝阳区", skills: ["助老"]}) { id } }"""


async def subscribe(url: str, token: str, district: str) -> websockets.ClientConnection:
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": PUSHED, "variables": {"d": district}}}))
    return socket


async def next_title(socket: websockets.ClientConnection, timeout: float) -> str | None:
    try:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if message["type"] == "next":
                assert "errors" not in message["payload"], message
                return str(message["payload"]["data"]["helpRequestCreated"]["title"])
    except TimeoutError:
        return None


async def test_every_matching_subscriber_on_every_worker_is_pushed(db, live_server, pair_server):
    # given: two workers with Redis (one without), eight subscribers spread over them
    server = pair_server if db.redis_url else live_server
    listener = await make_volunteer("志愿者")
    author = await make_volunteer("居民")
    token = token_for(listener)
    await wait_for_server_subscribers(server, "helpRequestCreated", 0)
    chaoyang = [await subscribe(server.ws_url, token, "朝阳区") for _ in range(6)]
    haidian = [await subscribe(server.ws_url, token, "海淀区") for _ in range(2)]
    # all eight running (and, with Redis, a worker's matcher listening there; which workers
    # the sockets went to is not to be seen from here)
    await wait_for_server_subscribers(server, "helpRequestCreated", 8, redis_url=db.redis_url,
                                      channel=channels.help_requests())
    # when
    async with httpx.AsyncClient() as client:
        response = await client.post(server.url, json={"query": CREATE},
                                     headers={"Authorization": f"Bearer {token_for(author)}"})
    assert "errors" not in response.json(), response.json()
    # then
    assert await asyncio.gather(*(next_title(s, 10) for s in chaoyang)) == ["需要轮椅"] * 6
    # nothing for the others: it would have gone out with the six (the same event, matched by
    # the same workers), so a short wait proves it
    assert await asyncio.gather(*(next_title(s, 0.25) for s in haidian)) == [None, None]
    for socket in chaoyang + haidian:
        await socket.close()
