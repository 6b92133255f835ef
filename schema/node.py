"""The `node(id:)` entry point of Relay."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.relay import Node, resolve_node


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID (null if missing or not visible).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)
