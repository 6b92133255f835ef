"""Baseline for bench/queries.py: plain Starlette + asyncpg doing the same reads, no GraphQL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

pool: asyncpg.Pool | None = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=20)
    yield
    await pool.close()


async def me(request: Request) -> JSONResponse:
    token = request.headers["authorization"].split(" ", 1)[1]
    volunteer_id = int(jwt.decode(token, os.environ["JWT_SECRET"], algorithms=["HS256"])["sub"])
    assert pool is not None
    async with pool.acquire() as conn:
        person = await conn.fetchrow("SELECT * FROM volunteer WHERE id = $1", volunteer_id)
        teams = await conn.fetch(
            "SELECT t.name FROM membership m JOIN team t ON t.id = m.team_id "
            "WHERE m.volunteer_id = $1 AND m.status = 'APPROVED' ORDER BY m.id LIMIT 10",
            volunteer_id,
        )
    return JSONResponse({"data": {"me": {"displayName": person["display_name"], "teams": {
        "edges": [{"node": {"name": row["name"]}} for row in teams]}}}})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/me", me, methods=["POST"]), Route("/healthz", healthz)],
                lifespan=lifespan)
