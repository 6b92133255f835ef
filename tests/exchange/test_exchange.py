"""Records export: hours changes reach the outbox with the unified volunteer number (never the
ID number) and are drained into JSON Lines and CSV exactly once."""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path

from core import pii
from models.exchange import RecordChange
from models.honour import Award, Nomination, NominationStatus
from models.training import AssessmentKind, Enrollment
from resolvers.auth import Viewer
from resolvers.exchange import FIELD_MAP, CsvSink, JsonLinesSink, drain_outbox, drain_to_directory
from resolvers.honour import do_decide_nomination
from resolvers.hours import do_approve_hours, do_reject_hours
from resolvers.training import do_record_assessment
from tests.helpers import make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc
from tests.training.factory import make_course


async def _approved_then_taken_back():
    admin = await make_volunteer("王队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    me = await make_volunteer("李明")
    record = await served(await make_activity(team, admin, title="社区清洁",
                                              starts_at=utc(2026, 3, 1, 1)), me)
    await do_approve_hours(Viewer(admin), record.id)
    await do_reject_hours(Viewer(admin), record.id, "重复登记")
    return me, record


async def test_changes_are_exported_once_to_json_lines_and_csv(db, tmp_path: Path):
    # given
    me, record = await _approved_then_taken_back()
    sinks = [JsonLinesSink(tmp_path), CsvSink(tmp_path)]
    # when
    first = await drain_outbox(sinks)
    second = await drain_outbox(sinks)
    # then
    assert first.exported == 2 and len(first.batches) == 1
    assert second.exported == 0 and second.batches == []
    batch = first.batches[0]
    lines = [json.loads(line) for line in (tmp_path / f"{batch}.jsonl").read_text().splitlines()]
    rows = list(csv.DictReader((tmp_path / f"{batch}.csv").open(encoding="utf-8")))
    assert [r["fwsc"] for r in lines] == [3.0, 0.0] and [r["jlzt"] for r in lines] == ["APPROVED", "REJECTED"]
    assert [r["fwsc"] for r in rows] == ["3.0", "0.0"]
    assert list(rows[0]) == list(FIELD_MAP.values())
    for row in [*lines, *rows]:
        assert row["zyzbh"] == me.volunteer_number
        assert str(row["jlbh"]) == str(record.id)
        assert row["fwrq"] == "2026-03-01" and row["zzdw"] == "朝阳区志愿服务总队"
    exported = (tmp_path / f"{batch}.jsonl").read_text() + (tmp_path / f"{batch}.csv").read_text()
    assert pii.id_number_of(me) not in exported and pii.phone_of(me) not in exported


async def test_the_job_writes_both_formats_side_by_side(db, tmp_path: Path):
    # given
    await _approved_then_taken_back()
    # when
    exported = await drain_to_directory(str(tmp_path))
    # then
    assert exported == 2
    assert sorted(os.path.splitext(name)[1] for name in os.listdir(tmp_path)) == [".csv", ".jsonl"]


async def test_a_batch_claimed_before_a_crash_is_written_again_under_its_own_name(db, tmp_path: Path):
    # given: a batch claimed, the process gone before it wrote the files
    await _approved_then_taken_back()
    await RecordChange.all().update(batch="tx-crashed")
    # when
    result = await drain_outbox([JsonLinesSink(tmp_path)])
    # then
    assert result.batches == ["tx-crashed"] and result.exported == 2
    assert len((tmp_path / "tx-crashed.jsonl").read_text().splitlines()) == 2
    assert await RecordChange.filter(exported_at=None).count() == 0


async def test_trainings_and_awards_reach_the_outbox_with_the_volunteer_number(db):
    # given
    platform = await make_volunteer("平台管理员", platform_admin=True)
    admin = await make_volunteer("王队长")
    team = await make_team(admin)
    me = await make_volunteer("李明")
    course = await make_course(admin, team, qualification="应急救援", kind=AssessmentKind.RECORDED)
    await Enrollment.create(course=course, volunteer=me)
    award = await Award.create(name="优秀志愿者", tier=1, period_start=date(2026, 1, 1),
                               period_end=date(2026, 12, 31), created_by=platform)
    nomination = await Nomination.create(award=award, volunteer=me, period_hours=10, star_level=0)
    # when
    await do_record_assessment(Viewer(admin), (await course.assessment).id, me.id, True, 90)
    await do_decide_nomination(Viewer(platform), nomination.id, NominationStatus.AWARDED, None)
    # then
    changes = await RecordChange.all().order_by("id")
    assert [(c.kind.value, c.payload["title"], c.payload["status"]) for c in changes] == [
        ("TRAINING", "应急救援", "GRANTED"), ("AWARD", "优秀志愿者", "AWARDED")]
    assert {c.volunteer_number for c in changes} == {me.volunteer_number}
