"""The short chaos run (bench/chaos.py --short) under load: one uvicorn worker SIGKILLed in a
flash crowd, Redis stopped then flushed, PostgreSQL restarted (fast shutdown), each on a
PostgreSQL and a redis-server of the harness's own (never the suite's). After each fault: no
acknowledged sign-up or cancellation lost, no double sign-up, the integrity check clean, every
WebSocket watcher back on the database's values. `make chaos` runs all six faults, longer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.infra import missing_binaries
from tests.conftest import IN_CI, Backend

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.e2e]


def test_short_chaos_run_keeps_every_acknowledged_write(backend: Backend, tmp_path: Path) -> None:
    if missing := missing_binaries():
        if IN_CI:
            pytest.fail(f"chaos needs {missing}")
        pytest.skip(f"chaos needs {missing}")
    out = tmp_path / "chaos.json"
    done = subprocess.run([sys.executable, "-m", "bench.chaos", "--short", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    print(done.stdout)
    assert out.exists(), done.stdout + done.stderr
    results = json.loads(out.read_text())
    for fault in ("kill", "redis", "pg-fast"):
        figures = results[fault]
        assert figures["acknowledged_lost"] == 0, (fault, figures)
        assert figures["acknowledged_checked"] > 0, (fault, figures)
        assert figures["double_sign_ups"] == 0, (fault, figures)
        assert figures["integrity_problems"] == [], (fault, figures)
        assert figures["watchers_converged"] == figures["watchers"], (fault, figures)
        assert figures["recovery_seconds"] < 60, (fault, figures)
    assert done.returncode == 0, done.stdout + done.stderr
