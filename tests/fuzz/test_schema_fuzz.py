"""Schema-driven fuzzing of every Query and Mutation field against a real server on the demo
data, as anonymous, a volunteer (also a board moderator), a team admin and a platform admin.

Strategies, in order (one server, one data set, so the pools of real IDs carry over):
- stateful: every query as admin to fill the ID pools, then FUZZ_STATEFUL_ROUNDS passes over
  every root field (4: each field as each role), each ID argument drawn from the pool of its
  type, each answer's IDs harvested for later calls;
- random: hypothesis-graphql operations made hostile (NUL, lone surrogates, huge text and
  lists, numbers past 32 bits, forged and wrong-type IDs), pooled IDs among them; valid ones,
  and half as many almost-valid ones (none in CI);
- optional: every field with optional arguments, all of them left out, then all of them null;
- boundary: exactly N and N+1 characters (and entries, for lists) for every bounded argument
  and input field, N read from the live limits table (schema/limits.py); N+1 on SQLite only,
  since it is refused before any resolver runs (the same code on both backends), while N is
  what reaches each database's columns;
- directed: the shortest operation for every field that no strategy executed (and, in long
  runs, made hostile).

Property: no answer is a 5xx, every error has a code and none is INTERNAL; the boundary lets
exactly N through and refuses N+1 with BAD_USER_INPUT naming the argument; most stateful
operations get past input validation; afterwards the server is healthy, logged no unexpected
error, the database passes the integrity check, and every field reachable from Query and
Mutation was executed at least once. No answer to anyone but a platform admin (whose full-value
reads are logged, docs/privacy.md) contains another person's full phone, ID number or home
address, and the server log contains none. Each strategy prints its share of operations that got
past input validation (`got_past_validation`).

CI runs the fixed defaults; `make fuzz` runs long: FUZZ_EXAMPLES_PER_FIELD (random examples
per root field, default 1), FUZZ_STATEFUL_ROUNDS (default 4), FUZZ_SEED (default 22)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis_graphql import Mode

from core import pii
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.demo import ADMIN_PHONE, seed_demo
from schema import schema
from tests.conftest import Backend
from tests.fuzz.hostile import (
    EXAMPLES_PER_FIELD,
    FuzzReport,
    Send,
    all_fields,
    fuzz_paths,
    fuzz_root_field,
    make_sender,
)
from tests.fuzz.strategies import Pools, make_subscriber, new_pools, run_boundary, run_optional, run_stateful
from tests.helpers import token_for
from tests.integrity import integrity_problems
from tests.live import LiveServer

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("FUZZ_SEED", "22"))
STATEFUL_ROUNDS = int(os.environ.get("FUZZ_STATEFUL_ROUNDS", "4"))
STRATEGIES = ("stateful", "random", "optional omitted", "optional null", "boundary at N",
              "boundary at N+1", "directed")


def watching(send: Send, forbidden: dict[str, set[str]], leaks: list[str]) -> Send:
    """`send`, noting every answer that carries a value its role must never see (shown
    masked: the note must not leak it either)."""
    def send_watched(query: str, variables: dict[str, Any], role: str) -> httpx.Response:
        response = send(query, variables, role)
        leaks.extend(f"{role} got {value[:3]}…{value[-2:]} answering {query[:120]!r}"
                     for value in forbidden.get(role, ()) if value in response.text)
        return response

    return send_watched


def signing_back_in(send: Send, tokens: dict[str, str | None], restore_roles: Callable[[], None]) -> Send:
    """`send`, and when a signed-in role is refused as UNAUTHENTICATED (an earlier operation
    locked its account: a volunteer withdrawing their registration consent, an admin
    suspending someone), the roles restored and the operation sent once more: otherwise every
    later operation of that role would only measure the lock-out."""
    def send_again(query: str, variables: dict[str, Any], role: str) -> httpx.Response:
        response = send(query, variables, role)
        if tokens.get(role) and _unauthenticated(response):
            restore_roles()
            response = send(query, variables, role)
        return response

    return send_again


def _unauthenticated(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return any((error.get("extensions") or {}).get("code") == "UNAUTHENTICATED" for error in errors)


def run_fuzz(url: str, tokens: dict[str, str | None], postgres: bool, forbidden: dict[str, set[str]] | None = None,
             leaks: list[str] | None = None, restore_roles: Callable[[], None] = lambda: None,
             ) -> tuple[dict[str, FuzzReport], Pools, list[str], int]:
    """Every strategy in turn; blocking, so the test runs it in a thread while its own event
    loop stays responsive. Returns the reports, the pools, the bounded coordinates no operation
    reaches, and the health check's status afterwards. `restore_roles` runs before the directed
    phase: the earlier ones may have locked a role's account out (a volunteer withdrawing their
    registration consent, an admin suspending someone), and the directed phase's operations are
    chosen for the role they are sent as."""
    graphql_schema = schema._schema
    assert graphql_schema.query_type is not None and graphql_schema.mutation_type is not None
    roots = [*graphql_schema.query_type.fields, *graphql_schema.mutation_type.fields]
    roles = list(tokens)
    pools = new_pools(graphql_schema)
    reports = {name: FuzzReport() for name in STRATEGIES}
    with httpx.Client(timeout=30) as client:
        send = signing_back_in(watching(make_sender(client, url, tokens), forbidden or {},
                                        leaks if leaks is not None else []), tokens, restore_roles)
        run_stateful(graphql_schema, send, roles, pools, reports["stateful"], rounds=STATEFUL_ROUNDS, seed=SEED)
        id_pool = [ids[0] for ids in pools.ids.values()] + [ids[-1] for ids in pools.ids.values()]
        for root_field in roots:
            for mode, examples in ((Mode.POSITIVE, EXAMPLES_PER_FIELD), (Mode.NEGATIVE, EXAMPLES_PER_FIELD // 2)):
                if examples:
                    fuzz_root_field(graphql_schema, root_field, mode=mode, examples=examples, send=send,
                                    roles=roles, id_pool=id_pool, report=reports["random"])
        run_optional(graphql_schema, send, "admin", pools,
                     {"omit": reports["optional omitted"], "null": reports["optional null"]}, seed=SEED)
        skipped = run_boundary(graphql_schema, send, make_subscriber(url.replace("http", "ws", 1), tokens),
                               "admin", pools, reports["boundary at N"],
                               None if postgres else reports["boundary at N+1"], seed=SEED)
        covered = set().union(*(report.covered for report in reports.values()))
        restore_roles()
        fuzz_paths(graphql_schema, all_fields(graphql_schema) - covered, {kind: ids[0] for kind, ids in pools.ids.items()},
                   examples=EXAMPLES_PER_FIELD // 2, send=send, roles=roles, report=reports["directed"])
        health = client.get(url.replace("/graphql", "/healthz")).status_code
    return reports, pools, skipped, health


def with_traceback(failure: str, log: str) -> str:
    """The failure followed by the last lines of the server's traceback for its request."""
    found = re.search(r"request (\S+)\)", failure)
    start = log.find(f"request_id={found[1]}") if found else -1
    if start < 0:
        return failure
    lines = log[start:].splitlines()
    end = next((index for index, line in enumerate(lines[1:], 1)
                if not line.startswith(" ") and ("Error" in line or "Exception" in line)), len(lines) - 1)
    return f"{failure}\n  server: " + "\n  ".join(lines[max(0, end - 4):end + 1])


