"""Production protections: limits, error masking, caches, introspection switch."""

import logging

import asyncpg
import pytest
from strawberry.extensions import ParserCache, ValidationCache
from tortoise.exceptions import OperationalError, TransactionManagementError

from db.unreachable import database_unreachable
from resolvers import volunteer as volunteer_rules
from schema import MAX_ALIASES, MAX_DEPTH, build_schema, schema
from tests.helpers import execute, make_volunteer


def nested_query(depth: int) -> str:
    # me -> teams -> edges -> node -> parent -> parent ... grows one level per parent
    inner = "name"
    for _ in range(depth):
        inner = f"parent {{ {inner} }}"
    return f"{{ teams {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_depth_over_the_limit_is_too_complex():
    result = await execute(nested_query(MAX_DEPTH))
    assert result.codes == ["QUERY_TOO_COMPLEX"]
    assert result.data is None


async def test_depth_within_the_limit_is_accepted(db):
    result = await execute(nested_query(MAX_DEPTH - 4))
    assert result.errors == []


async def test_too_many_aliases_is_too_complex():
    aliases = " ".join(f"a{i}: me {{ displayName }}" for i in range(MAX_ALIASES + 1))
    result = await execute(f"{{ {aliases} }}")
    assert result.codes == ["QUERY_TOO_COMPLEX"]


async def test_aliases_hidden_in_fragments_still_count():
    aliases = " ".join(f"a{i}: me {{ displayName }}" for i in range(MAX_ALIASES + 1))
    result = await execute(f"query {{ ...F }} fragment F on Query {{ {aliases} }}")
    assert result.codes == ["QUERY_TOO_COMPLEX"]


async def test_too_many_tokens_is_too_complex():
    fields = " ".join("__typename" for _ in range(2100))
    result = await execute(f"{{ {fields} }}")
    assert result.codes == ["QUERY_TOO_COMPLEX"]


async def test_syntax_errors_are_bad_user_input():
    result = await execute("{ me { ")
    assert result.codes == ["BAD_USER_INPUT"]


async def test_unexpected_exceptions_are_masked_and_logged_with_a_request_id(db, monkeypatch, caplog):
    # given a rule that fails with a message that must not reach the client
    async def broken(*args, **kwargs):
        raise RuntimeError('SELECT * FROM "volunteer" WHERE phone = 13800000000')

    monkeypatch.setattr(volunteer_rules, "search_volunteers", broken)
    admin = await make_volunteer(platform_admin=True)
    # when
    with caplog.at_level(logging.ERROR, logger="tongxin.errors"):
        result = await execute("{ volunteers { totalCount } }", as_=admin)
    # then
    error = result.errors[0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["message"] == "Internal server error."
    assert "SELECT" not in str(result.errors)
    request_id = error["extensions"]["requestId"]
    assert any(request_id in record.getMessage() for record in caplog.records)


DRAFT = 'mutation { saveDraft(key: "k", body: "b") }'


@pytest.mark.postgres
async def test_a_lost_database_connection_is_unavailable_and_logged_in_one_line(
        db, monkeypatch, caplog):
    # given: PostgreSQL restarting under every statement (a connection cut mid-operation)
    admin = await make_volunteer(platform_admin=True)

    async def cut(*args, **kwargs):
        raise asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation")

    for method in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        monkeypatch.setattr(asyncpg.connection.Connection, method, cut)
    # when a read and a write are answered
    with caplog.at_level(logging.WARNING, logger="tongxin.errors"):
        read = await execute("{ volunteers { totalCount } }", as_=admin)
        write = await execute(DRAFT, as_=admin)
    # then: a retryable code with the request id, not INTERNAL
    for result in (read, write):
        assert result.codes == ["UNAVAILABLE"], result.errors
        assert result.errors[0]["extensions"]["requestId"]
        assert result.errors[0]["message"].startswith("The database could not be reached")
    # and one warning line each, no traceback and no ERROR
    lines = [r for r in caplog.records if r.name == "tongxin.errors"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.WARNING], lines
    assert all(r.exc_info is None and "ConnectionDoesNotExistError" in r.getMessage()
               for r in lines)


def _raised_from(cause: BaseException, wrapper: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as error:
            raise wrapper from error
    except BaseException as error:
        return error


def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise second  # noqa: B904 - implicitly from `first`, as a failed rollback is
    except BaseException as error:
        return error


def test_which_errors_mean_the_database_could_not_be_reached():
    lost = [
        asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        _raised_from(asyncpg.exceptions.ConnectionDoesNotExistError("x"), OperationalError("x")),
        _raised_while_handling(asyncpg.exceptions.AdminShutdownError("x"),
                               TransactionManagementError("rollback failed")),
    ]
    answered = [
        asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        OperationalError("database is locked"),
        TimeoutError(),
        RuntimeError("boom"),
        None,
    ]
    assert [database_unreachable(error) for error in lost] == [True] * len(lost)
    assert [database_unreachable(error) for error in answered] == [False] * len(answered)


def test_parser_and_validation_caches_are_on():
    kinds = {getattr(e, "func", e) for e in schema.extensions}
    assert ParserCache in kinds and ValidationCache in kinds


async def test_introspection_can_be_disabled():
    closed = build_schema(introspection=False)
    result = await closed.execute("{ __schema { types { name } } }")
    assert result.errors


def test_every_field_is_documented():
    from graphql import GraphQLInterfaceType, GraphQLObjectType

    undocumented = [
        f"{name}.{field}"
        for name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType) and not name.startswith("__")
        for field, spec in graphql_type.fields.items()
        if not spec.description
    ]
    assert undocumented == [], f"fields without description: {undocumented}"


async def test_validation_is_cached_across_requests(db, monkeypatch):
    # given the production schema's validation entry point, counted
    import strawberry.schema.schema as strawberry_schema

    from schema import build_schema

    calls = []
    original = strawberry_schema.validate_document
    monkeypatch.setattr(strawberry_schema, "validate_document",
                        lambda *args: calls.append(1) or original(*args))
    from strawberry.extensions import validation_cache

    validation_cache._get_validate_cache.cache_clear()
    try:
        fresh = build_schema()
        query = "query Cached { teams(first: 3) { totalCount } }"
        # when the same query is executed three times
        for _ in range(3):
            result = await fresh.execute(query)
            assert not result.errors
        # then it was validated once
        assert len(calls) == 1
    finally:  # the next cache wraps strawberry's own function again, not this test's counter
        validation_cache._get_validate_cache.cache_clear()
