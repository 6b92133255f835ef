"""The load balancer's configuration (scripts/cluster.haproxy_config) with Debian's haproxy in
front of stand-in nodes: a connection that fails is retried on another node, a request that
reached a node is never replayed, and haproxy's own answers are GraphQL-shaped errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from scripts.cluster import HAPROXY, haproxy_config, wait_port, write_error_files
from tests.conftest import IN_CI
from tests.live import free_port

QUERY = {"query": "mutation { signUp(activityId: \"QWN0aXZpdHk6MQ\") { status } }"}


class StandIn:
    """A node: answers /readyz; POST /graphql is answered, or the connection is dropped
    after the request was read (a node dying mid-request)."""

    def __init__(self, *, answers: bool) -> None:
        self.answers = answers
        self.port = free_port()
        self.posts = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                if head.startswith(b"POST"):
                    self.posts += 1
                    if not self.answers:
                        writer.transport.abort()
                        return
                body = b'{"data":{"signUp":{"status":"CONFIRMED"}}}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


Balancer = Callable[[list[int]], Awaitable[str]]


def _require_haproxy() -> None:
    if not Path(HAPROXY).exists():
        message = f"{HAPROXY} missing (apt-get install haproxy)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _write_config(directory: Path, port: int, servers: list[int]) -> Path:
    config = directory / f"haproxy-{port}.cfg"
    config.write_text(haproxy_config(port, servers, write_error_files(directory / "errors")))
    return config


@pytest.fixture
async def balancer(tmp_path: Path) -> AsyncIterator[Balancer]:
    _require_haproxy()
    started: list[asyncio.subprocess.Process] = []

    async def start(servers: list[int]) -> str:
        port = free_port()
        config = _write_config(tmp_path, port, servers)
        started.append(await asyncio.create_subprocess_exec(
            HAPROXY, "-db", "-f", str(config), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL))
        await asyncio.to_thread(wait_port, port)
        return f"http://127.0.0.1:{port}/graphql"

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            await process.wait()


async def _node(answers: bool) -> StandIn:
    node = StandIn(answers=answers)
    await node.start()
    return node


def _unavailable(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "UNAVAILABLE"}, body
    return str(body["errors"][0]["message"])


async def test_a_refused_connection_is_retried_on_another_node(balancer: Balancer) -> None:
    # given: the first node is gone (nothing listens), the second answers
    live = await _node(answers=True)
    url = await balancer([free_port(), live.port])
    try:
        # when: requests arrive before the health check has noticed
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(client.post(url, json=QUERY) for _ in range(6)))
    finally:
        await live.stop()
    # then: every one answered by the live node, once each
    assert [response.status_code for response in answers] == [200] * 6
    assert live.posts == 6


async def test_a_node_dying_mid_request_is_a_graphql_error_not_a_replay(balancer: Balancer) -> None:
    # given: a node that reads the request and then drops the connection
    dying = await _node(answers=False)
    url = await balancer([dying.port])
    try:
        # when
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, json=QUERY)
    finally:
        await dying.stop()
    # then: a 502 the client can read, and the mutation was not sent twice
    assert response.status_code == 502
    assert "retry only an idempotent one" in _unavailable(response)
    assert dying.posts == 1


async def test_no_node_available_is_a_graphql_error(balancer: Balancer) -> None:
    # given: no node listening at all
    url = await balancer([free_port()])
    # when
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url, json=QUERY)
    # then
    assert response.status_code == 503
    assert _unavailable(response).startswith("No server is available")
    assert json.loads(response.text)["errors"][0]["message"]
