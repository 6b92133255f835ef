"""WebSockets on a real server: both subprotocols, auth in connection_init, clean release."""

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import websockets
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport
from redis.asyncio import Redis

from models.activity import Activity, ActivityStatus
from schema.relay import to_global_id
from subscriptions import channels
from tests.helpers import make_team, make_volunteer, token_for

SLOTS = "subscription Slots($id: ID!) { slotCount(activityId: $id) { capacity confirmed remaining } }"
NOTIFICATIONS = "subscription { notificationReceived { title } }"


async def published_activity(capacity: int = 5) -> Activity:
    admin = await make_volunteer("组织者")
    team = await make_team(admin)
    starts = datetime.now(timezone.utc) + timedelta(days=3)
    return await Activity.create(
        team=team, created_by=admin, title="社区清洁", description="打扫楼道", category="环保",
        district="朝阳区", starts_at=starts, ends_at=starts + timedelta(hours=3),
        sign_up_deadline=starts, capacity=capacity, waitlist_limit=capacity, hours_credit=3,
        status=ActivityStatus.PUBLISHED)


async def test_graphql_transport_ws_with_gql_client(live_server):
    # given
    activity = await published_activity(capacity=7)
    person = await make_volunteer()
    transport = WebsocketsTransport(url=live_server.ws_url,
                                    init_payload={"Authorization": f"Bearer {token_for(person)}"})
    # when
    async with Client(transport=transport) as session:
        request = gql(SLOTS)
        request.variable_values = {"id": to_global_id("Activity", activity.id)}
        stream = session.subscribe(request)
        first = await asyncio.wait_for(stream.__anext__(), 10)
        await stream.aclose()
    # then the current counts arrive at once
    assert first == {"slotCount": {"capacity": 7, "confirmed": 0, "remaining": 7}}


async def test_legacy_graphql_ws_protocol(live_server):
    # given
    activity = await published_activity(capacity=3)
    person = await make_volunteer()
    # when
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init",
                                      "payload": {"authToken": token_for(person)}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": {
            "query": SLOTS, "variables": {"id": to_global_id("Activity", activity.id)}}}))
        message = await next_data(socket)
    # then
    assert message["payload"]["data"] == {"slotCount": {"capacity": 3, "confirmed": 0, "remaining": 3}}


async def next_data(socket):
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] in ("data", "next"):
            return message


async def test_a_bad_token_in_connection_init_is_rejected(live_server):
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": "Bearer forged"}}))
        try:
            await asyncio.wait_for(socket.recv(), 10)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd.code == 4403
        else:
            raise AssertionError("the server accepted a forged token")


async def test_anonymous_notification_subscription_is_unauthenticated(live_server):
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": NOTIFICATIONS}}))
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.redis
async def test_a_dropped_websocket_leaves_no_subscription_behind(live_server, db):
    # given a subscriber holding the activity's Redis channel
    activity = await published_activity()
    channel = channels.slots(activity.id)
    redis = Redis.from_url(db.redis_url)
    try:
        socket = await websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"])
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        await socket.recv()
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SLOTS, "variables": {"id": to_global_id("Activity", activity.id)}}}))
        await next_data(socket)
        assert await numsub(redis, channel, expected=1) == 1
        # when the client vanishes without completing the subscription
        socket.transport.abort()
        # then the server lets go of the channel
        assert await numsub(redis, channel, expected=0) == 0
    finally:
        await redis.aclose()


async def numsub(redis: Redis, channel: str, expected: int) -> int:
    count = -1
    for _ in range(100):
        [(_, count)] = await redis.pubsub_numsub(channel)
        if count == expected:
            break
        await asyncio.sleep(0.1)
    return int(count)
