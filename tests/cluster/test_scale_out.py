"""The whole scale-out set-up (scripts/cluster.py): 3 app nodes behind haproxy, a 3-shard
Redis Cluster with replicas, a PostgreSQL primary with a streaming replica."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from redis.crc import key_slot
from websockets.typing import Subprotocol

from scripts.cluster import Cluster, redis_cli
from subscriptions.channels import slots
from tests.activity.clients import SIGN_UP, SLOTS
from tests.cluster.conftest import METRICS_TOKEN

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
ANSWERED: list[float] = []  # when each sign-up got its answer (the longest gap is printed)
TITLES = "{ activities(first: 5) { edges { node { id title } } } }"
TITLE_BY_ID = "query T($id: ID!) { node(id: $id) { ... on Activity { title } } }"


def seed(cluster: Cluster, count: int, capacity: int, waitlist: int) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": cluster.database_url}
    env.pop("DATABASE_READ_URL", None)
    done = subprocess.run([sys.executable, "-m", "tests.cluster.seed", str(count), str(capacity),
                           str(waitlist)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def gql(client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any] | None = None,
              token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(url, json={"query": query, "variables": variables or {}},
                                 headers=headers)
    body: dict[str, Any] = response.json()
    return body


async def test_public_lists_read_the_replica_and_own_reads_the_primary(scale_out):
    # given an activity, and the replica paused (as if it lagged behind)
    data = await asyncio.to_thread(seed, scale_out, 0, 5, 0)
    replica = await asyncpg.connect(scale_out.read_url)
    primary = await asyncpg.connect(scale_out.database_url)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(100):  # the seed has reached the replica
                body = await gql(client, scale_out.lb_url, TITLES)
                if body["data"]["activities"]["edges"]:
                    break
                await asyncio.sleep(0.1)
            await replica.execute("SELECT pg_wal_replay_pause()")
            # when the title changes on the primary
            await primary.execute("UPDATE activity SET title = '新标题' WHERE id = $1", data["activity"])
            # then a public list (replica) still shows the old title on every node,
            for index in range(scale_out.nodes):
                listed = await gql(client, scale_out.node_url(index), TITLES)
                assert [e["node"]["title"] for e in listed["data"]["activities"]["edges"]] \
                    == ["社区助老活动"], listed
            # while a node lookup (primary) shows the new one
            direct = await gql(client, scale_out.lb_url, TITLE_BY_ID, {"id": data["gid"]})
            assert direct["data"]["node"]["title"] == "新标题"
            # when the replica catches up, the list follows
            await replica.execute("SELECT pg_wal_replay_resume()")
            for _ in range(100):
                listed = await gql(client, scale_out.lb_url, TITLES)
                if listed["data"]["activities"]["edges"][0]["node"]["title"] == "新标题":
                    break
                await asyncio.sleep(0.05)
            assert listed["data"]["activities"]["edges"][0]["node"]["title"] == "新标题"
    finally:
        with contextlib.suppress(Exception):
            await replica.execute("SELECT pg_wal_replay_resume()")
        await replica.close()
        await primary.close()


async def _replica_states(client: httpx.AsyncClient, cluster: Cluster) -> list[tuple[int, str]]:
    """Each node's /readyz answer: HTTP status and what it says about the replica."""
    states = []
    for index in range(cluster.nodes):
        response = await client.get(cluster.node_url(index).replace("/graphql", "/readyz"))
        states.append((response.status_code, response.json()["replica"]))
    return states


