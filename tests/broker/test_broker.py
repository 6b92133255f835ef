"""The broker on both backends: delivery, bounded queues, cleanup, cross-process, reconnect."""

import asyncio
import contextlib
import json
import subprocess
import sys
import textwrap
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from resolvers.services import services
from subscriptions.broker import RESYNC, RedisBroker
from subscriptions.channels import NAMESPACE
from tests.activity.proxy import TcpProxy
from tests.helpers import until
from tests.live import ROOT


async def next_message(subscription, timeout=5.0):
    return await asyncio.wait_for(subscription.get(), timeout)


async def test_every_subscriber_gets_every_event(db):
    # given
    broker = services().broker
    channel = f"{NAMESPACE}:test:fanout"
    first = await broker.subscribe(channel)
    second = await broker.subscribe(channel)
    try:
        # when
        await broker.publish(channel, {"n": 1})
        await broker.publish(channel, {"n": 2})
        # then
        assert [await next_message(first), await next_message(first)] == [{"n": 1}, {"n": 2}]
        assert [await next_message(second), await next_message(second)] == [{"n": 1}, {"n": 2}]
    finally:
        await first.close()
        await second.close()


async def test_latest_only_subscribers_keep_just_the_newest_state(db):
    # given a slow subscriber
    broker = services().broker
    channel = f"{NAMESPACE}:test:latest"
    slow = await broker.subscribe(channel, latest_only=True)
    heard: list[dict[str, int]] = []  # each message is handed to both at once, in order
    witness = await broker.subscribe(channel, on_message=heard.append)
    try:
        # when many states are published before it reads
        for version in range(1, 51):
            await broker.publish(channel, {"version": version})
        await until(lambda: len(heard) == 50, lambda: f"all 50 delivered: {len(heard)} so far")
        # then it reads only the last one
        assert await next_message(slow) == {"version": 50}
        assert slow.get_nowait() is None
    finally:
        await slow.close()
        await witness.close()


async def test_closing_the_last_local_subscriber_releases_the_channel(db):
    # given
    broker = services().broker
    channel = f"{NAMESPACE}:test:cleanup"
    subscribers = [await broker.subscribe(channel) for _ in range(20)]
    # then one Redis subscription serves all twenty local listeners
    if db.redis_url:
        assert await redis_subscriber_count(db.redis_url, channel) == 1
    assert broker.local_subscriber_count(channel) == 20
    # when
    for subscriber in subscribers:
        await subscriber.close()
    # then
    assert broker.local_subscriber_count(channel) == 0
    if db.redis_url:
        assert await redis_subscriber_count(db.redis_url, channel) == 0


async def redis_subscriber_count(url: str, channel: str) -> int:
    client = Redis.from_url(url)
    try:
        for _ in range(50):
            [(_, count)] = await client.pubsub_numsub(channel)
            if count in (0, 1):
                return int(count)
            await asyncio.sleep(0.05)
        return int(count)
    finally:
        await client.aclose()


PUBLISHER = textwrap.dedent(
    """
    import asyncio, sys
    from redis.asyncio import Redis
    from subscriptions.broker import RedisBroker

    async def main():
        redis = Redis.from_url(sys.argv[1])
        broker = RedisBroker(redis)
        await broker.publish(sys.argv[2], {"from": "another process"})
        await redis.aclose()

    asyncio.run(main())
    """
)


@pytest.mark.redis
async def test_an_event_published_in_another_process_arrives_through_redis(db):
    # given
    broker = services().broker
    channel = f"{NAMESPACE}:test:cross-process"
    subscription = await broker.subscribe(channel)
    try:
        # when
        await asyncio.to_thread(subprocess.run, [sys.executable, "-c", PUBLISHER, db.redis_url, channel],
                                cwd=ROOT, check=True, timeout=30)
        # then
        assert await next_message(subscription) == {"from": "another process"}
    finally:
        await subscription.close()


@pytest.mark.redis
async def test_after_a_redis_reconnect_subscribers_are_told_to_resync(db):
    # given a broker of its own, so killing its connection disturbs no other test
    name = f"{NAMESPACE}-reconnect"
    redis = Redis.from_url(db.redis_url, client_name=name)
    broker = RedisBroker(redis, reconnect_delay=0.05)
    await broker.start()
    channel = f"{NAMESPACE}:test:reconnect"
    subscription = await broker.subscribe(channel)
    admin = Redis.from_url(db.redis_url)
    try:
        await asyncio.sleep(0.2)
        # when Redis drops this broker's pub/sub connection (and only this one)
        for client in await admin.client_list(_type="pubsub"):
            if client.get("name") == name:
                await admin.client_kill_filter(_id=client["id"])
        # then the subscriber hears RESYNC, and later events still arrive
        assert await next_message(subscription) == RESYNC
        await broker.publish(channel, {"after": "reconnect"})
        assert await next_message(subscription) == {"after": "reconnect"}
    finally:
        await subscription.close()
        await broker.close()
        await redis.aclose()
        await admin.aclose()


