"""Sign-up throughput with activity requirements on (qualification + minimum age check) against
the same crowd with them off, in one run, on one Tongxin server (2 workers, PostgreSQL + Redis).

    .venv/bin/python -m bench.requirements [--volunteers 2000] [--activities 4] [--rounds 3]

Every volunteer holds a valid 急救员 qualification and is over 18, so both variants take the
same path to the same conditional UPDATE; "on" adds exactly the requirement check. Both
variants run in the same crowd at the same moment (alternate volunteers go to ungated and
gated activities), because on this shared machine back-to-back rounds drifted by 2.6× for the
same variant; the ratio is mean latency off / on (target ≥ 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    percentile,
    scratch_database,
    sign_up_outcome,
    start_tongxin,
)
from bench.httpclient import LeanClient
from bench.signup import GRAPHQL, make_activities, seed, verify


async def qualify_everyone(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO qualification (volunteer_id, name, granted_at, expires_at) "
            "SELECT id, '急救员', $1, $2 FROM volunteer ON CONFLICT DO NOTHING",
            now, now + timedelta(days=365))
    finally:
        await conn.close()


async def gate(database_url: str, activity_ids: list[int]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE activity SET has_requirements = true, minimum_age = 18 "
                           "WHERE id = ANY($1)", activity_ids)
        await conn.executemany("INSERT INTO activity_qualification (activity_id, name) "
                               "VALUES ($1, '急救员')", [(i,) for i in activity_ids])
    finally:
        await conn.close()


async def mixed_crowd(url: str, volunteer_ids: list[int], off: list[int], on: list[int],
                      concurrency: int) -> dict[str, tuple[list[float], Counter[str]]]:
    """One crowd over both kinds of activity at once (volunteer i → alternately an ungated and
    a gated activity), so machine load and drift hit both variants alike."""
    from schema.relay import to_global_id

    tokens = [jwt.encode({"sub": str(v), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
              for v in volunteer_ids]
    plan = [("off" if i % 2 == 0 else "on",
             (off if i % 2 == 0 else on)[(i // 2) % len(off)]) for i in range(len(volunteer_ids))]
    results: dict[str, tuple[list[float], Counter[str]]] = {
        "off": ([], Counter()), "on": ([], Counter())}
    queue = list(range(len(volunteer_ids)))
    client = LeanClient(url)
    requests = [client.request_bytes(
        {"query": GRAPHQL, "variables": {"id": to_global_id("Activity", plan[index][1])}},
        {"Authorization": f"Bearer {tokens[index]}"}) for index in queue]
    await client.open(concurrency)

    async def worker() -> None:
        while queue:
            index = queue.pop()
            variant, _ = plan[index]
            latencies, outcomes = results[variant]
            started = time.perf_counter()
            try:
                _, body = await client.post(requests[index])
            except (OSError, ValueError) as exc:
                outcomes[f"failed {type(exc).__name__}"] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            outcomes[sign_up_outcome(body)] += 1

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=1600)
    parser.add_argument("--activities", type=int, default=4, help="of each kind")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    latencies: dict[str, list[float]] = {"off": [], "on": []}
    outcomes: dict[str, Counter[str]] = {"off": Counter(), "on": Counter()}
    means: dict[str, list[float]] = {"off": [], "on": []}
    checks: list[str] = []
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.volunteers))
        asyncio.run(qualify_everyone(database_url))
        warm, crowd_ids = volunteer_ids[:200], volunteer_ids[200:]
        tongxin = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL)
        time.sleep(3)  # every worker past its start-up on a loaded machine
        try:
            for round_index in range(args.rounds + 1):
                people = warm if round_index == 0 else crowd_ids
                per_activity = max(3, len(people) // (2 * args.activities))
                ids = asyncio.run(make_activities(database_url, 2 * args.activities,
                                                  per_activity))
                off, on = ids[:args.activities], ids[args.activities:]
                asyncio.run(gate(database_url, on))
                seen = asyncio.run(mixed_crowd(tongxin.url, people, off, on, args.concurrency))
                if round_index == 0:
                    continue  # warm-up
                checks.append(asyncio.run(verify(database_url)))
                for variant, (times, counted) in seen.items():
                    latencies[variant] += times
                    outcomes[variant] += counted
                    means[variant].append(statistics.fmean(times))
        finally:
            tongxin.stop()
    print(f"{len(crowd_ids)} distinct volunteers per round, half to {args.activities} ungated and "
          f"half to {args.activities} gated activities (急救员 + age 18) in the same crowd; "
          f"concurrency {args.concurrency}, {args.workers} workers, PostgreSQL + Redis, "
          f"{args.rounds} rounds")
    for variant in ("off", "on"):
        print(f"requirements {variant:3s}: mean {statistics.fmean(latencies[variant]):7.1f} ms "
              f"(rounds {', '.join(f'{m:.0f}' for m in means[variant])})  "
              f"p50 {percentile(latencies[variant], 0.5):6.1f} ms  "
              f"p99 {percentile(latencies[variant], 0.99):6.1f} ms  {dict(outcomes[variant])}")
    print("checks:", "; ".join(sorted(set(checks))))
    # Same crowd, same connections: per-request cost decides throughput, so the throughput
    # ratio on/off is the inverse ratio of mean latencies.
    ratio = statistics.fmean(latencies["off"]) / statistics.fmean(latencies["on"])
    print(f"throughput ratio on/off (mean latency off / on): {ratio:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
