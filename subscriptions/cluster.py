"""The broker on a Redis Cluster, with Redis 7 sharded pub/sub (SSUBSCRIBE / SPUBLISH).

A channel's traffic stays on the shard that owns the channel's hash slot instead of being
broadcast to every node of the cluster (classic PUBLISH is). Same interface and guarantees as
`RedisBroker`: one Redis subscription per channel per process however many local listeners,
confirmed before `subscribe()` returns, RESYNC to a channel's listeners whenever its
subscription had a gap.

Why not redis-py's own `RedisCluster.pubsub().ssubscribe`: redis-py 8.1's asyncio
`ClusterPubSub` does support sharded pub/sub and even re-routes channels after a slots-cache
refresh, but (1) it reads the per-node connections round-robin with one `timeout` each, so a
blocking read on one idle shard delays messages of the others (or it has to busy-poll), and
(2) it re-subscribes silently: we need to know *which* channels had a gap, to send RESYNC so
watchers re-read the database. So: one plain `redis.asyncio.Redis` pub/sub connection per
shard primary, each with its own reader task, and the slot -> primary map of the
`RedisCluster` client (which also does SPUBLISH, following MOVED on its own).

Failover / resharding. Any of: the shard connection drops (primary killed), Redis sends a
`sunsubscribe` we did not ask for (Redis 7 does when a slot leaves a primary, e.g. after a
manual `CLUSTER FAILOVER` demotes it), a MOVED error, or a confirmation that never comes,
marks the affected channels detached and wakes one repair task. It refreshes the cluster
topology, subscribes each detached channel on the primary that owns its slot now (retrying
every `reconnect_delay` until the cluster has elected one), and after Redis confirmed it
sends RESYNC to that channel's listeners, so they re-read the state they show from the
database: nothing published during the gap stays unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from core.aio import cancel_and_wait
from core.redis_outage import REDIS_FAILED
from subscriptions.broker import RESYNC, SUBSCRIBE_CONFIRM_SECONDS, Broker, lost_publish

log = logging.getLogger("tongxin.broker.cluster")

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
PUBLISH_TIMEOUT_SECONDS = 2.0


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """`redis+cluster://h1:p1,h2:p2/?opts` -> startup nodes (any reachable one is enough)."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a Redis Cluster URL: {url!r}")
    nodes: list[tuple[str, int]] = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"Redis Cluster node {item!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("a Redis Cluster URL names at least one node")
    return nodes


def cluster_client(url: str) -> RedisCluster:
    parts = urlsplit(url)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    password = parts.password or options.get("password")
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
        password=password,
        username=parts.username or None,
        ssl=parts.scheme.startswith("rediss"),
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )


def hash_tag(key: str) -> str:
    """`{key}`: Redis Cluster hashes only what is inside the first braces, so keys sharing
    one tag live in one slot (multi-key commands and scripts need that)."""
    return "{" + key + "}"


class _Shard:
    """One pub/sub connection to one primary, read by its own task."""

    def __init__(self, broker: ClusterBroker, name: str, host: str, port: int) -> None:
        self.broker = broker
        self.name = name
        # No silent reconnects: redis-py would re-subscribe on its own and the gap would go
        # unnoticed; a lost connection must surface so the channels get RESYNC.
        self.client = Redis(host=host, port=port, socket_connect_timeout=2,
                            health_check_interval=15, retry=Retry(NoBackoff(), 0))
        self.pubsub: PubSub = self.client.pubsub()
        self.channels: set[str] = set()
        self.confirmations: dict[str, asyncio.Event] = {}
        self.reader: asyncio.Task[None] | None = None
        self.dead = False

    def start_reader(self) -> None:
        if self.reader is None:
            self.reader = asyncio.create_task(self._read_forever(), name=f"shard-{self.name}")

    async def close(self) -> None:
        self.dead = True
        with contextlib.suppress(Exception):
            await cancel_and_wait(self.reader)
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.client.aclose()

    async def _read_forever(self) -> None:
        try:
            while not self.dead:
                message = await self.pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                self._handle(message)
        except asyncio.CancelledError:
            raise
        except RedisError as exc:
            log.warning("shard %s pub/sub lost (%s: %s)", self.name, type(exc).__name__, exc)
        except OSError as exc:
            log.warning("shard %s pub/sub lost (%s)", self.name, type(exc).__name__)
        except Exception:
            log.exception("shard %s reader failed", self.name)
        await self.broker._shard_lost(self)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        if not isinstance(channel, str):
            return
        if kind == "smessage":
            try:
                payload = json.loads(message["data"])
            except (TypeError, ValueError):
                log.warning("dropped a malformed message on %s", channel)
                return
            self.broker._received(channel, payload)
        elif kind == "ssubscribe":
            waiting = self.confirmations.pop(channel, None)
            if waiting is not None:
                waiting.set()
        elif kind == "sunsubscribe":
            self.broker._unsubscribed_by_server(self, channel)


