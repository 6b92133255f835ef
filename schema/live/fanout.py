"""Execute once, send the same bytes to everyone: shared subscription execution.

For a subscription whose payload does not depend on who is watching (slot counts, public
board posts), running the selection set once per subscriber per event is wasted work: the
result is the same for every subscriber that sent the same document with the same
variables. Subscribers are therefore grouped by

    (document, operation name, variables, root field, role key)

and each group runs ONE strawberry stream (`schema.stream`, so parsing, validation, the
complexity limits, the error codes and the resolver's own checks are exactly those of the
per-subscriber path). Each result is serialized once to the JSON text of the message
payload; a subscriber's frame is its pre-encoded envelope (`{"id":"…","type":"next",
"payload":` or the graphql-ws `data` envelope) + that text + `}`: byte for byte what the
per-subscriber path would have sent.

Who may share is declared next to the field (`share(ShareRule(...))`):

- `fields`: per GraphQL type, the fields whose value is the same for every viewer of the
  group. A document selecting anything else (a role-masked or per-viewer field, or an
  unknown one) is not shared: it runs on the per-subscriber path.
- `group_key(context, args)`: called per subscriber when it subscribes. Returns the role key
  that separates viewers who could see different results (e.g. "moderates this board"), or
  None when the subscriber must take the per-subscriber path (not allowed to see it, bad
  argument: that path then reports the error as it does for any subscriber).
- `mode`: `STATE` (slot counts) keeps only the newest unsent payload per subscriber (a slow
  consumer skips to the latest, memory stays one frame) and replays the newest payload to a
  subscriber that joins a running group; `EVENTS` (posts) keeps a bounded queue (oldest
  dropped on overflow) and replays nothing.
- `replay_argument`: an argument that names where the stream starts (chat's `after`: "the
  messages since this one, then live"). Subscribers who give it the same value share a group
  (the variables are part of the key), and that group keeps every payload it has sent (at most
  EVENT_QUEUE) and sends them first to a member who joins later: they asked for the same start,
  so the group's execution from its first member's arguments is theirs too. A group whose log
  is full takes no new members; the next one starts a fresh group with the same key.

Access that can be lost while a subscription is open (a chat room's member who leaves the
team) is kept per member by the group's `Audience`: the resolver, running once for the whole
group, installs the access rule as `audience.check` (viewer ids -> those allowed now); the
group re-checks all its members with it before every payload (one call for the group, not one
per member) and ends those left out before anything is written, and the resolver may ask for
a re-check of given viewers at any time (`audience.recheck`, e.g. on a KICK). An ended member
gets nothing more and its subscription completes, as on the per-subscriber path.

The group's stream is the only consumer of the broker/coalescer for its key, so versions
stay monotonic and RESYNC after a broker reconnect works as on the per-subscriber path. The
group waits (at most `DRAIN_WAIT`) until 99 % of its subscribers have written the current
payload before it asks the stream for the next one; the coalescer measures that drain time and
spaces its flushes accordingly, so thousands of sockets cannot starve the writers.
When the last subscriber leaves, the group's stream is closed (and with it the broker
subscription).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from core.aio import cancel_and_wait, honour_lost_cancel
from core.metrics import observe_delivery
from resolvers.errors import BadInput
from schema.limits import check_document_inputs
from schema.live.direct import GatedSink, Sink
from subscriptions.cost import publish_cost

log = logging.getLogger("tongxin.fanout")

# The longest a group waits for its subscribers to write a payload before it takes the next
# one from the stream (slow consumers beyond that get the latest state later).
DRAIN_WAIT = 1.0
EVENT_QUEUE = 256


class ShareMode(enum.Enum):
    STATE = "state"
    EVENTS = "events"


GroupKey = Callable[[Any, dict[str, Any]], Awaitable[Hashable | None]]


@dataclass(frozen=True)
class ShareRule:
    field: str
    fields: Mapping[str, frozenset[str]]
    group_key: GroupKey
    mode: ShareMode = ShareMode.STATE
    replay_argument: str | None = None


RULES: dict[str, ShareRule] = {}


def share(rule: ShareRule) -> ShareRule:
    RULES[rule.field] = rule
    return rule


# ------------------------------------------------------------------ which documents share


@dataclass(frozen=True)
class Shape:
    """A parsed, valid, shareable subscription document."""

    rule: ShareRule
    document: DocumentNode
    operation: OperationDefinitionNode
    field_node: FieldNode


def _walk(schema: GraphQLSchema, type_name: str, selection_set: SelectionSetNode | None,
          fragments: dict[str, FragmentDefinitionNode], rule: ShareRule,
          seen: frozenset[str] = frozenset()) -> bool:
    if selection_set is None:
        return True
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name == "__typename":
                continue
            if name not in rule.fields.get(type_name, frozenset()):
                return False
            parent = schema.get_type(type_name)
            if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
                return False
            child = get_named_type(parent.fields[name].type)
            if selection.selection_set is not None and not _walk(
                    schema, child.name, selection.selection_set, fragments, rule, seen):
                return False
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else type_name
            if condition != type_name or not _walk(schema, type_name, selection.selection_set,
                                                   fragments, rule, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen or fragment.type_condition.name.value != type_name:
                return False
            if not _walk(schema, type_name, fragment.selection_set, fragments, rule, seen | {name}):
                return False
        else:  # pragma: no cover - graphql-core has no other selection kinds
            return False
    return True


def shape_of(schema: GraphQLSchema, query: str, operation_name: str | None) -> Shape | None:
    return _shape_cached(schema, query, operation_name)


@lru_cache(maxsize=1000)
def _shape_cached(schema: GraphQLSchema, query: str, operation_name: str | None) -> Shape | None:
    try:
        document: DocumentNode = parse(query)
    except GraphQLError:
        return None
    if validate(schema, document):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        return None
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or roots[0].directives:
        return None
    field_node = roots[0]
    rule = RULES.get(field_node.name.value)
    subscription_type = schema.subscription_type
    if rule is None or subscription_type is None:
        return None
    field_def = subscription_type.fields[field_node.name.value]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    if not _walk(schema, get_named_type(field_def.type).name, field_node.selection_set,
                 fragments, rule):
        return None
    return Shape(rule=rule, document=document, operation=operation, field_node=field_node)


@dataclass(frozen=True)
class Plan:
    key: tuple[Hashable, ...]
    mode: ShareMode
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    log: bool = False  # the stream starts where the arguments say: late joiners get it all


async def plan_for(schema: Any, query: str, variables: dict[str, Any] | None,
                   operation_name: str | None, context: Any) -> Plan | None:
    """The group this subscriber joins, or None for the per-subscriber path."""
    graphql_schema: GraphQLSchema = schema._schema
    shape = shape_of(graphql_schema, query, operation_name)
    if shape is None:
        return None
    coerced = get_variable_values(graphql_schema, shape.operation.variable_definitions or (),
                                  variables or {})
    if isinstance(coerced, list):  # variable errors: the per-subscriber path reports them
        return None
    try:
        # before group_key, which may read the database: no value past its bound gets that far
        check_document_inputs(graphql_schema, shape.document, variables)
    except BadInput:  # the per-subscriber path refuses it, as for any subscriber
        return None
    assert graphql_schema.subscription_type is not None
    field_def = graphql_schema.subscription_type.fields[shape.field_node.name.value]
    try:
        args = get_argument_values(field_def, shape.field_node, coerced)
    except GraphQLError:
        return None
    role = await shape.rule.group_key(context, args)
    if role is None:
        return None
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    replay = shape.rule.replay_argument
    return Plan(key=(query, operation_name, canonical, shape.rule.field, role),
                mode=shape.rule.mode, query=query, variables=variables,
                operation_name=operation_name,
                log=replay is not None and args.get(replay) is not None)


# ------------------------------------------------------------------ groups and members


class Envelope:
    """A subscriber's pre-encoded frame around a payload: `head + payload + tail`. The hub
    shares one object between subscribers whose envelopes are equal (the same operation id),
    so a publish serializes one frame per distinct envelope, looked up by identity."""

    __slots__ = ("__weakref__", "head", "tail")

    def __init__(self, encode: Callable[[object], str], message: dict[str, Any]) -> None:
        # The payload slot is filled with a marker that cannot appear in the envelope's own
        # text, so the split is exact for whatever (compact) encoder the view uses.
        text = encode({**message, "payload": 0})
        marker = text.rindex(":0")
        self.head, self.tail = text[:marker + 1], text[marker + 2:]

    def wrap(self, payload: str) -> str:
        return self.head + payload + self.tail


class Member:
    """One subscriber of a group: its envelope and its unsent payloads (bounded).

    Kept small (10,000 of them per process): STATE members hold one payload in a slot, only
    EVENTS members get a queue, and the wake-up future exists only while waiting."""

    __slots__ = ("_queue", "_slot", "_waiter", "closed", "envelope", "group", "sending", "sink",
                 "viewer_id")

    def __init__(self, group: Group, envelope: Envelope,
                 sink: Sink | GatedSink | None = None, viewer_id: int | None = None) -> None:
        self.group = group
        self.envelope = envelope
        self.sink = sink
        self.viewer_id = viewer_id
        self.closed = False
        self._slot: str | None = None
        self._queue: deque[str] | None = (
            deque(maxlen=EVENT_QUEUE) if group.plan.mode is ShareMode.EVENTS else None)
        self._waiter: asyncio.Future[None] | None = None
        self.sending = False

    def _has_pending(self) -> bool:
        return bool(self._queue) if self._queue is not None else self._slot is not None

    def pending(self) -> int:
        return len(self._queue) if self._queue is not None else int(self._slot is not None)

    def write_now(self, payload: str, frames: dict[Envelope, bytes]) -> bool:
        """Writes the payload's frame synchronously when nothing of this member's is queued or
        on its way (order is kept) and its connection takes it now; False otherwise."""
        sink = self.sink
        # `_slot` is a STATE member's pending payload, `_queue` an EVENTS member's (the other
        # is None): _has_pending() inlined, this runs for every member of every publish
        if sink is None or self.sending or self._slot is not None or self._queue:
            return False
        return sink.write(self.envelope, payload, frames)

    def offer(self, payload: str) -> bool:
        """Queue a payload (a STATE member keeps only the newest); False when the member is
        still busy with an earlier one."""
        idle = not self.sending and not self._has_pending()
        if self._queue is not None:
            self._queue.append(payload)
        else:
            self._slot = payload
        self.wake()
        return idle

    async def next(self) -> str | None:
        """The next frame to write, or None when the group ended."""
        if self.sending:
            self.sending = False
            self.group.written()
        while not self._has_pending():
            if self.group.ended or self.closed:
                return None
            honour_lost_cancel()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        payload: str | None
        if self._queue is not None:
            payload = self._queue.popleft()
        else:
            payload, self._slot = self._slot, None
        assert payload is not None
        self.sending = True
        return self.envelope.wrap(payload)

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        """Nothing more for this member (it lost access): unsent payloads are dropped and its
        subscription completes."""
        self.closed = True
        self._slot = None
        if self._queue is not None:
            self._queue.clear()
        self.wake()


AccessRule = Callable[[set[int]], Awaitable[set[int]]]


class Audience:
    """Which of a group's members may still receive (see the module docstring)."""

    __slots__ = ("_group", "check")

    def __init__(self, group: Group) -> None:
        self._group = group
        self.check: AccessRule | None = None

    async def recheck(self, viewer_ids: Collection[int] | None = None) -> None:
        """Ends the members (all, or those of these viewers) the access rule no longer allows."""
        check = self.check
        if check is None:
            return
        members = [member for member in self._group.members
                   if viewer_ids is None or member.viewer_id in viewer_ids]
        if not members:
            return
        allowed = await check({member.viewer_id for member in members
                               if member.viewer_id is not None})
        for member in members:
            if member.viewer_id not in allowed:
                self._group.members.discard(member)
                member.close()


