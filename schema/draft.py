"""Drafts: `saveDraft` and `draft(key)`, private to the signed-in owner."""

from __future__ import annotations

import strawberry

from resolvers import draft as rules
from schema.context import Info


@strawberry.type
class DraftQuery:
    @strawberry.field(description="Your own saved draft under this key, or null.")
    async def draft(self, info: Info, key: str) -> str | None:
        return await rules.get_draft(info.context.viewer, key)


@strawberry.type
class DraftMutation:
    @strawberry.mutation(description="Save a draft server-side (empty body deletes it). Keys: "
                                     "letters, digits, _.:/-.")
    async def save_draft(self, info: Info, key: str, body: str) -> bool:
        return await rules.do_save_draft(info.context.viewer, key, body)


__all__ = ["DraftMutation", "DraftQuery"]
