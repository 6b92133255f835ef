"""The HTTP surface of a real server process: transport rules from API.md."""

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import httpx
from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport

from core import pii
from models.volunteer import Volunteer, VolunteerStatus
from tests.helpers import (
    PASSWORD,
    execute,
    make_volunteer,
    token_for,
    unique_id_number,
    unique_phone,
)
from tests.live import PAIR_CORS_ORIGIN, ROOT, log_lines_settle

ME = "query Me { me { displayName phoneMasked } }"
REGISTER = """
mutation Register($input: RegisterInput!) { register(input: $input) { token volunteer { displayName } } }
"""
LOGIN = "mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"


async def test_me_over_http(http_server):
    # given
    person = await make_volunteer("王芳")
    # when
    async with httpx.AsyncClient() as client:
        response = await client.post(http_server.url, json={"query": ME},
                                     headers={"Authorization": f"Bearer {token_for(person)}"})
    # then
    assert response.status_code == 200
    assert response.json()["data"]["me"] == {
        "displayName": "王芳", "phoneMasked": pii.phone_of(person)[:3] + "****" + pii.phone_of(person)[7:]}


async def test_transport_errors_are_graphql_shaped(http_server):
    async with httpx.AsyncClient() as client:
        # malformed JSON
        malformed = await client.post(http_server.url, content=b"{not json",
                                      headers={"content-type": "application/json"})
        # body over the limit
        huge = await client.post(http_server.url, json={"query": "{ me { id } }", "pad": "x" * 1_100_000})
        # a bad token
        bad_token = await client.post(http_server.url, json={"query": ME},
                                      headers={"Authorization": "Bearer not-a-token"})
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_token.status_code == 401
    assert bad_token.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_valid_token_of_a_vanished_account_is_401_even_for_token_only_sign_up(http_server):
    # given: tokens that verify, of an account deleted and of one not yet consenting
    gone = await make_volunteer()
    await gone.delete()
    unconsented = await make_volunteer(status=VolunteerStatus.PENDING_CONSENT)
    sign_up = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"  # token-only
    responses = []
    async with httpx.AsyncClient() as client:
        for person in (gone, unconsented):
            for query, variables in ((ME, None), (sign_up, {"id": "QWN0aXZpdHk6MQ=="})):
                responses.append(await client.post(
                    http_server.url, json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token_for(person)}"}))
    # then: the same answer as a bad token, whichever path read the account
    assert [r.status_code for r in responses] == [401] * 4
    assert {r.json()["errors"][0]["extensions"]["code"] for r in responses} == {"UNAUTHENTICATED"}


async def test_graphiql_healthz_and_get_queries(http_server):
    async with httpx.AsyncClient() as client:
        page = await client.get(http_server.url, headers={"accept": "text/html"})
        health = await client.get(http_server.url.replace("/graphql", "/healthz"))
        via_get = await client.get(http_server.url, params={"query": "{ me { id } }"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert via_get.json() == {"data": {"me": None}}


async def test_cors_allows_only_configured_origins(pair_server):
    # given: a server configured with one allowed origin (PAIR_CORS_ORIGIN)
    async with httpx.AsyncClient() as client:
        allowed = await client.options(pair_server.url, headers={
            "Origin": PAIR_CORS_ORIGIN, "Access-Control-Request-Method": "POST"})
        denied = await client.post(pair_server.url, json={"query": "{ me { id } }"},
                                   headers={"Origin": "https://evil.example.com"})
    assert allowed.headers["access-control-allow-origin"] == PAIR_CORS_ORIGIN
    assert "access-control-allow-origin" not in denied.headers


async def test_request_logs_carry_ids_and_outcomes_but_never_personal_data(live_server):
    # given
    server = live_server
    phone, id_number = unique_phone(), unique_id_number()
    async with httpx.AsyncClient() as client:
        registered = await client.post(server.url, json={"query": REGISTER, "operationName": "Register",
                                                         "variables": {"input": {
            "phone": phone, "password": "a-secret-password", "realName": "郑重", "idNumber": id_number,
            "district": "朝阳区", "consent": True}}})
        token = registered.json()["data"]["register"]["token"]
        await client.post(server.url, json={"query": LOGIN, "variables": {"phone": phone, "password": "wrong"}})
        await client.post(server.url, json={"query": ME}, headers={"Authorization": f"Bearer {token}"})

    def request_lines(log: str) -> list[dict[str, Any]]:
        return [json.loads(line.split("tongxin.request ", 1)[1]) for line in log.splitlines()
                if "tongxin.request {" in line]

    log = await log_lines_settle(server, lambda log: len(request_lines(log)) >= 3)
    lines = request_lines(log)
    # then
    assert [(line["operation"], line["outcome"]) for line in lines] == [
        ("Register", "OK"), ("Login", "UNAUTHENTICATED"), ("Me", "OK")]
    assert all(line["requestId"] and line["ms"] >= 0 for line in lines)
    for secret in (phone, id_number, "a-secret-password", token, PASSWORD):
        assert secret not in log


async def test_gql_client_over_http(http_server):
    # given
    admin = await make_volunteer("平台管理员", platform_admin=True)
    transport = HTTPXAsyncTransport(url=http_server.url,
                                    headers={"Authorization": f"Bearer {token_for(admin)}"})
    # when
    async with Client(transport=transport) as session:
        created = await session.execute(gql(
            'mutation { createTeam(input: {name: "应急分队", type: EMERGENCY, district: "朝阳区"}) '
            "{ name memberCount viewerIsAdmin } }"))
    # then
    assert created == {"createTeam": {"name": "应急分队", "memberCount": 1, "viewerIsAdmin": True}}


async def test_create_admin_command_makes_a_platform_admin_who_can_log_in(db):
    # given
    phone = unique_phone()
    env = {**os.environ, "DATABASE_URL": db.database_url}
    # when
    done = await asyncio.to_thread(subprocess.run, [
        sys.executable, "server.py", "create-admin", "--phone", phone, "--password", "admin-password-1",
        "--name", "运维管理员"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    # then
    assert done.returncode == 0, done.stderr
    login = await execute(LOGIN, {"phone": phone, "password": "admin-password-1"})
    assert login.ok()["login"]["token"]
    me = await execute("{ me { isPlatformAdmin } }", as_=await Volunteer.get(**pii.with_phone(phone)))
    assert me.ok()["me"]["isPlatformAdmin"] is True
