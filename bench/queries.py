"""Requests/s of typical reads through Tongxin vs. a plain Starlette + asyncpg endpoint giving
the same JSON (bench/plain_queries.py), measured in the same run on a scratch PostgreSQL
database; Tongxin once with compiled reads (schema/reads) and once without
(COMPILED_READS=0, the general executor), with its CPU per request.

    .venv/bin/python bench/queries.py [--seconds 10] [--slices 4] [--concurrency 32] [--workers 1 2]
                                      [--documents list detail me board feed points]
                                      [--pool 8] [--profile REQUESTS [--cprofile]]

--profile skips the servers: it times REQUESTS requests of each document in-process
(bench/profile_reads.py: the app and the plain endpoint as ASGI apps, CPU per request, and
PostgreSQL's CPU for the statements each runs), which is steadier than throughput on a
shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Any

import asyncpg
import jwt

from bench.common import (
    JWT_SECRET,
    ROOT,
    bench_env,
    cpu_seconds,
    free_port,
    measure,
    migrate,
    scratch_database,
    start,
    start_tongxin,
    summary,
)
from bench.httpclient import LeanClient
from core import pii

ACTIVITIES = 200  # published, across the ten teams; the list page reads the first 20
THREADS = 100  # on one board, some pinned, some hidden
FEED_ITEMS = 40  # of each other feed source (experience posts, help requests, replies, notices)
POINTS = 1000  # service points over a ~11 km x 11 km box; ~75 inside the 15-minute circle
CENTRE = (39.9042, 116.4074)  # the `points` document's centre
POOL = "8"  # database connections per worker, the same for every server


@dataclass(frozen=True)
class Document:
    query: str
    plain_path: str  # the baseline endpoint's path; {id} is the detail activity's global id
    authenticated: bool
    check: Any  # (status, body) -> None


def _list_page(status: int, body: Any) -> None:
    page = body["data"]["activities"]
    assert status == 200 and len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"], body


def _detail(status: int, body: Any) -> None:
    node = body["data"]["node"]
    assert status == 200 and node["mySignUp"]["status"] == "CONFIRMED", body
    assert node["requirements"]["qualifications"] == ["急救证"], body


def _threads(status: int, body: Any) -> None:
    page = body["data"]["board"]["threads"]
    assert status == 200 and len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"], body


def _ten_teams(status: int, body: Any) -> None:
    assert status == 200 and len(body["data"]["me"]["teams"]["edges"]) == 10, body


def _feed(status: int, body: Any) -> None:
    page = body["data"]["feed"]
    kinds = {edge["node"]["__typename"] for edge in page["edges"]}
    assert status == 200 and len(page["edges"]) == 20 and len(kinds) == 5, body


def _points(status: int, body: Any) -> None:
    page = body["data"]["servicePoints"]
    assert status == 200 and len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"], body


DOCUMENTS = {
    # 1. the activity list page, anonymous
    "list": Document(
        "{ activities(first: 20) { totalCount edges { node { id title startsAt district capacity"
        " confirmedCount waitlistCount remaining team { id name } } }"
        " pageInfo { hasNextPage endCursor } } }", "/activities", False, _list_page),
    # 2. one activity's detail with team, requirements and the viewer's own sign-up
    "detail": Document(
        "query Detail($id: ID!) { node(id: $id) { ... on Activity { id title description"
        " startsAt endsAt capacity remaining hoursCredit team { id name }"
        " requirements { qualifications minimumAge } mySignUp { status } } } }",
        "/activity/{id}", True, _detail),
    # 4. a forum board's threads with their authors, anonymous
    "board": Document(
        "{ board(slug: \"bench\") { name threads(first: 20) { edges { node { id title"
        " lastPostAt replyCount author { displayName } } } pageInfo { hasNextPage endCursor }"
        " } } }", "/board", False, _threads),
    # 3. me with teams, latest sign-ups and star level
    "me": Document(
        "{ me { displayName starLevel teams(first: 10) { edges { node { name } } }"
        " signUps(first: 5) { edges { node { status activity { title startsAt } } } } } }",
        "/me", True, _ten_teams),
    # 5. the viewer's feed: the five sources, each kind with its own fields
    "feed": Document(
        "{ feed(first: 20) { edges { cursor node { __typename"
        " ... on Activity { id title startsAt team { name } }"
        " ... on ExperiencePost { id title author { displayName } }"
        " ... on HelpRequest { id title district }"
        " ... on Post { id body author { displayName } thread { title } }"
        " ... on Announcement { id title } } } pageInfo { hasNextPage endCursor } } }",
        "/feed", True, _feed),
    # 6. service points within a 15-minute walk, nearest first, anonymous
    "points": Document(
        "{ servicePoints(first: 20, near: {lat: 39.9042, lng: 116.4074, minutes: 15})"
        " { totalCount edges { cursor node { id name kind address distanceMetres"
        " walkingMinutes team { name } } } pageInfo { hasNextPage endCursor } } }",
        "/points/39.9042/116.4074/15", False, _points),
}


async def seed(database_url: str) -> tuple[int, int]:
    """(the volunteer, the detail activity): ten teams, ACTIVITIES activities, one of them with
    a required qualification and the volunteer's confirmed sign-up."""
    conn = await asyncpg.connect(database_url)
    try:
        sealed = pii.identity_columns("13800000000", "11010519491231002X")
        volunteer_id = await conn.fetchval(
            "INSERT INTO volunteer (phone_cipher, phone_index, real_name, display_name, id_number_cipher,"
            " id_number_index, gender, birth_date, district, skills, status, is_platform_admin,"
            " volunteer_number, approved_hours, created_at, updated_at)"
            " VALUES ($1, $2, '压测', '压测', $3, $4, 'FEMALE', '1949-12-31', '朝阳区',"
            " '', 'ACTIVE', false, 'TXBENCH', 320.5, now(), now()) RETURNING id",
            sealed["phone_cipher"], sealed["phone_index"], sealed["id_number_cipher"],
            sealed["id_number_index"])
        teams = []
        for index in range(10):
            team_id = await conn.fetchval(
                "INSERT INTO team (name, type, district, path, created_by_id, approved_hours, created_at)"
                " VALUES ($1, 'COMMUNITY', '朝阳区', '/', $2, 0, now()) RETURNING id",
                f"队伍{index}", volunteer_id)
            teams.append(team_id)
            await conn.execute(
                "INSERT INTO membership (team_id, volunteer_id, role, status, created_at)"
                " VALUES ($1, $2, 'MEMBER', 'APPROVED', now())", team_id, volunteer_id)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        activity_ids = []
        for index in range(ACTIVITIES):
            starts = start + timedelta(hours=index)
            activity_ids.append(await conn.fetchval(
                "INSERT INTO activity (team_id, created_by_id, title, description, category,"
                " district, starts_at, ends_at, sign_up_deadline, capacity, taken_count,"
                " waitlist_count, waitlist_limit, waitlist_seq, version, hours_credit, skills,"
                " status, created_at, published_at, updated_at) VALUES ($1, $2, $3, '陪伴老人',"
                " '助老', '朝阳区', $4, $5, $4, 30, $6, 0, 10, 0, 0, 3, '', 'PUBLISHED', now(),"
                " now(), now()) RETURNING id", teams[index % 10], volunteer_id,
                f"社区活动{index}", starts, starts + timedelta(hours=3), index % 7))
        detail = activity_ids[0]
        await conn.execute("UPDATE activity SET has_requirements = true, minimum_age = 18"
                           " WHERE id = $1", detail)
        await conn.execute("INSERT INTO activity_qualification (activity_id, name) VALUES ($1,"
                           " '急救证')", detail)
        await conn.execute(
            "INSERT INTO sign_up (activity_id, volunteer_id, status, created_at, updated_at)"
            " VALUES ($1, $2, 'CONFIRMED', now(), now())", detail, volunteer_id)
        board_id = await conn.fetchval(
            "INSERT INTO forum_board (slug, name, description, category, created_by_id,"
            " created_at) VALUES ('bench', '压测版块', '', '项目', $1, now()) RETURNING id",
            volunteer_id)
        for index in range(THREADS):
            await conn.execute(
                "INSERT INTO forum_thread (board_id, author_id, title, pinned, locked, hidden,"
                " reply_count, created_at, last_post_at) VALUES ($1, $2, $3, $4, false, $5, $6,"
                " now(), now() - $7 * interval '1 minute')", board_id, volunteer_id,
                f"话题{index}", index % 25 == 0, index % 10 == 7, index % 5, index)
        await seed_feed(conn, volunteer_id, teams, detail, board_id)
        await seed_points(conn, teams)
        # Statistics, as a database in service has them: without them each plan depended on
        # whether autovacuum had analysed the fresh tables yet, which changed mid-run (the
        # feed's statement cost 0.74 ms of PostgreSQL's CPU before, 0.32 ms after).
        await conn.execute("ANALYZE")
        return int(volunteer_id), int(detail)
    finally:
        await conn.close()


