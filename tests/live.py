"""Real server processes for end-to-end tests: uvicorn on a free port, same database as the test.

A start costs ~2 s of CPU (a two-worker server ~5 s), so the plain fixtures (`live_server`,
`http_server`, `module_server`) hand out one one-worker server per backend and pytest(-xdist)
process, and `pair_server` one two-worker server (with a CORS origin configured; both answer
/metrics for METRICS_TOKEN).
Two processes on one database: `live_server` and `pair_server`. Tests needing a server of their
own (another configuration, a restart, Redis through a proxy) call `start_server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from tortoise import Tortoise, connections

from tests.conftest import Backend

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_from: int = 0  # a shared server's log as one test sees it: from its start on

    def log(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self.log_from)
            return log.read().decode(errors="replace")

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM and a wait for the graceful shutdown; `graceful=False` kills at once (a
        shared server at the end of the run: what it had open does not matter any more, and
        draining it held the last test of a worker for up to 15 s)."""
        if self.process.poll() is None and graceful:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # A worker whose parent was stopped mid-start can outlive it: the server runs in a
        # session of its own, and whatever is left of that session goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_server(backend: Backend, *, workers: int = 1, env: dict[str, str] | None = None,
                 log_dir: Path | None = None) -> LiveServer:
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": backend.database_url,
        "SKIP_MIGRATIONS": "1",
        "WORKERS": str(workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "info",
        # A test process killed without its teardown takes its servers with it.
        "TONGXIN_EXIT_WITH_PARENT": str(os.getpid()),
        **(env or {}),
    }
    if backend.redis_url:
        full_env["REDIS_URL"] = backend.redis_url
    else:
        full_env.pop("REDIS_URL", None)
    log_path = (log_dir or Path(os.environ["TONGXIN_DATA_DIR"])) / f"server-{port}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "serve"], cwd=ROOT,
                               env=full_env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql",
                        process, log_path)
    deadline = time.monotonic() + 120  # a loaded 2-core machine can take a minute or more
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                # with several workers, give every worker time to finish its lifespan start-up
                time.sleep(0.5 if workers > 1 else 0)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


@pytest.fixture(scope="session")
def shared_server(backend: Backend) -> Iterator[LiveServer]:
    """One one-worker server per backend (and per xdist worker), on the backend's database."""
    server = start_server(backend, env=SHARED_ENV)
    try:
        yield server
    finally:
        server.stop(graceful=False)


# A shared server runs no background jobs: they would act on the database of the in-process tests
# running meanwhile (an offer expiring, an archive built, a reminder sent under a test that
# checks it does so itself). Tests of the jobs on a server start a server of their own.
# Nor does it keep statistics for a minute: they would be counted from a database the wipe
# between tests has since emptied (a dashboard read by one module showed its stale figures in
# the next module's test on the same server).
# Both shared servers answer /metrics for METRICS_TOKEN: a test waits for their gauges (the
# subscriptions running: `wait_for_server_subscribers`), as a scraper would read them.
METRICS_TOKEN = "scrape-me-" + "x" * 24
SHARED_ENV = {"JOBS": "0", "STATS_CACHE_SECONDS": "0", "METRICS_TOKEN": METRICS_TOKEN}


# Each wipe restarts ids at 1, but the shared server keeps what it learnt by id (slot feeds and
# their versions, verified tokens, leaderboard rows, rate-limit windows): every test on it gets
# ids from a block of its own, far below the 10**9 some tests use as "missing".
_ID_BLOCK = 1_000_000
_id_blocks = itertools.count(1)


async def ids_the_server_never_saw(backend: Backend) -> None:
    start = next(_id_blocks) * _ID_BLOCK
    connection = connections.get("default")
    if backend.postgres:
        # is_called: the next wipe sees every sequence moved and restarts them all
        await connection.execute_query(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, $1, true) "
            "FROM pg_sequences WHERE schemaname = current_schema()", [start])
    else:
        tables = [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]
        await connection.execute_script("DELETE FROM sqlite_sequence;" + "".join(
            f"INSERT INTO sqlite_sequence (name, seq) VALUES ('{table}', {start});" for table in tables))


# The configuration of the shared two-worker server: what the tests using it look for.
PAIR_CORS_ORIGIN = "https://app.example.org"


@pytest.fixture(scope="session")
def shared_pair(backend: Backend) -> Iterator[LiveServer]:
    """One two-worker server per backend (and per xdist worker), on the backend's database."""
    server = start_server(backend, workers=2, env={**SHARED_ENV, "CORS_ORIGINS": PAIR_CORS_ORIGIN})
    try:
        yield server
    finally:
        server.stop(graceful=False)


