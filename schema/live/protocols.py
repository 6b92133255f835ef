"""Strawberry's two WebSocket protocol handlers, extended with the shared (execute-once) path,
and with every client frame checked for shape before strawberry's handlers index into it: a
frame that is not an object with the fields its type needs closes the socket with 4400
(graphql-transport-ws's code for an invalid message, used for the legacy protocol too) instead
of an exception that kills the connection task.

Everything about the protocols (connection_init, ack, ping/pong, ids, limits, close codes,
complete/stop) stays strawberry's; only the per-operation result loop changes. A subscribe /
start whose document is shareable (`schema.live.fanout`) joins its group and writes the
group's pre-serialized frames; anything else, or a group whose stream refused the document
before executing it, runs strawberry's own per-subscriber loop unchanged.

The view supplies `shared_context(context)`: the context a group's single execution runs
with (built from the first subscriber's connection context; the group key guarantees every
member would have seen the same result).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, GraphQLFormattedError, GraphQLSchema, parse
from graphql.utilities import get_operation_ast
from starlette.websockets import WebSocketDisconnect
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportError,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import CompleteMessage, ErrorMessage

from core.metrics import SUBSCRIBERS
from resolvers.messages import choose_language, refusal
from schema.live.direct import sink_for
from schema.live.fanout import FanoutHub, Member, Plan, fanout_hub, plan_for
from schema.persisted import NOT_IN_LIST

log = logging.getLogger("tongxin.fanout")

OPERATION_ID_MAX = 100

_OPTIONAL_OBJECT = (dict, type(None))
_OPTIONAL_TEXT = (str, type(None))


def frame_problem(message: Any, operation_types: tuple[str, ...]) -> str | None:
    """Why a decoded client frame is malformed, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be an object with a string `type`."
    if "payload" in message and not isinstance(message["payload"], _OPTIONAL_OBJECT):
        return "`payload` must be an object."
    kind = message["type"]
    if kind in operation_types or kind in ("complete", "stop"):
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not 0 < len(operation_id) <= OPERATION_ID_MAX:
            return f"`id` must be a string of 1–{OPERATION_ID_MAX} characters."
    if kind in operation_types:
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "`payload.query` must be a string."
        if not isinstance(payload.get("variables"), _OPTIONAL_OBJECT):
            return "`payload.variables` must be an object."
        if not isinstance(payload.get("operationName"), _OPTIONAL_TEXT):
            return "`payload.operationName` must be a string."
        if not isinstance(payload.get("extensions"), _OPTIONAL_OBJECT):
            return "`payload.extensions` must be an object."
    return None


def untrusted(handler: Any, message: dict[str, Any], kind: str) -> GraphQLFormattedError | None:
    """The error payload for an operation frame whose document is not trusted
    (TRUSTED_DOCUMENTS, schema/persisted.py): WebSockets run only what HTTP would."""
    documents = getattr(handler.view, "documents", None)
    if message["type"] != kind or documents is None or \
            documents.allows(message["payload"]["query"]):
        return None
    language = getattr(handler.context, "language", None) or choose_language(None)
    return {"message": refusal(language, NOT_IN_LIST), "extensions": {"code": NOT_IN_LIST}}


CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's reason is at most 123 bytes of UTF-8


class _WordedRefusal:
    """The handler's socket during connection_init: strawberry closes a refused init with
    4403 "Forbidden"; the reason becomes the refusal in the reader's language."""

    def __init__(self, websocket: AsyncWebSocketAdapter, context: Any) -> None:
        self.websocket = websocket
        self.context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.websocket, name)

    async def close(self, code: int, reason: str) -> None:
        worded = getattr(self.context, "refusal", None) if code == 4403 else None
        if worded:
            reason = worded.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")
        await self.websocket.close(code=code, reason=reason)


async def send_text(websocket: AsyncWebSocketAdapter, text: str) -> None:
    ws = getattr(websocket, "ws", None)
    if ws is None:  # another adapter: let it encode (same JSON, one extra parse)
        await websocket.send_json(json.loads(text))
        return
    try:
        await ws.send_text(text)
    except WebSocketDisconnect as exc:
        raise WebSocketDisconnected from exc