async def seed_feed(conn: asyncpg.Connection, volunteer_id: int, teams: list[int], activity: int,
                    board_id: int) -> None:
    """The volunteer's feed: their teams' activities (published a few minutes apart) and
    FEED_ITEMS each of experience posts, open help requests in their district, others'
    replies to their threads and announcements, interleaved in time."""
    other = await conn.fetchval(
        "INSERT INTO volunteer (real_name, display_name, gender, birth_date, district, skills,"
        " status, is_platform_admin, volunteer_number, approved_hours, created_at, updated_at)"
        " VALUES ('作者', '作者', 'MALE', '1980-01-01', '朝阳区', '', 'ACTIVE', false,"
        " 'TXBENCH2', 0, now(), now()) RETURNING id")
    await conn.execute("UPDATE activity SET published_at = now() - id * interval '5 minutes'")
    threads = [row["id"] for row in await conn.fetch(
        "SELECT id FROM forum_thread WHERE board_id = $1 AND NOT hidden ORDER BY id", board_id)]
    for index in range(FEED_ITEMS):
        at = f"now() - interval '{5 * index + 1} minutes'"
        await conn.execute(
            "INSERT INTO experience_post (activity_id, team_id, author_id, title, body,"
            f" photo_urls, created_at) VALUES ($1, $2, $3, $4, '心得', '[]', {at})",
            activity, teams[index % 10], other, f"心得{index}")
        await conn.execute(
            "INSERT INTO help_request (created_by_id, title, description, district, skills,"
            f" urgency, status, created_at) VALUES ($1, $2, '求助', '朝阳区', '', 'NORMAL',"
            f" 'OPEN', {at} - interval '1 minute')", other, f"求助{index}")
        await conn.execute(
            "INSERT INTO forum_post (thread_id, author_id, body, is_opening, hidden, search_text,"
            f" created_at) VALUES ($1, $2, $3, false, false, '', {at} - interval '2 minutes')",
            threads[index % len(threads)], other, f"回复{index}")
        await conn.execute(
            "INSERT INTO announcement (team_id, author_id, title, body, attachments, pinned,"
            f" status, created_at, published_at) VALUES ($1, $2, $3, '通知', '[]', false,"
            f" 'PUBLISHED', {at}, {at} - interval '3 minutes')",
            teams[index % 10] if index % 2 else None, other, f"通知{index}")


