"""Baseline for bench/signup.py: the leanest correct sign-up endpoint a good engineer would
hand-write for PostgreSQL, independently of Tongxin's code: Starlette + asyncpg, no GraphQL,
no ORM, and ONE database round trip per sign-up, a PL/pgSQL function created at start-up
(then one Redis PUBLISH of the new counts after the commit).

The function applies the same rules as the product: an active account; idempotent repeats
(the existing sign-up's status); the activity published and before its deadline; no
confirmed sign-up of the same person overlapping in time (the person's row is locked first,
and every later statement in a READ COMMITTED function takes a fresh snapshot, so two
simultaneous overlapping sign-ups of one person serialise); then one conditional UPDATE of
the counters (confirmed if a place is free, else waitlisted, else nothing) and the row.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator

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

FUNCTION = """
CREATE OR REPLACE FUNCTION plain_sign_up(p_volunteer int, p_activity int)
RETURNS TABLE (outcome text, capacity int, confirmed int, waitlisted int, state text,
               version int)
LANGUAGE plpgsql AS $$
DECLARE
  act activity%ROWTYPE;
  mine text;
  place boolean;
BEGIN
  PERFORM 1 FROM volunteer v WHERE v.id = p_volunteer AND v.status = 'ACTIVE' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'FORBIDDEN', NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  SELECT s.status INTO mine FROM sign_up s
   WHERE s.activity_id = p_activity AND s.volunteer_id = p_volunteer;
  IF mine IS NOT NULL AND mine <> 'CANCELLED' THEN
    RETURN QUERY SELECT mine, NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  SELECT * INTO act FROM activity a WHERE a.id = p_activity;
  IF NOT FOUND OR act.status <> 'PUBLISHED' OR act.sign_up_deadline <= now()
     OR EXISTS (SELECT 1 FROM sign_up s JOIN activity o ON o.id = s.activity_id
                 WHERE s.volunteer_id = p_volunteer AND s.status = 'CONFIRMED'
                   AND o.id <> p_activity AND o.status IN ('PUBLISHED', 'FINISHED')
                   AND o.starts_at < act.ends_at AND o.ends_at > act.starts_at) THEN
    RETURN QUERY SELECT 'CONFLICT', NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  SELECT * INTO act FROM activity a WHERE a.id = p_activity FOR UPDATE;
  IF act.status <> 'PUBLISHED'
     OR (act.taken_count >= act.capacity AND act.waitlist_count >= act.waitlist_limit) THEN
    RETURN QUERY SELECT 'CONFLICT', NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  place := act.taken_count < act.capacity;
  UPDATE activity a SET
      taken_count = a.taken_count + place::int,
      waitlist_count = a.waitlist_count + (NOT place)::int,
      waitlist_seq = a.waitlist_seq + (NOT place)::int,
      version = a.version + 1
   WHERE a.id = p_activity
  RETURNING * INTO act;
  INSERT INTO sign_up AS s (activity_id, volunteer_id, status, waitlist_seq, created_at,
                            updated_at)
  VALUES (p_activity, p_volunteer, CASE WHEN place THEN 'CONFIRMED' ELSE 'WAITLISTED' END,
          CASE WHEN place THEN NULL ELSE act.waitlist_seq END, clock_timestamp(),
          clock_timestamp())
  ON CONFLICT (activity_id, volunteer_id) DO UPDATE SET status = EXCLUDED.status,
      waitlist_seq = EXCLUDED.waitlist_seq, created_at = EXCLUDED.created_at,
      updated_at = EXCLUDED.updated_at;
  RETURN QUERY SELECT CASE WHEN place THEN 'CONFIRMED' ELSE 'WAITLISTED' END, act.capacity,
                      act.taken_count, act.waitlist_count, act.status::text, act.version;
END $$;
"""


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool, redis
    size = int(os.environ.get("DB_POOL_MAX", "20"))
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=size)
    async with pool.acquire() as conn:  # workers start together: one creates it at a time
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(424242)")
            await conn.execute(FUNCTION)
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
    row = await pool.fetchrow("SELECT * FROM plain_sign_up($1, $2)", volunteer_id, activity_id)
    outcome = row["outcome"]
    if outcome in ("FORBIDDEN", "CONFLICT"):
        return error(outcome)
    if redis is not None and row["version"] is not None:
        await redis.publish(f"{NAMESPACE}:slots:{activity_id}", json.dumps({
            "activityId": activity_id, "capacity": row["capacity"],
            "confirmed": row["confirmed"], "waitlisted": row["waitlisted"],
            "status": row["state"], "version": row["version"]}))
    return JSONResponse({"data": {"signUp": {"status": outcome}}})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/signup", sign_up, methods=["POST"]),
                        Route("/healthz", healthz)], lifespan=lifespan)
