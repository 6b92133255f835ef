"""Baseline for bench/timebank.py: plain Starlette + asyncpg running the same redeem SQL as
resolvers/timebank.py (token check, active item, then in one transaction the conditional
stock UPDATE, the redemption row, the conditional balance UPDATE and the ledger entry)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

pool: asyncpg.Pool | None = None


class Refused(Exception):
    pass


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    size = int(os.environ.get("DB_POOL_MAX", "20"))
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=size)
    yield
    await pool.close()


async def redeem(request: Request) -> JSONResponse:
    token = request.headers["authorization"].split(" ", 1)[1]
    volunteer_id = int(jwt.decode(token, os.environ["JWT_SECRET"], algorithms=["HS256"])["sub"])
    item_id = int((await request.json())["variables"]["itemId"])
    assert pool is not None
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        volunteer = await conn.fetchrow("SELECT id, status FROM volunteer WHERE id = $1",
                                        volunteer_id)
        item = await conn.fetchrow("SELECT id, title, active FROM reward_item WHERE id = $1",
                                   item_id)
        if volunteer is None or volunteer["status"] != "ACTIVE" or not item["active"]:
            return JSONResponse({"errors": [{"extensions": {"code": "FORBIDDEN"}}]})
        try:
            async with conn.transaction():
                cost = await conn.fetchval(
                    "UPDATE reward_item SET stock = stock - 1, updated_at = $1 WHERE id = $2 "
                    "AND active AND stock >= 1 RETURNING cost_points", now, item_id)
                if cost is None:
                    raise Refused()
                redemption = await conn.fetchval(
                    "INSERT INTO redemption (item_id, volunteer_id, quantity, points, created_at) "
                    "VALUES ($1, $2, 1, $3, $4) RETURNING id", item_id, volunteer_id, cost, now)
                balance = await conn.fetchval(
                    "UPDATE points_account SET balance = balance - $1, updated_at = $2 "
                    "WHERE volunteer_id = $3 AND balance - $1 >= 0 RETURNING balance",
                    cost, now, volunteer_id)
                if balance is None:
                    raise Refused()
                await conn.execute(
                    "INSERT INTO points_entry (volunteer_id, delta, reason, kind, balance_after, "
                    "actor_id, redemption_id, created_at) VALUES ($1, $2, $3, 'REDEEM', $4, $1, "
                    "$5, $6)", volunteer_id, -cost, f"兑换：{item['title']}", balance, redemption,
                    now)
        except Refused:
            return JSONResponse({"errors": [{"extensions": {"code": "CONFLICT"}}]})
    return JSONResponse({"data": {"redeem": {"points": cost}}})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/redeem", redeem, methods=["POST"]), Route("/healthz", healthz)],
                lifespan=lifespan)
