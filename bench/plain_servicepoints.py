"""Baseline for bench/servicepoints.py: the leanest hand-written endpoint answering the same
walking-circle question (bounding box in SQL, exact distance in Python, nearest first) with
the raw driver (asyncpg pool or aiosqlite), no ORM and no GraphQL."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATABASE_URL = os.environ["DATABASE_URL"]
POSTGRES = DATABASE_URL.startswith("postgres")
state: dict[str, Any] = {}
SQL = ("SELECT id, name, kind, latitude, longitude FROM service_point WHERE latitude >= {0} "
       "AND latitude <= {1} AND longitude >= {2} AND longitude <= {3}")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(a)))


async def near(request: Request) -> JSONResponse:
    body = await request.json()
    lat, lng, minutes = float(body["lat"]), float(body["lng"]), int(body["minutes"])
    radius = minutes * 80.0
    d_lat = math.degrees(radius / 6371008.8)
    d_lon = math.degrees(radius / (6371008.8 * max(math.cos(math.radians(lat)), 1e-6)))
    box = (lat - d_lat, lat + d_lat, lng - d_lon, lng + d_lon)
    if POSTGRES:
        rows = [tuple(r) for r in await state["pool"].fetch(SQL.format("$1", "$2", "$3", "$4"),
                                                           *box)]
    else:
        async with state["db"].execute(SQL.format("?", "?", "?", "?"), box) as cursor:
            rows = list(await cursor.fetchall())
    found = sorted(((round(_distance_m(lat, lng, r[3], r[4]), 1), r) for r in rows
                    if _distance_m(lat, lng, r[3], r[4]) <= radius), key=lambda x: (x[0], x[1][0]))
    return JSONResponse({"data": {"servicePoints": {"totalCount": len(found), "edges": [
        {"node": {"name": r[1], "kind": r[2], "distanceMetres": d}} for d, r in found[:20]]}}})


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    if POSTGRES:
        state["pool"] = await asyncpg.create_pool(DATABASE_URL, min_size=2, max_size=10)
    else:
        state["db"] = await aiosqlite.connect(DATABASE_URL.removeprefix("sqlite://"))
    yield


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/near", near, methods=["POST"]), Route("/healthz", healthz)],
                lifespan=lifespan)
