"""Live slot counts: one broker subscription per activity per process, a coalescer, and
latest-only watchers.

    broker message ─▶ ActivityFeed (keeps the highest version) ─every ≥50 ms─▶ SlotWatcher × N

- Messages carry the activity row's `version`; anything not newer than what a watcher has
  is dropped, so counts never go backwards even when workers publish out of order.
- A feed flushes at once when it has been quiet for the interval, else at the end of it
  (leading + trailing edge): at most one message per activity per interval per process, and
  the last state of a burst is always delivered. The interval stretches with the fan-out
  cost (1.5× the time the last flush took to reach every watcher, or 1.5× the process's
  recent shared publish loop, `subscriptions.cost`, whichever is longer) so that thousands
  of subscribers cannot starve the sign-ups that produce the changes.
- Watchers hold only the newest state: a slow client skips stale values, memory stays flat.
- The database is the truth: a watcher starts from a fresh read, a broker RESYNC (Redis
  reconnect) re-reads, and a feed re-reads once after each burst goes quiet, so a lost
  publish cannot leave anyone on a stale value for more than `settle_seconds`. With the
  in-process broker (no Redis) a process cannot hear other processes' changes, so there
  feeds also re-read the row every second (several workers on SQLite stay correct).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.aio import cancel_and_wait, honour_lost_cancel
from core.metrics import COALESCE_SECONDS
from models.activity import ActivityStatus
from subscriptions import channels
from subscriptions.broker import RESYNC, Broker, MemoryBroker, Subscription
from subscriptions.cost import publish_cost

log = logging.getLogger("tongxin.slots")

FLUSH_INTERVAL = 0.05
SETTLE_SECONDS = 1.0
# Fan-out may take at most 1/FANOUT_SHARE of a worker's time: the gap between flushes is at
# least FANOUT_SHARE × the time the last flush took to drain to every watcher (capped).
FANOUT_SHARE = 1.5
MAX_GAP = 2.0
# With the in-process broker, other worker processes' changes never arrive as messages: each
# watched activity is re-read this often instead (one indexed row read per activity).
LOCAL_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class SlotState:
    activity_id: int
    capacity: int
    confirmed: int
    waitlisted: int
    status: ActivityStatus
    version: int
    at: datetime
    offered: int = 0  # held waitlist offers, included in `confirmed` (places taken)

    @property
    def remaining(self) -> int:
        if self.status != ActivityStatus.PUBLISHED:
            return 0
        return max(0, self.capacity - self.confirmed)

    def to_message(self) -> dict[str, Any]:
        return {"activityId": self.activity_id, "capacity": self.capacity,
                "confirmed": self.confirmed, "waitlisted": self.waitlisted,
                "status": self.status.value, "version": self.version, "at": self.at.isoformat(),
                "offered": self.offered}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> SlotState:
        return cls(activity_id=int(message["activityId"]), capacity=int(message["capacity"]),
                   confirmed=int(message["confirmed"]), waitlisted=int(message["waitlisted"]),
                   status=ActivityStatus(message["status"]), version=int(message["version"]),
                   at=datetime.fromisoformat(message["at"]),
                   offered=int(message.get("offered", 0)))


LoadState = Callable[[int], Awaitable[SlotState | None]]


class SlotWatcher:
    """One subscriber's view: the newest state not yet sent."""

    def __init__(self, feed: ActivityFeed) -> None:
        self._feed = feed
        self._pending: SlotState | None = None
        self._ready = asyncio.Event()
        self._owed = False
        self.sent_version = -1

    def offer(self, state: SlotState) -> bool:
        newest = self._pending.version if self._pending else self.sent_version
        if state.version > newest:
            self._pending = state
            self._ready.set()
            return True
        return False

    async def next(self) -> SlotState:
        if self._owed:  # back here means the previous state has been sent
            self._owed = False
            self._feed.consumed()
        while True:
            honour_lost_cancel()
            await self._ready.wait()
            self._ready.clear()
            state, self._pending = self._pending, None
            if state is not None and state.version > self.sent_version:
                self.sent_version = state.version
                self._owed = True
                return state

    async def close(self) -> None:
        await self._feed.remove(self)


