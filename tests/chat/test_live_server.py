"""chatMessages over a real server's WebSocket: a message sent over HTTP reaches the room."""

import asyncio
import uuid

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from subscriptions import channels
from tests.chat.common import gid, team_room
from tests.helpers import token_for
from tests.live import wait_for_server_subscribers

MESSAGES = "subscription($room: ID!) { chatMessages(roomId: $room) { body authorName } }"
POST = """mutation($room: ID!, $client: String!) { postChatMessage(roomId: $room,
  body: "今晚七点开会", clientId: $client) { id } }"""


async def test_a_message_sent_over_http_streams_to_the_room(db, live_server):
    # given
    room = await team_room()
    room_id = gid("ChatRoom", room.room.id)
    await wait_for_server_subscribers(live_server, "chatMessages", 0)
    transport = WebsocketsTransport(
        url=live_server.ws_url, init_payload={"Authorization": f"Bearer {token_for(room.other)}"})
    async with Client(transport=transport) as session:
        request = gql(MESSAGES)
        request.variable_values = {"room": room_id}
        stream = session.subscribe(request)
        first = asyncio.ensure_future(stream.__anext__())
        await wait_for_server_subscribers(live_server, "chatMessages", 1, redis_url=db.redis_url,
                                          channel=channels.chat_room(room.room.id))
        # when
        async with httpx.AsyncClient() as client:
            response = await client.post(
                live_server.url, json={"query": POST, "variables": {
                    "room": room_id, "client": uuid.uuid4().hex}},
                headers={"Authorization": f"Bearer {token_for(room.member)}"})
        # then
        assert "errors" not in response.json(), response.json()
        event = await asyncio.wait_for(first, 15)
        await stream.aclose()
    assert event == {"chatMessages": {"body": "今晚七点开会", "authorName": "李明"}}
