"""Prometheus metrics of a real server (core/metrics.py): /metrics is closed without its token,
two workers report as one, a live slot-count change is measured from commit to frame written,
Debian's promtool accepts the alerting rules, and a real Prometheus scrapes a 2-worker server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import Route
from websockets.typing import Subprotocol

from core.metrics import metrics_endpoint
from core.settings import get_settings
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer, token_for
from tests.live import METRICS_TOKEN, ROOT, LiveServer, free_port, sample

TOKEN = METRICS_TOKEN
SLOTS = "subscription Slots($id: ID!) { slotCount(activityId: $id) { confirmed } }"
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
RULES = ROOT / "scripts" / "prometheus" / "alerts.yml"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def need(binary: str) -> None:
    if not os.access(binary, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{binary} missing (apt-get install prometheus; .ci/run installs it)")
        pytest.skip("prometheus missing: apt-get install prometheus")


async def scrape(client: httpx.AsyncClient, server: LiveServer) -> str:
    response = await client.get(server.url.replace("/graphql", "/metrics"),
                                headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.text


def probe() -> tuple[str, str]:
    """An operation name no other test sends, and its document: the shared server's counters
    already hold earlier tests' requests."""
    name = f"MetricsProbe{uuid.uuid4().hex[:8]}"
    return name, f"query {name} {{ __typename }}"


@pytest.fixture
def metrics_server(pair_server: LiveServer) -> LiveServer:
    """The shared two-worker server, configured with METRICS_TOKEN."""
    return pair_server


async def test_metrics_are_not_public(metrics_server):
    # when: /metrics is asked without the setting (the app in this process, started without
    # METRICS_TOKEN: both shared servers have one), then without and with a wrong token
    assert get_settings().metrics_token is None
    url = metrics_server.url.replace("/graphql", "/metrics")
    unsetting = Starlette(routes=[Route("/metrics", metrics_endpoint)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unsetting),
                                 base_url="http://t") as client:
        unset = await client.get("/metrics")
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(url)
        wrong = await client.get(url, headers={"authorization": "Bearer guess"})
    # then: nothing without the setting, 401 without the token
    assert unset.status_code == 404
    assert (anonymous.status_code, wrong.status_code) == (401, 401)


async def test_two_workers_report_as_one_and_a_slot_change_is_timed_to_its_frame(db, metrics_server):
    # given: 40 requests, each on a connection of its own so that both workers answer some
    operation, document = probe()
    for _ in range(40):
        async with httpx.AsyncClient() as client:
            await client.post(metrics_server.url, json={"query": document, "operationName": operation})
    signed_before = await signed_up_so_far(metrics_server)
    # and: the shared server done with the slot subscribers of earlier tests (their sockets are
    # closed; the server counts them out as it notices)
    await no_slot_subscribers_left(metrics_server)
    # and: a subscriber watching an activity's slot count
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=5)
    gid = to_global_id("Activity", activity.id)
    volunteer = await make_volunteer("小林")
    async with websockets.connect(metrics_server.ws_url,
                                  subprotocols=[Subprotocol("graphql-transport-ws")]) as ws, \
            httpx.AsyncClient() as client:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SLOTS, "variables": {"id": gid}}}))
        assert json.loads(await ws.recv())["payload"]["data"]["slotCount"]["confirmed"] == 0
        # when: a volunteer signs up
        signed = await client.post(
            metrics_server.url, json={"query": SIGN_UP, "variables": {"id": gid}},
            headers={"authorization": f"Bearer {token_for(volunteer)}"})
        assert signed.json()["data"]["signUp"]["status"] == "CONFIRMED"
        assert json.loads(await ws.recv())["payload"]["data"]["slotCount"]["confirmed"] == 1
        # then: any worker's scrape counts every worker's requests, and the subscriber
        text = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = await scrape(client, metrics_server)
            # (statement counts reach the registry once a second: db/metrics.py)
            if sample(text, "tongxin_subscribers", field="slotCount") == 1 and \
                    sample(text, "tongxin_live_delivery_seconds_count", field="slotCount") >= 1 and \
                    sample(text, "tongxin_sql_statements_total") > 0:
                break
            await asyncio.sleep(0.05)  # a scrape costs each worker a few ms: not every 15 ms
    assert sample(text, "tongxin_requests_total", operation=operation, outcome="OK") == 40
    assert sample(text, "tongxin_request_seconds_count", operation=operation) == 40
    assert sample(text, "tongxin_requests_total", operation="SignUp", outcome="OK") == signed_before + 1
    assert sample(text, "tongxin_subscribers", field="slotCount") == 1
    # and: the change was timed from its commit to its frame written
    assert sample(text, "tongxin_live_delivery_seconds_count", field="slotCount") >= 1
    assert sample(text, "tongxin_sql_statements_total") > 0
    if db.postgres:
        assert sample(text, "tongxin_db_pool_wait_seconds_count") > 0
        assert sample(text, "tongxin_db_pool_connections", state="max") > 0
    assert sample(text, "tongxin_broker_connected") == 1
    assert "# HELP tongxin_requests_total" in text


def test_promtool_accepts_the_alerting_rules():
    need(PROMTOOL)
    # when
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True,
                             text=True, timeout=60)
    # then
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


async def no_slot_subscribers_left(server: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not sample(await scrape(client, server), "tongxin_subscribers", field="slotCount"):
                return
            await asyncio.sleep(0.05)


async def signed_up_so_far(server: LiveServer) -> float:
    async with httpx.AsyncClient() as client:
        return sample(await scrape(client, server), "tongxin_requests_total", operation="SignUp", outcome="OK")


@pytest.fixture
def prometheus(metrics_server: LiveServer) -> Iterator[str]:
    """Debian's Prometheus scraping the 2-worker server every second; its HTTP API's URL."""
    need(PROMETHEUS)
    work = Path(tempfile.mkdtemp(prefix="tongxin-prometheus-"))
    target = metrics_server.url.split("/")[2]
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{json.dumps(str(RULES))}]\n"
        "scrape_configs:\n"
        "  - job_name: tongxin\n"
        f"    authorization: {{credentials: {json.dumps(TOKEN)}}}\n"
        f"    static_configs: [{{targets: [{json.dumps(target)}]}}]\n")
    port = free_port()
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
         f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


async def test_a_real_prometheus_scrapes_a_two_worker_server(metrics_server, prometheus):
    # given: 12 requests to the two workers
    operation, document = probe()
    for _ in range(12):
        async with httpx.AsyncClient() as client:
            await client.post(metrics_server.url, json={"query": document, "operationName": operation})
    # when: Prometheus is asked for the count it scraped
    query = f'sum(tongxin_requests_total{{operation="{operation}",outcome="OK"}})'
    value = None
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                answer = (await client.get(f"{prometheus}/api/v1/query",
                                           params={"query": query})).json()
                result = answer["data"]["result"]
                value = float(result[0]["value"][1]) if result else None
            except (httpx.HTTPError, ValueError, KeyError):
                value = None
            if value == 12:
                break
            await asyncio.sleep(0.1)  # Prometheus scrapes every second
        rules = (await client.get(f"{prometheus}/api/v1/rules")).json()["data"]["groups"]
    # then: the 12 requests, whichever worker answered the scrape
    assert value == 12
    # and: the rules loaded
    assert {rule["name"] for group in rules for rule in group["rules"]} >= {
        "TongxinHighErrorRate", "TongxinSlowOperation", "TongxinReplicaDown",
        "TongxinBrokerDisconnected", "TongxinJobLagging", "TongxinPoolSaturated"}
