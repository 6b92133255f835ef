"""Over HTTP: the prepared edge (server.PreparedRequests answering compiled queries), the HTTP
view with compiled root fields and the HTTP view without compiled reads give the same answer,
status and request log; errors and limits stay the general path's."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import graphql
import httpx
import pytest

from forum.models import Thread
from models.volunteer import Volunteer
from resolvers.auth import issue_token
from schema import build_schema, schema
from schema.reads.compiler import ROOTS
from server import PreparedRequests, TongxinGraphQL
from tests.activity.factory import make_activity
from tests.forum.common import make_board, open_thread
from tests.helpers import count_statements, make_team, make_volunteer
from tests.reads.paths import canonical
from tests.reads.test_oracle import generated_documents, people, with_argument

LIST = ("query List($first: Int) { activities(first: $first) { totalCount edges { cursor node {"
        " id title startsAt hoursCredit remaining team { name } } } pageInfo { endCursor } } }")
ME = "query Me { me { displayName phone starLevel teams(first: 5) { edges { node { name } } } } }"
TOO_DEEP = "{ me { teams { edges { node " + "{ parent " * 9 + "{ name }" + " }" * 9 + " } } } }"


@pytest.fixture(scope="module")
def uncompiled_schema():
    built = build_schema()
    built.reads = None
    built.prepared = None
    return built


@pytest.fixture
def paths(db, uncompiled_schema):
    schema.prepared._plans.clear()
    view = TongxinGraphQL(schema)
    passed_on = []

    async def behind(scope, receive, send) -> None:
        passed_on.append(scope["path"])
        await view(scope, receive, send)

    edge = PreparedRequests(behind, graphql_app=view)
    general = TongxinGraphQL(uncompiled_schema)

    async def three(body: dict, token: str | None = None) -> tuple[list[httpx.Response], bool]:
        """Responses of the edge, the view and the uncompiled view; whether the edge answered."""
        headers = {"content-type": "application/json",
                   **({"Authorization": f"Bearer {token}"} if token else {})}
        responses = []
        before = len(passed_on)
        for app in (edge, view, general):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                responses.append(await client.post("/graphql", content=json.dumps(body),
                                                   headers=headers))
        return responses, len(passed_on) == before

    return three


def _same(responses: list[httpx.Response]) -> None:
    assert len({r.status_code for r in responses}) == 1, [r.text for r in responses]
    assert len({canonical(r.text) for r in responses}) == 1, [r.text for r in responses]


async def _seed() -> Volunteer:
    admin = await make_volunteer("队长")
    team = await make_team(admin, "社区队")
    for index in range(3):
        await make_activity(team, admin, title=f"活动{index}", starts_in=timedelta(days=index + 1))
    return admin


async def test_compiled_queries_answer_alike_on_every_path(paths, db):
    # given activities and their team's admin
    admin = await _seed()
    for body, token in (({"query": LIST, "variables": {"first": 2}}, None),
                        ({"query": ME}, issue_token(admin.id))):
        # when each path answers
        responses, answered_at_edge = await paths(body, token)
        # then the same status and JSON, from the edge itself on PostgreSQL
        _same(responses)
        assert responses[0].status_code == 200
        assert answered_at_edge == db.postgres


async def test_errors_and_limits_are_the_general_paths(paths, db):
    # given a volunteer
    admin = await _seed()
    token = issue_token(admin.id)
    cases = [
        {"query": LIST, "variables": {"first": 101}},  # page bound
        {"query": LIST, "variables": {"first": "x"}},  # variable coercion
        {"query": "{ activities(after: \"forged\") { totalCount } }"},  # unsigned cursor
        {"query": TOO_DEEP},  # depth limit
        {"query": "{ activities { edges { node { nosuch } } } }"},  # validation
    ]
    for body in cases:
        # when each path answers
        responses, answered_at_edge = await paths(body, token)
        # then the general path's coded errors, whoever answered
        _same(responses)
        codes = {e["extensions"]["code"] for e in responses[0].json()["errors"]}
        assert codes <= {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}, responses[0].text
        assert not answered_at_edge


async def test_a_deleted_account_gets_401_on_every_path(paths, db):
    # given a token whose account is gone
    person = await make_volunteer("离开的人")
    token = issue_token(person.id)
    await Volunteer.filter(id=person.id).delete()
    # when it reads itself
    responses, _ = await paths({"query": ME}, token)
    # then 401 everywhere
    assert [r.status_code for r in responses] == [401, 401, 401]
    _same(responses)


async def test_the_edge_logs_the_request_and_reads_in_few_statements(paths, db, caplog):
    # given activities
    await _seed()
    # when the list is read at the edge
    with caplog.at_level(logging.INFO, logger="tongxin.request"), count_statements() as sql:
        _, answered_at_edge = await paths({"query": LIST, "variables": {"first": 3},
                                           "operationName": "List"})
    # then one request line per path, with the operation name
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tongxin.request"]
    assert [line["operation"] for line in lines] == ["List"] * 3
    assert {line["status"] for line in lines} == {200}
    if db.postgres:
        assert answered_at_edge
        assert sum("json_build_object" in statement for statement in sql) == 2  # edge, view


THREADS = ("{ board(slug: \"notes\") { viewerIsModerator threads(first: 5) { edges { node {"
           " title hidden author { displayName phone phoneMasked gender } } } } } }")


async def test_personal_data_and_hidden_threads_at_the_edge(paths, db):
    # given a board with a hidden thread, its moderator, the author and a platform admin
    platform_admin = await make_volunteer("管理员", platform_admin=True)
    moderator = await make_volunteer("版主")
    author = await make_volunteer("作者")
    board = await make_board(platform_admin, "notes", "心得", moderators=(moderator,))
    for index in range(2):
        thread = await open_thread(author, board, title=f"话题{index}")
        await Thread.filter(id=thread.id).update(hidden=index == 1)
    for viewer in (None, author, moderator, platform_admin):
        # when each reads the board on every path (the edge checks the account in SQL)
        responses, answered_at_edge = await paths({"query": THREADS},
                                                  issue_token(viewer.id) if viewer else None)
        # then the same answer: contact data for the author and (masked) the platform admin
        _same(responses)
        assert answered_at_edge == db.postgres
        author_seen = responses[0].json()["data"]["board"]["threads"]["edges"][0]["node"]
        assert (author_seen["author"]["phoneMasked"] is not None) == (
            viewer in (author, platform_admin))


async def test_generated_documents_answer_alike_at_the_edge(paths, db):
    # given the oracle's data and viewers, whose accounts the edge checks in its statements
    ids: list[str] = []
    viewers = await people(ids)
    documents = [*generated_documents(10, sorted(set(ROOTS) - {"node", "board"})),
                 *(with_argument(document, "id", ids[index % len(ids)]) for index, document
                   in enumerate(generated_documents(10, ["node"]))),
                 *(with_argument(document, "slug", "oracle")
                   for document in generated_documents(5, ["board"]))]
    for document in documents:
        for viewer in viewers.values():
            # when each path answers
            responses, _ = await paths({"query": graphql.print_ast(document)},
                                       issue_token(viewer.id) if viewer else None)
            # then the same status and JSON
            _same(responses)


MIXED = ("query Mixed { activities(first: 2) { edges { node { id title } } }"
         " boards { slug name } announcements(first: 2) { totalCount } }")


async def test_compiled_and_general_root_fields_in_one_document(paths, db):
    # given activities and a board
    await _seed()
    await make_board(await make_volunteer("平台", platform_admin=True), "help", "互助")
    # when one document asks for a compiled root field beside ones the compiler leaves alone
    responses, _ = await paths({"query": MIXED}, None)
    # then every path gives the same full answer, with no error
    _same(responses)
    assert responses[0].status_code == 200
    answer = responses[0].json()
    assert "errors" not in answer, answer
    assert len(answer["data"]["activities"]["edges"]) == 2
    assert answer["data"]["boards"]


POINTS = ("query P($near: WalkingCircleInput) { servicePoints(first: 3, near: $near) { totalCount"
          " edges { node { id name distanceMetres team { name } } } pageInfo { endCursor } } }")


@pytest.mark.parametrize("points", [0, 2])
async def test_points_read_as_rows_check_the_signed_in_account_on_every_path(paths, db, points):
    # given service points near the centre (or none) and a volunteer
    from models.servicepoint import ServicePoint, ServicePointKind

    admin = await _seed()
    team = await make_team(admin, "服务站队")
    for index in range(points):
        await ServicePoint.create(name=f"站点{index}", kind=ServicePointKind.STATION, district="东城区",
                                  latitude=39.9042 + index / 1000, longitude=116.4074,
                                  team=team if index else None)
    body = {"query": POINTS, "variables": {"near": {"lat": 39.9042, "lng": 116.4074, "minutes": 15}}}
    # when the volunteer reads them (the edge has not read their account: the statement does)
    responses, answered_at_edge = await paths(body, issue_token(admin.id))
    # then the same answer on every path, from the edge itself on PostgreSQL
    _same(responses)
    assert responses[0].json()["data"]["servicePoints"]["totalCount"] == points
    assert answered_at_edge == db.postgres
    # and when their account is gone, 401 on every path, with or without rows to carry the check
    gone = await make_volunteer("离开的人")
    token = issue_token(gone.id)
    await Volunteer.filter(id=gone.id).delete()
    responses, _ = await paths(body, token)
    assert [r.status_code for r in responses] == [401, 401, 401]
