"""Bulk import of volunteer rosters (CSV or XLSX), and claiming an imported account.

The file is streamed row by row and imported in batches. Every row is validated (name, phone,
ID number checksum and birth date, district, team, skills); invalid rows and duplicates
(within the file or against the database) go to a per-row error report and are skipped.
Each batch's valid rows are inserted in one transaction: all of them or none. Imported people
are PENDING_CONSENT, without password or consent, until they claim their account.

Memory stays flat: only the current batch is held (duplicates of earlier rows are found in
the database, where the earlier row already is).
"""

from __future__ import annotations

import csv
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import pii
from core.settings import get_settings
from models.consent import ConsentPurpose
from models.team import Membership, MembershipStatus, Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import hash_password, issue_token
from resolvers.consent import record_consent
from resolvers.errors import BadInput, Conflict, Unauthenticated
from resolvers.services import services
from resolvers.validation import (
    NAME_MAX,
    check_id_number,
    check_password,
    check_phone,
    check_tags,
    check_text,
    encode_tags,
)

BATCH_SIZE = 1000
# Header spellings accepted for each column (case and surrounding spaces ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "real name", "姓名"),
    "phone": ("phone", "mobile", "手机", "手机号", "电话"),
    "id_number": ("id number", "id_number", "idnumber", "身份证号", "身份证号码", "证件号码"),
    "district": ("district", "区", "所属区", "区县"),
    "team": ("team", "队伍", "所属队伍", "团队"),
    "skills": ("skills", "技能", "专长"),
}
REQUIRED = ("name", "phone", "id_number", "district")
TEXTS = (".csv", ".txt")  # UTF-8 (a BOM is fine)
WORKBOOKS = (".xlsx", ".xlsm")  # the first sheet
SKILL_SEPARATORS = ("；", ";", "、", "，", ",", "|")


# Codes of rejected rows (VolunteerImportRowError.code; resolvers/messages.py words them):
INVALID = "INVALID"  # the column's value breaks its rule (the message says which)
UNKNOWN_TEAM = "UNKNOWN_TEAM"
AMBIGUOUS_TEAM = "AMBIGUOUS_TEAM"
DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"  # same ID number or phone as another row (other_row)
ALREADY_REGISTERED = "ALREADY_REGISTERED"
BATCH_COLLISION = "BATCH_COLLISION"  # its batch met a concurrent registration: run again


# The web's job records each batch's progress in the transaction that inserts its people:
# called there with the connection and how many people the batch inserts. Raising rolls the
# batch back whole.
Checkpoint = Callable[[BaseDBAsyncClient, int], Awaitable[None]]


@dataclass
class RowError:
    row: int
    column: str
    message: str  # the rule's English wording, never the cell's value
    code: str = INVALID
    other_row: int | None = None


class RowRefused(BadInput):
    """A row's value breaks a rule of the import itself (not a field rule): with its code."""

    def __init__(self, field: str, message: str, row_code: str) -> None:
        super().__init__(field, message)
        self.row_code = row_code


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    failed: int = 0
    seconds: float = 0.0
    error_file: Path | None = None
    errors_sample: list[RowError] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Candidate:
    row: int
    fields: dict[str, Any]
    team_id: int | None


