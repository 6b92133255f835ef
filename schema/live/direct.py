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
It also hands WebSocket connections to the GraphQL endpoint straight away: the middleware
and routing frames of the rest of the stack would otherwise stay on every connection's stack
for its whole life (~2.5 KiB each at 10,000 connections).

`LeanSansIOProtocol` is uvicorn's sansio protocol with the per-connection objects an idle
connection does not need made smaller: a one-consumer inbox instead of an `asyncio.Queue`
(four deques), a writable flag whose waiter list exists only while someone waits, and the
parsed handshake request (its headers) and response dropped once the connection is accepted.

The frame bytes are the websockets library's: `Frame.serialize` once per distinct text when
no extension was negotiated (an unmasked server frame is the same bytes on every
connection), the connection's own `send_text` otherwise (permessage-deflate keeps per
connection state).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "tongxin.raw_send"
GOING_AWAY = 1001  # RFC 6455 close code: the server is going down

try:  # uvicorn's sansio WebSocket protocol and the library it drives
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.exceptions import InvalidState
    from websockets.frames import Frame, Opcode
    from websockets.protocol import State
except ImportError:  # pragma: no cover - another server: every member uses its coroutine
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class RawSendMiddleware:
    """Keeps the server's `send` for WebSocket connections in the scope (Starlette's exception
    middleware wraps it in closures further in), and sends WebSocket connections to
    `websocket_paths` directly to their app."""

    def __init__(self, app: ASGIApp, websocket_paths: dict[str, ASGIApp] | None = None) -> None:
        self.app = app
        self.websocket_paths = websocket_paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = send
            endpoint = self.websocket_paths.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


def text_frame(envelope: Any, payload: str) -> bytes:
    """`envelope.head + payload + envelope.tail` as one unmasked text frame, as the
    websockets library serializes it (no extension negotiated)."""
    return Frame(Opcode.TEXT, (envelope.head + payload + envelope.tail).encode()).serialize(
        mask=False, extensions=[])


