"""Live slot counts under a flash crowd: N WebSocket subscribers on one activity, spread over
the server's workers (kernel accept balancing), while volunteers race to sign up.

    .venv/bin/python -m bench.slots [--subscribers 2000] [--sign-ups 600] [--workers 2]
                                    [--client-cpu 1]

The subscribers run in their own process (bench/wsclient.py, a raw asyncio WebSocket client
that only timestamps frames during the run), pinned to one core with --client-cpu, so their
CPU does not hide inside the server's figures. Also prints the server's resident memory
per idle subscriber (all worker processes, before vs. after the subscribers connected).

Prints, per (subscriber, committed sign-up): the delay from the sign-up's commit to the first
message that includes it (p50/p99/max); beside it the server's own figure, commit to frame
written (tongxin_live_delivery_seconds read from /metrics, p50/p99 interpolated in its buckets
as Prometheus' histogram_quantile does); messages per subscriber; and whether every
subscriber's final value equals the database. A sign-up's commit time is taken as the moment
its HTTP response arrived (k-th response ↔ k-th increment of confirmed+waitlisted), which is
after the commit, so delays are if anything understated by one response's transit.

BENCH_DUMP=path writes the raw commit times and every subscriber's receipts there as JSON,
for decomposing a tail (which sign-ups, which rounds) after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    ROOT,
    Process,
    connect,
    cpu_seconds,
    percentile,
    scratch_database,
    start_tongxin,
)
from bench.httpclient import LeanClient
from bench.signup import seed

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"


async def make_activity(database_url: str, crowd: int, day: int = 1) -> int:
    conn = await connect(database_url)
    try:
        admin = await conn.fetchval("SELECT min(id) FROM volunteer")
        team = await conn.fetchval(
            "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, "
            "created_at) VALUES ('压测队', 'COMMUNITY', '朝阳区', '/', $1, 0, now()) RETURNING id",
            admin)
        starts = datetime.now(UTC) + timedelta(days=day)  # another day: no overlap refusals
        return int(await conn.fetchval(
            "INSERT INTO activity (team_id, created_by_id, title, description, category, "
            "district, starts_at, ends_at, sign_up_deadline, capacity, taken_count, "
            "waitlist_count, waitlist_limit, waitlist_seq, version, hours_credit, skills, "
            "status, created_at, updated_at, published_at) VALUES ($1, $2, '抢名额', '', '助老', '朝阳区', $3, "
            "$4, $3, $5, 0, 0, $6, 0, 0, 2, '', 'PUBLISHED', now(), now(), now()) RETURNING id",
            team, admin, starts, starts + timedelta(hours=2), crowd // 2, crowd // 4))
    finally:
        await conn.close()


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (uvicorn workers), in KiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return total


class Clients:
    """The subscriber process (bench/wsclient.py), optionally pinned to one core."""

    def __init__(self, ws_url: str, gid: str, count: int, cpu: str | None) -> None:
        self.out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        command = [sys.executable, "-m", "bench.wsclient", "--url", ws_url, "--activity", gid,
                   "--count", str(count), "--out", self.out]
        if cpu is not None:
            command = ["taskset", "-c", cpu, *command]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=ROOT)

    def expect(self, word: str) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(word):
            raise RuntimeError(f"subscriber process said {line!r}, expected {word}")
        return line

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def results(self, final: tuple[int, int]) -> list[dict[str, Any]]:
        self.say(f"final {final[0]} {final[1]}")
        self.expect("done")
        with open(self.out) as source:
            results: list[dict[str, Any]] = json.load(source)
        os.unlink(self.out)
        self.process.wait(timeout=30)
        return results


async def sign_ups(url: str, gid: str, volunteer_ids: list[int], concurrency: int) -> tuple[list[float], float]:
    client = LeanClient(url)
    requests = [client.request_bytes(
        {"query": SIGN_UP, "variables": {"id": gid}},
        {"Authorization": "Bearer " + jwt.encode({"sub": str(v), "exp": 2_000_000_000},
                                                 JWT_SECRET, algorithm="HS256")})
        for v in volunteer_ids]
    committed: list[float] = []
    queue = list(range(len(requests)))
    await client.open(concurrency)

    async def worker() -> None:
        while queue:
            _, body = await client.post(requests[queue.pop()])
            if not body.get("errors"):
                committed.append(time.perf_counter())

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    return committed, time.perf_counter() - started


async def final_counts(database_url: str, activity_id: int) -> tuple[int, int]:
    conn = await connect(database_url)
    try:
        row = await conn.fetchrow("SELECT taken_count, waitlist_count FROM activity "
                                  "WHERE id = $1", activity_id)
    finally:
        await conn.close()
    return row["taken_count"], row["waitlist_count"]


METRICS_TOKEN = "bench-metrics-token"


def delivery_buckets(url: str, field: str = "slotCount") -> dict[float, float]:
    """The server's tongxin_live_delivery_seconds buckets for `field` (cumulative counts by
    upper bound), summed over its workers: read from /metrics."""
    import re

    import httpx

    text = httpx.get(url.replace("/graphql", "/metrics"), timeout=10,
                     headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        match = re.match(r'^tongxin_live_delivery_seconds_bucket\{(.*)\} (\S+)$', line)
        if match and f'field="{field}"' in match[1]:
            bound = re.search(r'le="([^"]+)"', match[1])
            assert bound is not None
            le = float(bound[1])
            buckets[le] = buckets.get(le, 0.0) + float(match[2])
    return buckets


def bucket_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' histogram_quantile: linear within the bucket holding the q-th sample."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total == 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(buckets[bound] - below, 1e-9)
        lower, below = bound, buckets[bound]
    return lower


def run(server: Process, database_url: str, activity_id: int, volunteer_ids: list[int],
        subscribers: int, concurrency: int, client_cpu: str | None) -> tuple[float, float]:
    from schema.relay import to_global_id

    gid = to_global_id("Activity", activity_id)
    before = rss_kib(server.process.pid)
    clients = Clients(server.url.replace("http://", "ws://"), gid, subscribers, client_cpu)
    primed = clients.expect("ready").split()[1]
    time.sleep(2)  # let connection set-up garbage settle before measuring idle memory
    idle = rss_kib(server.process.pid)
    print(f"{subscribers} subscribers connected and primed in {primed}s "
          f"(client process{' pinned to CPU ' + client_cpu if client_cpu else ''})")
    print(f"server memory: {before / 1024:.0f} MiB before, {idle / 1024:.0f} MiB with the idle "
          f"subscribers: {(idle - before) / subscribers:.1f} KiB per idle subscriber")
    clients.say("clear")
    clients.expect("cleared")
    trees = {"server": server.process.pid, "subscribers": clients.process.pid}
    measured_before = delivery_buckets(server.url)
    cpu_before, wall_before = cpu_seconds(trees), time.monotonic()
    committed, crowd_seconds = asyncio.run(sign_ups(server.url, gid, volunteer_ids, concurrency))
    final = asyncio.run(final_counts(database_url, activity_id))
    cpu_after, cpu_wall = cpu_seconds(trees), time.monotonic() - wall_before
    results = clients.results(final)
    measured = {le: count - measured_before.get(le, 0.0)
                for le, count in delivery_buckets(server.url).items()}

    committed.sort()
    if os.environ.get("BENCH_DUMP"):
        with open(os.environ["BENCH_DUMP"], "w") as dump:
            json.dump({"committed": committed, "results": results}, dump)
    delays: list[float] = []
    for result in results:
        received = result["seen"]
        index = 0
        for k, commit_time in enumerate(committed, start=1):
            while index < len(received) and received[index][1] < k:
                index += 1
            if index == len(received):
                break
            delays.append(max(0.0, received[index][0] - commit_time) * 1000)
    counts = [len(result["seen"]) for result in results]
    matching = sum(1 for result in results if tuple(result["last"] or ()) == final)
    print(f"{len(committed)} sign-ups committed in {crowd_seconds:.1f}s "
          f"({len(committed) / crowd_seconds:.0f}/s); database final confirmed={final[0]} "
          f"waitlisted={final[1]}")
    print(f"commit → subscriber delay over {len(delays)} (subscriber, sign-up) pairs: "
          f"p50 {percentile(delays, 0.5):.0f} ms  p99 {percentile(delays, 0.99):.0f} ms  "
          f"max {max(delays) if delays else float('nan'):.0f} ms")
    print(f"server's commit → frame written (tongxin_live_delivery_seconds from /metrics, one "
          f"sample per payload per worker, {measured.get(float('inf'), 0):.0f} samples): "
          f"p50 {bucket_quantile(0.5, measured) * 1000:.0f} ms  "
          f"p99 {bucket_quantile(0.99, measured) * 1000:.0f} ms")
    print(f"messages per subscriber: mean {statistics.fmean(counts):.1f}  min {min(counts)}  "
          f"max {max(counts)} (for {len(committed)} changes)")
    print(f"final value equals the database for {matching}/{subscribers} subscribers")
    print("CPU while the sign-ups ran (cores busy; 'client' is the sign-up driver): " + "  ".join(
        f"{name} {(cpu_after[name] - cpu_before[name]) / cpu_wall:.2f}" for name in cpu_after))
    return percentile(delays, 0.5), percentile(delays, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--sign-ups", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", action="store_true",
                        help="also run the per-subscriber path (SHARED_SUBSCRIPTIONS=0) in the "
                        "same run, on a fresh activity, and print the ratios")
    parser.add_argument("--client-cpu", default=None,
                        help="pin the subscriber process to this CPU (taskset -c), e.g. 1")
    args = parser.parse_args()
    modes = [("shared (execute once per event)", "1")]
    if args.baseline:
        modes.append(("per-subscriber (SHARED_SUBSCRIPTIONS=0)", "0"))
    figures: dict[str, tuple[float, float]] = {}
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.sign_ups))
        for day, (name, shared) in enumerate(modes, start=1):
            activity_id = asyncio.run(make_activity(database_url, args.sign_ups, day))
            server = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL,
                                   SHARED_SUBSCRIPTIONS=shared, METRICS_TOKEN=METRICS_TOKEN)
            try:
                print(f"--- {name}: {args.workers} workers, PostgreSQL + Redis; one activity, "
                      f"capacity {args.sign_ups // 2}, waitlist {args.sign_ups // 4}")
                figures[name] = run(server, database_url, activity_id, volunteer_ids,
                                    args.subscribers, args.concurrency, args.client_cpu)
            finally:
                server.stop()
    if len(figures) == 2:
        (p50, p99), (base50, base99) = figures.values()
        print(f"ratio shared/per-subscriber delay: p50 {p50 / base50:.2f}  p99 {p99 / base99:.2f}")


if __name__ == "__main__":
    main()
