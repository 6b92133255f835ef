"""The aggregates `stats` reads (monthly hours summary, `Volunteer.last_approved_at`) stay equal
to what plain SQL over service_record gives, through approvals, adjustments, rejections,
re-approvals, concurrent decisions and rebuilds."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from models.hours import HoursStatus, ServiceRecord
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer
from resolvers import stats as stats_rules
from resolvers.auth import Viewer
from resolvers.errors import BadInput
from resolvers.hours import do_approve_hours, do_reject_hours
from resolvers.sql import Sql, fetch
from resolvers.stats import PlatformStats, compute_stats, rebuild_stats
from tests.helpers import count_statements, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc

NOW = utc(2026, 6, 1, 12)
ROOT = Path(__file__).resolve().parents[2]
Summary = dict[tuple[str, str], tuple[int, float]]


def _postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def maintained_summary() -> Summary:
    rows = await connections.get("default").execute_query_dict(
        "SELECT district, month, records, hours FROM stats_hours_month WHERE records <> 0")
    return {(r["district"], r["month"]): (int(r["records"]), round(float(r["hours"]), 6))
            for r in rows}


async def source_summary() -> Summary:
    rows = await fetch(connections.get("default"), stats_rules.source_hours_statement(_postgres()))
    return {(r["district"], r["month"]): (int(r["n"]), round(float(r["h"]), 6)) for r in rows}


async def maintained_latest() -> dict[int, datetime | None]:
    return dict(await Volunteer.all().order_by("id").values_list("id", "last_approved_at"))


async def source_latest() -> dict[int, datetime | None]:
    latest: dict[int, datetime | None] = {person.id: None for person in await Volunteer.all()}
    for volunteer_id, approved_at in await ServiceRecord.filter(
            status=HoursStatus.APPROVED).values_list("volunteer_id", "approved_at"):
        current = latest[volunteer_id]
        if approved_at is not None and (current is None or approved_at > current):
            latest[volunteer_id] = approved_at
    return latest


async def plain_stats(district: str | None, now: datetime) -> PlatformStats:
    """`stats` the way it was computed before the summaries: hours grouped from the records,
    active volunteers by EXISTS over the records."""
    connection = connections.get("default")
    today = now.astimezone(stats_rules.TIME_ZONE).date()
    since = now - timedelta(days=365)
    people = await fetch(connection, stats_rules._people_statement(district, today, since))
    hours = await fetch(connection, stats_rules.source_hours_statement(_postgres(), district))
    teams = await fetch(connection, stats_rules._teams_statement(district))
    activities = await fetch(connection, stats_rules._activities_statement(district))
    result = stats_rules._assemble(people, hours, teams, activities, today)
    active = await fetch(connection, Sql(
        "SELECT COUNT(*) AS n FROM volunteer v WHERE v.status <> :pending :district AND EXISTS "
        "(SELECT 1 FROM service_record sr WHERE sr.volunteer_id = v.id "
        "AND sr.status = :approved AND sr.approved_at >= :since)",
        pending="PENDING_CONSENT", approved="APPROVED", since=since,
        district=stats_rules._in_district(district, "AND", "v.district")))
    result.active = int(active[0]["n"])
    return result


def comparable(result: PlatformStats) -> dict[str, Any]:
    return dataclasses.asdict(dataclasses.replace(result, computed_at=0.0))


async def assert_matches_the_records(now: datetime = NOW) -> None:
    assert await maintained_summary() == await source_summary()
    assert await maintained_latest() == await source_latest()
    for district in (None, "朝阳区", "海淀区"):
        assert comparable(await compute_stats(district, now)) == \
            comparable(await plain_stats(district, now))


async def two_districts() -> dict[str, Any]:
    admin = await make_volunteer("队长")
    chaoyang = await make_team(admin, "朝阳队")
    haidian = await make_team(admin, "海淀队", district="海淀区")
    people = [await make_volunteer(name, district=district) for name, district in
              (("李明", "朝阳区"), ("王芳", "海淀区"), ("张伟", "朝阳区"))]
    return {"admin": admin, "teams": [chaoyang, haidian], "people": people}


async def test_each_kind_of_decision_keeps_the_summaries_equal_to_the_records(db):
    # given: two claims in 朝阳区 and 海淀区
    city = await two_districts()
    admin = Viewer(city["admin"])
    chaoyang, haidian = city["teams"]
    li, wang, _ = city["people"]
    first = await served(await make_activity(chaoyang, city["admin"], starts_at=utc(2026, 3, 2, 1),
                                             hours=4), li, 4)
    second = await served(await make_activity(haidian, city["admin"], starts_at=utc(2026, 3, 3, 1),
                                              hours=3), wang, 3)
    # when / then: approve both (the second at 01:00 on 1 April local time, 31 March UTC)
    await do_approve_hours(admin, first.id, now=utc(2026, 3, 20, 8))
    await do_approve_hours(admin, second.id, now=utc(2026, 3, 31, 17))
    assert await maintained_summary() == {("朝阳区", "2026-03"): (1, 4.0),
                                          ("海淀区", "2026-04"): (1, 3.0)}
    await assert_matches_the_records()
    # adjust: hours change within the month the record first counted in
    await do_approve_hours(admin, first.id, 2.5, "只服务了半天", now=utc(2026, 5, 2))
    assert (await maintained_summary())[("朝阳区", "2026-03")] == (1, 2.5)
    await assert_matches_the_records()
    # reject after approval: the hours and the volunteer's latest approval are taken back
    await do_reject_hours(admin, second.id, "未到场", now=utc(2026, 5, 3))
    assert ("海淀区", "2026-04") not in await maintained_summary()
    assert (await Volunteer.get(id=wang.id)).last_approved_at is None
    await assert_matches_the_records()
    # re-approve: counts anew in the month of the new decision
    await do_approve_hours(admin, second.id, reason="补录签到", now=utc(2026, 5, 10))
    assert (await maintained_summary())[("海淀区", "2026-05")] == (1, 3.0)
    assert (await Volunteer.get(id=wang.id)).last_approved_at == utc(2026, 5, 10)
    await assert_matches_the_records()


async def test_rejecting_the_latest_approval_falls_back_to_the_one_before(db):
    # given: two approvals of one person
    city = await two_districts()
    admin = Viewer(city["admin"])
    li = city["people"][0]
    team = city["teams"][0]
    early, late = [await served(await make_activity(team, city["admin"],
                                                    starts_at=utc(2026, 2, day, 1)), li)
                   for day in (1, 2)]
    await do_approve_hours(admin, early.id, now=utc(2025, 4, 1))
    await do_approve_hours(admin, late.id, now=utc(2026, 2, 10))
    # when
    await do_reject_hours(admin, late.id, "重复登记", now=utc(2026, 2, 11))
    # then: 14 months ago counts no more as active
    assert (await Volunteer.get(id=li.id)).last_approved_at == utc(2025, 4, 1)
    assert (await compute_stats("朝阳区", NOW)).active == 0
    await assert_matches_the_records()


async def test_random_decisions_match_the_records_and_a_rebuild_reproduces_them(db):
    # given: claims of three people in two districts, some of zero hours
    city = await two_districts()
    admin = Viewer(city["admin"])
    rng = random.Random(6)
    records: list[ServiceRecord] = []
    for index in range(12):
        activity = await make_activity(city["teams"][index % 2], city["admin"],
                                       starts_at=utc(2026, 1, 1 + index, 1), hours=4)
        records.append(await served(activity, city["people"][index % 3],
                                    rng.choice((0.0, 1.5, 4.0))))
    # when: 60 random approvals, adjustments and rejections over a year and a half
    for step in range(60):
        record = rng.choice(records)
        moment = utc(2025, 1, 1) + timedelta(hours=rng.randrange(24 * 540))
        try:
            if step % 4 == 0:
                await do_reject_hours(admin, record.id, "复核", now=moment)
            elif step % 4 == 1:
                await do_approve_hours(admin, record.id, rng.choice((1.0, 2.25, 4.0)), "调整",
                                       now=moment)
            else:
                await do_approve_hours(admin, record.id, reason="复核通过", now=moment)
        except BadInput:
            pass
    # then
    await assert_matches_the_records()
    summary, latest = await maintained_summary(), await maintained_latest()
    report = await rebuild_stats()
    assert report.volunteers_changed == 0
    assert await maintained_summary() == summary
    assert await maintained_latest() == latest


async def test_rebuild_repairs_summaries_written_around_the_rules(db):
    # given: figures lost or wrong (rows loaded by COPY, a restore, a bug)
    city = await two_districts()
    admin = Viewer(city["admin"])
    record = await served(await make_activity(city["teams"][1], city["admin"],
                                              starts_at=utc(2026, 4, 1, 1)), city["people"][1])
    await do_approve_hours(admin, record.id, now=utc(2026, 4, 2))
    expected_summary, expected_latest = await maintained_summary(), await maintained_latest()
    await connections.get("default").execute_query(
        "UPDATE stats_hours_month SET hours = 99, records = 7")
    await Volunteer.all().update(last_approved_at=utc(2020, 1, 1))
    # when
    report = await rebuild_stats()
    # then
    assert report.months == 1 and report.volunteers_changed == len(expected_latest)
    assert await maintained_summary() == expected_summary
    assert await maintained_latest() == expected_latest


async def test_concurrent_decisions_and_a_rebuild_keep_the_summaries_exact(db):
    # given: two admins, three people with two claims each
    city = await two_districts()
    second_admin = await make_volunteer("副队长")
    for team in city["teams"]:
        await Membership.create(team=team, volunteer=second_admin, role=MembershipRole.ADMIN,
                                status=MembershipStatus.APPROVED)
    admins = [Viewer(city["admin"]), Viewer(second_admin)]
    records = [await served(await make_activity(city["teams"][i % 2], city["admin"],
                                                starts_at=utc(2026, 3, 1 + i, 1), hours=4),
                            city["people"][i % 3], 4) for i in range(6)]

    async def decide(index: int) -> None:
        record, viewer = records[index % 6], admins[index % 2]
        moment = utc(2026, 3 + index % 3, 10)
        try:
            if index % 3 == 0:
                await do_reject_hours(viewer, record.id, "复核", now=moment)
            else:
                await do_approve_hours(viewer, record.id, 1 + index % 4, "调整", now=moment)
        except BadInput:
            pass

    async def rebuild_midway() -> None:
        await asyncio.sleep(0.01)
        await rebuild_stats()

    # when
    await asyncio.gather(*(decide(i) for i in range(36)), rebuild_midway())
    # then
    await assert_matches_the_records()
    assert sum(t.approved_hours for t in await Team.all()) == pytest.approx(
        sum(hours for _, hours in (await maintained_summary()).values()))


async def test_stats_read_only_the_summaries(db):
    # given
    city = await two_districts()
    record = await served(await make_activity(city["teams"][0], city["admin"],
                                              starts_at=utc(2026, 5, 1, 1)), city["people"][0])
    await do_approve_hours(Viewer(city["admin"]), record.id, now=utc(2026, 5, 2))
    # when
    with count_statements() as statements:
        result = await compute_stats(None, NOW)
    # then: four grouped reads, none over service_record
    assert len(statements) == 4
    assert not [sql for sql in statements if "service_record" in sql]
    assert result.approved_hours == 3.0 and result.active == 1
    assert result.hours_by_month[-2].key == "2026-05" and result.hours_by_month[-2].count == 1


@pytest.mark.e2e
async def test_command_line_rebuilds_the_summaries(db):
    # given: an approved record whose summary row went missing
    city = await two_districts()
    record = await served(await make_activity(city["teams"][0], city["admin"],
                                              starts_at=utc(2026, 5, 1, 1)), city["people"][0])
    await do_approve_hours(Viewer(city["admin"]), record.id, now=utc(2026, 5, 2))
    expected = await maintained_summary()
    await connections.get("default").execute_query("DELETE FROM stats_hours_month")
    env = {**os.environ, "DATABASE_URL": db.database_url}
    # when
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "server.py", "rebuild-stats"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120)
    # then
    assert done.returncode == 0, done.stderr
    assert "1 district-month rows, 0 volunteers' last approval corrected" in done.stdout
    assert await maintained_summary() == expected
