"""Volunteer imports run from the web (issue 26): the upload kept in the database, the job
that imports it in the background with its progress and rejected rows, and who may see them.

    upload ─▶ do_queue_import: one short transaction, the job row (QUEUED) + the file in chunks
           ─▶ start_import: the receiving process runs it at once (the answer does not wait)
              run_import_job: claims it (conditional UPDATE: one runner, whatever the number of
              workers), rebuilds the file in a temporary file, runs `import_rows` (the command
              line's loop and row rules); each batch's people, its rejected rows and the counts
              commit in one transaction (rows_read is the checkpoint), conditional on the job
              still being RUNNING under this runner
           ─▶ DONE (or FAILED: the file as a whole is unreadable); the file's chunks are deleted
    do_cancel_import: QUEUED or RUNNING ─▶ CANCELLED, one conditional UPDATE (chunks deleted)

A cancel is ordered against the batches by the job row alone (PostgreSQL: its row lock, taken
by both UPDATEs; SQLite: one writer at a time): a batch whose checkpoint committed first stays,
counted; the next one finds the job not RUNNING, rolls back whole, and its runner stops, in
whichever process it runs. A QUEUED job cancelled is never claimed.

A process that dies mid-import leaves a RUNNING job whose heartbeat stops: `resume_stalled`
(the `volunteer-imports` background job) claims it after STALE_SECONDS and resumes after the
checkpoint, which is never behind the people committed.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from db.transient import transient
from models.importer import ImportStatus, VolunteerImport, VolunteerImportChunk, VolunteerImportError
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.importer import (
    TEXTS,
    WORKBOOKS,
    ImportReport,
    RowError,
    RowRefused,
    count_rows,
    import_rows,
    read_rows,
)

log = logging.getLogger("tongxin.import")

CHUNK_BYTES = 256 * 1024
# Smaller than the command line's 1,000: the progress moves more often, and a batch holds the
# event loop of the process serving requests for less (docs/helprequests.md has the figures);
# not much smaller, as each batch commits its checkpoint (200 halved the rate here).
WEB_BATCH = 500
STALE_SECONDS = 120  # a RUNNING job whose heartbeat is older is presumed orphaned
QUEUED_GRACE_SECONDS = 10  # a QUEUED job nobody took this long (its process died first)
FILE_NAME_MAX = 200


class FileTooLarge(BadInput):
    def __init__(self, max_bytes: int) -> None:
        super().__init__("file", f"The file is larger than {max_bytes} bytes.")
        self.extensions.update(reason="TOO_LARGE", maxBytes=max_bytes,
                               maxMegabytes=round(max_bytes / 1_000_000, 1))


class _Stopped(Exception):
    """The job is no longer RUNNING under this runner: cancelled, or taken over by another
    process (this one was presumed dead)."""


def check_may_import(viewer: Viewer) -> Volunteer:
    admin = viewer.require_active("import volunteers")
    if not admin.is_platform_admin:
        raise Forbidden("Only platform admins import volunteers.")
    return admin


def check_file_name(name: str | None) -> str:
    """The uploaded file's own name (shown in the list; its suffix says how to read it)."""
    name = (name or "").strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > FILE_NAME_MAX:
        raise BadInput("file", f"Give the file's name (at most {FILE_NAME_MAX} characters).")
    if Path(name).suffix.lower() not in TEXTS + WORKBOOKS:
        raise BadInput("file", "Use a .csv or .xlsx file.")
    return name


async def do_queue_import(admin: Volunteer, file_name: str, path: Path) -> VolunteerImport:
    """Stores an upload (already on local disk, within the size bound) as a QUEUED job, in one
    short transaction; reads the file a chunk at a time."""
    size = (await asyncio.to_thread(path.stat)).st_size
    if size == 0:
        raise BadInput("file", "The file is empty.")
    total = await asyncio.to_thread(count_rows, path)
    async with in_transaction() as connection:
        job = await VolunteerImport.create(started_by_id=admin.id, file_name=file_name,
                                           file_bytes=size, rows_total=total, using_db=connection)
        with path.open("rb") as handle:
            for seq, chunk in enumerate(iter(lambda: handle.read(CHUNK_BYTES), b"")):
                await VolunteerImportChunk.create(volunteer_import_id=job.id, seq=seq, data=chunk,
                                                  using_db=connection)
    return job


_running: set[asyncio.Task[bool]] = set()


