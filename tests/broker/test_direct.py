"""The shared path's synchronous writes (schema/live/direct.py).

Over a real socket: a subscriber of the shared path on uvicorn's sansio protocol receives
byte for byte the frames a server without sharing sends for the same event. In process: a
member whose connection is paused by backpressure, busy with an earlier frame, or closing is
not written to directly; it gets the newest state through its coroutine later, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from schema.live.direct import GatedSink, Sink, _Flag, _Inbox
from schema.live.fanout import FanoutHub, Group, Member, Plan, ShareMode
from schema.relay import to_global_id
from tests.activity.clients import SIGN_UP, bulk_volunteers, call
from tests.activity.factory import make_activity
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for
from tests.live import start_server

SLOTS = ("subscription Slots($id: ID!) { slotCount(activityId: $id) "
         "{ confirmed waitlisted remaining version } }")


async def _frames_until(url: str, gid: str, done: Any, ready: asyncio.Event) -> list[str]:
    """Raw text frames of one graphql-transport-ws subscriber, until `done(payload)`."""
    frames: list[str] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "7", "type": "subscribe",
                                  "payload": {"query": SLOTS, "variables": {"id": gid}}}))
        while True:
            text = await asyncio.wait_for(ws.recv(), 15)
            assert isinstance(text, str)
            frames.append(text)
            ready.set()
            if done(json.loads(text)["payload"]["data"]["slotCount"]):
                return frames


@pytest.mark.e2e
async def test_direct_frames_equal_the_per_subscriber_bytes_over_a_real_socket(db, live_server):
    # given: the same subscription on a sharing server and on one that executes per subscriber
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=3, waitlist_limit=2)
    gid = to_global_id("Activity", activity.id)
    people = await bulk_volunteers(4, PASSWORD_HASH)
    sharing = live_server
    alone = start_server(db, env={"SHARED_SUBSCRIPTIONS": "0"})
    try:
        def final(counts: dict[str, int]) -> bool:
            return (counts["confirmed"], counts["waitlisted"]) == (3, 1)

        ready = [asyncio.Event(), asyncio.Event()]
        watchers = [asyncio.create_task(_frames_until(server.ws_url, gid, final, event))
                    for server, event in zip((sharing, alone), ready, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 15)
        # when
        async with httpx.AsyncClient(timeout=30) as client:
            for person in people:
                await call(client, sharing.url, token_for(person), SIGN_UP, {"id": gid}, "signUp")
        shared_frames, alone_frames = await asyncio.wait_for(asyncio.gather(*watchers), 20)
    finally:
        alone.stop()
    # then: the first and the final frame are the same text on both paths
    assert shared_frames[0] == alone_frames[0]
    assert shared_frames[-1] == alone_frames[-1]
    assert json.loads(shared_frames[-1])["id"] == "7"


# ------------------------------------------------------------------ in process


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Conn:
    state = State.OPEN
    extensions: list[Any] = []


class _Protocol:
    """The attributes of uvicorn's WebSocketsSansIOProtocol that a Sink reads."""

    def __init__(self) -> None:
        self.disconnected = False
        self.close_sent = False
        self.handshake_complete = True
        self.initial_response = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.transport = _Transport()
        self.conn = _Conn()