class ActivityFeed:
    def __init__(self, hub: SlotHub, activity_id: int) -> None:
        self.hub = hub
        self.activity_id = activity_id
        self.watchers: set[SlotWatcher] = set()
        self.latest: SlotState | None = None
        self._subscription: Subscription | None = None
        self._refreshers: set[asyncio.Task[None]] = set()
        self._last_flush = 0.0
        self._flush_handle: asyncio.TimerHandle | None = None
        # The re-read once a burst has been quiet for settle_seconds: one timer, pushed back
        # by each message (not a task cancelled and made anew per message: under a flash
        # crowd that was a task creation and a cancellation on the loop per sign-up)
        self._settle_at = 0.0
        self._settle: asyncio.TimerHandle | None = None
        self._poller: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._outstanding = 0
        self._drain_started = 0.0
        self.drain_seconds = 0.0
        self._changed_since: float | None = None  # the first change the next flush carries

    async def open(self) -> None:
        try:
            # Messages are accepted as they arrive (from the broker's reader, or from this
            # process's own publish_latest), not by a task of the feed's own waiting for its
            # turn behind the sign-up work of a busy loop.
            self._subscription = await self.hub.broker.subscribe(
                channels.slots(self.activity_id), on_message=self._received)
            if self.hub.poll_seconds:
                self._poller = asyncio.create_task(self._poll(self.hub.poll_seconds))
        finally:
            self._opened.set()

    async def wait_open(self) -> None:
        await self._opened.wait()

    def _received(self, message: dict[str, Any]) -> None:
        if message is RESYNC or message.get("__resync__"):
            self._refresh_soon()  # always a new read: one under way may predate the reconnect
            return
        try:
            self.accept(SlotState.from_message(message))
        except (KeyError, TypeError, ValueError):
            log.warning("dropped a malformed slot message for %s", self.activity_id)

    def _refresh_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._refreshers.add(task)
        task.add_done_callback(self._refreshers.discard)

    def accept(self, state: SlotState) -> None:
        if self.latest is not None and state.version <= self.latest.version:
            return
        self.latest = state
        now = time.monotonic()
        if self._flush_handle is None:
            self._changed_since = now
            cost = max(self.drain_seconds, self.hub.delivery_cost())
            gap = max(self.hub.flush_interval, min(MAX_GAP, FANOUT_SHARE * cost))
            wait = self._last_flush + gap - now
            if wait <= 0:
                self._flush()
            else:
                self._flush_handle = asyncio.get_running_loop().call_later(wait, self._flush)
        self._schedule_settle()

    def _flush(self) -> None:
        self._flush_handle = None
        self._last_flush = time.monotonic()
        if self._changed_since is not None:
            COALESCE_SECONDS.observe(self._last_flush - self._changed_since)
            self._changed_since = None
        if self.latest is None:
            return
        self._drain_started = self._last_flush
        self._outstanding = sum(watcher.offer(self.latest) for watcher in list(self.watchers))

    def consumed(self) -> None:
        """A watcher finished sending the last flush; the last one measures the drain time."""
        if self._outstanding > 0:
            self._outstanding -= 1
            if self._outstanding == 0:
                self.drain_seconds = time.monotonic() - self._drain_started

    def _schedule_settle(self) -> None:
        self._settle_at = time.monotonic() + self.hub.settle_seconds
        if self._settle is None:
            self._settle = asyncio.get_running_loop().call_later(
                self.hub.settle_seconds, self._settle_due)

    def _settle_due(self) -> None:
        wait = self._settle_at - time.monotonic()
        if wait > 0:  # messages came meanwhile: quiet for the whole interval first
            self._settle = asyncio.get_running_loop().call_later(wait, self._settle_due)
            return
        self._settle = None
        self._refresh_soon()

    async def _poll(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.refresh()

    async def refresh(self) -> None:
        """Re-read the database and push the result to every watcher (now, not coalesced)."""
        try:
            state = await self.hub.load_state(self.activity_id)
        except Exception:
            log.warning("slot refresh failed for activity %s", self.activity_id, exc_info=True)
            return
        if state is not None and (self.latest is None or state.version > self.latest.version):
            self.latest = state
            self._flush()

    async def remove(self, watcher: SlotWatcher) -> None:
        self.watchers.discard(watcher)
        if not self.watchers:
            await self.hub._drop(self)

    async def close(self) -> None:
        for handle in (self._flush_handle, self._settle):
            if handle is not None:
                handle.cancel()
        try:
            for task in (*self._refreshers, self._poller):
                with contextlib.suppress(Exception):
                    await cancel_and_wait(task)
        finally:  # cancelled meanwhile (cancel_and_wait raises it): the channel is still left
            if self._subscription is not None:
                await self._subscription.close()


class SlotHub:
    """Per process (and per broker): feeds by activity, created on first watcher."""

    def __init__(self, broker: Broker, load_state: LoadState, *,
                 flush_interval: float = FLUSH_INTERVAL,
                 settle_seconds: float = SETTLE_SECONDS,
                 poll_seconds: float | None = None,
                 delivery_cost: Callable[[], float] = publish_cost.seconds) -> None:
        self.broker = broker
        self.delivery_cost = delivery_cost  # seconds the process's fan-out writes take
        self.load_state = load_state
        self.flush_interval = flush_interval
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.feeds: dict[int, ActivityFeed] = {}

    async def watch(self, activity_id: int) -> SlotWatcher:
        """Register first, then read the database: no change between the two is lost."""
        feed = self.feeds.get(activity_id)
        if feed is None:
            feed = self.feeds[activity_id] = ActivityFeed(self, activity_id)
            watcher = SlotWatcher(feed)
            feed.watchers.add(watcher)
            await feed.open()
        else:
            watcher = SlotWatcher(feed)
            feed.watchers.add(watcher)
            await feed.wait_open()
        state = await self.load_state(activity_id)
        if state is not None:
            if feed.latest is None or state.version > feed.latest.version:
                feed.latest = state
            watcher.offer(feed.latest)
        return watcher

    async def _drop(self, feed: ActivityFeed) -> None:
        if self.feeds.get(feed.activity_id) is feed:
            del self.feeds[feed.activity_id]
        await feed.close()


_hubs: dict[int, SlotHub] = {}


def slot_hub(broker: Broker, load_state: LoadState) -> SlotHub:
    """The hub of this process for this broker (tests swap brokers between backends)."""
    hub = _hubs.get(id(broker))
    if hub is None or hub.broker is not broker:
        _hubs.clear()
        poll = LOCAL_POLL_SECONDS if isinstance(broker, MemoryBroker) else None
        hub = _hubs[id(broker)] = SlotHub(broker, load_state, poll_seconds=poll)
    return hub
