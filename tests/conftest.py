"""Test harness: every storage/broker test runs on SQLite + memory and on PostgreSQL + Redis.

Each run gets its own SQLite file (in a temporary directory, with the server logs), its own
PostgreSQL database and its own Redis namespace, and removes them at the end. Under
pytest-xdist every worker process imports this module, so each worker has its own (RUN_ID
differs) and cleans up its own; the controller only checks that the services are there. Locally a missing service skips its backend loudly; under
CI=true a missing service fails the run. `--backend sqlite` runs the embedded backend only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_ID = uuid.uuid4().hex[:8]


def _ram_dir() -> str | None:
    """/dev/shm when it is there, writable and has room: a RAM-backed file system."""
    try:
        if os.access("/dev/shm", os.W_OK) and shutil.disk_usage("/dev/shm").free > 4 * 2**30:
            return "/dev/shm"
    except OSError:
        pass
    return None


# The run's files (SQLite databases, server logs, backups, the cluster's and the chaos run's
# PostgreSQL data directories) go to a RAM-backed file system where the machine has one with
# room: on this machine's disk, ext4's journal of every test's wipe of the SQLite database cost
# ~7% of the CPU of the in-process SQLite tests and ~9% of their time. TEST_TMPDIR chooses
# another place. The temporary files of this process and of the servers and commands it starts
# (TMPDIR) go into the run's folder too, so that removing it as the run ends
# (pytest_sessionfinish) leaves nothing behind: a test server stopped with SIGKILL cannot
# remove the metrics folder it made (core/metrics.py), and /tmp kept one per such stop.
_TMP = Path(tempfile.mkdtemp(prefix=f"tongxin-test-{RUN_ID}-",
                             dir=os.environ.get("TEST_TMPDIR") or _ram_dir()))
(_TMP / "tmp").mkdir()
# Others may pass through (not list): the services the run starts under their own users (initdb
# as postgres, varnishd's worker) reach their own folders inside, as they did in /tmp.
for _folder in (_TMP, _TMP / "tmp"):
    _folder.chmod(0o711)
os.environ["TMPDIR"] = tempfile.tempdir = str(_TMP / "tmp")
os.environ["TONGXIN_NAMESPACE"] = f"txtest{RUN_ID}"
os.environ["TONGXIN_DATA_DIR"] = str(_TMP)
os.environ.setdefault("JWT_SECRET", "test-secret-" + uuid.uuid4().hex)
os.environ.setdefault("PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
os.environ.setdefault("LOGIN_ATTEMPTS_PER_ADDRESS", "1000")
# argon2's cheapest parameters, as Django's test runner swaps in a fast hasher: the default
# costs ~0.2 s of CPU a hash by design, and the suite registers and logs in thousands of times
# (the servers it starts inherit this). tests/volunteer checks hashing itself.
os.environ.setdefault("PASSWORD_HASH_PROFILE", "CHEAPEST")
# Test servers segment few posts: they load jieba on first use, not at every start (~0.8 s).
os.environ.setdefault("SEARCH_PRELOAD", "0")
# The tests read the rules' English messages unless a test asks for Chinese (Accept-Language);
# deployments default to zh-CN (resolvers/messages.py).
os.environ.setdefault("MESSAGE_LANGUAGE", "en")
# Every xdist worker holds an in-process pool, a shared live server and now and then a 2-worker
# server of its own: pools of 20 would pass PostgreSQL's 100 connections ("too many clients").
os.environ.setdefault("DB_POOL_MAX", "6")

import asyncpg  # noqa: E402
import pytest  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from tortoise import Tortoise, connections  # noqa: E402
from tortoise.backends.base.executor import EXECUTOR_CACHE  # noqa: E402

from db.config import tortoise_config  # noqa: E402
from resolvers import services as service_registry  # noqa: E402
from resolvers import stats  # noqa: E402
from resolvers.leaderboard import forget_board_rows  # noqa: E402
from resolvers.ratelimit import MemoryLimiter, RedisLimiter  # noqa: E402
from resolvers.signup import install_sign_up_function  # noqa: E402
from subscriptions.broker import MemoryBroker, RedisBroker  # noqa: E402
from subscriptions.channels import NAMESPACE  # noqa: E402
from tests.helpers import DB_HOOKS  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgres://root@127.0.0.1:5432/root")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str | None

    @property
    def postgres(self) -> bool:
        return self.name == "postgres"


def _pg_available() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc!r}"


def _redis_available() -> str | None:
    async def probe() -> None:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:
        return f"Redis at {REDIS_URL} unreachable: {exc!r}"


_PG_DB = f"tongxin_test_{RUN_ID}"
_SERVICE_PROBLEM: str | None = None
# False in an xdist controller (its workers make their own) and without the PostgreSQL backend.
_OWNS_DATABASE = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", choices=("both", "sqlite", "postgres"), default="both",
                     help="run storage tests on this backend only (make test-fast: sqlite)")


def _xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    # One directory the run's processes share (the controller's basetemp; pytest keeps the last
    # three): tests/reads/test_oracle.py's generated documents are drawn once per run, not once
    # per backend.
    if "TONGXIN_TEST_SHARED" not in os.environ:
        base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        os.environ["TONGXIN_TEST_SHARED"] = str(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


def pytest_configure(config: pytest.Config) -> None:
    global _SERVICE_PROBLEM, _OWNS_DATABASE
    if config.getoption("backend") == "sqlite":
        _SERVICE_PROBLEM = "not requested (--backend sqlite)"
        return
    problems = [p for p in (_pg_available(), _redis_available()) if p]
    _SERVICE_PROBLEM = "; ".join(problems) or None
    if _SERVICE_PROBLEM and IN_CI:
        raise pytest.UsageError(f"CI=true and a required service is missing: {_SERVICE_PROBLEM}")
    if _SERVICE_PROBLEM:
        print(f"\n!!! SKIPPING the PostgreSQL + Redis backend: {_SERVICE_PROBLEM} !!!\n")
        return
    if _xdist_controller(config):
        return
    _OWNS_DATABASE = True

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{_PG_DB}"')
            # A test database need not survive a crash: commits return without waiting for the
            # WAL flush (the suite commits tens of thousands of times; the fuzzer alone spent
            # most of its time waiting on them). Test servers connect to it and inherit this.
            await conn.execute(f'ALTER DATABASE "{_PG_DB}" SET synchronous_commit = off')
        finally:
            await conn.close()

    asyncio.run(create())


# Not pytest_unconfigure: the xdist controller ends a worker soon after its session finishes.
def pytest_sessionfinish(session: pytest.Session) -> None:
    _fail_on_lost_groups(session)
    shutil.rmtree(_TMP, ignore_errors=True)
    if not _OWNS_DATABASE:
        return

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{_PG_DB}" WITH (FORCE)')
        finally:
            await conn.close()
        client = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{NAMESPACE}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    asyncio.run(drop())


def pg_url() -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{_PG_DB}"


def backend_for(name: str) -> Backend:
    if name == "sqlite":
        return Backend("sqlite", f"sqlite://{_TMP / 'test.sqlite3'}", None)
    if _SERVICE_PROBLEM:
        pytest.skip(f"PostgreSQL + Redis backend unavailable: {_SERVICE_PROBLEM}")
    return Backend("postgres", pg_url(), REDIS_URL)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The storage + broker pair; every test using the database runs once per pair."""
    chosen = backend_for(request.param)
    EXECUTOR_CACHE.clear()  # cached INSERT statements are per connection name, not per dialect
    await Tortoise.init(config=tortoise_config(chosen.database_url), _enable_global_fallback=True)
    await Tortoise.generate_schemas(safe=True)
    await install_sign_up_function()
    for hook in DB_HOOKS:
        await hook(chosen.postgres)
    if chosen.redis_url:
        redis = Redis.from_url(chosen.redis_url)
        broker = RedisBroker(redis)
        await broker.start()
        current = service_registry.Services(broker=broker, limiter=RedisLimiter(redis), redis=redis)
    else:
        current = service_registry.Services(broker=MemoryBroker(), limiter=MemoryLimiter())
    service_registry.install(current)
    try:
        yield chosen
    finally:
        await service_registry.shutdown(current)
        _end_pools()
        await Tortoise.close_connections()


