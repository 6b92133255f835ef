"""Time-bank redemptions under a crowd: Tongxin (GraphQL, 2 workers, PostgreSQL) against a
plain Starlette + asyncpg endpoint running the same redeem SQL (bench/plain_redeem.py), in
the same run. Every volunteer holds points for one unit and redeems once from one hot item
whose stock is half the crowd, so both outcomes (redeemed, CONFLICT) are exercised and every
request contends on the same stock row.

    .venv/bin/python -m bench.timebank [--volunteers 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter

import asyncpg
import jwt

from bench.common import JWT_SECRET, bench_env, free_port, percentile, scratch_database, start, start_tongxin
from bench.httpclient import LeanClient

GRAPHQL = "mutation R($id: ID!) { redeem(itemId: $id) { points } }"
COST = 20


async def seed(database_url: str, volunteers: int) -> list[int]:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from tests.activity.clients import bulk_volunteers

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        people = await bulk_volunteers(volunteers, "bench-no-login", prefix="兑换")
        return [p.id for p in people]
    finally:
        await Tortoise.close_connections()


async def fresh_round(database_url: str, volunteer_ids: list[int], stock: int) -> int:
    """Everyone back to points for one unit; a new hot item. Returns its id."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM points_entry; DELETE FROM redemption; "
                           "DELETE FROM reward_item; DELETE FROM points_account")
        await conn.executemany(
            "INSERT INTO points_account (volunteer_id, balance, updated_at) VALUES ($1, $2, now())",
            [(v, COST) for v in volunteer_ids])
        await conn.executemany(
            "INSERT INTO points_entry (volunteer_id, delta, reason, kind, balance_after, "
            "created_at) VALUES ($1, $2, '压测发放', 'EARN', $2, now())",
            [(v, COST) for v in volunteer_ids])
        return int(await conn.fetchval(
            "INSERT INTO reward_item (title, description, kind, cost_points, stock, active, "
            "created_by_id, created_at, updated_at) VALUES ('爱心大米', '', 'REWARD', $1, $2, true, "
            "$3, now(), now()) RETURNING id", COST, stock, volunteer_ids[0]))
    finally:
        await conn.close()


async def verify(database_url: str, item_id: int) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        stock = await conn.fetchval("SELECT stock FROM reward_item WHERE id = $1", item_id)
        negative = await conn.fetchval("SELECT count(*) FROM points_account WHERE balance < 0")
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM points_account a WHERE a.balance <> (SELECT COALESCE(SUM(delta),"
            " 0) FROM points_entry e WHERE e.volunteer_id = a.volunteer_id)")
        sold = await conn.fetchval("SELECT count(*) FROM redemption WHERE item_id = $1", item_id)
    finally:
        await conn.close()
    ok = stock >= 0 and negative == 0 and mismatched == 0
    return (f"{'ok' if ok else 'BROKEN'}: {sold} sold, stock left {stock}, "
            f"{negative} negative balances, {mismatched} accounts off their ledger")


async def crowd(url: str, volunteer_ids: list[int], item_id: int, concurrency: int,
                plain: bool) -> tuple[float, Counter[str], list[float]]:
    from schema.relay import to_global_id

    tokens = [jwt.encode({"sub": str(v), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
              for v in volunteer_ids]
    variables = {"itemId": item_id} if plain else {"id": to_global_id("RewardItem", item_id)}
    client = LeanClient(url)
    requests = [client.request_bytes({"query": GRAPHQL, "variables": variables},
                                     {"Authorization": f"Bearer {token}"}) for token in tokens]
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    queue = list(range(len(volunteer_ids)))
    await client.open(concurrency)

    async def worker() -> None:
        while queue:
            index = queue.pop()
            started = time.perf_counter()
            _, body = await client.post(requests[index])
            latencies.append((time.perf_counter() - started) * 1000)
            outcomes[body["errors"][0]["extensions"]["code"] if body.get("errors")
                     else "REDEEMED"] += 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    return len(volunteer_ids) / elapsed, outcomes, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, tuple[float, Counter[str], list[float], str]] = {}
    with scratch_database() as database_url:
        volunteer_ids = asyncio.run(seed(database_url, args.volunteers))
        tongxin = start_tongxin(database_url, workers=args.workers, JOBS="0")
        port = free_port()
        plain = start([sys.executable, "-m", "uvicorn", "bench.plain_redeem:app", "--port",
                       str(port), "--workers", str(args.workers), "--log-level", "warning"],
                      bench_env(database_url), port, path="/redeem")
        try:
            for name, url, is_plain in (("tongxin", tongxin.url, False),
                                        ("plain", plain.url, True)):
                item = asyncio.run(fresh_round(database_url, volunteer_ids[:200], 100))
                asyncio.run(crowd(url, volunteer_ids[:200], item, args.concurrency, is_plain))
                item = asyncio.run(fresh_round(database_url, volunteer_ids, args.volunteers // 2))
                rate, outcomes, latencies = asyncio.run(
                    crowd(url, volunteer_ids, item, args.concurrency, is_plain))
                results[name] = (rate, outcomes, latencies,
                                 asyncio.run(verify(database_url, item)))
        finally:
            tongxin.stop()
            plain.stop()
    print(f"{args.volunteers} volunteers redeem once from one item with stock "
          f"{args.volunteers // 2}; concurrency {args.concurrency}, {args.workers} workers each")
    for name, (rate, outcomes, latencies, check) in results.items():
        print(f"{name:8s}: {rate:7.1f} redemptions/s  p50 {percentile(latencies, 0.5):6.1f} ms  "
              f"p99 {percentile(latencies, 0.99):6.1f} ms  {dict(outcomes)}  {check}")
    print(f"ratio tongxin/plain: {results['tongxin'][0] / results['plain'][0]:.2f}")


if __name__ == "__main__":
    main()
