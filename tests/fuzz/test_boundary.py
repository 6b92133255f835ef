"""Regression tests for what hostile input found, on both backends, through a real server:
each class is refused at the boundary with a coded error and the process stays healthy."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from models.volunteer import Volunteer
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.conftest import Backend
from tests.helpers import make_team, make_volunteer, token_for, unique_id_number, unique_phone
from tests.live import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(module_server: LiveServer) -> LiveServer:
    """One server per backend for this module: these tests only send requests."""
    return module_server

REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { token } }"
SEARCH = "query Search($q: String) { volunteers(search: $q) { totalCount } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
ACTIVITIES = "query Page($after: String) { activities(first: 1, after: $after) { pageInfo { endCursor } } }"
SLOTS = "subscription Slots($id: ID!) { slotCount(activityId: $id) { remaining } }"


def registration(**changes: Any) -> dict[str, Any]:
    return {"phone": unique_phone(), "password": "password-123", "realName": "张三",
            "idNumber": unique_id_number(), "district": "朝阳区", "consent": True, **changes}


async def post(server: LiveServer, body: str | bytes, token: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(server.url, content=body, headers=headers, **kwargs)


def graphql_body(query: str, variables: dict[str, Any]) -> str:
    return json.dumps({"query": query, "variables": variables}, ensure_ascii=True)


def only_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("name", ["张\x00三", "张\x1b三", "张\u0085三", "张\ud800三", "张\t三", "张\n三"])
async def test_control_characters_in_a_name_are_refused_alike_on_both_backends(db: Backend, server: LiveServer, name: str) -> None:
    # when
    response = await post(server, graphql_body(REGISTER, {"input": registration(realName=name)}))
    # then: the same coded answer whichever database is behind, and nothing stored
    error = only_error(response)
    assert response.status_code == 200
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "realName"}
    assert await Volunteer.filter(real_name__startswith="张").count() == 0


async def test_multi_line_text_keeps_its_line_breaks(db: Backend, server: LiveServer) -> None:
    # given
    person = await make_volunteer()
    save = "mutation Save($body: String!) { saveDraft(key: \"reply:1\", body: $body) }"
    read = "query { draft(key: \"reply:1\") }"
    body = "第一行\n\t第二行\r\n👩‍👩‍👧 \u202eRTL"
    # when
    saved = await post(server, graphql_body(save, {"body": body}), token_for(person))
    got = await post(server, graphql_body(read, {}), token_for(person))
    # then
    assert saved.json() == {"data": {"saveDraft": True}}
    assert got.json()["data"]["draft"] == body


async def test_lists_are_bounded(db: Backend, server: LiveServer) -> None:
    # when
    response = await post(server, graphql_body(
        REGISTER, {"input": registration(skills=[f"技能{i}" for i in range(10_000)])}))
    # then
    assert only_error(response)["extensions"] == {"code": "BAD_USER_INPUT", "field": "skills"}
    assert await Volunteer.all().count() == 0


async def test_text_past_its_bound_is_refused_before_any_resolver(db: Backend, server: LiveServer) -> None:
    # when: anonymous, so a resolver would answer UNAUTHENTICATED if it were reached
    response = await post(server, graphql_body(SEARCH, {"q": "长" * 201}))
    # then
    error = only_error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "search"}
    assert "200" in error["message"]


@pytest.mark.parametrize("body", [
    '{"query": "{ me { id } }", "variables": {"a": ' + "[" * 5000 + "]" * 5000 + "}}",
    '{"query": "{ me { id } }", "variables": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
    '"just a string"', "42", "null", "[1, 2]", "{not json", b"\xff\xfe{}",
])
async def test_undecodable_or_too_deep_bodies_get_a_400_shaped_like_graphql(db: Backend, server: LiveServer, body: str | bytes) -> None:
    # when
    response = await post(server, body)
    # then
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_too_deep_variables_in_a_get_request_get_a_400(db: Backend, server: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(server.url, params={
            "query": "{ me { id } }", "variables": "[" * 5000 + "]" * 5000})
    assert response.status_code == 400
    assert "nested deeper" in only_error(response)["message"]


async def test_global_ids_past_the_integer_columns_are_bad_input(db: Backend, server: LiveServer) -> None:
    # found by the fuzzer: SQLite overflowed comparing an id of 10**21 (INTERNAL)
    for huge in (10**21, 2**31, 0, -5):
        response = await post(server, graphql_body(NODE, {"id": to_global_id("Activity", huge)}))
        assert only_error(response)["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_forged_cursors_are_refused(db: Backend, server: LiveServer) -> None:
    # given a real cursor
    admin = await make_volunteer()
    team = await make_team(admin)
    for _ in range(2):
        await make_activity(team, admin)
    first = await post(server, graphql_body(ACTIVITIES, {}))
    cursor = first.json()["data"]["activities"]["pageInfo"]["endCursor"]
    body, _, mac = cursor.rpartition(".")
    # when: the same payload re-signed by nobody, or tampered with
    forged = [body, f"{body}.{mac[::-1]}", "W3sidCI6IngifSwgMV0", f"W3sidCI6IngifSwgMV0.{mac}"]
    answers = [await post(server, graphql_body(ACTIVITIES, {"after": after})) for after in forged]
    genuine = await post(server, graphql_body(ACTIVITIES, {"after": cursor}))
    # then
    assert [only_error(a)["extensions"] for a in answers] == [{"code": "BAD_USER_INPUT", "field": "after"}] * 4
    assert "errors" not in genuine.json()


async def _closing_code(server: LiveServer, protocol: str, frames: list[str | bytes]) -> int | None:
    async with websockets.connect(server.ws_url, subprotocols=[protocol]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        for frame in frames:
            await socket.send(frame)
        try:
            while True:
                await socket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("frame", [
    "[" * 5000 + "]" * 5000,
    '{"id": "1", "type": "subscribe", "payload": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
    "{not json",
    b"\x00\x01binary",
    '{"id": "1", "type": "subscribe", "payload": "not an object"}',
    '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
    '{"type": "no-such-message"}',
])
async def test_bad_graphql_transport_ws_frames_close_with_4400_and_the_server_stays_healthy(db: Backend, server: LiveServer, frame: str | bytes) -> None:
    # when
    code = await _closing_code(server, "graphql-transport-ws", [frame])
    # then
    assert code == 4400
    async with httpx.AsyncClient(timeout=10) as client:
        health = await client.get(server.url.replace("/graphql", "/healthz"))
    assert health.status_code == 200


async def test_hostile_subscription_variables_are_refused_with_a_code(db: Backend, server: LiveServer) -> None:
    # when: a NUL inside an ID argument of a subscription
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        await socket.recv()
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SLOTS, "variables": {"id": "QWN0aXZpdHk6\x001"}}}))
        answer = json.loads(await socket.recv())
    # then
    assert answer["type"] == "error"
    assert answer["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "activityId"}


async def test_legacy_graphql_ws_ignores_undecodable_frames_and_keeps_serving(db: Backend, server: LiveServer) -> None:
    # given
    admin = await make_volunteer()
    activity = await make_activity(await make_team(admin), admin, capacity=4)
    # when: garbage first, then a real subscription on the same socket
    async with websockets.connect(server.ws_url, subprotocols=["graphql-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send("[" * 5000 + "]" * 5000)
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": {
            "query": SLOTS, "variables": {"id": to_global_id("Activity", activity.id)}}}))
        while (message := json.loads(await socket.recv()))["type"] == "ka":
            pass
    # then
    assert message["payload"]["data"] == {"slotCount": {"remaining": 4}}
