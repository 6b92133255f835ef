"""Baselines for bench/queries.py: plain Starlette + asyncpg endpoints answering each bench
document with the same JSON in the fewest round trips, no GraphQL. Global ids and the page
cursor are made with the project's own functions (an endpoint must sign its cursors too)."""

from __future__ import annotations

import base64
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cursors import seal_cursor
from core.geo import Circle, distance_km

pool: asyncpg.Pool | None = None
STAR_THRESHOLDS = (100, 300, 600, 1000, 1500)


def global_id(type_name: str, db_id: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{db_id}".encode()).decode().rstrip("=")


def viewer_id(request: Request) -> int:
    token = request.headers["authorization"].split(" ", 1)[1]
    return int(jwt.decode(token, os.environ["JWT_SECRET"], algorithms=["HS256"])["sub"])


LIST = """
SELECT a.id, a.title, a.starts_at, a.district, a.capacity, a.taken_count, a.offered_count,
       a.waitlist_count, a.status, t.name AS team_name, t.id AS team_id,
       count(*) OVER () AS total
FROM activity a JOIN team t ON t.id = a.team_id
WHERE a.status <> 'DRAFT' ORDER BY a.starts_at, a.id LIMIT 21"""


async def activities(request: Request) -> JSONResponse:
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(LIST)
    page = rows[:20]
    total = rows[0]["total"] if rows else await _count()
    edges = [{"node": {
        "id": global_id("Activity", row["id"]), "title": row["title"],
        "startsAt": row["starts_at"].isoformat(), "district": row["district"],
        "capacity": row["capacity"],
        "confirmedCount": row["taken_count"] - row["offered_count"],
        "waitlistCount": row["waitlist_count"],
        "remaining": max(0, row["capacity"] - row["taken_count"])
        if row["status"] == "PUBLISHED" else 0,
        "team": {"id": global_id("Team", row["team_id"]), "name": row["team_name"]}}}
        for row in page]
    end = page[-1] if page else None
    return JSONResponse({"data": {"activities": {"totalCount": total, "edges": edges, "pageInfo": {
        "hasNextPage": len(rows) > 20,
        "endCursor": seal_cursor([{"t": end["starts_at"].isoformat()}, end["id"]])
        if end else None}}}})


async def _count() -> int:
    assert pool is not None
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM activity WHERE status <> 'DRAFT'"))


DETAIL = """
SELECT a.*, t.name AS team_name,
       (SELECT array_agg(q.name ORDER BY q.name) FROM activity_qualification q
        WHERE q.activity_id = a.id) AS qualifications,
       (SELECT s.status FROM sign_up s WHERE s.activity_id = a.id AND s.volunteer_id = $2)
       AS my_status,
       (SELECT v.id FROM volunteer v WHERE v.id = $2 AND v.status = 'ACTIVE') AS viewer
FROM activity a JOIN team t ON t.id = a.team_id WHERE a.id = $1"""


async def activity(request: Request) -> JSONResponse:
    person = viewer_id(request)
    db_id = int(base64.urlsafe_b64decode(request.path_params["id"] + "==").decode().split(":")[1])
    assert pool is not None
    async with pool.acquire() as conn:
        row = await conn.fetchrow(DETAIL, db_id, person)
    node: dict[str, Any] | None = None
    if row is not None and row["status"] != "DRAFT":
        node = {"id": global_id("Activity", row["id"]), "title": row["title"],
                "description": row["description"], "startsAt": row["starts_at"].isoformat(),
                "endsAt": row["ends_at"].isoformat(), "capacity": row["capacity"],
                "remaining": max(0, row["capacity"] - row["taken_count"])
                if row["status"] == "PUBLISHED" else 0,
                "hoursCredit": row["hours_credit"],
                "team": {"id": global_id("Team", row["team_id"]), "name": row["team_name"]},
                "requirements": {
                    "qualifications": list(row["qualifications"] or [])
                    if row["has_requirements"] else [],
                    "minimumAge": row["minimum_age"] if row["has_requirements"] else None},
                "mySignUp": {"status": row["my_status"]} if row["my_status"] else None}
    return JSONResponse({"data": {"node": node}})


THREADS = """
SELECT b.name, t.id, t.title, t.pinned, t.last_post_at, t.reply_count, v.display_name
FROM forum_board b
LEFT JOIN LATERAL (SELECT * FROM forum_thread t WHERE t.board_id = b.id AND NOT t.hidden
                   ORDER BY t.pinned DESC, t.last_post_at DESC, t.id DESC LIMIT 21) t ON TRUE
LEFT JOIN volunteer v ON v.id = t.author_id
WHERE b.slug = $1 ORDER BY t.pinned DESC, t.last_post_at DESC, t.id DESC"""


async def board(request: Request) -> JSONResponse:
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(THREADS, "bench")
    page = [row for row in rows[:20] if row["id"] is not None]
    end = page[-1] if page else None
    return JSONResponse({"data": {"board": {"name": rows[0]["name"], "threads": {
        "edges": [{"node": {"id": global_id("Thread", row["id"]), "title": row["title"],
                            "lastPostAt": row["last_post_at"].isoformat(),
                            "replyCount": row["reply_count"],
                            "author": {"displayName": row["display_name"]}}} for row in page],
        "pageInfo": {"hasNextPage": len(rows) > 20, "endCursor": seal_cursor(
            [end["pinned"], {"t": end["last_post_at"].isoformat()}, end["id"]])
            if end else None}}}}})


def star_level(hours: float) -> int:
    return sum(1 for threshold in STAR_THRESHOLDS if hours >= threshold - 1e-9)




@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1,
                                     max_size=int(os.environ.get("DB_POOL_MAX", "20")))
    yield
    await pool.close()


