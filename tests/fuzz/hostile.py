"""Schema-driven hostile operations: hypothesis-graphql builds valid (or, in negative mode,
almost valid) operations from the live schema; every argument is then moved into a variable
and its value may be swapped for a hostile one (NUL, lone surrogates, RTL overrides, emoji,
huge strings, out-of-range numbers, global IDs of the wrong type, oversized lists)."""

from __future__ import annotations

import itertools
import json
import os
from collections import deque
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
    Undefined,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
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

EXAMPLES_PER_FIELD = int(os.environ.get("FUZZ_EXAMPLES_PER_FIELD", "1"))

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


def date_literals() -> st.SearchStrategy[graphql.StringValueNode]:
    today = datetime.now(UTC).date()
    return st.integers(min_value=-400, max_value=400).map(
        lambda days: graphql.StringValueNode(value=(today + timedelta(days=days)).isoformat()))


def custom_scalars(schema: GraphQLSchema) -> dict[str, st.SearchStrategy[Any]]:
    """Literals for every custom scalar: dates and times near today, other text as strings."""
    strategies: dict[str, st.SearchStrategy[Any]] = {"DateTime": datetime_literals(), "Date": date_literals()}
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    for name, type_ in schema.type_map.items():
        if isinstance(type_, graphql.GraphQLScalarType) and name not in builtin and name not in strategies:
            strategies[name] = st.text(max_size=20).map(lambda text: graphql.StringValueNode(value=text))
    return strategies


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
    if name in ("DateTime", "Date"):
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


def _reach(schema: GraphQLSchema) -> dict[str, list[tuple[GraphQLObjectType, str, GraphQLObjectType]]]:
    """For every object type a client can reach from Query or Mutation, the shortest chain of
    (parent type, field, concrete type) steps from a root to it."""
    reach: dict[str, list[tuple[GraphQLObjectType, str, GraphQLObjectType]]] = {}
    queue: deque[GraphQLObjectType] = deque()
    for root in (schema.query_type, schema.mutation_type):
        if root is not None:
            reach[root.name] = []
            queue.append(root)
    while queue:
        parent = queue.popleft()
        for field_name, field_def in parent.fields.items():
            named = get_named_type(field_def.type)
            if isinstance(named, GraphQLObjectType):
                concrete: list[GraphQLObjectType] = [named]
            elif is_abstract_type(named):
                concrete = list(schema.get_possible_types(named))  # type: ignore[arg-type]
            else:
                continue
            for target in concrete:
                if target.name not in reach:
                    reach[target.name] = [*reach[parent.name], (parent, field_name, target)]
                    queue.append(target)
    return reach


def all_fields(schema: GraphQLSchema) -> set[str]:
    """Every field of every object type reachable from Query or Mutation (types only a
    subscription returns go over WebSocket and are fuzzed there, not here)."""
    reach = _reach(schema)
    return {f"{name}.{field_name}" for name in reach for field_name in schema.type_map[name].fields}  # type: ignore[attr-defined]


