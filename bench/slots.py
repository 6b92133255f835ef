"""Live slot counts under a flash crowd: N WebSocket subscribers on one activity, spread over
the server's workers (kernel accept balancing), while volunteers race to sign up.

    .venv/bin/python -m bench.slots [--subscribers 2000] [--sign-ups 600] [--workers 2]

Prints, per (subscriber, committed sign-up): the delay from the sign-up's commit to the first
message that includes it (p50/p99/max); messages per subscriber; and whether every
subscriber's final value equals the database. A sign-up's commit time is taken as the moment
its HTTP response arrived (k-th response ↔ k-th increment of confirmed+waitlisted), which is
after the commit, so delays are if anything understated by one response's transit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import jwt
import websockets
from websockets.typing import Subprotocol

from bench.common import JWT_SECRET, REDIS_URL, percentile, scratch_database, start_tongxin
from bench.signup import seed

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
SLOTS = "subscription W($id: ID!) { slotCount(activityId: $id) { confirmed waitlisted version } }"


async def make_activity(database_url: str, crowd: int) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        admin = await conn.fetchval("SELECT min(id) FROM volunteer")
        team = await conn.fetchval(
            "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, "
            "created_at) VALUES ('压测队', 'COMMUNITY', '朝阳区', '/', $1, 0, now()) RETURNING id",
            admin)
        starts = datetime.now(UTC) + timedelta(days=1)
        return int(await conn.fetchval(
            "INSERT INTO activity (team_id, created_by_id, title, description, category, "
            "district, starts_at, ends_at, sign_up_deadline, capacity, confirmed_count, "
            "waitlist_count, waitlist_limit, waitlist_seq, version, hours_credit, skills, "
            "status, created_at, updated_at, published_at) VALUES ($1, $2, '抢名额', '', '助老', '朝阳区', $3, "
            "$4, $3, $5, 0, 0, $6, 0, 0, 2, '', 'PUBLISHED', now(), now(), now()) RETURNING id",
            team, admin, starts, starts + timedelta(hours=2), crowd // 2, crowd // 4))
    finally:
        await conn.close()


class Subscriber:
    def __init__(self) -> None:
        self.received: list[tuple[float, int]] = []  # (time, confirmed + waitlisted)
        self.last: tuple[int, int] | None = None
        self.ready = asyncio.Event()

    async def run(self, url: str, activity_gid: str) -> None:
        async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      open_timeout=60, max_queue=None,
                                      ping_interval=None) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            await socket.recv()
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SLOTS, "variables": {"id": activity_gid}}}))
            async for raw in socket:
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") != "next":
                    continue
                counts = message["payload"]["data"]["slotCount"]
                self.last = (counts["confirmed"], counts["waitlisted"])
                self.received.append((now, counts["confirmed"] + counts["waitlisted"]))
                self.ready.set()


async def run(url: str, ws_url: str, database_url: str, activity_id: int,
              volunteer_ids: list[int], subscribers: int, concurrency: int) -> None:
    from schema.relay import to_global_id

    gid = to_global_id("Activity", activity_id)
    watchers = [Subscriber() for _ in range(subscribers)]
    tasks: list[asyncio.Task[None]] = []
    opened = time.perf_counter()
    for start in range(0, subscribers, 100):
        batch = watchers[start:start + 100]
        tasks += [asyncio.create_task(w.run(ws_url, gid)) for w in batch]
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in batch)), 120)
    print(f"{subscribers} subscribers connected and primed in {time.perf_counter() - opened:.1f}s")
    for w in watchers:
        w.received.clear()

    tokens = [jwt.encode({"sub": str(v), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
              for v in volunteer_ids]
    committed: list[float] = []
    queue = list(range(len(tokens)))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            while queue:
                token = tokens[queue.pop()]
                response = await client.post(url, json={"query": SIGN_UP,
                                                        "variables": {"id": gid}},
                                             headers={"Authorization": f"Bearer {token}"})
                if not response.json().get("errors"):
                    committed.append(time.perf_counter())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        crowd_seconds = time.perf_counter() - started

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT confirmed_count, waitlist_count FROM activity "
                                  "WHERE id = $1", activity_id)
    finally:
        await conn.close()
    final = (row["confirmed_count"], row["waitlist_count"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(w.last == final for w in watchers):
            break
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    committed.sort()
    delays: list[float] = []
    for w in watchers:
        index = 0
        for k, commit_time in enumerate(committed, start=1):
            while index < len(w.received) and w.received[index][1] < k:
                index += 1
            if index == len(w.received):
                break
            delays.append(max(0.0, w.received[index][0] - commit_time) * 1000)
    counts = [len(w.received) for w in watchers]
    matching = sum(1 for w in watchers if w.last == final)
    print(f"{len(committed)} sign-ups committed in {crowd_seconds:.1f}s "
          f"({len(committed) / crowd_seconds:.0f}/s); database final confirmed={final[0]} "
          f"waitlisted={final[1]}")
    print(f"commit → subscriber delay over {len(delays)} (subscriber, sign-up) pairs: "
          f"p50 {percentile(delays, 0.5):.0f} ms  p99 {percentile(delays, 0.99):.0f} ms  "
          f"max {max(delays) if delays else float('nan'):.0f} ms")
    print(f"messages per subscriber: mean {statistics.fmean(counts):.1f}  min {min(counts)}  "
          f"max {max(counts)} (for {len(committed)} changes)")
    print(f"final value equals the database for {matching}/{subscribers} subscribers")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--sign-ups", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.sign_ups))
        activity_id = asyncio.run(make_activity(database_url, args.sign_ups))
        server = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL)
        try:
            print(f"{args.workers} workers, PostgreSQL + Redis; one activity, capacity "
                  f"{args.sign_ups // 2}, waitlist {args.sign_ups // 4}")
            asyncio.run(run(server.url, server.url.replace("http://", "ws://"), database_url,
                            activity_id, volunteer_ids, args.subscribers, args.concurrency))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