@pytest.fixture
async def fresh_ids(db: Backend) -> None:
    """Ids from a block no shared server has seen (once per test, whichever servers it uses)."""
    await ids_the_server_never_saw(db)


def this_tests_view(server: LiveServer) -> LiveServer:
    if server.process.poll() is not None:
        raise RuntimeError(f"a shared server died:\n{server.log()}")
    return dataclasses.replace(server, log_from=server.log_path.stat().st_size)


# The last test handed each shared server (by its URL): named when it left a subscription running.
_last_test: dict[str, str] = {}


async def no_subscriptions_left(server: LiveServer, test: str) -> None:
    """Until the shared server runs no subscription (a test that waits for a count of them
    would count one an earlier test left); if one stays, the earlier test is named."""
    from tests.helpers import until

    left = ""

    async def none_left() -> bool:
        nonlocal left
        text = await scrape(server)
        left = ", ".join(sorted(f"{labels.get('field')} {count:g}"
                                for labels, count in samples(text, "tongxin_subscribers") if count))
        return not left

    await until(none_left, lambda: f"subscriptions still running on the shared server before {test}: {left}; "
                f"the test before it on this server was {_last_test.get(server.url)}",
                timeout=10, interval=0.05)
    _last_test[server.url] = test


@pytest.fixture
async def live_server(request: pytest.FixtureRequest, db: Backend, fresh_ids: None,
                      shared_server: LiveServer) -> LiveServer:
    """The backend's shared one-worker server on an empty database (and Redis, on the
    PostgreSQL backend), running no subscription; `log()` shows what it logged during this test."""
    server = this_tests_view(shared_server)
    await no_subscriptions_left(server, request.node.nodeid)
    return server


@pytest.fixture
async def pair_server(request: pytest.FixtureRequest, db: Backend, fresh_ids: None,
                      shared_pair: LiveServer) -> LiveServer:
    """The backend's shared two-worker server, as `live_server` is for one worker."""
    server = this_tests_view(shared_pair)
    await no_subscriptions_left(server, request.node.nodeid)
    return server


@pytest.fixture(scope="module")
def module_server(shared_server: LiveServer) -> LiveServer:
    """The backend's shared server, for a module-scoped fixture, on the database as it is."""
    return shared_server


@pytest.fixture
def http_server(live_server: LiveServer) -> LiveServer:
    """live_server, under the name the plain-HTTP tests know it by."""
    return live_server


async def log_lines_settle(server: LiveServer, wanted: Callable[[str], bool], seconds: float = 5.0) -> str:
    """The server's log once `wanted(log)` holds (a request's line is written after its response
    has gone) or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        log = server.log()
        if wanted(log) or time.monotonic() > deadline:
            return log
        await asyncio.sleep(0.05)


def samples(text: str, name: str) -> Iterator[tuple[dict[str, str], float]]:
    """A metric's samples in a /metrics scrape: (labels, value) each."""
    for line in text.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if match is not None and match[1] == name:
            yield dict(re.findall(r'(\w+)="([^"]*)"', match[2] or "")), float(match[3])


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there are none)."""
    return sum(value for found, value in samples(text, name)
               if all(found.get(key) == wanted for key, wanted in labels.items()))


async def scrape(server: LiveServer, token: str = METRICS_TOKEN) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(server.url.replace("/graphql", "/metrics"),
                                    headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.text


async def wait_for_server_subscribers(server: LiveServer, field: str, count: int, *,
                                      redis_url: str | None = None, channel: str | None = None,
                                      processes: int = 1, timeout: float = 10.0) -> None:
    """Until the server runs exactly `count` `field` subscriptions (its tongxin_subscribers
    gauge; 0 first, so that another test's closing ones are not counted) and, with Redis,
    `processes` of its processes have subscribed `channel` there (PUBSUB NUMSUB): with the
    in-process broker the gauge is all there is to see, and it counts an operation from its
    start, a few statements before its broker subscription."""
    from tests.helpers import until

    running = 0.0

    async def counted() -> bool:
        nonlocal running
        running = sample(await scrape(server), "tongxin_subscribers", field=field)
        return running == count

    # a scrape costs the server a few ms: every 50 ms, not 15
    await until(counted, lambda: f"{count} {field} subscriptions on the server; {running:g}",
                timeout=timeout, interval=0.05)
    if redis_url is None or channel is None:
        return
    redis = Redis.from_url(redis_url)
    listening = 0
    try:
        async def subscribed() -> bool:
            nonlocal listening
            [(_, listening)] = await redis.pubsub_numsub(channel)
            return listening >= processes

        await until(subscribed, lambda: f"{processes} server processes subscribed to {channel} "
                                        f"in Redis; {listening}", timeout=timeout)
    finally:
        await redis.aclose()
