"""Delivery delay of `helpRequestCreated` pushes with thousands of subscribers of mixed filters.

5,000 subscribers (district / skills / 1.5 km circles / combinations / no filter) listen through
the production `Matcher`; events are published on the real broker (Redis when reachable,
else in-process) at a steady rate; each subscriber's consumer task records publish → receive
delay. The per-event matching cost is also compared with testing every subscriber.

    .venv/bin/python bench/helprequests.py [--subscribers 5000] [--events 300] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from bench.common import REDIS_URL, percentile
from core.geo import Circle
from subscriptions.broker import Broker, MemoryBroker, RedisBroker
from subscriptions.matching import Matcher, MatchEvent, MatchFilter, Watcher

DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
             "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"]
SKILLS = ["急救", "法律", "驾驶", "心理疏导", "翻译", "助老", "陪诊", "电工", "维修", "教育",
          "摄影", "医疗", "消防", "环保", "手语", "烹饪", "理发", "计算机", "英语", "护理"]
CENTER = (39.9087, 116.3975)


def point(rng: random.Random) -> tuple[float, float]:
    return CENTER[0] + rng.gauss(0, 0.12), CENTER[1] + rng.gauss(0, 0.15)


def mixed_filter(rng: random.Random) -> MatchFilter:
    kind = rng.random()
    if kind < 0.30:
        return MatchFilter(district=rng.choice(DISTRICTS))
    if kind < 0.50:
        return MatchFilter(skills=frozenset(rng.sample(SKILLS, rng.randint(1, 3))))
    if kind < 0.75:
        return MatchFilter(circle=Circle(*point(rng), 1.5))
    if kind < 0.95:
        return MatchFilter(district=rng.choice(DISTRICTS),
                           skills=frozenset(rng.sample(SKILLS, rng.randint(1, 2))),
                           circle=Circle(*point(rng), 3.0) if rng.random() < 0.5 else None)
    return MatchFilter()


def event_payload(rng: random.Random, number: int) -> dict[str, Any]:
    latitude, longitude = point(rng)
    return {"id": number, "district": rng.choice(DISTRICTS),
            "skills": rng.sample(SKILLS, rng.randint(0, 2)), "latitude": latitude,
            "longitude": longitude, "sentAt": 0.0}


def decode(payload: dict[str, Any]) -> MatchEvent:
    return MatchEvent(payload["district"], frozenset(payload["skills"]), payload["latitude"],
                      payload["longitude"])


async def load(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the production loader reads the row once per event and process


async def run(subscribers: int, events: int, rate: float) -> None:
    redis: Redis | None = None
    broker: Broker
    try:
        redis = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        await redis.ping()
        broker = RedisBroker(redis)
        await broker.start()
        kind = "Redis pub/sub"
    except Exception:
        redis = None
        broker = MemoryBroker()
        kind = "in-process broker"
    channel = f"bench-{uuid.uuid4().hex[:8]}:help-requests"
    matcher = Matcher(broker, channel, decode=decode, load=load)
    rng = random.Random(42)
    filters = [mixed_filter(rng) for _ in range(subscribers)]
    delays: list[float] = []

    all_delivered = asyncio.Event()
    expected = 0

    async def consume(watcher: Watcher) -> None:
        while True:
            item = await watcher.get()
            delays.append((time.perf_counter() - item["sentAt"]) * 1000)
            if len(delays) >= expected:
                all_delivered.set()

    async def subscriber(match: MatchFilter, ready: asyncio.Event, stop: asyncio.Event) -> None:
        async with matcher.watch(match) as watcher:
            ready.set()
            task = asyncio.create_task(consume(watcher))
            await stop.wait()
            task.cancel()

    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in filters]
    tasks = [asyncio.create_task(subscriber(f, r, stop)) for f, r in zip(filters, readies,
                                                                           strict=True)]
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(0.5)
    payloads = [event_payload(rng, n + 1) for n in range(events)]
    expected = sum(sum(1 for f in filters if f.matches(decode(p))) for p in payloads)
    started = time.perf_counter()
    for index, payload in enumerate(payloads):
        target = started + index / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        payload["sentAt"] = time.perf_counter()
        await broker.publish(channel, payload)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_delivered.wait(), 10)

    sample = [decode(p) for p in payloads[:200]]
    t0 = time.perf_counter()
    for event in sample:
        matcher.index.match(event)
    indexed_us = (time.perf_counter() - t0) / len(sample) * 1e6
    by_number = dict(enumerate(filters))
    t0 = time.perf_counter()
    for event in sample:
        [n for n, f in by_number.items() if f.matches(event)]
    naive_us = (time.perf_counter() - t0) / len(sample) * 1e6

    stop.set()
    await asyncio.gather(*tasks)

    print(f"helpRequestCreated push: {subscribers} subscribers (mixed filters), {events} events "
          f"at {rate:.0f}/s over {kind}")
    print(f"  deliveries: {len(delays)} of {expected} expected "
          f"({expected / events:.1f} matching subscribers per event)")
    print(f"  delivery delay publish→subscriber: p50 {percentile(delays, 0.5):.2f} ms, "
          f"p99 {percentile(delays, 0.99):.2f} ms, max {max(delays, default=0):.2f} ms")
    print(f"  matching per event: indexed {indexed_us:.0f} µs vs testing every subscriber "
          f"{naive_us:.0f} µs")
    await broker.close()
    if redis is not None:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(run(args.subscribers, args.events, args.rate))


if __name__ == "__main__":
    main()
