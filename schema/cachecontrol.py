"""HTTP caching of public reads. Fields declare how long their answer may be reused, next to
the field (like Apollo's @cacheControl): `@strawberry.field(..., metadata=cache_hint(10))`. An
operation may be cached for the smallest max-age among its fields; one root field without a
hint, or one private field, and it is not cached at all. Only anonymous GET queries are cached
publicly (schema/view.py sends the headers); everything else is `private, no-store`."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    parse,
)
from graphql.error import GraphQLError

NO_STORE = "private, no-store"
VARY = "Accept, Authorization"
POLICIES_KEPT = 512


@dataclass(frozen=True)
class CacheHint:
    max_age: int  # seconds
    private: bool = False  # the answer depends on who asks


def cache_hint(max_age: int, *, private: bool = False) -> dict[str, CacheHint]:
    """Field metadata: how long the field's answer may be served from a cache."""
    return {"cache": CacheHint(max_age, private)}


class CachePolicies:
    """The max-age of each (document, operation) seen, kept for the last POLICIES_KEPT."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.known: OrderedDict[tuple[str, str | None], int] = OrderedDict()

    def max_age(self, query: str, operation_name: str | None) -> int:
        """Seconds a public cache may keep the answer; 0: not cacheable."""
        key = (query, operation_name)
        age = self.known.get(key)
        if age is None:
            try:
                age = self._compute(parse(query), operation_name)
            except GraphQLError:
                age = 0
            self.known[key] = age
            while len(self.known) > POLICIES_KEPT:
                self.known.popitem(last=False)
        return age

    def _compute(self, document: DocumentNode, operation_name: str | None) -> int:
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            return 0
        fragments = {definition.name.value: definition for definition in document.definitions
                     if isinstance(definition, FragmentDefinitionNode)}
        root = self.schema.query_type
        assert root is not None
        age = self._walk(operation.selection_set, root, None, fragments, set())
        return age or 0

    def _walk(self, selections: SelectionSetNode, parent: GraphQLNamedType, inherited: int | None,
              fragments: dict[str, FragmentDefinitionNode], seen: set[str]) -> int | None:
        """The smallest max-age below; None when some field forbids caching."""
        smallest = inherited
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    continue
                if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
                    return None  # interfaces and unions: resolved per object, not cached here
                field = parent.fields[name]
                definition = field.extensions.get("strawberry-definition")
                hint = getattr(definition, "metadata", {}).get("cache") if definition else None
                if hint is not None and hint.private:
                    return None
                age = hint.max_age if hint is not None else inherited
                if age is None:  # a root field without a hint
                    return None
                if selection.selection_set is not None:
                    nested = self._walk(selection.selection_set, get_named_type(field.type), age,
                                        fragments, seen)
                    if nested is None:
                        return None
                    age = min(age, nested)
                smallest = age if smallest is None else min(smallest, age)
            else:
                condition: NamedTypeNode | None
                if isinstance(selection, FragmentSpreadNode):
                    fragment = fragments.get(selection.name.value)
                    if fragment is None or selection.name.value in seen:
                        return None
                    seen.add(selection.name.value)
                    inner, condition = fragment.selection_set, fragment.type_condition
                else:
                    assert isinstance(selection, InlineFragmentNode)
                    inner, condition = selection.selection_set, selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is None:
                    return None
                nested = self._walk(inner, target, inherited, fragments, seen)
                if nested is None:
                    return None
                smallest = nested if smallest is None else min(smallest, nested)
        return smallest


def public_headers(max_age: int, body: bytes) -> dict[str, str]:
    """A public answer's headers; stale-while-revalidate lets a cache serve the old answer
    for one more window while it fetches the new one, so a crowd never waits on the origin."""
    return {"cache-control": f"public, max-age={max_age}, stale-while-revalidate={max_age}",
            "etag": etag(body), "vary": VARY}


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return tag in candidates or "*" in candidates
