"""`make soak`: hours of a day's mixed traffic (bench/locustfile.py) on PostgreSQL + Redis with
two uvicorn workers, beside open WebSockets (bench/watchers.py); then the integrity check.

    .venv/bin/python -m bench.soak [--minutes 30] [--users 60] [--watchers 200] [--volunteers 400]

(or SOAK_MINUTES, SOAK_USERS, SOAK_WATCHERS, SOAK_VOLUNTEERS; the mix itself: SOAK_MIX and the
other knobs in bench/locustfile.py). A fresh database on the machine's PostgreSQL (dropped at
the end), its own Redis namespace, migrations and the demo data, then the soak's own data
(bench/soak_data.py). Prints, per SOAK_BUCKET (60 s) bucket, p50/p99 per operation; the
answers by code; each worker's RSS and open file descriptors over time (from /proc); at the
end the integrity check (resolvers/integrity.py), double sign-ups, and whether every watcher's
last slot value equals the database. Plots go to docs/operations/soak-*.png, the figures to
docs/operations/soak-report.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import REDIS_URL, ROOT, bench_env, connect, percentile, scratch_database
from bench.infra import Sampler, Server
from bench.soak_data import prepare, run_command

OUT = ROOT / "docs" / "operations"
DOUBLE_SIGN_UPS = ("SELECT count(*) FROM (SELECT activity_id, volunteer_id FROM sign_up "
                   "WHERE status <> 'CANCELLED' GROUP BY 1, 2 HAVING count(*) > 1) d")


async def database_checks(database_url: str) -> tuple[list[str], dict[str, int], int]:
    """(integrity problems, rows per table, double sign-ups)."""
    from tortoise import Tortoise

    from db.config import tortoise_config
    from resolvers.integrity import integrity_report

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        report = await integrity_report()
    finally:
        await Tortoise.close_connections()
    conn = await connect(database_url)
    try:
        doubles = int(await conn.fetchval(DOUBLE_SIGN_UPS))
    finally:
        await conn.close()
    return report.problems, report.rows, doubles


async def slot_values(database_url: str, gids: dict[str, int]) -> dict[str, list[int]]:
    """What each watched activity's subscribers should hold last: (CONFIRMED rows, waitlisted)."""
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, taken_count - offered_count AS c, waitlist_count AS w "
                                "FROM activity WHERE id = ANY($1::int[])", list(gids.values()))
    finally:
        await conn.close()
    by_id = {r["id"]: [r["c"], r["w"]] for r in rows}
    return {gid: by_id[i] for gid, i in gids.items()}