def _end_pools() -> None:
    """At the end of a worker's run: Tortoise's close waits up to 10 s for every connection of
    an asyncpg pool to be given back, and one still held (a test's task cancelled while it held
    one) kept one worker idle that long at the end of every run. The tests are over and the
    database is dropped next: the pools are terminated."""
    for client in connections.all():
        pool = getattr(client, "_pool", None)
        if pool is not None and hasattr(pool, "terminate"):
            held = pool.get_size() - pool.get_idle_size()
            if held:
                print(f"\n{held} PostgreSQL connection(s) still held at the end of the run")
            pool.terminate()
            client._pool = None


async def _pg_leftovers(connection: Any, tables: list[str]) -> tuple[list[str], list[str]]:
    """The tables holding rows and the sequences that moved since the last wipe, in one query."""
    probes = " UNION ALL ".join(
        f"SELECT 't', '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
    rows = await connection.execute_query_dict(
        f"SELECT * FROM ({probes}) AS filled (kind, name) UNION ALL SELECT 's', "
        "format('%I.%I', schemaname, sequencename) FROM pg_sequences "
        "WHERE schemaname = current_schema() AND last_value IS NOT NULL")
    return ([row["name"] for row in rows if row["kind"] == "t"],
            [row["name"] for row in rows if row["kind"] == "s"])


async def _wipe(chosen: Backend) -> None:
    connection = connections.get("default")
    tables = [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]
    if chosen.postgres:
        # DELETE, not TRUNCATE: a test leaves a few rows in a few tables, and TRUNCATE costs
        # ~2 ms a table (new files, and every connection of the shared servers rebuilds its
        # cache of the table) against ~0.05 ms for a DELETE of a few rows. Triggers are off
        # meanwhile (replica role: foreign keys in any order, the append-only access log), and
        # every sequence that moved starts again at 1, as RESTART IDENTITY did.
        filled, moved = await _pg_leftovers(connection, tables)
        if filled or moved:
            await connection.execute_script(
                "SET session_replication_role = replica;"
                + "".join(f'DELETE FROM "{t}";' for t in filled)
                + "SET session_replication_role = DEFAULT;"
                + "".join(f"SELECT setval('{s}', 1, false);" for s in moved))
    else:
        await connection.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;"
        )


