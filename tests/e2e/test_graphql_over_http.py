"""GraphQL over HTTP as its spec and the ecosystem's audit (npm graphql-http) ask it of a real
server: both media types, their status codes, GET for queries only, 406, GraphiQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx
import pytest

from core import pii
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import PASSWORD, make_team, make_volunteer, token_for
from tests.live import ROOT

NODE_DIR = ROOT / "tests" / "node"
IN_CI = os.environ.get("CI", "").lower() == "true"
GRAPHQL_RESPONSE = "application/graphql-response+json"
AUDIT_COUNT = 61  # graphql-http 1.23.1, pinned in tests/node/package-lock.json


def node(*arguments: str, timeout: float = 120,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs node in tests/node; skips (fails under CI) without the packages `make test`
    installs (npm ci --prefix tests/node)."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules").is_dir():
        if IN_CI:
            pytest.fail("Node or tests/node/node_modules missing: run `make test`")
        pytest.skip("Node or tests/node/node_modules missing: run `make test`")
    return subprocess.run(["node", *arguments], cwd=NODE_DIR, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


def node_script(name: str, *arguments: str, timeout: float = 120) -> list[dict]:
    """Runs tests/node/<name> and returns its JSON lines."""
    finished = node(str(NODE_DIR / name), *arguments, timeout=timeout)
    assert finished.returncode == 0, finished.stderr
    return [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]


async def test_every_graphql_over_http_audit_passes(http_server):
    # when
    audits = node_script("audit.mjs", http_server.url)
    # then
    assert len(audits) == AUDIT_COUNT
    assert [audit for audit in audits if audit["status"] != "ok"] == []


async def test_media_types_and_their_status_codes(http_server):
    async with httpx.AsyncClient() as client:
        # when: no Accept at all, a validation failure in each media type
        default = await client.post(http_server.url, json={"query": "{ __typename }"},
                                    headers={"accept": ""})
        strict = await client.post(http_server.url, json={"query": "{ nope }"},
                                   headers={"accept": GRAPHQL_RESPONSE})
        legacy = await client.post(http_server.url, json={"query": "{ nope }"},
                                   headers={"accept": "application/json"})
        field_error = await client.post(
            http_server.url, json={"query": "{ notifications(first: 1) { totalCount } }"},
            headers={"accept": GRAPHQL_RESPONSE})
    # then
    assert default.headers["content-type"] == GRAPHQL_RESPONSE
    assert default.json() == {"data": {"__typename": "Query"}}
    assert strict.status_code == 400
    assert strict.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in strict.json()
    assert strict.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == "application/json"
    assert legacy.json()["data"] is None
    # it executed, so 200 even with no data: the error belongs to a field
    assert field_error.status_code == 200
    assert field_error.json()["data"] is None
    assert field_error.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_get_runs_queries_only_and_nothing_unacceptable(http_server):
    async with httpx.AsyncClient() as client:
        # when
        query = await client.get(http_server.url, params={"query": "{ __typename }"})
        mutation = await client.get(http_server.url,
                                    params={"query": 'mutation { login(phone: "1", password: "x") { token } }'})
        strict_mutation = await client.get(
            http_server.url, params={"query": 'mutation { login(phone: "1", password: "x") { token } }'},
            headers={"accept": GRAPHQL_RESPONSE})
        unacceptable = await client.post(http_server.url, json={"query": "{ __typename }"},
                                         headers={"accept": "text/plain"})
        graphiql = await client.get(http_server.url, headers={"accept": "text/html"})
    # then
    assert query.json() == {"data": {"__typename": "Query"}}
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert strict_mutation.status_code == 405
    assert "data" not in strict_mutation.json()  # a request error in that media type
    assert unacceptable.status_code == 406
    assert graphiql.status_code == 200
    assert "graphiql" in graphiql.text.lower()


async def test_slot_counts_stream_over_server_sent_events(live_server):
    # given
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=3)
    volunteer = await make_volunteer("小林")
    # when: npm graphql-sse subscribes, then the volunteer signs up over HTTP
    events = node_script("sse.mjs", live_server.url, to_global_id("Activity", activity.id),
                         token_for(volunteer), timeout=60)
    # then
    counts = [event["data"]["slotCount"] for event in events]
    assert [(c["confirmed"], c["remaining"]) for c in counts] == [(0, 3), (1, 2)]
    assert counts[1]["version"] > counts[0]["version"]


async def test_apollo_client_and_urql_page_and_watch_with_persisted_queries(live_server):
    # given: five activities, a volunteer who logs in, another who signs up meanwhile
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    for _ in range(5):
        await make_activity(team, admin, capacity=3)
    watcher, other = await make_volunteer("小林"), await make_volunteer("小周")
    # when: tests/node/clients.test.mjs (node's test runner)
    finished = node("--test", "--test-reporter=tap", "clients.test.mjs", timeout=90, env={
        "URL": live_server.url, "WS_URL": live_server.ws_url, "PHONE": pii.phone_of(watcher),
        "PASSWORD": PASSWORD, "OTHER_TOKEN": token_for(other), "ACTIVITIES": "5"})
    # then
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "# pass 2" in finished.stdout

LIST = "{ activities(first: 5) { edges { node { id title team { name } } } } }"


async def test_anonymous_public_reads_are_cacheable_and_revalidate(http_server):
    # given
    admin = await make_volunteer("队长")
    await make_activity(await make_team(admin), admin, capacity=3)
    async with httpx.AsyncClient() as client:
        # when
        first = await client.get(http_server.url, params={"query": LIST})
        again = await client.get(http_server.url, params={"query": LIST},
                                 headers={"if-none-match": first.headers["etag"]})
        mixed = await client.get(http_server.url, params={
            "query": "{ boards { slug } servicePoints(first: 1) { edges { node { id } } } }"})
        signed_in = await client.get(http_server.url, params={"query": LIST},
                                     headers={"authorization": f"Bearer {token_for(admin)}"})
        unhinted = await client.get(http_server.url, params={"query": "{ me { id } }"})
    # then
    assert first.headers["cache-control"] == "public, max-age=10, stale-while-revalidate=10"
    assert first.headers["vary"] == "Accept, Authorization"
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert mixed.headers["cache-control"].startswith("public, max-age=60,")  # not 300
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert unhinted.headers["cache-control"] == "private, no-store"
