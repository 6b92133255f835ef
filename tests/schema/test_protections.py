"""Production protections: limits, error masking, caches, introspection switch."""

import logging

from strawberry.extensions import ParserCache, ValidationCache

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
    fresh = build_schema()
    query = "query Cached { teams(first: 3) { totalCount } }"
    # when the same query is executed three times
    for _ in range(3):
        result = await fresh.execute(query)
        assert not result.errors
    # then it was validated once
    assert len(calls) == 1