class Group:
    def __init__(self, hub: FanoutHub, plan: Plan, schema: Any, context: Any) -> None:
        self.hub = hub
        self.plan = plan
        self.schema = schema
        self.context = context
        self.members: set[Member] = set()
        self.latest: str | None = None
        self.ended = False
        self.fallback = False  # the stream refused before executing: per-subscriber path
        self.payloads = 0
        self._outstanding = 0
        self._stragglers = 0
        self._drained = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        # every payload sent, for members joining later (Plan.log); None once full
        self.log: list[str] | None = [] if plan.log else None
        self.full = False
        self.audience = Audience(self)
        if hasattr(context, "audience"):
            context.audience = self.audience

    def add(self, member: Member) -> None:
        self.members.add(member)
        if self.plan.mode is ShareMode.STATE and self.latest is not None:
            member.offer(self.latest)
        for payload in self.log or ():
            member.offer(payload)

    def written(self) -> None:
        # Drained once all but the slowest 1 % wrote it: one stuck socket must not hold the
        # next payload back from everyone (it gets the latest when it can write again).
        if self._outstanding > 0:
            self._outstanding -= 1
            if self._outstanding <= self._stragglers:
                self._drained.set()

    async def run(self) -> None:
        try:
            stream = await self.schema.stream(
                self.plan.query, variable_values=self.plan.variables, context_value=self.context,
                operation_name=self.plan.operation_name)
            if not hasattr(stream, "__aiter__"):
                self.fallback = True
                return
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        self.fallback = True
                        return
                    first = False
                    payload = self.hub.encode(payload_of(result))
                    # members who lost access are ended before anything is written
                    await self.audience.recheck()
                    self.publish(payload)
                    await self._wait_drained()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("shared subscription stream failed: %s", self.plan.key[3])
        finally:
            self.ended = True
            publish_cost.forget(id(self))
            for member in list(self.members):
                member.wake()

    def publish(self, payload: str) -> None:
        started = time.monotonic()
        self.latest = payload
        self.payloads += 1
        if self.log is not None:
            self.log.append(payload)
            if len(self.log) >= EVENT_QUEUE:  # a joiner's queue could not hold it all
                self.log, self.full = None, True
        self._drained.clear()
        # Most members take the frame right here, synchronously (schema/live/direct.py);
        # the rest (no direct sink, backpressure, busy) get it through their coroutine.
        frames: dict[Envelope, bytes] = {}
        outstanding = 0
        for member in list(self.members):
            if not member.write_now(payload, frames):
                outstanding += member.offer(payload)
        self._outstanding = outstanding
        # 1 % of all members may lag: members written directly are done, so the ones left
        # are exactly the slow ones (paused, busy) and must not hold the next payload back
        self._stragglers = len(self.members) // 100
        if self._outstanding <= self._stragglers:
            self._drained.set()
        # Wall time, not CPU time: the loop holds the event loop, preempted or not, and the
        # budget is a share of the loop's time (docs/activities.md compares both measures).
        done = time.monotonic()
        publish_cost.record(done - started, done, id(self))
        changed_at = getattr(self.context, "changed_at", None)
        if changed_at is not None:  # the frames written above carry a change committed then
            self.context.changed_at = None
            observe_delivery(str(self.plan.key[3]), changed_at)

    async def _wait_drained(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_WAIT):
                await self._drained.wait()


