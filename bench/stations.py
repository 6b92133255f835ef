"""Operating rate of 1,000 service stations over a year (target < 200 ms): one statement over
the weekly rules, the closures and the slot marks, never a row per slot.

Each station opens ten periods a week (Monday–Friday, morning and afternoon: ~520 slots a
year, 520,000 in all), the city closes on 11 public holidays, every station on one day of its
own, and ~93 % of the slots carry a mark (a check-in). The rate is asked through the rules
function the GraphQL field calls, per grouping, on PostgreSQL (and with --sqlite on a SQLite
file too); the figure is the median and p95 of --repeat runs after one warm-up.

    .venv/bin/python -m bench.stations [--stations 1000] [--repeat 20] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import date

from bench.common import connect, percentile, scratch_database

YEAR = (date(2025, 1, 1), date(2026, 1, 1))
# What the check-in path keeps beside the marks: the marks per station per week.
TALLY = ("INSERT INTO station_week (service_point_id, week, staffed) SELECT service_point_id, "
         "day_number - (day_number + 3) % 7, COUNT(*) FROM station_slot_mark "
         "GROUP BY service_point_id, day_number - (day_number + 3) % 7")
HOLIDAYS = ["2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-04-04", "2025-05-01",
            "2025-05-02", "2025-05-31", "2025-10-01", "2025-10-02", "2025-10-03"]


async def seed(database_url: str, stations: int) -> None:
    from tortoise import Tortoise, connections

    from models.servicepoint import ServicePoint, ServicePointKind
    from models.station import StationClosure, StationHours
    from resolvers.station import day_number
    from tests.helpers import make_team, make_volunteer

    await Tortoise.generate_schemas(safe=True)
    admin = await make_volunteer("压测管理员", platform_admin=True)
    teams = [await make_team(admin, f"第{i}街道志愿服务队") for i in range(20)]
    districts = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "顺义区"]
    await ServicePoint.bulk_create([ServicePoint(
        name=f"城市志愿服务站{i:04d}", kind=ServicePointKind.STATION,
        district=districts[i % len(districts)], latitude=39.7 + (i % 100) * 0.005,
        longitude=116.2 + (i // 100) * 0.02, team_id=teams[i % len(teams)].id)
        for i in range(stations)], batch_size=500)
    points = [int(row[0]) for row in await ServicePoint.all().values_list("id")]
    start = day_number(date(2024, 12, 1))
    await StationHours.bulk_create([
        StationHours(service_point_id=p, weekday=w, opens_minute=o, closes_minute=c,
                     valid_from_day=start)
        for p in points for w in range(5) for o, c in ((540, 720), (840, 1050))],
        batch_size=2000)
    await StationClosure.bulk_create(
        [StationClosure(day_number=day_number(date.fromisoformat(d)), reason="法定节假日",
                        created_by_id=admin.id) for d in HOLIDAYS]
        + [StationClosure(service_point_id=p, day_number=day_number(YEAR[0]) + 7 + p % 300,
                          reason="设备检修", created_by_id=admin.id) for p in points],
        batch_size=2000)
    first, stop = day_number(YEAR[0]), day_number(YEAR[1])
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":  # no command timeout for the bulk insert
        raw = await connect(database_url)
        try:
            await raw.execute(
            "INSERT INTO station_slot_mark (service_point_id, hours_id, day_number, created_at) "
            "SELECT h.service_point_id, h.id, d, now() FROM station_hours h, "
            f"generate_series({first}, {stop - 1}) d WHERE (d + 3) % 7 = h.weekday "
            f"AND (h.id * 7 + d * 13) % 100 < 93; {TALLY}; ANALYZE")
        finally:
            await raw.close()
    else:
        await conn.execute_script(
            f"WITH RECURSIVE days(d) AS (SELECT {first} UNION ALL SELECT d + 1 FROM days "
            f"WHERE d + 1 < {stop}) INSERT INTO station_slot_mark (service_point_id, hours_id, "
            "day_number, created_at) SELECT h.service_point_id, h.id, d, datetime('now') "
            "FROM station_hours h, days WHERE (d + 3) % 7 = h.weekday "
            f"AND (h.id * 7 + d * 13) % 100 < 93; {TALLY}; ANALYZE")


async def measure(database_url: str, stations: int, repeat: int) -> None:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from models.volunteer import Volunteer
    from resolvers import station
    from resolvers.auth import Viewer

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await seed(database_url, stations)
        viewer = Viewer(await Volunteer.get(is_platform_admin=True))
        marks = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT COUNT(*) AS n FROM station_slot_mark")
        print(f"{database_url.split(':', 1)[0]}: {stations} stations, "
              f"{int(marks[0]['n']):,} marked slots, {YEAR[0]}–{YEAR[1]}")
        for grouping in station.Grouping:
            times, rows = [], []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                rows = await station.operating_rates(viewer, *YEAR, grouping)
                times.append((time.perf_counter() - started) * 1000)
            times = times[1:]
            below = sum(1 for r in rows if r.rate < station.operating_target(None))
            total = sum(r.scheduled for r in rows), sum(r.staffed for r in rows)
            print(f"  {grouping.value:<8} {len(rows):>5} rows  median {percentile(times, 0.5):6.1f} ms"
                  f"  p95 {percentile(times, 0.95):6.1f} ms  scheduled {total[0]:,}"
                  f"  staffed {total[1]:,}  below 95 %: {below}")
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true", help="also on a SQLite file")
    args = parser.parse_args()
    with scratch_database("tongxin_stations") as database_url:
        asyncio.run(measure(database_url, args.stations, args.repeat))
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(measure(f"sqlite://{folder}/stations.db", args.stations, args.repeat))


if __name__ == "__main__":
    main()
