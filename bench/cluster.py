"""Scale-out figures on the local cluster set-up (scripts/cluster.py), all in one run:

    .venv/bin/python -m bench.cluster [--sign-ups 600] [--subscribers 60] [--channels 1000]

1. sign-ups/s and slot fan-out delay (commit -> subscriber, p50/p99) with 1, 2 and 3 app
   nodes, the crowd and the WebSocket subscribers spread round-robin over the nodes in use
   (connected to the nodes directly, so haproxy is not part of this measurement);
   the ratio against 1 node is printed. The app nodes, PostgreSQL (primary + replica), the six
   redis-servers, haproxy and this client share one machine's cores, so the ratio shows what
   is left after the database and the client take theirs, not what separate machines give.
2. replica lag as seen by stats reads: a team is added on the primary, then `stats(district)`
   (a replica-routed query) is read through the load balancer until it counts it; with
   STATS_CACHE_SECONDS=0 so every read recomputes (stale-while-revalidate: one read later).
   Also PostgreSQL's own replay_lag from pg_stat_replication.
3. Redis pub/sub throughput, sharded (SSUBSCRIBE/SPUBLISH, this project's ClusterBroker) vs
   classic (SUBSCRIBE on one node, PUBLISH broadcast over the cluster bus to all 6 nodes),
   1,000 channels on the 3-shard cluster, same publisher loop; with the cluster-bus message
   counts each needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import websockets
from redis.asyncio import Redis
from websockets.typing import Subprotocol

from bench.common import JWT_SECRET, percentile
from bench.httpclient import LeanClient
from bench.signup import seed
from bench.slots import SIGN_UP, make_activity
from bench.wsclient import SLOTS
from scripts.cluster import Cluster, redis_cli
from subscriptions.cluster import ClusterBroker, cluster_client

STATS = "query S($d: String) { stats(district: $d) { teams } }"


class Subscriber:
    """One graphql-transport-ws `slotCount` watcher recording when each count arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, int]] = []  # (time, confirmed + waitlisted)
        self.last: tuple[int, int] | None = None
        self.ready = asyncio.Event()

    async def run(self, url: str, activity_gid: str) -> None:
        async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      open_timeout=60, max_queue=None, ping_interval=None) as socket:
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


