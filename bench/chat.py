"""A chat room of 2,000 members, every one subscribed, on a 2-worker server with PostgreSQL and
Redis (the method of bench.slots): the subscribers run in their own process (bench.slots' raw
WebSocket client, bench/wsclient.py; pinned to one core with --client-cpu), spread over the
workers by the kernel; one member then posts messages over HTTP one after another, and each (subscriber, message) delay is the time from
the post's HTTP response (after its commit) to the frame's arrival. Then the history page
(`chatRoom { messages(first: 20) }`) is read --pages times.

    .venv/bin/python -m bench.chat [--members 2000] [--messages 30] [--pages 300]
                                   [--workers 2] [--client-cpu 1] [--baseline]

--baseline runs the per-subscriber path (SHARED_SUBSCRIPTIONS=0) on the same room right after
the shared one and prints the ratios (the machine's load changes less within one run).

Targets (issue 31): every member receives the message with p99 < 300 ms; history page
p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlsplit

import jwt

from bench.common import (
    JWT_SECRET,
    REDIS_URL,
    ROOT,
    connect,
    cpu_seconds,
    percentile,
    scratch_database,
    start_tongxin,
)
from bench.httpclient import LeanClient
from bench.slots import METRICS_TOKEN, bucket_quantile, delivery_buckets
from bench.wsclient import Subscriber

MESSAGES = "subscription C($room: ID!) { chatMessages(roomId: $room) { id body } }"
# --after: as the web page subscribes, after the newest message it loaded (all members loaded
# the same one: one shared group per worker that replays from it)
MESSAGES_AFTER = """subscription C($room: ID!, $after: ID) {
  chatMessages(roomId: $room, after: $after) { id body } }"""
POST = """mutation P($room: ID!, $body: String!, $client: String!) {
  postChatMessage(roomId: $room, body: $body, clientId: $client) { id } }"""
HISTORY = """query H($team: ID!) { chatRoom(teamId: $team) {
  unreadCount messages(first: 20) { edges { node { id body authorName createdAt } } } } }"""


def token(volunteer_id: int) -> str:
    return jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET,
                      algorithm="HS256")


async def seed(database_url: str, members: int) -> tuple[list[int], int, int]:
    """Members of one team (approved), its chat room; returns (member ids, team id, room id)."""
    from tortoise import Tortoise

    from db.config import tortoise_config
    from tests.activity.clients import bulk_volunteers

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        await Tortoise.generate_schemas(safe=True)
        people = [p.id for p in await bulk_volunteers(members, "bench-no-login", prefix="群友")]
    finally:
        await Tortoise.close_connections()
    conn = await connect(database_url)
    try:
        team = await conn.fetchval(
            "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, "
            "created_at) VALUES ('压测社区志愿服务队', 'COMMUNITY', '朝阳区', '/', $1, 0, now()) "
            "RETURNING id", people[0])
        await conn.execute("UPDATE team SET path = '/' || id || '/' WHERE id = $1", team)
        await conn.executemany(
            "INSERT INTO membership (team_id, volunteer_id, role, status, created_at) "
            "VALUES ($1, $2, $3, 'APPROVED', now())",
            [(team, p, "ADMIN" if i == 0 else "MEMBER") for i, p in enumerate(people)])
        room = await conn.fetchval(
            "INSERT INTO chat_room (kind, team_id, created_at) VALUES ('TEAM', $1, now()) "
            "RETURNING id", team)
        await conn.executemany(
            "INSERT INTO chat_message (room_id, author_id, client_id, body, photo_urls, "
            "mentions, deleted, created_at) VALUES ($1, $2, $3, $4, '[]', '[]', false, now())",
            [(room, people[i % min(50, len(people))], f"seed-{i}", f"历史消息 {i}") for i in range(200)])
    finally:
        await conn.close()
    return people, int(team), int(room)


async def newest_message(database_url: str, room_id: int) -> str:
    from schema.relay import to_global_id

    conn = await connect(database_url)
    try:
        newest = await conn.fetchval("SELECT max(id) FROM chat_message WHERE room_id = $1",
                                     room_id)
    finally:
        await conn.close()
    return str(to_global_id("ChatMessage", int(newest)))


# --- the subscriber process -------------------------------------------------------------


AFTER: str | None = None  # the subscriber process's --after (a message ID)


class ChatSubscriber(Subscriber):
    """bench.slots' raw client (bench/wsclient.py: frames kept as bytes with their arrival
    time, parsed after the run), logged in as a member and subscribed to the room."""

    def __init__(self, host: str, path: str, bearer: str, room: str) -> None:
        super().__init__(host, path, room)
        self.bearer = bearer

    def send(self, message: dict[str, object]) -> None:
        if message.get("type") == "connection_init":
            message = {"type": "connection_init",
                       "payload": {"Authorization": f"Bearer {self.bearer}"}}
        super().send(message)

    def on_text(self, now: float, payload: bytes) -> None:
        if b'"connection_ack"' in payload[:40]:
            self.send({"id": "1", "type": "subscribe", "payload": {
                "query": MESSAGES_AFTER if AFTER else MESSAGES,
                "variables": {"room": self.activity, **({"after": AFTER} if AFTER else {})}}})
            self.primed_once = True
            self.primed.set_result(None)
            return
        self.received.append((now, payload))


async def subscribers(url: str, room: str, tokens: list[str], out: str) -> None:
    """Every member subscribed; prints `ready`, records (arrival, frame) per subscriber until
    `stop` arrives on stdin, then writes (arrival, message id) per subscriber to `out`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    clients: list[ChatSubscriber] = []
    for first in range(0, len(tokens), 200):
        batch = []
        for bearer in tokens[first:first + 200]:
            _, protocol = await loop.create_connection(
                functools.partial(ChatSubscriber, f"{host}:{port}", parts.path or "/", bearer,
                                  room), host, port)
            batch.append(protocol)
        await asyncio.wait_for(asyncio.gather(*(c.primed for c in batch)), 120)
        clients += batch
    await asyncio.sleep(1.0)  # the last SUBSCRIBEs reach the broker
    # The process's own event-loop lag: frames that arrive while it is late (another process
    # has its core) are timestamped late, which is the measurement's delay, not the server's.
    lags: list[tuple[float, float]] = []
    ticking = asyncio.create_task(_tick(lags))
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    ticking.cancel()
    received = [[(at, message["payload"]["data"]["chatMessages"]["id"])
                 for at, raw in client.received
                 if (message := json.loads(raw)).get("type") == "next"] for client in clients]
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    _write(out, {"received": received, "lags": lags})
    print("done", flush=True)


