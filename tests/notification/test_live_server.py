"""`notificationReceived` on real servers: auth from connection_init, the approval made over
HTTP arrives over the WebSocket, and (with Redis) across server processes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from models.volunteer import Volunteer
from schema.relay import to_global_id
from subscriptions import channels
from tests.conftest import Backend
from tests.helpers import add_member, make_team, make_volunteer, token_for
from tests.hours.factory import make_activity, served, utc
from tests.live import LiveServer, wait_for_server_subscribers

RECEIVED = "subscription { notificationReceived { kind title subject { id } } }"
APPROVE = "mutation A($id: ID!) { approveHours(recordId: $id) { status } }"


async def _record():
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    volunteer = await make_volunteer("李明")
    await add_member(team, volunteer)
    activity = await make_activity(team, admin, title="社区清洁", starts_at=utc(2026, 3, 1, 9))
    return admin, volunteer, await served(activity, volunteer)


async def _subscribe(server: LiveServer, volunteer: Volunteer, backend: Backend) -> Any:
    await wait_for_server_subscribers(server, "notificationReceived", 0)
    socket = await websockets.connect(server.ws_url,
                                      subprotocols=[Subprotocol("graphql-transport-ws")])
    await socket.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token_for(volunteer)}"}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": RECEIVED}}))
    # the server registers the subscription before we act
    await wait_for_server_subscribers(server, "notificationReceived", 1,
                                      redis_url=backend.redis_url,
                                      channel=channels.notifications(volunteer.id))
    return socket


async def _next(socket: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] == "next":
            return message["payload"]
        assert message["type"] not in ("error", "complete"), message


async def _approve(url: str, admin_token: str, record_id: int) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, json={
            "query": APPROVE, "variables": {"id": to_global_id("ServiceRecord", record_id)}},
            headers={"Authorization": f"Bearer {admin_token}"})
    assert response.json()["data"]["approveHours"]["status"] == "APPROVED", response.text


async def test_approval_over_http_arrives_on_the_volunteers_socket(db, live_server):
    # given
    admin, volunteer, record = await _record()
    socket = await _subscribe(live_server, volunteer, db)
    try:
        # when
        await _approve(live_server.url, token_for(admin), record.id)
        # then
        payload = await _next(socket)
    finally:
        await socket.close()
    assert payload["data"]["notificationReceived"] == {
        "kind": "HOURS_APPROVED", "title": "服务时长已确认：社区清洁",
        "subject": {"id": to_global_id("ServiceRecord", record.id)}}


async def test_anonymous_subscribers_get_unauthenticated(live_server):
    async with websockets.connect(live_server.ws_url,
                                  subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": RECEIVED}}))
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.redis
async def test_a_change_on_one_server_reaches_a_subscriber_on_another(db, live_server, pair_server):
    # given: two server processes sharing PostgreSQL and Redis
    admin, volunteer, record = await _record()
    listening, deciding = live_server, pair_server
    socket = await _subscribe(listening, volunteer, db)
    try:
        # when
        await _approve(deciding.url, token_for(admin), record.id)
        # then
        payload = await _next(socket)
    finally:
        await socket.close()
    assert payload["data"]["notificationReceived"]["kind"] == "HOURS_APPROVED"
