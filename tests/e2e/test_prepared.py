"""Prepared operations (schema/prepared.py, schema/prepared_edge.py) answer byte for byte what
the general path (strawberry's HTTP view and extensions) answers, on both backends; what they
do not fully cover goes to the general path untouched."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from graphql import validate
from strawberry.extensions import SchemaExtension

from models.activity import ActivityStatus, SignUp
from models.volunteer import VolunteerStatus
from resolvers.auth import issue_token
from schema import build_schema, schema
from schema.negotiation import GRAPHQL_RESPONSE, JSON
from schema.prepared import KNOWN_EXTENSIONS, PreparedOperations
from schema.relay import to_global_id
from server import PreparedRequests, TongxinGraphQL
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { id status createdAt __typename } }"
POSITION = "mutation S($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }"
FULL = ("mutation S($id: ID!) { signUp(activityId: $id) "
        "{ id status createdAt waitlistPosition offerExpiresAt } }")
TWO_OPERATIONS = ("query Q { me { id } } "
                  "mutation M($id: ID!) { signUp(activityId: $id) { s: status } }")


class Counting:
    """The general path behind PreparedRequests, counting what reaches it."""

    def __init__(self, app: TongxinGraphQL) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture(params=[True, False], ids=["compiled", "graphql-core"])
def compiled(request):
    """Prepared plans run compiled (schema/compiled.py) or through graphql-core's executor."""
    prepared = schema.prepared
    prepared.compile = request.param
    prepared._plans.clear()
    yield request.param
    prepared.compile = True
    prepared._plans.clear()


