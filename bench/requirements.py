"""Sign-up throughput with activity requirements on (qualification + minimum age check) against
the same crowd with them off, in one run, on one Tongxin server (2 workers, PostgreSQL + Redis).

    .venv/bin/python -m bench.requirements [--volunteers 2000] [--activities 4] [--rounds 3]

Every volunteer holds a valid 急救员 qualification and is over 18, so both variants take the
same path to the same conditional UPDATE; "on" adds exactly the requirement check. Rounds
alternate off/on (fresh activities each time) so drift hits both; the ratio is on/off of the
summed throughput (target ≥ 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.common import REDIS_URL, percentile, scratch_database, start_tongxin
from bench.signup import crowd, make_activities, seed, verify


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    totals: dict[str, list[float]] = {"off": [], "on": []}
    latencies: dict[str, list[float]] = {"off": [], "on": []}
    outcomes: dict[str, Counter[str]] = {"off": Counter(), "on": Counter()}
    checks: list[str] = []
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.volunteers))
        asyncio.run(qualify_everyone(database_url))
        warm, crowd_ids = volunteer_ids[:200], volunteer_ids[200:]
        tongxin = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL)
        time.sleep(3)  # every worker past its start-up on a loaded machine
        try:
            for variant in ("off", "on"):  # warm both paths once
                ids = asyncio.run(make_activities(database_url, args.activities, 60))
                if variant == "on":
                    asyncio.run(gate(database_url, ids))
                asyncio.run(crowd(tongxin.url, warm, ids, args.concurrency, False))
            for _ in range(args.rounds):
                for variant in ("off", "on"):
                    per_activity = len(crowd_ids) // args.activities
                    ids = asyncio.run(make_activities(database_url, args.activities,
                                                      per_activity))
                    if variant == "on":
                        asyncio.run(gate(database_url, ids))
                    rate, seen, times = asyncio.run(
                        crowd(tongxin.url, crowd_ids, ids, args.concurrency, False))
                    totals[variant].append(rate)
                    latencies[variant] += times
                    outcomes[variant] += seen
                    checks.append(asyncio.run(verify(database_url)))
        finally:
            tongxin.stop()
    print(f"{len(crowd_ids)} distinct volunteers, {args.activities} activities, concurrency "
          f"{args.concurrency}, {args.workers} workers, PostgreSQL + Redis, {args.rounds} "
          "alternating rounds")
    for variant in ("off", "on"):
        rates = totals[variant]
        print(f"requirements {variant:3s}: {sum(rates) / len(rates):7.1f} sign-ups/s "
              f"(rounds {', '.join(f'{r:.0f}' for r in rates)})  "
              f"p50 {percentile(latencies[variant], 0.5):6.1f} ms  "
              f"p99 {percentile(latencies[variant], 0.99):6.1f} ms  {dict(outcomes[variant])}")
    print("checks:", "; ".join(sorted(set(checks))))
    print(f"ratio on/off: {sum(totals['on']) / sum(totals['off']):.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
