"""Shared (execute-once) subscriptions through strawberry's real protocol handlers, both
subprotocols, on both backends: the shared path writes the very bytes the per-subscriber path
writes, role-dependent documents are not shared across roles, leaving frees the group, a slow
consumer gets the latest state later, and a broker RESYNC re-reads the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from forum.models import Post
from forum.rules import notify_new_post
from models.activity import Activity, ActivityStatus
from resolvers.services import services
from schema import schema
from schema.context import Context
from schema.live.fanout import RULES, fanout_hub
from schema.live.protocols import SharedGraphQLWSHandler, SharedTransportWSHandler
from schema.relay import to_global_id
from server import TongxinGraphQL
from subscriptions import channels
from subscriptions.broker import RESYNC
from subscriptions.slots import _hubs
from tests.activity.factory import make_activity
from tests.forum.common import make_forum, open_thread, write_reply
from tests.helpers import execute, make_team, make_volunteer, token_for

SLOTS = ("subscription Slots($id: ID!) { slotCount(activityId: $id) "
         "{ activityId capacity confirmed waitlisted remaining status version } }")
BOARD = "subscription B($board: ID!) { boardActivity(boardId: $board) { body hidden } }"
BOARD_WITH_AUTHOR = ("subscription B($board: ID!) { boardActivity(boardId: $board) "
                     "{ body author { displayName } } }")
SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"

VIEW = TongxinGraphQL(schema)


class _Wire:
    """What the handler writes with `ws.send_text` (the shared path's raw frames)."""

    def __init__(self, socket: FakeSocket) -> None:
        self.socket = socket
        self.gate: asyncio.Event | None = None  # set = the client reads again

    async def send_text(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await self.socket.record(text)


class FakeSocket(AsyncWebSocketAdapter):
    """An in-process client: feed it messages, read back the exact text frames."""

    def __init__(self) -> None:
        super().__init__(VIEW)
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.frames: asyncio.Queue[str] = asyncio.Queue()
        self.ws = _Wire(self)

    async def record(self, text: str) -> None:
        await self.frames.put(text)

    async def iter_json(self, *, ignore_parsing_errors: bool = False):  # type: ignore[override]
        while (message := await self.inbox.get()) is not None:
            yield message

    async def send_json(self, message: Any) -> None:
        await self.record(VIEW.encode_json_string(message))

    async def close(self, code: int, reason: str) -> None:
        await self.inbox.put(None)


class Client:
    def __init__(self, handler_class: type, protocol: str) -> None:
        self.socket = FakeSocket()
        self.protocol = protocol
        if protocol == "graphql-transport-ws":
            self.handler = handler_class(VIEW, self.socket, Context(), None, schema,
                                         timedelta(seconds=5))
        else:
            self.handler = handler_class(VIEW, self.socket, Context(), None, schema, False, None)
        self.task = asyncio.create_task(self.handler.handle())

    async def connect(self, person: Any | None = None) -> None:
        payload = {"Authorization": f"Bearer {token_for(person)}"} if person else {}
        await self.socket.inbox.put({"type": "connection_init", "payload": payload})
        assert json.loads(await self.frame())["type"] == "connection_ack"

    async def subscribe(self, query: str, variables: dict[str, Any], id: str = "1") -> None:
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.socket.inbox.put({"id": id, "type": kind,
                                     "payload": {"query": query, "variables": variables}})

    async def stop(self, id: str = "1") -> None:
        kind = "complete" if self.protocol == "graphql-transport-ws" else "stop"
        await self.socket.inbox.put({"id": id, "type": kind})

    async def frame(self, timeout: float = 10) -> str:
        return await asyncio.wait_for(self.socket.frames.get(), timeout)

    async def frame_where(self, predicate: Any, timeout: float = 10) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            text = await self.frame(deadline - loop.time())
            if predicate(json.loads(text)):
                return text

    async def close(self) -> None:
        await self.socket.inbox.put(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 10)


def shared(protocol: str = "graphql-transport-ws") -> Client:
    handler = SharedTransportWSHandler if protocol == "graphql-transport-ws" else SharedGraphQLWSHandler
    return Client(handler, protocol)


def per_subscriber(protocol: str = "graphql-transport-ws") -> Client:
    handler = BaseGraphQLTransportWSHandler if protocol == "graphql-transport-ws" else BaseGraphQLWSHandler
    return Client(handler, protocol)


def hub():  # type: ignore[no-untyped-def]
    return fanout_hub(VIEW.encode_json_string)


def confirmed(n: int):  # type: ignore[no-untyped-def]
    return lambda m: m.get("payload", {}).get("data", {}).get("slotCount", {}).get("confirmed") == n


async def published(capacity: int = 10) -> tuple[Activity, str]:
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=capacity)
    return activity, to_global_id("Activity", activity.id)


async def settle() -> None:
    """Until the in-process live machinery is quiet: the broker's subscriptions, the shared
    groups and their members, the executions started and the running tasks unchanged for a
    quarter of a second (at most a second: what a fixed sleep here used to take every time)."""
    loop = asyncio.get_running_loop()
    deadline, last, since = loop.time() + 1.0, None, loop.time()
    while loop.time() < deadline:
        await asyncio.sleep(0.02)
        groups = hub().groups
        now = (services().broker.local_subscriber_count(), hub().started, len(asyncio.all_tasks()),
               sorted(len(group.members) for group in groups.values()))
        if now != last:
            last, since = now, loop.time()
        elif loop.time() - since >= 0.25:
            return


async def test_shared_frames_are_the_per_subscriber_bytes_on_both_protocols(db):
    # given: three shared subscribers (two protocols, two ids) and two per-subscriber ones
    _, gid = await published()
    person = await make_volunteer("报名者")
    started = hub().started
    clients = {"shared-1": shared(), "shared-a": shared(), "shared-ws": shared("graphql-ws"),
               "plain-1": per_subscriber(), "plain-ws": per_subscriber("graphql-ws")}
    for name, client in clients.items():
        await client.connect()
        await client.subscribe(SLOTS, {"id": gid}, id="a" if name == "shared-a" else "1")
    try:
        first = {name: await c.frame() for name, c in clients.items()}
        # when
        (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
        after = {name: await c.frame_where(confirmed(1)) for name, c in clients.items()}
        # then: one execution for the three shared subscribers, identical bytes
        assert hub().started == started + 1
        assert [len(g.members) for g in hub().groups.values()] == [3]
        for frames in (first, after):
            assert frames["shared-1"] == frames["plain-1"]
            assert frames["shared-ws"] == frames["plain-ws"]
            assert frames["shared-a"] == frames["plain-1"].replace('{"id":"1"', '{"id":"a"', 1)
        assert json.loads(after["shared-1"])["payload"]["data"]["slotCount"]["confirmed"] == 1
    finally:
        for client in clients.values():
            await client.close()


async def test_role_dependent_board_documents_are_grouped_by_role(db):
    # given: a post only moderators may see, and a moderator and a reader who send the
    # same document
    forum = await make_forum()
    board = to_global_id("Board", forum.board.id)
    thread = await open_thread(forum.member, forum.board)
    hidden = await write_reply(forum.member, thread, "将被隐藏")
    await Post.filter(id=hidden.id).update(hidden=True)
    moderator, reader = shared(), shared("graphql-ws")
    await moderator.connect(forum.moderator)
    await reader.connect(forum.member)
    await moderator.subscribe(BOARD, {"board": board})
    await reader.subscribe(BOARD, {"board": board})
    await settle()
    try:
        # then: two groups, one per role
        roles = sorted(str(key[-1]) for key in hub().groups)
        assert roles == ["moderator", "reader"]
        # when: the hidden post is announced (as a RESYNC catch-up would), then a visible one
        await services().broker.publish(channels.board(forum.board.id), {"post": hidden.id})
        visible = await write_reply(forum.member, thread, "大家都能看到")
        await notify_new_post(forum.board.id, visible.id)

        def body(text: str) -> str:
            return json.loads(text)["payload"]["data"]["boardActivity"]["body"]

        # then: the moderator sees the hidden post, the reader only the visible one
        assert [body(await moderator.frame()) for _ in range(2)] == ["将被隐藏", "大家都能看到"]
        assert body(await reader.frame()) == "大家都能看到"
        await settle()
        assert reader.socket.frames.empty()
    finally:
        await moderator.close()
        await reader.close()


async def test_viewer_dependent_fields_and_hidden_drafts_are_not_shared(db):
    # given
    forum = await make_forum()
    board = to_global_id("Board", forum.board.id)
    admin = await make_volunteer("草稿队长")
    draft = await make_activity(await make_team(admin), admin, status=ActivityStatus.DRAFT)
    draft_id = to_global_id("Activity", draft.id)
    author_doc, organiser, outsider = shared(), shared(), shared()
    await author_doc.connect(forum.member)
    await organiser.connect(admin)
    await outsider.connect(forum.stranger)
    try:
        # when: a document with a per-viewer field, and the same draft document twice
        await author_doc.subscribe(BOARD_WITH_AUTHOR, {"board": board})
        await organiser.subscribe(SLOTS, {"id": draft_id})
        await outsider.subscribe(SLOTS, {"id": draft_id})
        seen = json.loads(await organiser.frame())
        refused = json.loads(await outsider.frame())
        await settle()
        # then: the organiser's group holds only the organiser; the outsider is refused as
        # before (per-subscriber path), the author document runs per subscriber
        assert seen["payload"]["data"]["slotCount"]["status"] == "DRAFT"
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert [len(g.members) for g in hub().groups.values()] == [1]
        assert all(key[3] == "slotCount" for key in hub().groups)
        post = await write_reply(forum.member, await open_thread(forum.member, forum.board), "作者可见")
        await notify_new_post(forum.board.id, post.id)
        event = json.loads(await author_doc.frame_where(lambda m: m["type"] == "next"))
        assert event["payload"]["data"]["boardActivity"]["author"]["displayName"] == "李明"
    finally:
        for client in (author_doc, organiser, outsider):
            await client.close()


async def test_leaving_frees_the_group_and_its_broker_subscription(db):
    # given
    activity, gid = await published()
    first, second = shared(), shared("graphql-ws")
    for client in (first, second):
        await client.connect()
        await client.subscribe(SLOTS, {"id": gid})
        await client.frame()
    channel = channels.slots(activity.id)
    assert services().broker.local_subscriber_count(channel) == 1
    # when one leaves, the group stays for the other
    await first.stop()
    await settle()
    assert [len(g.members) for g in hub().groups.values()] == [1]
    # when the other stops too
    await second.stop()
    completed = json.loads(await second.frame())
    await settle()
    # then
    assert completed == {"type": "complete", "id": "1"}
    assert hub().groups == {}
    assert all(not h.feeds for h in _hubs.values())
    assert services().broker.local_subscriber_count(channel) == 0
    for client in (first, second):
        await client.close()


async def test_a_slow_consumer_gets_the_latest_state_later_without_holding_back_others(db):
    # given: one subscriber stops reading
    _, gid = await published(capacity=50)
    people = [await make_volunteer(f"抢位{i}") for i in range(6)]
    fast, slow = shared(), shared()
    for client in (fast, slow):
        await client.connect()
        await client.subscribe(SLOTS, {"id": gid})
        await client.frame()
    slow.socket.ws.gate = asyncio.Event()
    try:
        # when: changes keep coming while it is stuck
        for number, person in enumerate(people, start=1):
            (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
            await fast.frame_where(confirmed(number))
        # then: the fast one saw every change; the slow one has one frame in flight and at
        # most the newest queued behind it, and after reading it ends on the latest
        member = next(m for g in hub().groups.values() for m in g.members if m.sending
                      and m.pending())
        assert member.pending() == 1
        slow.socket.ws.gate.set()
        last = json.loads(await slow.frame_where(confirmed(6)))
        assert last["payload"]["data"]["slotCount"]["version"] == 6
    finally:
        slow.socket.ws.gate.set()
        await fast.close()
        await slow.close()


async def test_resync_rereads_the_database_for_shared_subscribers(db):
    # given
    activity, gid = await published(capacity=9)
    client = shared()
    await client.connect()
    await client.subscribe(SLOTS, {"id": gid})
    await client.frame()
    # when: the row changes without a publish (lost while the broker was away), then RESYNC
    await Activity.filter(id=activity.id).update(taken_count=4, version=40)
    await services().broker.publish(channels.slots(activity.id), RESYNC)
    try:
        # then
        seen = json.loads(await client.frame_where(confirmed(4)))
        assert seen["payload"]["data"]["slotCount"]["version"] == 40
    finally:
        await client.close()


async def test_subscribers_selecting_offered_places_share_one_execution(db):
    # given: two subscribers whose document asks for the places held by offers
    _, gid = await published()
    document = ("subscription Slots($id: ID!) { slotCount(activityId: $id) "
                "{ confirmed offered waitlisted } }")
    started = hub().started
    first, second = shared(), shared("graphql-ws")
    for client in (first, second):
        await client.connect()
        await client.subscribe(document, {"id": gid})
    try:
        # when
        frames = [json.loads(await client.frame()) for client in (first, second)]
        # then: one execution serves both
        assert hub().started == started + 1
        assert [len(group.members) for group in hub().groups.values()] == [2]
        assert frames[0]["payload"]["data"]["slotCount"]["offered"] == 0
    finally:
        await first.close()
        await second.close()


# SlotCount fields that depend on who is watching; they must take the per-subscriber path.
SLOT_COUNT_PER_VIEWER: frozenset[str] = frozenset()


def test_every_slot_count_field_is_shareable_or_deliberately_per_viewer():
    # given: the fields the GraphQL type has
    fields = set(schema._schema.type_map["SlotCount"].fields)  # type: ignore[attr-defined]
    # when
    shareable = RULES["slotCount"].fields["SlotCount"]
    # then: a new field cannot silently push every subscriber selecting it off the shared path
    assert fields == shareable | SLOT_COUNT_PER_VIEWER
    assert not shareable & SLOT_COUNT_PER_VIEWER


async def test_a_replaying_group_logs_for_late_joiners_until_full_then_a_fresh_one_starts():
    # given: a group whose subscribers gave a start (Plan.log), its stream idle
    from schema.live.fanout import EVENT_QUEUE, FanoutHub, Plan, ShareMode

    class Idle:
        async def stream(self, *args: Any, **kwargs: Any) -> Any:
            async def never() -> Any:
                await asyncio.Event().wait()
                yield None
            return never()

    hub_ = FanoutHub(lambda value: json.dumps(value, separators=(",", ":")))
    plan = Plan(key=("q", None, "{}", "field", "reader"), mode=ShareMode.EVENTS, query="q",
                variables=None, operation_name=None, log=True)
    first = await hub_.join(plan, Idle(), Context, {"id": "1", "type": "next", "payload": None})
    group = first.group
    try:
        # when: two payloads, then a late joiner; then the log fills up
        group.publish('"a"')
        group.publish('"b"')
        late = await hub_.join(plan, Idle(), Context, {"id": "1", "type": "next", "payload": None})
        group.publish('"c"')
        received = [await late.next() for _ in range(3)]
        for n in range(EVENT_QUEUE):
            group.publish(f'"{n}"')
        fresh = await hub_.join(plan, Idle(), Context, {"id": "1", "type": "next", "payload": None})
        # then: the late joiner got what the group had sent, then the live one, in order; a
        # full group takes no one new, and the fresh group owes its member nothing
        assert late.group is group
        assert received == ['{"id":"1","type":"next","payload":"a"}',
                            '{"id":"1","type":"next","payload":"b"}',
                            '{"id":"1","type":"next","payload":"c"}']
        assert group.full and group.log is None
        assert fresh.group is not group and fresh.pending() == 0
    finally:
        for member in (first, late, fresh):
            await hub_.leave(member)