DERIVED_KEYS = ("rl", "lb", "stats")


@pytest.fixture(autouse=True)
def _connections_proxy_untouched() -> Iterator[None]:
    """tortoise's `connections` is a proxy to the current context's handler. A test that
    patches an attribute on the proxy itself (monkeypatch.setattr(connections, "get", ...))
    leaves that handler's bound method on it after the undo: every later test in the worker,
    on the other backend too, would get this backend's client. Fails the test that did it."""
    yield
    assert not vars(connections), f"attributes left on tortoise.connections: {sorted(vars(connections))}"


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[Backend]:
    """An empty database (all tables wiped before the test) on the current backend."""
    await _wipe(backend)
    forget_board_rows()  # cached rows of ids that the wipe just made mean someone else
    limiter = service_registry.services().limiter
    redis = service_registry.services().redis
    if isinstance(limiter, MemoryLimiter):
        limiter._windows.clear()
    stats._memory_cache.clear()
    if redis is not None:
        # What Redis derived from the wiped database goes with it: rate-limit windows,
        # leaderboards, cached statistics (a leaderboard of the last test's ids would name
        # this test's people).
        keys = [key for pattern in DERIVED_KEYS
                async for key in redis.scan_iter(match=f"{NAMESPACE}:{pattern}:*")]
        if keys:
            await redis.delete(*keys)
    yield backend


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    yield _TMP


def _backend_of(item: Any) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec else None


def _unwanted(item: Any, only: str) -> bool:
    backend = _backend_of(item)
    if only != "both" and backend not in (None, only):
        return True
    # Redis-only and PostgreSQL-only tests have nothing to test on the embedded backend.
    return backend == "sqlite" and bool(
        item.get_closest_marker("redis") or item.get_closest_marker("postgres"))


# Tests using a server process (these fixtures or tests.live.start_server) are `e2e` wherever
# they live.
_SERVER_FIXTURES = {"live_server", "module_server", "http_server", "pair_server"}


