"""What the restore drills share: the command line in a process of its own, and a fresh
database to restore into (removed afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import PG_ADMIN_URL, Backend
from tests.live import ROOT


@dataclass
class Done:
    code: int
    out: str
    err: str

    def report(self) -> dict[str, Any]:
        """The integrity report that `--json` printed last."""
        return dict(json.loads(self.out.strip().splitlines()[-1]))


async def server_py(*args: str, database_url: str) -> Done:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "server.py"), *args, cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "warning"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return Done(process.returncode or 0, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def fresh_database(backend: Backend, tmp_root: Path) -> AsyncIterator[str]:
    """The URL of a database that does not exist yet, on the backend's server."""
    name = f"restore_{uuid.uuid4().hex[:10]}"
    if not backend.postgres:
        path = tmp_root / f"{name}.sqlite3"
        try:
            yield f"sqlite://{path}"
        finally:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        return
    try:
        yield f"{backend.database_url.rsplit('/', 1)[0]}/tongxin_{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "tongxin_{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def column_values(database_url: str, query: str) -> list[Any]:
    """The first column of `query` on another database than the test's (the restored one)."""
    if database_url.startswith("sqlite://"):
        import sqlite3

        def read() -> list[Any]:
            with contextlib.closing(sqlite3.connect(database_url[len("sqlite://"):])) as conn:
                return [row[0] for row in conn.execute(query)]

        return await asyncio.to_thread(read)
    connection = await asyncpg.connect(database_url)
    try:
        return [row[0] for row in await connection.fetch(query)]
    finally:
        await connection.close()
