"""Synchronous frame writes for the shared (execute-once) path.

A shared group publishes one payload to thousands of members. Waking a coroutine per member
so that it can `await websocket.send_text(...)` through Starlette, strawberry and uvicorn costs
more than the write itself (a task switch, an Event wait and three wrapper calls per member,
10,000 times per event). With uvicorn's `websockets-sansio` protocol a send is synchronous
underneath (`ServerProtocol.send_text` + `transport.write`; the only await is the wait for a
paused transport), so the group writes each member's frame directly, in one loop, and only a
member that cannot take it right now (transport paused by backpressure, a frame of its own
still on its way, closing) falls back to its coroutine, which then sends the newest state.

`RawSendMiddleware` (outermost ASGI middleware) remembers the server's own `send` callable
in the WebSocket scope; `sink_for(scope)` turns it into a `Sink` when it is the sansio
protocol's, and returns None otherwise (any other server or protocol: the coroutine path).

The frame bytes are the websockets library's: `Frame.serialize` once per distinct text when
no extension was negotiated (an unmasked server frame is the same bytes on every
connection), the connection's own `send_text` otherwise (permessage-deflate keeps per
connection state).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "tongxin.raw_send"

try:  # uvicorn's sansio WebSocket protocol and the library it drives
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.exceptions import InvalidState
    from websockets.frames import Frame, Opcode
    from websockets.protocol import State
except ImportError:  # pragma: no cover - another server: every member uses its coroutine
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class RawSendMiddleware:
    """Keeps the server's `send` for WebSocket connections in the scope (Starlette's exception
    middleware wraps it in closures further in)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = send
        await self.app(scope, receive, send)


class Sink:
    """Writes whole text messages to one uvicorn sansio connection without awaiting."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def write(self, head: str, payload: str, tail: str, frames: dict[tuple[str, str], bytes]) -> bool:
        """Writes `head + payload + tail` as one text frame now; False when the connection
        cannot take it now (paused, closing, gone): the caller falls back to the awaiting
        path. `frames` caches serialized frames by envelope for one payload."""
        protocol = self.protocol
        if (protocol.disconnected or protocol.close_sent or not protocol.handshake_complete
                or protocol.initial_response is not None or not protocol.writable.is_set()):
            return False
        conn = protocol.conn
        if conn.state is not State.OPEN:
            return False
        if conn.extensions:
            try:
                conn.send_text((head + payload + tail).encode())
            except InvalidState:
                return False
            protocol.transport.write(b"".join(conn.data_to_send()))
            return True
        frame = frames.get((head, tail))
        if frame is None:
            frame = frames[head, tail] = Frame(Opcode.TEXT, (head + payload + tail).encode()).serialize(
                mask=False, extensions=[])
        protocol.transport.write(frame)
        return True


def sink_for(scope: Any) -> Sink | None:
    if WebSocketsSansIOProtocol is None or not isinstance(scope, dict):
        return None
    protocol = getattr(scope.get(SCOPE_KEY), "__self__", None)
    if isinstance(protocol, WebSocketsSansIOProtocol):
        return Sink(protocol)
    return None


__all__ = ["RawSendMiddleware", "Sink", "sink_for"]
