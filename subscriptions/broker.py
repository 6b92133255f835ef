"""Publish/subscribe with one interface and two implementations.

`MemoryBroker` fans out inside one process (the embedded default). `RedisBroker` keeps one
Redis pub/sub connection per process and one Redis subscription per channel, however many
local subscribers listen, and fans messages out to them in-process.

A subscriber's queue is bounded. With `latest_only=True` it holds just the newest message
(state such as slot counts: a slow client skips stale values, memory stays flat); otherwise
it holds up to `maxsize` events and drops the oldest on overflow. After a Redis reconnect
every subscriber receives RESYNC so it can re-read the state it shows from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.aio import cancel_and_wait, honour_lost_cancel
from core.metrics import BROKER_RECONNECTS
from core.redis_outage import REDIS_FAILED
from subscriptions.channels import NAMESPACE

log = logging.getLogger("tongxin.broker")

RESYNC: dict[str, Any] = {"__resync__": True}
SUBSCRIBE_CONFIRM_SECONDS = 5.0


class Subscription:
    """One local listener on one channel; iterate it, then `close()` (or use `async with`).

    With `on_message`, each message is handed to that callback as it arrives instead (from
    the broker's reader, or from `publish_latest` in the publisher's own call), and nothing
    is queued: for a listener whose handling is short and synchronous (the slot feeds), this
    saves the wait for its own task's turn on a busy event loop, once per message."""

    def __init__(self, broker: Broker, channel: str, *, latest_only: bool, maxsize: int,
                 on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.broker = broker
        self.channel = channel
        self._latest_only = latest_only
        self._items: deque[dict[str, Any]] = deque(maxlen=1 if latest_only else maxsize)
        self._ready = asyncio.Event()
        self._on_message = on_message
        self.closed = False

    def deliver(self, message: dict[str, Any]) -> None:
        if self._on_message is not None:
            try:
                self._on_message(message)
            except Exception:  # a listener's failure must not reach the publisher or reader
                log.exception("listener on %s failed", self.channel)
            return
        self._items.append(message)
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        while not self._items:
            honour_lost_cancel()
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def get_nowait(self) -> dict[str, Any] | None:
        return self._items.popleft() if self._items else None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while not self.closed:
            yield await self.get()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.broker._remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Broker:
    # Whether other processes listen through this broker (Redis): MemoryBroker has nobody
    # but this process's own listeners to reach.
    remote = True
    # False while the pub/sub connection is lost and being re-established (read by the
    # metrics and the health checks).
    connected = True

    def __init__(self) -> None:
        self._local: dict[str, set[Subscription]] = {}
        # Tags what publish_latest() sends, so that this broker's reader skips the echo of what
        # it already delivered to its own listeners.
        self.origin = uuid.uuid4().hex
        # publish_latest(): the newest unsent (version, message) per channel, and the task
        # sending them.
        self._outbox: dict[str, tuple[int, dict[str, Any]]] = {}
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.flush()
        self._local.clear()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for channel, message in items:
            await self.publish(channel, message)

    def publish_latest(self, channel: str, message: dict[str, Any], version: int) -> None:
        """Publishes without the caller waiting: for state whose newest version is all a
        listener needs (slot counts). This process's own listeners get it at once; the other
        processes soon, through the broker: a message not yet sent is replaced by a newer one
        on the same channel, and everything waiting goes out together (one pipeline on Redis)
        while the previous batch is on the wire, so under a flash crowd the broker carries
        one message per activity per round trip instead of one per sign-up. The echo of what
        this process sent is skipped by its reader (`_from` = this broker's origin). Never
        raises; a lost publish costs what any lost publish costs (the listeners re-read the
        database)."""
        self._fan_out(channel, message)
        if not self.remote:
            return
        waiting = self._outbox.get(channel)
        if waiting is None or version > waiting[0]:
            self._outbox[channel] = (version, {**message, "_from": self.origin})
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(
                self._send_outbox(), name="broker-outbox")

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, {}
            try:
                await self.publish_many([(channel, message)
                                         for channel, (_, message) in batch.items()])
            except Exception:
                log.warning("publish of %d channels failed", len(batch), exc_info=True)

    async def flush(self) -> None:
        """Returns once everything given to publish_latest() was sent (or failed)."""
        sender = self._sender
        if sender is not None and not sender.done() and \
                sender.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(sender)
        self._sender = None
        if self._outbox:
            await self._send_outbox()

    async def subscribe(
        self, channel: str, *, latest_only: bool = False, maxsize: int = 256,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> Subscription:
        subscription = Subscription(self, channel, latest_only=latest_only, maxsize=maxsize,
                                    on_message=on_message)
        listeners = self._local.setdefault(channel, set())
        first = not listeners
        listeners.add(subscription)
        if first:
            try:
                await self._channel_opened(channel)
            except BaseException:
                # cancelled (the client left) or failed while Redis confirmed: nobody will
                # read it, so it must not stay among the channel's listeners
                await subscription.close()
                raise
        return subscription

    def local_subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._local.get(channel, ()))
        return sum(len(s) for s in self._local.values())

    async def _remove(self, subscription: Subscription) -> None:
        listeners = self._local.get(subscription.channel)
        if not listeners:
            return
        listeners.discard(subscription)
        if not listeners:
            del self._local[subscription.channel]
            await self._channel_closed(subscription.channel)

    def _fan_out(self, channel: str, message: dict[str, Any]) -> None:
        for subscription in list(self._local.get(channel, ())):
            subscription.deliver(message)

    def _received(self, channel: str, payload: Any) -> None:
        """A message read from the broker: to the local listeners, unless this broker's own
        publish_latest() sent it (they had it at once)."""
        if isinstance(payload, dict) and "_from" in payload:
            if payload.pop("_from") == self.origin:
                return
        self._fan_out(channel, payload)

    async def _channel_opened(self, channel: str) -> None:
        return None

    async def _channel_closed(self, channel: str) -> None:
        return None


class MemoryBroker(Broker):
    remote = False

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._fan_out(channel, message)


def lost_publish(count: int, error: BaseException) -> None:
    """Publishes come after commit: the write is done, and failing the request over its
    event would tell the client it may not have been (UNAVAILABLE). Pub/sub is at-most-once
    anyway (PITFALLS.md): listeners re-read the database when their connection comes back
    (RESYNC), as publish_latest already assumes."""
    log.warning("publish of %d channels lost (%s)", count, type(error).__name__)


class RedisBroker(Broker):
    def __init__(self, redis: Redis, *, reconnect_delay: float = 0.5) -> None:
        super().__init__()
        self._redis = redis
        self._pubsub = redis.pubsub()
        self._reader: asyncio.Task[None] | None = None
        self._reconnect_delay = reconnect_delay
        self._lock = asyncio.Lock()
        self._subscribed: set[str] = set()
        self._confirmations: dict[str, asyncio.Event] = {}
        # Always subscribed, so the connection is always in pub/sub mode and the reader
        # never has to guess whether redis-py's bookkeeping says it may read.
        self._home = f"{NAMESPACE}:broker:{uuid.uuid4().hex}"

    async def start(self) -> None:
        """Never fails for want of Redis: a worker that starts while Redis is down (after a
        crash, in a rolling restart) would fail its lifespan, and uvicorn's supervisor then
        stops the whole server, healthy workers included. Such a broker starts disconnected
        and connects in the background by the same path as after losing Redis at run time
        (`/readyz` says `pubsub` meanwhile; its listeners get RESYNC once connected)."""
        if self._reader is not None:
            return
        try:
            await self._pubsub.subscribe(self._home)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis pub/sub unreachable at start (%s); serving without it, "
                        "connecting in the background", type(exc).__name__)
            self.connected = False
            self._reader = asyncio.create_task(self._connect_then_read(),
                                               name="redis-broker-reader")
            return
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broker-reader")

    async def _connect_then_read(self) -> None:
        await self._reconnect()
        await self._read_forever()

    async def close(self) -> None:
        await cancel_and_wait(self._reader)
        self._reader = None
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await super().close()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """After commit (notify_*): Redis failing is logged, not raised (see lost_publish)."""
        try:
            await self._redis.publish(channel, json.dumps(message, separators=(",", ":")))
        except REDIS_FAILED as error:
            lost_publish(1, error)

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        if len(items) == 1:
            await self.publish(*items[0])
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, message in items:
                    pipe.publish(channel, json.dumps(message, separators=(",", ":")))
                await pipe.execute()
        except REDIS_FAILED as error:
            lost_publish(len(items), error)

    async def _channel_opened(self, channel: str) -> None:
        """Returns once Redis confirmed the subscription: SUBSCRIBE only being *sent* is not
        enough, a PUBLISH that Redis reads first would be lost (and a subscriber that reads the
        current state right after subscribing would miss the change in between)."""
        confirmed = asyncio.Event()
        async with self._lock:
            if channel not in self._local or channel in self._subscribed:
                return
            if not self.connected:
                # Listening locally is enough for now: the reconnect subscribes every local
                # channel and sends them RESYNC.
                return
            self._confirmations[channel] = confirmed
            await self._pubsub.subscribe(channel)
            self._subscribed.add(channel)
        try:
            async with asyncio.timeout(SUBSCRIBE_CONFIRM_SECONDS):
                await confirmed.wait()
        except TimeoutError:
            log.warning("no confirmation of SUBSCRIBE %s yet; continuing", channel)

    async def _channel_closed(self, channel: str) -> None:
        async with self._lock:
            if channel not in self._local and channel in self._subscribed:
                self._subscribed.discard(channel)
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                    await self._pubsub.unsubscribe(channel)

    async def _read_forever(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                channel = message["channel"]
                if isinstance(channel, bytes):
                    channel = channel.decode()
                if message.get("type") == "subscribe":
                    waiting = self._confirmations.pop(channel, None)
                    if waiting is not None:
                        waiting.set()
                    continue
                if message.get("type") != "message":
                    continue
                try:
                    payload = json.loads(message["data"])
                except (TypeError, ValueError):
                    log.warning("dropped a malformed message on %s", channel)
                    continue
                self._received(channel, payload)
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("redis pub/sub connection lost (%s); reconnecting", type(exc).__name__)
                self.connected = False
                await self._reconnect()
            except Exception:
                # The reader must never die silently: every subscriber of the process hangs on it.
                log.exception("redis pub/sub reader failed; reconnecting")
                self.connected = False
                await self._reconnect()

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(self._reconnect_delay)
            try:
                async with self._lock:
                    with contextlib.suppress(Exception):
                        await self._pubsub.aclose()
                    self._pubsub = self._redis.pubsub()
                    channels = list(self._local)
                    self._subscribed = set()
                    await self._pubsub.subscribe(self._home, *channels)
                    self._subscribed = set(channels)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                continue
            self.connected = True
            BROKER_RECONNECTS.inc()
            for channel in channels:
                self._fan_out(channel, RESYNC)
            log.info("redis pub/sub reconnected; %d channels resubscribed", len(channels))
            return