async def _tick(lags: list[tuple[float, float]]) -> None:
    """(when, how late) of a 5 ms timer, for the whole run."""
    while True:
        due = time.perf_counter() + 0.005
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        lags.append((now, now - due))


def _write(path: str, found: dict[str, object]) -> None:
    with open(path, "w") as target:
        json.dump(found, target)


# --- the driver -------------------------------------------------------------------------


async def post_messages(url: str, room: str, author: int, count: int) -> dict[str, float]:
    """Posts one after another; returns message id → time its response arrived."""
    client = LeanClient(url)
    await client.open(1)
    sent: dict[str, float] = {}
    try:
        for index in range(count):
            request = client.request_bytes(
                {"query": POST, "variables": {"room": room, "body": f"通知 {index}：明早八点集合",
                                              "client": uuid.uuid4().hex}},
                {"Authorization": f"Bearer {token(author)}"})
            _, body = await client.post(request)
            sent[body["data"]["postChatMessage"]["id"]] = time.perf_counter()
            await asyncio.sleep(0.2)  # one message at a time, as people type
    finally:
        client.close()
    return sent


async def history_pages(url: str, team: str, reader: int, count: int) -> list[float]:
    client = LeanClient(url)
    await client.open(1)
    request = client.request_bytes({"query": HISTORY, "variables": {"team": team}},
                                   {"Authorization": f"Bearer {token(reader)}"})
    times: list[float] = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            _, body = await client.post(request)
            times.append((time.perf_counter() - started) * 1000)
            assert "errors" not in body, body
    finally:
        client.close()
    return times


def run(database_url: str, people: list[int], room: str, team: str, args: argparse.Namespace,
        shared: str) -> tuple[float, float]:
    """One server (SHARED_SUBSCRIPTIONS=`shared`), every member subscribed, the messages, the
    history pages; returns the delivery p50 and p99 (ms)."""
    server = start_tongxin(database_url, workers=args.workers, REDIS_URL=REDIS_URL,
                           CHAT_MESSAGES_PER_MINUTE="100000", SHARED_SUBSCRIPTIONS=shared,
                           METRICS_TOKEN=METRICS_TOKEN)
    tokens_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump([token(p) for p in people], tokens_file)
    tokens_file.close()
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    command = [sys.executable, "-m", "bench.chat", "--subscribers", server.url.replace(
        "http://", "ws://"), room, tokens_file.name, out, args.after_id or ""]
    if args.client_cpu is not None:
        command = ["taskset", "-c", args.client_cpu, *command]
    clients = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, cwd=ROOT)
    try:
        assert clients.stdout is not None and clients.stdin is not None
        started = time.perf_counter()
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the subscriber process failed")
        print(f"{args.members} members subscribed in {time.perf_counter() - started:.1f} s "
              f"({args.workers} workers, PostgreSQL + Redis)")
        trees = {"server": server.process.pid}
        written_before = delivery_buckets(server.url, "chatMessages")
        cpu_before = cpu_seconds(trees, services=())
        sent = asyncio.run(post_messages(server.url, room, people[1], args.messages))
        time.sleep(3)
        cpu_after = cpu_seconds(trees, services=())
        written = {le: count - written_before.get(le, 0.0)
                   for le, count in delivery_buckets(server.url, "chatMessages").items()}
        clients.stdin.write("stop\n")
        clients.stdin.flush()
        clients.stdout.readline()
        with open(out) as source:
            found = json.load(source)
        received, lags = found["received"], found["lags"]
        delays = [(arrival - sent[message]) * 1000 for frames in received
                  for arrival, message in frames if message in sent]
        expected = len(sent) * len(received)
        print(f"delivery: {len(delays):,} of {expected:,} (subscriber, message) pairs; "
              f"p50 {percentile(delays, 0.5):.1f} ms  p99 {percentile(delays, 0.99):.1f} ms  "
              f"max {max(delays):.1f} ms")
        if shared == "1":  # the shared path records when each message's frames were written
            print(f"server's commit → frames written (tongxin_live_delivery_seconds, one sample "
                  f"per message per worker, {written.get(float('inf'), 0):.0f} samples): p50 "
                  f"{bucket_quantile(0.5, written) * 1000:.0f} ms  p99 "
                  f"{bucket_quantile(0.99, written) * 1000:.0f} ms (bucket-interpolated)")
        explain_tail(sent, received, lags)
        # The workers' own CPU (not wall time) is what the shared machine's load cannot inflate.
        print(f"server CPU per message (both workers, post + delivery to every member): "
              f"{(cpu_after['server'] - cpu_before['server']) * 1000 / len(sent):.1f} ms")
        pages = asyncio.run(history_pages(server.url, team, people[2], args.pages))
        print(f"history page (20 messages + unreadCount): p50 "
              f"{percentile(pages, 0.5):.2f} ms  p99 {percentile(pages, 0.99):.2f} ms")
        return percentile(delays, 0.5), percentile(delays, 0.99)
    finally:
        clients.kill()
        server.stop()


