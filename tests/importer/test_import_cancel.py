"""Cancelling a volunteer import (issue 26): a QUEUED one imports nobody, a RUNNING one stops
at a batch boundary with counts that match the people in, and refusals are coded; both backends.
The runner learns of the cancel from the database only (no signal passes in memory), so the
same holds whichever process runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.importer import ImportStatus, VolunteerImport, VolunteerImportChunk, VolunteerImportError
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import importer, importer_jobs
from resolvers.auth import Viewer
from resolvers.messages import EN, ZH
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import execute, make_team, make_volunteer
from tests.importer.test_import import person
from tests.importer.test_web_import import roster

CANCEL = """mutation Cancel($id: ID!) { cancelVolunteerImport(id: $id) {
  id status rowsRead imported rejected finishedAt cancelledBy { displayName } } }"""
READ = """query Import($id: ID!) { volunteerImport(id: $id) {
  status rowsRead imported rejected cancelledBy { displayName } } }"""


async def queued(admin: Volunteer, tmp_path: Path, rows: list[list[str]]) -> VolunteerImport:
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(rows))
    return await importer_jobs.do_queue_import(admin, "roster.csv", path)


async def imported_names() -> list[str]:
    names = await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT).values_list(
        "real_name", flat=True)
    return sorted(names)


async def as_language(query: str, variables: dict[str, Any], who: Volunteer,
                      language: str) -> dict[str, Any]:
    context = Context(viewer=Viewer(who), client_address="127.0.0.1", language=language)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert result.errors, result.data
    return result.errors[0].formatted


async def test_a_queued_import_cancelled_before_it_starts_imports_nobody(db, tmp_path):
    # given an upload stored but not yet taken by any process
    admin = await make_volunteer("平台管理员", platform_admin=True)
    job = await queued(admin, tmp_path, [person(801), person(802)])
    import_id = to_global_id("VolunteerImport", job.id)
    # when a platform admin cancels it
    answer = (await execute(CANCEL, {"id": import_id}, as_=admin)).ok()["cancelVolunteerImport"]
    # then it is CANCELLED at once, by them, with nothing read or imported
    assert {k: answer[k] for k in ("status", "rowsRead", "imported", "rejected", "cancelledBy")} == {
        "status": "CANCELLED", "rowsRead": 0, "imported": 0, "rejected": 0,
        "cancelledBy": {"displayName": "平台管理员"}}
    assert answer["finishedAt"]
    # and the roster's file is gone with it
    assert await VolunteerImportChunk.filter(volunteer_import_id=job.id).count() == 0
    # and no process starts it afterwards: not the one that received it, not the stalled-job sweep
    assert not await importer_jobs.run_import_job(job.id)
    later = datetime.now(UTC) + timedelta(seconds=importer_jobs.STALE_SECONDS * 2)
    assert await importer_jobs.resume_stalled(now=later) == 0
    assert await imported_names() == []
    assert (await VolunteerImport.get(id=job.id)).status == ImportStatus.CANCELLED


async def test_cancelling_a_running_import_stops_at_a_batch_boundary_and_counts_the_people_in(
        db, tmp_path, monkeypatch: pytest.MonkeyPatch):
    # given a running import in batches of 2: rows 2-3 (row 3 a bad phone), 4-5, 6-7
    admin = await make_volunteer("平台管理员", platform_admin=True)
    other_admin = await make_volunteer("另一位管理员", platform_admin=True)
    monkeypatch.setattr(importer_jobs, "WEB_BATCH", 2)
    job = await queued(admin, tmp_path, [person(811), person(812, phone="12345"), person(813),
                                         person(814), person(815, phone="1"), person(816)])
    import_id = to_global_id("VolunteerImport", job.id)
    original = importer._import_batch
    batches = 0
    cancelled: dict[str, Any] = {}

    async def cancel_during_second_batch(*args: Any) -> int:
        # the second batch is read and being checked when the other admin's cancel commits
        nonlocal batches
        batches += 1
        if batches == 2:
            result = await execute(CANCEL, {"id": import_id}, as_=other_admin)
            cancelled.update(result.ok()["cancelVolunteerImport"])
        return await original(*args)

    monkeypatch.setattr(importer, "_import_batch", cancel_during_second_batch)
    # when the job runs
    assert await importer_jobs.run_import_job(job.id)
    # then the cancel saw the first batch only: one imported, one rejected, two rows read
    assert {k: cancelled[k] for k in ("status", "rowsRead", "imported", "rejected", "cancelledBy")} == {
        "status": "CANCELLED", "rowsRead": 2, "imported": 1, "rejected": 1,
        "cancelledBy": {"displayName": "另一位管理员"}}
    # the second batch, already checked when the cancel came, wrote nothing (nobody half in),
    # and no batch ran after it
    assert batches == 2
    assert await imported_names() == ["居民811"]
    errors = await VolunteerImportError.filter(volunteer_import_id=job.id).values_list(
        "row_number", flat=True)
    assert errors == [3]
    # and the job says so for good: the counts are the people in
    final = (await execute(READ, {"id": import_id}, as_=admin)).ok()["volunteerImport"]
    assert final == {"status": "CANCELLED", "rowsRead": 2, "imported": 1, "rejected": 1,
                     "cancelledBy": {"displayName": "另一位管理员"}}
    assert await VolunteerImportChunk.filter(volunteer_import_id=job.id).count() == 0
    assert await importer_jobs.resume_stalled(
        now=datetime.now(UTC) + timedelta(seconds=importer_jobs.STALE_SECONDS * 2)) == 0


async def test_only_platform_admins_cancel_and_an_ended_import_is_a_coded_conflict(db, tmp_path):
    # given a queued import, and a team admin, a volunteer and a visitor
    admin = await make_volunteer("平台管理员", platform_admin=True)
    organiser = await make_volunteer("队长")
    await make_team(organiser, "队")
    volunteer = await make_volunteer("志愿者")
    job = await queued(admin, tmp_path, [person(821)])
    import_id = to_global_id("VolunteerImport", job.id)
    # when others try to cancel it: refused with codes, and it is still queued
    for other, code in ((None, "UNAUTHENTICATED"), (organiser, "FORBIDDEN"), (volunteer, "FORBIDDEN")):
        assert (await execute(CANCEL, {"id": import_id}, as_=other)).codes == [code]
    assert (await VolunteerImport.get(id=job.id)).status == ImportStatus.QUEUED
    assert await VolunteerImportChunk.filter(volunteer_import_id=job.id).count() == 1
    # an unknown import is not found
    missing = to_global_id("VolunteerImport", 10**9)
    assert (await execute(CANCEL, {"id": missing}, as_=admin)).codes == ["NOT_FOUND"]
    # when it is cancelled twice: the second is a conflict saying so, in the reader's language
    assert (await execute(CANCEL, {"id": import_id}, as_=admin)).ok()
    for language, message in ((ZH, "这次导入已经取消了。"), (EN, "This import was already cancelled.")):
        error = await as_language(CANCEL, {"id": import_id}, admin, language)
        assert error["extensions"] == {"code": "CONFLICT", "reason": "IMPORT_CANCELLED",
                                       "status": "CANCELLED"}
        assert error["message"] == message
    # and an import that finished, or failed, cannot be cancelled either, and stays as it was
    done = await queued(admin, tmp_path, [person(822)])
    assert await importer_jobs.run_import_job(done.id)
    failed = await queued(admin, tmp_path, [person(823)])
    await VolunteerImport.filter(id=failed.id).update(status=ImportStatus.FAILED,
                                                       failure_code="UNREADABLE")
    for ended, reason, zh in ((done, "IMPORT_DONE", "这次导入已经完成，无法取消。"),
                              (failed, "IMPORT_FAILED", "这次导入已因错误中止，无法取消。")):
        error = await as_language(CANCEL, {"id": to_global_id("VolunteerImport", ended.id)}, admin, ZH)
        assert (error["extensions"]["code"], error["extensions"]["reason"], error["message"]) == (
            "CONFLICT", reason, zh)
        assert (await VolunteerImport.get(id=ended.id)).cancelled_by_id is None
    assert (await VolunteerImport.get(id=done.id)).status == ImportStatus.DONE
    assert await imported_names() == ["居民822"]
