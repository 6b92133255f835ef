"""Many graphql-transport-ws slotCount subscribers in one process, as cheap as a client can be
(raw asyncio protocol, frames kept as bytes and parsed after the run), so that the client
costs the bench as little CPU as possible. Run by bench/slots.py as a separate process,
usually pinned to one core with taskset:

    python -m bench.wsclient --url ws://127.0.0.1:PORT/graphql --activity GID --count N --out F

Protocol on stdin/stdout with the parent: prints `ready <seconds>` once every subscriber has
its first value; on stdin `clear` forgets what was received so far, `final C W` waits (≤ 30 s)
until every subscriber's last value is (C, W), then writes the results to --out and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import struct
import sys
import time
from typing import cast
from urllib.parse import urlsplit

SLOTS = "subscription W($id: ID!) { slotCount(activityId: $id) { confirmed waitlisted version } }"


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Subscriber(asyncio.Protocol):
    def __init__(self, host: str, path: str, activity: str, subscribe: bool = True) -> None:
        self.host, self.path, self.activity = host, path, activity
        self.subscribe = subscribe
        self.buffer = b""
        self.upgraded = False
        self.received: list[tuple[float, bytes]] = []
        self.primed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.primed_once = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws"
                         "\r\n\r\n").encode())

    def send(self, message: dict[str, object]) -> None:
        assert self.transport is not None
        self.transport.write(_frame(json.dumps(message).encode()))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        # The usual case during a run: one whole short text frame per read, nothing buffered
        # (kept as the bare payload bytes, parsed after the run): the client's CPU shares the
        # machine with the server under test, so its per-frame cost is kept to the minimum.
        if self.primed_once and not self.buffer and len(data) > 2 and data[0] == 0x81 \
                and data[1] < 126 and len(data) == data[1] + 2:
            self.received.append((now, data[2:]))
            return
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:end].split(b"\r\n", 1)[0]:
                if not self.primed.done():
                    self.primed.set_exception(RuntimeError(self.buffer[:end].decode(errors="replace")))
                return
            self.buffer = self.buffer[end + 4:]
            self.upgraded = True
            self.send({"type": "connection_init", "payload": {}})
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if len(self.buffer) < offset + length:
                return
            payload, self.buffer = self.buffer[offset:offset + length], self.buffer[offset + length:]
            opcode = first & 0x0F
            if opcode == 0x9:  # ping → pong
                assert self.transport is not None
                self.transport.write(_frame(payload, 0xA))
            elif opcode == 0x1:
                self.on_text(now, payload)

    def on_text(self, now: float, payload: bytes) -> None:
        if b'"connection_ack"' in payload[:40]:
            if not self.subscribe:  # connection only (memory baseline)
                self.primed.set_result(None)
                return
            self.send({"id": "1", "type": "subscribe", "payload": {
                "query": SLOTS, "variables": {"id": self.activity}}})
            return
        self.received.append((now, payload))
        if not self.primed.done():
            self.primed.set_result(None)
            self.primed_once = True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.primed.done():
            self.primed.set_exception(exc or RuntimeError("closed"))

    def last(self) -> tuple[int, int] | None:
        if not self.received:
            return None
        counts = json.loads(self.received[-1][1])["payload"]["data"]["slotCount"]
        return counts["confirmed"], counts["waitlisted"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--activity", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--connect-only", action="store_true",
                        help="connection_init but no subscription (memory of a bare connection)")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    subscribers: list[Subscriber] = []
    started = time.perf_counter()
    for first in range(0, args.count, 200):
        batch = []
        for _ in range(min(200, args.count - first)):
            _, protocol = await loop.create_connection(
                lambda: Subscriber(f"{host}:{port}", parts.path or "/", args.activity,
                                   not args.connect_only), host, port)
            batch.append(protocol)
        await asyncio.wait_for(asyncio.gather(*(s.primed for s in batch)), 120)
        subscribers += batch
    print(f"ready {time.perf_counter() - started:.1f}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "clear":
            for s in subscribers:
                s.received.clear()
            print("cleared", flush=True)
        elif line[0] == "final":
            final = (int(line[1]), int(line[2]))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # polling many sockets' state
                if all(s.last() == final for s in subscribers):
                    break
                await asyncio.sleep(0.2)
            write_results(args.out, subscribers)
            print("done", flush=True)
            return


def write_results(path: str, subscribers: list[Subscriber]) -> None:
    results = []
    for s in subscribers:
        seen = []
        for at, raw in s.received:
            counts = json.loads(raw)["payload"]["data"]["slotCount"]
            seen.append((at, counts["confirmed"] + counts["waitlisted"]))
        results.append({"seen": seen, "last": s.last()})
    with open(path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(main())
    else:
        uvloop.run(main())
