"""Checked-in artefacts stay true: migrations build the schema on both databases and match
the models; schema.graphql is the live schema."""

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

from schema import build_schema
from tests.conftest import PG_ADMIN_URL
from tests.live import ROOT


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "server.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)


def test_schema_graphql_is_up_to_date():
    committed = (ROOT / "schema.graphql").read_text()
    live = build_schema(introspection=True).as_str()
    assert committed.strip() == live.strip(), "schema.graphql is stale: run `make schema`"


@pytest.mark.e2e
def test_models_have_no_changes_missing_a_migration(tmp_root):
    result = run_cli("check-migrations", database_url=f"sqlite://{tmp_root / 'check.sqlite3'}")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
async def test_migrations_apply_idempotently_and_seed_demo_twice(backend):
    # given an empty database of the backend's kind
    if backend.postgres:
        name = f"tongxin_mig_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite://{os.environ['TONGXIN_DATA_DIR']}/migrations-{uuid.uuid4().hex[:8]}.sqlite3"
    try:
        # when migrations and demo data are applied twice, as `make run` does on every start
        runs = [run_cli(command, database_url=url) for command in ("migrate", "seed-demo", "migrate", "seed-demo")]
        # then
        for run in runs:
            assert run.returncode == 0, run.stdout + run.stderr
        assert "demo data loaded" in runs[1].stdout
        assert "already present" in runs[3].stdout
    finally:
        if backend.postgres:
            admin = await asyncpg.connect(PG_ADMIN_URL)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
