"""The web client in headless Chromium on the embedded default (SQLite + in-process pub/sub).

    .venv/bin/python -m bench.web [--runs 5] [--sign-ups 100]

Prints:
- first meaningful paint of the activity list with 50 activities: from navigation start to the
  paint of the first card's title (Element Timing, `elementtiming="card"`: when it reached the
  screen, as first contentful paint is measured), cold (first visit, empty cache) and warm
  (median of --runs reloads), as a visitor sees it (the server draws the list into the page,
  schema/home_http.py); baseline: first contentful paint of GET /healthz in the same browser
  (the leanest endpoint there is), loaded alternately with the list, printed as a ratio; beside
  it the medians of the tx:list-painted mark (the frame after the cards are in the DOM, the
  figure printed before 6 December 2026's evening), tx:list-hydrated (the client took the drawn
  list over: its buttons work) and the page's first contentful paint, and the load average;
  then the same for a signed-in reader (a session in localStorage: the same drawing, with their
  own sign-ups laid over it when their answer arrives, tx:own-painted, printed beside it);
- total JavaScript the page loaded (uncompressed bytes, from the Resource Timing entries) and
  the same figure summed from web/ on disk;
- slot-card update delay from a sign-up's commit to the card's text changing in the page,
  p50/p99 over --sign-ups sequential sign-ups through the API (150 ms apart, past the server's
  100 ms coalescing interval, so each sign-up is its own frame); baseline: a bare
  graphql-transport-ws socket in Python subscribed to the same activity. The commit happens
  between the request's send and its response (the event is published before the response is
  written, so it often beats the response): both bounds are printed; the upper bound
  (request sent→DOM) includes the sign-up's own transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets
from websockets.typing import Subprotocol

from bench.common import JWT_SECRET, ROOT, migrate, percentile, start_tongxin

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
SLOTS = "subscription W($id: ID!) { slotCount(activityId: $id) { confirmed remaining } }"
WATCH = """
const card = document.querySelector(`article.card[data-id="${arguments[0]}"] .remaining`);
window.__changes = [];
new MutationObserver(() => window.__changes.push([Date.now(), Number(card.dataset.remaining)]))
  .observe(card, { childList: true, characterData: true, subtree: true });
"""


async def seed(database_url: str, activities: int, volunteers: int, capacity: int) -> tuple[int, list[int]]:
    from tortoise import Tortoise

    from db.config import tortoise_config
    from models.activity import Activity, ActivityStatus
    from models.team import Team
    from tests.activity.clients import bulk_volunteers

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        people = await bulk_volunteers(volunteers + 1, "bench-no-login", prefix="压测")
        admin = people[0]
        team = await Team.create(name="压测队", type="COMMUNITY", district="朝阳区", created_by=admin)
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        ids = []
        for index in range(activities):
            at = starts + timedelta(hours=index * 3)
            activity = await Activity.create(
                team=team, created_by=admin, title=f"社区服务活动{index + 1}", description="打扫楼道，陪伴老人。",
                category=["助老", "环保", "扶幼"][index % 3], district=["朝阳区", "海淀区"][index % 2],
                address=f"朝阳区某小区{index + 1}号楼", starts_at=at, ends_at=at + timedelta(hours=2),
                sign_up_deadline=at, capacity=capacity if index == 0 else 20, waitlist_limit=5,
                hours_credit=2, status=ActivityStatus.PUBLISHED, published_at=datetime.now(UTC))
            ids.append(activity.id)
        return ids[0], [p.id for p in people[1:]]
    finally:
        await Tortoise.close_connections()


LIST_PAINT = """
const done = arguments[arguments.length - 1];
const cards = [];
new PerformanceObserver((found) => {
  for (const e of found.getEntries()) if (e.identifier === "card") cards.push(e.renderTime || e.loadTime);
}).observe({ type: "element", buffered: true });
const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
const poll = () => {
  if (cards.length && at("tx:list-painted") !== null && document.querySelectorAll("article.card").length === 50
      && !document.documentElement.classList.contains("tx-reader")) {
    done({ card: Math.min(...cards), mark: at("tx:list-painted"), hydrated: at("tx:list-hydrated"),
           own: at("tx:own-painted"), fcp: at("first-contentful-paint") });
  } else setTimeout(poll, 5);
};
poll();
"""


def paint_list(driver: Any, url: str) -> dict[str, Any]:
    """The list's load: `card`, when the first card title was painted (Element Timing on the
    cards' h2, a presentation time as /healthz's first contentful paint is); `mark`, the
    tx:list-painted mark (the animation frame after the cards are in the DOM: its rendering can
    reach the screen much later on a busy machine, so it is printed, not compared); `hydrated`,
    when the client took a server-drawn list over (its buttons work from then)."""
    driver.get("about:blank")
    driver.get(url)
    return dict(driver.execute_async_script(LIST_PAINT))


def medians(pairs: list[tuple[dict[str, Any], float]]) -> dict[str, float]:
    return {name: statistics.median(float(p[name]) for p, _ in pairs if p.get(name) is not None)
            for name in ("mark", "hydrated", "own", "fcp") if any(p.get(name) is not None for p, _ in pairs)}


def paint(driver: Any, url: str) -> float:
    """First contentful paint of a page (the baseline, /healthz)."""
    driver.get("about:blank")
    driver.get(url)
    return float(driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const poll = () => { const e = performance.getEntriesByName('first-contentful-paint');"
        " e.length ? done(e[0].startTime) : setTimeout(poll, 5); }; poll();"))


class RawSubscriber:
    """The baseline: a bare graphql-transport-ws socket recording (arrival ms, remaining)."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int]] = []
        self.ready = asyncio.Event()

    async def run(self, ws_url: str, activity_gid: str, stop: asyncio.Event) -> None:
        async with websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.recv()
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": SLOTS, "variables": {"id": activity_gid}}}))
            while not stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if message.get("type") == "next":
                    self.changes.append((time.time() * 1000, message["payload"]["data"]["slotCount"]["remaining"]))
                    self.ready.set()


