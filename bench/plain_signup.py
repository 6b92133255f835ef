"""Baseline for bench/signup.py: plain Starlette + asyncpg running the same sign-up SQL as
resolvers/signup.py (token check, pre-reads, volunteer lock + overlap check, conditional
UPDATEs, INSERT, publish after commit) with no GraphQL and no ORM."""

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

pool: asyncpg.Pool | None = None
redis: Redis | None = None
NAMESPACE = os.environ.get("TONGXIN_NAMESPACE", "tx")
COUNTS = "capacity, confirmed_count, waitlist_count, waitlist_seq, version, status"


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
        async with conn.transaction():
            busy = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM sign_up s JOIN activity a ON a.id = s.activity_id "
                "WHERE s.volunteer_id = v.id AND s.status = 'CONFIRMED' AND a.id <> $2 "
                "AND a.status IN ('PUBLISHED', 'FINISHED') AND a.starts_at < $3 "
                "AND a.ends_at > $4) FROM volunteer v WHERE v.id = $1 FOR UPDATE OF v",
                volunteer_id, activity_id, activity["ends_at"], activity["starts_at"])
            if busy:
                return error("CONFLICT")
            row = await conn.fetchrow(
                "UPDATE activity SET confirmed_count = confirmed_count + 1, version = version + 1 "
                "WHERE id = $1 AND status = 'PUBLISHED' AND sign_up_deadline > $2 "
                f"AND confirmed_count < capacity RETURNING {COUNTS}", activity_id, now)
            status, seq = "CONFIRMED", None
            if row is None:
                row = await conn.fetchrow(
                    "UPDATE activity SET waitlist_count = waitlist_count + 1, "
                    "waitlist_seq = waitlist_seq + 1, version = version + 1 "
                    "WHERE id = $1 AND status = 'PUBLISHED' AND sign_up_deadline > $2 "
                    f"AND waitlist_count < waitlist_limit RETURNING {COUNTS}", activity_id, now)
                if row is None:
                    return error("CONFLICT")
                status, seq = "WAITLISTED", row["waitlist_seq"]
            await conn.execute(
                "INSERT INTO sign_up (activity_id, volunteer_id, status, waitlist_seq, "
                "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
                activity_id, volunteer_id, status, seq, now)
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