ME = """
SELECT v.display_name, v.approved_hours,
       ARRAY(SELECT t.name FROM membership m JOIN team t ON t.id = m.team_id
             WHERE m.volunteer_id = v.id AND m.status = 'APPROVED' ORDER BY m.id LIMIT 10)
       AS teams,
       ARRAY(SELECT row(s.status, a.title, a.starts_at) FROM sign_up s
             JOIN activity a ON a.id = s.activity_id
             WHERE s.volunteer_id = v.id ORDER BY s.id DESC LIMIT 5) AS sign_ups
FROM volunteer v WHERE v.id = $1 AND v.status = 'ACTIVE'"""


async def me(request: Request) -> JSONResponse:
    assert pool is not None
    async with pool.acquire() as conn:
        person = await conn.fetchrow(ME, viewer_id(request))
    return JSONResponse({"data": {"me": {
        "displayName": person["display_name"], "starLevel": star_level(person["approved_hours"]),
        "teams": {"edges": [{"node": {"name": name}} for name in person["teams"]]},
        "signUps": {"edges": [{"node": {"status": status, "activity": {
            "title": title, "startsAt": starts_at.isoformat()}}}
            for status, title, starts_at in person["sign_ups"]]}}}})


FEED = """
WITH mine AS (SELECT team_id FROM membership WHERE volunteer_id = $1 AND status = 'APPROVED')
SELECT k, r, id, t, a, b, c, d FROM (
  (SELECT 'Activity' AS k, 4 AS r, x.id, x.published_at AS t, x.title AS a, x.starts_at AS b,
          tm.name AS c, NULL::text AS d
   FROM activity x JOIN team tm ON tm.id = x.team_id
   WHERE x.team_id IN (SELECT team_id FROM mine) AND x.status IN ('PUBLISHED', 'FINISHED')
   ORDER BY x.published_at DESC, x.id DESC LIMIT 21)
  UNION ALL
  (SELECT 'ExperiencePost', 3, e.id, e.created_at, e.title, NULL, v.display_name, NULL
   FROM experience_post e JOIN volunteer v ON v.id = e.author_id
   WHERE e.team_id IN (SELECT team_id FROM mine) ORDER BY e.created_at DESC, e.id DESC LIMIT 21)
  UNION ALL
  (SELECT 'HelpRequest', 2, h.id, h.created_at, h.title, NULL, h.district, NULL
   FROM help_request h
   WHERE h.district = (SELECT district FROM volunteer WHERE id = $1) AND h.status = 'OPEN'
   ORDER BY h.created_at DESC, h.id DESC LIMIT 21)
  UNION ALL
  (SELECT 'Post', 1, p.id, p.created_at, p.body, NULL, v.display_name, th.title
   FROM forum_post p JOIN forum_thread th ON th.id = p.thread_id
   JOIN volunteer v ON v.id = p.author_id
   WHERE th.author_id = $1 AND NOT p.is_opening AND NOT p.hidden AND NOT th.hidden
     AND p.author_id <> $1 ORDER BY p.created_at DESC, p.id DESC LIMIT 21)
  UNION ALL
  (SELECT 'Announcement', 5, n.id, n.published_at, n.title, NULL, NULL, NULL
   FROM announcement n
   WHERE (n.team_id IS NULL OR n.team_id IN (SELECT team_id FROM mine)) AND n.status = 'PUBLISHED'
   ORDER BY n.published_at DESC, n.id DESC LIMIT 21)
) f ORDER BY t DESC, r DESC, id DESC LIMIT 21"""


