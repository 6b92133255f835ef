"""The whole schema under hostile input, against a real server, as four kinds of caller.

Property: no answer is a 5xx, every error has a code and none is INTERNAL; afterwards the
server is still healthy, logged no unexpected error, and the database passes the integrity
check, and every field reachable from Query and Mutation was executed at least once (random
generation first, then a directed phase that sends each missed field's shortest operation). CI
runs a fixed seed with FUZZ_EXAMPLES_PER_FIELD (default 4) examples per root field and mode;
`make fuzz` runs many more."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis_graphql import Mode

from resolvers.auth import Viewer
from resolvers.helprequest import HelpRequestData, do_create_help_request
from schema import schema
from tests.activity.factory import make_activity
from tests.conftest import Backend
from tests.forum.common import make_board, open_thread, opening_post
from tests.fuzz.hostile import (
    EXAMPLES_PER_FIELD,
    FuzzReport,
    all_fields,
    fuzz_paths,
    fuzz_root_field,
)
from tests.helpers import make_team, make_volunteer, token_for
from tests.integrity import integrity_problems
from tests.live import LiveServer

pytestmark = pytest.mark.e2e


async def _people_and_ids() -> tuple[dict[str, str | None], dict[str, str]]:
    admin = await make_volunteer("平台管理员", platform_admin=True)
    volunteer = await make_volunteer("普通志愿者")
    team_admin = await make_volunteer("队长")
    moderator = await make_volunteer("版主")
    team = await make_team(team_admin, "模糊测试队")
    activity = await make_activity(team, team_admin, capacity=3, waitlist_limit=2)
    board = await make_board(admin, "fuzz", "测试版块", moderators=(moderator,))
    thread = await open_thread(volunteer, board)
    post = await opening_post(thread)
    help_request = await do_create_help_request(Viewer(volunteer), HelpRequestData(
        title="需要陪同就医", description="老人需要陪同去医院。", district="朝阳区"))
    from schema.relay import to_global_id

    ids = {kind: str(to_global_id(kind, db_id)) for kind, db_id in (
        ("Volunteer", volunteer.id), ("Team", team.id), ("Activity", activity.id), ("Board", board.id),
        ("Thread", thread.id), ("Post", post.id), ("HelpRequest", help_request.id))}
    tokens: dict[str, str | None] = {
        "anonymous": None, "volunteer": token_for(volunteer), "team_admin": token_for(team_admin),
        "moderator": token_for(moderator)}
    return tokens, ids


def run_fuzz(url: str, tokens: dict[str, str | None], ids: dict[str, str]) -> tuple[FuzzReport, int]:
    """Every root field gets valid-but-hostile operations and almost-valid ones, then every
    field still uncovered its shortest operation; blocking, so the test runs it in a thread
    while its own event loop stays responsive."""
    graphql_schema = schema._schema
    assert graphql_schema.query_type is not None and graphql_schema.mutation_type is not None
    roots = [*graphql_schema.query_type.fields, *graphql_schema.mutation_type.fields]
    report = FuzzReport()
    with httpx.Client(timeout=30) as client:
        def send(query: str, variables: dict[str, Any], role: str) -> httpx.Response:
            token = tokens[role]
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            # ASCII-escaped, so lone surrogates, NaN and Infinity travel as a hostile client sends them
            body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
            return client.post(url, content=body, headers=headers)

        for root_field in roots:
            for mode, examples in ((Mode.POSITIVE, EXAMPLES_PER_FIELD),
                                   (Mode.NEGATIVE, max(1, EXAMPLES_PER_FIELD // 2))):
                fuzz_root_field(graphql_schema, root_field, mode=mode, examples=examples, send=send,
                                roles=list(tokens), id_pool=list(ids.values()), report=report)
        fuzz_paths(graphql_schema, all_fields(graphql_schema) - report.covered, ids,
                   examples=max(1, EXAMPLES_PER_FIELD // 2), send=send, roles=list(tokens), report=report)
        health = client.get(url.replace("/graphql", "/healthz")).status_code
    return report, health


async def test_hostile_operations_on_every_root_field(live_server: LiveServer, db: Backend) -> None:
    # given: people in each role, and real IDs of every kind to send where others are expected
    tokens, ids = await _people_and_ids()

    # when
    report, health = await asyncio.to_thread(run_fuzz, live_server.url, tokens, ids)

    # then
    total = all_fields(schema._schema)
    print("\n" + report.summary(db.name, total))
    root_count = len(schema._schema.query_type.fields) + len(schema._schema.mutation_type.fields)
    assert report.operations >= root_count * EXAMPLES_PER_FIELD
    assert not report.failures, "\n\n".join(report.failures[:10])
    assert health == 200
    assert "unexpected error" not in live_server.log()
    assert await integrity_problems() == []
    assert total <= report.covered, f"never executed: {sorted(total - report.covered)}"
