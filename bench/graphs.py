"""The key graphs of docs/operations.md, drawn from a run's own /metrics: a 2-worker server on
PostgreSQL + Redis under mixed traffic, scraped once a second, then plotted with matplotlib.

    .venv/bin/python -m bench.graphs [--seconds 150] [--out docs/operations]

Traffic, all at once: anonymous activity-list reads and `me` reads at a steady pace; every
--wave-every seconds a sign-up crowd at one of the activities (in turn), each watched by
WebSocket slotCount subscribers (bench/wsclient.py, its own process), followed by a fifth
of that crowd's confirmed volunteers cancelling. Crowds come back to activities their
volunteers already joined, so the error graph shows user errors as well as successes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import matplotlib.pyplot as plt
from prometheus_client.parser import text_string_to_metric_families

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    ROOT,
    scratch_database,
    sign_up_outcome,
    start_tongxin,
)
from bench.httpclient import LeanClient
from bench.signup import make_activities, seed
from bench.slots import METRICS_TOKEN, Clients, bucket_quantile

LIST = ("query ActivityList { activities(first: 20) { totalCount edges { node { id title "
        "startsAt capacity confirmedCount waitlistCount remaining } } } }")
ME = ("query Me { me { displayName starLevel signUps(first: 5) { edges { node { status "
      "activity { title } } } } } }")
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
CANCEL = "mutation CancelSignUp($id: ID!) { cancelSignUp(activityId: $id) { status } }"

Labels = tuple[tuple[str, str], ...]
Scrape = dict[tuple[str, Labels], float]  # (sample name, sorted labels) → value, summed


def token(volunteer: int) -> dict[str, str]:
    return {"Authorization": "Bearer " + jwt.encode(
        {"sub": str(volunteer), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")}


async def scraper(url: str, deadline: float, out: list[tuple[float, Scrape]]) -> None:
    """One /metrics reading a second, timestamped from the start of the run."""
    started = time.monotonic()
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {METRICS_TOKEN}"},
                                 timeout=5) as client:
        while time.monotonic() < deadline:
            tick = time.monotonic()
            text = (await client.get(url)).text
            scrape: Scrape = defaultdict(float)
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name.startswith("tongxin_"):
                        key = (sample.name, tuple(sorted(sample.labels.items())))
                        scrape[key] += sample.value
            out.append((tick - started, scrape))
            await asyncio.sleep(max(0.0, 1 - (time.monotonic() - tick)))


async def readers(url: str, volunteers: list[int], per_second: float, deadline: float) -> None:
    """List and `me` reads alternating, paced to `per_second` over 8 connections."""
    client = LeanClient(url)
    requests = [client.request_bytes({"query": LIST})]
    requests += [client.request_bytes({"query": ME}, token(v)) for v in volunteers[:200]]
    turn = itertools.count()
    await client.open(8)

    async def reader() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            index = next(turn)
            await client.post(requests[0 if index % 2 else 1 + index // 2 % (len(requests) - 1)])
            await asyncio.sleep(max(0.0, 8 / per_second - (time.monotonic() - started)))

    try:
        await asyncio.gather(*(reader() for _ in range(8)))
    finally:
        client.close()


async def wave(url: str, gid: str, crowd: list[int]) -> None:
    """`crowd` signs up at one activity over 32 connections; a fifth of those confirmed cancel."""
    client = LeanClient(url)
    variables = {"id": gid}
    confirmed: list[int] = []
    await client.open(32)

    async def run(query: str, queue: list[int], keep: list[int] | None) -> None:
        while queue:
            volunteer = queue.pop()
            _, body = await client.post(client.request_bytes(
                {"query": query, "variables": variables}, token(volunteer)))
            if keep is not None and sign_up_outcome(body) == "CONFIRMED":
                keep.append(volunteer)

    try:
        queue = list(crowd)
        await asyncio.gather(*(run(SIGN_UP, queue, confirmed) for _ in range(32)))
        cancelling = confirmed[: len(confirmed) // 5]
        await asyncio.gather(*(run(CANCEL, cancelling, None) for _ in range(8)))
    finally:
        client.close()


async def drive(url: str, gids: list[str], volunteers: list[int], args: argparse.Namespace,
                scrapes: list[tuple[float, Scrape]]) -> None:
    deadline = time.monotonic() + args.seconds
    background = [asyncio.create_task(scraper(url.replace("/graphql", "/metrics"), deadline,
                                              scrapes)),
                  asyncio.create_task(readers(url, volunteers, args.reads_per_second, deadline))]
    await asyncio.sleep(args.wave_every / 2)  # a quiet start to compare the crowds against
    rng = random.Random(30)
    for number in itertools.count():
        if time.monotonic() + args.wave_every / 2 > deadline:
            break
        started = time.monotonic()
        await wave(url, gids[number % len(gids)], rng.sample(volunteers, args.crowd))
        await asyncio.sleep(max(0.0, args.wave_every - (time.monotonic() - started)))
    await asyncio.gather(*background)


def values(scrapes: list[tuple[float, Scrape]], name: str, group: str,
           where: dict[str, str] | None = None, bucket: bool = False,
           ) -> dict[str, list[dict[float, float]]]:
    """For each value of label `group`: one {le (or 0.0): value} per scrape, summed over the
    other labels, keeping only samples whose labels match `where`."""
    out: dict[str, list[dict[float, float]]] = defaultdict(
        lambda: [defaultdict(float) for _ in scrapes])
    for index, (_, scrape) in enumerate(scrapes):
        for (key_name, labels), value in scrape.items():
            found = dict(labels)
            if key_name != name or any(found.get(k) != v for k, v in (where or {}).items()):
                continue
            le = float(found["le"]) if bucket else 0.0
            out[found.get(group, "")][index][le] += value
    return out


def rates(scrapes: list[tuple[float, Scrape]], name: str, group: str, window: int = 2,
          ) -> tuple[list[float], dict[str, list[float]]]:
    """Per-second increase of a counter over `window` scrapes, by label `group`."""
    times = [t for t, _ in scrapes][window:]
    out = {}
    for label, per_scrape in values(scrapes, name, group).items():
        total = [s[0.0] for s in per_scrape]
        out[label] = [(total[i] - total[i - window]) / (scrapes[i][0] - scrapes[i - window][0])
                      for i in range(window, len(scrapes))]
    return times, out


def quantiles(scrapes: list[tuple[float, Scrape]], name: str, group: str, q: float,
              window: int = 10) -> tuple[list[float], dict[str, list[float]]]:
    """histogram_quantile(q, increase over `window` scrapes) in ms, by label `group`."""
    times = [t for t, _ in scrapes][window:]
    out = {}
    for label, per_scrape in values(scrapes, name + "_bucket", group, bucket=True).items():
        out[label] = [bucket_quantile(q, {le: count - per_scrape[i - window].get(le, 0.0)
                                          for le, count in per_scrape[i].items()}) * 1000
                      for i in range(window, len(scrapes))]
    return times, out


def gauges(scrapes: list[tuple[float, Scrape]], name: str, group: str,
           where: dict[str, str] | None = None) -> tuple[list[float], dict[str, list[float]]]:
    return [t for t, _ in scrapes], {label: [s[0.0] for s in per_scrape] for label, per_scrape
                                     in values(scrapes, name, group, where).items()}


def plot(path: Path, title: str, unit: str,
         lines: list[tuple[str, list[float], list[float]]], log: bool = False) -> None:
    figure, axes = plt.subplots(figsize=(10, 5), dpi=100)
    colours: dict[str, Any] = {}
    for label, times, ys in lines:  # a p50 is dashed, in its p99's colour
        base = label.removesuffix(" p50").removesuffix(" p99")
        line, = axes.plot(times, ys, label=label, linewidth=1.2, color=colours.get(base),
                          linestyle="--" if label.endswith(" p50") else "-")
        colours.setdefault(base, line.get_color())
    axes.set_title(title)
    axes.set_xlabel("seconds into the run")
    axes.set_ylabel(unit)
    if log:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    if lines:
        axes.legend(loc="upper left", fontsize="small", ncols=2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def draw(scrapes: list[tuple[float, Scrape]], out: Path) -> list[Path]:
    def named(times: list[float], by: dict[str, list[float]], suffix: str = "",
              ) -> list[tuple[str, list[float], list[float]]]:
        return [(f"{label or '(all)'}{suffix}", times, ys) for label, ys in sorted(by.items())]

    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, tuple[str, str, list[tuple[str, list[float], list[float]]], bool]] = {}
    times, by = rates(scrapes, "tongxin_requests_total", "operation")
    figures["requests"] = ("Requests per second by operation (2 s rate)", "requests/s",
                           named(times, by), False)
    times, p50 = quantiles(scrapes, "tongxin_request_seconds", "operation", 0.5)
    _, p99 = quantiles(scrapes, "tongxin_request_seconds", "operation", 0.99)
    figures["latency"] = ("Request latency by operation, p50 (dashed) and p99 (10 s window)",
                          "ms (log)", named(times, p50, " p50") + named(times, p99, " p99"),
                          True)
    times, p50 = quantiles(scrapes, "tongxin_live_delivery_seconds", "field", 0.5)
    _, p99 = quantiles(scrapes, "tongxin_live_delivery_seconds", "field", 0.99)
    figures["live-delivery"] = ("Commit → frame written, by subscription field (10 s window)",
                                "ms", named(times, p50, " p50") + named(times, p99, " p99"),
                                False)
    times, pool = gauges(scrapes, "tongxin_db_pool_connections", "state",
                         {"connection": "default"})
    wait_times, wait = quantiles(scrapes, "tongxin_db_pool_wait_seconds", "connection", 0.99)
    figures["db-pool"] = ("PostgreSQL pool: connections by state (both workers), and p99 wait "
                          "for a connection (ms, 10 s window)", "connections / ms",
                          named(times, pool) + named(wait_times, wait, " wait p99 ms"), False)
    times, by = rates(scrapes, "tongxin_sql_statements_total", "connection")
    figures["sql"] = ("SQL statements per second (2 s rate)", "statements/s",
                      named(times, by), False)
    times, by = gauges(scrapes, "tongxin_subscribers", "field")
    figures["subscribers"] = ("Running subscriptions by field", "subscribers",
                              named(times, by), False)
    times, by = rates(scrapes, "tongxin_requests_total", "outcome")
    by.pop("OK", None)
    figures["errors"] = ("Answers with an error, by extensions.code (2 s rate)", "requests/s",
                         named(times, by), False)
    paths = []
    for name, (title, unit, lines, log) in figures.items():
        plot(out / f"{name}.png", title, unit, lines, log)
        paths.append(out / f"{name}.png")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--volunteers", type=int, default=1500)
    parser.add_argument("--activities", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=300,
                        help="WebSocket slotCount subscribers per activity")
    parser.add_argument("--crowd", type=int, default=300, help="volunteers per sign-up wave")
    parser.add_argument("--wave-every", type=float, default=20)
    parser.add_argument("--reads-per-second", type=float, default=100)
    parser.add_argument("--out", default=str(ROOT / "docs" / "operations"))
    args = parser.parse_args()
    from schema.relay import to_global_id

    scrapes: list[tuple[float, Scrape]] = []
    with scratch_database() as database_url:
        volunteers = asyncio.run(seed(database_url, args.volunteers))
        ids = asyncio.run(make_activities(database_url, args.activities, args.crowd))
        gids = [str(to_global_id("Activity", i)) for i in ids]
        server = start_tongxin(database_url, workers=2, REDIS_URL=REDIS_URL,
                               METRICS_TOKEN=METRICS_TOKEN)
        watchers: list[Clients] = []
        try:
            for gid in gids:
                watchers.append(Clients(server.url.replace("http://", "ws://"), gid,
                                        args.watchers, None))
                watchers[-1].expect("ready")
            asyncio.run(drive(server.url, gids, volunteers, args, scrapes))
        finally:
            for clients in watchers:
                clients.process.terminate()
                clients.process.wait(timeout=10)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(clients.out)
            server.stop()
    for path in draw(scrapes, Path(args.out)):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    print(f"{len(scrapes)} scrapes, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