def _feed_node(row: Any) -> dict[str, Any]:
    kind = row["k"]
    node: dict[str, Any] = {"__typename": kind, "id": global_id(kind, row["id"])}
    if kind == "Activity":
        node.update(title=row["a"], startsAt=row["b"].isoformat(), team={"name": row["c"]})
    elif kind == "ExperiencePost":
        node.update(title=row["a"], author={"displayName": row["c"]})
    elif kind == "HelpRequest":
        node.update(title=row["a"], district=row["c"])
    elif kind == "Post":
        node.update(body=row["a"], author={"displayName": row["c"]}, thread={"title": row["d"]})
    else:
        node.update(title=row["a"])
    return node


async def feed(request: Request) -> JSONResponse:
    """The five sources' newest 21 each in one statement, merged by (time, rank, id)."""
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(FEED, viewer_id(request))
    page = rows[:20]
    edges = [{"cursor": seal_cursor([row["t"].isoformat(), row["r"], row["id"]]),
              "node": _feed_node(row)} for row in page]
    return JSONResponse({"data": {"feed": {"edges": edges, "pageInfo": {
        "hasNextPage": len(rows) > 20, "endCursor": edges[-1]["cursor"] if edges else None}}}})


POINTS = """
SELECT p.id, p.name, p.kind, p.address, p.latitude, p.longitude, t.name AS team
FROM service_point p LEFT JOIN team t ON t.id = p.team_id
WHERE p.latitude >= $1 AND p.latitude <= $2 AND p.longitude >= $3 AND p.longitude <= $4"""


async def points(request: Request) -> JSONResponse:
    """The bounding box in SQL, the exact distance, order and page in Python."""
    lat, lng = float(request.path_params["lat"]), float(request.path_params["lng"])
    radius = int(request.path_params["minutes"]) * 80.0
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(POINTS, *Circle(lat, lng, radius / 1000).bounding_box())
    found = []
    for row in rows:
        metres = distance_km(lat, lng, row["latitude"], row["longitude"]) * 1000
        if metres <= radius:
            found.append((round(metres, 1), row["id"], row))
    found.sort(key=lambda item: (item[0], item[1]))
    edges = [{"cursor": seal_cursor([metres, db_id]), "node": {
        "id": global_id("ServicePoint", db_id), "name": row["name"], "kind": row["kind"],
        "address": row["address"], "distanceMetres": metres,
        "walkingMinutes": round(metres / 80, 1),
        "team": {"name": row["team"]} if row["team"] is not None else None}}
        for metres, db_id, row in found[:20]]
    return JSONResponse({"data": {"servicePoints": {"totalCount": len(found), "edges": edges,
                                                    "pageInfo": {
        "hasNextPage": len(found) > 20, "endCursor": edges[-1]["cursor"] if edges else None}}}})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/me", me, methods=["POST"]),
                        Route("/activities", activities, methods=["POST"]),
                        Route("/activity/{id}", activity, methods=["POST"]),
                        Route("/board", board, methods=["POST"]),
                        Route("/feed", feed, methods=["POST"]),
                        Route("/points/{lat}/{lng}/{minutes}", points, methods=["POST"]),
                        Route("/healthz", healthz)],
                lifespan=lifespan)