@pytest.fixture
def paths(db, compiled):
    general = TongxinGraphQL(schema)
    behind = Counting(general)
    prepared = PreparedRequests(behind, graphql_app=general)

    async def both(body: dict, token: str | None = None, prepared_first: bool = False,
                   accept: str = "*/*"):
        """(prepared response, general response, whether the prepared path answered), the
        general path asked first unless `prepared_first`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["Accept"] = accept
        answers = {}
        for name in (("prepared", "general") if prepared_first else ("general", "prepared")):
            app = prepared if name == "prepared" else general
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                before = behind.calls
                response = await client.post("/graphql", content=json.dumps(body),
                                             headers={"content-type": "application/json",
                                                      **headers})
                answers[name] = (response, behind.calls == before)
        return answers["prepared"][0], answers["general"][0], answers["prepared"][1]

    return both


def _same(first: httpx.Response, second: httpx.Response) -> None:
    assert first.status_code == second.status_code
    assert first.headers.raw == second.headers.raw
    assert first.content == second.content


async def _activity(capacity: int = 5, waitlist_limit: int | None = None, **extra):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    return admin, team, await make_activity(team, admin, capacity=capacity,
                                            waitlist_limit=waitlist_limit, **extra)


async def test_repeats_and_refusals_are_answered_identically(db, paths):
    # given: every outcome a sign-up can have that changes nothing
    admin, team, open_one = await _activity(capacity=1, waitlist_limit=1)
    confirmed, waitlisted = await make_volunteer("一号"), await make_volunteer("二号")
    gid = to_global_id("Activity", open_one.id)
    for person in (confirmed, waitlisted):
        await paths({"query": SIGN_UP, "variables": {"id": gid}}, issue_token(person.id))
    busy = await make_volunteer("忙碌")
    overlapping = await make_activity(team, admin, capacity=5,
                                      starts_in=timedelta(days=3, hours=1))
    await paths({"query": SIGN_UP, "variables": {"id": to_global_id("Activity", overlapping.id)}},
                issue_token(busy.id))
    draft = await make_activity(team, admin, status=ActivityStatus.DRAFT)
    suspended = await make_volunteer(status=VolunteerStatus.SUSPENDED)
    late = await make_volunteer("迟到")
    cases = [
        ("repeat, confirmed", {"query": SIGN_UP, "variables": {"id": gid}}, confirmed),
        ("repeat, waitlisted, position", {"query": POSITION, "variables": {"id": gid}}, waitlisted),
        ("aliases and a literal", {"query": f'mutation {{ mine: signUp(activityId: "{gid}") '
                                            "{ s: status id } }"}, confirmed),
        ("operation chosen by name", {"query": TWO_OPERATIONS, "operationName": "M",
                                      "variables": {"id": gid}}, confirmed),
        ("full", {"query": SIGN_UP, "variables": {"id": gid}}, late),
        ("overlap first", {"query": SIGN_UP, "variables": {"id": gid}}, busy),
        ("suspended", {"query": SIGN_UP, "variables": {"id": gid}}, suspended),
        ("draft", {"query": SIGN_UP, "variables": {"id": to_global_id("Activity", draft.id)}},
         late),
        ("no such activity", {"query": SIGN_UP,
                              "variables": {"id": to_global_id("Activity", 10**9)}}, late),
        ("not an activity id", {"query": SIGN_UP, "variables": {"id": "garbage"}}, late),
        ("an id as a number", {"query": SIGN_UP, "variables": {"id": 5}}, late),
        ("anonymous", {"query": SIGN_UP, "variables": {"id": gid}}, None),
    ]
    for name, body, person in cases:
        # when
        prepared, general, took_prepared = await paths(
            body, issue_token(person.id) if person else None)
        # then
        assert took_prepared, name
        _same(prepared, general)
    assert await SignUp.filter(activity_id=open_one.id).count() == 2


async def test_both_media_types_are_answered_alike(db, paths):
    # given: a volunteer already signed up (the answer repeats whichever path gives it)
    _, _, activity = await _activity()
    person = await make_volunteer("媒体")
    body = {"query": SIGN_UP, "variables": {"id": to_global_id("Activity", activity.id)}}
    await paths(body, issue_token(person.id))
    for accept in (GRAPHQL_RESPONSE, JSON, f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"):
        # when
        prepared, general, took_prepared = await paths(body, issue_token(person.id),
                                                       accept=accept)
        # then
        assert took_prepared, accept
        _same(prepared, general)
        assert prepared.status_code == 200
        assert prepared.headers["content-type"] == accept.split(",")[0]


async def test_first_sign_ups_answer_alike_and_count_once(db, paths):
    # given: four people, alternately the general and the prepared path signing up first
    _, _, activity = await _activity(capacity=2, waitlist_limit=2)
    people = [await make_volunteer(f"志愿者{i}") for i in range(4)]
    gid = to_global_id("Activity", activity.id)
    answers = []
    for index, person in enumerate(people):
        # when: the first answer signs up, the other path's is the idempotent repeat
        prepared, general, took_prepared = await paths(
            {"query": FULL, "variables": {"id": gid}}, issue_token(person.id),
            prepared_first=index % 2 == 1)
        # then: the same sign-up, byte for byte, whichever path created it
        assert took_prepared
        _same(prepared, general)
        answers.append(prepared.json()["data"]["signUp"])
    # and arrival order decides, whichever path took the request
    assert [(a["status"], a["waitlistPosition"]) for a in answers] == [
        ("CONFIRMED", None), ("CONFIRMED", None), ("WAITLISTED", 1), ("WAITLISTED", 2)]
    await activity.refresh_from_db()
    assert (activity.taken_count, activity.waitlist_count) == (2, 2)
    assert await SignUp.filter(activity_id=activity.id).count() == 4


async def test_what_prepared_requests_do_not_cover_reaches_the_general_path(db, paths):
    # given
    _, _, activity = await _activity()
    person = await make_volunteer()
    gid = to_global_id("Activity", activity.id)
    gone = await make_volunteer()
    await gone.delete()
    cases = [
        ("a missing variable", {"query": SIGN_UP, "variables": {}}, person),
        ("a variable of the wrong type", {"query": SIGN_UP, "variables": {"id": [1]}}, person),
        ("an input past its bound", {"query": SIGN_UP, "variables": {"id": "x" * 5000}}, person),
        ("a nested object", {"query": "mutation S($id: ID!) { signUp(activityId: $id) "
                                      "{ activity { title } } }", "variables": {"id": gid}},
         person),
        ("a document that does not validate", {"query": "mutation { signUp { status } }"},
         person),
        ("a query the read compiler does not answer",
         {"query": "{ me { id pointsStatement(first: 1) { totalCount } } }"}, person),
        ("extensions", {"query": SIGN_UP, "variables": {"id": gid}, "extensions": {"a": 1}},
         person),
        ("a bad token", {"query": SIGN_UP, "variables": {"id": gid}}, "not-a-token"),
    ]
    for name, body, who in cases:
        token = who if isinstance(who, str) else issue_token(who.id)
        # when
        prepared, general, took_prepared = await paths(body, token)
        # then
        assert not took_prepared, name
        _same(prepared, general)
    # and a valid token of an account that is gone: prepared, but 401 like the general path
    prepared, general, took_prepared = await paths(
        {"query": SIGN_UP, "variables": {"id": gid}}, issue_token(gone.id))
    assert took_prepared and prepared.status_code == 401
    _same(prepared, general)
    signed_up = await SignUp.filter(activity_id=activity.id).values_list("volunteer_id", flat=True)
    assert list(signed_up) == [person.id]  # by the nested-object case; nobody else


def test_the_production_schema_is_prepared_and_every_extension_is_accounted_for():
    # A new schema extension must be reviewed for its per-request effect on prepared
    # operations (then listed in KNOWN_EXTENSIONS): until then preparing is off.
    names = {type(extension).__name__ for extension in schema.get_extensions()}
    assert names <= KNOWN_EXTENSIONS and schema.prepared.enabled
    assert build_schema(introspection=False).prepared.enabled

    class Audit(SchemaExtension):
        def on_execute(self):
            yield

    extended = build_schema()
    extended.extensions = [*extended.extensions, Audit]
    assert not PreparedOperations(extended, max_tokens=2000, rules=[]).enabled


def test_documents_are_prepared_once_token_only_and_compiled_reads():
    prepared = schema.prepared
    plan = prepared.plan(SIGN_UP, None)
    assert plan is not None and prepared.plan(SIGN_UP, None) is plan
    assert plan.compiled is not None  # the hot document skips graphql-core's executor
    assert [leaf.key for leaf in plan.compiled.leaves] == ["id", "status", "createdAt",
                                                           "__typename"]
    assert prepared.plan("{ me { id pointsStatement(first: 1) { totalCount } } }", None) is None
    read = prepared.plan("{ me { id } }", None)  # every root field compiled: schema/reads
    assert read is not None and read.reads is not None
    too_long = "mutation { signUp(activityId: 1) { " + " ".join(
        f"a{i}: status" for i in range(1000)) + " } }"  # past the token limit
    assert prepared.plan(too_long, None) is None


async def test_a_document_the_prepared_path_hands_on_is_validated_once(db, paths, monkeypatch):
    # given graphql-core's validation, counted wherever either path calls it ...
    import strawberry.schema.schema as general_path

    import schema.prepared as prepared_path

    validations: list[str] = []

    def counted(schema_, document, rules, *args, **kwargs):
        validations.append(document.loc.source.body)
        return validate(schema_, document, rules, *args, **kwargs)

    monkeypatch.setattr(general_path, "validate", counted)
    monkeypatch.setattr(prepared_path, "validate", counted, raising=False)
    # ... and documents this process has never seen, each answered by the general path: an
    # invalid one, and a valid one whose variables are not (the general path words that)
    volunteer = await make_volunteer("新人")
    fresh = uuid.uuid4().hex
    invalid = {"query": f"query Invalid{fresh} {{ me {{ noSuchField }} }}"}
    general_only = {"query": f"query General{fresh}($id: ID!) {{ activity(id: $id) {{ id }} }}"}
    for body in (invalid, general_only):
        # when the prepared path looks at it first and hands it on
        prepared, _, answered = await paths(body, issue_token(volunteer.id), prepared_first=True)
        # then graphql-core validated it once: the general path found the fast path's result
        assert not answered, prepared.text
        assert validations.count(body["query"]) == 1, validations
        assert prepared.status_code == 200, prepared.text
        assert prepared.json()["errors"], prepared.text
