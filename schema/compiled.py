"""Compiled plans: a prepared operation of one root field selecting only leaves, executed
without building graphql-core's executor for every request.

For `mutation ($id: ID!) { signUp(activityId: $id) { status } }` graphql-core builds an
executor (variable container, collected-errors tracker, incremental-delivery state), collects
the fields of the operation and of the result type, and runs its serial reducer around one
resolver call: ~130 µs of CPU per sign-up, more than the rest of the GraphQL layer. The shape
of such a document is fixed when it is prepared, so `compile_plan` resolves it once (root
field, result object type, every leaf's definition and output type) and `run` does per
request what graphql-core's `execute_field` / `complete_value` do for exactly that shape, in
the same order and with the same errors:

- arguments coerced by graphql-core's own `get_argument_values`, the root resolver called
  with the same strawberry resolve-info type graphql-core's strawberry executor builds;
- the result object checked with its type's `is_type_of`; every leaf resolved through its
  field's resolver (or the default resolver), synchronous leaves completed in selection order
  first, awaitable ones then (graphql-core completes them after the synchronous ones too);
- the same null handling (`Cannot return null for non-nullable field T.f.`), leaf coercion
  (`coerce_output_value`), error location and propagation: a non-null leaf's error nulls the
  root field, a non-null root's error nulls `data`.

What it does not have, and so what `compile_plan` refuses (the plan then runs through
graphql-core as before): more than one root field, fragments, directives (`@skip`,
`@include`), repeated response keys (field merging), nested selections, list-typed or
argument-taking leaves, abstract result types, and resolvers without `resolve`. Resolvers of
compiled fields get no `abort_signal` and no `async_helpers` (None): the token-only fields
(schema/viewer.py) do not use them. tests/e2e/test_prepared.py compares the response bytes
of the compiled path, graphql-core's and the general path for every outcome on both backends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    default_field_resolver,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, Undefined, inspect
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo

# The resolve-info type strawberry's graphql-core executor builds (graphql-core's fields plus
# `operation_extensions`, None as strawberry passes it when there are none).
ResolveInfo: Any = _OperationContextAwareGraphQLResolveInfo


@dataclass(frozen=True, slots=True)
class Leaf:
    key: str  # response key: the alias or the name
    node: FieldNode
    definition: GraphQLField
    non_null: bool
    type: Any  # GraphQLLeafType (scalar or enum), unwrapped


@dataclass(frozen=True, slots=True)
class CompiledField:
    key: str
    node: FieldNode
    definition: GraphQLField
    parent: GraphQLObjectType
    non_null: bool
    type: GraphQLObjectType
    leaves: tuple[Leaf, ...]


def compile_plan(schema: GraphQLSchema,
                 operation: OperationDefinitionNode) -> CompiledField | None:
    """The operation's one root field, resolved against the schema; None when the operation
    has a shape `run` does not reproduce (see the module docstring)."""
    parent = schema.get_root_type(operation.operation)
    selections = operation.selection_set.selections
    if parent is None or operation.directives or len(selections) != 1:
        return None
    root = selections[0]
    if not isinstance(root, FieldNode) or root.directives or root.selection_set is None:
        return None
    definition = schema.get_field(parent, root.name.value)
    if definition is None or definition.resolve is None:
        return None
    non_null, object_type = is_non_null_type(definition.type), get_nullable_type(definition.type)
    if not is_object_type(object_type):
        return None
    leaves: list[Leaf] = []
    for node in root.selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.selection_set is not None \
                or node.arguments:
            return None
        leaf = schema.get_field(object_type, node.name.value)
        if leaf is None or leaf.args:
            return None
        leaf_non_null, leaf_type = is_non_null_type(leaf.type), get_nullable_type(leaf.type)
        if not is_leaf_type(leaf_type):
            return None
        key = node.alias.value if node.alias else node.name.value
        leaves.append(Leaf(key, node, leaf, leaf_non_null, leaf_type))
    if len({leaf.key for leaf in leaves}) != len(leaves):
        return None
    key = root.alias.value if root.alias else root.name.value
    return CompiledField(key, root, definition, parent, non_null, object_type, tuple(leaves))


def _null_error(parent: GraphQLObjectType, field_name: str) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {parent}.{field_name}.")


def _complete_leaf(leaf: Leaf, parent: GraphQLObjectType, value: Any) -> Any:
    if isinstance(value, Exception):
        raise value
    if value is None or value is Undefined:
        if leaf.non_null:
            raise _null_error(parent, leaf.node.name.value)
        return None
    coerced = leaf.type.coerce_output_value(value)
    if coerced is Undefined or coerced is None:
        raise TypeError(f"Expected `{inspect(leaf.type)}.coerce_output_value("
                        f"{inspect(value)})` to return non-nullable value, returned:"
                        f" {inspect(coerced)}")
    return coerced


class _Nulled(Exception):
    """A non-null leaf failed: the root field is null (its error is already located)."""

    def __init__(self, error: GraphQLError) -> None:
        self.error = error


async def run(field: CompiledField, schema: GraphQLSchema, operation: OperationDefinitionNode,
              variables: VariableValues, context: Any,
              ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
    """(data, errors) as graphql-core's execute gives them for this operation."""
    errors: list[GraphQLError] = []
    path = Path(None, field.key, field.parent.name)
    try:
        value = await _resolve_root(field, schema, operation, variables, context, path, errors)
    except Exception as raw:  # graphql-core locates every resolver error
        errors.append(raw.error if isinstance(raw, _Nulled)
                      else located_error(raw, [field.node], path.as_list()))
        if field.non_null:
            return None, errors
        value = None
    return {field.key: value}, errors