def _shared_scope(item: Any) -> str | None:
    """The module (and backend) or package whose fixture the item shares (browsers, a module's
    server, the cluster's dozen processes), the shared two-worker server's group, or None. A module's two backends are two groups: its
    fixture starts once more, but two workers can take the halves of a long module (the browser
    journeys) instead of one worker running both."""
    if "pair_server" in item.fixturenames:
        # the two-worker server costs ~5 s of CPU to start: one per backend, not one per worker
        return f"pair_server[{_backend_of(item)}]"
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        scope = definitions[-1].scope
        if scope == "package":
            return str(definitions[-1].baseid) or "package"
        if scope == "module":
            return f"{item.nodeid.split('::')[0]}[{_backend_of(item)}]"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    # deselect, don't skip: these tests have nothing to test here
    unwanted = [i for i in items if _unwanted(i, config.getoption("backend"))]
    if unwanted:
        config.hook.pytest_deselected(items=unwanted)
        items[:] = [i for i in items if i not in unwanted]
    # Under xdist (--dist loadgroup) the tests sharing a module- or package-scoped fixture go
    # to one worker, so that fixture starts once, not once per worker.
    for item in items:
        if (_SERVER_FIXTURES & set(item.fixturenames) or "/e2e/" in item.nodeid
                or hasattr(getattr(item, "module", None), "start_server")):
            item.add_marker(pytest.mark.e2e)
    groups: dict[Any, str | None] = {}
    for item in items if config.pluginmanager.hasplugin("xdist") else ():
        scope = _shared_scope(item)
        if scope:
            item.add_marker(pytest.mark.xdist_group(scope))
        groups[item] = scope
    # A worker runs every SQLite test before any PostgreSQL one, so it initialises Tortoise
    # (and the broker, the search index...) once per backend. A group with a PostgreSQL test
    # (the cluster's) runs in the PostgreSQL half.
    postgres_groups = {groups.get(item) for item in items
                       if _backend_of(item) == "postgres" and groups.get(item)}

    def order(item: Any) -> tuple[bool, bool, bool, int]:
        # Within each half, longest first, so that no worker starts a long group while the
        # others run out of work (xdist hands out groups in the order their first test
        # appears): the scale-out cluster, then whatever starts server processes or
        # browsers, then in-process tests. These go module by module in an order fixed by a
        # hash of the module's path, not the alphabet: the workers take neighbouring modules
        # at the same time, and the live-update modules (broker, callout, chat), which wait on
        # the clock, sat side by side and left both cores idle for ~10 s in each half.
        in_process = not item.get_closest_marker("e2e") and not groups.get(item)
        return (_backend_of(item) == "postgres" or groups.get(item) in postgres_groups,
                not item.get_closest_marker("cluster"), not item.get_closest_marker("e2e"),
                zlib.crc32(item.nodeid.split("::")[0].encode()) if in_process else 0)

    items.sort(key=order)


LOST_GROUPS = "tongxin_lost_xdist_groups"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under --dist loadgroup, every grouped test must carry its group in its node id, which is
    how the xdist controller sees groups. When it does not (pytest 9.2 with pytest-xdist 3.8,
    pytest-dev/pytest-xdist#1386), each test goes to any worker: nothing fails, but every
    shared server, browser and the cluster start once per worker. The worker tells the
    controller, which fails the run (a worker raising here only shows as the scheduler's
    INTERNALERROR, without the reason)."""
    config = session.config
    if not getattr(config.option, "loadgroup", False) or not hasattr(config, "workeroutput"):
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        config.workeroutput[LOST_GROUPS] = (
            f"--dist loadgroup lost the groups of {len(lost)} tests (first: {lost[0]}): this "
            "pytest and pytest-xdist do not work together (pytest-dev/pytest-xdist#1386)")


_lost_groups: set[str] = set()


def pytest_testnodedown(node: Any, error: Any) -> None:
    message = getattr(node, "workeroutput", {}).get(LOST_GROUPS)
    if message:
        _lost_groups.add(message)


def _fail_on_lost_groups(session: pytest.Session) -> None:
    if _lost_groups:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for message in sorted(_lost_groups):
            if reporter is not None:
                reporter.write_line(f"ERROR: {message}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


pytest_plugins = ["tests.live"]
