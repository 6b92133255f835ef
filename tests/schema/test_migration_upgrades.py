"""Upgrading a database that holds data keeps every row, reference and index: a city on the
embedded SQLite upgrades across every migration (see tests/schema/upgrade_pass.py)."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.live import ROOT


@pytest.mark.e2e
def test_every_migration_keeps_rows_references_and_indexes_of_a_filled_sqlite_database(tmp_root):
    # given a fresh SQLite database, each table filled before each migration
    run = uuid.uuid4().hex[:8]
    database, generated = tmp_root / f"upgrade-{run}.sqlite3", tmp_root / f"generated-{run}.sqlite3"
    # when every migration is applied in turn
    result = subprocess.run([sys.executable, "-m", "tests.schema.upgrade_pass", str(database),
                             str(generated)], cwd=ROOT, env=os.environ.copy(), text=True,
                            capture_output=True, timeout=120)
    # then nothing was lost on the way and the end has every declared index
    assert result.returncode == 0, result.stderr
    problems = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('"')]
    assert problems == [], "\n".join(problems)
