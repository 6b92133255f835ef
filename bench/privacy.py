"""The full-archive export of one volunteer with a long history (target: < 2 s).

The volunteer has N service records (each with its activity, sign-up, audit row and points
entry), N/5 notifications and N/10 forum posts' worth of drafts. The figure is the time of
`build_archive` (every table that names the person, JSON, ZIP) on PostgreSQL (a throw-away
database) and on SQLite, in the same run.

    .venv/bin/python -m bench.privacy [--records 5000] [--backend both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta

from bench.common import scratch_database

TARGET_SECONDS = 2.0


async def seed(records: int) -> int:
    """The volunteer's id after writing their history in bulk."""
    from core import pii
    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from models.draft import Draft
    from models.hours import HoursAudit, HoursStatus, PointsEntry, ServiceRecord
    from models.notification import Notification
    from models.team import Team, TeamType
    from models.volunteer import Volunteer

    admin = await Volunteer.create(
        **pii.identity_columns("13900000001", "11010519491231002X"), real_name="队长",
        display_name="队长", gender="female", birth_date=datetime(1949, 12, 31).date(),
        district="朝阳区", volunteer_number="TXB000000000001")
    me = await Volunteer.create(
        **pii.identity_columns("13900000002", "110105199003071234"), real_name="李明",
        display_name="李明", gender="male", birth_date=datetime(1990, 3, 7).date(),
        district="朝阳区", volunteer_number="TXB000000000002")
    team = await Team.create(name="朝阳区志愿服务总队", type=TeamType.COMMUNITY, district="朝阳区",
                             created_by=admin, path="/")
    start = datetime(2020, 1, 1, 1, tzinfo=UTC)
    await Activity.bulk_create([Activity(
        team=team, created_by=admin, title=f"社区服务第{i}次", description="描述", category="环保",
        district="朝阳区", starts_at=start + timedelta(days=i), ends_at=start + timedelta(days=i, hours=3),
        sign_up_deadline=start + timedelta(days=i), capacity=10, waitlist_limit=10, hours_credit=3,
        status=ActivityStatus.FINISHED) for i in range(records)], batch_size=1000)
    activity_ids = await Activity.all().order_by("id").values_list("id", flat=True)
    await SignUp.bulk_create([SignUp(activity_id=a, volunteer=me, status=SignUpStatus.CONFIRMED)
                              for a in activity_ids], batch_size=1000)
    sign_ups = await SignUp.filter(volunteer=me).order_by("id").values_list("id", "activity_id")
    await ServiceRecord.bulk_create([ServiceRecord(
        sign_up_id=s, activity_id=a, volunteer=me, hours_claimed=3, hours=3,
        status=HoursStatus.APPROVED, approved_by=admin, approved_at=start)
        for s, a in sign_ups], batch_size=1000)
    record_ids = await ServiceRecord.filter(volunteer=me).values_list("id", flat=True)
    await HoursAudit.bulk_create([HoursAudit(record_id=r, actor=admin, action="APPROVE",
                                             hours_after=3, status_after="APPROVED")
                                  for r in record_ids], batch_size=1000)
    await PointsEntry.bulk_create([PointsEntry(volunteer=me, delta=30, reason="approve hours",
                                               record_id=r, balance_after=30 * (i + 1))
                                   for i, r in enumerate(record_ids)], batch_size=1000)
    await Notification.bulk_create([Notification(volunteer=me, kind="HOURS_APPROVED",
                                                 title="时长已审核", body="你的服务时长已审核通过")
                                    for _ in range(records // 5)], batch_size=1000)
    await Draft.bulk_create([Draft(volunteer=me, key=f"draft-{i}", body="没写完的心得" * 20)
                             for i in range(records // 10)], batch_size=1000)
    return int(me.id)


async def measure(database_url: str, records: int) -> tuple[float, int]:
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from db.config import tortoise_config
    from resolvers.privacy import build_archive

    EXECUTOR_CACHE.clear()  # cached INSERTs are per connection name, not per dialect
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        volunteer_id = await seed(records)
        await build_archive(volunteer_id)  # warm: statement caches, imports
        began = time.perf_counter()
        body = await build_archive(volunteer_id)
        seconds = time.perf_counter() - began
        assert len(json.loads(zipfile.ZipFile(io.BytesIO(body)).read("service_record.json"))) \
            == records
        return seconds, len(body)
    finally:
        await Tortoise.close_connections()


def report(backend: str, records: int, seconds: float, size: int) -> bool:
    ok = seconds < TARGET_SECONDS
    print(f"{backend:10s} archive of a volunteer with {records:,} service records: "
          f"{seconds:.3f} s, {size / 1024:.0f} KiB ZIP  (target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if ok else 'MISSED'})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--backend", choices=["both", "postgres", "sqlite"], default="both")
    args = parser.parse_args()
    ok = True
    if args.backend in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            seconds, size = asyncio.run(measure(f"sqlite://{folder}/bench.sqlite3", args.records))
        ok &= report("sqlite", args.records, seconds, size)
    if args.backend in ("both", "postgres"):
        with scratch_database("tongxin_bench_privacy") as url:
            seconds, size = asyncio.run(measure(url, args.records))
        ok &= report("postgres", args.records, seconds, size)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