async def test_every_strategy_on_every_field(live_server: LiveServer, db: Backend) -> None:
    # given: the demo data, and a caller in each role
    await seed_demo()
    people = {pii.phone_of(person): person for person in await Volunteer.all()}
    tokens: dict[str, str | None] = {
        "anonymous": None, "volunteer": token_for(people["13800000002"]),
        "team_admin": token_for(people["13800000001"]), "admin": token_for(people[ADMIN_PHONE])}
    full_values = {phone: {phone, pii.id_number_of(person)} | ({address} if (
        address := pii.home_address_of(person)) else set()) for phone, person in people.items()}
    everyone = set().union(*full_values.values())
    forbidden = {"anonymous": everyone, "volunteer": everyone - full_values["13800000002"],
                 "team_admin": everyone - full_values["13800000001"]}
    leaks: list[str] = []

    loop = asyncio.get_running_loop()
    role_ids = [people[phone].id for phone in ("13800000001", "13800000002", ADMIN_PHONE)]

    async def reactivate() -> None:
        # not an erased account (a deletion request decided): its personal data is gone, and
        # no real account is signed in without it
        await Volunteer.filter(id__in=role_ids).exclude(status=VolunteerStatus.DELETED).update(
            status=VolunteerStatus.ACTIVE)

    def restore_roles() -> None:
        asyncio.run_coroutine_threadsafe(reactivate(), loop).result(30)

    # when
    reports, pools, skipped, health = await asyncio.to_thread(run_fuzz, live_server.url, tokens, db.postgres,
                                                              forbidden, leaks, restore_roles)

    # then
    total = all_fields(schema._schema)
    covered = set().union(*(report.covered for report in reports.values()))
    print(f"\nfuzz[{db.name}]: {len(covered & total)}/{len(total)} fields covered; ID pools: "
          + ", ".join(f"{kind} {len(ids)}" for kind, ids in sorted(pools.ids.items())))
    for name, report in reports.items():
        print(f"fuzz[{db.name}] {name}: {report.share()}")
    log = live_server.log()
    assert leaks == [], leaks[:10]
    assert not [value for value in everyone if value in log], "a full phone, ID number or address was logged"
    failures = [failure for report in reports.values() for failure in report.failures]
    distinct = {re.sub(r" as \w+: INTERNAL error \(request \S+\)", ": INTERNAL", failure.split("\n")[0]): failure
                for failure in failures}
    assert not failures, f"{len(failures)} failures, {len(distinct)} distinct:\n\n" + "\n\n".join(
        with_traceback(failure, log) for failure in list(distinct.values())[:30])
    assert skipped == []
    assert reports["stateful"].passed >= 0.6 * reports["stateful"].operations
    assert reports["boundary at N+1"].passed == 0
    assert health == 200
    assert "unexpected error" not in log
    assert await integrity_problems() == []
    assert total <= covered, f"never executed: {sorted(total - covered)}"
