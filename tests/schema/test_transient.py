"""A busy database answers UNAVAILABLE with `reason: BUSY` (db/transient.py), never INTERNAL:
each driver error provoked for real on its backend, then through a mutation, which leaves no
row behind and one warning line without personal data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from tortoise import connections
from tortoise.exceptions import OperationalError

from db.transient import busy, transient
from models.activity import Activity, SignUp
from models.draft import Draft
from resolvers import signup_pg
from resolvers.messages import ZH, message_for
from schema.importer_http import ROUTES as IMPORT_ROUTES
from schema.relay import to_global_id
from schema.transient_http import TransientErrors
from tests.activity.factory import make_activity
from tests.conftest import PG_ADMIN_URL, RUN_ID, pg_url
from tests.helpers import Result, execute, make_team, make_volunteer, token_for

SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
SAVE_DRAFT = "mutation Save($key: String!, $body: String!) { saveDraft(key: $key, body: $body) }"
BUSY_TIMEOUT_MS = 10000  # db/config.py


def assert_busy(result: Result) -> None:
    assert result.codes == ["UNAVAILABLE"], result.errors
    extensions = result.errors[0]["extensions"]
    assert extensions["reason"] == "BUSY" and extensions["requestId"], extensions
    assert "busy" in result.errors[0]["message"]


def busy_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "tongxin.errors" and r.getMessage().startswith("database busy")]


@contextlib.asynccontextmanager
async def _write_lock_held_elsewhere(db: Any) -> AsyncIterator[Callable[[], object]]:
    """Another process's connection holds SQLite's write lock, and this one waits 0.1 s for it,
    not 10 s; yields what releases the lock."""
    client = connections.get("default")
    await client.execute_script("PRAGMA busy_timeout = 100")
    other = sqlite3.connect(db.database_url.removeprefix("sqlite://"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield lambda: other.execute("ROLLBACK")
    finally:
        other.close()
        await client.execute_script(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


async def test_a_write_lock_held_past_the_busy_timeout_answers_busy_and_writes_nothing(
        db, caplog: pytest.LogCaptureFixture) -> None:
    if db.postgres:
        pytest.skip("SQLite's file lock; PostgreSQL's busy errors are the tests below")
    # given: another process holds SQLite's write lock, and we wait 0.1 s for it, not 10 s
    creator = await make_volunteer("队长")
    volunteer = await make_volunteer("李明")
    team = await make_team(creator)
    activity = await make_activity(team, creator)
    async with _write_lock_held_elsewhere(db) as release:
        # when: a mutation in a transaction (BEGIN IMMEDIATE) and one in autocommit
        with caplog.at_level(logging.WARNING, logger="tongxin.errors"):
            signed = await execute(SIGN_UP, {"id": str(to_global_id("Activity", activity.id))},
                                   as_=volunteer)
            saved = await execute(SAVE_DRAFT, {"key": "thread:new", "body": "草稿"}, as_=volunteer)
        release()
        # then: a coded answer, nothing written, one line each naming the driver code only
        assert_busy(signed)
        assert_busy(saved)
        assert await SignUp.all().count() == 0 and await Draft.all().count() == 0
        row = await Activity.get(id=activity.id)
        assert (row.taken_count, row.waitlist_count, row.version) == (0, 0, activity.version)
        lines = busy_lines(caplog)
        assert len(lines) == 2 and all("error=OperationalError(SQLITE_BUSY)" in line
                                       for line in lines), lines
        assert not any("李明" in r.getMessage() or r.exc_info for r in caplog.records)
        # and the failed BEGIN left the connection's transaction lock free: the retry works
        async with asyncio.timeout(10):
            again = await execute(SIGN_UP, {"id": str(to_global_id("Activity", activity.id))},
                                  as_=volunteer)
        assert again.ok()["signUp"]["status"] == "CONFIRMED"


def test_the_busy_answer_is_in_chinese_too() -> None:
    assert message_for(ZH, "UNAVAILABLE", {"reason": "BUSY"}, "The database is busy") == \
        "数据库正忙，本次操作未完成，请稍后重试。"


async def test_sqlite_busy_and_locked_are_busy_whatever_wraps_them(tmp_path: Any) -> None:
    # given: SQLITE_BUSY provoked for real
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as raised:
        waiter.execute("BEGIN IMMEDIATE")
    holder.close()
    waiter.close()
    locked = raised.value
    # then: as raised, as tortoise wraps it (argument, cause or context); other errors are not
    assert locked.sqlite_errorcode == sqlite3.SQLITE_BUSY
    wrapped = OperationalError(locked)
    assert busy(locked) is locked and busy(wrapped) is locked
    assert transient(wrapped) == ("busy", locked)
    assert transient(sqlite3.OperationalError("database is locked")) is None  # no driver code
    assert transient(OperationalError("no such table: x")) is None


# ----- PostgreSQL: each busy error provoked on a real server -----

async def _connect(**kwargs: Any) -> asyncpg.Connection:
    return await asyncpg.connect(pg_url(), timeout=5, **kwargs)


async def _raised(work: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await work()
    except Exception as error:  # the error is what the test looks at
        return error
    raise AssertionError("no error")


@pytest.fixture
async def probe_table(db) -> Any:
    if not db.postgres:
        pytest.skip("PostgreSQL's own errors")
    admin = await _connect()
    table = f"transient_probe_{RUN_ID}"
    await admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n int);"
                        f"INSERT INTO {table} VALUES (1, 0), (2, 0)")
    try:
        yield table
    finally:
        await admin.execute(f"DROP TABLE {table}")
        await admin.close()


@contextlib.asynccontextmanager
async def _two_connections() -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    first, second = await _connect(), await _connect()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def provoke_serialization_failure(table: str) -> BaseException:
    async with _two_connections() as (first, second):
        await first.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await first.fetchval(f"SELECT n FROM {table} WHERE id = 1")
        await second.execute(f"UPDATE {table} SET n = n + 1 WHERE id = 1")
        return await _raised(lambda: first.execute(f"UPDATE {table} SET n = n + 1 WHERE id = 1"))


async def provoke_deadlock(table: str) -> BaseException:
    async with _two_connections() as (first, second):
        await first.execute("SET deadlock_timeout = '50ms'; BEGIN")
        await second.execute("SET deadlock_timeout = '50ms'; BEGIN")
        await first.execute(f"UPDATE {table} SET n = 1 WHERE id = 1")
        await second.execute(f"UPDATE {table} SET n = 1 WHERE id = 2")
        outcomes = await asyncio.gather(
            _raised(lambda: first.execute(f"UPDATE {table} SET n = 2 WHERE id = 2")),
            _raised(lambda: second.execute(f"UPDATE {table} SET n = 2 WHERE id = 1")),
            return_exceptions=True)
        return next(o for o in outcomes if isinstance(o, asyncpg.DeadlockDetectedError))


async def provoke_lock_timeout(table: str) -> BaseException:
    async with _two_connections() as (holder, waiter):
        await holder.execute(f"BEGIN; UPDATE {table} SET n = 3 WHERE id = 1")
        await waiter.execute("SET lock_timeout = '50ms'")
        return await _raised(lambda: waiter.execute(f"UPDATE {table} SET n = 4 WHERE id = 1"))


async def provoke_too_many_connections() -> BaseException:
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    role = f"transient_full_{RUN_ID}"
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        return await _raised(lambda: _connect(user=role))
    finally:
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()


async def test_postgres_busy_errors_provoked_for_real_are_busy(probe_table: str) -> None:
    provoked = [
        await provoke_serialization_failure(probe_table),
        await provoke_deadlock(probe_table),
        await provoke_lock_timeout(probe_table),
        await provoke_too_many_connections(),
    ]
    assert [getattr(e, "sqlstate", None) for e in provoked] == ["40001", "40P01", "55P03", "53300"]
    assert [transient(e) for e in provoked] == [("busy", e) for e in provoked]
    assert [transient(OperationalError(e)) for e in provoked] == [("busy", e) for e in provoked]
    # not busy: the request's own fault, or a slow statement (worth a traceback)
    assert transient(asyncpg.UniqueViolationError("duplicate key")) is None
    assert transient(asyncpg.QueryCanceledError("canceling statement due to statement timeout")) \
        is None


async def test_serialization_failures_past_the_retries_answer_busy_and_sign_up_no_one(
        probe_table: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # given: every attempt of the sign-up's transaction fails to serialise (a real 40001)
    failure = await provoke_serialization_failure(probe_table)
    attempts = 0

    async def conflicted(conn: Any, arguments: list[Any]) -> Any:
        nonlocal attempts
        attempts += 1
        raise OperationalError(failure) from failure

    monkeypatch.setattr(signup_pg, "_call", conflicted)
    creator = await make_volunteer("队长")
    volunteer = await make_volunteer("李明")
    activity = await make_activity(await make_team(creator), creator)
    # when
    with caplog.at_level(logging.WARNING, logger="tongxin.errors"):
        result = await execute(SIGN_UP, {"id": str(to_global_id("Activity", activity.id))},
                               as_=volunteer)
    # then: retried, then a coded answer; nothing written
    assert attempts == 5
    assert_busy(result)
    assert await SignUp.all().count() == 0
    assert (await Activity.get(id=activity.id)).taken_count == 0
    assert busy_lines(caplog) == [line for line in busy_lines(caplog)
                                  if line.endswith("error=SerializationError(40001)")] != []


# ----- plain HTTP routes (schema/transient_http.py) -----

async def test_a_plain_http_route_under_the_write_lock_answers_503_busy_and_keeps_no_job(
        db, caplog: pytest.LogCaptureFixture) -> None:
    if db.postgres:
        pytest.skip("SQLite's file lock")
    # given: the roster upload (a write) behind the middleware create_app puts innermost
    from models.importer import VolunteerImport
    from server import create_app
    from tests.importer.test_import import person
    from tests.importer.test_web_import import roster

    assert create_app().user_middleware[-1].cls is TransientErrors
    app = Starlette(routes=IMPORT_ROUTES, middleware=[Middleware(TransientErrors)])
    admin = await make_volunteer("平台管理员", platform_admin=True)
    async with _write_lock_held_elsewhere(db) as release:
        # when
        with caplog.at_level(logging.WARNING, logger="tongxin.errors"):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://test") as http:
                answer = await http.post("/imports/volunteers", params={"name": "r.csv"},
                                         headers={"Authorization": f"Bearer {token_for(admin)}",
                                                  "Accept-Language": "zh-CN"},
                                         content=roster([person(900)]))
        release()
    # then
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json() == {"errors": [{"message": "数据库正忙，本次操作未完成，请稍后重试。",
                                         "extensions": {"code": "UNAVAILABLE", "reason": "BUSY"}}]}
    assert await VolunteerImport.all().count() == 0
    assert [r.getMessage() for r in caplog.records if r.name == "tongxin.errors"] == [
        "database busy path=/imports/volunteers error=OperationalError(SQLITE_BUSY)"]


async def test_other_errors_of_plain_routes_stay_server_errors() -> None:
    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    app = Starlette(routes=[Route("/broken", broken)], middleware=[Middleware(TransientErrors)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as http:
        assert (await http.get("/broken")).status_code == 500
