"""A whole scale-out deployment on one machine, from existing engines only.

    python scripts/cluster.py [--nodes 3] [--dir DIR]    (what `make cluster` runs)

starts, on free local ports under one temporary directory:

* a PostgreSQL primary (its own `initdb`, never the system server) and a streaming replica of
  it made with `pg_basebackup -R` (so the replica follows the primary's WAL);
* a Redis Cluster of 3 primaries with 1 replica each (6 `redis-server` processes, joined with
  `redis-cli --cluster create`), so a primary can fail over;
* N app processes (`server.py serve`, REDIS_URL=redis+cluster://..., DATABASE_URL = primary,
  DATABASE_READ_URL = replica);
* haproxy (Debian package) in front of the app processes, round robin, health-checked on
  /readyz, WebSocket upgrades tunnelled; it retries a request only when the connection to a
  node failed (nothing was sent), and otherwise answers 502/503/504 with a GraphQL-shaped
  JSON error (code UNAVAILABLE).

It prints what it started (process ids, ports, URLs), waits for Ctrl-C (or SIGTERM) and then
stops exactly the processes it started, by their process ids, and removes the working
directory it made. Ctrl-C during start-up stops what had started and says so in one line.
Tests and bench/cluster.py use `Cluster` from here directly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
PG_USER = "postgres"  # the server refuses to run as root; the OS user only, roles are trust


def missing_binaries() -> list[str]:
    wanted = [PG_BIN / "initdb", PG_BIN / "postgres", PG_BIN / "pg_basebackup",
              Path(REDIS_SERVER), Path(REDIS_CLI), Path(HAPROXY)]
    return [str(path) for path in wanted if not path.exists()]


# Ports handed out by this process: the kernel may offer a port again until the server it was
# meant for has bound it (seen: two Redis nodes of one cluster given the same port).
_handed_out: set[int] = set()


def free_port() -> int:
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port")


def free_redis_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid free port too."""
    for _ in range(200):
        port = free_port()
        bus = port + 10000
        if bus > 65535 or bus in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", bus))
            except OSError:
                continue
        _handed_out.add(bus)
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


GRAPHQL_ERRORS = {
    502: ("Bad Gateway", "The server handling this request went away before answering. The "
          "request may or may not have taken effect: retry only an idempotent one."),
    503: ("Service Unavailable", "No server is available to answer; try again shortly."),
    504: ("Gateway Timeout", "The server did not answer in time. The request may or may not "
          "have taken effect: retry only an idempotent one."),
}