async def _replica_metrics(client: httpx.AsyncClient, cluster: Cluster) -> list[float | None]:
    """Each node's tongxin_replica_up from its /metrics (None: not reported yet)."""
    values: list[float | None] = []
    for index in range(cluster.nodes):
        response = await client.get(cluster.node_url(index).replace("/graphql", "/metrics"),
                                    headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        found = re.search(r'^tongxin_replica_up\{connection="replica"\} (\S+)$', response.text,
                          re.MULTILINE)
        values.append(float(found[1]) if found else None)
    return values


async def test_public_lists_survive_the_replica_going_down_and_use_it_again_once_back(scale_out):
    # given an activity every node lists from the replica
    data = await asyncio.to_thread(seed, scale_out, 0, 5, 0)
    title = {"id": data["gid"]}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(100):
            body = await gql(client, scale_out.lb_url, TITLES)
            if any(e["node"]["id"] == title["id"] for e in body["data"]["activities"]["edges"]):
                break
            await asyncio.sleep(0.1)
        assert await _replica_states(client, scale_out) == [(200, "ok")] * scale_out.nodes
        logs = [scale_out.base / f"app-{index}.log" for index in range(scale_out.nodes)]
        log_start = [path.stat().st_size for path in logs]
        try:
            # when the replica goes down (fast shutdown: the nodes' pooled connections are cut)
            await asyncio.to_thread(scale_out.stop_replica)
            stopped = time.monotonic()
            # then within 10 s, without a read having to fail first, every node's readiness
            # and its tongxin_replica_up metric say so (still ready: 200, the primary answers
            # its reads)
            while True:
                states = await _replica_states(client, scale_out)
                metrics = await _replica_metrics(client, scale_out)
                if all(state.startswith("unreachable") for _, state in states) and \
                        metrics == [0.0] * scale_out.nodes:
                    break
                assert time.monotonic() - stopped < 10, (states, metrics)
                await asyncio.sleep(0.2)
            went_down = time.monotonic() - stopped
            assert all(code == 200 for code, _ in states), states
            # and every node still answers public lists, from the primary
            for index in range(scale_out.nodes):
                listed = await gql(client, scale_out.node_url(index), TITLES)
                assert "errors" not in listed, listed
                assert title["id"] in [e["node"]["id"] for e in listed["data"]["activities"]["edges"]]
        finally:
            await asyncio.to_thread(scale_out.start_replica)
        restarted = time.monotonic()
        # when it is back: within 10 s every node reports it (readiness and metric) and reads
        # it again
        while (states := await _replica_states(client, scale_out)) != [(200, "ok")] * scale_out.nodes \
                or (metrics := await _replica_metrics(client, scale_out)) != [1.0] * scale_out.nodes:
            assert time.monotonic() - restarted < 10, states
            await asyncio.sleep(0.2)
        came_back = time.monotonic() - restarted
        for index in range(scale_out.nodes):
            listed = await gql(client, scale_out.node_url(index), TITLES)
            assert "errors" not in listed, listed
    # and each node logged each change once, one line, with no traceback
    for path, start in zip(logs, log_start, strict=True):
        with path.open("rb") as file:
            file.seek(start)
            log = file.read().decode(errors="replace")
        assert log.count("read replica unreachable") == 1, log[-3000:]
        assert log.count("read replica answering again") == 1, log[-3000:]
        assert "Failed to restore the pool connection floor" not in log
        assert "Traceback" not in log, log[-3000:]
    print(f"\nreplica stopped: every node's /readyz and tongxin_replica_up said so after {went_down:.1f} s; restarted: "
          f"ok again after {came_back:.1f} s")


@dataclass
class Watcher:
    """slotCount over WebSocket; when its node dies it reconnects through the load balancer
    and records the first message it gets there (the current state, read from the database)."""

    url: str
    fallback: str
    gid: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    first_after_reconnect: list[dict[str, Any]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        url = self.url
        while True:
            try:
                async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                                              open_timeout=10, max_queue=None) as socket:
                    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                    await socket.recv()
                    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                        "query": SLOTS, "variables": {"id": self.gid}}}))
                    first = True
                    async for raw in socket:
                        message = json.loads(raw)
                        if message["type"] == "ping":
                            await socket.send(json.dumps({"type": "pong"}))
                        if message["type"] != "next":
                            continue
                        state = message["payload"]["data"]["slotCount"]
                        if first and self.reconnects:
                            self.first_after_reconnect.append(state)
                        first = False
                        self.seen.append(state)
                        self.ready.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            self.reconnects += 1
            url = self.fallback
            await asyncio.sleep(0.2)

    @property
    def last(self) -> tuple[int, int] | None:
        return (self.seen[-1]["confirmed"], self.seen[-1]["waitlisted"]) if self.seen else None