def _header_map(header: list[Any]) -> dict[str, int]:
    normalized = [str(cell or "").strip().lower() for cell in header]
    found: dict[str, int] = {}
    for column, spellings in COLUMNS.items():
        for index, name in enumerate(normalized):
            if name in spellings:
                found[column] = index
                break
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise RowRefused("file", f"Missing column(s): {', '.join(missing)}.", "MISSING_COLUMNS")
    return found


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the user sees it, values by column) for each data row, streamed."""
    suffix = path.suffix.lower()
    if suffix in WORKBOOKS:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            yield from _rows(list(r) for r in workbook.worksheets[0].iter_rows(values_only=True))
        finally:
            workbook.close()
    elif suffix in TEXTS:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from _rows(iter(csv.reader(handle)))
    else:
        raise RowRefused("file", "Use a .csv or .xlsx file.", "FILE_TYPE")


def _rows(raw_rows: Iterator[list[Any]]) -> Iterator[tuple[int, dict[str, str]]]:
    header = next(raw_rows, None)
    if header is None:
        raise RowRefused("file", "The file is empty.", "EMPTY_FILE")
    columns = _header_map(header)
    for number, raw in enumerate(raw_rows, start=2):
        if not any(str(cell or "").strip() for cell in raw):
            continue
        yield number, {
            column: _cell(raw[index] if index < len(raw) else None)
            for column, index in columns.items()
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets turn phone numbers into floats
    return str(value).strip()


def count_rows(path: Path) -> int | None:
    """For the progress bar: data rows of a CSV (a fast byte scan), or the sheet's size."""
    suffix = path.suffix.lower()
    if suffix in TEXTS:
        with path.open("rb") as handle:
            return max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
                       - 1, 0)
    if suffix in WORKBOOKS:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True)
        except Exception:  # not a workbook: read_rows says so when the import starts
            return None
        try:
            rows = workbook.worksheets[0].max_row
        finally:
            workbook.close()
        return max(rows - 1, 0) if rows else None
    return None


def _split_skills(raw: str) -> list[str]:
    for separator in SKILL_SEPARATORS[1:]:
        raw = raw.replace(separator, SKILL_SEPARATORS[0])
    return [part.strip() for part in raw.split(SKILL_SEPARATORS[0]) if part.strip()]


def check_row(values: dict[str, str], teams: dict[str, int | None]) -> tuple[dict[str, Any], int | None]:
    """Field values for Volunteer.create (phone and ID number still plain: `_sealed` seals
    them), and the team id; raises BadInput naming the column."""
    name = check_text(values.get("name"), "name", max_len=NAME_MAX)
    phone = check_phone(values.get("phone", ""), "phone")
    identity = check_id_number(values.get("id_number", ""), "id_number")
    district = check_text(values.get("district"), "district", max_len=NAME_MAX)
    skills = check_tags(_split_skills(values.get("skills", "")), "skills")
    team_id: int | None = None
    team_name = values.get("team", "")
    if team_name:
        if team_name not in teams:
            raise RowRefused("team", "No team has this name.", UNKNOWN_TEAM)
        team_id = teams[team_name]
        if team_id is None:
            raise RowRefused("team", "Several teams have this name; rename one first.",
                             AMBIGUOUS_TEAM)
    return {
        "phone": phone, "real_name": name, "display_name": name,
        "id_number": identity.id_number, "gender": identity.gender,
        "birth_date": identity.birth_date, "district": district, "skills": encode_tags(skills),
    }, team_id


async def _team_ids_by_name() -> dict[str, int | None]:
    """Team name → id; None marks a name used by several teams."""
    result: dict[str, int | None] = {}
    for name, team_id in await Team.all().values_list("name", "id"):
        result[name] = None if name in result else team_id
    return result


class _ErrorWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None
        self._writer: Any = None

    def write(self, error: RowError) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["row", "column", "error"])
        self._writer.writerow([error.row, error.column, error.message])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def import_volunteers(path: Path, *, error_file: Path | None = None,
                            batch_size: int = BATCH_SIZE, progress: bool = True) -> ImportReport:
    """Imports a roster; returns counts. Rows that fail are listed in `error_file`
    (default: `<file>.errors.csv`, written only if a row fails)."""
    from tqdm import tqdm

    report = ImportReport(error_file=error_file or path.with_name(path.name + ".errors.csv"))
    assert report.error_file is not None
    errors = _ErrorWriter(report.error_file)
    started = time.perf_counter()
    bar = tqdm(total=count_rows(path), unit="rows", disable=not progress, desc=path.name)

    def fail(error: RowError) -> None:
        report.failed += 1
        errors.write(error)
        if len(report.errors_sample) < 20:
            report.errors_sample.append(error)

    async def batch_done(rows: int) -> None:
        bar.update(rows)

    try:
        await import_rows(read_rows(path), report, fail, batch_done,
                          started_at=datetime.now(timezone.utc), batch_size=batch_size)
    finally:
        bar.close()
        errors.close()
        report.seconds = time.perf_counter() - started
    if report.failed == 0:
        report.error_file = None
    return report