def write_error_files(directory: Path) -> dict[int, Path]:
    """haproxy's own answers, shaped like GraphQL errors so a client needs one error path."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for status, (reason, message) in GRAPHQL_ERRORS.items():
        body = json.dumps({"errors": [{"message": message,
                                       "extensions": {"code": "UNAVAILABLE"}}]})
        path = files[status] = directory / f"{status}.http"
        path.write_bytes((f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                          f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n"
                          f"Connection: close\r\n\r\n{body}").encode())
    return files


def haproxy_config(port: int, servers: list[int], errors: dict[int, Path]) -> str:
    """Round robin over `servers`, checked on /readyz. `retry-on conn-failure`: a request is
    sent again (to another node: redispatch) only when connecting failed, so it cannot have
    reached a node; once sent, it is never replayed (a sign-up is not a GET), and a node that
    dies mid-request yields a 502 the client can see and decide on."""
    lines = "\n".join(f"    server app{i} 127.0.0.1:{server} check inter 500 fall 2 rise 2"
                      for i, server in enumerate(servers))
    error_lines = "\n".join(f"    errorfile {status} {path}" for status, path in errors.items())
    return f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option redispatch
    retries 2
    retry-on conn-failure
{error_lines}
frontend tongxin
    bind 127.0.0.1:{port}
    default_backend apps
backend apps
    balance roundrobin
    option forwardfor
    option httpchk GET /readyz
    http-check expect status 200
{lines}
"""


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def redis_cli(port: int, *args: str, check: bool = True) -> str:
    done = subprocess.run([REDIS_CLI, "-p", str(port), *args], capture_output=True, text=True,
                          timeout=60, check=check)
    return done.stdout


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Cluster:
    """Processes of one deployment; `start()` then `stop()` (or use it as a context manager)."""

    base: Path
    nodes: int = 3
    redis_primaries: int = 3
    app_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    redis_ports: list[int] = field(default_factory=list)
    app: list[Proc] = field(default_factory=list)
    pg_primary_port: int = 0
    pg_replica_port: int = 0
    lb_port: int = 0
    database: str = "tongxin"
    # shared by every app node of this cluster when JWT_SECRET is not set
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    pii_key: str = field(default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    pg_dir: Path | None = None

    # ------------------------------------------------------------------ urls

    @property
    def database_url(self) -> str:
        return f"postgres://root@127.0.0.1:{self.pg_primary_port}/{self.database}"

    @property
    def read_url(self) -> str:
        return f"postgres://root@127.0.0.1:{self.pg_replica_port}/{self.database}"

    @property
    def redis_url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.redis_ports)

    @property
    def lb_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}/graphql"

    def node_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.app[index].port}/graphql"

    # ------------------------------------------------------------- lifecycle

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        try:
            self.start_postgres()
            self.start_redis()
            self.start_apps()
            self.start_haproxy()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, port: int, argv: list[str], *, env: dict[str, str] | None = None,
               user: str | None = None, cwd: Path | None = None) -> Proc:
        log = open(self.base / f"{name}.log", "ab")
        # Ctrl-C and SIGTERM wait until the new process is recorded: a KeyboardInterrupt raised
        # between Popen and the append left a Redis node running after "every process started
        # so far is stopped" (its own session, so the terminal's SIGINT never reached it).
        signals = {signal.SIGINT, signal.SIGTERM}
        held = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            # (the child must not inherit the blocked signals: it would ignore the SIGTERM
            # that stops it)
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       user=user, cwd=cwd, start_new_session=True,
                                       preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held))
            proc = Proc(name, process, port)
            self.procs.append(proc)
        finally:
            log.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return proc

    def start_postgres(self) -> None:
        # Its own directory right under /tmp: as root the server runs as `postgres`, which
        # must reach it (the working directory may sit in a private 0700 temp dir).
        pg_dir = self.pg_dir = Path(tempfile.mkdtemp(prefix="tongxin-pg-"))
        uid = pwd.getpwnam(PG_USER).pw_uid if os.geteuid() == 0 else None
        user = PG_USER if uid is not None else None
        if uid is not None:
            os.chown(pg_dir, uid, -1)
        primary, replica = pg_dir / "primary", pg_dir / "replica"
        subprocess.run([str(PG_BIN / "initdb"), "-D", str(primary), "-U", "root", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], check=True, user=user,
                       capture_output=True)
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 5\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\n"
                       "max_connections = 200\nshared_buffers = 64MB\n")
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.pg_primary_port = free_port()
        self._spawn("pg-primary", self.pg_primary_port,
                    [str(PG_BIN / "postgres"), "-D", str(primary), "-p", str(self.pg_primary_port),
                     "-k", str(pg_dir), "-c", "listen_addresses=127.0.0.1"], user=user)
        self._wait_pg(self.pg_primary_port)
        subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_primary_port),
                        "-U", "root", "-d", "postgres", "-qc", f"CREATE DATABASE {self.database}"],
                       check=True, capture_output=True)
        subprocess.run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                        str(self.pg_primary_port), "-U", "root", "-D", str(replica), "-R",
                        "-X", "stream", "--checkpoint=fast", "--no-sync"],
                       check=True, user=user, capture_output=True)
        self.pg_replica_port = free_port()
        self.start_replica()

    def start_replica(self) -> None:
        """The streaming replica (again, on the same port, after `stop_replica`)."""
        assert self.pg_dir is not None
        user = PG_USER if os.geteuid() == 0 else None
        self._spawn("pg-replica", self.pg_replica_port,
                    [str(PG_BIN / "postgres"), "-D", str(self.pg_dir / "replica"), "-p",
                     str(self.pg_replica_port), "-k", str(self.pg_dir), "-c",
                     "listen_addresses=127.0.0.1", "-c", "hot_standby=on"], user=user)
        self._wait_pg(self.pg_replica_port)

    def stop_replica(self) -> None:
        """Fast shutdown (SIGINT: open connections are cut, as when the server goes away)."""
        for proc in [p for p in self.procs if p.name == "pg-replica" and p.alive]:
            proc.process.send_signal(signal.SIGINT)
            proc.process.wait(timeout=30)
            self.procs.remove(proc)

    def _wait_pg(self, port: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                  capture_output=True)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL on {port} did not start")

    def start_redis(self) -> None:
        count = self.redis_primaries * 2
        for _ in range(count):
            port = free_redis_port()
            node_dir = self.base / f"redis-{port}"
            node_dir.mkdir()
            self._spawn(f"redis-{port}", port, [
                REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                # Fast failure detection for a one-machine test cluster (default 15 s).
                "--cluster-node-timeout", "1500", "--save", "", "--appendonly", "no",
                "--protected-mode", "no"])
            self.redis_ports.append(port)
        for port in self.redis_ports:
            wait_port(port)
        subprocess.run([REDIS_CLI, "--cluster", "create",
                        *[f"127.0.0.1:{p}" for p in self.redis_ports],
                        "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        self.wait_redis_ok()
        # `--cluster create` returns before every replica has attached and synced; failover
        # tests (and a real failover) need each primary's replica to be up first.
        for primary in self.redis_primary_ports():
            replica = self.replica_of(primary)
            self.wait_replica_synced(replica)

    def wait_redis_ok(self, timeout: float = 30.0) -> None:
        """Every live node reports cluster_state:ok and all 16384 slots on live primaries."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [p for p in self.redis_ports if self._redis_alive(p)]
            states = [redis_cli(p, "cluster", "info", check=False) for p in live]
            if live and all("cluster_state:ok" in s for s in states) and \
                    len(self.redis_primary_ports()) == self.redis_primaries:
                return
            time.sleep(0.2)
        raise TimeoutError("redis cluster not ok")

    def _redis_alive(self, port: int) -> bool:
        return any(p.port == port and p.alive for p in self.procs)

    def redis_primary_ports(self) -> list[int]:
        """Ports of live primaries, as the live nodes see them."""
        for port in self.redis_ports:
            if not self._redis_alive(port):
                continue
            out = redis_cli(port, "cluster", "nodes", check=False)
            ports = []
            for line in out.splitlines():
                parts = line.split()
                if len(parts) > 2 and "master" in parts[2] and "fail" not in parts[2] \
                        and len(parts) > 8:
                    ports.append(int(parts[1].split("@")[0].rsplit(":", 1)[1]))
            return sorted(ports)
        return []

    def replica_of(self, primary_port: int, timeout: float = 30.0) -> int:
        """The port of the primary's replica, once the primary's view of the cluster shows
        one (gossip takes a moment after `--cluster create` or a restart)."""
        deadline = time.monotonic() + timeout
        while True:
            out = redis_cli(primary_port, "cluster", "nodes")
            my_id = next(line.split()[0] for line in out.splitlines() if "myself" in line)
            for line in out.splitlines():
                parts = line.split()
                if parts[3] == my_id and "slave" in parts[2] and "fail" not in parts[2]:
                    return int(parts[1].split("@")[0].rsplit(":", 1)[1])
            if time.monotonic() > deadline:
                raise LookupError(f"no replica of {primary_port}")
            time.sleep(0.1)

    def wait_replica_synced(self, replica: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while "master_link_status:up" not in redis_cli(replica, "info", "replication"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica {replica} never synced")
            time.sleep(0.1)

    def failover(self, primary_port: int) -> int:
        """Manual failover of one shard (CLUSTER FAILOVER on its replica); returns the new
        primary's port once the cluster agrees."""
        replica = self.replica_of(primary_port)
        self.wait_replica_synced(replica)
        deadline = time.monotonic() + 30
        asked = 0.0
        while time.monotonic() < deadline:
            if "role:master" in redis_cli(replica, "info", "replication"):
                self.wait_redis_ok()
                return replica
            if time.monotonic() - asked > 3:  # a refused or timed-out attempt is retried
                redis_cli(replica, "cluster", "failover", check=False)
                asked = time.monotonic()
            time.sleep(0.1)
        raise TimeoutError("failover did not complete")

    def app_environment(self, port: int) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTEST", "TONGXIN_DATA_DIR"))}
        env.update({
            "DATABASE_URL": self.database_url,
            "DATABASE_READ_URL": self.read_url,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": env.get("JWT_SECRET") or self.jwt_secret,
            "PII_KEY": env.get("PII_KEY") or self.pii_key,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "TONGXIN_DATA_DIR": str(self.base / f"app-{port}"),
        })
        env.update(self.app_env)
        return env

    def start_apps(self) -> None:
        """Migrates the database once, then starts the app nodes side by side."""
        subprocess.run([sys.executable, str(ROOT / "server.py"), "migrate"], cwd=ROOT,
                       env=self.app_environment(0), check=True, capture_output=True, timeout=300)
        for index in range(self.nodes):
            self.start_app(index, wait=False)
        for proc in self.app:
            wait_http(f"http://127.0.0.1:{proc.port}/readyz", timeout=60, proc=proc)

    def start_app(self, index: int, port: int | None = None, *, wait: bool = True) -> Proc:
        """Starts app node `index` (again, on its old port when given: haproxy knows it)."""
        port = port or free_port()
        env = self.app_environment(port)
        env["SKIP_MIGRATIONS"] = "1"  # start_apps migrated the database
        proc = self._spawn(f"app-{index}", port, [sys.executable, str(ROOT / "server.py"), "serve"],
                           env=env, cwd=ROOT)
        if index < len(self.app):
            self.app[index] = proc
        else:
            self.app.append(proc)
        if wait:
            wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60, proc=proc)
        return proc

    def restart_redis(self, port: int) -> None:
        """Starts a stopped Redis node again with its nodes.conf: it rejoins as a replica."""
        old = next(p for p in self.procs if p.port == port and p.name.startswith("redis-"))
        self.procs.remove(old)
        self._spawn(f"redis-{port}", port, [str(a) for a in old.process.args])  # type: ignore[union-attr]
        wait_port(port)

    def kill_redis(self, port: int) -> None:
        proc = next(p for p in self.procs if p.port == port and p.alive)
        os.kill(proc.process.pid, signal.SIGKILL)
        proc.process.wait(10)

    def kill_app(self, index: int) -> None:
        """Kills an app node the hard way (SIGKILL: no graceful WebSocket close)."""
        proc = self.app[index]
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.process.pid, signal.SIGKILL)
        proc.process.wait(10)

    def start_haproxy(self) -> None:
        self.lb_port = free_port()
        config = self.base / "haproxy.cfg"
        config.write_text(haproxy_config(self.lb_port, [proc.port for proc in self.app],
                                         write_error_files(self.base / "errors")))
        self._spawn("haproxy", self.lb_port, [HAPROXY, "-db", "-f", str(config)])
        wait_port(self.lb_port)

    def stop(self) -> None:
        """Stops what this object started, newest first, by process id."""
        for proc in reversed(self.procs):
            if proc.alive:
                # postgres: SIGINT = fast shutdown; others exit on SIGTERM.
                sig = signal.SIGINT if proc.name.startswith("pg-") else signal.SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.process.pid, sig)
        for proc in reversed(self.procs):
            try:
                proc.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.process.pid, signal.SIGKILL)
                proc.process.wait(5)
        self.procs.clear()
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir = None


