"""Shared bench plumbing: a throw-away PostgreSQL database, server processes, a load loop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.httpclient import LeanClient

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://root@127.0.0.1:5432/root")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
JWT_SECRET = "bench-secret-" + uuid.uuid4().hex
# Set in this process too: bench data generators seal phones and ID numbers (core/pii.py).
PII_KEY = os.environ.setdefault("PII_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def scratch_database(prefix: str = "tongxin_bench") -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def connect(database_url: str, attempts: int = 30) -> asyncpg.Connection:
    """asyncpg.connect, waiting while the shared PostgreSQL is at max_connections."""
    for attempt in range(attempts):
        try:
            return await asyncpg.connect(database_url)
        except asyncpg.TooManyConnectionsError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "PII_KEY": PII_KEY,
            "TONGXIN_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "warning", **extra}


def migrate(database_url: str) -> None:
    subprocess.run([sys.executable, "server.py", "migrate"], cwd=ROOT, env=bench_env(database_url),
                   check=True, capture_output=True)


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(c) for c in children.read().split()]
    except OSError:
        return []


def cpu_seconds(trees: dict[str, int], services: tuple[str, ...] = ("postgres", "redis-server"),
                ) -> dict[str, float]:
    """CPU time used so far (user + system, seconds): "client" is this process alone, each
    named tree a process and its descendants, and each service every process of that name on
    the machine (PostgreSQL's backends come and go with the pools). Two readings subtracted
    give a run's CPU split (`cpu_split`)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {"client": _ticks(os.getpid()) / tick}
    for name, root in trees.items():
        pending, total = [root], 0
        while pending:
            pid = pending.pop()
            total += _ticks(pid)
            pending.extend(_children(pid))
        used[name] = total / tick
    by_name = dict.fromkeys(services, 0)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
                if name in by_name:
                    by_name[name] += _ticks(int(entry))
    used.update({name: ticks / tick for name, ticks in by_name.items()})
    return used


def cpu_split(before: dict[str, float], after: dict[str, float], count: int) -> str:
    """Milliseconds of CPU per operation in each process tree between two readings."""
    return "  ".join(f"{name} {(after[name] - before[name]) * 1000 / count:.2f}"
                     for name in after)


def start(args: list[str], env: dict[str, str], port: int, path: str = "/graphql",
          health: str = "/healthz") -> Process:
    # A Tongxin server stops once the bench that started it is gone (scripts/commands.py).
    process = subprocess.Popen(args, cwd=ROOT, env={**env, "TONGXIN_EXIT_WITH_PARENT": str(os.getpid())},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90  # two workers take over 30 s to start on the loaded 2 cores
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code == 200:
                time.sleep(0.5)
                return Process(f"http://127.0.0.1:{port}{path}", process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args} did not start")


def start_tongxin(database_url: str, workers: int = 1, **extra: str) -> Process:
    port = free_port()
    env = bench_env(database_url, SKIP_MIGRATIONS="1", WORKERS=str(workers), PORT=str(port), **extra)
    return start([sys.executable, "server.py", "serve"], env, port)


async def measure(url: str, requests: Sequence[bytes], check: Callable[[int, Any], None], *,
                  seconds: float, concurrency: int) -> tuple[float, list[float]]:
    """Requests/s and latencies (ms) of POSTing the prepared `requests` (round robin; build
    them with `LeanClient(url).request_bytes`) from `concurrency` keep-alive connections for
    `seconds`; `check(status, body)` runs on every answer. The client is bench/httpclient's
    (tens of µs of CPU a request; httpx took ~2 ms, which on two shared cores capped both
    sides of a ratio at the load generator's speed and hid what our layers cost)."""
    client = LeanClient(url)
    await client.open(concurrency)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    turn = itertools.count()

    async def worker() -> None:
        while time.perf_counter() < deadline:
            request = requests[next(turn) % len(requests)]
            started = time.perf_counter()
            status, body = await client.post(request)
            latencies.append((time.perf_counter() - started) * 1000)
            check(status, body)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: list[float]) -> str:
    return (f"p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
            f"mean {statistics.fmean(values) if values else float('nan'):.1f} ms")


def sign_up_outcome(body: dict[str, Any]) -> str:
    """A signUp response's outcome: the error code, or the sign-up's status."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["data"]["signUp"]["status"])