@lru_cache(maxsize=1000)
def subscription_field(schema: GraphQLSchema, query: str, operation_name: str | None) -> str:
    """The operation's root field as a metric label: a field of the schema's subscription
    type, else "other" (a query over WebSocket, a document that does not parse)."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return "other"
    fields = schema.subscription_type.fields if schema.subscription_type is not None else {}
    if operation is None or not operation.selection_set.selections:
        return "other"
    root = operation.selection_set.selections[0]
    return root.name.value if isinstance(root, FieldNode) and root.name.value in fields else "other"


@contextlib.contextmanager
def counted(handler: Any, query: Any, operation_name: str | None) -> Iterator[None]:
    """The operation counts among the running subscribers of its field while the block runs."""
    gauge = SUBSCRIBERS.labels(subscription_field(handler.schema._schema, query, operation_name)
                               if isinstance(query, str) else "other")
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


async def _plan(handler: Any, query: str, variables: dict[str, Any] | None,
                operation_name: str | None) -> Plan | None:
    if getattr(handler.view, "shared_context", None) is None or not isinstance(query, str):
        return None
    try:
        return await plan_for(handler.schema, query, variables, operation_name, handler.context)
    except Exception:
        # The per-subscriber path reports whatever went wrong, with the usual error codes.
        log.debug("not shared: planning failed", exc_info=True)
        return None


async def _shared(handler: Any, query: str, variables: dict[str, Any] | None,
                  operation_name: str | None,
                  message: dict[str, Any]) -> tuple[Member, bool] | None:
    """None when the document is not shared; else join its group and write the group's
    frames until it ends: (member, anything sent)."""
    plan = await _plan(handler, query, variables, operation_name)
    if plan is None:
        return None
    hub: FanoutHub = fanout_hub(handler.view.encode_json_string)
    ws = getattr(handler.websocket, "ws", None)
    member = await hub.join(plan, handler.schema,
                            lambda: handler.view.shared_context(handler.context), message,
                            sink_for(getattr(ws, "scope", None)),
                            getattr(getattr(handler.context, "viewer", None), "claimed_id", None))
    del plan  # the group keeps its own; this one need not live as long as the subscription
    sent = False
    try:
        while (frame := await member.next()) is not None:
            await send_text(handler.websocket, frame)
            sent = True
    finally:
        await hub.leave(member)
    return member, sent


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with shared execution for shareable subscriptions."""

    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, ("subscribe",))
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        refusal = untrusted(self, message, "subscribe") if self.connection_acknowledged else None
        if refusal is not None:
            await self.send_message(TransportError(id=message["id"], type="error",
                                                   payload=[refusal]))
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        websocket = self.websocket
        self.websocket = _WordedRefusal(websocket, self.context)  # type: ignore[assignment]
        try:
            await super().handle_connection_init(message)
        finally:
            self.websocket = websocket
        if self.connection_init_received:
            # strawberry cancelled the init timeout: the finished task need not stay around
            self.connection_init_timeout_task = None

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        with counted(self, operation.query, operation.operation_name):
            await self._run_operation(operation)

    async def _run_operation(self, operation: Operation[Any, Any]) -> None:
        try:
            shared = await _shared(self, operation.query, operation.variables,
                                   operation.operation_name,
                                   {"id": operation.id, "type": "next", "payload": None})
        except WebSocketDisconnected:
            return
        if shared is not None:
            member, sent = shared
            if not (member.group.fallback and not sent):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
                return
        await super().run_operation(operation)


class SharedGraphQLWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """graphql-ws (legacy subscriptions-transport-ws) with shared execution."""

    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, ("start",))
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        refusal = untrusted(self, message, "start")
        if refusal is not None:
            await self.send_message(ErrorMessage(type="error", id=message["id"], payload=refusal))
            return
        await super().handle_message(message)

    async def handle_async_results(self, operation_id: str, query: str,
                                   operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        with counted(self, query, operation_name):
            await self._handle_async_results(operation_id, query, operation_name, variables)

    async def _handle_async_results(self, operation_id: str, query: str,
                                    operation_name: str | None,
                                    variables: dict[str, object] | None) -> None:
        shared: tuple[Member, bool] | None = None
        fallback = False
        try:
            shared = await _shared(self, query, variables, operation_name,
                                   {"type": "data", "id": operation_id, "payload": None})
            if shared is None:
                fallback = True
            else:
                member, sent = shared
                fallback = member.group.fallback and not sent
                if not fallback:
                    await self.send_message(CompleteMessage(type="complete", id=operation_id))
        except asyncio.CancelledError:  # stop: strawberry answers it with complete
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        except WebSocketDisconnected:
            pass
        finally:
            if not fallback:
                self.tasks.pop(operation_id, None)
        if fallback:
            await super().handle_async_results(operation_id, query, operation_name, variables)


__all__ = ["SharedGraphQLWSHandler", "SharedTransportWSHandler", "frame_problem", "send_text"]