def wait_http(url: str, timeout: float = 30.0, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}")
        with contextlib.suppress(URLError, OSError), urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def started_table(cluster: Cluster) -> str:
    rows = [f"  {'process':<16}{'pid':>8}{'port':>7}"]
    rows += [f"  {proc.name:<16}{proc.process.pid:>8}{proc.port:>7}" for proc in cluster.procs]
    return "\n".join(rows)


def _failure(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        output = error.stderr or error.output or b""
        last = (output.decode(errors="replace") if isinstance(output, bytes) else output)
        tail = last.strip().splitlines()[-1:] or [""]
        return f"{Path(str(error.cmd[0])).name} exited with {error.returncode} {tail[0]}".strip()
    return f"{type(error).__name__}: {error}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--dir", help="working directory, kept afterwards (default: a new "
                        "temporary one, removed on stop)")
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 1
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="tongxin-cluster-"))
    remove_base = not args.dir
    cluster = Cluster(base, nodes=args.nodes)
    started = interrupted = stop = False

    def on_signal(*_: object) -> None:
        nonlocal interrupted, stop
        if started:
            stop = True
        elif not interrupted:  # abort the start-up where it is; repeats are ignored
            interrupted = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"working directory  {base}", flush=True)
    try:
        try:
            cluster.start()  # stops what it started if it does not get to the end
        except KeyboardInterrupt:
            print("interrupted during start-up; every process started so far is stopped",
                  file=sys.stderr)
            return 130
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, RuntimeError,
                LookupError) as error:
            if interrupted:  # a child got the terminal's SIGINT first
                print("interrupted during start-up; every process started so far is stopped",
                      file=sys.stderr)
                return 130
            remove_base = False
            print(f"start-up failed: {_failure(error)}; logs kept in {base}", file=sys.stderr)
            return 1
        started = True
        print(started_table(cluster))
        print(f"load balancer      {cluster.lb_url}")
        for index in range(cluster.nodes):
            print(f"app node {index}         {cluster.node_url(index)}")
        print(f"REDIS_URL          {cluster.redis_url}")
        print(f"DATABASE_URL       {cluster.database_url}")
        print(f"DATABASE_READ_URL  {cluster.read_url}")
        print("Ctrl-C stops everything started here.", flush=True)
        while not stop:
            time.sleep(0.5)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
        cluster.stop()
        if remove_base:
            shutil.rmtree(base, ignore_errors=True)
    print("stopped" + (f"; removed {base}" if remove_base else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
