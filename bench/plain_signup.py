"""Baseline for bench/signup.py: plain Starlette + asyncpg running the same sign-up SQL as
resolvers/signup.py (token check, the same three reads, the same one-statement sign-up
SIGN_UP_STATEMENT imported from it, publish after commit) with no GraphQL and no ORM."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import jwt
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from resolvers.signup import SIGN_UP_STATEMENT

pool: asyncpg.Pool | None = None
redis: Redis | None = None
NAMESPACE = os.environ.get("TONGXIN_NAMESPACE", "tx")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool, redis
    size = int(os.environ.get("DB_POOL_MAX", "20"))
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=size)
    if os.environ.get("REDIS_URL"):
        redis = Redis.from_url(os.environ["REDIS_URL"])
    yield
    await pool.close()
    if redis is not None:
        await redis.aclose()


def error(code: str) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": code, "extensions": {"code": code}}]})


async def sign_up(request: Request) -> JSONResponse:
    token = request.headers["authorization"].split(" ", 1)[1]
    volunteer_id = int(jwt.decode(token, os.environ["JWT_SECRET"], algorithms=["HS256"])["sub"])
    activity_id = int((await request.json())["variables"]["activityId"])
    assert pool is not None
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        volunteer = await conn.fetchrow("SELECT id, status FROM volunteer WHERE id = $1",
                                        volunteer_id)
        if volunteer is None or volunteer["status"] != "ACTIVE":
            return error("FORBIDDEN")
        activity = await conn.fetchrow("SELECT * FROM activity WHERE id = $1", activity_id)
        existing = await conn.fetchrow(
            "SELECT * FROM sign_up WHERE activity_id = $1 AND volunteer_id = $2",
            activity_id, volunteer_id)
        if existing is not None and existing["status"] != "CANCELLED":
            return JSONResponse({"data": {"signUp": {"status": existing["status"]}}})
        if activity["status"] != "PUBLISHED" or activity["sign_up_deadline"] <= now:
            return error("CONFLICT")
        row = await conn.fetchrow(SIGN_UP_STATEMENT, volunteer_id, activity_id, now,
                                  activity["ends_at"], activity["starts_at"])
        if row is None or row["busy"] or row["sign_up_id"] is None:
            return error("CONFLICT")
        status = "CONFIRMED" if row["confirm"] else "WAITLISTED"
    if redis is not None:
        await redis.publish(f"{NAMESPACE}:slots:{activity_id}", json.dumps({
            "activityId": activity_id, "capacity": row["capacity"],
            "confirmed": row["confirmed_count"], "waitlisted": row["waitlist_count"],
            "status": row["status"], "version": row["version"], "at": now.isoformat()}))
    return JSONResponse({"data": {"signUp": {"status": status}}})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/signup", sign_up, methods=["POST"]),
                        Route("/healthz", healthz)], lifespan=lifespan)