async def crowd_round(cluster: Cluster, nodes: int, volunteer_ids: list[int], subscribers: int,
                      concurrency: int) -> tuple[float, float, float, int]:
    """(sign-ups/s, fan-out p50 ms, p99 ms, subscribers matching the database)."""
    from schema.relay import to_global_id

    activity_id = await make_activity(cluster.database_url, len(volunteer_ids))
    gid = to_global_id("Activity", activity_id)
    urls = [cluster.node_url(i) for i in range(nodes)]
    watchers = [Subscriber() for _ in range(subscribers)]
    tasks = [asyncio.create_task(w.run(urls[i % nodes].replace("http", "ws"), gid))
             for i, w in enumerate(watchers)]
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 120)
    for w in watchers:
        w.received.clear()
    tokens = [jwt.encode({"sub": str(v), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
              for v in volunteer_ids]
    committed: list[float] = []
    queue = list(range(len(tokens)))
    clients = [LeanClient(url) for url in urls]
    requests = [[client.request_bytes({"query": SIGN_UP, "variables": {"id": gid}},
                                      {"Authorization": f"Bearer {token}"}) for token in tokens]
                for client in clients]
    for node, client in enumerate(clients):
        await client.open(len(range(node, concurrency, nodes)))

    async def worker(index: int) -> None:
        node = index % nodes
        while queue:
            _, body = await clients[node].post(requests[node][queue.pop()])
            if not body.get("errors"):
                committed.append(time.perf_counter())

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        seconds = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    conn = await asyncpg.connect(cluster.database_url)
    try:
        row = await conn.fetchrow("SELECT taken_count, waitlist_count FROM activity WHERE id = $1",
                                  activity_id)
    finally:
        await conn.close()
    final = (row["taken_count"], row["waitlist_count"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(w.last == final for w in watchers):  # noqa: ASYNC110
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
    matching = sum(1 for w in watchers if w.last == final)
    return (len(committed) / seconds, percentile(delays, 0.5), percentile(delays, 0.99), matching)


async def replica_lag(cluster: Cluster, samples: int) -> None:
    primary = await asyncpg.connect(cluster.database_url)
    seen_ms: list[float] = []
    try:
        admin = await primary.fetchval("SELECT min(id) FROM volunteer")
        await primary.execute("UPDATE volunteer SET is_platform_admin = true WHERE id = $1", admin)
        token = jwt.encode({"sub": str(admin), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            for index in range(samples):
                district = f"延迟区{index}"
                await client.post(cluster.lb_url, json={"query": STATS, "variables": {"d": district}})
                written = time.perf_counter()
                await primary.execute(
                    "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, "
                    "created_at) VALUES ($1, 'COMMUNITY', $2, '/', $3, 0, now())",
                    f"延迟队{index}-{time.time_ns()}", district, admin)
                while time.perf_counter() - written < 10:
                    body = (await client.post(cluster.lb_url, json={
                        "query": STATS, "variables": {"d": district}})).json()
                    if body.get("errors"):
                        raise RuntimeError(body["errors"])
                    if body["data"]["stats"]["teams"] >= 1:
                        seen_ms.append((time.perf_counter() - written) * 1000)
                        break
                    await asyncio.sleep(0.002)
        lag = await primary.fetch("SELECT replay_lag FROM pg_stat_replication")
    finally:
        await primary.close()
    print(f"replica lag seen by stats reads over {len(seen_ms)} writes: "
          f"p50 {percentile(seen_ms, 0.5):.1f} ms  p99 {percentile(seen_ms, 0.99):.1f} ms  "
          f"max {max(seen_ms):.1f} ms (includes one stale-while-revalidate read)")
    print(f"pg_stat_replication.replay_lag: {[str(r['replay_lag']) for r in lag]}")


def bus_counts(cluster: Cluster) -> dict[str, int]:
    totals: dict[str, int] = {}
    for port in cluster.redis_ports:
        for line in redis_cli(port, "cluster", "info").splitlines():
            key, _, value = line.partition(":")
            if key.startswith("cluster_stats_messages_publish") and value.strip().isdigit():
                totals[key] = totals.get(key, 0) + int(value)
    return totals


async def pubsub_throughput(cluster: Cluster, channels: int, per_channel: int) -> None:
    names = [f"bench:ch:{i}" for i in range(channels)]
    total = channels * per_channel
    payload = json.dumps({"confirmed": 1, "waitlisted": 0, "version": 1})
    results: dict[str, float] = {}

    async def pump(publish: Any) -> float:
        started = time.perf_counter()
        for _ in range(per_channel):
            for offset in range(0, channels, 200):
                await asyncio.gather(*(publish(name, payload) for name in names[offset:offset + 200]))
        return time.perf_counter() - started

    # sharded: this project's broker, one subscription per channel on its slot's primary
    client = cluster_client(cluster.redis_url)
    broker = ClusterBroker(client)
    await broker.start()
    subs = [await broker.subscribe(name, maxsize=per_channel + 1) for name in names]
    before = bus_counts(cluster)
    received = 0
    started = time.perf_counter()
    await pump(lambda ch, data: client.spublish(ch, data))
    while received < total and time.perf_counter() - started < 60:
        received = sum(len(s._items) for s in subs)  # queued, unread: each one delivered
        await asyncio.sleep(0.01)
    results["sharded"] = time.perf_counter() - started
    after = bus_counts(cluster)
    sharded_bus = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    sharded_received = received
    await broker.close()
    await client.aclose()

    # classic: SUBSCRIBE on one node; PUBLISH from any node is broadcast to every node
    client = cluster_client(cluster.redis_url)
    await client.initialize()
    node = cluster.redis_primary_ports()[0]
    subscriber = Redis(host="127.0.0.1", port=node)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(*names)
    while (await pubsub.get_message(timeout=0.5)) is not None:
        pass  # subscribe confirmations
    counted = 0

    async def count() -> None:
        nonlocal counted
        while counted < total:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "message":
                json.loads(message["data"])  # the same decoding work the broker does
                counted += 1

    counter = asyncio.create_task(count())
    before = bus_counts(cluster)
    started = time.perf_counter()
    await pump(lambda ch, data: client.publish(ch, data))
    try:
        await asyncio.wait_for(counter, 60)
    except TimeoutError:
        pass
    results["classic"] = time.perf_counter() - started
    after = bus_counts(cluster)
    classic_bus = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    await pubsub.aclose()
    await subscriber.aclose()
    await client.aclose()

    print(f"pub/sub, {channels} channels x {per_channel} messages = {total}, 200 publishes in flight:")
    print(f"  sharded  {sharded_received / results['sharded']:8.0f} msg/s delivered "
          f"({sharded_received}/{total})  cluster-bus publish messages {sharded_bus}")
    print(f"  classic  {counted / results['classic']:8.0f} msg/s delivered ({counted}/{total})  "
          f"cluster-bus publish messages {classic_bus}")
    print(f"  ratio sharded/classic: {(sharded_received / results['sharded']) / (counted / results['classic']):.2f}")


async def main_async(args: argparse.Namespace, cluster: Cluster) -> None:
    people = await seed(cluster.database_url, args.sign_ups * 3)
    print(f"cluster up: {cluster.nodes} app nodes, Redis {cluster.redis_url}, "
          f"replica on {cluster.pg_replica_port}; {os.cpu_count()} cores")
    rows = []
    for nodes in range(1, cluster.nodes + 1):
        chunk = people[(nodes - 1) * args.sign_ups:nodes * args.sign_ups]
        rows.append((nodes, *await crowd_round(cluster, nodes, chunk, args.subscribers,
                                               args.concurrency)))
    base = rows[0][1]
    print(f"\n{args.sign_ups} sign-ups, {args.concurrency} in flight, {args.subscribers} subscribers:")
    print("nodes  sign-ups/s  x 1 node  fan-out p50  p99 ms  subscribers at DB value")
    for nodes, rate, p50, p99, matching in rows:
        print(f"{nodes:5d}  {rate:10.0f}  {rate / base:8.2f}  {p50:11.0f}  {p99:6.0f}  "
              f"{matching}/{args.subscribers}")
    print()
    await replica_lag(cluster, args.lag_samples)
    print()
    await pubsub_throughput(cluster, args.channels, args.messages)


def main() -> None:
    parser = argparse.ArgumentParser(description="scale-out figures on the local cluster")
    parser.add_argument("--sign-ups", type=int, default=600)
    parser.add_argument("--subscribers", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--lag-samples", type=int, default=30)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20, help="per channel")
    args = parser.parse_args()
    os.environ["JWT_SECRET"] = JWT_SECRET
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="tongxin-bench-cluster-")), nodes=3,
                      app_env={"STATS_CACHE_SECONDS": "0", "LOG_LEVEL": "warning"})
    with cluster:
        asyncio.run(main_async(args, cluster))


if __name__ == "__main__":
    main()