async def _resolve_root(field: CompiledField, schema: GraphQLSchema,
                        operation: OperationDefinitionNode, variables: VariableValues,
                        context: Any, path: Path, errors: list[GraphQLError],
                        ) -> dict[str, Any] | None:
    coerced = variables.coerced
    info = ResolveInfo(field.node.name.value, [field.node], field.definition.type, field.parent,
                       path, schema, {}, None, operation, coerced, context,
                       optimized_is_awaitable, None, None, None)
    arguments = get_argument_values(field.definition, field.node, variables) \
        if field.definition.args or field.node.arguments else {}
    result = field.definition.resolve(None, info, **arguments)  # type: ignore[misc]
    if optimized_is_awaitable(result):
        result = await result
    if isinstance(result, Exception):
        raise result
    if result is None or result is Undefined:
        if field.non_null:
            raise _null_error(field.parent, field.node.name.value)
        return None
    object_type = field.type
    if object_type.is_type_of:
        matches: Any = object_type.is_type_of(result, info)
        if optimized_is_awaitable(matches):
            matches = await matches
        if not matches:
            raise GraphQLError(f"Expected value of type '{object_type}' but got: "
                               f"{inspect(result)}.", [field.node])
    completed: dict[str, Any] = {}
    pending: list[tuple[Leaf, Path, Any]] = []
    for leaf in field.leaves:
        leaf_path = Path(path, leaf.key, object_type.name)
        resolve = leaf.definition.resolve or default_field_resolver
        leaf_info = ResolveInfo(leaf.node.name.value, [leaf.node], leaf.definition.type,
                                object_type, leaf_path, schema, {}, None, operation, coerced,
                                context, optimized_is_awaitable, None, None, None)
        try:
            value = resolve(result, leaf_info)
            if optimized_is_awaitable(value):
                completed[leaf.key] = None  # the key keeps its place in the response
                pending.append((leaf, leaf_path, value))
                continue
            completed[leaf.key] = _complete_leaf(leaf, object_type, value)
        except Exception as raw:
            error = located_error(raw, [leaf.node], leaf_path.as_list())
            if leaf.non_null:  # graphql-core lets the others run to the end, unread
                await asyncio.gather(*(awaitable for *_, awaitable in pending),
                                     return_exceptions=True)
                raise _Nulled(error) from None
            errors.append(error)
            completed[leaf.key] = None
    if not pending:
        return completed
    # Together, as graphql-core runs them (one DataLoader batch); errors in selection order.
    if len(pending) == 1:
        try:
            outcomes: list[Any] = [await pending[0][2]]
        except Exception as raw:
            outcomes = [raw]
    else:
        outcomes = await asyncio.gather(*(awaitable for *_, awaitable in pending),
                                        return_exceptions=True)
    nulled: GraphQLError | None = None
    for (leaf, leaf_path, _), outcome in zip(pending, outcomes, strict=True):
        try:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: not a field error
            completed[leaf.key] = _complete_leaf(leaf, object_type, outcome)
        except Exception as raw:
            error = located_error(raw, [leaf.node], leaf_path.as_list())
            if leaf.non_null:
                nulled = nulled or error
            else:
                errors.append(error)
    if nulled is not None:
        raise _Nulled(nulled)
    return completed
