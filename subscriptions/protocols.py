"""Both WebSocket subprotocols with every client frame checked for shape before strawberry's
handlers index into it: a frame that is not an object with the fields its type needs closes
the socket with 4400 (graphql-transport-ws's code for an invalid message, used for the legacy
protocol too), instead of an exception that kills the connection task."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

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


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler):
    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, ("subscribe",))
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)


class CheckedLegacyWSHandler(BaseGraphQLWSHandler):
    async def handle_message(self, message: Any) -> None:
        problem = frame_problem(message, ("start",))
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        await super().handle_message(message)
