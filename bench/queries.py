"""Requests/s of typical reads through Tongxin vs. a plain Starlette + asyncpg endpoint giving
the same JSON (bench/plain_queries.py), measured in the same run on a scratch PostgreSQL
database; Tongxin once with compiled reads (schema/reads) and once without
(COMPILED_READS=0, the general executor), with its CPU per request.

    .venv/bin/python bench/queries.py [--seconds 10] [--concurrency 32] [--workers 1 2]
                                      [--documents list detail me]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
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
        return int(volunteer_id), int(detail)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--documents", nargs="+", choices=sorted(DOCUMENTS),
                        default=list(DOCUMENTS))
    args = parser.parse_args()
    from schema.relay import to_global_id

    lines: list[str] = []
    with scratch_database() as database_url:
        migrate(database_url)
        volunteer_id, detail_id = asyncio.run(seed(database_url))
        detail = str(to_global_id("Activity", detail_id))
        token = jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET,
                           algorithm="HS256")
        for workers in args.workers:
            # Three servers at once: pools of POOL each per worker keep them all under
            # PostgreSQL's max_connections (100) on a machine other runs share.
            servers = {"compiled": start_tongxin(database_url, workers, DB_POOL_MAX=POOL),
                       "general": start_tongxin(database_url, workers, COMPILED_READS="0",
                                                DB_POOL_MAX=POOL)}
            port = free_port()
            servers["plain"] = start(
                [sys.executable, "-m", "uvicorn", "bench.plain_queries:app", "--port", str(port),
                 "--workers", str(workers), "--log-level", "warning"],
                bench_env(database_url, DB_POOL_MAX=POOL), port, path="")
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
    results: dict[str, tuple[float, list[float], str]] = {}
    for label in ("compiled", "general", "plain"):
        server = servers[label]
        url = server.url if label != "plain" else \
            server.url + document.plain_path.format(id=detail)
        asyncio.run(measure(url, [requests[label]], document.check, seconds=2,
                            concurrency=args.concurrency))  # warm-up
        before = cpu_seconds({"server": server.process.pid})
        rps, latencies = asyncio.run(measure(url, [requests[label]], document.check,
                                             seconds=args.seconds,
                                             concurrency=args.concurrency))
        after = cpu_seconds({"server": server.process.pid})
        count = max(1, int(rps * args.seconds))
        cpu = (f"server {(after['server'] - before['server']) * 1000 / count:.2f} ms, "
               f"postgres {(after['postgres'] - before['postgres']) * 1000 / count:.2f} ms")
        results[label] = (rps, latencies, cpu)
    plain_rps = results["plain"][0]
    out = [f"\n[{name}] {workers} worker(s): {document.query}"]
    for label, (rps, latencies, cpu) in results.items():
        out.append(f"  {label:9}: {rps:8.1f} req/s  {rps / plain_rps:5.2f}x plain  "
                   f"({summary(latencies)}; CPU {cpu})")
    print("\n".join(out), flush=True)
    return out


if __name__ == "__main__":
    _ = ROOT
    main()
