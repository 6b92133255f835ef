"""With introspection off, no error message names anything of the schema that the caller's
document did not (schema/concealment.py); with it on, graphql-core's suggestions stay.

The probes are generated from the schema itself: every root field is called with a misspelt
name, a misspelt and an unknown argument, no arguments, bad literals and bad variables for
each of its arguments, a missing or unknown sub-selection, and every type name is misspelt,
so a field or type added later is probed too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_composite_type,
    is_required_input_field,
    specified_scalar_types,
)

from resolvers.auth import Viewer
from schema import build_schema
from schema.context import Context
from schema.errors import CodedSchema
from tests.helpers import execute, make_volunteer

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
PER_DOCUMENT = 20
Probe = tuple[str, dict[str, Any] | None]


@pytest.fixture(scope="module")
def concealed() -> CodedSchema:
    return build_schema(introspection=False)


def schema_names(schema: GraphQLSchema) -> tuple[set[str], set[str]]:
    """(type names, names of fields, arguments, input fields and enum values)."""
    types = {name for name in schema.type_map
             if not name.startswith("__") and name not in specified_scalar_types}
    members: set[str] = set()
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            members.update(named.fields)
            members.update(arg for field in named.fields.values() for arg in field.args)
        elif isinstance(named, GraphQLInputObjectType):
            members.update(named.fields)
        elif isinstance(named, GraphQLEnumType):
            members.update(named.values)
    return types, members


def selection(field: GraphQLField) -> str:
    return " { __typename }" if is_composite_type(get_named_type(field.type)) else ""


def bad_literals(named: GraphQLNamedType) -> list[str]:
    """Near misses (which draw suggestions) and plain wrong values for an argument's type."""
    if isinstance(named, GraphQLEnumType):
        return [next(iter(named.values))[:-1], "NO_SUCH_VALUE"]
    if isinstance(named, GraphQLInputObjectType):
        return [*(["{}"] if has_required_field(named) else []),
                f"{{ {next(iter(named.fields))}x: 1 }}"]
    return ["{ x: 1 }"]


def bad_variables(named: GraphQLNamedType) -> list[Any]:
    if isinstance(named, GraphQLEnumType):
        return [next(iter(named.values))[:-1]]
    if isinstance(named, GraphQLInputObjectType):
        return [*([{}] if has_required_field(named) else []),
                {f"{next(iter(named.fields))}x": 1}, "text"]
    return [{"x": 1}]


def has_required_field(named: GraphQLInputObjectType) -> bool:
    return any(is_required_input_field(field) for field in named.fields.values())


@dataclass
class Part:
    """One faulty selection of a probe document, with the variables it declares and sends."""

    selection: str
    definitions: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)


def field_parts(name: str, spec: GraphQLField, key: str) -> Iterator[tuple[str, Part]]:
    """(kind, part) for one root field; `key` makes response names and variables unique."""
    sub = selection(spec)
    yield "misspelt field", Part(f"{key}: {name[:-1]}{sub}")
    yield "unknown arguments", Part(f"{key}: {name}(nosuch: 1, {name}x: 1){sub}")
    if sub:
        yield "no selection", Part(f"{key}: {name}")
        yield "unknown subfields", Part(f"{key}: {name} {{ nosuch {name}x }}")
    for index, (arg_name, arg) in enumerate(spec.args.items()):
        named = get_named_type(arg.type)
        yield "misspelt argument", Part(f"{key}_{index}: {name}({arg_name[:-1]}: 1){sub}")
        for round_, literal in enumerate(bad_literals(named)):
            yield f"bad literal {round_}", Part(f"{key}_{index}: {name}({arg_name}: {literal}){sub}")
        wrong = "Boolean" if named.name != "Boolean" else "Int"
        yield "variable of a wrong type", Part(f"{key}_{index}: {name}({arg_name}: ${key}_{index}){sub}",
                                               [f"${key}_{index}: {wrong}"], {f"{key}_{index}": True})
    # Variable values are checked only in a document that validates: every argument is given
    # as a variable of its own type, and each round sends one kind of wrong value.
    arguments = list(spec.args.items())
    if arguments:
        rounds = max(len(bad_variables(get_named_type(arg.type))) for _, arg in arguments)
        for round_ in range(rounds):
            values = {}
            for index, (_, arg) in enumerate(arguments):
                candidates = bad_variables(get_named_type(arg.type))
                if round_ < len(candidates):
                    values[f"{key}_{index}"] = candidates[round_]
            given = ", ".join(f"{arg_name}: ${key}_{index}" for index, (arg_name, _) in enumerate(arguments))
            yield f"bad variables {round_}", Part(
                f"{key}: {name}({given}){sub}",
                [f"${key}_{index}: {arg.type}" for index, (_, arg) in enumerate(arguments)], values)


