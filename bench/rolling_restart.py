"""A rolling restart of two nodes behind haproxy, under load: no acknowledged sign-up lost, every
subscriber ends at the database's value (issue 29; docs/operations.md, "Restart and rolling
restart").

    .venv/bin/python -m bench.rolling_restart [--watchers 20] [--concurrency 6] [--activities 3]

On this machine's PostgreSQL and Redis (bench/common.py), in a database of its own: two
one-worker nodes and an haproxy with a runtime socket (the `make cluster` configuration,
scripts/cluster.py). While sign-ups flow through haproxy and watchers hold `slotCount`
subscriptions through it, each node in turn is drained in haproxy (`set server … state drain`),
sent SIGTERM, started again on its port and made ready. A request that fails is sent again, as a
client would (`signUp` is idempotent; docs/scale-out.md), and counted by its first failure.
At the end: every acknowledged sign-up has its row, the integrity check passes, every watcher's
last value equals the database's.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets
from websockets.typing import Subprotocol

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    ROOT,
    Process,
    bench_env,
    connect,
    free_port,
    migrate,
    scratch_database,
    sign_up_outcome,
    start,
)
from bench.signup import make_activities, seed
from schema.relay import to_global_id
from scripts.cluster import HAPROXY, haproxy_config, wait_port, write_error_files

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
SLOTS = "subscription S($id: ID!) { slotCount(activityId: $id) { confirmed waitlisted version } }"
ACKNOWLEDGED = {"CONFIRMED", "WAITLISTED", "CONFLICT"}  # CONFLICT: an acknowledged "full"


def token(volunteer_id: int) -> str:
    return jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET,
                      algorithm="HS256")


@dataclass
class Watcher:
    """A slotCount subscriber that reconnects (through haproxy) whenever it is closed."""

    url: str
    activity_id: int
    last: dict[str, Any] | None = None
    closes: collections.Counter[str] = field(default_factory=collections.Counter)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with websockets.connect(
                        self.url, subprotocols=[Subprotocol("graphql-transport-ws")],
                        open_timeout=10) as socket:
                    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                    await socket.recv()
                    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                        "query": SLOTS,
                        "variables": {"id": to_global_id("Activity", self.activity_id)}}}))
                    async for raw in socket:
                        message = json.loads(raw)
                        if message["type"] == "next" and message["payload"].get("data"):
                            self.last = message["payload"]["data"]["slotCount"]
                        elif message["type"] == "ping":
                            await socket.send(json.dumps({"type": "pong"}))
                    self.closes[str(socket.close_code)] += 1
            except websockets.ConnectionClosed as closed:
                self.closes[str(closed.rcvd.code if closed.rcvd else "no close frame")] += 1
            except (OSError, TimeoutError, websockets.InvalidStatus) as error:
                self.closes[type(error).__name__] += 1
            if not stop.is_set():
                await asyncio.sleep(0.2)


@dataclass
class Load:
    url: str
    activities: list[int]
    acknowledged: dict[int, tuple[int, str]] = field(default_factory=dict)
    answered_at: list[float] = field(default_factory=list)
    first_failures: collections.Counter[str] = field(default_factory=collections.Counter)
    lost: list[int] = field(default_factory=list)

    async def sign_up(self, client: httpx.AsyncClient, volunteer_id: int) -> None:
        activity = self.activities[volunteer_id % len(self.activities)]
        body = {"query": SIGN_UP, "variables": {"id": to_global_id("Activity", activity)}}
        for attempt in range(5):
            try:
                response = await client.post(self.url, json=body, headers={
                    "Authorization": f"Bearer {token(volunteer_id)}"})
                outcome = (sign_up_outcome(response.json())
                           if response.headers.get("content-type", "").startswith(
                               "application/json") else f"HTTP {response.status_code}")
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            if outcome in ACKNOWLEDGED:
                # a volunteer's second round returns the sign-up held (CONFLICT only when full)
                self.acknowledged.setdefault(volunteer_id, (activity, outcome))
                self.answered_at.append(time.monotonic())
                return
            if attempt == 0:
                self.first_failures[outcome] += 1
            await asyncio.sleep(0.2 * (attempt + 1))
        self.lost.append(volunteer_id)

    async def run(self, volunteers: list[int], concurrency: int, stop: asyncio.Event) -> None:
        # Every volunteer once, then round again until stopped: signing up twice is idempotent,
        # so the later rounds keep the stream going without new rows.
        turns = itertools.cycle(volunteers)
        async with httpx.AsyncClient(timeout=30) as client:

            async def worker() -> None:
                while not stop.is_set():
                    await self.sign_up(client, next(turns))
                    await asyncio.sleep(0.02)  # a steady stream, not a flash crowd

            await asyncio.gather(*(worker() for _ in range(concurrency)))


async def haproxy_command(socket_path: Path, command: str) -> str:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(command.encode() + b"\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.decode()


async def wait_state(socket_path: Path, server: str, wanted: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stat = await haproxy_command(socket_path, "show stat")
        for line in stat.splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "apps" and fields[1] == server:
                if fields[17].startswith(wanted):
                    return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"haproxy never saw {server} {wanted}")


async def roll(nodes: list[Process], ports: list[int], env: dict[str, str], socket_path: Path,
               log: list[str]) -> None:
    for index, port in enumerate(ports):
        name = f"app{index}"
        began = time.monotonic()
        await haproxy_command(socket_path, f"set server apps/{name} state drain")
        await asyncio.sleep(1.0)  # requests haproxy sent before the drain finish
        nodes[index].process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(nodes[index].process.wait, 30)
        stopped = time.monotonic()
        nodes[index] = await asyncio.to_thread(
            start, [sys.executable, "server.py", "serve"], {**env, "PORT": str(port)}, port)
        await haproxy_command(socket_path, f"set server apps/{name} state ready")
        await wait_state(socket_path, name, "UP")
        log.append(f"{name}: drained 1.0 s, stopped in {stopped - began - 1.0:.1f} s (exit "
                   f"{code}), back and UP after {time.monotonic() - began:.1f} s")


async def database_counts(database_url: str, activities: list[int]) -> dict[int, tuple[int, int]]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, taken_count, waitlist_count FROM activity "
                                "WHERE id = ANY($1)", activities)
    finally:
        await conn.close()
    return {row["id"]: (row["taken_count"], row["waitlist_count"]) for row in rows}


async def signed_up(database_url: str) -> dict[int, tuple[int, str]]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT volunteer_id, activity_id, status FROM sign_up")
    finally:
        await conn.close()
    return {row["volunteer_id"]: (row["activity_id"], row["status"]) for row in rows}


async def run(args: argparse.Namespace, database_url: str, work: Path) -> int:
    migrate(database_url)
    volunteers = await seed(database_url, args.volunteers)
    activities = await make_activities(database_url, args.activities,
                                       args.volunteers // args.activities)
    env = bench_env(database_url, SKIP_MIGRATIONS="1", WORKERS="1", REDIS_URL=REDIS_URL,
                    TONGXIN_NAMESPACE=f"bench{uuid.uuid4().hex[:6]}", JOBS="0")
    ports = [free_port(), free_port()]
    nodes = [start([sys.executable, "server.py", "serve"], {**env, "PORT": str(port)}, port)
             for port in ports]
    lb_port, socket_path = free_port(), work / "haproxy.sock"
    config = haproxy_config(lb_port, ports, write_error_files(work / "errors")).replace(
        "global\n", f"global\n    stats socket {socket_path} mode 600 level admin\n", 1)
    (work / "haproxy.cfg").write_text(config)
    haproxy = await asyncio.to_thread(
        subprocess.Popen, [HAPROXY, "-db", "-f", str(work / "haproxy.cfg")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(lb_port)
        for index in range(len(ports)):
            await wait_state(socket_path, f"app{index}", "UP")
        url = f"http://127.0.0.1:{lb_port}/graphql"
        stop_load, stop_watchers = asyncio.Event(), asyncio.Event()
        watchers = [Watcher(url.replace("http", "ws", 1), activities[i % len(activities)])
                    for i in range(args.watchers)]
        watching = [asyncio.create_task(w.run(stop_watchers)) for w in watchers]
        load = Load(url, activities)
        loading = asyncio.create_task(load.run(volunteers, args.concurrency, stop_load))
        await asyncio.sleep(2)  # load and subscriptions established
        began, log = time.monotonic(), list[str]()
        await roll(nodes, ports, env, socket_path, log)
        ended = time.monotonic()
        rolled = ended - began
        await asyncio.sleep(2)  # load after the roll, on both new nodes
        stop_load.set()
        await loading
        counts = await database_counts(database_url, activities)
        for _ in range(100):  # up to 10 s for the last coalesced values to arrive
            if all(w.last is not None and (w.last["confirmed"], w.last["waitlisted"])
                   == counts[w.activity_id] for w in watchers):
                break
            await asyncio.sleep(0.1)
        stop_watchers.set()
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
    finally:
        haproxy.terminate()
        haproxy.wait(10)
        for node in nodes:
            node.stop()
    rows = await signed_up(database_url)
    missing = [v for v, (activity, status) in load.acknowledged.items()
               if status != "CONFLICT" and rows.get(v, (None, ""))[0] != activity]
    stale = [(w.activity_id, w.last, counts[w.activity_id]) for w in watchers
             if w.last is None or (w.last["confirmed"], w.last["waitlisted"]) != counts[w.activity_id]]
    closes: collections.Counter[str] = collections.Counter()
    for watcher in watchers:
        closes.update(watcher.closes)
    integrity = await asyncio.to_thread(
        subprocess.run, [sys.executable, "server.py", "check-integrity", "--json"], cwd=ROOT,
        env=bench_env(database_url), capture_output=True, text=True)
    report = json.loads(integrity.stdout.strip().splitlines()[-1])
    print(*log, sep="\n")
    print(f"rolling restart of 2 nodes in {rolled:.1f} s under load: "
          f"{len(load.answered_at)} requests answered ("
          f"{sum(began <= at <= ended for at in load.answered_at)} during the roll), "
          f"{len(load.acknowledged)} volunteers' sign-ups acknowledged "
          f"({collections.Counter(s for _, s in load.acknowledged.values())}), "
          f"first-try failures {dict(load.first_failures) or 'none'}, "
          f"never acknowledged after 5 tries {len(load.lost)}")
    print(f"acknowledged but missing in the database: {len(missing)}; rows {len(rows)}")
    print(f"{len(watchers)} watchers, closes seen {dict(closes)}; "
          f"last value differing from the database: {len(stale)} {stale[:3]}")
    print(f"integrity: {'ok' if report['ok'] else report['problems']}")
    return 0 if not missing and not stale and report["ok"] and not load.lost else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=1500)
    parser.add_argument("--activities", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    with scratch_database("tongxin_roll") as database_url, \
            tempfile.TemporaryDirectory(prefix="tongxin-roll-") as work:
        return asyncio.run(run(args, database_url, Path(work)))


if __name__ == "__main__":
    sys.exit(main())
