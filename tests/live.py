"""Real server processes for end-to-end tests: uvicorn on a free port, same database as the test."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
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
        **(env or {}),
    }
    if backend.redis_url:
        full_env["REDIS_URL"] = backend.redis_url
    else:
        full_env.pop("REDIS_URL", None)
    log_path = (log_dir or Path(os.environ["TONGXIN_DATA_DIR"])) / f"server-{port}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "serve"], cwd=ROOT,
                               env=full_env, stdout=handle, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql",
                        process, log_path)
    deadline = time.monotonic() + 30
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


@contextlib.contextmanager
def serving(backend: Backend) -> Iterator[LiveServer]:
    """start_server, stopped on the way out."""
    server = start_server(backend)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(db: Backend) -> Iterator[LiveServer]:
    """A one-worker server on the test's database (and Redis, on the PostgreSQL backend)."""
    with serving(db) as server:
        yield server


@pytest.fixture(scope="module")
def module_server(backend: Backend) -> Iterator[LiveServer]:
    """One server per module and backend, on the backend's database as it is (no wipe)."""
    with serving(backend) as server:
        yield server


@pytest.fixture
def http_server(db: Backend, module_server: LiveServer) -> LiveServer:
    """Like live_server, but one process shared by the module's tests on a backend (a start
    costs ~2 s); the database is still wiped before each test. Only for plain HTTP tests: a
    process's live state (slot feeds, subscription groups keyed by ids that restart with each
    wipe) would leak from one WebSocket test into the next."""
    if module_server.process.poll() is not None:
        raise RuntimeError(f"the module's server died:\n{module_server.log()}")
    return module_server