def payload_of(result: Any) -> dict[str, Any]:
    """The `payload` of a next/data message, built as strawberry's handlers build it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class FanoutHub:
    """Per process: the running groups by key."""

    def __init__(self, encode: Callable[[object], str]) -> None:
        self.encode = encode
        self.groups: dict[tuple[Hashable, ...], Group] = {}
        self.started = 0
        self._envelopes: weakref.WeakValueDictionary[tuple[str, str], Envelope] = (
            weakref.WeakValueDictionary())

    def envelope(self, message: dict[str, Any]) -> Envelope:
        """The shared envelope for this message (one per distinct operation id)."""
        made = Envelope(self.encode, message)
        return self._envelopes.setdefault((made.head, made.tail), made)

    async def join(self, plan: Plan, schema: Any, context_factory: Callable[[], Any],
                   message: dict[str, Any], sink: Sink | GatedSink | None = None,
                   viewer_id: int | None = None) -> Member:
        group = self.groups.get(plan.key)
        if group is None or group.ended or group.full:
            group = self.groups[plan.key] = Group(self, plan, schema, context_factory())
            group.task = asyncio.create_task(group.run(), name=f"fanout-{plan.key[3]}")
            self.started += 1
        member = Member(group, self.envelope(message), sink, viewer_id)
        group.add(member)
        return member

    async def leave(self, member: Member) -> None:
        group = member.group
        group.members.discard(member)
        if member.sending:
            member.sending = False
            group.written()
        if group.members:
            return
        if self.groups.get(group.plan.key) is group:
            del self.groups[group.plan.key]
        if group.task is not None and not group.task.done():
            with contextlib.suppress(Exception):  # the group's stream logged its own error
                await cancel_and_wait(group.task)

    def member_count(self) -> int:
        return sum(len(group.members) for group in self.groups.values())


_hub: FanoutHub | None = None


def fanout_hub(encode: Callable[[object], str]) -> FanoutHub:
    """This process's hub (one per encoder: the view's JSON encoding)."""
    global _hub
    if _hub is None or _hub.encode != encode:
        _hub = FanoutHub(encode)
    return _hub
