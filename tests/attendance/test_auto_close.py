"""The attendance job: forgotten check-ins become PENDING hours flagged for review after the
end plus the grace period, once, whoever runs it; one runner across workers via a lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from models.activity import SignUp
from models.hours import HoursAudit, HoursStatus, ServiceRecord
from models.jobs import JobLease
from models.notification import Notification
from resolvers.attendance import AUTO_CLOSED, do_auto_close
from resolvers.auth import Viewer
from resolvers.hours import do_check_in, do_check_out
from resolvers.jobs import Job, JobRunner, take_lease
from schema.relay import to_global_id
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import confirm, make_activity

REVIEW = """
query Review($team: ID!) {
  serviceRecords(teamId: $team, needsReview: true) {
    totalCount edges { node { hours status needsReview volunteer { displayName } } }
  }
}
"""


async def _attended(ended_ago: timedelta):
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser, "社区队")
    start = datetime.now(UTC) - ended_ago - timedelta(hours=3)
    activity = await make_activity(team, organiser, starts_at=start, hours=3)
    return organiser, team, activity


async def _checked_in(team, activity, name: str, *, out: bool = False):
    person = await make_volunteer(name)
    await add_member(team, person)
    await confirm(activity, person)
    await do_check_in(Viewer(person), activity.id, now=activity.starts_at + timedelta(minutes=30))
    if out:
        await do_check_out(Viewer(person), activity.id, now=activity.ends_at)
    return person


async def test_forgotten_check_ins_become_flagged_pending_hours(db):
    # given: ended three hours ago (grace is two)
    organiser, team, activity = await _attended(timedelta(hours=3))
    forgot = await _checked_in(team, activity, "忘签退")
    await _checked_in(team, activity, "已签退", out=True)
    _, recent_team, recent = await _attended(timedelta(hours=1))
    within_grace = await _checked_in(recent_team, recent, "刚结束")
    # when
    closed = await do_auto_close()
    # then
    assert closed == 1
    record = await ServiceRecord.get(volunteer_id=forgot.id)
    assert (record.status, record.needs_review, record.hours_claimed) == (
        HoursStatus.PENDING, True, 2.5)
    audit = await HoursAudit.get(record_id=record.id)
    assert (audit.action, audit.actor_id) == ("AUTO_CLOSE", None)
    assert (await SignUp.get(id=record.sign_up_id)).checked_out_at == activity.ends_at
    assert await Notification.filter(volunteer_id=forgot.id, kind=AUTO_CLOSED).count() == 1
    assert not await ServiceRecord.filter(volunteer_id=within_grace.id).exists()
    review = (await execute(REVIEW, {"team": to_global_id("Team", team.id)},
                            as_=organiser)).ok()["serviceRecords"]
    assert review["totalCount"] == 1
    assert review["edges"][0]["node"]["volunteer"]["displayName"] == "忘签退"
    assert review["edges"][0]["node"]["status"] == "PENDING"


async def test_racing_runs_close_each_check_in_once(db):
    # given
    _, team, activity = await _attended(timedelta(hours=5))
    people = [await _checked_in(team, activity, f"队员{i}") for i in range(8)]
    # when
    results = await asyncio.gather(*(do_auto_close() for _ in range(4)))
    # then
    assert sum(results) == 8
    for person in people:
        assert await ServiceRecord.filter(volunteer_id=person.id).count() == 1


async def test_the_lease_gives_one_runner_and_passes_on_when_it_lapses(db):
    # given
    now = datetime.now(UTC)
    ttl = timedelta(seconds=60)
    # when: five workers ask at once
    taken = await asyncio.gather(*(take_lease("attendance", ttl, holder=f"w{i}", now=now)
                                   for i in range(5)))
    # then
    assert taken.count(True) == 1
    owner = f"w{taken.index(True)}"
    other = "w9"
    assert await take_lease("attendance", ttl, holder=owner, now=now + timedelta(seconds=30))
    assert not await take_lease("attendance", ttl, holder=other, now=now + timedelta(seconds=60))
    assert await take_lease("attendance", ttl, holder=other, now=now + timedelta(seconds=91))
    assert (await JobLease.get(name="attendance")).holder == other


async def test_a_single_runner_job_skips_while_someone_else_holds_the_lease(db):
    # given: another worker holds the lease
    await take_lease("attendance", timedelta(minutes=5), holder="someone-else")
    runs: list[int] = []

    async def work() -> int:
        runs.append(1)
        return 1

    runner = JobRunner([])
    # when
    single = await runner.run_once(Job("attendance", 60, work, True))
    everywhere = await runner.run_once(Job("offers", 5, work, False))
    # then
    assert (single, everywhere, len(runs)) == (None, 1, 1)
