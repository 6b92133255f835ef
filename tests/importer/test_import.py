import asyncio
import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from tortoise.exceptions import IntegrityError

from core import pii
from models.team import Membership
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import importer
from resolvers.importer import import_volunteers
from resolvers.maintenance import make_id_number
from tests.helpers import execute, make_team, make_volunteer
from tests.live import ROOT

HEADER = ["姓名", "手机号", "身份证号", "所属区", "队伍", "技能"]
CLAIM = """
mutation Claim($phone: String!, $id: String!, $password: String!, $consent: Boolean!) {
  claimAccount(phone: $phone, idNumber: $id, password: $password, consent: $consent) {
    token volunteer { displayName accountStatus }
  }
}"""
SIGN_IN = "mutation L($phone: String!) { login(phone: $phone, password: \"new-password-1\") { token } }"

_rng = random.Random(11)


def person(index: int, **overrides: str) -> list[str]:
    row = {"name": f"居民{index}", "phone": f"137{index:08d}",
           "id": make_id_number(rng=_rng, male=index % 2 == 0), "district": "朝阳区",
           "team": "", "skills": "急救；驾驶" if index % 3 == 0 else ""}
    row.update(overrides)
    return [row["name"], row["phone"], row["id"], row["district"], row["team"], row["skills"]]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def read_errors(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return [(int(row["row"]), row["column"]) for row in csv.DictReader(handle)]


async def test_valid_rows_are_imported_pending_consent_with_teams(db, tmp_path):
    # given
    admin = await make_volunteer()
    await make_team(admin, "朝阳助老队")
    rows = [person(i, team="朝阳助老队" if i < 3 else "") for i in range(10)]
    # when
    report = await import_volunteers(write_csv(tmp_path / "roster.csv", rows), progress=False)
    # then
    assert (report.rows, report.imported, report.failed) == (10, 10, 0)
    assert report.error_file is None
    imported = sorted(await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT), key=pii.phone_of)
    assert len(imported) == 10
    assert all(v.password_hash is None and v.consented_at is None for v in imported)
    assert imported[0].skills == ",急救,驾驶,"
    assert await Membership.filter(volunteer_id__in=[v.id for v in imported]).count() == 3


async def test_every_bad_row_is_reported_and_skipped(db, tmp_path):
    # given
    existing = await make_volunteer("已注册")
    good = person(1)
    bad_checksum = person(2)
    bad_checksum[2] = bad_checksum[2][:17] + ("0" if bad_checksum[2][17] != "0" else "1")
    rows = [
        good,                                   # row 2: ok
        bad_checksum,                           # row 3: ID check digit
        person(3, phone="12345"),               # row 4: phone
        person(4, name=""),                     # row 5: name
        person(5, team="不存在的队"),             # row 6: team
        person(6, id=good[2]),                  # row 7: same ID as row 2 (same batch)
        person(7, id=pii.id_number_of(existing)),       # row 8: already registered
        person(8),                              # row 9: ok
        person(9, phone=good[1]),               # row 10: same phone as row 2 (next batch)
    ]
    # when
    report = await import_volunteers(write_csv(tmp_path / "roster.csv", rows), batch_size=8,
                                     progress=False)
    # then
    assert (report.rows, report.imported, report.failed) == (9, 2, 7)
    assert report.error_file is not None
    assert read_errors(report.error_file) == [
        (3, "id_number"), (4, "phone"), (5, "name"), (6, "team"), (7, "id_number"),
        (8, "id_number"), (10, "phone")]
    assert pii.id_number_of(existing) not in report.error_file.read_text(encoding="utf-8-sig")
    assert await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT).count() == 2


async def test_a_failing_batch_leaves_nothing_half_done(db, tmp_path, monkeypatch):
    # given: the second batch fails while writing memberships
    admin = await make_volunteer()
    await make_team(admin, "队")
    rows = [person(i, team="队") for i in range(10)]
    real = Membership.bulk_create
    calls = {"n": 0}

    async def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise IntegrityError("simulated")
        return await real(*args, **kwargs)

    monkeypatch.setattr(Membership, "bulk_create", flaky)
    # when
    report = await import_volunteers(write_csv(tmp_path / "roster.csv", rows), batch_size=4,
                                     progress=False)
    # then: batches 1 and 3 complete, batch 2 entirely absent
    assert (report.imported, report.failed) == (6, 4)
    imported = await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT)
    assert {pii.phone_of(v) for v in imported} == {rows[i][1] for i in (0, 1, 2, 3, 8, 9)}
    assert await Membership.filter(volunteer_id__in=[v.id for v in imported]).count() == 6


async def test_xlsx_rosters_with_numeric_cells(db, tmp_path):
    # given: spreadsheets store phone numbers as numbers
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Phone", "ID number", "District", "Team", "Skills"])
    for index in range(5):
        row: list[object] = person(index)
        row[1] = int(str(row[1]))
        sheet.append(row)
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    # when
    report = await import_volunteers(path, progress=False)
    # then
    assert (report.imported, report.failed) == (5, 0)


async def test_missing_columns_and_unknown_formats_are_refused(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,手机号\n张三,13700000000\n", encoding="utf-8")
    with pytest.raises(importer.BadInput, match="id_number"):
        await import_volunteers(bad, progress=False)
    with pytest.raises(importer.BadInput):
        await import_volunteers(tmp_path / "roster.pdf", progress=False)


async def test_claim_account_activates_an_imported_person(db, tmp_path):
    # given
    row = person(1)
    await import_volunteers(write_csv(tmp_path / "roster.csv", [row]), progress=False)
    variables = {"phone": row[1], "id": row[2], "password": "new-password-1", "consent": True}
    # then: not before claiming
    assert (await execute(SIGN_IN, {"phone": row[1]})).codes == ["UNAUTHENTICATED"]
    assert (await execute(CLAIM, {**variables, "consent": False})).codes == ["BAD_USER_INPUT"]
    other_id = make_id_number(rng=_rng)
    assert (await execute(CLAIM, {**variables, "id": other_id})).codes == ["UNAUTHENTICATED"]
    # when
    claimed = (await execute(CLAIM, variables)).ok()["claimAccount"]
    # then
    assert claimed["token"] and claimed["volunteer"] == {"displayName": "居民1",
                                                         "accountStatus": "ACTIVE"}
    assert (await execute(SIGN_IN, {"phone": row[1]})).ok()
    assert (await execute(CLAIM, variables)).codes == ["CONFLICT"]
    stored = await Volunteer.get(**pii.with_phone(row[1]))
    assert stored.consented_at is not None


@pytest.mark.e2e
async def test_command_line_prints_progress_and_rate(db, tmp_path):
    # given
    path = write_csv(tmp_path / "roster.csv", [person(i) for i in range(50)] + [person(99, phone="1")])
    env = {**os.environ, "DATABASE_URL": db.database_url}
    # when
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "server.py", "import-volunteers", str(path)], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=120)
    # then
    assert done.returncode == 1, done.stderr
    assert "51 rows read, 50 imported, 1 failed" in done.stdout and "rows/s" in done.stdout
    assert "51/51" in done.stderr  # the progress bar
    assert (tmp_path / "roster.csv.errors.csv").exists()