def _frame(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


def _group() -> Group:
    hub = FanoutHub(lambda value: json.dumps(value, separators=(",", ":")))
    plan = Plan(key=("q", None, "{}", "slotCount", "public"), mode=ShareMode.STATE, query="q",
                variables=None, operation_name=None)
    return Group(hub, plan, schema=None, context=None)


def _member(group: Group, protocol: _Protocol, operation_id: str) -> Member:
    envelope = group.hub.envelope({"id": operation_id, "type": "next", "payload": None})
    member = Member(group, envelope, Sink(protocol))
    group.add(member)
    return member


async def test_paused_busy_and_closing_members_get_the_latest_state_through_their_coroutine():
    group = _group()
    ready, paused, closing = _Protocol(), _Protocol(), _Protocol()
    paused.writable.clear()  # the transport's buffer is over its high-water mark
    closing.close_sent = True
    members = [_member(group, p, str(i)) for i, p in enumerate((ready, paused, closing))]

    group.publish('{"data":1}')
    group.publish('{"data":2}')

    # the writable connection got both frames directly, in order, as the library frames them
    assert ready.transport.written == [_frame('{"id":"0","type":"next","payload":{"data":1}}'),
                                       _frame('{"id":"0","type":"next","payload":{"data":2}}')]
    assert paused.transport.written == [] and closing.transport.written == []
    # the others were not written to: their coroutine sends only the newest state
    assert await members[1].next() == '{"id":"1","type":"next","payload":{"data":2}}'
    # while that frame is on its way, newer payloads queue behind it instead of overtaking it
    paused.writable.set()
    group.publish('{"data":3}')
    assert paused.transport.written == []
    assert await members[1].next() == '{"id":"1","type":"next","payload":{"data":3}}'


async def test_members_sharing_an_envelope_share_one_serialized_frame():
    group = _group()
    protocols = [_Protocol() for _ in range(3)]
    for protocol in protocols:
        _member(group, protocol, "1")

    group.publish('{"data":1}')

    frames = [protocol.transport.written[0] for protocol in protocols]
    assert frames[0] == _frame('{"id":"1","type":"next","payload":{"data":1}}')
    assert frames[0] is frames[1] is frames[2]  # serialized once for the three
    # one envelope object for the three, a distinct one for another operation id
    envelope = group.hub.envelope({"id": "1", "type": "next", "payload": None})
    assert all(member.envelope is envelope for member in group.members)
    assert group.hub.envelope({"id": "2", "type": "next", "payload": None}) is not envelope


class _LeanTransport(_Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 40000) if name in ("sockname", "peername") else None

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


async def _lean_protocol() -> tuple[Any, _LeanTransport]:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from schema.live.direct import LeanSansIOProtocol

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never run
        return None

    config = Config(app=app, ws_per_message_deflate=False, log_level="warning")
    config.load()
    protocol = LeanSansIOProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    transport = _LeanTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


async def test_the_lean_protocols_sink_opens_and_shuts_with_the_connection_state():
    protocol, transport = await _lean_protocol()
    sink = protocol.direct_sink()
    assert isinstance(sink, GatedSink) and protocol.direct_sink() is sink  # one per connection
    group = _group()
    member = Member(group, group.hub.envelope({"id": "1", "type": "next", "payload": None}), sink)
    group.add(member)

    def written_now(payload: str) -> bool:
        before = len(transport.written)
        group.publish(payload)
        member._slot = None  # forget what fell back to the coroutine, as if it had sent it
        return len(transport.written) > before

    assert not written_now('{"data":0}')  # before the handshake completed: never directly
    protocol.handshake_complete = True
    assert written_now('{"data":1}')
    assert transport.written[-1] == _frame('{"id":"1","type":"next","payload":{"data":1}}')
    protocol.pause_writing()  # the transport's buffer is over its high-water mark
    assert not written_now('{"data":2}')
    protocol.resume_writing()
    assert written_now('{"data":3}')
    transport.closing = True  # the peer's close frame closed the transport
    assert not written_now('{"data":4}')
    transport.closing = False
    protocol.close_sent = True  # our own close frame went out: nothing may follow it
    assert not written_now('{"data":5}')
    protocol.close_sent = False
    protocol.initial_response = (403, [], b"")  # an HTTP response instead of the upgrade
    assert not written_now('{"data":6}')
    protocol.initial_response = None
    assert written_now('{"data":7}')
    protocol.connection_lost(None)
    assert not written_now('{"data":8}')
    # uvicorn's own code reads the same attributes through the gate
    assert protocol.disconnected and protocol.handshake_complete and not protocol.close_sent


async def test_the_lean_protocols_inbox_and_writable_flag_behave_like_asyncio_s():
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()  # waits for a message
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "1"})
    assert await reader == {"type": "websocket.connect"}
    assert not inbox.empty() and inbox.qsize() == 1
    assert await inbox.get() == {"type": "websocket.receive", "text": "1"}
    assert inbox.empty()

    flag = _Flag(True)
    assert await flag.wait()  # set: returns at once
    flag.clear()  # paused by backpressure
    writers = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in writers) and not flag.is_set()
    flag.set()  # resumed: every waiting writer goes on
    assert await asyncio.gather(*writers) == [True, True]