async def sign_ups(url: str, ws_url: str, activity_gid: str,
                   tokens: list[str]) -> tuple[dict[int, tuple[float, float]], RawSubscriber]:
    raw = RawSubscriber()
    stop = asyncio.Event()
    reader = asyncio.create_task(raw.run(ws_url, activity_gid, stop))
    await asyncio.wait_for(raw.ready.wait(), 10)
    committed: dict[int, tuple[float, float]] = {}  # k-th sign-up -> (request sent, response arrived) ms
    async with httpx.AsyncClient(timeout=30) as client:
        for token in tokens:
            sent = time.time() * 1000
            answer = await client.post(url, json={"query": SIGN_UP, "variables": {"id": activity_gid}},
                                       headers={"Authorization": f"Bearer {token}"})
            arrived = time.time() * 1000
            assert answer.json()["data"]["signUp"]["status"] == "CONFIRMED", answer.text
            committed[len(committed) + 1] = (sent, arrived)
            await asyncio.sleep(0.15)  # past the 100 ms flush interval: one change per frame
    await asyncio.sleep(1)
    stop.set()
    await reader
    return committed, raw


def delays(committed: dict[int, tuple[float, float]], changes: list[tuple[float, int]], capacity: int,
           bound: int) -> list[float]:
    """Per sign-up, the change's arrival minus the request's send (bound 0) or response (bound 1)."""
    first_seen: dict[int, float] = {}
    for at, remaining in changes:
        first_seen.setdefault(remaining, at)
    return [first_seen[capacity - k] - times[bound] for k, times in committed.items()
            if capacity - k in first_seen]