async def import_rows(rows: Iterable[tuple[int, dict[str, str]]], report: ImportReport,
                      fail: Callable[[RowError], None],
                      batch_done: Callable[[int], Awaitable[None]], *, started_at: datetime,
                      batch_size: int = BATCH_SIZE, checkpoint: Checkpoint | None = None) -> None:
    """The import's loop, shared by the command line and the web's job: batches of rows
    checked and inserted (`report.rows`/`imported` counted, rejects handed to `fail`), then
    `batch_done(rows in the batch)` once the batch is committed. `started_at`: when the file's
    import began (a resumed job passes its first start), to tell an earlier row of this file
    from a registration. `checkpoint`: run inside a batch's insert (only a batch with people
    to insert has one)."""
    teams = await _team_ids_by_name()
    batch: list[tuple[int, dict[str, str]]] = []
    for number, values in rows:
        report.rows += 1
        batch.append((number, values))
        if len(batch) >= batch_size:
            report.imported += await _import_batch(batch, teams, started_at, fail, checkpoint)
            await batch_done(len(batch))
            batch = []
    if batch:
        report.imported += await _import_batch(batch, teams, started_at, fail, checkpoint)
        await batch_done(len(batch))


async def _import_batch(batch: list[tuple[int, dict[str, str]]], teams: dict[str, int | None],
                        started_at: datetime, fail: Callable[[RowError], None],
                        checkpoint: Checkpoint | None = None) -> int:
    candidates: list[Candidate] = []
    ids_in_batch: dict[str, int] = {}
    phones_in_batch: dict[str, int] = {}
    for number, values in batch:
        try:
            fields, team_id = check_row(values, teams)
        except BadInput as error:
            fail(RowError(number, error.field, error.message,
                          error.row_code if isinstance(error, RowRefused) else INVALID))
            continue
        if fields["id_number"] in ids_in_batch:
            other = ids_in_batch[fields["id_number"]]
            fail(RowError(number, "id_number", f"Same ID number as row {other}.",
                          DUPLICATE_IN_FILE, other))
            continue
        if fields["phone"] in phones_in_batch:
            other = phones_in_batch[fields["phone"]]
            fail(RowError(number, "phone", f"Same phone as row {other}.", DUPLICATE_IN_FILE, other))
            continue
        ids_in_batch[fields["id_number"]] = number
        phones_in_batch[fields["phone"]] = number
        candidates.append(Candidate(number, fields, team_id))
    if not candidates:
        return 0
    ring = pii.keyring()
    id_of_index = {index: value for value in ids_in_batch for index in ring.indexes(value, pii.ID_NUMBER)}
    phone_of_index = {index: value for value in phones_in_batch
                      for index in ring.indexes(value, pii.PHONE)}
    existing = await Volunteer.filter(
        Q(id_number_index__in=list(id_of_index)) | Q(phone_index__in=list(phone_of_index))
    ).values("id_number_index", "phone_index", "status", "created_at")
    taken_ids = {id_of_index[row["id_number_index"]]: row for row in existing
                 if row["id_number_index"] in id_of_index}
    taken_phones = {phone_of_index[row["phone_index"]]: row for row in existing
                    if row["phone_index"] in phone_of_index}
    fresh: list[Candidate] = []
    for candidate in candidates:
        for column, taken in (("id_number", taken_ids), ("phone", taken_phones)):
            row = taken.get(candidate.fields[column])
            if row is not None:
                earlier = (row["status"] == VolunteerStatus.PENDING_CONSENT
                           and row["created_at"] >= started_at)
                fail(RowError(candidate.row, column, "Same value as an earlier row of this file."
                              if earlier else "Already registered on the platform.",
                              DUPLICATE_IN_FILE if earlier else ALREADY_REGISTERED))
                break
        else:
            fresh.append(candidate)
    if not fresh:
        return 0
    try:
        async with in_transaction() as connection:
            await Volunteer.bulk_create(
                [Volunteer(**_sealed(c.fields), status=VolunteerStatus.PENDING_CONSENT,
                           password_hash=None, consented_at=None, volunteer_number=_volunteer_number())
                 for c in fresh],
                using_db=connection,
            )
            with_team = [c for c in fresh if c.team_id is not None]
            if with_team:
                index_of = {c.row: ring.index(c.fields["id_number"], pii.ID_NUMBER) for c in with_team}
                ids = dict(await Volunteer.filter(
                    id_number_index__in=list(index_of.values())
                ).using_db(connection).values_list("id_number_index", "id"))
                await Membership.bulk_create(
                    [Membership(team_id=c.team_id, volunteer_id=ids[index_of[c.row]],
                                status=MembershipStatus.APPROVED) for c in with_team],
                    using_db=connection,
                )
            if checkpoint is not None:
                await checkpoint(connection, len(fresh))
    except IntegrityError:
        for candidate in fresh:
            fail(RowError(candidate.row, "", "Not imported: another row of its batch collided "
                          "with a concurrent registration; run the file again.", BATCH_COLLISION))
        return 0
    return len(fresh)


