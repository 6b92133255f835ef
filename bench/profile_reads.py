"""In-process CPU per request of bench/queries.py's documents, without HTTP sockets or a load
generator: Tongxin's app (compiled reads, the prepared edge) and the plain endpoint
(bench/plain_queries.py) each called as an ASGI app, one request after another, timed with
`time.process_time`; PostgreSQL's side separately, as the CPU of the one backend that runs
each document's statement(s) (/proc of `pg_backend_pid()`). Run by `bench.queries --profile`
(which seeds a scratch database and sets the environment); `--cprofile` also prints the
compiled path's hottest functions.

    python -m bench.profile_reads REQUESTS DETAIL_ID TOKEN DOCUMENT... [--cprofile]
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.queries import DOCUMENTS, Document

Scope = dict[str, Any]


async def call(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST through the ASGI app, as uvicorn would hand it over."""
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *((k.lower().encode(), v.encode()) for k, v in headers.items())]}
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def backend_cpu_ns(pid: int) -> int:
    """The process's CPU time in ns (/proc's schedstat: the scheduler's own account, where
    /proc's stat counts whole 10 ms ticks, ±0.025 ms per statement over 400 runs)."""
    with open(f"/proc/{pid}/schedstat") as schedstat:
        return int(schedstat.read().split()[0])


async def timed(app: Any, path: str, body: bytes, headers: dict[str, str], requests: int,
                document: Document) -> float:
    """ms of this process's CPU per request: the least of five batches (other processes on a
    shared machine slow a batch down through caches and frequency, never speed it up)."""
    for _ in range(50):  # warm: plan caches, pools, statement caches
        status, answer = await call(app, path, body, headers)
        document.check(status, json.loads(answer))
    batches = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(max(1, requests // 5)):
            await call(app, path, body, headers)
        batches.append((time.process_time() - started) * 1000 / max(1, requests // 5))
    return min(batches)


async def statements_cpu(database_url: str, statements: list[tuple[str, list[Any]]],
                         requests: int) -> float:
    """ms of one PostgreSQL backend's CPU per run of these statements (prepared, as asyncpg
    and Tortoise run them), the least of five batches."""
    conn = await asyncpg.connect(database_url)
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        for _ in range(20):
            for sql, params in statements:
                await conn.fetch(sql, *params)
        batches = []
        for _ in range(5):
            before = backend_cpu_ns(pid)
            for _ in range(max(1, requests // 5)):
                for sql, params in statements:
                    await conn.fetch(sql, *params)
            batches.append((backend_cpu_ns(pid) - before) / 1e6 / max(1, requests // 5))
        return min(batches)
    finally:
        await conn.close()


async def main(requests: int, detail: str, token: str, names: list[str], profile: bool) -> None:
    # Imported here: both read DATABASE_URL and the settings from the environment.
    from bench import plain_queries
    from server import create_app

    tongxin = create_app()
    database_url = os.environ["DATABASE_URL"]
    captured: list[tuple[str, list[Any]]] = []
    async with tongxin.router.lifespan_context(tongxin), \
            plain_queries.app.router.lifespan_context(plain_queries.app):
        # Connection._execute: what fetch, fetchrow and fetchval (and Tortoise) all go through.
        execute = asyncpg.connection.Connection._execute

        async def capture(self: Any, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
            captured.append((query, list(args)))
            return await execute(self, query, args, *rest, **kwargs)

        async def statements(app: Any, path: str, body: bytes,
                             headers: dict[str, str]) -> list[tuple[str, list[Any]]]:
            captured.clear()
            asyncpg.connection.Connection._execute = capture  # type: ignore[method-assign]
            try:
                await call(app, path, body, headers)
            finally:
                asyncpg.connection.Connection._execute = execute  # type: ignore[method-assign]
            return list(captured)

        for name in names:
            document = DOCUMENTS[name]
            headers = {"Authorization": f"Bearer {token}"} if document.authenticated else {}
            body = json.dumps({"query": document.query, "variables": {"id": detail} if "$id"
                               in document.query else {}}).encode()
            plain_path = document.plain_path.format(id=detail)
            compiled_ms = await timed(tongxin, "/graphql", body, headers, requests, document)
            plain_ms = await timed(plain_queries.app, plain_path, b"{}", headers, requests,
                                   document)
            compiled_sql = await statements(tongxin, "/graphql", body, headers)
            plain_sql = await statements(plain_queries.app, plain_path, b"{}", headers)
            compiled_pg = await statements_cpu(database_url, compiled_sql, requests)
            plain_pg = await statements_cpu(database_url, plain_sql, requests)
            print(f"[{name}] CPU per request in-process: server compiled {compiled_ms:.3f} ms, "
                  f"plain {plain_ms:.3f} ms; PostgreSQL backend compiled {compiled_pg:.3f} ms "
                  f"({len(compiled_sql)} statements), plain {plain_pg:.3f} ms "
                  f"({len(plain_sql)})", flush=True)
            if profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(requests):
                    await call(tongxin, "/graphql", body, headers)
                profiler.disable()
                pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")) \
                    .print_stats(int(os.environ.get("PROFILE_TOP", "25")))
            if os.environ.get("PROFILE_DUMP"):  # the statements, for experiments by hand
                Path(f"{os.environ['PROFILE_DUMP']}.{name}.json").write_text(  # noqa: ASYNC240  (a bench, once)
                    json.dumps({"compiled": compiled_sql, "plain": plain_sql}, default=str))
            if os.environ.get("PROFILE_EXPLAIN"):
                conn = await asyncpg.connect(database_url)
                try:
                    for sql, params in compiled_sql + plain_sql:
                        plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                        print(sql, params, "\n".join(r[0] for r in plan), sep="\n")
                finally:
                    await conn.close()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--cprofile"]
    asyncio.run(main(int(arguments[0]), arguments[1], arguments[2], arguments[3:],
                     "--cprofile" in sys.argv))