@pytest.mark.redis
async def test_a_subscriber_cancelled_as_redis_confirms_its_subscribe_ends_and_leaves_nothing(db, monkeypatch):
    # given a broker of its own whose SUBSCRIBE confirmation the test hands over itself
    redis = Redis.from_url(db.redis_url)
    broker = RedisBroker(redis)
    await broker.start()
    channel = f"{NAMESPACE}:test:cancel-confirm"
    confirmations: dict[str, asyncio.Event] = {}
    waiting = asyncio.Event()

    class Held(dict):
        def __setitem__(self, key: str, event: asyncio.Event) -> None:
            wait = event.wait

            async def waited() -> bool:
                waiting.set()
                return await wait()

            event.wait = waited  # type: ignore[method-assign]
            confirmations[key] = event  # not kept here: the reader never sets it

    monkeypatch.setattr(broker, "_confirmations", Held())
    try:
        subscribing = asyncio.create_task(broker.subscribe(channel))
        async with asyncio.timeout(5):
            await waiting.wait()
        # when the confirmation and the client's leaving arrive in the same loop turn (a
        # WebSocket closed while its subscription started: strawberry cancels the operation)
        confirmations[channel].set()
        subscribing.cancel()
        # then the subscriber ends (Python 3.11's wait_for returned the subscription instead,
        # and the operation ran on with no one reading it, for ever) ...
        with pytest.raises(asyncio.CancelledError):
            await subscribing
        # ... and leaves no listener and no Redis subscription behind
        assert broker.local_subscriber_count(channel) == 0
        assert (await redis.pubsub_numsub(channel)) == [(channel.encode(), 0)]
    finally:
        await broker.close()
        await redis.aclose()


async def test_a_subscriber_cancelled_at_any_point_of_its_start_ends(db):
    # given subscribers that read their first event (as a subscription's operation does) ...
    broker = services().broker
    operations = []
    for turns in range(40):
        async def operation(channel: str = f"{NAMESPACE}:test:cancel-start:{turns}") -> None:
            subscription = await broker.subscribe(channel)
            try:
                await subscription.get()
            finally:
                await subscription.close()

        started = asyncio.create_task(operation())
        # ... when each is cancelled a different number of loop turns into its start (its
        # client left): on Redis, some while redis-py's wait_for had the SUBSCRIBE on the wire,
        # which returns instead of raising on Python 3.11 when the write completes that turn
        for _ in range(turns % 8):
            await asyncio.sleep(0)
        started.cancel()
        operations.append(started)
    # then every one of them ends, and no listener stays (25 of 40 ran on for ever before)
    done, running = await asyncio.wait(operations, timeout=5)
    assert not running, f"{len(running)} of {len(operations)} subscribers still running after their cancel"
    assert all(operation.cancelled() for operation in done)
    assert broker.local_subscriber_count() == 0