class Sink:
    """Writes whole text messages to one uvicorn sansio connection without awaiting, reading
    the protocol's state on every write (any `WebSocketsSansIOProtocol`)."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def write(self, envelope: Any, payload: str, frames: dict[Any, bytes]) -> bool:
        """Writes `envelope.head + payload + envelope.tail` as one text frame now; False when
        the connection cannot take it now (paused, closing, gone): the caller falls back to
        the awaiting path. `frames` caches serialized frames by envelope for one payload."""
        protocol = self.protocol
        if (protocol.disconnected or protocol.close_sent or not protocol.handshake_complete
                or protocol.initial_response is not None or not protocol.writable.is_set()):
            return False
        conn = protocol.conn
        if conn.state is not State.OPEN:
            return False
        if conn.extensions:
            try:
                conn.send_text((envelope.head + payload + envelope.tail).encode())
            except InvalidState:
                return False
            protocol.transport.write(b"".join(conn.data_to_send()))
            return True
        frame = frames.get(envelope)
        if frame is None:
            frame = frames[envelope] = text_frame(envelope, payload)
        protocol.transport.write(frame)
        return True


class GatedSink:
    """The same writes for `LeanSansIOProtocol`, which keeps `open` current itself (handshake
    done, no close sent, not disconnected, no HTTP response instead of the upgrade, transport
    not paused), so a write reads this small object and the transport instead of five
    attributes of the protocol's large instance dict, its flag and the websockets connection,
    cold reads that were a large share of each write loop (docs/activities.md, "Direct
    writes"). Only made when no extension was negotiated."""

    __slots__ = ("open", "transport")

    def __init__(self, transport: Any, is_open: bool) -> None:
        self.transport = transport
        self.open = is_open

    def write(self, envelope: Any, payload: str, frames: dict[Any, bytes]) -> bool:
        # A close frame received from the peer closes the transport at once (uvicorn's
        # handle_close): is_closing() covers the websockets state that `open` does not track.
        transport = self.transport
        if not self.open or transport.is_closing():
            return False
        frame = frames.get(envelope)
        if frame is None:
            frame = frames[envelope] = text_frame(envelope, payload)
        transport.write(frame)
        return True


class _Inbox:
    """`asyncio.Queue`'s put_nowait/get/empty for the connection's one reader, without the
    Queue's four deques (~3 KiB per connection)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:  # pragma: no cover - uvicorn has one reader
                raise RuntimeError("one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class _Flag:
    """`asyncio.Event`'s set/clear/is_set/wait; the waiters exist only while someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
        return True


def _gated(name: str) -> property:
    """A protocol attribute whose every assignment re-evaluates the connection's sink gate."""
    private = "_gated_" + name

    def get(self: Any) -> Any:
        return self.__dict__[private]

    def set(self: Any, value: Any) -> None:
        self.__dict__[private] = value
        self._regate()

    return property(get, set)


if WebSocketsSansIOProtocol is not None:

    class LeanSansIOProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sansio WebSocket protocol with lighter per-connection state (above) and a
        `GatedSink` kept open or shut by the state changes themselves."""

        handshake_complete = _gated("handshake_complete")
        close_sent = _gated("close_sent")
        disconnected = _gated("disconnected")
        initial_response = _gated("initial_response")

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._sink: GatedSink | None = None
            super().__init__(*args, **kwargs)
            self.queue = _Inbox()  # type: ignore[assignment]
            self.writable = _Flag(True)  # type: ignore[assignment]

        def _direct_ok(self) -> bool:
            state = self.__dict__
            writable = state.get("writable")
            return (state.get("_gated_handshake_complete") is True
                    and not state.get("_gated_close_sent") and not state.get("_gated_disconnected")
                    and state.get("_gated_initial_response") is None
                    and writable is not None and writable.is_set())

        def _regate(self) -> None:
            sink = self.__dict__.get("_sink")
            if sink is not None:
                sink.open = self._direct_ok()

        def direct_sink(self) -> GatedSink | Sink:
            """This connection's sink (one per connection; the generic one when an extension
            such as permessage-deflate keeps per-connection state)."""
            if self.conn.extensions:
                return Sink(self)
            if self._sink is None:
                self._sink = GatedSink(self.transport, self._direct_ok())
            return self._sink

        def pause_writing(self) -> None:
            super().pause_writing()
            self._regate()

        def resume_writing(self) -> None:
            super().resume_writing()
            self._regate()

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            self._regate()

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            # The scope has a copy of what the app needs from the request; websockets' parser
            # keeps the parsed request for the connection's life (a local of its generator).
            self.request = None  # type: ignore[assignment]
            event.headers.clear()

        def shutdown(self) -> None:
            """The server is going away (SIGTERM): close with 1001 Going Away, which clients
            read as "reconnect, perhaps elsewhere", where uvicorn sends 1012 Service Restart
            (read by some as "come back here later"). As uvicorn does otherwise: the app
            gets its disconnect, the transport closes after the frame."""
            if self.close_sent or not self.handshake_complete or self.initial_response is not None:
                super().shutdown()
                return
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            self.close_sent = True  # no direct frame after the close frame
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()

        async def send(self, message: Any) -> None:
            await super().send(message)
            if self.handshake_complete and getattr(self, "response", None) is not None:
                self.response = None  # type: ignore[assignment]  # sent: not needed any more


def sink_for(scope: Any) -> Sink | GatedSink | None:
    if WebSocketsSansIOProtocol is None or not isinstance(scope, dict):
        return None
    protocol = getattr(scope.get(SCOPE_KEY), "__self__", None)
    if isinstance(protocol, LeanSansIOProtocol):
        return protocol.direct_sink()
    if isinstance(protocol, WebSocketsSansIOProtocol):
        return Sink(protocol)
    return None


__all__ = ["GatedSink", "LeanSansIOProtocol", "RawSendMiddleware", "Sink", "sink_for", "text_frame"]
