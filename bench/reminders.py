"""100,000 shift reminders due at once, sent by a 2-worker server on PostgreSQL + Redis (target:
all within 60 s, none twice). 1,000 volunteers × 100 activities starting in 90 minutes, all
confirmed; the server starts with every reminder already due (as after downtime) and its
`reminders` job sends them. Prints the time until the last one was committed, then checks
that each sign-up got exactly one in-app reminder and one SMS outbox row.

    .venv/bin/python -m bench.reminders [--volunteers 1000] [--activities 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from bench.common import REDIS_URL, scratch_database, start_tongxin


async def seed(database_url: str, volunteers: int, activities: int) -> None:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from tests.activity.clients import bulk_volunteers
    from tests.helpers import make_team, make_volunteer

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        admin = await make_volunteer("队长")
        team = await make_team(admin, "提醒压测队")
        people = [p.id for p in await bulk_volunteers(volunteers, "bench-no-login", "提醒")]
    finally:
        await Tortoise.close_connections()
    conn = await asyncpg.connect(database_url)
    try:
        ids = await conn.fetch(
            "INSERT INTO activity (team_id, created_by_id, title, description, category, district, "
            "starts_at, ends_at, sign_up_deadline, capacity, taken_count, waitlist_count, "
            "waitlist_limit, waitlist_seq, offered_count, version, hours_credit, skills, status, "
            "created_at, published_at, updated_at) "
            "SELECT $1, $2, '社区服务第' || n || '班', '', '助老', '朝阳区', "
            "now() + interval '90 minutes' + n * interval '1 second', "
            "now() + interval '210 minutes', now() + interval '80 minutes', $3, $3, 0, 0, 0, 0, "
            "0, 2, '', 'PUBLISHED', now(), now(), now() FROM generate_series(1, $4) n "
            "RETURNING id",
            team.id, admin.id, volunteers, activities)
        await conn.execute(
            "INSERT INTO sign_up (activity_id, volunteer_id, status, created_at, updated_at) "
            "SELECT a, v, 'CONFIRMED', now() - interval '3 days', now() "
            "FROM unnest($1::int[]) a CROSS JOIN unnest($2::int[]) v",
            [r["id"] for r in ids], people)
    finally:
        await conn.close()


async def count_sent(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(
            "SELECT COUNT(*) FROM notification WHERE kind = 'SHIFT_REMINDER'"))
    finally:
        await conn.close()


async def check(database_url: str, expected: int) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT COUNT(*) AS sent, COUNT(DISTINCT (volunteer_id, subject_id)) AS distinct_, "
            "(SELECT COUNT(*) FROM sms_outbox o JOIN notification n ON n.id = o.notification_id "
            " WHERE n.kind = 'SHIFT_REMINDER') AS sms, "
            "(SELECT COUNT(*) FROM shift_reminder WHERE sent) AS claims "
            "FROM notification WHERE kind = 'SHIFT_REMINDER'")
    finally:
        await conn.close()
    ok = row["sent"] == row["distinct_"] == row["sms"] == row["claims"] == expected
    return (f"{row['sent']} in-app, {row['distinct_']} distinct, {row['sms']} SMS, "
            f"{row['claims']} claims: {'none twice, none lost' if ok else 'MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=1000)
    parser.add_argument("--activities", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    expected = args.volunteers * args.activities
    with scratch_database("tongxin_bench_reminders") as url:
        asyncio.run(seed(url, args.volunteers, args.activities))
        started = time.perf_counter()
        server = start_tongxin(url, workers=2, REDIS_URL=REDIS_URL, REMINDER_CHECK_SECONDS="1")
        try:
            sent = 0
            while time.perf_counter() - started < args.timeout:
                sent = asyncio.run(count_sent(url))
                if sent >= expected:
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            time.sleep(3)  # a few more ticks of both workers: nothing more may be sent
        finally:
            server.stop()
        print(f"{expected:,} reminders due at start-up, 2 workers: {sent:,} sent in "
              f"{elapsed:.1f} s (from spawning the server; target 60 s: "
              f"{'met' if sent >= expected and elapsed < 60 else 'MISSED'}), "
              f"{sent / elapsed:,.0f}/s")
        print(asyncio.run(check(url, expected)))


if __name__ == "__main__":
    main()