class Watchers:
    """bench/watchers.py in a process of its own, driven over stdin/stdout."""

    def __init__(self, server: Server, token: str, activities: list[str], board: str | None,
                 count: int, never_read: int = 0) -> None:
        argv = [sys.executable, "-m", "bench.watchers", "--url", server.ws_url, "--token", token,
                "--count", str(count), "--never-read", str(never_read)]
        for gid in activities:
            argv += ["--activity", gid]
        if board:
            argv += ["--board", board]
        self.process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            raise RuntimeError(f"watchers did not start: {line!r}")

    def check(self, expected: dict[str, list[int]], seconds: float = 30) -> tuple[int, int, float, int]:
        """(watchers holding the expected value, watchers, seconds it took, reconnects so far)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"check {seconds} {json.dumps(expected)}\n")
        self.process.stdin.flush()
        _, matching, total, took, reconnects, _posts = self.process.stdout.readline().split()
        return int(matching), int(total), float(took), int(reconnects)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def latency_table(data: dict[str, Any]) -> tuple[list[str], dict[str, list[tuple[float, float, float, int]]]]:
    """Lines per bucket, and per operation [(minute, p50, p99, count)]."""
    bucket = float(data["bucket"])
    series: dict[str, list[tuple[float, float, float, int]]] = defaultdict(list)
    for key in sorted(data["latencies"], key=int):
        for name, values in data["latencies"][key].items():
            series[name].append((int(key) * bucket / 60, percentile(values, 0.5),
                                 percentile(values, 0.99), len(values)))
    lines = []
    for name in sorted(series):
        points = series[name]
        lines.append(f"  {name:12s} " + "  ".join(f"{m:4.0f}m {p50:5.0f}/{p99:5.0f}ms n{n}"
                                                   for m, p50, p99, n in points))
    return lines, series


def memory_lines(samples: list[tuple[float, int, int, int]], minutes: float) -> list[str]:
    by_pid: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for t, pid, rss, fds in samples:
        by_pid[pid].append((t, rss, fds))
    lines = []
    window = max(60.0, min(600.0, minutes * 60 / 3))  # 10 minutes, or a third of a short run
    for pid, points in sorted(by_pid.items()):
        warm = points[0][0] + 60  # the first minute is warm-up (imports, caches, pools)
        first = [rss for t, rss, _ in points if warm <= t < warm + window]
        last = [rss for t, rss, _ in points if t >= points[-1][0] - window]
        fd_counts = [f for _, _, f in points]
        if first and last:
            a, b = sum(first) / len(first) / 1024, sum(last) / len(last) / 1024
            lines.append(f"  worker {pid}: RSS first {window / 60:.0f} min after warm-up {a:.1f} MiB, "
                         f"last {window / 60:.0f} min {b:.1f} MiB ({(b - a) / a * 100:+.1f} %); "
                         f"open fds min {min(fd_counts)} max {max(fd_counts)} last {fd_counts[-1]}")
        else:
            lines.append(f"  worker {pid}: {len(points)} samples (lived {points[-1][0] - points[0][0]:.0f} s)")
    return lines


def plot(series: dict[str, list[tuple[float, float, float, int]]],
         samples: list[tuple[float, int, int, int]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax50, ax99) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name, points in sorted(series.items()):
        minutes = [p[0] for p in points]
        ax50.plot(minutes, [p[1] for p in points], label=name, linewidth=1)
        ax99.plot(minutes, [p[2] for p in points], label=name, linewidth=1)
    ax50.set_ylabel("p50 (ms)")
    ax99.set_ylabel("p99 (ms)")
    ax99.set_xlabel("minutes into the soak")
    ax50.legend(fontsize=7, ncol=4)
    ax50.set_title("Soak: latency per operation and minute (2 workers, PostgreSQL + Redis)")
    fig.tight_layout()
    latency = out / "soak-latency.png"
    fig.savefig(latency, dpi=80)
    plt.close(fig)
    fig, (axr, axf) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    by_pid: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for t, pid, rss_kib, fds in samples:
        by_pid[pid].append((t / 60, rss_kib, fds))
    for pid, readings in sorted(by_pid.items()):
        axr.plot([p[0] for p in readings], [p[1] / 1024 for p in readings], label=f"worker {pid}")
        axf.plot([p[0] for p in readings], [p[2] for p in readings], label=f"worker {pid}")
    axr.set_ylabel("RSS (MiB)")
    axf.set_ylabel("open fds")
    axf.set_xlabel("minutes into the soak")
    axr.legend(fontsize=8)
    axr.set_title("Soak: each worker's resident memory and open file descriptors")
    fig.tight_layout()
    rss = out / "soak-rss.png"
    fig.savefig(rss, dpi=80)
    plt.close(fig)
    return [latency, rss]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30")))
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", "60")))
    parser.add_argument("--watchers", type=int, default=int(os.environ.get("SOAK_WATCHERS", "200")))
    parser.add_argument("--volunteers", type=int, default=int(os.environ.get("SOAK_VOLUNTEERS", "400")))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    flash_every = float(os.environ.get("SOAK_FLASH_EVERY", "180"))
    flashes = max(2, int(args.minutes * 60 // flash_every) + 1)
    work = Path(tempfile.mkdtemp(prefix="tongxin-soak-"))
    report: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        report.append(line)

    with scratch_database("tongxin_soak") as database_url:
        env = bench_env(database_url, REDIS_URL=REDIS_URL, LOG_LEVEL="warning")
        run_command(env, "migrate")
        run_command(env, "seed-demo")
        fixture = asyncio.run(prepare(database_url, volunteers=args.volunteers, flash=flashes))
        (work / "fixture.json").write_text(json.dumps(fixture))
        server = Server(env, workers=2)
        server.start()
        started = time.monotonic()
        sampler = Sampler(server, started)
        sampler.start()
        watched = fixture["flash"] + fixture["today"]
        watchers = Watchers(server, fixture["tokens"][0], watched, fixture["board"], args.watchers)
        say(f"soak: {args.minutes:g} min, {args.users} Locust users over {args.volunteers} volunteers, "
            f"{args.watchers} WebSockets, {flashes} flash crowds every {flash_every:g} s, 2 workers "
            f"on PostgreSQL + Redis (server log {server.log_path})")
        locust_env = {**os.environ, "SOAK_FIXTURE": str(work / "fixture.json"),
                      "SOAK_OUT": str(work / "latency.json"), "SOAK_T0": str(time.time()),
                      "SOAK_USERS": str(args.users)}
        try:
            with open(work / "locust.log", "wb") as log:
                subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", "bench/locustfile.py",
                                "--headless", "--host", f"http://127.0.0.1:{server.port}",
                                "-u", str(args.users), "-r", str(max(1, args.users // 20)),
                                "-t", f"{int(args.minutes * 60)}s", "--stop-timeout", "10",
                                "--only-summary", "--csv", str(work / "locust")],
                               cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT, check=False)
            sampler.halt.set()
            time.sleep(1)
            expected = asyncio.run(slot_values(database_url, dict(zip(
                fixture["flash"] + fixture["today"], fixture["flash_ids"] + fixture["today_ids"],
                strict=True))))
            matching, total, took, reconnects = watchers.check(expected)
        finally:
            watchers.stop()
            server.stop()
        problems, rows, doubles = asyncio.run(database_checks(database_url))
        log_text = server.log_path.read_text(errors="replace")
    data = json.loads((work / "latency.json").read_text())
    lines, series = latency_table(data)
    say("p50/p99 per operation, per minute:")
    for line in lines:
        say(line)
    totals: Counter[str] = Counter()
    for counter in data["codes"].values():
        totals.update(counter)
    say("answers by operation and code: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    overall = [v for bucket in data["latencies"].values() for vs in bucket.values() for v in vs]
    say(f"requests {len(overall)}, {len(overall) / (args.minutes * 60):.1f}/s; "
        f"INTERNAL {sum(v for k, v in totals.items() if k.endswith(':INTERNAL'))}; "
        f"server log lines with Traceback: {log_text.count('Traceback')}")
    say("memory and file descriptors per worker:")
    for line in memory_lines(sampler.samples, args.minutes):
        say(line)
    say(f"watchers: {matching}/{total} hold the database's slot values ({took:.1f} s), "
        f"{reconnects} reconnects")
    say(f"integrity: {'ok' if not problems else problems}; double sign-ups {doubles}; "
        f"rows: sign_up {rows.get('sign_up')}, service_record {rows.get('service_record')}, "
        f"forum_post {rows.get('forum_post')}, help_request {rows.get('help_request')}, redemption {rows.get('redemption')}")
    for path in plot(series, sampler.samples, args.out):
        say(f"plot: {path}")
    (args.out / "soak-report.txt").write_text("\n".join(report) + "\n")
    return 0 if not problems and not doubles and matching == total else 1


if __name__ == "__main__":
    sys.exit(main())