def _sealed(fields: dict[str, Any]) -> dict[str, Any]:
    """The row's model fields with its phone and ID number sealed (core/pii.py)."""
    stored = {k: v for k, v in fields.items() if k not in ("phone", "id_number")}
    return {**stored, **pii.identity_columns(fields["phone"], fields["id_number"])}


def _volunteer_number() -> str:
    return "TX" + "".join(secrets.choice("0123456789") for _ in range(12))


async def do_claim_account(phone: str, id_number: str, password: str, consent: bool,
                           client_address: str) -> tuple[str, Volunteer]:
    """An imported person proves phone + ID number, sets a password and consents."""
    settings = get_settings()
    limiter = services().limiter
    await limiter.hit(f"claim:addr:{client_address}", settings.login_attempts_per_address,
                      settings.login_window_seconds)
    if not consent:
        raise BadInput("consent", "You must accept the service terms to claim your account.")
    checked_phone = check_phone(phone)
    identity = check_id_number(id_number)
    new_password = check_password(password)
    await limiter.hit(f"claim:phone:{checked_phone}", settings.login_attempts_per_phone,
                      settings.login_window_seconds)
    volunteer = await Volunteer.get_or_none(**pii.with_phone(checked_phone),
                                            **pii.with_id_number(identity.id_number))
    if volunteer is None:
        raise Unauthenticated("No imported account matches this phone and ID number.")
    if volunteer.status != VolunteerStatus.PENDING_CONSENT:
        raise Conflict("This account is already active; sign in instead.", field="phone")
    password_hash = await hash_password(new_password)
    async with in_transaction() as connection:
        claimed = await Volunteer.filter(
            id=volunteer.id, status=VolunteerStatus.PENDING_CONSENT,
        ).using_db(connection).update(
            status=VolunteerStatus.ACTIVE, password_hash=password_hash,
            consented_at=datetime.now(timezone.utc),
        )
        if claimed:
            await record_consent(volunteer.id, ConsentPurpose.REGISTRATION, True, client_address,
                                 using_db=connection)
    if not claimed:
        raise Conflict("This account is already active; sign in instead.", field="phone")
    await volunteer.refresh_from_db()
    return issue_token(volunteer.id), volunteer


def format_report(report: ImportReport) -> str:
    lines = [f"{report.rows} rows read, {report.imported} imported, {report.failed} failed "
             f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"]
    if report.error_file is not None:
        lines.append(f"errors per row: {report.error_file}")
    return "\n".join(lines)