async def seed_points(conn: asyncpg.Connection, teams: list[int]) -> None:
    """POINTS service points spread evenly (a fixed pseudo-random sequence) around CENTRE."""
    import random

    rng = random.Random(24)
    kinds = ["STATION", "SCHOOL", "HUB", "LIBRARY", "PARK", "COMMUNITY_CENTRE"]
    await conn.executemany(
        "INSERT INTO service_point (name, kind, district, address, latitude, longitude,"
        " opening_hours, team_id, created_at) VALUES ($1, $2, '东城区', $3, $4, $5, '9:00–17:00',"
        " $6, now())",
        [(f"服务阵地{index}", kinds[index % 6], f"东城区{index}号" if index % 3 else None,
          CENTRE[0] + rng.uniform(-0.05, 0.05), CENTRE[1] + rng.uniform(-0.065, 0.065),
          teams[index % 10] if index % 4 == 0 else None) for index in range(POINTS)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--documents", nargs="+", choices=sorted(DOCUMENTS),
                        default=list(DOCUMENTS))
    parser.add_argument("--pool", default=POOL,
                        help="database connections per worker and server (three servers run "
                             "at once: keep 3 x workers x pool under PostgreSQL's free slots)")
    parser.add_argument("--slices", type=int, default=4,
                        help="the servers take turns this many times within --seconds")
    parser.add_argument("--profile", type=int, metavar="REQUESTS",
                        help="in-process CPU per request instead of throughput")
    parser.add_argument("--cprofile", action="store_true",
                        help="with --profile: the compiled path's hottest functions too")
    args = parser.parse_args()
    from schema.relay import to_global_id

    lines: list[str] = []
    with scratch_database() as database_url:
        migrate(database_url)
        volunteer_id, detail_id = asyncio.run(seed(database_url))
        detail = str(to_global_id("Activity", detail_id))
        token = jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET,
                           algorithm="HS256")
        if args.profile:
            import subprocess

            subprocess.run([sys.executable, "-m", "bench.profile_reads", str(args.profile),
                            detail, token, *args.documents,
                            *(["--cprofile"] if args.cprofile else [])], cwd=ROOT, check=True,
                           env=bench_env(database_url, DB_POOL_MAX=args.pool, SKIP_MIGRATIONS="1"))
            return
        for workers in args.workers:
            # Three servers at once: pools of POOL each per worker keep them all under
            # PostgreSQL's max_connections (100) on a machine other runs share.
            servers = {"compiled": start_tongxin(database_url, workers, DB_POOL_MAX=args.pool),
                       "general": start_tongxin(database_url, workers, COMPILED_READS="0",
                                                DB_POOL_MAX=args.pool)}
            port = free_port()
            servers["plain"] = start(
                [sys.executable, "-m", "uvicorn", "bench.plain_queries:app", "--port", str(port),
                 "--workers", str(workers), "--log-level", "warning"],
                bench_env(database_url, DB_POOL_MAX=args.pool), port, path="")
            try:
                for name in args.documents:
                    lines += run_document(name, DOCUMENTS[name], servers, detail, token,
                                          workers, args)
            finally:
                for server in servers.values():
                    server.stop()
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s each, PostgreSQL; CPU = the "
          "server's processes (ms per request), PostgreSQL's separately")
    print("\n".join(lines))


