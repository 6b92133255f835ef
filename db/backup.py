"""Backups that restore (`server.py backup DEST`, `server.py restore SRC`; docs/operations.md).

PostgreSQL: `pg_dump --format=custom`, one consistent snapshot of the database taken while the
service keeps writing (pg_dump reads in one REPEATABLE READ transaction), restored with
`pg_restore --single-transaction` into a database that is new or empty: a failed restore leaves
it empty, never half-filled. SQLite: the online backup API (`sqlite3.Connection.backup`) copies
the file in one step under one read transaction, so the copy is the database at one instant
even while the server writes (WAL lets those writes go on meanwhile).

Either way the backup is written to DEST.part, checked (`pg_restore --list`, SQLite's
`PRAGMA quick_check`) and only then renamed to DEST: a file under DEST is a whole backup.
Redis is not backed up: everything in it is rebuilt from the database (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    tool: str  # "pg_dump 15.20" or "sqlite 3.40.1"


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> PostgresTarget:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432, unquote(parts.username or ""),
                   unquote(parts.password or ""), parts.path.lstrip("/"))

    def args(self) -> list[str]:
        return ["--host", self.host, "--port", str(self.port), "--username", self.user,
                "--no-password"]

    def env(self) -> dict[str, str]:
        # The password goes through the environment, never the command line (ps shows that).
        return {**os.environ, **({"PGPASSWORD": self.password} if self.password else {})}

    def fetchval(self, query: str, database: str | None = None) -> Any:
        """One value from `database` (default: this one), on a connection of its own."""

        async def ask() -> Any:
            connection = await asyncpg.connect(host=self.host, port=self.port, user=self.user,
                                               password=self.password or None,
                                               database=database or self.database, timeout=10)
            try:
                return await connection.fetchval(query)
            finally:
                await connection.close()

        return asyncio.run(ask())


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql")


def sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite://"):])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools of the "
                          "server's major version (Debian: postgresql-client-<major>)")
    return found


def _major(version_line: str) -> tuple[int, str]:
    match = re.search(r"(\d+)(?:\.(\d+))?", version_line)
    if not match:
        raise BackupError(f"cannot read a version from {version_line!r}")
    return int(match.group(1)), match.group(0)


def _check_tool_version(tool: str, target: PostgresTarget) -> str:
    """pg_dump refuses a server newer than itself; an older server's dump restores anywhere newer.
    Refused here with both versions named rather than halfway through."""
    tool_major, tool_version = _major(subprocess.run(
        [tool, "--version"], capture_output=True, text=True, check=True).stdout)
    server_major = int(target.fetchval("SHOW server_version_num")) // 10000
    if tool_major < server_major:
        raise BackupError(f"{Path(tool).name} {tool_version} cannot handle PostgreSQL "
                          f"{server_major}: install the client tools of version {server_major}")
    return f"{Path(tool).name} {tool_version}"


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({done.returncode}): "
                          f"{done.stderr.strip()[-2000:]}")


def _finish(part: Path, destination: Path, started: float, tool: str) -> BackupResult:
    os.replace(part, destination)
    return BackupResult(destination, destination.stat().st_size, time.perf_counter() - started,
                        tool)


def backup(url: str, destination: Path) -> BackupResult:
    """Writes a consistent backup of the database at `url` to `destination` (replaced if there)."""
    destination = destination.resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    started = time.perf_counter()
    if is_postgres(url):
        target = PostgresTarget.from_url(url)
        pg_dump = _tool("pg_dump")
        tool = _check_tool_version(pg_dump, target)
        _run([pg_dump, *target.args(), "--format=custom", "--file", str(part), target.database],
             target.env())
        _run([_tool("pg_restore"), "--list", str(part)], target.env())
        return _finish(part, destination, started, tool)
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    _sqlite_copy(source, part)
    return _finish(part, destination, started, f"sqlite {sqlite3.sqlite_version}")


def _sqlite_copy(source: Path, destination: Path) -> None:
    """The whole database in one backup step (pages=-1): one read transaction, one instant.
    Step-wise copying would restart whenever the server writes, and never end under load."""
    destination.unlink(missing_ok=True)
    # Not mode=ro: a read-only connection cannot open a WAL database whose -shm is missing.
    reading = sqlite3.connect(source, timeout=30)
    writing = sqlite3.connect(destination)
    try:
        reading.backup(writing, pages=-1)
        # The copy stands alone: one file, no -wal beside it, whichever mode the source used.
        writing.execute("PRAGMA journal_mode=DELETE")
        verdict = writing.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy of {source} fails SQLite's quick_check: {verdict}")
    finally:
        writing.close()
        reading.close()


def backup_kind(source: Path) -> str:
    with source.open("rb") as head:
        start = head.read(16)
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_CUSTOM_MAGIC):
        return "postgres"
    raise BackupError(f"{source} is neither a SQLite database nor a pg_dump custom archive")


def restore(source: Path, url: str) -> float:
    """Restores the backup `source` into the database at `url`, which must be new or empty
    (nothing is overwritten: drop or move the old one first). Seconds taken."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    kind = backup_kind(source)
    wanted = "postgres" if is_postgres(url) else "sqlite"
    if kind != wanted:
        raise BackupError(f"{source} is a {kind} backup but DATABASE_URL is a {wanted} database")
    started = time.perf_counter()
    if kind == "postgres":
        target = PostgresTarget.from_url(url)
        pg_restore = _tool("pg_restore")
        _fresh_postgres_database(target)
        _check_tool_version(pg_restore, target)
        _run([
            pg_restore, *target.args(), "--dbname", target.database, "--single-transaction",
            "--exit-on-error", "--no-owner", "--no-privileges", str(source)], target.env())
    else:
        _sqlite_restore(source, sqlite_path(url))
    return time.perf_counter() - started


def _fresh_postgres_database(target: PostgresTarget) -> None:
    """Creates the database if missing; refuses one that holds tables."""
    try:
        tables = target.fetchval(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")
    except asyncpg.InvalidCatalogNameError:
        quoted = target.database.replace('"', '""')
        target.fetchval(f'CREATE DATABASE "{quoted}"', database="postgres")
        return
    if tables:
        raise BackupError(f"database {target.database} already holds {tables} tables: restore "
                          "into a new or empty database (DROP DATABASE or pick another name)")


def _sqlite_restore(source: Path, destination: Path) -> None:
    if destination.exists() and destination.stat().st_size > 0:
        existing = sqlite3.connect(destination)
        try:
            tables = existing.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            existing.close()
        if tables:
            raise BackupError(f"{destination} already holds {tables} tables: restore into a "
                              "new file (move the old one and its -wal and -shm away first)")
    for leftover in (destination, Path(f"{destination}-wal"), Path(f"{destination}-shm")):
        leftover.unlink(missing_ok=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    _sqlite_copy(source, part)
    os.replace(part, destination)
