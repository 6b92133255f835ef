"""Push matching for `helpRequestCreated`: which local subscribers want a new event.

Every subscriber is indexed under ONE key that any matching event must share with it:
its district if it gave one, else each of its skills, else the grid cells its circle
covers, else the catch-all set. An event looks up only those buckets (its district, its
skills, its cell on each grid level, the catch-all set) and checks the exact filter on
the few candidates, so the cost of an event grows with the subscribers that could match
it, not with all subscribers.

`Matcher` owns one broker subscription per process for a channel, dispatches each event
to the matching `Watcher`s, and loads the event's object once per process (not once per
subscriber) through a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.aio import cancel_and_wait, honour_lost_cancel
from core.geo import Circle
from subscriptions.broker import RESYNC, Broker, Subscription

log = logging.getLogger("tongxin.matching")

# Grid levels in degrees, finest first. A circle is indexed on the finest level where it
# covers at most MAX_CELLS cells (a 1.5 km circle: ~12 cells of 0.01°).
GRID_LEVELS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
MAX_CELLS = 64


@dataclass(frozen=True)
class MatchEvent:
    district: str
    skills: frozenset[str]
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class MatchFilter:
    """All given parts must match: district equal, any skill in common, inside the circle."""

    district: str | None = None
    skills: frozenset[str] = frozenset()
    circle: Circle | None = None

    def matches(self, event: MatchEvent) -> bool:
        if self.district is not None and event.district != self.district:
            return False
        if self.skills and not (self.skills & event.skills):
            return False
        return self.circle is None or self.circle.contains(event.latitude, event.longitude)


def _cell(level: float, latitude: float, longitude: float) -> tuple[float, int, int]:
    return (level, math.floor(latitude / level), math.floor(longitude / level))


def circle_cells(circle: Circle) -> list[tuple[float, int, int]]:
    """The cells of the finest grid level that cover the circle's bounding box."""
    min_lat, max_lat, min_lon, max_lon = circle.bounding_box()
    for level in GRID_LEVELS:
        lat_range = range(math.floor(min_lat / level), math.floor(max_lat / level) + 1)
        lon_range = range(math.floor(min_lon / level), math.floor(max_lon / level) + 1)
        if len(lat_range) * len(lon_range) <= MAX_CELLS or level == GRID_LEVELS[-1]:
            return [(level, i, j) for i in lat_range for j in lon_range]
    raise AssertionError("unreachable")


def event_cells(latitude: float, longitude: float) -> list[tuple[float, int, int]]:
    return [_cell(level, latitude, longitude) for level in GRID_LEVELS]


class SubscriberIndex:
    """Buckets of subscribers keyed by district, skill, grid cell, plus a catch-all set."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, Any], set[Any]] = {}
        self._keys: dict[Any, list[tuple[str, Any]]] = {}
        self._filters: dict[Any, MatchFilter] = {}
        self._catch_all: set[Any] = set()

    def __len__(self) -> int:
        return len(self._filters)

    def add(self, subscriber: Any, match: MatchFilter) -> None:
        if match.district is not None:
            keys: list[tuple[str, Any]] = [("district", match.district)]
        elif match.skills:
            keys = [("skill", skill) for skill in match.skills]
        elif match.circle is not None:
            keys = [("cell", cell) for cell in circle_cells(match.circle)]
        else:
            keys = []
            self._catch_all.add(subscriber)
        for key in keys:
            self._buckets.setdefault(key, set()).add(subscriber)
        self._keys[subscriber] = keys
        self._filters[subscriber] = match

    def remove(self, subscriber: Any) -> None:
        for key in self._keys.pop(subscriber, []):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.discard(subscriber)
                if not bucket:
                    del self._buckets[key]
        self._catch_all.discard(subscriber)
        self._filters.pop(subscriber, None)

    def candidates(self, event: MatchEvent) -> set[Any]:
        keys: list[tuple[str, Any]] = [("district", event.district)]
        keys.extend(("skill", skill) for skill in event.skills)
        if event.latitude is not None and event.longitude is not None:
            keys.extend(("cell", cell) for cell in event_cells(event.latitude, event.longitude))
        found = set(self._catch_all)
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket:
                found |= bucket
        return found

    def match(self, event: MatchEvent) -> list[Any]:
        return [s for s in self.candidates(event) if self._filters[s].matches(event)]


@dataclass(eq=False)
class Watcher:
    """One subscriber's bounded inbox (oldest dropped on overflow)."""

    filter: MatchFilter
    maxsize: int = 256
    _items: deque[Any] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def deliver(self, item: Any) -> None:
        if len(self._items) >= self.maxsize:
            self._items.popleft()
        self._items.append(item)
        self._ready.set()

    async def get(self) -> Any:
        while not self._items:
            honour_lost_cancel()
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


Decode = Callable[[dict[str, Any]], MatchEvent | None]
Load = Callable[[dict[str, Any]], Awaitable[Any]]
CatchUp = Callable[[int], Awaitable[list[tuple[MatchEvent, Any, int]]]]


class Matcher:
    """Per process and channel: one broker subscription, one index, one reader task.

    `decode(payload)` gives the event's match facts, `load(payload)` the object delivered
    (called once per event, only when someone matches), `catch_up(last_id)` the events
    missed while Redis was unreachable (ids are increasing)."""

    def __init__(self, broker: Broker, channel: str, *, decode: Decode, load: Load,
                 catch_up: CatchUp | None = None) -> None:
        self.broker = broker
        self.channel = channel
        self._decode = decode
        self._load = load
        self._catch_up = catch_up
        self.index = SubscriberIndex()
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._last_id = 0

    async def _ensure_started(self) -> None:
        async with self._lock:
            if self._subscription is None:
                self._subscription = await self.broker.subscribe(self.channel, maxsize=10_000)
                self._reader = asyncio.create_task(self._read(self._subscription),
                                                   name=f"matcher:{self.channel}")

    async def _stop_if_idle(self) -> None:
        async with self._lock:
            if len(self.index) or self._subscription is None:
                return
            subscription, reader = self._subscription, self._reader
            self._subscription = self._reader = None
            try:
                await cancel_and_wait(reader)
            finally:  # cancelled meanwhile (cancel_and_wait raises it): the channel is still left
                await subscription.close()

    @contextlib.asynccontextmanager
    async def watch(self, match: MatchFilter) -> AsyncIterator[Watcher]:
        watcher = Watcher(match)
        self.index.add(watcher, match)
        try:
            await self._ensure_started()
            yield watcher
        finally:
            self.index.remove(watcher)
            await self._stop_if_idle()

    async def _read(self, subscription: Subscription) -> None:
        async for payload in subscription:
            try:
                if payload == RESYNC:
                    await self._resync()
                    continue
                event = self._decode(payload)
                if event is None:
                    continue
                self._last_id = max(self._last_id, int(payload.get("id", 0)))
                await self.dispatch(event, payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matcher %s failed on an event", self.channel)

    async def dispatch(self, event: MatchEvent, payload: dict[str, Any]) -> int:
        watchers = self.index.match(event)
        if not watchers:
            return 0
        item = await self._load(payload)
        if item is None:
            return 0
        self._deliver(watchers, item)
        return len(watchers)

    def _deliver(self, watchers: Iterable[Watcher], item: Any) -> None:
        for watcher in watchers:
            watcher.deliver(item)

    async def _resync(self) -> None:
        if self._catch_up is None or self._last_id == 0:
            return
        for event, item, event_id in await self._catch_up(self._last_id):
            self._last_id = max(self._last_id, event_id)
            self._deliver(self.index.match(event), item)
