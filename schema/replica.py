"""Which GraphQL reads may come from the read replica (DATABASE_READ_URL).

A query operation goes to the replica when every root field is in REPLICA_FIELDS and no field
anywhere in the document is about the viewer (`my*` / `viewer*`: `mySignUp`, `myAnswer`,
`myReactions`, `viewerCanManage`...): those answer "what did I just do" and must see the
viewer's own writes. Mutations, subscriptions and everything else read the primary. The
replica is at most a few seconds behind (bench/cluster.py measures it); what a lagging answer
costs on these fields is a count or list a moment old, which a reload fixes.

| replica                                                    | primary (read-your-writes)   |
|------------------------------------------------------------|------------------------------|
| stats, leaderboard (SQL fallback; Redis board otherwise),  | me, node, notifications,     |
| searchForum, feed, activities, teams, boards, board,       | unreadNotificationCount,     |
| experiencePosts                                            | draft, serviceRecords,       |
|                                                            | volunteers, helpRequests,    |
|                                                            | callOuts, verifyCertificate, |
|                                                            | every mutation's answer      |
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode, OperationType, visit
from graphql.language import DocumentNode, Visitor
from strawberry.extensions import SchemaExtension

from db.routing import replica_configured, replica_reads

REPLICA_FIELDS = frozenset({
    "stats", "leaderboard", "searchForum", "feed", "activities", "teams", "boards", "board",
    "experiencePosts", "__typename",
})
VIEWER_PREFIXES = ("my", "viewer")


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.names.add(node.name.value)


def chosen_operation(document: DocumentNode,
                     operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs, as graphql-core picks it; None when ambiguous or absent
    (execution then fails with its own error)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations
              if operation_name is None or (op.name and op.name.value == operation_name)]
    return chosen[0] if len(chosen) == 1 else None


def replica_safe(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation may read from the replica (see the module docstring)."""
    operation = chosen_operation(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY:
        return False
    roots = operation.selection_set.selections
    if not roots or not all(isinstance(s, FieldNode) and s.name.value in REPLICA_FIELDS
                            for s in roots):
        return False  # fragment spreads at the root: not worth resolving, primary
    names = _FieldNames()
    visit(document, names)
    return not any(name.startswith(VIEWER_PREFIXES) for name in names.names)


class ReplicaReads(SchemaExtension):
    """Runs replica-safe query operations with `replica_reads()` on."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is None or not replica_configured() or \
                not replica_safe(document, context.operation_name):
            yield
            return
        with replica_reads():
            yield