def start_import(import_id: int) -> None:
    """Runs the job in this process now, without holding the upload's answer."""
    task = asyncio.create_task(_run_reported(import_id), name=f"import:{import_id}")
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run_reported(import_id: int) -> bool:
    try:
        return await run_import_job(import_id)
    except Exception as error:  # the database went away: resume_stalled takes it up later
        log.warning("import %s interrupted: %s", import_id, type(error).__name__)
        return False


async def wait_for_running() -> None:
    """Tests: until the imports this process started have ended."""
    while _running:
        await asyncio.gather(*_running, return_exceptions=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _claimable(moment: datetime) -> Q:
    return Q(status=ImportStatus.QUEUED) | Q(
        status=ImportStatus.RUNNING, heartbeat_at__lt=moment - timedelta(seconds=STALE_SECONDS))


async def run_import_job(import_id: int) -> bool:
    """Claims the job and imports its file to the end; False if another process holds it."""
    runner = uuid.uuid4().hex
    moment = _now()
    claimed = await VolunteerImport.filter(_claimable(moment), id=import_id).update(
        status=ImportStatus.RUNNING, runner=runner, heartbeat_at=moment)
    if not claimed:
        return False
    await VolunteerImport.filter(id=import_id, started_at__isnull=True).update(started_at=moment)
    job = await VolunteerImport.get(id=import_id)
    suffix = Path(job.file_name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="tongxin-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        try:
            await _rebuild_file(import_id, path)
            await _import_file(job, path, runner)
        except _Stopped:
            if await VolunteerImport.filter(id=import_id, status=ImportStatus.CANCELLED).exists():
                log.info("import %s: cancelled; stopped after its last committed batch", import_id)
                return True
            log.warning("import %s: taken over by another process; this one stops", import_id)
            return False
        except RowRefused as error:
            await _finish(job.id, runner, ImportStatus.FAILED, error.row_code, error.message)
        except UnicodeDecodeError:
            await _finish(job.id, runner, ImportStatus.FAILED, "NOT_UTF8",
                          "The file is not UTF-8 text; save it as CSV UTF-8 or as XLSX.")
        except Exception as error:
            if transient(error) is not None:
                # The database (lost or busy) will answer again: left RUNNING, resumed from its
                # checkpoint by resume_stalled, instead of failed for good.
                raise
            # The type only, never the message: it could quote a cell of the file.
            unreadable = _unreadable(error)
            log.log(logging.INFO if unreadable else logging.ERROR, "import %s failed: %s",
                    import_id, type(error).__name__)
            if unreadable:
                await _finish(job.id, runner, ImportStatus.FAILED, "UNREADABLE",
                              "The file could not be read; check that it is a CSV or XLSX roster.")
            else:
                await _finish(job.id, runner, ImportStatus.FAILED, "INTERNAL",
                              "The import stopped on an unexpected error; rows before it are in.")
        else:
            await _finish(job.id, runner, ImportStatus.DONE)
    return True


def _unreadable(error: Exception) -> bool:
    """The file is not what its name says (a broken CSV, not a workbook)."""
    from openpyxl.utils.exceptions import InvalidFileException

    return isinstance(error, csv.Error | zipfile.BadZipFile | InvalidFileException | KeyError)


async def _rebuild_file(import_id: int, path: Path) -> None:
    """The upload as a local file (XLSX needs one to seek in), a chunk in memory at a time."""
    ids = await VolunteerImportChunk.filter(volunteer_import_id=import_id) \
        .order_by("seq").values_list("id", flat=True)
    with path.open("wb") as handle:
        for chunk_id in ids:
            data = await VolunteerImportChunk.filter(id=chunk_id).values_list("data", flat=True)
            if not data:  # deleted meanwhile: the job was cancelled
                raise _Stopped()
            handle.write(bytes(data[0]))


async def _import_file(job: VolunteerImport, path: Path, runner: str) -> None:
    report = ImportReport(rows=job.rows_read, imported=job.imported, failed=job.rejected)
    pending: list[RowError] = []
    recorded = False  # the batch's checkpoint went in with its people

    def fail(error: RowError) -> None:
        report.failed += 1
        pending.append(error)

    async def record(connection: BaseDBAsyncClient, inserting: int) -> None:
        """The batch's rejected rows and the counts after it, if the job is still this
        runner's: otherwise the batch (with its people, inside their insert) rolls back."""
        nonlocal recorded
        if pending:
            await VolunteerImportError.bulk_create(
                [VolunteerImportError(volunteer_import_id=job.id, row_number=error.row,
                                      column_name=error.column, code=error.code,
                                      other_row=error.other_row, message=error.message[:300])
                 for error in pending], using_db=connection)
        updated = await VolunteerImport.filter(
            id=job.id, runner=runner, status=ImportStatus.RUNNING,
        ).using_db(connection).update(rows_read=report.rows, imported=report.imported + inserting,
                                      rejected=report.failed, heartbeat_at=_now())
        if not updated:
            raise _Stopped()
        recorded = True

    async def batch_done(_: int) -> None:
        nonlocal recorded
        if not recorded:  # nobody to insert (or the insert collided): the checkpoint alone
            async with in_transaction() as connection:
                await record(connection, 0)
        recorded = False
        pending.clear()
        await asyncio.sleep(0)  # let the requests this process serves run between batches

    assert job.started_at is not None  # set when it was claimed
    rows = islice(read_rows(path), job.rows_read, None)  # after the checkpoint when resumed
    await import_rows(rows, report, fail, batch_done, started_at=job.started_at,
                      batch_size=WEB_BATCH, checkpoint=record)


async def _finish(import_id: int, runner: str, status: ImportStatus, code: str | None = None,
                  message: str | None = None) -> None:
    async with in_transaction() as connection:
        ended = await VolunteerImport.filter(
            id=import_id, runner=runner, status=ImportStatus.RUNNING,
        ).using_db(connection).update(status=status, failure_code=code, failure_message=message,
                                      finished_at=_now(), runner=None)
        if ended:  # the roster's ID numbers and phones are kept no longer than the job
            await VolunteerImportChunk.filter(volunteer_import_id=import_id) \
                .using_db(connection).delete()


async def resume_stalled(*, now: datetime | None = None) -> int:
    """The `volunteer-imports` job: runs the imports whose process died (QUEUED and never
    taken, or RUNNING without a heartbeat for STALE_SECONDS), from their checkpoints."""
    moment = now or _now()
    stalled = await VolunteerImport.filter(
        Q(status=ImportStatus.QUEUED,
          created_at__lt=moment - timedelta(seconds=QUEUED_GRACE_SECONDS))
        | Q(status=ImportStatus.RUNNING,
            heartbeat_at__lt=moment - timedelta(seconds=STALE_SECONDS)),
    ).order_by("id").limit(5).values("id")
    resumed = 0
    for row in stalled:
        resumed += await run_import_job(row["id"])
    return resumed


async def do_cancel_import(viewer: Viewer, import_id: int) -> VolunteerImport:
    """Stops a QUEUED or RUNNING import for good, whichever process runs it (its runner finds
    out at its next checkpoint); the people of the batches committed before stay
    (PENDING_CONSENT) and the counts are theirs. The file's chunks go, as when a job ends."""
    admin = check_may_import(viewer)
    async with in_transaction() as connection:
        cancelled = await VolunteerImport.filter(
            id=import_id, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING),
        ).using_db(connection).update(status=ImportStatus.CANCELLED, cancelled_by_id=admin.id,
                                      finished_at=_now(), runner=None)
        if cancelled:
            await VolunteerImportChunk.filter(volunteer_import_id=import_id) \
                .using_db(connection).delete()
    job = await visible_import(viewer, import_id)
    if not cancelled:
        raise _ended(job.status)
    return job


def _ended(status: ImportStatus) -> Conflict:
    if status == ImportStatus.DONE:
        return Conflict("This import has already finished; there is nothing to cancel.",
                        reason="IMPORT_DONE", status=status.value)
    if status == ImportStatus.FAILED:
        return Conflict("This import has already stopped on an error; there is nothing to "
                        "cancel.", reason="IMPORT_FAILED", status=status.value)
    return Conflict("This import was already cancelled.", reason="IMPORT_CANCELLED",
                    status=status.value)


async def visible_import(viewer: Viewer, import_id: int) -> VolunteerImport:
    """Any platform admin sees every import (they share the platform's rosters)."""
    check_may_import(viewer)
    job = await VolunteerImport.get_or_none(id=import_id).select_related("started_by",
                                                                         "cancelled_by")
    if job is None:
        raise NotFound("Import")
    return job


def list_imports(viewer: Viewer) -> QuerySet[VolunteerImport]:
    check_may_import(viewer)
    return VolunteerImport.all().select_related("started_by", "cancelled_by")


def row_errors(import_id: int) -> QuerySet[VolunteerImportError]:
    return VolunteerImportError.filter(volunteer_import_id=import_id)