@pytest.mark.redis
async def test_a_broker_started_while_redis_is_down_starts_and_connects_once_it_is_back(db):
    # given Redis behind a proxy that does not listen yet (a worker starting during an outage)
    target = urlsplit(db.redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    redis = Redis.from_url(f"redis://127.0.0.1:{proxy.port}/0")
    broker = RedisBroker(redis, reconnect_delay=0.05)
    admin = Redis.from_url(db.redis_url)
    channel = f"{NAMESPACE}:test:start-degraded"
    subscription = None
    try:
        # when it starts: no error, disconnected, and a listener subscribes locally meanwhile
        await broker.start()
        assert not broker.connected
        subscription = await broker.subscribe(channel)
        # and when Redis becomes reachable
        await proxy.start()
        # then the listener hears RESYNC (re-read the database), and later events arrive
        assert await next_message(subscription, timeout=10) == RESYNC
        assert broker.connected
        await admin.publish(channel, json.dumps({"after": "start"}))
        assert await next_message(subscription) == {"after": "start"}
    finally:
        if subscription is not None:
            await subscription.close()
        await broker.close()
        await redis.aclose()
        await admin.aclose()
        await proxy.cut()


async def test_a_subscription_that_ends_releases_its_broker_subscription(db):
    # given a live slotCount subscription executed through the production schema
    from models.activity import Activity
    from resolvers.auth import Viewer
    from schema import schema
    from schema.context import Context
    from schema.relay import to_global_id
    from tests.e2e.test_websocket import SLOTS, published_activity

    activity: Activity = await published_activity()
    broker = services().broker
    before = broker.local_subscriber_count()
    stream = await schema.subscribe(SLOTS, variable_values={"id": to_global_id("Activity", activity.id)},
                                    context_value=Context(viewer=Viewer()))
    first = await asyncio.wait_for(stream.__anext__(), 5)
    assert first.data["slotCount"]["capacity"] == 5
    assert broker.local_subscriber_count() > before
    # when the client goes away
    await stream.aclose()
    # then nothing stays subscribed
    for _ in range(50):
        if broker.local_subscriber_count() == before:
            break
        await asyncio.sleep(0.05)
    assert broker.local_subscriber_count() == before


async def test_an_event_published_right_after_subscribing_is_never_lost(db):
    # given many fresh channels, each published to the moment subscribe() returns
    broker = services().broker
    for index in range(100):
        channel = f"{NAMESPACE}:test:immediate:{index}"
        subscription = await broker.subscribe(channel)
        try:
            # when
            await broker.publish(channel, {"n": index})
            # then
            assert await next_message(subscription, timeout=2.0) == {"n": index}
        finally:
            await subscription.close()


@contextlib.asynccontextmanager
async def _other_process(db):
    """A broker of its own, as another worker process has (Redis backend only)."""
    redis = Redis.from_url(db.redis_url)
    other = RedisBroker(redis)
    await other.start()
    try:
        yield other
    finally:
        await other.close()
        await redis.aclose()


def _drain(listener) -> list[int]:
    versions = []
    while (message := listener.get_nowait()) is not None:
        versions.append(message["version"])
    return versions


async def test_publish_latest_reaches_this_process_at_once_and_others_coalesced(db):
    # given: listeners in this process, and (on Redis) in another process
    broker = services().broker
    channels = [f"{NAMESPACE}:test:outbox:{n}" for n in range(3)]
    listeners = [await broker.subscribe(channel) for channel in channels]
    async with contextlib.AsyncExitStack() as stack:
        other = await stack.enter_async_context(_other_process(db)) if db.redis_url else None
        remote = [await other.subscribe(channel) for channel in channels] if other else []
        try:
            # when: a burst of versions, out of order on the last channel, without awaiting
            for version in range(1, 21):
                broker.publish_latest(channels[0], {"version": version}, version)
            broker.publish_latest(channels[1], {"version": 7}, 7)
            broker.publish_latest(channels[2], {"version": 9}, 9)
            broker.publish_latest(channels[2], {"version": 8}, 8)  # older: never replaces 9
            # then: this process's listeners had every one at once, before any round trip
            local = [_drain(listener) for listener in listeners]
            assert local == [list(range(1, 21)), [7], [9, 8]]
            await broker.flush()
            await asyncio.sleep(0.2)
            # and never again as the broker's echo
            assert [_drain(listener) for listener in listeners] == [[], [], []]
            if other:
                # and another process gets each channel's newest, coalesced, only rising
                received = [_drain(listener) for listener in remote]
                assert [r[-1] for r in received] == [20, 7, 9]
                assert all(r == sorted(set(r)) for r in received), received
                assert len(received[0]) < 20  # the burst was coalesced, not sent 20 times
        finally:
            for listener in listeners + remote:
                await listener.close()


@pytest.mark.redis
async def test_a_failing_publish_latest_loses_only_that_batch(db, monkeypatch, caplog):
    # given: another process listening, and a broker that refuses the first batch
    broker = services().broker
    channel = f"{NAMESPACE}:test:outbox-failure"
    async with _other_process(db) as other:
        listener = await other.subscribe(channel)
        real = broker.publish_many
        calls = 0

        async def flaky(items):
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("broker down")
            await real(items)

        monkeypatch.setattr(broker, "publish_many", flaky)
        try:
            # when
            broker.publish_latest(channel, {"version": 1}, 1)
            await broker.flush()
            broker.publish_latest(channel, {"version": 2}, 2)
            await broker.flush()
            # then: logged, not raised, and the next state goes out (without the origin tag)
            assert await next_message(listener) == {"version": 2}
            assert "publish of 1 channels failed" in caplog.text
        finally:
            await listener.close()
