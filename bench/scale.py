"""Latencies on a generated population (run bench/gen.py first).

Prints: leaderboard top-20 (Redis, and SQL without Redis), `stats` (cold: the computation
alone and a GraphQL request with the cache off; then the cached read), `activities(near:, hasOpenSlots: true)`, and `import-volunteers` rows/s with the
process's peak-memory growth. Everything goes through the production schema in-process.

    .venv/bin/python bench/scale.py --database-url postgres://root@127.0.0.1:5432/tongxin_scale \\
        [--import-rows 200000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import base64
import csv
import gc
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TONGXIN_NAMESPACE", f"scale{uuid.uuid4().hex[:6]}")
os.environ.setdefault("JWT_SECRET", "bench-scale-" + uuid.uuid4().hex)
os.environ.setdefault("PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())

import asyncpg
import uvloop
from tortoise import Tortoise

from bench.common import REDIS_URL, percentile
from db.config import tortoise_config
from models.volunteer import Volunteer
from resolvers import services as service_registry
from resolvers import stats as stats_rules
from resolvers.auth import Viewer
from resolvers.importer import import_volunteers
from resolvers.leaderboard import Period, leaderboard
from resolvers.validation import id_check_char
from schema import schema
from schema.context import Context
from subscriptions.channels import NAMESPACE

BOARD = """query B($p: Period!, $d: String, $t: Boolean) {
  leaderboard(period: $p, district: $d, teams: $t, first: 20) { rank hours volunteer { displayName } team { name } } }"""
STATS = """query S($d: String) { stats(district: $d) { registered active pendingConsent teams
  activities approvedHours byDistrict { key count hours } byGender { key count }
  byAgeBand { key count } byTeamType { key count hours } hoursByMonth { key count hours } } }"""
NEAR = """query N($lat: Float!, $lon: Float!) {
  activities(near: {latitude: $lat, longitude: $lon, radiusKm: 3}, hasOpenSlots: true, first: 20) {
    edges { node { title remaining } } } }"""


async def run_query(query: str, variables: dict[str, Any], viewer: Viewer) -> Any:
    result = await schema.execute(query, variable_values=variables,
                                  context_value=Context(viewer=viewer))
    if result.errors:
        raise RuntimeError(result.errors)
    return result.data


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(label: str, times: list[float]) -> str:
    return (f"  {label:<46} p50 {percentile(times, 0.5):8.2f} ms   p99 "
            f"{percentile(times, 0.99):8.2f} ms   (n={len(times)})")


async def install_services(with_redis: bool) -> service_registry.Services:
    current = await service_registry.build(REDIS_URL if with_redis else None)
    service_registry.install(current)
    return current


async def bench_leaderboards(viewer: Viewer, repeat: int) -> None:
    print("leaderboard top-20")
    current = await install_services(True)
    try:
        for period in Period:
            started = time.perf_counter()
            await run_query(BOARD, {"p": period.value}, viewer)
            print(f"  {period.value:<9} first read (rebuild from SQL into Redis): "
                  f"{(time.perf_counter() - started) * 1000:8.1f} ms")
        for period, district, teams in ((Period.WEEK, None, False), (Period.ALL_TIME, None, False),
                                        (Period.MONTH, "朝阳区", False), (Period.YEAR, None, True)):
            variables = {"p": period.value, "d": district, "t": teams}
            await run_query(BOARD, variables, viewer)
            times = await timed(lambda v=variables: run_query(BOARD, v, viewer), repeat)  # type: ignore[misc]
            print(line(f"Redis {period.value} {district or 'all'} {'teams' if teams else 'people'}",
                       times))
        times = await timed(lambda: leaderboard(Period.ALL_TIME, None, False, 20), repeat)
        print(line("Redis ALL_TIME, resolver only (no GraphQL layer)", times))
    finally:
        assert current.redis is not None
        keys = [k async for k in current.redis.scan_iter(match=f"{NAMESPACE}:*")]
        if keys:
            await current.redis.delete(*keys)
        await service_registry.shutdown(current)
    current = await install_services(False)
    try:
        for period in (Period.WEEK, Period.ALL_TIME):
            variables = {"p": period.value}
            times = await timed(lambda v=variables: run_query(BOARD, v, viewer),  # type: ignore[misc]
                                max(3, repeat // 20))
            print(line(f"SQL fallback (no Redis) {period.value}", times))
    finally:
        await service_registry.shutdown(current)


async def bench_stats(viewer: Viewer, repeat: int) -> None:
    print("stats")
    months = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT COUNT(*) AS n FROM stats_hours_month")
    if not months[0]["n"]:
        print("  the hours summary is empty: run `python server.py rebuild-stats` first")
    current = await install_services(True)
    cache_seconds = stats_rules.CACHE_SECONDS
    try:
        cold_repeat = max(5, repeat // 10)
        for district in (None, "朝阳区"):
            label = district or "all districts"
            times = await timed(lambda d=district: stats_rules.compute_stats(d), cold_repeat)  # type: ignore[misc]
            print(line(f"cold, resolver computation ({label})", times))
            stats_rules.CACHE_SECONDS = 0  # every request computes
            times = await timed(lambda d=district: run_query(STATS, {"d": d}, viewer), cold_repeat)  # type: ignore[misc]
            print(line(f"cold, GraphQL without cache ({label})", times))
            stats_rules.CACHE_SECONDS = cache_seconds
            await run_query(STATS, {"d": district}, viewer)
            times = await timed(lambda d=district: run_query(STATS, {"d": d}, viewer), repeat)  # type: ignore[misc]
            print(line(f"served (cached ≤ {cache_seconds:.0f} s, {label})", times))
    finally:
        stats_rules.CACHE_SECONDS = cache_seconds
        assert current.redis is not None
        keys = [k async for k in current.redis.scan_iter(match=f"{NAMESPACE}:*")]
        if keys:
            await current.redis.delete(*keys)
        await service_registry.shutdown(current)


async def bench_near(viewer: Viewer, repeat: int) -> None:
    print("activities(near: 3 km, hasOpenSlots: true, first: 20)")
    current = await install_services(False)
    rng = random.Random(3)
    try:
        points = [(39.92 + rng.gauss(0, 0.05), 116.44 + rng.gauss(0, 0.06)) for _ in range(repeat)]
        await run_query(NEAR, {"lat": points[0][0], "lon": points[0][1]}, viewer)
        found = len((await run_query(NEAR, {"lat": 39.9215, "lon": 116.4431}, viewer))[
            "activities"]["edges"])
        iterator = iter(points)

        async def one() -> None:
            lat, lon = next(iterator)
            await run_query(NEAR, {"lat": lat, "lon": lon}, viewer)

        print(line(f"around 朝阳区 ({found} on the page at its centre)", await timed(one, repeat)))
    except RuntimeError as error:
        print(f"  not measured: {error}")
    finally:
        await service_registry.shutdown(current)


def roster(path: Path, rows: int) -> None:
    """Unique people in region codes 1102xx, which the generator never uses."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "phone", "id number", "district", "team", "skills"])
        for index in range(rows):
            birth = date(1950 + index // 100_000 * 10 + index % 7, 1 + index % 12, 1 + index % 28)
            first17 = f"1102{index // 1000 % 100:02d}{birth:%Y%m%d}{index % 1000:03d}"
            writer.writerow([f"导入{index}", f"199{index:08d}", first17 + id_check_char(first17),
                             "朝阳区", "", "急救；驾驶" if index % 4 == 0 else ""])


async def remove_imported(database_url: str) -> None:
    """Imported rows have no dependants: skip the FK triggers that make a bulk DELETE crawl."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM volunteer WHERE real_name LIKE '导入%'")
    finally:
        await conn.close()


async def bench_import(rows: int, database_url: str) -> None:
    print(f"import-volunteers ({rows:,} CSV rows)")
    current = await install_services(False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "roster.csv"
            roster(path, rows)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            report = await import_volunteers(path, progress=False)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  {report.imported:,} imported, {report.failed:,} failed in {report.seconds:.1f} s: "
              f"{report.rows_per_second:,.0f} rows/s; peak memory grew {(after - before) / 1024:.1f} MB")
    finally:
        await service_registry.shutdown(current)
        await remove_imported(database_url)


async def main_async(args: argparse.Namespace) -> None:
    await Tortoise.init(config=tortoise_config(args.database_url))
    try:
        population = await Volunteer.all().count()
        print(f"population: {population:,} volunteers at {args.database_url.rsplit('/', 1)[1]}")
        someone = await Volunteer.filter(status="ACTIVE").first()
        assert someone is not None
        someone.is_platform_admin = True  # in memory only: a platform admin's view
        viewer = Viewer(someone)
        # As the server does a few seconds after start (core/gcfreeze.py): what is
        # alive now (schema, modules, pools) is frozen out of the collected generations.
        gc.collect()
        gc.freeze()
        if "leaderboard" in args.only:
            await bench_leaderboards(viewer, args.repeat)
        if "stats" in args.only:
            await bench_stats(viewer, args.repeat)
        if "near" in args.only:
            await bench_near(viewer, args.repeat)
        if "import" in args.only and args.import_rows:
            await bench_import(args.import_rows, args.database_url)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/tongxin_scale")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--import-rows", type=int, default=200_000)
    parser.add_argument("--only", nargs="*", default=["leaderboard", "stats", "near", "import"])
    args = parser.parse_args()
    # The event loop the server runs on (uvicorn's loop="auto" picks uvloop when installed).
    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