def run_document(name: str, document: Document, servers: dict[str, Any], detail: str,
                 token: str, workers: int, args: argparse.Namespace) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if document.authenticated else {}
    body = {"query": document.query, "variables": {"id": detail} if "$id" in document.query
            else {}}
    requests = {
        "compiled": LeanClient(servers["compiled"].url).request_bytes(body, headers),
        "general": LeanClient(servers["general"].url).request_bytes(body, headers),
        "plain": LeanClient(servers["plain"].url + document.plain_path.format(id=detail))
        .request_bytes({}, headers),
    }
    answers = {label: _canonical(servers[label].url + (
        document.plain_path.format(id=detail) if label == "plain" else ""),
        {} if label == "plain" else body, headers) for label in ("compiled", "general", "plain")}
    same = "same answer on all three" if len(set(answers.values())) == 1 else \
        "ANSWERS DIFFER: " + " | ".join(f"{k}: {v[:300]}" for k, v in answers.items())
    labels = ("compiled", "general", "plain")
    urls = {label: servers[label].url + (document.plain_path.format(id=detail)
                                         if label == "plain" else "") for label in labels}
    for label in labels:  # warm-up
        asyncio.run(measure(urls[label], [requests[label]], document.check, seconds=2,
                            concurrency=args.concurrency))
    # The three servers take turns in slices of the run, each slice in another order: on a
    # machine other work shares, load that comes and goes then lands on all three alike
    # instead of on whichever server was measured while it lasted.
    served = dict.fromkeys(labels, 0)
    elapsed = dict.fromkeys(labels, 0.0)
    timings: dict[str, list[float]] = {label: [] for label in labels}
    server_cpu = dict.fromkeys(labels, 0.0)
    postgres_cpu = dict.fromkeys(labels, 0.0)
    for turn in range(args.slices):
        for label in labels[turn % 3:] + labels[:turn % 3]:
            before = cpu_seconds({"server": servers[label].process.pid})
            rps, slice_latencies = asyncio.run(measure(
                urls[label], [requests[label]], document.check,
                seconds=args.seconds / args.slices, concurrency=args.concurrency))
            after = cpu_seconds({"server": servers[label].process.pid})
            served[label] += len(slice_latencies)
            elapsed[label] += len(slice_latencies) / rps if rps else args.seconds / args.slices
            timings[label] += slice_latencies
            server_cpu[label] += after["server"] - before["server"]
            postgres_cpu[label] += after["postgres"] - before["postgres"]
    results: dict[str, tuple[float, list[float], str]] = {}
    for label in labels:
        count = max(1, served[label])
        cpu = (f"server {server_cpu[label] * 1000 / count:.2f} ms, "
               f"postgres {postgres_cpu[label] * 1000 / count:.2f} ms")
        results[label] = (served[label] / max(elapsed[label], 1e-9), timings[label], cpu)
    plain_rps = results["plain"][0]
    out = [f"\n[{name}] {workers} worker(s): {document.query}", f"  {same}"]
    for label, (rps, latencies, cpu) in results.items():
        out.append(f"  {label:9}: {rps:8.1f} req/s  {rps / plain_rps:5.2f}x plain  "
                   f"({summary(latencies)}; CPU {cpu})")
    print("\n".join(out), flush=True)
    return out


def _canonical(url: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    """One answer, keys sorted (cursors are signed with the same key, so equal too)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.dumps(json.loads(response.read()), sort_keys=True, ensure_ascii=False)


if __name__ == "__main__":
    _ = ROOT
    main()
