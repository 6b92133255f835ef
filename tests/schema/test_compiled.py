"""Compiled plans (schema/compiled.py) give what graphql-core's executor gives for the same
document: data, error messages, locations and paths, null propagation; shapes they do not
reproduce are not compiled."""

from __future__ import annotations

import enum

import pytest
import strawberry
from graphql import parse
from graphql.execution.values import get_variable_values
from strawberry.types import Info

from schema.compiled import compile_plan, run
from schema.replica import chosen_operation


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Thing:
    name: str
    maybe: str | None
    colour: Colour

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("leaf broke")

    @strawberry.field
    def broken_required(self) -> str:
        raise ValueError("required leaf broke")

    @strawberry.field
    def null_required(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def later(self, info: Info) -> int | None:
        info.context.append(f"later {self.name}")
        return len(self.name)

    @strawberry.field
    async def later_broken(self) -> int | None:
        raise ValueError("async leaf broke")

    @strawberry.field
    async def later_required_broken(self) -> int:
        raise ValueError("async required leaf broke")

    @strawberry.field
    def bad_int(self) -> int | None:
        return "many"  # type: ignore[return-value]


@strawberry.type
class Query:
    ping: str = "pong"


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def make(self, info: Info, name: str, colour: Colour = Colour.RED) -> Thing:
        info.context.append(f"make {name}")
        if name == "fail":
            raise ValueError("root broke")
        if name == "nothing":
            return None  # type: ignore[return-value]
        return Thing(name=name, maybe=None, colour=colour)

    @strawberry.mutation
    def maybe_make(self, name: str) -> Thing | None:
        if name == "fail":
            raise ValueError("nullable root broke")
        return Thing(name=name, maybe="yes", colour=Colour.BLUE)


toy = strawberry.Schema(query=Query, mutation=Mutation)

DOCUMENTS = [
    ('mutation { make(name: "a") { name maybe colour __typename } }', None),
    ("mutation M($n: String!, $c: Colour!) { made: make(name: $n, colour: $c) "
     "{ n: name colour later } }", {"n": "abc", "c": "BLUE"}),
    ('mutation { make(name: "fail") { name } }', None),
    ('mutation { make(name: "nothing") { name } }', None),
    ('mutation { make(name: "a") { name broken later } }', None),
    ('mutation { make(name: "a") { name brokenRequired later } }', None),
    ('mutation { make(name: "a") { nullRequired name } }', None),
    ('mutation { make(name: "a") { laterBroken later name } }', None),
    ('mutation { make(name: "a") { laterRequiredBroken broken later } }', None),
    ('mutation { make(name: "a") { badInt name } }', None),
    ('mutation { maybeMake(name: "fail") { name } }', None),
    ('mutation { maybeMake(name: "b") { brokenRequired maybe } }', None),
    ('mutation { maybeMake(name: "b") { name maybe colour } }', None),
]


def _shape(data, errors):
    return data, [error.formatted for error in errors or []]


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
async def test_compiled_runs_answer_as_graphql_core_does(document, variables):
    # given
    parsed = parse(document)
    operation = chosen_operation(parsed, None)
    compiled = compile_plan(toy._schema, operation)
    assert compiled is not None
    # when: the same document, once through each
    core_calls: list[str] = []
    core = await toy.execute(document, variable_values=variables, context_value=core_calls)
    compiled_calls: list[str] = []
    coerced = get_variable_values(toy._schema, operation.variable_definitions or (),
                                  variables or {})
    data, errors = await run(compiled, toy._schema, operation, coerced, compiled_calls)
    # then: the same data and errors (message, locations, path), and the same resolvers ran
    assert _shape(data, errors) == _shape(core.data, core.errors)
    assert compiled_calls == core_calls


@pytest.mark.parametrize("document", [
    'mutation { a: make(name: "a") { name } b: make(name: "b") { name } }',
    'mutation { make(name: "a") { name @include(if: true) } }',
    'mutation { make(name: "a") @skip(if: false) { name } }',
    'mutation { make(name: "a") { ...F } } fragment F on Thing { name }',
    'mutation { make(name: "a") { n: name n: name } }',
    "{ ping }",
])
def test_shapes_it_does_not_reproduce_are_not_compiled(document):
    assert compile_plan(toy._schema, chosen_operation(parse(document), None)) is None