async def _sign_up(client: httpx.AsyncClient, url: str, token: str, gid: str,
                   done: list[str]) -> str:
    """Through the load balancer; a request lost with its node is sent again (a retry of a
    committed sign-up answers CONFLICT: already signed up, never a second place)."""
    for _ in range(10):
        try:
            response = await client.post(url, json={"query": SIGN_UP, "variables": {"id": gid}},
                                         headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                raise httpx.HTTPError(f"{response.status_code}")
            body = response.json()
        except (httpx.HTTPError, ValueError):
            await asyncio.sleep(0.2)
            continue
        status = body["errors"][0]["extensions"]["code"] if body.get("errors") \
            else body["data"]["signUp"]["status"]
        done.append(status)
        ANSWERED.append(time.perf_counter())
        return str(status)
    done.append("LOST")
    return "LOST"


async def test_flash_crowd_survives_a_dead_app_node_and_a_redis_failover(scale_out):
    # given capacity 50 (+100 waitlist), 300 volunteers, two watchers on every node
    cluster = scale_out
    data = await asyncio.to_thread(seed, cluster, 300, 50, 100)
    gid, tokens = data["gid"], data["tokens"]
    ws = [cluster.node_url(i).replace("http", "ws") for i in range(cluster.nodes)]
    lb_ws = cluster.lb_url.replace("http", "ws")
    watchers = [Watcher(ws[i % cluster.nodes], lb_ws, gid) for i in range(2 * cluster.nodes)]
    for watcher in watchers:
        watcher.task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 30)
    channel_slot = int(key_slot(slots(data["activity"]).encode()))
    owner = next(p for p in cluster.redis_primary_ports() if _owns(p, channel_slot))
    killed_port = cluster.app[1].port
    done: list[str] = []
    try:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            crowd = asyncio.gather(*(_sign_up(client, cluster.lb_url, t, gid, done) for t in tokens))
            # when: mid-run, app node 1 dies (SIGKILL) and the channel's Redis primary fails over
            while len(done) < 30:  # noqa: ASYNC110 - progress of the crowd, polled
                await asyncio.sleep(0.01)
            marks: dict[str, int] = {"failover_started": len(done)}

            def fail_over() -> int:
                port = cluster.failover(owner)
                marks["failover_done"] = len(done)
                return port

            failover = asyncio.create_task(asyncio.to_thread(fail_over))
            while len(done) < 60:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            cluster.kill_app(1)
            killed_at = len(done)
            new_owner = await failover
            outcomes = await crowd
        # then: nobody lost, nobody overbooked
        counts = {status: outcomes.count(status) for status in set(outcomes)}
        assert "LOST" not in counts and "INTERNAL" not in counts, counts
        primary = await asyncpg.connect(cluster.database_url)
        try:
            row = await primary.fetchrow(
                "SELECT taken_count, waitlist_count FROM activity WHERE id = $1", data["activity"])
            by_status = dict(await primary.fetch(
                "SELECT status, COUNT(*) FROM sign_up WHERE activity_id = $1 GROUP BY status",
                data["activity"]))
            volunteers = await primary.fetchval(
                "SELECT COUNT(DISTINCT volunteer_id) = COUNT(*) FROM sign_up WHERE activity_id = $1",
                data["activity"])
        finally:
            await primary.close()
        assert (row["taken_count"], row["waitlist_count"]) == (50, 100)
        assert by_status == {"CONFIRMED": 50, "WAITLISTED": 100}, by_status
        assert volunteers  # one row per volunteer: retries did not double-book
        assert counts.get("CONFIRMED", 0) <= 50 and counts.get("WAITLISTED", 0) <= 100
        assert new_owner != owner
        assert marks["failover_done"] < len(tokens), "the failover was not mid-run"
        # every watcher ends at the database's value, those of the dead node via another node
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(w.last != (50, 100) for w in watchers):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert [w.last for w in watchers] == [(50, 100)] * len(watchers)
        assert all(c["confirmed"] <= 50 for w in watchers for c in w.seen)
        orphans = [w for w in watchers if w.url == ws[1]]
        assert all(w.reconnects >= 1 and w.first_after_reconnect for w in orphans)
        gap = max(b - a for a, b in itertools.pairwise(ANSWERED))
        print(f"\nlongest pause between two sign-up answers {gap:.2f}s")
        print(f"300 sign-ups on {cluster.nodes} nodes; node 1 killed after {killed_at} answers, "
              f"shard {owner} -> {new_owner} failed over between answers {marks['failover_started']} and "
              f"{marks['failover_done']}: {counts}; "
              f"watcher messages {[len(w.seen) for w in watchers]}")
    finally:
        for watcher in watchers:
            if watcher.task is not None:
                watcher.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher.task
        if not cluster.app[1].alive:
            await asyncio.to_thread(cluster.start_app, 1, killed_port)


def _owns(port: int, slot: int) -> bool:
    for line in redis_cli(port, "cluster", "nodes").splitlines():
        if "myself" in line:
            for part in line.split()[8:]:
                low, _, high = part.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return True
    return False
