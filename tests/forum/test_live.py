"""boardActivity over a real server's WebSocket: a post made over HTTP streams live."""

import asyncio

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from subscriptions import channels
from tests.forum.common import gid, make_forum
from tests.helpers import token_for
from tests.live import wait_for_server_subscribers

BOARD_ACTIVITY = """
subscription($board: ID!) { boardActivity(boardId: $board) { body author { displayName } } }
"""
CREATE_THREAD = """
mutation($board: ID!) { createThread(boardId: $board, title: "实时测试", body: "大家好") { id } }
"""


async def test_new_posts_stream_to_board_subscribers(db, live_server):
    # given
    forum = await make_forum()
    board = gid("Board", forum.board.id)
    await wait_for_server_subscribers(live_server, "boardActivity", 0)
    transport = WebsocketsTransport(
        url=live_server.ws_url, init_payload={"Authorization": f"Bearer {token_for(forum.stranger)}"})
    async with Client(transport=transport) as session:
        request = gql(BOARD_ACTIVITY)
        request.variable_values = {"board": board}
        stream = session.subscribe(request)
        first = asyncio.ensure_future(stream.__anext__())
        await wait_for_server_subscribers(live_server, "boardActivity", 1, redis_url=db.redis_url,
                                          channel=channels.board(forum.board.id))
        # when
        async with httpx.AsyncClient() as client:
            response = await client.post(
                live_server.url, json={"query": CREATE_THREAD, "variables": {"board": board}},
                headers={"Authorization": f"Bearer {token_for(forum.member)}"})
        # then
        assert "errors" not in response.json(), response.json()
        event = await asyncio.wait_for(first, 15)
        await stream.aclose()
    assert event == {"boardActivity": {"body": "大家好", "author": {"displayName": "李明"}}}
