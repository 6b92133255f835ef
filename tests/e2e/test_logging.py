"""Logging in a real multi-worker server: every worker is a fresh process, and each one must
write request lines and error lines in the one format (core/logconfig.py)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import httpx
from tortoise import connections

from tests.live import log_lines_settle

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(?P<pid>\d+)\] "
                  r"(?P<level>[A-Z]+) (?P<logger>[\w.]+) (?P<message>.+)$")
ME = "{ me { id } }"
COURSES = "{ courses(first: 1) { edges { node { id } } } }"


def formatted(log: str, logger: str) -> list[re.Match[str]]:
    return [match for line in log.splitlines()
            if (match := LINE.match(line)) and match["logger"] == logger]


def bare_lines(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if text in line and not LINE.match(line)]


async def send_until(url: str, query: str, done: Callable[[], object], seconds: float = 15.0) -> None:
    """Concurrent requests, each on its own connection so the kernel can hand it to any
    worker, until `done()` holds."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        async def one() -> None:
            async with httpx.AsyncClient() as client:
                await client.post(url, json={"query": query})
        await asyncio.gather(*(one() for _ in range(8)))
        await asyncio.sleep(0.1)


async def test_every_worker_writes_formatted_request_and_error_lines(pair_server):
    # given: two workers
    server = pair_server
    # when: requests until both workers have logged some
    await send_until(server.url, ME, lambda: len(
        {match["pid"] for match in formatted(server.log(), "tongxin.request")}) >= 2)
    # and: a query the database cannot answer (its table gone) is an unexpected error
    database = connections.get("default")
    await database.execute_script("ALTER TABLE course RENAME TO course_hidden")
    try:
        await send_until(server.url, COURSES,
                         lambda: formatted(server.log(), "tongxin.errors"), seconds=5)
    finally:
        await database.execute_script("ALTER TABLE course_hidden RENAME TO course")
    log = await log_lines_settle(server, lambda log: "Traceback" in log[log.find("unexpected error"):])
    # then: both workers' request lines carry time, pid, level and logger
    requests = formatted(log, "tongxin.request")
    assert len({match["pid"] for match in requests}) == 2, log[-3000:]
    assert {match["level"] for match in requests} == {"INFO"}
    assert not bare_lines(log, '"requestId"')
    # and: the error line is formatted alike, the traceback follows it
    errors = formatted(log, "tongxin.errors")
    assert errors and all(match["level"] == "ERROR" for match in errors), log[-3000:]
    assert errors[0]["message"].startswith("unexpected error request_id=")
    assert not bare_lines(log, "unexpected error")