def explain_tail(sent: dict[str, float], received: list[list[tuple[float, str]]],
                 lags: list[tuple[float, float]]) -> None:
    """Where a high p99 comes from: one message late for everyone (a stall while it was
    written, or the client process off its core) or a few subscribers late for every message
    (slow consumers). Prints the slowest messages with the subscriber process's own worst
    event-loop lag while each was arriving."""
    by_message: dict[str, list[float]] = {message: [] for message in sent}
    by_subscriber: list[float] = []
    for frames in received:
        mine = [(arrival - sent[message]) * 1000 for arrival, message in frames
                if message in sent]
        for arrival, message in frames:
            if message in sent:
                by_message[message].append((arrival - sent[message]) * 1000)
        by_subscriber.append(percentile(mine, 0.5) if mine else float("nan"))
    worst = sorted(by_message, key=lambda m: -percentile(by_message[m], 0.99))[:3]
    for message in worst:
        start, end = sent[message], sent[message] + max(by_message[message]) / 1000
        lag = max((late for at, late in lags if start <= at <= end + 0.005), default=0.0)
        print(f"  slow message: p50 {percentile(by_message[message], 0.5):.0f} ms  p99 "
              f"{percentile(by_message[message], 0.99):.0f} ms  max "
              f"{max(by_message[message]):.0f} ms; client loop lag then {lag * 1000:.0f} ms")
    over = sum(1 for m in sent if percentile(by_message[m], 0.99) > 300)
    print(f"  messages whose own p99 > 300 ms: {over} of {len(sent)}; subscribers' median "
          f"delay p99 {percentile(by_subscriber, 0.99):.0f} ms (slow consumers would show "
          f"here); client loop lag p99 "
          f"{percentile([late * 1000 for _, late in lags], 0.99):.0f} ms  max "
          f"{max(late for _, late in lags) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client-cpu", default=None)
    parser.add_argument("--after", action="store_true",
                        help="subscribe as the web page does: chatMessages(after: the newest "
                        "seeded message)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the per-subscriber path (SHARED_SUBSCRIPTIONS=0) in the "
                        "same run, on the same room, and print the ratios")
    args = parser.parse_args()
    from schema.relay import to_global_id

    modes = [("shared (execute once per message)", "1")]
    if args.baseline:
        modes.append(("per-subscriber (SHARED_SUBSCRIPTIONS=0)", "0"))
    figures: dict[str, tuple[float, float]] = {}
    with scratch_database("tongxin_chat") as database_url:
        people, team_id, room_id = asyncio.run(seed(database_url, args.members))
        room, team = to_global_id("ChatRoom", room_id), to_global_id("Team", team_id)
        args.after_id = asyncio.run(newest_message(database_url, room_id)) if args.after else None
        for name, shared in modes:
            print(f"--- {name}")
            figures[name] = run(database_url, people, room, team, args, shared)
    if len(figures) == 2:
        (p50, p99), (base50, base99) = figures.values()
        print(f"ratio shared/per-subscriber delay: p50 {p50 / base50:.2f}  p99 {p99 / base99:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--subscribers":
        _, _, url, room, tokens_path, out, after = sys.argv
        AFTER = after or None
        with open(tokens_path) as source:
            tokens = json.load(source)
        try:
            import uvloop
        except ImportError:  # pragma: no cover
            asyncio.run(subscribers(url, room, tokens, out))
        else:
            uvloop.run(subscribers(url, room, tokens, out))
    else:
        main()
