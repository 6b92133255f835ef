"""The volunteer import run from the web (issue 26): the upload at POST /imports/volunteers, the
background job recorded in the database, and its reads through GraphQL, on both backends."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from core import pii
from core.settings import get_settings
from models.importer import ImportStatus, VolunteerImport, VolunteerImportChunk, VolunteerImportError
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import importer_jobs
from resolvers.auth import Viewer
from resolvers.messages import ZH
from schema import schema
from schema.context import Context
from schema.importer_http import ROUTES
from schema.relay import to_global_id
from tests.helpers import execute, make_team, make_volunteer, token_for
from tests.importer.test_import import HEADER, person
from tests.live import LiveServer

IMPORT = """query Import($id: ID!, $after: String) { volunteerImport(id: $id) {
  id fileName status rowsTotal rowsRead imported rejected failureCode failureMessage
  startedBy { displayName } startedAt finishedAt
  rowErrors(first: 3, after: $after) { totalCount edges { node { row column code otherRow message } }
    pageInfo { hasNextPage endCursor } } } }"""
IMPORTS = "query Imports { volunteerImports(first: 10) { edges { node { id fileName status } } } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"


def roster(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


async def upload(person_: Volunteer | None, body: bytes | object, name: str = "roster.csv",
                 language: str = "en") -> httpx.Response:
    headers = {"Accept-Language": language}
    if person_ is not None:
        headers["Authorization"] = f"Bearer {token_for(person_)}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=ROUTES)),
                                 base_url="http://test") as client:
        return await client.post("/imports/volunteers", params={"name": name}, headers=headers,
                                 content=body)  # type: ignore[arg-type]


async def finished(admin: Volunteer, import_id: str, after: str | None = None) -> dict:
    await importer_jobs.wait_for_running()
    return (await execute(IMPORT, {"id": import_id, "after": after}, as_=admin)).ok()["volunteerImport"]


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IMPORT_MAX_BYTES", "2000")
    get_settings.cache_clear()
    yield 2000
    monkeypatch.delenv("IMPORT_MAX_BYTES")
    get_settings.cache_clear()


async def test_an_upload_imports_valid_rows_and_lists_each_rejected_row_with_its_code(db):
    # given a platform admin, a team, and a roster with good rows and bad ones
    admin = await make_volunteer("平台管理员", platform_admin=True)
    await make_team(admin, "朝阳助老队")
    existing = await make_volunteer("已注册")
    good = person(101, team="朝阳助老队")
    rows = [
        good,                                              # row 2: ok, in the team
        person(102, phone="12345"),                        # row 3: phone
        person(103, team="不存在的队"),                      # row 4: team
        person(104, id=good[2]),                           # row 5: same ID as row 2
        person(105, id=pii.id_number_of(existing)),        # row 6: already registered
        person(106, name=""),                              # row 7: name
        person(107),                                       # row 8: ok
    ]
    # when the admin uploads it
    answer = await upload(admin, roster(rows))
    # then the upload is accepted at once, and the job runs to the end in the background
    assert answer.status_code == 202, answer.text
    import_id = answer.json()["id"]
    job = await finished(admin, import_id)
    assert {k: job[k] for k in ("fileName", "status", "rowsTotal", "rowsRead", "imported",
                                "rejected", "failureCode")} == {
        "fileName": "roster.csv", "status": "DONE", "rowsTotal": 7, "rowsRead": 7,
        "imported": 2, "rejected": 5, "failureCode": None}
    assert job["startedBy"] == {"displayName": "平台管理员"}
    assert job["startedAt"] and job["finishedAt"]
    # and the rejected rows are data: row, column and code, three to a page
    page = job["rowErrors"]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    rest = (await finished(admin, import_id, page["pageInfo"]["endCursor"]))["rowErrors"]
    errors = [edge["node"] for edge in page["edges"] + rest["edges"]]
    assert [(e["row"], e["column"], e["code"], e["otherRow"]) for e in errors] == [
        (3, "phone", "INVALID", None), (4, "team", "UNKNOWN_TEAM", None),
        (5, "id_number", "DUPLICATE_IN_FILE", 2), (6, "id_number", "ALREADY_REGISTERED", None),
        (7, "name", "INVALID", None)]
    assert errors[2]["message"] == "Same ID number as row 2."
    # no value of a row is kept with its error
    stored = " ".join(await VolunteerImportError.all().values_list("message", flat=True))
    assert all(value not in stored for value in (good[1], good[2], pii.id_number_of(existing), "12345"))
    # the people are in, waiting to claim their accounts; the uploaded file is gone
    imported = await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT)
    assert sorted(v.real_name for v in imported) == ["居民101", "居民107"]
    assert await VolunteerImportChunk.all().count() == 0
    # and the list shows the import
    listed = (await execute(IMPORTS, as_=admin)).ok()["volunteerImports"]["edges"]
    assert [edge["node"]["id"] for edge in listed] == [import_id]


async def test_messages_of_rejected_rows_and_failed_files_are_in_the_readers_language(db):
    # given an import with a duplicate row, and one whose file lacks columns
    admin = await make_volunteer("平台管理员", platform_admin=True)
    good = person(201)
    duplicate = (await upload(admin, roster([good, person(202, phone=good[1])]))).json()["id"]
    broken = (await upload(admin, "姓名,手机号\n张三,13700000000\n".encode(), "bad.csv")).json()["id"]
    await importer_jobs.wait_for_running()
    # when they are read in Chinese
    context = Context(viewer=Viewer(admin), client_address="127.0.0.1", language=ZH)
    result = await schema.execute(IMPORT, variable_values={"id": duplicate}, context_value=context)
    failed = await schema.execute(IMPORT, variable_values={"id": broken}, context_value=context)
    # then the row's message names the other row, and the failure says what is missing
    assert result.data is not None and failed.data is not None
    row = result.data["volunteerImport"]["rowErrors"]["edges"][0]["node"]
    assert (row["row"], row["code"], row["message"]) == (3, "DUPLICATE_IN_FILE", "与第 2 行的手机号相同。")
    job = failed.data["volunteerImport"]
    assert (job["status"], job["failureCode"], job["imported"]) == ("FAILED", "MISSING_COLUMNS", 0)
    assert job["failureMessage"] == "缺少必需的列：姓名、手机号、身份证号、所属区。"
    assert await VolunteerImportChunk.all().count() == 0


async def test_a_file_over_the_bound_is_refused_while_streaming_and_nothing_is_written(db, small_limit):
    # given a platform admin and a roster larger than IMPORT_MAX_BYTES
    admin = await make_volunteer("平台管理员", platform_admin=True)
    body = roster([person(300 + i) for i in range(40)])
    assert len(body) > small_limit

    async def streamed():  # no Content-Length: only counting the chunks can catch it
        for start in range(0, len(body), 500):
            yield body[start:start + 500]

    # when it is uploaded with its length declared, and streamed without one
    declared = await upload(admin, body)
    chunked = await upload(admin, streamed(), language="zh-CN")
    # then both are refused with the code, the reason and the bound
    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.text
        error = answer.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "file",
                                       "reason": "TOO_LARGE", "maxBytes": 2000, "maxMegabytes": 0.0}
    assert chunked.json()["errors"][0]["message"].startswith("文件太大")
    # and nothing was written: no job, no chunk, nobody imported
    assert await VolunteerImport.all().count() == 0
    assert await VolunteerImportChunk.all().count() == 0
    assert await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT).count() == 0
    # while a file within the bound goes through
    assert (await upload(admin, roster([person(399)]))).status_code == 202
    await importer_jobs.wait_for_running()


async def test_only_platform_admins_upload_and_read_imports(db):
    # given an import, a team admin, a volunteer and a visitor
    admin = await make_volunteer("平台管理员", platform_admin=True)
    organiser = await make_volunteer("队长")
    await make_team(organiser, "队")
    volunteer = await make_volunteer("志愿者")
    import_id = (await upload(admin, roster([person(401)]))).json()["id"]
    await importer_jobs.wait_for_running()
    # when others upload: refused with codes, nothing stored
    assert (await upload(None, roster([person(402)]))).json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for other in (organiser, volunteer):
        answer = await upload(other, roster([person(403)]))
        assert answer.status_code == 403 and answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await VolunteerImport.all().count() == 1
    # and when they read: refused, and the node is not found
    for other, code in ((None, "UNAUTHENTICATED"), (organiser, "FORBIDDEN"), (volunteer, "FORBIDDEN")):
        assert (await execute(IMPORT, {"id": import_id}, as_=other)).codes == [code]
        assert (await execute(IMPORTS, as_=other)).codes == [code]
    assert (await execute(NODE, {"id": import_id}, as_=volunteer)).ok() == {"node": None}
    assert (await execute(NODE, {"id": import_id}, as_=admin)).ok() == {"node": {"id": import_id}}
    # an unknown import is not found; a file that is no roster is refused before it is stored
    missing = to_global_id("VolunteerImport", 10**9)
    assert (await execute(IMPORT, {"id": missing}, as_=admin)).codes == ["NOT_FOUND"]
    for name, body in (("roster.pdf", b"%PDF"), ("", b"a"), ("empty.csv", b"")):
        answer = await upload(admin, body, name)
        assert (answer.status_code, answer.json()["errors"][0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    assert await VolunteerImport.all().count() == 1


async def test_an_orphaned_job_is_resumed_after_its_checkpoint_and_a_superseded_runner_stops(db, tmp_path):
    # given a job whose process died after committing its first two rows (rows 2 and 3)
    admin = await make_volunteer("平台管理员", platform_admin=True)
    rows = [person(500 + i) for i in range(5)]
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(rows))
    job = await importer_jobs.do_queue_import(admin, "roster.csv", path)
    long_ago = datetime.now(UTC) - timedelta(seconds=importer_jobs.STALE_SECONDS + 5)
    await VolunteerImport.filter(id=job.id).update(
        status=ImportStatus.RUNNING, runner="dead", started_at=long_ago, heartbeat_at=long_ago,
        rows_read=2, imported=2)
    # when the background job looks for stalled imports
    assert await importer_jobs.resume_stalled() == 1
    # then it read on from row 4: three more people, no row read twice
    resumed = await VolunteerImport.get(id=job.id)
    assert (resumed.status, resumed.rows_read, resumed.imported, resumed.rejected) == (
        ImportStatus.DONE, 5, 5, 0)
    names = await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT).values_list("real_name", flat=True)
    assert sorted(names) == ["居民502", "居民503", "居民504"]
    # and a job that is alive is left to its runner
    again = await importer_jobs.do_queue_import(admin, "roster.csv", path)
    await VolunteerImport.filter(id=again.id).update(status=ImportStatus.RUNNING, runner="alive",
                                                     heartbeat_at=datetime.now(UTC))
    assert await importer_jobs.resume_stalled() == 0
    assert not await importer_jobs.run_import_job(again.id)


async def test_xlsx_rosters_upload_and_their_rows_are_counted_for_the_bar(db):
    from openpyxl import Workbook

    admin = await make_volunteer("平台管理员", platform_admin=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Phone", "ID number", "District", "Team", "Skills"])
    for index in range(3):
        row: list[object] = person(600 + index)
        row[1] = int(str(row[1]))
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    answer = await upload(admin, buffer.getvalue(), "名册.xlsx")
    job = await finished(admin, answer.json()["id"])
    assert (job["fileName"], job["status"], job["rowsTotal"], job["imported"]) == ("名册.xlsx", "DONE", 3, 3)
    not_a_workbook = (await upload(admin, b"not a zip", "fake.xlsx")).json()["id"]
    assert (await finished(admin, not_a_workbook))["failureCode"] == "UNREADABLE"


async def test_demo_has_a_finished_import_with_a_rejected_row(db):
    from resolvers.demo import seed_demo

    assert await seed_demo() is True
    job = await VolunteerImport.get()
    assert (job.status, job.rows_read, job.imported, job.rejected) == (ImportStatus.DONE, 3, 2, 1)
    assert await VolunteerImportError.filter(volunteer_import_id=job.id).values_list(
        "row_number", "column_name", "code") == [(4, "phone", "INVALID")]


@pytest.mark.e2e
async def test_over_http_on_two_workers_every_poll_reads_the_jobs_progress(pair_server: LiveServer):
    # given the shared two-worker server and a platform admin
    admin = await make_volunteer("平台管理员", platform_admin=True)
    headers = {"Authorization": f"Bearer {token_for(admin)}", "Accept-Language": "en"}
    root = pair_server.url.removesuffix("/graphql")
    # when a roster goes up over real HTTP (the worker that receives it runs it)
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{root}/imports/volunteers", params={"name": "roster.csv"},
                                   content=roster([person(901), person(902, phone="1")]), headers=headers)
    assert answer.status_code == 202, answer.text
    # then polls on fresh connections (either worker may answer) see it finish
    job: dict = {}
    for _ in range(100):
        async with httpx.AsyncClient(timeout=30) as client:
            read = await client.post(pair_server.url, headers=headers, json={
                "query": IMPORT, "variables": {"id": answer.json()["id"]}})
        job = read.json()["data"]["volunteerImport"]
        if job["status"] == "DONE":
            break
        await asyncio.sleep(0.1)
    assert (job["status"], job["imported"], job["rejected"]) == ("DONE", 1, 1)
    assert [edge["node"]["row"] for edge in job["rowErrors"]["edges"]] == [3]
