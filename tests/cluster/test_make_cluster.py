"""`make cluster` (scripts/cluster.py) as an operator runs it: it prints what it started with
process ids and ports, Ctrl-C stops exactly those and removes its working directory, and a
Ctrl-C during start-up ends with one line, not a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cluster.conftest import _require_binaries

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
TABLE_ROW = re.compile(r"^  (\S+)\s+(\d+)\s+(\d+)$")


def _start() -> subprocess.Popen[str]:
    _require_binaries()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    # its own process group: the test's SIGINT to that group is a terminal's Ctrl-C
    return subprocess.Popen([sys.executable, "scripts/cluster.py", "--nodes", "1"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_mentioning(text: str) -> list[str]:
    """Processes whose command line or working directory names `text` (a Redis node rewrites
    its command line to "redis-server host:port [cluster]"; its directory still says where it
    came from)."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            directory = os.readlink(process / "cwd")
        except OSError:
            continue
        if text in command or directory.startswith(text):
            found.append(f"{command} (in {directory})")
    return found


def test_make_cluster_prints_its_processes_and_cleans_up_after_ctrl_c() -> None:
    # given: `make cluster` started
    process = _start()
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("Ctrl-C stops"):
            line = process.stdout.readline()
            assert line, f"exited early: {lines} {process.stderr.read() if process.stderr else ''}"
            lines.append(line.rstrip("\n"))
        base = Path(lines[0].split()[-1])
        started = {m[1]: (int(m[2]), int(m[3])) for m in map(TABLE_ROW.match, lines) if m}
        balancer = next(line.split()[-1] for line in lines if line.startswith("load balancer"))
        # then: every process with its pid and port, all running, the load balancer ready
        assert {"pg-primary", "pg-replica", "app-0", "haproxy"} <= set(started), lines
        assert sum(name.startswith("redis-") for name in started) == 6, lines
        assert all(_running(pid) for pid, _ in started.values())
        assert started["haproxy"][1] == int(balancer.split(":")[2].split("/")[0])
        assert httpx.get(balancer.replace("/graphql", "/readyz"), timeout=10).status_code == 200
        assert base.is_dir()
    finally:
        # when: Ctrl-C
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=120)
    # then: each of them stopped, the working directory gone, no traceback
    assert process.returncode == 0, err
    assert out.strip().endswith(f"stopped; removed {base}")
    assert not any(_running(pid) for pid, _ in started.values())
    assert not base.exists()
    assert "Traceback" not in err


def test_ctrl_c_during_start_up_ends_with_one_line() -> None:
    # given: `make cluster` starting, as far as the Redis nodes
    process = _start()
    assert process.stdout is not None
    base = Path(process.stdout.readline().split()[-1])
    deadline = time.monotonic() + 120
    while not list(base.glob("redis-*.log")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    # when: Ctrl-C
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    # then: one line, what was started is stopped, the working directory gone
    assert process.returncode == 130
    assert err.strip().splitlines() == [
        "interrupted during start-up; every process started so far is stopped"], err
    assert not base.exists()
    assert _processes_mentioning(str(base)) == []
