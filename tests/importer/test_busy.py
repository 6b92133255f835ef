"""An import that meets a busy database (SQLite's lock past busy_timeout, a serialization
failure...) is left RUNNING for resume_stalled, like one whose connection was lost, not failed
for good (db/transient.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tortoise.exceptions import OperationalError

from models.importer import ImportStatus, VolunteerImport
from resolvers import importer_jobs
from tests.helpers import make_volunteer
from tests.importer.test_import import person
from tests.importer.test_web_import import roster


def real_busy_error(folder: Path) -> sqlite3.OperationalError:
    path = folder / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return error
    finally:
        holder.close()
        waiter.close()
    raise AssertionError("no lock error")


async def test_a_busy_database_leaves_the_import_running_for_its_resumption(
        db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    admin = await make_volunteer("平台管理员", platform_admin=True)
    path = tmp_path / "roster.csv"
    path.write_bytes(roster([person(700)]))
    job = await importer_jobs.do_queue_import(admin, "roster.csv", path)
    locked = real_busy_error(tmp_path)

    async def busy(*args: Any) -> None:
        raise OperationalError(locked)

    monkeypatch.setattr(importer_jobs, "_import_file", busy)
    # when
    with pytest.raises(OperationalError):
        await importer_jobs.run_import_job(job.id)
    # then
    assert (await VolunteerImport.get(id=job.id)).status == ImportStatus.RUNNING