class ClusterBroker(Broker):
    def __init__(self, cluster: RedisCluster, *, reconnect_delay: float = 0.3) -> None:
        super().__init__()
        self._cluster = cluster
        self._reconnect_delay = reconnect_delay
        self._shards: dict[str, _Shard] = {}
        self._owner: dict[str, str] = {}  # channel -> shard it is subscribed on
        self._lock = asyncio.Lock()
        self._detached = asyncio.Event()
        self._repairer: asyncio.Task[None] | None = None
        self.resyncs = 0  # channels that got RESYNC (tests and bench read it)

    @property
    def cluster(self) -> RedisCluster:
        return self._cluster

    async def start(self) -> None:
        """Never fails for want of Redis (see RedisBroker.start): with no node reachable the
        broker starts disconnected, and the repair task reads the slot map and subscribes once
        one answers."""
        try:
            await self._cluster.initialize()
        except REDIS_FAILED as exc:
            log.warning("redis cluster unreachable at start (%s); serving without pub/sub, "
                        "connecting in the background", type(exc).__name__)
            self.connected = False
            self._detached.set()
        if self._repairer is None:
            self._repairer = asyncio.create_task(self._repair_forever(), name="cluster-repair")

    async def close(self) -> None:
        await cancel_and_wait(self._repairer)
        self._repairer = None
        for shard in list(self._shards.values()):
            await shard.close()
        self._shards.clear()
        self._owner.clear()
        await super().close()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"))
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._cluster.spublish(channel, data)
        except REDIS_FAILED as error:  # TimeoutError is an OSError
            lost_publish(1, error)

    def shard_of(self, channel: str) -> str | None:
        """The shard (host:port of a primary) this process is subscribed on for `channel`."""
        return self._owner.get(channel)

    # ----------------------------------------------------------- subscribing

    def _shard_for(self, channel: str) -> _Shard:
        node = self._cluster.get_node_from_key(channel)
        if node is None:
            raise ConnectionError(f"no primary owns the slot of {channel}")
        shard = self._shards.get(node.name)
        if shard is None or shard.dead:
            shard = self._shards[node.name] = _Shard(self, node.name, node.host, int(node.port))
        return shard

    async def _attach(self, channel: str) -> asyncio.Event | None:
        """Under the lock: SSUBSCRIBE on the owner's primary; the event fires on confirmation."""
        if channel not in self._local or channel in self._owner:
            return None
        shard = self._shard_for(channel)
        confirmed = shard.confirmations[channel] = asyncio.Event()
        await shard.pubsub.ssubscribe(channel)
        shard.channels.add(channel)
        self._owner[channel] = shard.name
        shard.start_reader()
        return confirmed

    async def _channel_opened(self, channel: str) -> None:
        """Returns once Redis confirmed SSUBSCRIBE (a PUBLISH read first would be lost). If the
        shard is unreachable right now the repair task subscribes later and sends RESYNC."""
        try:
            async with self._lock:
                confirmed = await self._attach(channel)
        except REDIS_FAILED as exc:
            log.warning("SSUBSCRIBE %s failed (%s); repairing", channel, type(exc).__name__)
            self._detach(channel)
            return
        if confirmed is None:
            return
        try:
            async with asyncio.timeout(SUBSCRIBE_CONFIRM_SECONDS):
                await confirmed.wait()
        except TimeoutError:
            log.warning("no confirmation of SSUBSCRIBE %s; repairing", channel)
            self._detach(channel)

    async def _channel_closed(self, channel: str) -> None:
        async with self._lock:
            if channel in self._local:
                return
            name = self._owner.pop(channel, None)
            shard = self._shards.get(name) if name else None
            if shard is None or shard.dead:
                return
            shard.channels.discard(channel)
            with contextlib.suppress(RedisError, OSError):
                await shard.pubsub.sunsubscribe(channel)

    # ---------------------------------------------------------------- repair

    def _detach(self, channel: str) -> None:
        name = self._owner.pop(channel, None)
        shard = self._shards.get(name) if name else None
        if shard is not None:
            shard.channels.discard(channel)
        self._detached.set()

    def _unsubscribed_by_server(self, shard: _Shard, channel: str) -> None:
        """A `sunsubscribe` we did not send (the slot left this primary): re-route it."""
        if channel in self._local and self._owner.get(channel) == shard.name:
            log.info("shard %s dropped %s (slot moved); re-routing", shard.name, channel)
            self._detach(channel)

    async def _shard_lost(self, shard: _Shard) -> None:
        shard.dead = True
        if self._shards.get(shard.name) is shard:
            del self._shards[shard.name]
        for channel in list(shard.channels):
            if self._owner.get(channel) == shard.name:
                del self._owner[channel]
        shard.channels.clear()
        self._detached.set()
        await shard.close()

    async def _repair_forever(self) -> None:
        while True:
            await self._detached.wait()
            self._detached.clear()
            try:
                await self._repair_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster pub/sub repair incomplete (%s: %s); retrying",
                            type(exc).__name__, exc)
                self._detached.set()
                await asyncio.sleep(self._reconnect_delay)

    async def _repair_once(self) -> None:
        await asyncio.sleep(self._reconnect_delay)
        if not self.connected:
            await self._cluster.initialize()  # raises until a node answers: retried
            self.connected = True
            log.info("redis cluster reachable; subscribing")
        async with self._lock:
            missing = [channel for channel in self._local if channel not in self._owner]
        if not missing:
            return
        # A fresh slot map: after a failover the replica that took over owns the slots.
        await self._cluster.nodes_manager.initialize()
        waiting: dict[str, asyncio.Event] = {}
        failed = False
        async with self._lock:
            for channel in missing:
                try:
                    confirmed = await self._attach(channel)
                except REDIS_FAILED as exc:
                    log.info("SSUBSCRIBE %s not yet possible (%s)", channel, type(exc).__name__)
                    self._detach(channel)
                    failed = True
                    continue
                if confirmed is not None:
                    waiting[channel] = confirmed
        for channel, confirmed in waiting.items():
            try:
                async with asyncio.timeout(SUBSCRIBE_CONFIRM_SECONDS):
                    await confirmed.wait()
            except TimeoutError:
                self._detach(channel)
                failed = True
                continue
            if self._owner.get(channel) is not None:
                self.resyncs += 1
                self._fan_out(channel, RESYNC)
        if waiting:
            log.info("cluster pub/sub: %d channel(s) re-subscribed after a gap", len(waiting))
        if failed:
            raise ConnectionError("some channels could not be re-subscribed yet")
