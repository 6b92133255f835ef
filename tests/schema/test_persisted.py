"""Persisted documents over HTTP (schema/persisted.py): automatic persisted queries as Apollo
Client and urql speak them, bounded registration shared through Redis, and trusted documents
(only a manifest's documents run, on every path including the prepared edge)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from resolvers import services as service_registry
from schema import schema
from schema.persisted import PersistedDocuments, load_manifest, sha256_hex
from schema.prepared_edge import PreparedRequests
from schema.relay import to_global_id
from schema.view import TongxinGraphQL
from tests.activity.factory import make_activity
from tests.e2e.test_graphql_over_http import node_script
from tests.helpers import make_team, make_volunteer, token_for

ME = "query Me { me { displayName } }"
BOARDS = "{ boards { slug } }"
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
WEB_MANIFEST = Path(__file__).resolve().parents[2] / "web" / "persisted-documents.json"


def persisted(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}


def shared_redis():
    return service_registry.services().redis


def client_for(documents: PersistedDocuments, token: str | None = None) -> httpx.AsyncClient:
    """The endpoint as served: the prepared edge in front of the view."""
    view = TongxinGraphQL(schema, documents=documents)
    app = PreparedRequests(view, graphql_app=view)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)),
                             base_url="http://t", headers=headers)


async def test_a_hash_runs_once_its_text_was_sent_over_post_and_get(db):
    # given
    documents = PersistedDocuments(redis=shared_redis)
    person = await make_volunteer("持久")
    async with client_for(documents, token_for(person)) as client:
        # when: Apollo's PersistedQueryLink: the hash alone, then hash and text, then the hash
        unknown = await client.post("/graphql", json={"extensions": persisted(ME)})
        strict = await client.post("/graphql", json={"extensions": persisted(ME)},
                                   headers={"accept": GRAPHQL_RESPONSE})
        registered = await client.post("/graphql", json={"query": ME, "extensions": persisted(ME)})
        by_hash = await client.post("/graphql", json={"extensions": persisted(ME)})
        by_get = await client.get("/graphql", params={"extensions": json.dumps(persisted(ME))})
    # then
    assert unknown.status_code == 200
    assert unknown.json() == {"errors": [{"message": "PersistedQueryNotFound",
                                          "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    assert strict.status_code == 400
    for answer in (registered, by_hash, by_get):
        assert answer.json() == {"data": {"me": {"displayName": "持久"}}}


async def test_a_hash_that_is_not_its_texts_is_refused(db):
    # given
    documents = PersistedDocuments()
    async with client_for(documents) as client:
        # when
        answer = await client.post("/graphql", json={"query": BOARDS,
                                                     "extensions": persisted("{ __typename }")})
        later = await client.post("/graphql", json={"extensions": persisted("{ __typename }")})
    # then
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert later.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_registration_is_bounded_and_shared_through_redis(db):
    # given: two workers keeping two documents each
    here = PersistedDocuments(capacity=2, redis=shared_redis)
    there = PersistedDocuments(capacity=2, redis=shared_redis)
    texts = [f"{{ t{index}: __typename }}" for index in range(3)]
    async with client_for(here) as client:
        for text in texts:
            await client.post("/graphql", json={"query": text, "extensions": persisted(text)})
    # when
    async with client_for(here) as client:
        oldest_here = await client.post("/graphql", json={"extensions": persisted(texts[0])})
    async with client_for(there) as client:
        newest_there = await client.post("/graphql", json={"extensions": persisted(texts[2])})
    # then: the process forgets the oldest; with Redis every worker finds every document
    assert len(here.registered) == 2
    if db.redis_url:
        assert oldest_here.json() == {"data": {"t0": "Query"}}
        assert newest_there.json() == {"data": {"t2": "Query"}}
    else:
        assert oldest_here.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert newest_there.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_trusted_documents_run_only_listed_documents(db):
    # given: a manifest holding the sign-up mutation, and a volunteer signed up once
    documents = PersistedDocuments({sha256_hex(SIGN_UP): SIGN_UP})
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=5)
    variables = {"id": to_global_id("Activity", activity.id)}
    unlisted = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
    async with client_for(documents, token_for(admin)) as client:
        # when
        by_text = await client.post("/graphql", json={"query": SIGN_UP, "variables": variables})
        by_hash = await client.post("/graphql", json={"extensions": persisted(SIGN_UP),
                                                      "variables": variables})
        other = await client.post("/graphql", json={"query": unlisted, "variables": variables},
                                  headers={"accept": GRAPHQL_RESPONSE})
        registering = await client.post("/graphql", json={
            "query": unlisted, "variables": variables, "extensions": persisted(unlisted)})
    # then
    assert by_text.json() == {"data": {"signUp": {"status": "CONFIRMED", "waitlistPosition": None}}}
    assert by_hash.json() == by_text.json()
    assert other.status_code == 400
    assert other.json() == {"errors": [{"message": "Only trusted documents run here.",
                                        "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"}}]}
    assert registering.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_manifest_entry_must_be_the_hash_of_its_document(tmp_path):
    # given
    forged = tmp_path / "manifest.json"
    forged.write_text(json.dumps({sha256_hex(BOARDS): "mutation { logout }"}))
    apollo = tmp_path / "apollo.json"
    apollo.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                  "operations": [{"id": sha256_hex(BOARDS), "body": BOARDS,
                                                  "name": "Boards", "type": "query"}]}))
    # when / then
    with pytest.raises(ValueError, match="not the SHA-256"):
        load_manifest(forged)
    assert load_manifest(apollo) == {sha256_hex(BOARDS): BOARDS}


def test_the_web_clients_manifest_lists_every_document_it_sends():
    # given: the documents found in web/js (tests/node/web-documents.mjs)
    found = node_script("web-documents.mjs")
    # when
    manifest = load_manifest(WEB_MANIFEST)
    # then
    assert [line["uncovered"] for line in found if "uncovered" in line] == []
    sent = {line["document"] for line in found if "document" in line}
    assert len(sent) > 20
    assert set(manifest.values()) == sent, \
        "regenerate: node tests/node/web-documents.mjs --manifest > web/persisted-documents.json"


def test_websockets_run_only_trusted_documents_too():
    # given
    view = TongxinGraphQL(schema, documents=PersistedDocuments({sha256_hex(BOARDS): BOARDS}))
    with TestClient(view).websocket_connect("/", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        # when
        ws.send_json({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { callOuts { id } }"}})
        # then
        assert ws.receive_json() == {"id": "1", "type": "error", "payload": [{
            "message": "Only trusted documents run here.",
            "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"}}]}


async def test_a_hash_sent_by_get_is_cacheable_like_its_text(db):
    # given: the board list registered once
    documents = PersistedDocuments()
    async with client_for(documents) as client:
        await client.post("/graphql", json={"query": BOARDS, "extensions": persisted(BOARDS)})
        # when: urql's and Apollo's GET for hashed queries
        answer = await client.get("/graphql", params={"extensions": json.dumps(persisted(BOARDS))})
        again = await client.get("/graphql", params={"extensions": json.dumps(persisted(BOARDS))},
                                 headers={"if-none-match": answer.headers["etag"]})
    # then
    assert answer.json() == {"data": {"boards": []}}
    assert answer.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=60"
    assert again.status_code == 304