def _plausible(type_: GraphQLInputType, name: str, ids: dict[str, str]) -> str:
    """A GraphQL literal of `type_` that a resolver might accept, for a required argument."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return f"[{_plausible(type_.of_type, name, ids)}]"
    if isinstance(type_, GraphQLInputObjectType):
        parts = [f"{key}: {_plausible(f.type, key, ids)}" for key, f in type_.fields.items()
                 if isinstance(f.type, GraphQLNonNull)]
        return "{" + ", ".join(parts) + "}"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    scalar = type_.name
    if scalar == "ID":
        kind = name[:-2][:1].upper() + name[:-2][1:] if name.endswith("Id") else ""
        return json.dumps(ids.get(kind) or next(iter(ids.values())))
    if scalar == "DateTime":
        return json.dumps((datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat())
    if scalar == "Date":
        return json.dumps((datetime.now(UTC) + timedelta(days=1)).date().isoformat())
    return {"Int": "1", "Float": "1.5", "Boolean": "true"}.get(scalar, json.dumps("测试"))


def _call(parent: GraphQLObjectType, field_name: str, ids: dict[str, str]) -> str:
    field_def = parent.fields[field_name]
    required = [f"{arg}: {_plausible(a.type, arg, ids)}" for arg, a in field_def.args.items()
                if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined]
    return field_name + (f"({', '.join(required)})" if required else "")


def path_documents(schema: GraphQLSchema, targets: set[str], ids: dict[str, str]) -> dict[str, str]:
    """For each target field (Type.field), the shortest operation that selects it, with
    plausible values for required arguments: the directed phase that covers what random
    generation missed."""
    reach = _reach(schema)
    documents: dict[str, str] = {}
    for target in sorted(targets):
        type_name, field_name = target.split(".")
        if type_name not in reach:
            continue
        owner = schema.type_map[type_name]
        assert isinstance(owner, GraphQLObjectType)
        leaf = get_named_type(owner.fields[field_name].type)
        body = _call(owner, field_name, ids) + (" { __typename }" if not is_leaf_type(leaf) else "")
        steps = reach[type_name]
        for parent, step_field, concrete in reversed(steps):
            body = f"{_call(parent, step_field, ids)} {{ ... on {concrete.name} {{ {body} }} }}"
        root = steps[0][0] if steps else owner
        documents[target] = f"{'mutation' if root is schema.mutation_type else 'query'} {{ {body} }}"
    return documents


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


# Answers that mean the operation was refused before a resolver applied its rules to real
# objects: parse, validation and boundary refusals (errors without a path), bad input anywhere,
# and NOT_FOUND (in practice an ID that names nothing).
REFUSED_CODES = frozenset({"BAD_USER_INPUT", "NOT_FOUND", "QUERY_TOO_COMPLEX"})


def got_past_validation(response: httpx.Response) -> bool:
    """HTTP 200 and every error (if any) raised by a resolver with a code other than
    BAD_USER_INPUT, NOT_FOUND or QUERY_TOO_COMPLEX: the operation reached the rules."""
    if response.status_code != 200:
        return False
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return all(error.get("path") and (error.get("extensions") or {}).get("code") not in REFUSED_CODES
               for error in errors)


@dataclass
class FuzzReport:
    operations: int = 0
    passed: int = 0  # got past input validation (got_past_validation)
    answered: int = 0  # answered without any error
    covered: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def share(self) -> str:
        total = max(1, self.operations)
        return (f"{self.operations} operations, {self.passed / total:.0%} past input validation, "
                f"{self.answered / total:.0%} answered without error, {len(self.failures)} failures")

    def summary(self, backend: str, total: set[str]) -> str:
        missing = sorted(total - self.covered)
        return (f"fuzz[{backend}]: {self.share()}, {len(self.covered & total)}/{len(total)} fields covered"
                + (f"; not covered: {', '.join(missing[:40])}{' …' if len(missing) > 40 else ''}"
                   if missing else ""))


def executed(response: httpx.Response) -> bool:
    """Whether the operation reached execution (data, or an error raised by a resolver),
    rather than being refused before it: only then do its fields count as covered."""
    try:
        body = response.json()
    except ValueError:
        return False
    return bool(body.get("data")) or any(error.get("path") for error in body.get("errors") or [])


Send = Callable[[str, dict[str, Any], str], httpx.Response]


def make_sender(client: httpx.Client, url: str, tokens: dict[str, str | None]) -> Send:
    """Posts an operation as one of the roles in `tokens` (None: anonymous)."""
    def send(query: str, variables: dict[str, Any], role: str) -> httpx.Response:
        token = tokens[role]
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # ASCII-escaped, so lone surrogates, NaN and Infinity travel as a hostile client sends them
        body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
        return client.post(url, content=body, headers=headers)

    return send


def shown(variables: dict[str, Any]) -> str:
    """Variables as a failure prints them: long text and long lists cut short."""
    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > 80:
            return f"{value[:40]}…({len(value)} characters)"
        if isinstance(value, list):
            return [cut(item) for item in value[:3]] + ([f"…({len(value)} entries)"] if len(value) > 3 else [])
        if isinstance(value, dict):
            return {key: cut(item) for key, item in value.items()}
        return value
    return repr(cut(variables))


def send_and_check(schema: GraphQLSchema, label: str, query: str, variables: dict[str, Any], role: str,
                   send: Send, report: FuzzReport) -> httpx.Response:
    response = send(query, variables, role)
    report.operations += 1
    report.passed += got_past_validation(response)
    if executed(response):
        report.covered |= fields_of(schema, query)
        report.answered += "errors" not in response.json()
    problem = response_problem(response)
    if problem is not None:
        report.failures.append(f"{label} as {role}: {problem}\n  {query}\n  {shown(variables)}"[:3000])
    return response


def fuzz_documents(schema: GraphQLSchema, label: str, documents: st.SearchStrategy[DocumentNode], *,
                   examples: int, send: Send, roles: list[str], id_pool: list[str],
                   report: FuzzReport) -> None:
    """Runs `examples` operations drawn from `documents`, each argument made hostile at random."""

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(document=documents, data=st.data())
    def run(document: DocumentNode, data: st.DataObject) -> None:
        query, variables = with_variables(schema, document, data.draw, id_pool)
        send_and_check(schema, label, query, variables, data.draw(st.sampled_from(roles)), send, report)

    run()


def fuzz_root_field(schema: GraphQLSchema, root_field: str, *, mode: Mode, examples: int, send: Send,
                    roles: list[str], id_pool: list[str], report: FuzzReport) -> None:
    """Random operations on one root field (hypothesis-graphql), made hostile."""
    strategy = from_schema(schema, fields=[root_field], mode=mode, print_ast=lambda node: node,
                           custom_scalars=custom_scalars(schema))
    try:
        fuzz_documents(schema, root_field, strategy, examples=examples, send=send, roles=roles,
                       id_pool=id_pool, report=report)
    except InvalidArgument:
        if mode is not Mode.NEGATIVE:
            raise  # a field without arguments has nothing to make invalid; anything else is a bug


def fuzz_paths(schema: GraphQLSchema, targets: set[str], ids: dict[str, str], *, examples: int, send: Send,
               roles: list[str], report: FuzzReport) -> None:
    """The directed phase: for each field the other strategies missed, its shortest
    operation, once as written (by each role in long runs; in short ones by the roles in turn,
    starting with a different one for each field, until one may execute it: a field only
    some roles may read is reached whatever the order of the fields) and `examples` times
    made hostile."""
    pool = list(ids.values())
    for index, (target, query) in enumerate(path_documents(schema, targets, ids).items()):
        for role in roles if examples >= 10 else roles[index % len(roles):] + roles[:index % len(roles)]:
            response = send_and_check(schema, target, query, {}, role, send, report)
            if examples < 10 and executed(response):
                break
        if examples:
            fuzz_documents(schema, target, st.just(graphql.parse(query)), examples=examples, send=send,
                           roles=roles, id_pool=pool, report=report)
