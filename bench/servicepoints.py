"""`servicePoints(near:)` over 10,000 service points, on both backends, against a hand-written
Starlette endpoint running the same bounding-box query with the raw driver (same run).

    .venv/bin/python -m bench.servicepoints [--points 10000] [--seconds 8] [--concurrency 16]

Points are spread uniformly over a 45 km × 45 km city box; each request asks for a random
centre in the box with a 15-minute (1,200 m) walking circle, first 20, nearest first.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    bench_env,
    free_port,
    measure,
    migrate,
    percentile,
    scratch_database,
    start,
    start_tongxin,
)
from bench.httpclient import LeanClient

QUERY = ("query N($near: WalkingCircleInput!) { servicePoints(near: $near, first: 20) "
         "{ totalCount edges { node { name kind distanceMetres } } } }")
BOX = (39.75, 40.15, 116.15, 116.68)
KINDS = ["STATION", "SCHOOL", "HUB", "LIBRARY", "PARK", "COMMUNITY_CENTRE"]


async def seed(database_url: str, count: int) -> None:
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from db.config import tortoise_config
    from models.servicepoint import ServicePoint, ServicePointKind

    rng = random.Random(575)
    EXECUTOR_CACHE.clear()  # cached INSERTs are per connection name, not per dialect
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await ServicePoint.bulk_create([ServicePoint(
            name=f"服务阵地{i}", kind=ServicePointKind(KINDS[i % len(KINDS)]), district="朝阳区",
            latitude=rng.uniform(BOX[0], BOX[1]), longitude=rng.uniform(BOX[2], BOX[3]),
            opening_hours="9:00–17:00") for i in range(count)], batch_size=1000)
    finally:
        await Tortoise.close_connections()


def run(name: str, database_url: str, args: argparse.Namespace) -> dict[str, tuple[float, list[float]]]:
    migrate(database_url)
    asyncio.run(seed(database_url, args.points))
    tongxin = start_tongxin(database_url)
    port = free_port()
    plain = start([sys.executable, "-m", "uvicorn", "bench.plain_servicepoints:app", "--port",
                   str(port), "--log-level", "warning"], bench_env(database_url), port,
                  path="/near")
    rng = random.Random(15)
    centres = [{"lat": rng.uniform(BOX[0], BOX[1]), "lng": rng.uniform(BOX[2], BOX[3]),
                "minutes": 15} for _ in range(2000)]

    def answered(status: int, body: Any) -> None:
        assert status == 200 and "errors" not in body, body

    try:
        graphql = LeanClient(tongxin.url)
        baseline = LeanClient(plain.url)
        runs = {"plain": (plain.url, [baseline.request_bytes(c) for c in centres]),
                "tongxin": (tongxin.url, [graphql.request_bytes(
                    {"query": QUERY, "variables": {"near": c}}) for c in centres])}
        results = {}
        for label, (url, requests) in runs.items():
            asyncio.run(measure(url, requests, answered, seconds=1,
                                concurrency=args.concurrency))  # warm-up
            results[label] = asyncio.run(measure(url, requests, answered, seconds=args.seconds,
                                                 concurrency=args.concurrency))
        return results
    finally:
        tongxin.stop()
        plain.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = run("sqlite", f"sqlite://{Path(tmp) / 'bench.sqlite3'}", args)
    with scratch_database() as database_url:
        report["postgres"] = run("postgres", database_url, args)
    print(f"servicePoints(near: 15 min = 1,200 m), {args.points} points over a 45 km box, "
          f"concurrency {args.concurrency}, 1 worker")
    for backend, results in report.items():
        for label, (rate, latencies) in results.items():
            print(f"{backend:8s} {label:8s}: {rate:7.1f} req/s  p50 {percentile(latencies, 0.5):6.1f} ms"
                  f"  p99 {percentile(latencies, 0.99):6.1f} ms")
        ratio = results["tongxin"][0] / results["plain"][0]
        p99 = percentile(results["tongxin"][1], 0.99) / percentile(results["plain"][1], 0.99)
        print(f"{backend:8s} ratio tongxin/plain: throughput {ratio:.2f}, p99 {p99:.2f}x")


if __name__ == "__main__":
    main()
