"""What persisted documents cost per request (issue 25's target: < 3 % of bench.queries'
request cost), measured in the same run on bench.queries' data: the same documents sent as
text to a plain server, as a hash alone (automatic persisted queries, after one registration),
and to a server with TRUSTED_DOCUMENTS both by hash and by text. Then the activity list by GET
through Debian's varnish against the origin alone: requests/s of each, the origin's CPU and
requests during the storm.

    .venv/bin/python bench/persisted.py [--seconds 10] [--concurrency 32] [--rounds 2]
                                        [--storm-connections 64] [--documents list detail me]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jwt

from bench.common import (
    JWT_SECRET,
    cpu_seconds,
    free_port,
    measure,
    migrate,
    scratch_database,
    start_tongxin,
    summary,
)
from bench.httpclient import LeanClient
from bench.queries import DOCUMENTS, seed
from schema.persisted import sha256_hex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--storm-connections", type=int, default=64)
    parser.add_argument("--documents", nargs="+", choices=sorted(DOCUMENTS),
                        default=["list", "detail", "me"])
    args = parser.parse_args()
    from schema.relay import to_global_id

    with scratch_database() as database_url, tempfile.TemporaryDirectory() as scratch:
        migrate(database_url)
        volunteer_id, detail_id = asyncio.run(seed(database_url))
        detail = str(to_global_id("Activity", detail_id))
        token = jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET,
                           algorithm="HS256")
        manifest = Path(scratch) / "manifest.json"
        manifest.write_text(json.dumps({sha256_hex(d.query): d.query for d in DOCUMENTS.values()}))
        servers = {"open": start_tongxin(database_url),
                   "trusted": start_tongxin(database_url, TRUSTED_DOCUMENTS=str(manifest))}
        try:
            print(f"concurrency {args.concurrency}, {args.seconds:.0f} s each, {args.rounds} "
                  "rounds interleaved, 1 worker, PostgreSQL; CPU = the server's ms per request")
            for name in args.documents:
                persisted_costs(name, servers, detail, token, args)
            cache_storm(servers["open"], args)
        finally:
            for server in servers.values():
                server.stop()


def persisted_costs(name: str, servers: dict[str, Any], detail: str, token: str,
                    args: argparse.Namespace) -> None:
    document = DOCUMENTS[name]
    headers = {"Authorization": f"Bearer {token}"} if document.authenticated else {}
    variables = {"id": detail} if "$id" in document.query else {}
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document.query)}}
    text = {"query": document.query, "variables": variables}
    by_hash = {"variables": variables, "extensions": extensions}
    cases = {"text": ("open", text), "APQ hash": ("open", by_hash),
             "trusted hash": ("trusted", by_hash), "trusted text": ("trusted", text)}
    register = LeanClient(servers["open"].url).request_bytes({**text, "extensions": extensions},
                                                             headers)
    asyncio.run(measure(servers["open"].url, [register], document.check, seconds=0.2,
                        concurrency=1))
    totals: dict[str, list[float]] = {label: [0.0, 0.0, 0.0] for label in cases}
    latencies: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.rounds):
        for label, (server_name, body) in cases.items():
            server = servers[server_name]
            request = LeanClient(server.url).request_bytes(body, headers)
            asyncio.run(measure(server.url, [request], document.check, seconds=1,
                                concurrency=args.concurrency))  # warm-up
            before = cpu_seconds({"server": server.process.pid})
            rps, measured = asyncio.run(measure(server.url, [request], document.check,
                                                seconds=args.seconds,
                                                concurrency=args.concurrency))
            after = cpu_seconds({"server": server.process.pid})
            totals[label][0] += rps * args.seconds
            totals[label][1] += args.seconds
            totals[label][2] += after["server"] - before["server"]
            latencies[label] += measured
    base_rps = totals["text"][0] / totals["text"][1]
    base_cpu = totals["text"][2] / totals["text"][0]
    print(f"\n[{name}] {document.query[:90]}…")
    for label, (count, seconds, cpu) in totals.items():
        rps = count / seconds
        print(f"  {label:13}: {rps:8.1f} req/s ({rps / base_rps - 1:+6.1%}), "
              f"CPU {cpu * 1000 / count:.3f} ms/req ({cpu / count / base_cpu - 1:+6.1%}); "
              f"{summary(latencies[label])}", flush=True)


def _get_request(url: str, query: str) -> bytes:
    client = LeanClient(url)
    return (f"GET {client.path}?{urlencode({'query': query})} HTTP/1.1\r\n"
            f"Host: {client.host}:{client.port}\r\n\r\n").encode()


def _storm(url: str, query: str, check: Any, args: argparse.Namespace) -> tuple[float, list[float]]:
    return asyncio.run(measure(url, [_get_request(url, query)], check, seconds=args.seconds,
                               concurrency=args.storm_connections))


def _backend_requests(work: Path) -> int:
    """Requests varnish sent to the origin (its MAIN.backend_req counter)."""
    varnishstat = shutil.which("varnishstat") or "/usr/bin/varnishstat"
    out = subprocess.run([varnishstat, "-n", str(work / "state"), "-1", "-f", "MAIN.backend_req"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[1])


def cache_storm(origin: Any, args: argparse.Namespace) -> None:
    """The activity list by anonymous GET, straight to the origin and then through varnish."""
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    document = DOCUMENTS["list"]
    work = Path(tempfile.mkdtemp(prefix="tongxin-varnish-"))
    work.chmod(0o755)  # varnish's worker runs as its own user
    origin_port = origin.url.split(":")[2].split("/")[0]
    (work / "default.vcl").write_text(
        f'vcl 4.1;\nbackend origin {{ .host = "127.0.0.1"; .port = "{origin_port}"; }}\n')
    port = free_port()
    cache = subprocess.Popen([varnishd, "-F", "-a", f"127.0.0.1:{port}", "-f",
                              str(work / "default.vcl"), "-n", str(work / "state"),
                              "-s", "malloc,64m"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache_url = f"http://127.0.0.1:{port}/graphql"
    try:
        time.sleep(3)
        print(f"\n[list by GET] {args.storm_connections} connections, {args.seconds:.0f} s")
        for label, url in (("origin", origin.url), ("varnish", cache_url)):
            before = cpu_seconds({"server": origin.process.pid})
            rps, latencies = _storm(url, document.query, document.check, args)
            after = cpu_seconds({"server": origin.process.pid})
            reached = int(rps * args.seconds) if label == "origin" else _backend_requests(work)
            print(f"  {label:8}: {rps:8.1f} req/s ({summary(latencies)}); origin CPU "
                  f"{(after['server'] - before['server']) / args.seconds:.0%} of a core, "
                  f"{reached} requests reached the origin", flush=True)
    finally:
        cache.terminate()
        cache.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
