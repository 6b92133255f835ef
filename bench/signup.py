"""Flash-crowd sign-ups: Tongxin (GraphQL, 2 workers, PostgreSQL + Redis) against the leanest
hand-written endpoint for the same job (bench/plain_signup.py: Starlette + asyncpg, one round
trip into a PL/pgSQL function written independently of Tongxin's SQL), same run.

    .venv/bin/python -m bench.signup [--volunteers 3000] [--activities 4] [--concurrency 64]

Each volunteer signs up once (volunteer i → activity i mod A); capacity is a third of each
activity's crowd and the waitlist another third, so every outcome (CONFIRMED, WAITLISTED,
CONFLICT) is exercised. Then the one-row limit: the same crowd on a single activity.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import jwt

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    bench_env,
    connect,
    cpu_seconds,
    cpu_split,
    free_port,
    percentile,
    scratch_database,
    sign_up_outcome,
    start,
    start_tongxin,
)
from bench.httpclient import LeanClient

GRAPHQL = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"


async def seed(database_url: str, volunteers: int) -> list[int]:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from tests.activity.clients import bulk_volunteers

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        people = await bulk_volunteers(volunteers, "bench-no-login", prefix="压测")
        return [p.id for p in people]
    finally:
        await Tortoise.close_connections()


async def make_activities(database_url: str, count: int, crowd: int) -> list[int]:
    """Fresh activities for one run; the crowd per activity decides capacity and waitlist."""
    conn = await connect(database_url)
    try:
        await conn.execute("DELETE FROM sign_up")
        await conn.execute("DELETE FROM activity")
        admin = await conn.fetchval("SELECT min(id) FROM volunteer")
        team = await conn.fetchval("SELECT id FROM team LIMIT 1") or await conn.fetchval(
            "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, "
            "created_at) VALUES ('压测队', 'COMMUNITY', '朝阳区', '/', $1, 0, now()) RETURNING id",
            admin)
        starts = datetime.now(UTC) + timedelta(days=1)
        ids = []
        for index in range(count):
            ids.append(await conn.fetchval(
                "INSERT INTO activity (team_id, created_by_id, title, description, category, "
                "district, starts_at, ends_at, sign_up_deadline, capacity, taken_count, "
                "waitlist_count, waitlist_limit, waitlist_seq, version, hours_credit, skills, "
                "status, created_at, updated_at, published_at) VALUES ($1, $2, $3, '', '助老', '朝阳区', $4, $5, "
                "$4, $6, 0, 0, $7, 0, 0, 2, '', 'PUBLISHED', now(), now(), now()) RETURNING id",
                team, admin, f"压测活动{index}", starts + timedelta(days=index),
                starts + timedelta(days=index, hours=2), max(1, crowd // 3), crowd // 3))
        return ids
    finally:
        await conn.close()


async def verify(database_url: str) -> str:
    """Zero overbooking: counters within limits and equal to the rows, for every activity."""
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT a.id, a.capacity, a.waitlist_limit, a.taken_count, a.waitlist_count, "
            "count(*) FILTER (WHERE s.status = 'CONFIRMED') AS c, "
            "count(*) FILTER (WHERE s.status = 'WAITLISTED') AS w "
            "FROM activity a LEFT JOIN sign_up s ON s.activity_id = a.id GROUP BY a.id")
    finally:
        await conn.close()
    problems = [dict(r) for r in rows if not (r["c"] == r["taken_count"] <= r["capacity"]
                                             and r["w"] == r["waitlist_count"]
                                             <= r["waitlist_limit"])]
    if problems:
        return f"OVERBOOKED OR MISCOUNTED: {problems}"
    return f"zero overbooking ({sum(r['c'] for r in rows)} confirmed in {len(rows)} activities)"


async def crowd(url: str, volunteer_ids: list[int], activity_ids: list[int], concurrency: int,
                plain: bool) -> tuple[float, Counter[str], list[float]]:
    from schema.relay import to_global_id

    client = LeanClient(url)
    requests = []
    for index, volunteer in enumerate(volunteer_ids):
        activity = activity_ids[index % len(activity_ids)]
        variables = {"activityId": activity} if plain else {
            "id": to_global_id("Activity", activity)}
        token = jwt.encode({"sub": str(volunteer), "exp": 2_000_000_000}, JWT_SECRET,
                           algorithm="HS256")
        requests.append(client.request_bytes({"query": GRAPHQL, "variables": variables},
                                             {"Authorization": f"Bearer {token}"}))
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    queue = list(range(len(volunteer_ids)))
    await client.open(concurrency)

    async def worker() -> None:
        while queue:
            index = queue.pop()
            started = time.perf_counter()
            try:
                _, body = await client.post(requests[index])
            except (OSError, RuntimeError) as exc:
                outcomes[f"transport {type(exc).__name__}"] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            outcomes[sign_up_outcome(body)] += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    elapsed = time.perf_counter() - started
    return len(volunteer_ids) / elapsed, outcomes, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=3000)
    parser.add_argument("--activities", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="Tongxin and the baseline alternate this many times; the ratio "
                        "printed is the median of the rounds' ratios")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, Counter[str], list[float], str, str]]] = {}
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.volunteers))
        warm = volunteer_ids[:200]
        crowd_ids = volunteer_ids[200:]
        tongxin = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL)
        port = free_port()
        plain = start([sys.executable, "-m", "uvicorn", "bench.plain_signup:app", "--port",
                       str(port), "--workers", str(args.workers), "--log-level", "warning"],
                      bench_env(database_url, REDIS_URL=REDIS_URL), port, path="/signup")
        try:
            plan = [("tongxin", tongxin.url, False, args.activities),
                    ("plain", plain.url, True, args.activities),
                    ("tongxin one-row", tongxin.url, False, 1),
                    ("plain one-row", plain.url, True, 1)]
            for _ in range(args.rounds):
                for name, url, is_plain, activities in plan:
                    per_activity = len(crowd_ids) // activities
                    ids = asyncio.run(make_activities(database_url, activities, 60))
                    asyncio.run(crowd(url, warm, ids, args.concurrency, is_plain))  # warm-up
                    ids = asyncio.run(make_activities(database_url, activities, per_activity))
                    roots = {"server": (plain if is_plain else tongxin).process.pid}
                    before = cpu_seconds(roots)
                    rate, outcomes, latencies = asyncio.run(
                        crowd(url, crowd_ids, ids, args.concurrency, is_plain))
                    split = cpu_split(before, cpu_seconds(roots), len(crowd_ids))
                    results.setdefault(name, []).append(
                        (rate, outcomes, latencies, asyncio.run(verify(database_url)), split))
        finally:
            tongxin.stop()
            plain.stop()
    print(f"{len(crowd_ids)} distinct volunteers, {args.activities} activities, concurrency "
          f"{args.concurrency}, {args.workers} workers each, PostgreSQL + Redis publish, "
          f"{args.rounds} alternating rounds")
    for name, runs in results.items():
        for rate, outcomes, latencies, check, split in runs:
            print(f"{name:16s}: {rate:7.1f} sign-ups/s  p50 {percentile(latencies, 0.5):6.1f} ms  "
                  f"p99 {percentile(latencies, 0.99):6.1f} ms  {dict(outcomes)}  {check}\n"
                  f"{'':18s}CPU ms per sign-up: {split}")
    for label, ours, theirs in (("", "tongxin", "plain"),
                                (" (one row)", "tongxin one-row", "plain one-row")):
        ratios = [a[0] / b[0] for a, b in zip(results[ours], results[theirs], strict=True)]
        print(f"ratio tongxin/plain{label:10s}: median {statistics.median(ratios):.2f}  "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
