"""Loading the viewer's account: once per request, before the operation runs, except for
token-only operations.

HTTP requests carry a deferred viewer (resolvers/auth.py: the token verified, the account
not read). `LoadViewer` reads the account before execution, so every resolver sees a loaded
viewer, unless the operation is *token-only*: its root fields are all listed in TOKEN_ONLY
and select nothing but the listed leaves. The use case behind such a field checks the account
(exists, active) in the very statement that writes, and loads the viewer itself on any other
path (resolvers/signup.py: `do_sign_up`); that saves a round trip on the hottest mutation.
A leaf listed here must not depend on the viewer; nested objects (a sign-up's `activity`,
`volunteer`) are never listed, so a document that asks for them loads the viewer first.
Fragments, or any operation but a mutation, load it too.

A failed load (the account gone, or not yet consenting), here or in a use case, answers 401
like a bad token: the viewer keeps the failure and the endpoint (schema/view.py) turns the
response into the same 401 a bad token gets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import DocumentNode, FieldNode, OperationType
from strawberry.extensions import SchemaExtension

from schema.replica import chosen_operation

SIGN_UP_LEAVES = frozenset({"id", "status", "createdAt", "offerExpiresAt", "checkedInAt",
                            "checkedOutAt", "waitlistPosition", "insured", "__typename"})
TOKEN_ONLY: dict[str, frozenset[str]] = {"signUp": SIGN_UP_LEAVES}


def _leaves_only(field: FieldNode, allowed: frozenset[str]) -> bool:
    if field.selection_set is None:
        return False
    return all(isinstance(s, FieldNode) and s.selection_set is None and s.name.value in allowed
               for s in field.selection_set.selections)


def token_only(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation chosen may run on a deferred viewer (see the module docstring)."""
    operation = chosen_operation(document, operation_name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return False
    roots = operation.selection_set.selections
    return bool(roots) and all(
        isinstance(root, FieldNode) and root.name.value in TOKEN_ONLY
        and _leaves_only(root, TOKEN_ONLY[root.name.value]) for root in roots)


class LoadViewer(SchemaExtension):
    """Before execution: load a deferred viewer unless the operation is token-only."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        viewer = getattr(context, "viewer", None)
        if viewer is not None and not viewer.loaded and not (
                execution.graphql_document is not None
                and token_only(execution.graphql_document, execution.operation_name)):
            await viewer.load()
        yield
