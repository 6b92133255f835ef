"""Open WebSockets for the soak and chaos runs, in a process of their own (asyncio beside
Locust's gevent): `--count` graphql-transport-ws clients, each watching `slotCount` of one
activity (round robin over `--activity`) and, every fourth, `boardActivity` of `--board`.
A closed or failed socket reconnects after 0.5–2 s and subscribes again, which yields the
current value first: that is how a client converges after a fault.

    python -m bench.watchers --url ws://… --token T --activity GID [--activity GID…]
                             [--board GID] --count N [--never-read K]

`--never-read K` also opens K sockets that subscribe to every activity and then never read a
byte (a tiny receive buffer): the slow readers a worker must not let hold it up.

stdin/stdout protocol: prints `ready` once every watcher has its first value; a line
`check <seconds> <json {gid: [confirmed, waitlisted]}>` waits up to <seconds> until every
watcher's last value is the expected one and prints `check <matching> <watchers> <seconds>
<reconnects>`; `quit` (or EOF) ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import sys
import time
from typing import Any

import websockets
from websockets.typing import Subprotocol

from bench.wsclient import SLOTS, _frame

SLOT_DOC = "subscription W($id: ID!) { slotCount(activityId: $id) { confirmed waitlisted } }"
BOARD_DOC = "subscription B($id: ID!) { boardActivity(boardId: $id) { id } }"
assert SLOTS  # the bench's raw client watches the same field


class Watcher:
    def __init__(self, url: str, token: str, activity: str, board: str | None) -> None:
        self.url, self.token, self.activity, self.board = url, token, activity, board
        self.last: tuple[int, int] | None = None
        self.reconnects = 0
        self.board_posts = 0
        self.first = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self.session()
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            self.reconnects += 1
            await asyncio.sleep(random.uniform(0.5, 2.0))

    async def session(self) -> None:
        async with websockets.connect(self.url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      open_timeout=30, ping_interval=20, ping_timeout=20,
                                      max_queue=None) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {self.token}"}}))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise ConnectionError(str(ack))
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
                "query": SLOT_DOC, "variables": {"id": self.activity}}}))
            if self.board:
                await ws.send(json.dumps({"id": "b", "type": "subscribe", "payload": {
                    "query": BOARD_DOC, "variables": {"id": self.board}}}))
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "next" and message.get("id") == "s":
                    data = (message["payload"].get("data") or {}).get("slotCount")
                    if data:
                        self.last = (data["confirmed"], data["waitlisted"])
                        self.first.set()
                elif kind == "next":
                    self.board_posts += 1
                elif kind in ("error", "complete"):
                    raise ConnectionError(raw)


def never_reader(host: str, port: int, path: str, token: str, activities: list[str]) -> socket.socket:
    """A client that subscribes and then never reads: the server's frames pile up."""
    sock = socket.create_connection((host, port), 10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    sock.sendall(_frame(json.dumps({"type": "connection_init",
                                    "payload": {"Authorization": f"Bearer {token}"}}).encode()))
    for index, activity in enumerate(activities):
        sock.sendall(_frame(json.dumps({"id": str(index), "type": "subscribe", "payload": {
            "query": SLOT_DOC, "variables": {"id": activity}}}).encode()))
    return sock


def matching(watchers: list[Watcher], expected: dict[str, Any]) -> int:
    return sum(1 for w in watchers if w.activity in expected and w.last == tuple(expected[w.activity]))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--activity", action="append", required=True)
    parser.add_argument("--board")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--never-read", type=int, default=0)
    args = parser.parse_args()
    watchers = [Watcher(args.url, args.token, args.activity[i % len(args.activity)],
                        args.board if i % 4 == 0 else None) for i in range(args.count)]
    tasks = []
    for watcher in watchers:  # connect gradually: a burst of handshakes is a fault of its own
        tasks.append(asyncio.create_task(watcher.run()))
        await asyncio.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*(w.first.wait() for w in watchers)), 120)
    stuck: list[socket.socket] = []
    if args.never_read:
        host_port, path = args.url.split("://", 1)[1].split("/", 1)
        host, port = host_port.split(":")
        loop = asyncio.get_running_loop()
        for _ in range(args.never_read):
            stuck.append(await loop.run_in_executor(None, never_reader, host, int(port), "/" + path,
                                                    args.token, args.activity))
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "quit":
            break
        _, seconds, payload = line.split(" ", 2)
        expected: dict[str, Any] = json.loads(payload)
        started = time.monotonic()
        deadline = started + float(seconds)

        # A poll with a deadline: the values arrive on hundreds of sockets.
        while True:
            if matching(watchers, expected) == len(watchers) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        print(f"check {matching(watchers, expected)} {len(watchers)} {time.monotonic() - started:.2f} "
              f"{sum(w.reconnects for w in watchers)} {sum(w.board_posts for w in watchers)}",
              flush=True)
    for task in tasks:
        task.cancel()
    for sock in stuck:
        sock.close()


if __name__ == "__main__":
    asyncio.run(main())
