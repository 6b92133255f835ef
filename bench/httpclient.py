"""A load generator's HTTP/1.1 client, as cheap as a client can be: keep-alive connections,
requests written as prepared bytes, responses read by Content-Length on a raw asyncio
protocol. httpx costs ~2 ms of CPU per request; at a few hundred sign-ups a second it
saturated a whole core of this two-core machine and the benches measured the client, not the
servers (bench/signup.py's module docstring has the figures). This one costs tens of µs.

Only what the benches' servers answer is supported: `Content-Length` bodies, no chunked
encoding, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast
from urllib.parse import urlsplit


class HTTPConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            self._waiter.set_exception(RuntimeError(f"no Content-Length in {head[:200]!r}"))
            return
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17:stop if stop >= 0 else None])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[end + 4:total])
        del self._buffer[:total]
        self._waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionError("connection closed"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter


class LeanClient:
    """POSTs JSON to one URL over `connections` keep-alive connections."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path or "/"
        self._idle: list[HTTPConnection] = []

    def request_bytes(self, body: Any, headers: dict[str, str] | None = None) -> bytes:
        """A prepared request: build these before the clock starts."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Content-Type: application/json", f"Content-Length: {len(payload)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def open(self, connections: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(connections):
            _, protocol = await loop.create_connection(HTTPConnection, self.host, self.port)
            self._idle.append(protocol)

    async def post(self, request: bytes) -> tuple[int, Any]:
        """Sends a prepared request on an idle connection; (status, decoded JSON body)."""
        connection = self._idle.pop()
        try:
            status, body = await connection.send(request)
        except BaseException:
            assert connection.transport is not None
            connection.transport.close()
            raise
        self._idle.append(connection)
        return status, json.loads(body)

    def close(self) -> None:
        for connection in self._idle:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()