def main() -> None:
    from schema.relay import to_global_id
    from tests.web.browser import browser_problem, new_driver, quit_driver

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sign-ups", type=int, default=100)
    args = parser.parse_args()
    if problem := browser_problem():
        raise SystemExit(f"bench.web needs Chromium: {problem}")
    capacity = args.sign_ups + 50
    workdir = Path(tempfile.mkdtemp(prefix="tongxin-bench-web-"))
    database_url = f"sqlite://{workdir / 'bench.sqlite3'}"
    os.environ.pop("REDIS_URL", None)
    os.environ["TONGXIN_DATA_DIR"] = str(workdir)
    migrate(database_url)
    first_id, volunteer_ids = asyncio.run(seed(database_url, 50, args.sign_ups, capacity))
    server = start_tongxin(database_url, REDIS_URL="", TONGXIN_DATA_DIR=str(workdir))
    base = server.url.removesuffix("/graphql")
    driver = new_driver(1280, 900)
    try:
        cold = paint_list(driver, f"{base}/")["card"]
        assert len(driver.find_elements("css selector", "article.card")) == 50
        # The list and /healthz alternate, so both medians see the same machine (another process's
        # burst would otherwise land on one side of the ratio only).
        pairs = [(paint_list(driver, f"{base}/"), paint(driver, f"{base}/healthz")) for _ in range(args.runs)]
        warm = statistics.median(float(p["card"] or 0.0) for p, _ in pairs)
        baseline = statistics.median(healthz_ms for _, healthz_ms in pairs)
        marks = medians(pairs)
        # A signed-in reader: the same page, their own state laid over it.
        reader = jwt.encode({"sub": str(volunteer_ids[0]), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
        driver.execute_script("localStorage.setItem('tx.token', arguments[0])", reader)
        signed_in = [(paint_list(driver, f"{base}/"), paint(driver, f"{base}/healthz")) for _ in range(args.runs)]
        driver.execute_script("localStorage.clear()")
        reader_warm = statistics.median(float(p["card"] or 0.0) for p, _ in signed_in)
        reader_baseline = statistics.median(healthz_ms for _, healthz_ms in signed_in)
        paint_list(driver, f"{base}/")
        scripts = driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('.js'))"
            ".map(e => [e.name, e.decodedBodySize, e.transferSize])")
        js_loaded = sum(int(size) for _, size, _ in scripts)
        js_on_disk = sum(p.stat().st_size for p in (ROOT / "web").rglob("*.js"))

        driver.get(f"{base}/")
        paint_list(driver, f"{base}/")
        gid = str(to_global_id("Activity", first_id))
        time.sleep(0.5)  # let the 50 subscriptions settle on the socket
        driver.execute_script(WATCH, gid)
        tokens = [jwt.encode({"sub": str(v), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")
                  for v in volunteer_ids]
        committed, raw = asyncio.run(sign_ups(server.url, server.url.replace("http", "ws"), gid, tokens))
        changes = [(float(a), int(r)) for a, r in driver.execute_script("return window.__changes")]
    finally:
        quit_driver(driver)
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # its database and the server's log

    print(f"first meaningful paint, 50-activity list (embedded default): cold {cold:.0f} ms, "
          f"warm median of {args.runs} {warm:.0f} ms; baseline /healthz first paint {baseline:.0f} ms "
          f"→ ratio {warm / baseline:.2f}")
    print("  list, warm medians: " + ", ".join(f"{name} {value:.0f} ms" for name, value in marks.items())
          + f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  signed-in reader: warm median of {args.runs} {reader_warm:.0f} ms; baseline {reader_baseline:.0f} ms "
          f"→ ratio {reader_warm / reader_baseline:.2f}; "
          + ", ".join(f"{name} {value:.0f} ms" for name, value in medians(signed_in).items()))
    print(f"JavaScript loaded by the page: {js_loaded} bytes uncompressed ({js_loaded / 1024:.1f} KiB, "
          f"{len(scripts)} modules); web/**/*.js on disk: {js_on_disk} bytes ({js_on_disk / 1024:.1f} KiB)")
    # The commit lies between the request's send and its response: print both bounds.
    for bound, label in ((0, "request sent"), (1, "response arrived")):
        dom = delays(committed, changes, capacity, bound)
        bare = delays(committed, raw.changes, capacity, bound)
        print(f"slot card update, {label}→DOM over {len(dom)}/{len(committed)} sign-ups: "
              f"p50 {percentile(dom, 0.5):.1f} ms, p99 {percentile(dom, 0.99):.1f} ms; baseline bare "
              f"socket p50 {percentile(bare, 0.5):.1f} ms, p99 {percentile(bare, 0.99):.1f} ms"
              + (f" → ratio p50 {percentile(dom, 0.5) / percentile(bare, 0.5):.2f}, "
                 f"p99 {percentile(dom, 0.99) / percentile(bare, 0.99):.2f}" if bound == 0 else ""))


if __name__ == "__main__":
    main()
