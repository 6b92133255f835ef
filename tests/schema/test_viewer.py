"""Deferred viewers (resolvers/auth.py) and token-only operations (schema/viewer.py)."""

from __future__ import annotations

import pytest
from graphql import get_named_type, is_leaf_type, parse

from models.activity import SignUp, SignUpStatus
from models.volunteer import VolunteerStatus
from resolvers.auth import Viewer, ViewerNotLoaded, deferred_viewer, issue_token
from resolvers.errors import Unauthenticated
from resolvers.signup import do_sign_up
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from schema.viewer import TOKEN_ONLY, token_only
from tests.activity.factory import make_activity
from tests.helpers import count_statements, make_team, make_volunteer

SIGN_UP_STATUS = "mutation S($id: ID!) { signUp(activityId: $id) { id status waitlistPosition } }"
SIGN_UP_NESTED = "mutation S($id: ID!) { signUp(activityId: $id) { status activity { title } } }"


@pytest.mark.parametrize(("document", "operation", "expected"), [
    (SIGN_UP_STATUS, None, True),
    ("mutation { a: signUp(activityId: 1) { status } b: signUp(activityId: 2) { __typename } }",
     None, True),
    (SIGN_UP_NESTED, None, False),  # the activity's fields may depend on the viewer
    ("mutation { signUp(activityId: 1) { ... on SignUp { status } } }", None, False),
    ("fragment F on SignUp { status } mutation { signUp(activityId: 1) { ...F } }", None, False),
    ("mutation { signUp(activityId: 1) { status } cancelSignUp(activityId: 2) { status } }",
     None, False),
    ("query { me { id } }", None, False),
    ("query Q { me { id } } mutation M { signUp(activityId: 1) { status } }", "M", True),
    ("query Q { me { id } } mutation M { signUp(activityId: 1) { status } }", "Q", False),
    ("query Q { me { id } } mutation M { signUp(activityId: 1) { status } }", None, False),
])
def test_which_operations_run_on_the_token_alone(document, operation, expected):
    assert token_only(parse(document), operation) is expected


async def test_a_deferred_viewer_refuses_to_answer_before_it_is_loaded(db):
    # given
    person = await make_volunteer("赵敏")
    viewer = deferred_viewer(issue_token(person.id))
    # then: never taken for anonymous
    assert not viewer.loaded and viewer.claimed_id == person.id
    for read in (lambda: viewer.volunteer, lambda: viewer.id, lambda: viewer.is_platform_admin,
                 viewer.require):
        with pytest.raises(ViewerNotLoaded):
            read()
    # when
    await viewer.load()
    await viewer.load()  # once is enough; again is harmless
    # then
    assert viewer.loaded and viewer.id == person.id and viewer.require().real_name == "赵敏"
    assert deferred_viewer(None).volunteer is None  # no token: anonymous, nothing to load


@pytest.mark.parametrize("status", [None, VolunteerStatus.PENDING_CONSENT])
async def test_a_valid_token_of_an_account_gone_or_unconsented_fails_to_load(db, status):
    if status is None:
        person = await make_volunteer()
        subject = person.id
        await person.delete()
    else:
        subject = (await make_volunteer(status=status)).id
    viewer = deferred_viewer(issue_token(subject))
    with pytest.raises(Unauthenticated):
        await viewer.load()
    assert isinstance(viewer.load_failure, Unauthenticated)


async def _open_activity():
    admin = await make_volunteer("队长")
    return await make_activity(await make_team(admin), admin, capacity=1, waitlist_limit=1)


async def _run(document: str, viewer: Viewer, activity_id: int) -> tuple[dict, list[str]]:
    with count_statements() as statements:
        result = await schema.execute(document, {"id": to_global_id("Activity", activity_id)},
                                      context_value=Context(viewer=viewer))
    assert not result.errors, result.errors
    return result.data, statements


async def test_sign_up_selecting_only_its_own_leaves_reads_no_account_on_postgres(db):
    # given
    activity = await _open_activity()
    first, second = await make_volunteer("一号"), await make_volunteer("二号")
    # when
    data, statements = await _run(SIGN_UP_STATUS, deferred_viewer(issue_token(first.id)),
                                  activity.id)
    nested, nested_statements = await _run(SIGN_UP_NESTED, deferred_viewer(
        issue_token(second.id)), activity.id)
    # then: the outcomes are those of a loaded viewer
    assert data["signUp"]["status"] == "CONFIRMED"
    assert data["signUp"]["waitlistPosition"] is None
    assert nested["signUp"] == {"status": "WAITLISTED", "activity": {"title": activity.title}}
    reads_account = [s for s in statements if 'FROM "volunteer"' in s]
    if db.postgres:  # one round trip: SIGN_UP_FUNCTION checks the account itself
        assert len(statements) == 1 and not reads_account, statements
    else:  # SQLite has no one-statement path: the viewer is loaded first
        assert reads_account, statements
    assert any('FROM "volunteer"' in s for s in nested_statements), nested_statements


async def test_a_suspended_account_cannot_sign_up_on_the_token_only_path(db):
    # given
    activity = await _open_activity()
    person = await make_volunteer(status=VolunteerStatus.SUSPENDED)
    # when
    result = await schema.execute(SIGN_UP_STATUS, {"id": to_global_id("Activity", activity.id)},
                                  context_value=Context(viewer=deferred_viewer(
                                      issue_token(person.id))))
    # then
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert not await SignUp.filter(volunteer_id=person.id).exists()


async def test_do_sign_up_with_a_deferred_viewer_is_idempotent(db):
    # given
    activity = await _open_activity()
    person = await make_volunteer()
    # when: the same person twice, each time with a fresh deferred viewer
    first = await do_sign_up(deferred_viewer(issue_token(person.id)), activity.id)
    again = await do_sign_up(deferred_viewer(issue_token(person.id)), activity.id)
    # then
    assert first.id == again.id and again.status == SignUpStatus.CONFIRMED
    assert await SignUp.filter(activity_id=activity.id).count() == 1


def test_a_verified_token_is_remembered_but_its_expiry_still_applies(monkeypatch):
    import time as clock

    import jwt

    from core.settings import get_settings
    from resolvers import auth

    now = clock.time()
    token = jwt.encode({"sub": "42", "exp": int(now) + 60}, get_settings().jwt_secret,
                       algorithm="HS256")
    forged = jwt.encode({"sub": "42", "exp": int(now) + 60}, "not-our-secret-" * 3,
                        algorithm="HS256")
    assert auth.token_subject(token) == 42
    assert token in auth._VERIFIED  # the second use skips the signature check...
    assert auth.token_subject(token) == 42
    assert auth.token_subject(forged) is None and forged not in auth._VERIFIED
    # ...but not the expiry
    monkeypatch.setattr(auth.time, "time", lambda: now + 120)
    assert auth.token_subject(token) is None
    assert token not in auth._VERIFIED


def test_the_token_only_list_names_exactly_the_leaves_of_what_each_field_returns():
    # given: every root field listed, and the type it returns in the schema
    mutations = schema._schema.mutation_type.fields  # type: ignore[attr-defined]
    for root, listed in TOKEN_ONLY.items():
        returned = get_named_type(mutations[root].type)
        # when
        leaves = {name for name, field in returned.fields.items()
                  if is_leaf_type(get_named_type(field.type))}
        # then: no leaf is missing (it would load the viewer for nothing) and no object or
        # unknown name is listed (nested objects may depend on the viewer)
        assert listed == leaves | {"__typename"}, root