def probes(schema: GraphQLSchema) -> Iterator[Probe]:
    """Documents of up to PER_DOCUMENT parts of one kind: graphql-core stops reporting at 100
    errors, and a subscription document validates only with a single root field."""
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type),
             ("subscription", schema.subscription_type)]
    for operation, root in roots:
        assert root is not None
        kinds: dict[str, list[Part]] = {}
        for number, (name, spec) in enumerate(root.fields.items()):
            for kind, part in field_parts(name, spec, f"f{number}"):
                kinds.setdefault(kind, []).append(part)
        size = 1 if operation == "subscription" else PER_DOCUMENT
        for parts in kinds.values():
            for start in range(0, len(parts), size):
                chunk = parts[start:start + size]
                definitions = [d for part in chunk for d in part.definitions]
                header = f"{operation} P({', '.join(definitions)})" if definitions else operation
                variables = {k: v for part in chunk for k, v in part.variables.items()}
                yield (f"{header} {{ {' '.join(part.selection for part in chunk)} }}",
                       variables or None)
    type_names = sorted(name for name in schema.type_map if not name.startswith("__"))
    for start in range(0, len(type_names), PER_DOCUMENT):
        names = type_names[start:start + PER_DOCUMENT]
        declared = ", ".join(f"$t{i}: {name[:-1]}" for i, name in enumerate(names))
        usages = " ".join(f"t{i}: __typename @skip(if: $t{i})" for i in range(len(names)))
        yield f"query Q({declared}) {{ {usages} }}", None  # unknown types
        spreads = " ".join(f"... on {name} {{ __typename }}" for name in names)
        yield f"{{ me {{ {spreads} }} }}", None  # fragments on unrelated types


async def run(schema: CodedSchema, document: str, variables: dict[str, Any] | None,
              viewer: Viewer) -> list[GraphQLError]:
    context = Context(viewer=viewer, client_address="127.0.0.1")
    if not document.startswith("subscription"):
        result = await schema.execute(document, variable_values=variables, context_value=context)
        return list(result.errors or [])
    result = await schema.subscribe(document, variable_values=variables, context_value=context)
    if hasattr(result, "__aiter__"):  # errors of a subscription that started come as an event
        stream = result
        try:
            result = await anext(stream)
        finally:
            await stream.aclose()
    return list(result.errors or [])


async def sweep(schema: CodedSchema, viewer: Viewer) -> list[str]:
    """Every message that discloses something the document did not contain."""
    types, members = schema_names(schema._schema)
    leaks = []
    for document, variables in probes(schema._schema):
        errors = await run(schema, document, variables, viewer)
        sent = set(NAME.findall(document))
        for error in errors:
            message = error.message
            named_types = {n for n in NAME.findall(message) if n in types} - sent
            quoted = {n for q in re.findall(r"'([^']*)'", message) for n in NAME.findall(q)
                      if n in members} - sent
            if "Did you mean" in message or named_types or quoted:
                leaks.append(f"{document[:100]}…  ->  {message}")
    return leaks


async def test_anonymous_callers_learn_no_schema_names_from_errors(db, concealed):
    # when every root field and type is probed with wrong documents, anonymously
    leaks = await sweep(concealed, Viewer(None))
    # then
    assert leaks == []


async def test_signed_in_callers_learn_no_schema_names_from_errors(db, concealed):
    # given
    volunteer = await make_volunteer()
    # when
    leaks = await sweep(concealed, Viewer(volunteer))
    # then
    assert leaks == []


CASES = [
    ("{ me { displayNam } }", None, "Cannot query field 'displayNam' on this type."),
    ("{ activities(frist: 1) { totalCount } }", None,
     "Unknown argument 'frist' on field 'activities'."),
    ("mutation { createTeam { id } }", None, "Field 'createTeam' is missing a required argument."),
    ('mutation { createTeam(input: {name: "x", type: EMERGENC, district: "d"}) { id } }', None,
     "Value 'EMERGENC' is not a value of this enum."),
    ("mutation M($i: TeamInput!) { createTeam(input: $i) { id } }",
     {"i": {"name": "x", "type": "EMERGENCY", "district": "d", "nam": 1}},
     "Variable '$i' has invalid value: Unknown input field 'nam'."),
    ("query Q($s: ActivityStatu) { activities(status: $s) { totalCount } }", None,
     "Unknown type 'ActivityStatu'."),
]


@pytest.mark.parametrize(("document", "variables", "message"), CASES)
async def test_concealed_messages_keep_the_callers_own_names(concealed, document, variables,
                                                             message):
    # when the same wrong document is sent twice (the second from the validation cache)
    context = Context(viewer=Viewer(None), client_address="127.0.0.1")
    first = await concealed.execute(document, variable_values=variables, context_value=context)
    again = await concealed.execute(document, variable_values=variables, context_value=context)
    # then
    assert message in [error.message for error in first.errors or []]
    assert [e.formatted for e in first.errors or []] == [e.formatted for e in again.errors or []]
    assert {error.extensions["code"] for error in first.errors or []} == {"BAD_USER_INPUT"}
    assert all(error.locations for error in first.errors or [])


@pytest.mark.parametrize("document", [
    "{ me { displayNam } }",  # field
    "{ activities(frist: 1) { totalCount } }",  # argument
    "{ activities(status: DRAF) { totalCount } }",  # enum value
    "query Q($s: ActivityStatu) { activities(status: $s) { totalCount } }",  # type
])
async def test_with_introspection_on_suggestions_stay_for_graphiql(document):
    # when (the production schema: introspection on unless DISABLE_INTROSPECTION=1)
    result = await execute(document)
    # then
    assert result.codes and set(result.codes) == {"BAD_USER_INPUT"}
    assert any("Did you mean" in error["message"] for error in result.errors)
