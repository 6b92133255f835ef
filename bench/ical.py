"""A person's calendar feed with 500 shifts (target: p99 < 50 ms). Measures building the feed
in-process on SQLite and PostgreSQL, and GET /calendar/feed/<token>.ics from a one-worker
server on PostgreSQL (one request at a time: the latency a calendar app sees).

    .venv/bin/python -m bench.ical [--shifts 500] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar

from bench.common import percentile, scratch_database, start_tongxin, summary


async def seed(database_url: str, shifts: int) -> tuple[int, str]:
    """A person confirmed on `shifts` activities (every fifth one moved once); their token."""
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from db.config import tortoise_config
    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from models.calendar import ActivityChange, CalendarFeed
    from tests.helpers import make_team, make_volunteer

    EXECUTOR_CACHE.clear()  # cached INSERTs are per connection name, not per dialect
    await Tortoise.init(config=tortoise_config(database_url))
    await Tortoise.generate_schemas(safe=True)
    admin = await make_volunteer("队长")
    team = await make_team(admin, "压测队")
    person = await make_volunteer("日历压测")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    await Activity.bulk_create([Activity(
        team_id=team.id, created_by_id=admin.id, title=f"社区服务第{i}班",
        description="陪伴社区老人，打扫卫生。" * 5, category="助老", district="朝阳区",
        address=f"朝阳区幸福街{i}号", starts_at=start + timedelta(hours=6 * i),
        ends_at=start + timedelta(hours=6 * i + 3), sign_up_deadline=start + timedelta(hours=6 * i),
        capacity=10, taken_count=1, waitlist_limit=10, hours_credit=3,
        status=ActivityStatus.PUBLISHED) for i in range(shifts)], batch_size=500)
    ids = [a.id for a in await Activity.filter(team_id=team.id).order_by("id")]
    await SignUp.bulk_create([SignUp(activity_id=i, volunteer_id=person.id,
                                     status=SignUpStatus.CONFIRMED) for i in ids], batch_size=500)
    await ActivityChange.bulk_create([ActivityChange(
        activity_id=i, actor_id=admin.id, field="starts_at", before="x", after="y")
        for i in ids[::5]], batch_size=500)
    token = secrets.token_urlsafe(32)
    await CalendarFeed.create(volunteer_id=person.id,
                              token_hash=hashlib.sha256(token.encode()).hexdigest())
    return person.id, token


async def in_process(database_url: str, shifts: int, rounds: int) -> str:
    from tortoise import Tortoise

    from resolvers.calendar import person_calendar

    person_id, _ = await seed(database_url, shifts)
    try:
        started = time.perf_counter()
        body = await person_calendar(person_id)
        cold = (time.perf_counter() - started) * 1000
        assert len(Calendar.from_ical(body).walk("VEVENT")) == shifts
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            await person_calendar(person_id)
            latencies.append((time.perf_counter() - started) * 1000)
        return f"{summary(latencies)}; first (cold) {cold:.0f} ms; {len(body) / 1024:.0f} KiB"
    finally:
        await Tortoise.close_connections()


def over_http(database_url: str, shifts: int, requests: int) -> tuple[str, float]:
    _, token = asyncio.run(_seed_and_close(database_url, shifts))
    server = start_tongxin(database_url, workers=1, JOBS="0")
    try:
        url = server.url.replace("/graphql", f"/calendar/feed/{token}.ics")
        latencies = []
        with httpx.Client() as client:
            for index in range(requests + 10):
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                if index >= 10:  # warm-up
                    latencies.append(elapsed)
        return summary(latencies), percentile(latencies, 0.99)
    finally:
        server.stop()


async def _seed_and_close(database_url: str, shifts: int) -> tuple[int, str]:
    from tortoise import Tortoise

    try:
        return await seed(database_url, shifts)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shifts", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"in-process, SQLite:     {asyncio.run(in_process(f'sqlite://{folder}/b.sqlite3', args.shifts, args.requests))}")
    with scratch_database("tongxin_bench_ical") as url:
        print(f"in-process, PostgreSQL: {asyncio.run(in_process(url, args.shifts, args.requests))}")
    with scratch_database("tongxin_bench_ical") as url:
        line, p99 = over_http(url, args.shifts, args.requests)
        print(f"GET feed, PostgreSQL, 1 worker: {line} -> target p99 < 50 ms: "
              f"{'met' if p99 < 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
