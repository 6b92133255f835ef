"""Requests/s of a typical authenticated read through Tongxin vs. a plain Starlette + asyncpg
endpoint doing the same reads, measured in the same run on a scratch PostgreSQL database.

    .venv/bin/python bench/queries.py [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Any

import asyncpg
import jwt

from bench.common import (
    JWT_SECRET,
    ROOT,
    bench_env,
    free_port,
    measure,
    migrate,
    scratch_database,
    start,
    start_tongxin,
    summary,
)
from bench.httpclient import LeanClient

QUERY = "{ me { displayName teams(first: 10) { edges { node { name } } } } }"


async def seed(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        volunteer_id = await conn.fetchval(
            "INSERT INTO volunteer (phone, real_name, display_name, id_number, gender, birth_date, district,"
            " skills, status, is_platform_admin, volunteer_number, approved_hours, created_at, updated_at)"
            " VALUES ('13800000000', '压测', '压测', '11010519491231002X', 'FEMALE', '1949-12-31', '朝阳区',"
            " '', 'ACTIVE', false, 'TXBENCH', 0, now(), now()) RETURNING id")
        for index in range(10):
            team_id = await conn.fetchval(
                "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, created_at)"
                " VALUES ($1, 'COMMUNITY', '朝阳区', '/', $2, 0, now()) RETURNING id",
                f"队伍{index}", volunteer_id)
            await conn.execute(
                "INSERT INTO membership (team_id, volunteer_id, role, status, created_at)"
                " VALUES ($1, $2, 'MEMBER', 'APPROVED', now())", team_id, volunteer_id)
        return int(volunteer_id)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with scratch_database() as database_url:
        migrate(database_url)
        volunteer_id = asyncio.run(seed(database_url))
        token = jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"}
        tongxin = start_tongxin(database_url)
        port = free_port()
        plain = start([sys.executable, "-m", "uvicorn", "bench.plain_queries:app", "--port", str(port),
                       "--log-level", "warning"], bench_env(database_url), port, path="/me")
        try:
            def ten_teams(status: int, body: Any) -> None:
                assert status == 200 and len(body["data"]["me"]["teams"]["edges"]) == 10, body

            runs = {"tongxin": (tongxin.url, LeanClient(tongxin.url).request_bytes(
                        {"query": QUERY}, headers)),
                    "plain": (plain.url, LeanClient(plain.url).request_bytes({}, headers))}
            results = {}
            for name in ("warm-up tongxin", "warm-up plain", "tongxin", "plain"):
                url, request = runs[name.removeprefix("warm-up ")]
                seconds = 2 if name.startswith("warm") else args.seconds
                results[name] = asyncio.run(measure(url, [request], ten_teams, seconds=seconds,
                                                    concurrency=args.concurrency))
        finally:
            tongxin.stop()
            plain.stop()
    (tongxin_rps, tongxin_lat), (plain_rps, plain_lat) = results["tongxin"], results["plain"]
    print(f"query: {QUERY}")
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s each, 1 uvicorn worker each, PostgreSQL")
    print(f"tongxin (GraphQL): {tongxin_rps:8.1f} req/s  ({summary(tongxin_lat)})")
    print(f"plain starlette  : {plain_rps:8.1f} req/s  ({summary(plain_lat)})")
    print(f"ratio tongxin/plain: {tongxin_rps / plain_rps:.2f}")


if __name__ == "__main__":
    _ = ROOT
    main()
