"""Background jobs run inside every server process (started from server.py's lifespan).

- `offers` (every 5 s, every worker): ends due waitlist offers; each offer is ended by one
  conditional UPDATE, so several workers firing together still fire it once.
- `attendance` (every 60 s, one runner): closes forgotten check-ins (resolvers/attendance.py).
- `points-expiry` (every 6 h, one runner, only if POINTS_EXPIRE_MONTHS > 0).
- `privacy-exports` (every 5 s, one runner): builds the data archives people asked for
  (resolvers/privacy.py).
- `retention` (every 6 h, one runner): the retention rules (resolvers/retention.py).
- `records-export` (every 5 min, one runner, only if EXCHANGE_EXPORT_DIR is set): drains the
  outbox of record changes into JSON Lines and CSV files (resolvers/exchange.py).
- `volunteer-imports` (every 5 s, every worker): imports uploaded from the web whose process
  died before or while running them, resumed from their checkpoints (resolvers/importer_jobs.py;
  each is claimed by a conditional UPDATE, so it runs once).
- `reminders` (every REMINDER_CHECK_SECONDS, one runner): shift and organiser reminders
  (resolvers/reminder.py); the first tick at start-up sends what came due while down.

One runner across workers and machines = a lease row in `job_lease`, taken by a conditional
UPDATE (`expires_at < now OR holder = me`): no Redis needed, works on SQLite with several
workers, and a crashed holder's lease lapses after `ttl`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import connections

from core.aio import cancel_and_wait
from core.metrics import JOB_FAILURES, JOB_LAST_SUCCESS
from core.settings import get_settings
from resolvers.sql import Sql, execute, fetch

log = logging.getLogger("tongxin.jobs")

HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def take_lease(name: str, ttl: timedelta, *, holder: str = HOLDER,
                     now: datetime | None = None) -> bool:
    """True if `holder` now holds the lease on `name` until now + ttl."""
    moment = now or datetime.now(UTC)
    conn = connections.get("default")
    await execute(conn, Sql(
        "INSERT INTO job_lease (name, holder, expires_at) VALUES (:name, '', :expired) "
        "ON CONFLICT (name) DO NOTHING", name=name, expired=moment - timedelta(seconds=1)))
    rows = await fetch(conn, Sql(
        "UPDATE job_lease SET holder = :holder, expires_at = :until WHERE name = :name "
        "AND (expires_at < :now OR holder = :holder) RETURNING name",
        holder=holder, until=moment + ttl, name=name, now=moment))
    return bool(rows)


@dataclass
class Job:
    name: str
    interval: float
    run: Callable[[], Awaitable[int]]
    single_runner: bool


def default_jobs() -> list[Job]:
    from resolvers.attendance import do_auto_close
    from resolvers.exchange import drain_to_directory
    from resolvers.importer_jobs import resume_stalled
    from resolvers.offers import expire_due_offers
    from resolvers.privacy import build_pending_archives
    from resolvers.reminder import send_due_reminders
    from resolvers.retention import run_retention_job
    from resolvers.timebank import do_expire_points

    jobs = [Job("offers", get_settings().offer_check_seconds, expire_due_offers, False),
            Job("attendance", 60, do_auto_close, True),
            Job("volunteer-imports", 5, resume_stalled, False),
            Job("reminders", get_settings().reminder_check_seconds, send_due_reminders, True)]
    if get_settings().points_expire_months > 0:
        jobs.append(Job("points-expiry", 6 * 3600, do_expire_points, True))
    jobs += [Job("privacy-exports", 5, build_pending_archives, True),
             Job("retention", 6 * 3600, run_retention_job, True)]
    if os.environ.get("EXCHANGE_EXPORT_DIR"):
        jobs.append(Job("records-export", 300, drain_to_directory, True))
    return jobs


class JobRunner:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}")
                      for job in self.jobs]

    async def stop(self) -> None:
        # one at a time: cancelling a task twice (all first, then each again while waiting)
        # would interrupt its clean-up, e.g. a transaction's rollback, with the second
        for task in self.tasks:
            await cancel_and_wait(task)

    async def run_once(self, job: Job) -> int | None:
        """One tick: None if another holder has the lease."""
        if job.single_runner and not await take_lease(
                job.name, timedelta(seconds=max(30.0, job.interval * 2))):
            return None
        return await job.run()

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                done = await self.run_once(job)
                if done:
                    log.info("job %s: %d done", job.name, done)
                if done is not None:  # this process ran it (None: another holds the lease)
                    JOB_LAST_SUCCESS.labels(job.name).set(time.time())
            except asyncio.CancelledError:
                raise
            except Exception:
                JOB_FAILURES.labels(job.name).inc()
                log.exception("job %s failed; retrying next interval", job.name)
            await asyncio.sleep(job.interval)


def start_jobs() -> JobRunner | None:
    """The lifespan's entry point; JOBS=0 turns the loops off (e.g. a dedicated API fleet)."""
    if os.environ.get("JOBS", "1") == "0":
        return None
    runner = JobRunner(default_jobs())
    runner.start()
    return runner
