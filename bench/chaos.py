"""`make chaos`: scripted, repeatable faults under load, on a PostgreSQL and a redis-server this
harness starts itself (never the machine's own), the server (2 workers) reaching PostgreSQL
through an asyncio TCP proxy the harness controls (bench/infra.py).

    .venv/bin/python -m bench.chaos [--short] [--faults kill,pg-fast,...] [--json OUT]

Faults, in order (`--faults` picks some):
  kill          SIGKILL one uvicorn worker a third of the way into a flash crowd
  pg-fast       restart PostgreSQL, fast shutdown (sessions cut, checkpoint)
  pg-immediate  restart PostgreSQL, immediate shutdown (crash recovery at start)
  redis         stop redis-server for CHAOS_REDIS_SECONDS (20), start it again, FLUSHALL
  slow-readers  CHAOS_SLOW_READERS (50) sockets subscribe to every watched activity and never read
  pg-cut        the link to PostgreSQL blackholed for CHAOS_CUT_SECONDS (10): no byte either way

Throughout, CHAOS_CONCURRENCY (8) loops sign volunteers up and cancel them again, and a probe
saves a draft (a write) on a new connection every 0.2 s. After each fault: the recovery time (from the end of
the fault until the probe has answered for 3 s without a failure, and both workers are up);
the requests that failed meanwhile, by code; then, with the load paused, every acknowledged
sign-up or cancellation checked against the database, double sign-ups, the integrity check
(resolvers/integrity.py), and whether every WebSocket watcher converged to the database's
slot values. `--short` (the test in tests/ops) runs kill, redis (3 s) and pg-fast with a
smaller crowd, on tables made from the models as the test suite makes them (no migrations). Exit status 0 when nothing acknowledged was lost and everything converged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import JWT_SECRET, PII_KEY
from bench.infra import OwnPostgres, OwnRedis, Server, TcpProxy, missing_binaries
from bench.soak import DOUBLE_SIGN_UPS, Watchers
from bench.soak_data import prepare, run_command

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
CANCEL = "mutation C($id: ID!) { cancelSignUp(activityId: $id) { status } }"
# The probe writes: `me` is answered from what a worker keeps of the volunteer (verified
# tokens), so it went on answering while PostgreSQL was down and measured nothing.
PROBE = "mutation P($b: String!) { saveDraft(key: \"chaos-probe\", body: $b) }"
ALL_FAULTS = ["kill", "pg-fast", "pg-immediate", "redis", "slow-readers", "pg-cut"]
ACTIVE = ("CONFIRMED", "WAITLISTED", "OFFERED")


class Load:
    """Sign-ups and cancellations whose acknowledged outcome is remembered per (volunteer,
    activity): `active` after an acknowledged signUp, `cancelled` after an acknowledged
    cancelSignUp. A coded GraphQL error writes nothing (the API's promise); a request without
    an answer (connection lost, HTTP 5xx, timeout) or answered UNAVAILABLE (the database
    connection was lost, perhaps after its COMMIT) leaves the pair `unknown` until the next
    acknowledgement."""

    def __init__(self, url: str, tokens: list[str], volunteer_ids: list[int],
                 activities: dict[str, int]) -> None:
        self.url, self.tokens, self.volunteer_ids = url, tokens, volunteer_ids
        self.activities = activities  # gid -> id
        self.state: dict[tuple[int, int], str] = {}
        self.records: list[tuple[float, str, str]] = []  # (time, operation, OK | code)
        self.running = asyncio.Event()
        self.busy = 0
        self.client = httpx.AsyncClient(timeout=20, limits=httpx.Limits(max_connections=64))

    async def call(self, operation: str, document: str, token: str,
                   variables: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await self.client.post(self.url, json={"query": document, "variables": variables},
                                              headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            outcome = f"NET_{type(error).__name__}"
            self.records.append((time.monotonic(), operation, outcome))
            return outcome, None
        if response.status_code != 200:
            code = None
            try:
                code = response.json()["errors"][0]["extensions"]["code"]
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            outcome = f"HTTP_{response.status_code}" + (f"_{code}" if code else "")
            self.records.append((time.monotonic(), operation, outcome))
            return outcome, None
        body = response.json()
        if body.get("errors"):
            outcome = str(body["errors"][0].get("extensions", {}).get("code", "NO_CODE"))
        else:
            outcome = "OK"
        self.records.append((time.monotonic(), operation, outcome))
        return outcome, body.get("data")

    def settle(self, key: tuple[int, int], operation: str, outcome: str) -> None:
        if outcome == "OK":
            self.state[key] = "active" if operation == "signUp" else "cancelled"
        elif not outcome.isupper() or outcome.startswith(("HTTP_", "NET_", "INTERNAL",
                                                          "UNAVAILABLE")):
            # no answer, or the database connection was lost under it (UNAVAILABLE: the
            # COMMIT may have landed before the cut): it may or may not have been written
            self.state[key] = "unknown"

    async def act(self, index: int, activity: str) -> None:
        key = (self.volunteer_ids[index], self.activities[activity])
        operation = "cancel" if self.state.get(key) == "active" else "signUp"
        outcome, _ = await self.call(operation, CANCEL if operation == "cancel" else SIGN_UP,
                                     self.tokens[index], {"id": activity})
        self.settle(key, operation, outcome)

    async def loop(self, slot: int, concurrency: int, pause: float) -> None:
        mine = list(range(slot, len(self.tokens), concurrency))
        gids = list(self.activities)[1:]  # the first is the flash crowd's
        while True:
            await self.running.wait()
            self.busy += 1
            try:
                await self.act(random.choice(mine), random.choice(gids))
            finally:
                self.busy -= 1
            await asyncio.sleep(pause)

    async def pause(self) -> None:
        self.running.clear()
        while True:  # the loops finish the request they have in flight
            if not self.busy:
                return
            await asyncio.sleep(0.05)

    async def flash(self, activity: str, on_third: Any) -> None:
        """Everyone signs up for `activity` at once; `on_third()` after a third answered."""
        gate = asyncio.Semaphore(32)
        answered = 0

        async def one(index: int) -> None:
            nonlocal answered
            async with gate:
                key = (self.volunteer_ids[index], self.activities[activity])
                outcome, _ = await self.call("flash", SIGN_UP, self.tokens[index], {"id": activity})
                self.settle(key, "signUp", outcome)
                answered += 1
                if answered == len(self.tokens) // 3:
                    on_third()

        await asyncio.gather(*(one(i) for i in range(len(self.tokens))))


class Probe:
    """A `saveDraft` (a write: PostgreSQL must answer) on a fresh connection every 0.2 s (so a
    dead worker's kept-alive socket is not what it measures)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.results: list[tuple[float, bool]] = []

    async def run(self) -> None:
        while True:
            ok = False
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.post(self.url, json={
                        "query": PROBE, "variables": {"b": str(time.time())}},
                                                 headers={"Authorization": f"Bearer {self.token}"})
                    ok = response.status_code == 200 and not response.json().get("errors")
            except (httpx.HTTPError, ValueError):
                ok = False
            self.results.append((time.monotonic(), ok))
            await asyncio.sleep(0.2)

    async def recovered(self, since: float, server: Server, steady: float = 3.0,
                        limit: float = 120.0) -> float:
        """Seconds from `since` until the probe has succeeded for `steady` s without a
        failure (the moment of the first of those successes) and both workers run (a
        replacement worker counts once it has been up for `steady` s too)."""
        deadline = since + limit
        workers_since = since if len(server.worker_pids()) >= 2 else None
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            if len(server.worker_pids()) >= 2:
                workers_since = workers_since or now
            else:
                workers_since = None
            recent = [(t, ok) for t, ok in self.results if t >= since]
            failures = [t for t, ok in recent if not ok]
            after = [t for t, ok in recent if ok and (not failures or t > failures[-1])]
            if after and now - after[0] >= steady and workers_since and now - workers_since >= steady:
                answered = after[0] - since if failures else 0.0
                return max(0.0, answered, workers_since - since)
        return float("inf")


async def replacement(server: Server, victim: int, since: float) -> float:
    """Seconds from `since` until two workers run again, `victim` not among them (the new
    one may still be importing for a second or two; meanwhile the other takes every
    connection)."""
    while True:
        pids = server.worker_pids()
        if len(pids) >= 2 and victim not in pids:
            return time.monotonic() - since
        await asyncio.sleep(0.1)


async def acknowledged_problems(database_url: str, load: Load) -> tuple[int, int, int]:
    """(acknowledged writes the database does not show, pairs checked, double sign-ups)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT volunteer_id, activity_id FROM sign_up WHERE status = ANY($1::text[])",
                                list(ACTIVE))
        doubles = int(await conn.fetchval(DOUBLE_SIGN_UPS))
    finally:
        await conn.close()
    active = {(r["volunteer_id"], r["activity_id"]) for r in rows}
    lost = checked = 0
    for key, state in load.state.items():
        if state == "unknown":
            continue
        checked += 1
        if (state == "active") != (key in active):
            lost += 1
    return lost, checked, doubles


async def integrity(database_url: str) -> list[str]:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from resolvers.integrity import integrity_report

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        return (await integrity_report()).problems
    finally:
        await Tortoise.close_connections()


async def slot_values(database_url: str, watched: dict[str, int]) -> dict[str, list[int]]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, taken_count - offered_count AS c, waitlist_count AS w "
                                "FROM activity WHERE id = ANY($1::int[])", list(watched.values()))
    finally:
        await conn.close()
    by_id = {r["id"]: [r["c"], r["w"]] for r in rows}
    return {gid: by_id[i] for gid, i in watched.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.monotonic()

    def stamp(what: str) -> None:
        print(f"[{time.monotonic() - t0:5.1f} s] {what}", flush=True)

    pg, redis = OwnPostgres(), OwnRedis()
    pg.start()
    redis.start()
    proxy = TcpProxy(pg.port)
    proxy.start()
    server: Server | None = None
    watchers: Watchers | None = None
    tasks: list[asyncio.Task[None]] = []
    results: dict[str, Any] = {}
    try:
        direct = pg.create_database("tongxin_chaos")
        env = {"DATABASE_URL": pg.url(proxy.port, "tongxin_chaos"), "REDIS_URL": redis.url,
               "JWT_SECRET": JWT_SECRET, "PII_KEY": PII_KEY, "TONGXIN_NAMESPACE": "chaos",
               "LOG_LEVEL": "warning", "DB_POOL_MAX": "10"}
        stamp("PostgreSQL and Redis up")
        if not args.short:
            run_command({**os.environ, **env, "DATABASE_URL": direct}, "migrate")
            stamp("migrated")
        fixture = await prepare(direct, volunteers=args.volunteers, flash=5, browse=0, today=0,
                                generate=args.short)
        stamp("data ready")
        server = Server(env, workers=2)
        await asyncio.to_thread(server.start)
        stamp("server up")
        # The flash crowd's activity first, then the ones the steady load churns.
        activities = dict(zip(fixture["flash"], fixture["flash_ids"], strict=True))
        load = Load(server.url, fixture["tokens"], fixture["volunteer_ids"], activities)
        watchers = await asyncio.to_thread(Watchers, server, fixture["tokens"][0], list(activities),
                                           None, args.watchers)
        probe = Probe(server.url, fixture["tokens"][0])
        tasks.append(asyncio.create_task(probe.run()))
        tasks += [asyncio.create_task(load.loop(i, args.concurrency, args.pause))
                  for i in range(args.concurrency)]
        load.running.set()
        await asyncio.sleep(2)
        print(f"chaos: 2 workers, {args.volunteers} volunteers, {args.concurrency} load loops, "
              f"{args.watchers} watchers; PostgreSQL :{pg.port} via proxy :{proxy.port}, "
              f"redis :{redis.port}; server log {server.log_path}", flush=True)
        for fault in args.faults:
            begun = time.monotonic()
            extra = ""
            if fault == "kill":
                victim = server.worker_pids()[0]
                killed_at: list[float] = []

                replaced: list[asyncio.Task[float]] = []

                def kill(victim: int = victim, killed_at: list[float] = killed_at,
                         replaced: list[asyncio.Task[float]] = replaced) -> None:
                    os.kill(victim, signal.SIGKILL)
                    killed_at.append(time.monotonic())
                    replaced.append(asyncio.get_running_loop().create_task(
                        replacement(server, victim, killed_at[0])))

                await load.flash(next(iter(activities)), kill)
                ended = killed_at[0] if killed_at else time.monotonic()
                back = await asyncio.wait_for(replaced[0], 120) if replaced else float("nan")
                extra = (f"worker {victim} killed {ended - begun:.1f} s into a crowd of "
                         f"{len(load.tokens)} (crowd answered in {time.monotonic() - begun:.1f} s); "
                         f"the supervisor's replacement ran {back:.1f} s after the kill")
            elif fault in ("pg-fast", "pg-immediate"):
                await asyncio.to_thread(pg.restart, fault.split("-")[1])
                ended = time.monotonic()
                extra = f"restart took {ended - begun:.1f} s"
            elif fault == "redis":
                redis.stop()
                await asyncio.sleep(args.redis_seconds)
                await asyncio.to_thread(redis.start)
                redis.flush()
                ended = time.monotonic()
                extra = f"stopped {args.redis_seconds:g} s, then flushed"
            elif fault == "slow-readers":
                rss_before = _rss(server)
                slow = await asyncio.to_thread(Watchers, server, fixture["tokens"][1], list(activities),
                                               None, 1, args.slow_readers)
                await asyncio.sleep(20)
                extra = (f"{args.slow_readers} never-reading sockets for 20 s; workers' RSS "
                         f"{rss_before:.0f} -> {_rss(server):.0f} MiB")
                slow.stop()
                ended = time.monotonic()
            elif fault == "pg-cut":
                proxy.set_open(False)
                await asyncio.sleep(args.cut_seconds)
                proxy.set_open(True)
                ended = time.monotonic()
                extra = f"link blackholed {args.cut_seconds:g} s"
            else:
                raise SystemExit(f"unknown fault {fault}")
            recovery = await probe.recovered(ended, server)
            assert server.process is not None
            if server.process.poll() is not None:
                # uvicorn's supervisor stops every worker when a replacement fails its start-up
                # (exit code 3): nothing recovers after that, so the run ends here.
                results[fault] = {"server_exited": server.process.returncode, "note": extra}
                print(f"{fault:13s} the server exited (status {server.process.returncode}); "
                      f"see {server.log_path}", flush=True)
                break
            window_end = time.monotonic()
            await load.pause()
            failed = Counter(f"{op}:{outcome}" for t, op, outcome in load.records
                             if begun <= t <= window_end and outcome != "OK"
                             and outcome not in ("CONFLICT",))
            total = sum(1 for t, _, _ in load.records if begun <= t <= window_end)
            lost, checked, doubles = await acknowledged_problems(direct, load)
            problems = await integrity(direct)
            expected = await slot_values(direct, activities)
            matching, watching, took, reconnects = await asyncio.to_thread(watchers.check, expected, 30)
            results[fault] = {
                "recovery_seconds": round(recovery, 2), "requests": total, "failed": dict(failed),
                "acknowledged_lost": lost, "acknowledged_checked": checked, "double_sign_ups": doubles,
                "integrity_problems": problems, "watchers_converged": matching, "watchers": watching,
                "converged_in_seconds": took, "watcher_reconnects": reconnects, "note": extra}
            stamp(fault)
            print(f"{fault:13s} recovered in {recovery:.1f} s; {total} requests, failed "
                  f"{dict(failed) or 'none'}; acknowledged writes lost {lost}/{checked}; double "
                  f"sign-ups {doubles}; integrity {'ok' if not problems else problems}; watchers "
                  f"{matching}/{watching} converged in {took:.1f} s ({reconnects} reconnects so far); "
                  f"{extra}", flush=True)
            load.running.set()
            await asyncio.sleep(2)
        await load.pause()
        log = server.log_path.read_text(errors="replace")
        results["server_log_tracebacks"] = log.count("Traceback")
        await load.client.aclose()
    finally:
        for task in tasks:
            task.cancel()
        if watchers:
            watchers.stop()
        if server:
            server.stop()
        proxy.stop()
        redis.stop()
        pg.destroy()
    return results


def _rss(server: Server) -> float:
    from bench.infra import rss_kib

    return sum(rss_kib(pid) or 0 for pid in server.worker_pids()) / 1024


def healthy(results: dict[str, Any]) -> bool:
    faults = [r for r in results.values() if isinstance(r, dict)]
    return bool(faults) and all("server_exited" not in r for r in faults) and all(
        r["acknowledged_lost"] == 0 and r["double_sign_ups"] == 0 and not r["integrity_problems"]
        and r["watchers_converged"] == r["watchers"] and r["recovery_seconds"] < 120
        for r in faults)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--faults")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = os.environ.get
    args.volunteers = int(env("CHAOS_VOLUNTEERS", "60" if args.short else "300"))
    args.watchers = int(env("CHAOS_WATCHERS", "8" if args.short else "100"))
    args.concurrency = int(env("CHAOS_CONCURRENCY", "3" if args.short else "8"))
    args.pause = float(env("CHAOS_PAUSE", "0.1" if args.short else "0.05"))
    args.redis_seconds = float(env("CHAOS_REDIS_SECONDS", "3" if args.short else "20"))
    args.cut_seconds = float(env("CHAOS_CUT_SECONDS", "10"))
    args.slow_readers = int(env("CHAOS_SLOW_READERS", "50"))
    args.faults = (args.faults.split(",") if args.faults else
                   ["kill", "redis", "pg-fast"] if args.short else ALL_FAULTS)
    if missing := missing_binaries():
        print(f"chaos needs {', '.join(missing)}", file=sys.stderr)
        return 2
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ok = healthy(results)
    print("chaos:", "every acknowledged write kept, no double sign-up, clients converged"
          if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
