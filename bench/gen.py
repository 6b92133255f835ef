"""Generate a realistic city-sized population into PostgreSQL with COPY.

Defaults (scale 1.0): 1,000,000 volunteers, 3,500 teams, 20,000 activities, 5,000,000 approved
or pending service records (each with its sign-up), one team membership per volunteer. Districts
are weighted like Beijing's 16; ages peak at students/young workers and at retirees; 5 % of
people are imported and not yet claimed, 1 % suspended. Use `--scale 0.1` for a tenth. Totals,
`last_approved_at` and the `stats` summaries are derived from the generated records at the end.

    .venv/bin/python bench/gen.py --database-url postgres://root@127.0.0.1:5432/tongxin_scale \\
        [--scale 1.0] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from tortoise import Tortoise

from core import pii
from db.config import tortoise_config
from resolvers.stats import rebuild_stats
from resolvers.validation import id_check_char

# (district, share of people, ID region code, centre latitude, centre longitude)
DISTRICTS: list[tuple[str, float, str, float, float]] = [
    ("朝阳区", 0.158, "110105", 39.9215, 116.4431), ("海淀区", 0.143, "110108", 39.9593, 116.2985),
    ("丰台区", 0.092, "110106", 39.8584, 116.2870), ("昌平区", 0.104, "110114", 40.2207, 116.2312),
    ("大兴区", 0.091, "110115", 39.7267, 116.3414), ("通州区", 0.085, "110112", 39.9097, 116.6568),
    ("顺义区", 0.060, "110113", 40.1301, 116.6546), ("房山区", 0.060, "110111", 39.7488, 116.1431),
    ("西城区", 0.050, "110102", 39.9122, 116.3661), ("东城区", 0.032, "110101", 39.9288, 116.4163),
    ("石景山区", 0.026, "110107", 39.9148, 116.2229), ("门头沟区", 0.018, "110109", 39.9404, 116.1020),
    ("怀柔区", 0.020, "110116", 40.3160, 116.6318), ("平谷区", 0.021, "110117", 40.1407, 117.1213),
    ("密云区", 0.024, "110118", 40.3765, 116.8431), ("延庆区", 0.016, "110119", 40.4651, 115.9749),
]
# Age (years) bands of volunteers and their weights: students, workers, retirees.
AGES: list[tuple[int, int, float]] = [(16, 17, 0.04), (18, 24, 0.22), (25, 34, 0.16),
                                      (35, 44, 0.13), (45, 54, 0.12), (55, 64, 0.17),
                                      (65, 80, 0.16)]
SKILLS = ["急救", "法律", "驾驶", "心理疏导", "翻译", "助老", "陪诊", "电工", "维修", "教育",
          "摄影", "医疗", "消防", "环保", "手语", "烹饪", "理发", "计算机", "英语", "护理"]
TEAM_TYPES = [("COMMUNITY", 0.40), ("PARTY_MEMBER", 0.12), ("CIVILIZATION_PRACTICE", 0.12),
              ("YOUTH", 0.12), ("WOMEN", 0.06), ("SELF_ORGANIZED", 0.08), ("PROFESSIONAL", 0.07),
              ("EMERGENCY", 0.03)]
CATEGORIES = ["助老", "环保", "文明交通", "社区治理", "扶贫", "教育", "医疗", "应急", "文化", "体育"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌宇浩欣怡子涵"
CHUNK = 100_000
NOW = datetime.now(timezone.utc)


def weighted(rng: random.Random, items: Sequence[Any], weights: Sequence[float], k: int) -> list[Any]:
    return rng.choices(items, weights=weights, k=k)


def person_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    district_picks = weighted(rng, DISTRICTS, [d[1] for d in DISTRICTS], count)
    band_picks = weighted(rng, AGES, [a[2] for a in AGES], count)
    sequences: dict[tuple[str, date], int] = {}
    today = NOW.date()
    for index in range(count):
        vid = index + 1
        district, _, region, _, _ = district_picks[index]
        low, high, _ = band_picks[index]
        birth = today - timedelta(days=rng.randint(low * 365 + 1, high * 365 + 364))
        number = sequences.get((region, birth), 0)
        sequences[(region, birth)] = number + 1
        male = rng.random() < 0.45
        order = number * 2 + (1 if male else 0)
        first17 = f"{region}{birth:%Y%m%d}{order % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        roll = rng.random()
        status = "PENDING_CONSENT" if roll < 0.05 else "SUSPENDED" if roll < 0.06 else "ACTIVE"
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        skills = rng.sample(SKILLS, rng.choice((0, 0, 1, 1, 2, 3)))
        created = NOW - timedelta(days=rng.randint(1, 2000))
        sealed = pii.identity_columns(f"1{3 + index % 7}{index:09d}", id_number)
        yield (vid, sealed["phone_cipher"], sealed["phone_index"], None, name, name,
               sealed["id_number_cipher"], sealed["id_number_index"],
               "MALE" if male else "FEMALE", birth, district,
               "," + ",".join(skills) + "," if skills else "", status, False,
               f"TX{vid:012d}", None if status == "PENDING_CONSENT" else created, 0.0, created,
               created)


PERSON_COLUMNS = ["id", "phone_cipher", "phone_index", "password_hash", "real_name",
                  "display_name", "id_number_cipher", "id_number_index",
                  "gender", "birth_date", "district", "skills", "status", "is_platform_admin",
                  "volunteer_number", "consented_at", "approved_hours", "created_at", "updated_at"]


async def copy(conn: asyncpg.Connection, table: str, columns: list[str],
               rows: Iterator[tuple[Any, ...]], extra: dict[str, Any]) -> int:
    """COPY in chunks (flat memory); `extra` fills NOT NULL columns other work added."""
    all_columns = columns + list(extra)
    tail = tuple(extra.values())
    total = 0
    while True:
        chunk = []
        for row in rows:
            chunk.append(row + tail)
            if len(chunk) >= CHUNK:
                break
        if not chunk:
            return total
        await conn.copy_records_to_table(table, records=chunk, columns=all_columns)
        total += len(chunk)


async def missing_required(conn: asyncpg.Connection, table: str, columns: list[str]) -> dict[str, Any]:
    """Defaults for NOT NULL columns without a database default that `columns` lacks."""
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 "
        "AND is_nullable = 'NO' AND column_default IS NULL", table)
    defaults = {"integer": 0, "bigint": 0, "smallint": 0, "boolean": False, "double precision": 0.0,
                "real": 0.0, "text": "", "character varying": "", "jsonb": "{}", "json": "{}",
                "timestamp with time zone": NOW, "date": NOW.date()}
    return {r["column_name"]: defaults.get(r["data_type"], "") for r in rows
            if r["column_name"] not in columns}


async def generate(database_url: str, scale: float, seed: int) -> None:
    rng = random.Random(seed)
    people = max(1000, int(1_000_000 * scale))
    team_count = max(50, int(3_500 * scale))
    activity_count = max(200, int(20_000 * scale))
    record_count = int(5_000_000 * scale)
    conn = await asyncpg.connect(database_url)
    started = time.perf_counter()

    async def step(label: str, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
                   ) -> None:
        began = time.perf_counter()
        total = await copy(conn, table, columns, rows,
                           await missing_required(conn, table, columns))
        seconds = time.perf_counter() - began
        print(f"  {label:<16} {total:>10,} rows in {seconds:6.1f} s ({total / seconds:,.0f}/s)",
              flush=True)

    try:
        print(f"generating scale {scale}: {people:,} volunteers, {team_count:,} teams, "
              f"{activity_count:,} activities, {record_count:,} service records", flush=True)
        await step("volunteers", "volunteer", PERSON_COLUMNS, person_rows(people, rng))
        by_district: dict[str, list[int]] = {d[0]: [] for d in DISTRICTS}
        for vid, district, status in await conn.fetch(
                "SELECT id, district, status FROM volunteer"):
            if status == "ACTIVE":
                by_district[district].append(vid)

        team_districts = weighted(rng, DISTRICTS, [d[1] for d in DISTRICTS], team_count)
        team_types = weighted(rng, [t[0] for t in TEAM_TYPES], [t[1] for t in TEAM_TYPES],
                              team_count)
        teams = [(i + 1, team_districts[i][0]) for i in range(team_count)]
        await step("teams", "team", [
            "id", "name", "type", "district", "parent_id", "path", "created_by_id",
            "approved_hours", "created_at"], (
            (tid, f"{district}{team_types[tid - 1]}志愿服务队{tid}", team_types[tid - 1], district,
             None, f"/{tid}/", rng.choice(by_district[district]), 0.0, NOW)
            for tid, district in teams))
        teams_in: dict[str, list[int]] = {}
        for tid, district in teams:
            teams_in.setdefault(district, []).append(tid)

        def memberships() -> Iterator[tuple[Any, ...]]:
            mid = 0
            for district, ids in by_district.items():
                options = teams_in.get(district) or [1]
                for vid in ids:
                    mid += 1
                    yield (mid, rng.choice(options), vid, "MEMBER", "APPROVED", None, None, NOW)

        await step("memberships", "membership", [
            "id", "team_id", "volunteer_id", "role", "status", "decided_by_id", "decided_at",
            "created_at"], memberships())

        activities: list[tuple[int, int, str, datetime, float]] = []
        centres = {d[0]: (d[3], d[4]) for d in DISTRICTS}
        for aid in range(1, activity_count + 1):
            tid, district = teams[rng.randrange(team_count)]
            starts = NOW - timedelta(days=rng.uniform(-60, 3 * 365))
            activities.append((aid, tid, district, starts, rng.choice((2.0, 3.0, 4.0, 4.0, 8.0))))

        def activity_rows() -> Iterator[tuple[Any, ...]]:
            for aid, tid, district, starts, hours in activities:
                lat, lon = centres[district]
                capacity = rng.choice((10, 20, 30, 50, 100, 200, 500))
                finished = starts < NOW
                yield (aid, tid, by_district[district][0], f"{rng.choice(CATEGORIES)}活动{aid}",
                       "活动说明", rng.choice(CATEGORIES), district, f"{district}某街道{aid}号",
                       lat + rng.gauss(0, 0.05), lon + rng.gauss(0, 0.06), starts,
                       starts + timedelta(hours=hours), starts,
                       capacity, 0 if finished else rng.randint(0, capacity), 0, capacity, 0, 0,
                       hours, "", "FINISHED" if finished else "PUBLISHED", NOW, NOW, NOW)

        await step("activities", "activity", [
            "id", "team_id", "created_by_id", "title", "description", "category", "district",
            "address", "latitude", "longitude", "starts_at", "ends_at", "sign_up_deadline",
            "capacity", "taken_count", "waitlist_count", "waitlist_limit", "waitlist_seq",
            "version", "hours_credit", "skills", "status", "created_at", "updated_at",
            "published_at"], activity_rows())

        past = [a for a in activities if a[3] < NOW]
        per_activity = max(1, record_count // max(1, len(past)))

        def sign_ups_and_records() -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
            sid = 0
            everyone = [v for ids in by_district.values() for v in ids]
            for aid, _, district, starts, hours in past:
                local = by_district[district]
                size = min(len(local), rng.randint(per_activity // 2, per_activity * 3 // 2))
                chosen = set(rng.sample(local, int(size * 0.85)))
                while len(chosen) < size:
                    chosen.add(rng.choice(everyone))
                for vid in chosen:
                    sid += 1
                    ends = starts + timedelta(hours=hours)
                    roll = rng.random()
                    status = "APPROVED" if roll < 0.9 else "PENDING" if roll < 0.95 else "REJECTED"
                    served = round(hours * rng.choice((1.0, 1.0, 1.0, 0.75, 0.5)), 2)
                    approved_at = ends + timedelta(hours=rng.uniform(2, 72))
                    yield ((sid, aid, vid, "CONFIRMED", None, starts, ends, starts, ends),
                           (sid, sid, aid, vid, served, served, status, None,
                            approved_at if status == "APPROVED" and approved_at < NOW else None,
                            ends))

        pairs = sign_ups_and_records()
        sign_up_columns = ["id", "activity_id", "volunteer_id", "status", "waitlist_seq",
                           "checked_in_at", "checked_out_at", "created_at", "updated_at"]
        record_columns = ["id", "sign_up_id", "activity_id", "volunteer_id", "hours_claimed",
                          "hours", "status", "approved_by_id", "approved_at", "created_at"]
        sign_up_extra = await missing_required(conn, "sign_up", sign_up_columns)
        record_extra = await missing_required(conn, "service_record", record_columns)
        began = time.perf_counter()
        total = 0
        while True:
            batch = [pair for _, pair in zip(range(CHUNK), pairs, strict=False)]
            if not batch:
                break
            await copy(conn, "sign_up", sign_up_columns, iter([p[0] for p in batch]), sign_up_extra)
            await copy(conn, "service_record", record_columns, iter([p[1] for p in batch]),
                       record_extra)
            total += len(batch)
        seconds = time.perf_counter() - began
        print(f"  {'records':<16} {total:>10,} sign-ups + service records in {seconds:6.1f} s "
              f"({total / seconds:,.0f}/s)", flush=True)

        began = time.perf_counter()
        await conn.execute("""
            UPDATE volunteer v SET approved_hours = s.h, last_approved_at = s.latest FROM (
              SELECT volunteer_id, SUM(hours) AS h, MAX(approved_at) AS latest
              FROM service_record WHERE status = 'APPROVED'
              GROUP BY volunteer_id) s WHERE v.id = s.volunteer_id""")
        await conn.execute("""
            UPDATE team t SET approved_hours = s.h FROM (
              SELECT a.team_id, SUM(sr.hours) AS h FROM service_record sr
              JOIN activity a ON a.id = sr.activity_id WHERE sr.status = 'APPROVED'
              GROUP BY a.team_id) s WHERE t.id = s.team_id""")
        await conn.execute("""
            UPDATE activity a SET taken_count = s.n FROM (
              SELECT activity_id, COUNT(*) AS n FROM sign_up GROUP BY activity_id) s
            WHERE a.id = s.activity_id""")
        for table in ("volunteer", "team", "membership", "activity", "sign_up", "service_record"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
        # The UPDATE above rewrote every volunteer row: compact the indexes it doubled.
        await conn.execute("REINDEX TABLE volunteer")
        await conn.execute("VACUUM ANALYZE")
        print(f"  totals, sequences, VACUUM ANALYZE in {time.perf_counter() - began:.1f} s")
        print(f"done in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        await conn.close()


async def rebuild_summaries(database_url: str) -> None:
    """COPY bypassed the hours rules: derive the `stats` summaries from the records."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        report = await rebuild_stats()
    finally:
        await Tortoise.close_connections()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("VACUUM ANALYZE stats_hours_month")
    finally:
        await conn.close()
    print(f"  stats summaries: {report.months} district-month rows, "
          f"{report.volunteers_changed} last approvals corrected in {report.seconds:.1f} s")


async def prepare(database_url: str, fresh: bool) -> None:
    base, _, name = database_url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
    finally:
        await Tortoise.close_connections()
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT COUNT(*) FROM volunteer"):
            raise SystemExit(f"{name} already holds volunteers; pass --fresh to start over")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/tongxin_scale")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    asyncio.run(prepare(args.database_url, args.fresh))
    asyncio.run(generate(args.database_url, args.scale, args.seed))
    asyncio.run(rebuild_summaries(args.database_url))


if __name__ == "__main__":
    main()
