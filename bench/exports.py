"""Streaming exports (issue 27 target: 1M hour rows with flat memory, < 100 MB peak, in rows/s).

A scratch PostgreSQL database is seeded in SQL (generate_series): one team, --rows / 1,000
activities × 1,000 volunteers, every sign-up with a service record. Then, for CSV and XLSX,
a fresh process streams `GET /teams/<id>/hours.<format>` through the real endpoint
(schema/exports_http.py, called as an ASGI app; the body is counted and dropped, as a socket
would) and reports rows/s, bytes, time to the first byte, and its resident memory before,
during (sampled every second: lowest–highest) and at peak (VmHWM, the whole process life).

    .venv/bin/python -m bench.exports [--rows 1000000] [--formats csv,xlsx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import JWT_SECRET, ROOT, bench_env, scratch_database

VOLUNTEERS = 1000
SAMPLE_SECONDS = 1.0


async def seed(database_url: str, rows: int) -> tuple[int, int]:
    """(team id, platform admin id)."""
    from tortoise import Tortoise

    from db.config import tortoise_config
    from tests.activity.clients import bulk_volunteers
    from tests.helpers import make_team, make_volunteer

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        admin = await make_volunteer("平台管理员", platform_admin=True)
        team = await make_team(admin, "导出压测队")
        people = [p.id for p in await bulk_volunteers(VOLUNTEERS, "bench-no-login", "导出")]
    finally:
        await Tortoise.close_connections()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO activity (team_id, created_by_id, title, description, category, district, "
            "starts_at, ends_at, sign_up_deadline, capacity, taken_count, waitlist_count, "
            "waitlist_limit, waitlist_seq, offered_count, version, hours_credit, skills, status, "
            "created_at, published_at, updated_at) "
            "SELECT $1, $2, '社区服务第' || n || '班', '', '助老', '朝阳区', "
            "now() + n * interval '1 second', now() + interval '3 hours', now(), $3, $3, 0, 0, "
            "0, 0, 0, 3, '', 'PUBLISHED', now(), now(), now() FROM generate_series(1, $4) n",
            team.id, admin.id, VOLUNTEERS, max(1, rows // VOLUNTEERS))
        await conn.execute(
            "INSERT INTO sign_up (activity_id, volunteer_id, status, created_at, updated_at) "
            "SELECT a.id, v, 'CONFIRMED', now(), now() FROM activity a "
            "CROSS JOIN unnest($1::int[]) v WHERE a.team_id = $2", people, team.id)
        await conn.execute(
            "INSERT INTO service_record (sign_up_id, activity_id, volunteer_id, hours_claimed, "
            "hours, status, approved_at, needs_review, created_at) "
            "SELECT s.id, s.activity_id, s.volunteer_id, 3, 2.5 + (s.id % 3) * 0.25, 'APPROVED', "
            "now(), false, now() FROM sign_up s")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return team.id, admin.id


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def stream_once(database_url: str, team_id: int, admin_id: int, chosen: str,
                      expected_rows: int) -> dict[str, object]:
    """In the child process: one export through the endpoint, body dropped."""
    from datetime import date, timedelta

    from starlette.applications import Starlette
    from tortoise import Tortoise, connections

    from db.config import tortoise_config
    from resolvers.auth import issue_token
    from schema.exports_http import ROUTES
    from schema.relay import to_global_id

    await Tortoise.init(config=tortoise_config(database_url))
    for attempt in range(60):  # the shared PostgreSQL may be at max_connections for a while
        try:
            await connections.get("default").execute_query("SELECT 1")
            break
        except Exception:
            if attempt == 59:
                raise
            await asyncio.sleep(1)
    app = Starlette(routes=ROUTES)
    today = date.today()
    path = f"/teams/{to_global_id('Team', team_id)}/hours.{chosen}"
    query = f"from={today - timedelta(days=1)}&to={today + timedelta(days=2)}"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "server": ("bench", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"authorization", f"Bearer {issue_token(admin_id)}".encode())]}
    before = rss_kb()
    samples: list[int] = []
    received = {"bytes": 0, "status": 0, "first": 0.0}
    started = time.perf_counter()

    async def sample() -> None:  # XLSX sends nothing until the end: sample on a clock
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            samples.append(rss_kb() // 1024)

    async def receive() -> MutableMapping[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            received["status"] = int(message["status"])
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            assert isinstance(body, bytes)
            if body and not received["first"]:
                received["first"] = time.perf_counter() - started
            received["bytes"] += len(body)

    sampler = asyncio.create_task(sample())
    await app(scope, receive, send)
    seconds = time.perf_counter() - started
    sampler.cancel()
    await Tortoise.close_connections()
    return {"format": chosen, "status": received["status"], "rows": expected_rows,
            "seconds": round(seconds, 2), "rows_per_second": round(expected_rows / seconds),
            "first_byte_seconds": round(float(received["first"]), 2),
            "megabytes": round(int(received["bytes"]) / 2**20, 1), "rss_before_mb": before // 1024,
            "rss_during_mb": [min(samples, default=0), max(samples, default=0)],
            "rss_samples": len(samples), "peak_rss_mb": rss_kb("VmHWM") // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--child", nargs=5, metavar=("URL", "TEAM", "ADMIN", "FORMAT", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, team, admin, chosen, rows = args.child
        print(json.dumps(asyncio.run(stream_once(url, int(team), int(admin), chosen, int(rows)))))
        return
    with scratch_database("tongxin_bench_exports") as url:
        started = time.perf_counter()
        team_id, admin_id = asyncio.run(seed(url, args.rows))
        rows = max(1, args.rows // VOLUNTEERS) * VOLUNTEERS
        print(f"seeded {rows:,} hour rows in {time.perf_counter() - started:.0f} s", flush=True)
        for chosen in args.formats.split(","):
            child = subprocess.run(
                [sys.executable, "-m", "bench.exports", "--child", url, str(team_id),
                 str(admin_id), chosen, str(rows)],
                cwd=ROOT, env=bench_env(url, JWT_SECRET=JWT_SECRET), capture_output=True,
                text=True)
            if child.returncode:
                print(f"{chosen}: failed\n{child.stderr[-2000:]}", flush=True)
                continue
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{chosen}: {result['rows']:,} rows in {result['seconds']} s = "
                  f"{result['rows_per_second']:,} rows/s, {result['megabytes']} MB, first byte "
                  f"after {result['first_byte_seconds']} s; RSS {result['rss_before_mb']} MB "
                  f"before, {result['rss_during_mb'][0]}–{result['rss_during_mb'][1]} MB during "
                  f"({result['rss_samples']} samples), peak {result['peak_rss_mb']} MB "
                  f"(HTTP {result['status']})", flush=True)


if __name__ == "__main__":
    main()
