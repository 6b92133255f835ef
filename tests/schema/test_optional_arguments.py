"""An argument a client may leave out must be one the resolver can do without: an argument
nullable in GraphQL but without a Python default raised TypeError (INTERNAL) before any
permission check when omitted. Walks every field of the live schema; needs no database."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from graphql import GraphQLNonNull, GraphQLObjectType, Undefined
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from schema import schema

DEFINITION = "strawberry-definition"


def fields_with_arguments() -> Iterator[tuple[str, StrawberryField | None, dict]]:
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            if field.args:
                definition = (field.extensions or {}).get(DEFINITION)
                yield f"{type_.name}.{name}", definition, field.args


def omittable_without_default() -> list[str]:
    """Coordinates of arguments a client may omit (nullable, no GraphQL default) whose
    resolver parameter has no Python default, or whose resolver cannot be inspected."""
    missing = []
    for coordinate, definition, arguments in fields_with_arguments():
        if not isinstance(definition, StrawberryField) or definition.base_resolver is None:
            missing.append(f"{coordinate}: no strawberry resolver to inspect")
            continue
        parameters = definition.base_resolver.signature.parameters
        for name, argument in arguments.items():
            if isinstance(argument.type, GraphQLNonNull) or argument.default_value is not Undefined:
                continue
            python = (argument.extensions or {}).get(DEFINITION)
            python_name = python.python_name if isinstance(python, StrawberryArgument) else name
            parameter = parameters.get(python_name)
            if parameter is None or parameter.default is inspect.Parameter.empty:
                missing.append(f"{coordinate}({name}:)")
    return missing


def test_every_argument_a_client_may_omit_has_a_default() -> None:
    # given: every field of the schema that takes arguments
    assert sum(1 for _ in fields_with_arguments()) > 100
    # then: none of them fails when a client leaves an optional argument out
    assert omittable_without_default() == []
