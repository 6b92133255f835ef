"""Processes the soak and chaos harnesses own and may break: a PostgreSQL of their own (initdb
into a temporary folder, on a free port: never the machine's 127.0.0.1:5432, which others
use), a redis-server of their own, an asyncio TCP proxy in front of PostgreSQL whose link can
be cut, the Tongxin server, and a sampler of each worker's RSS and open file descriptors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PG_USER = "postgres"  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing_binaries() -> list[str]:
    wanted = [PG_BIN / "initdb", PG_BIN / "pg_ctl", Path(REDIS_SERVER)]
    return [str(path) for path in wanted if not path.exists()]


class OwnPostgres:
    """A throw-away cluster: fsync off (the faults here are process faults, not power cuts)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tongxin-chaos-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = PG_USER if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.dir, pwd.getpwnam(PG_USER).pw_uid, -1)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(list(argv), check=check, user=self.user, capture_output=True)

    def start(self) -> None:
        if not self.data.exists():
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "root", "--auth=trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                           f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                           "full_page_writes = off\nmax_connections = 200\nshared_buffers = 64MB\n")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                  "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """`fast`: sessions are cut and a checkpoint written; `immediate`: no checkpoint, crash
        recovery at the next start."""
        self.stop(mode)
        self.start()

    def url(self, port: int | None = None, database: str = "postgres") -> str:
        return f"postgres://root@127.0.0.1:{port or self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "root",
                  "-d", "postgres", "-qc", f"CREATE DATABASE {name}")
        return self.url(database=name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server without persistence: stopping it loses everything, like a flush."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), 2) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(16)


class TcpProxy:
    """127.0.0.1:port -> target, in a thread of its own. `cut(seconds)` blackholes the link:
    bytes in flight stop both ways and new connections hang unanswered, as when a network
    path fails without any RST; afterwards the held bytes flow again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.open = threading.Event()
        self.open.set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()

    def start(self) -> None:
        self.thread.start()
        self.started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.gate = asyncio.Event()
        self.gate.set()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.started.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.gate.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.gate.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def set_open(self, value: bool) -> None:
        self.loop.call_soon_threadsafe(self.gate.set if value else self.gate.clear)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@dataclass
class Server:
    """`server.py serve` with WORKERS workers, in a session of its own."""

    env: dict[str, str]
    workers: int = 2
    port: int = field(default_factory=free_port)
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="tongxin-soak-", suffix=".log")[1]))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        env = {**os.environ, **self.env, "WORKERS": str(self.workers), "HOST": "127.0.0.1",
               "PORT": str(self.port), "SKIP_MIGRATIONS": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "serve"],
                                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_path.read_text(errors="replace")[-3000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200 \
                        and len(self.worker_pids()) >= self.workers:
                    time.sleep(1.0)  # every worker through its lifespan start-up
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy")

    def worker_pids(self) -> list[int]:
        """The uvicorn workers: the supervisor's children that are Python (not its resource
        tracker or the multiprocessing helpers)."""
        if self.process is None:
            return []
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
                pids = [int(c) for c in children.read().split()]
        except OSError:
            return []
        workers = []
        for pid in pids:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmd:
                if b"resource_tracker" not in cmd.read():
                    workers.append(pid)
        return workers

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Sampler(threading.Thread):
    """Every `every` seconds: (t, pid, RSS KiB, open fds) for each live worker."""

    def __init__(self, server: Server, started: float, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.server, self.started, self.every = server, started, every
        self.samples: list[tuple[float, int, int, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            now = time.monotonic() - self.started
            for pid in self.server.worker_pids():
                rss, fds = rss_kib(pid), open_fds(pid)
                if rss is not None and fds is not None:
                    self.samples.append((now, pid, rss, fds))
