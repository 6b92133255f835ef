"""Schema-driven hostile operations: hypothesis-graphql builds valid (or, in negative mode,
almost valid) operations from the live schema; every argument is then moved into a variable
and its value may be swapped for a hostile one (NUL, lone surrogates, RTL overrides, emoji,
huge strings, out-of-range numbers, global IDs of the wrong type, oversized lists)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import graphql
import httpx
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse_type,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import Mode, from_schema

Draw = Callable[[st.SearchStrategy[Any]], Any]

EXAMPLES_PER_FIELD = int(os.environ.get("FUZZ_EXAMPLES_PER_FIELD", "4"))

HOSTILE_TEXT = [
    "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202eevil\u202c", "\u200f\u200e", "👩‍👩‍👧‍👦" * 20,
    "\x1b[31mred", "\x7f", "\u0085", "\t", "line\nbreak", "\r\n", "", " ", "　",
    "' OR 1=1 --", "%", "_%_", "\\", "<script>alert(1)</script>", "Robert'); DROP TABLE volunteer;--",
    "长" * 51, "长" * 201, "x" * 20_001, "y" * 300_000,
]
HOSTILE_IDS = ["", "Zm9v", "Vm9sdW50ZWVyOi0x", "QWN0aXZpdHk6OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
               "QWN0aXZpdHk6", "VGVhbTox" * 40, "Tm9ub3BlOjE="]
HOSTILE_INTS = [0, -1, -(2**31), 2**31 - 1, 101, 10_001, 2**53]
HOSTILE_DATETIMES = ["2026-13-45T00:00:00Z", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+14:00",
                     "2026-12-03T10:00:00", "yesterday", "2026-12-03T10:00:00+25:00", ""]
HOSTILE_LIST_SIZES = [0, 21, 101, 10_001]


def datetime_literals() -> st.SearchStrategy[graphql.StringValueNode]:
    now = datetime.now(UTC).replace(microsecond=0)
    return st.integers(min_value=-48, max_value=24 * 60).map(
        lambda hours: graphql.StringValueNode(value=(now + timedelta(hours=hours)).isoformat()))


def hostile_value(value: Any, type_: GraphQLInputType, draw: Draw, id_pool: list[str]) -> Any:
    """`value` (plain JSON) for `type_`, or a hostile replacement for it or for its parts."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else ([] if value is None else [value])
        if items and draw(st.integers(0, 5)) == 0:
            items = items[:1] * draw(st.sampled_from(HOSTILE_LIST_SIZES))
        return [hostile_value(item, type_.of_type, draw, id_pool) for item in items[:25]] + items[25:]
    if value is None:
        return None
    if isinstance(type_, GraphQLInputObjectType):
        if not isinstance(value, dict):
            return value
        return {key: hostile_value(item, type_.fields[key].type, draw, id_pool) if key in type_.fields
                else item for key, item in value.items()}
    if draw(st.booleans()):  # keep the generated, usually well-formed value
        return value
    if isinstance(type_, GraphQLEnumType):
        return draw(st.sampled_from([value, "NOT_A_VALUE", ""]))
    name = type_.name
    if name == "ID":
        return draw(st.sampled_from(id_pool + HOSTILE_IDS))
    if name == "String":
        return draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40)))
    if name == "Int":
        return draw(st.sampled_from(HOSTILE_INTS))
    if name == "Float":
        return draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-1e308, 1e308])))
    if name == "DateTime":
        return draw(st.sampled_from(HOSTILE_DATETIMES))
    return value


def with_variables(schema: GraphQLSchema, document: DocumentNode, draw: Draw,
                   id_pool: list[str]) -> tuple[str, dict[str, Any]]:
    """Moves every field argument into a variable of the argument's type (so values no
    literal can carry, like lone surrogates, reach the server) and makes them hostile."""
    type_info = TypeInfo(schema)
    counter = itertools.count()
    definitions: list[VariableDefinitionNode] = []
    variables: dict[str, Any] = {}

    class Variables(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None or type_info.get_directive() is not None:
                return None
            name = f"v{next(counter)}"
            variable = VariableNode(name=NameNode(value=name))
            variables[name] = hostile_value(value_from_ast_untyped(node.value), argument.type, draw, id_pool)
            definitions.append(VariableDefinitionNode(variable=variable, type=parse_type(str(argument.type)),
                                                      directives=()))
            return ArgumentNode(name=node.name, value=variable)

        def leave_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> OperationDefinitionNode:
            return OperationDefinitionNode(
                operation=node.operation, name=node.name, directives=node.directives,
                selection_set=node.selection_set,
                variable_definitions=(*(node.variable_definitions or ()), *definitions))

    rewritten = visit(document, TypeInfoVisitor(type_info, Variables()))
    return print_ast(rewritten), variables


def fields_of(schema: GraphQLSchema, query: str) -> set[str]:
    """Schema coordinates (Type.field) that a document selects."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        return set()
    type_info = TypeInfo(schema)
    seen: set[str] = set()

    class Fields(Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            if isinstance(parent, GraphQLObjectType) and node.name.value in parent.fields:
                seen.add(f"{parent.name}.{node.name.value}")

    visit(document, TypeInfoVisitor(type_info, Fields()))
    return seen


def all_fields(schema: GraphQLSchema) -> set[str]:
    """Every field of every object type clients can query (subscriptions go over WebSocket
    and are fuzzed there, not here)."""
    return {f"{name}.{field_name}" for name, type_ in schema.type_map.items()
            if isinstance(type_, GraphQLObjectType) and not name.startswith("__")
            and type_ is not schema.subscription_type for field_name in type_.fields}


def response_problem(response: httpx.Response) -> str | None:
    """What is wrong with an answer to a hostile request, or None."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code is None:
            return f"error without a code: {error.get('message')!r}"
        if code == "INTERNAL":
            return f"INTERNAL error (request {error['extensions'].get('requestId')})"
    return None


@dataclass
class FuzzReport:
    operations: int = 0
    covered: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def summary(self, backend: str, total: set[str]) -> str:
        missing = sorted(total - self.covered)
        return (f"fuzz[{backend}]: {self.operations} operations, {len(self.covered & total)}/{len(total)} "
                f"fields covered, {len(self.failures)} failures"
                + (f"; not covered: {', '.join(missing[:40])}{' …' if len(missing) > 40 else ''}"
                   if missing else ""))


def fuzz_root_field(schema: GraphQLSchema, root_field: str, *, mode: Mode, examples: int,
                    send: Callable[[str, dict[str, Any], str], httpx.Response], roles: list[str],
                    id_pool: list[str], report: FuzzReport) -> None:
    """Runs `examples` hostile operations on one root field; records coverage and failures."""
    strategy = from_schema(schema, fields=[root_field], mode=mode, print_ast=lambda node: node,
                           custom_scalars={"DateTime": datetime_literals()})

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(document=strategy, data=st.data())
    def run(document: DocumentNode, data: st.DataObject) -> None:
        query, variables = with_variables(schema, document, data.draw, id_pool)
        role = data.draw(st.sampled_from(roles))
        response = send(query, variables, role)
        report.operations += 1
        report.covered |= fields_of(schema, query)
        problem = response_problem(response)
        if problem is not None:
            shown = {key: (value[:80] + "…" if isinstance(value, str) and len(value) > 80 else value)
                     for key, value in variables.items()}
            report.failures.append(f"{root_field} as {role}: {problem}\n  {query}\n  {shown!r}"[:3000])

    try:
        run()
    except InvalidArgument:
        if mode is not Mode.NEGATIVE:
            raise  # a field without arguments has nothing to make invalid; anything else is a bug
