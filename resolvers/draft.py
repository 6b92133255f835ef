"""Server-side drafts: a user's unsent long text, kept across logouts and timeouts.

A draft is private to its owner and addressed by a client-chosen key (e.g. `thread:new:<board>`
or `activity:12`). Saving an empty body deletes it; publishing with `draftKey` deletes it in
the same transaction as the post."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.draft import Draft
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict

DRAFT_KEY_MAX = 100
DRAFT_BODY_MAX = 50_000
DRAFTS_PER_USER_MAX = 100
KEY_RE = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def check_draft_key(raw: str | None, field: str = "key") -> str:
    key = (raw or "").strip()
    if not key:
        raise BadInput(field, f"{field} is required.")
    if len(key) > DRAFT_KEY_MAX or not KEY_RE.match(key):
        raise BadInput(field, f"{field} must be 1–{DRAFT_KEY_MAX} letters, digits or _.:/-")
    return key


def check_draft_body(raw: str | None) -> str:
    body = raw or ""
    if len(body) > DRAFT_BODY_MAX:
        raise BadInput("body", f"body must be at most {DRAFT_BODY_MAX} characters.")
    return body


async def get_draft(viewer: Viewer, key: str) -> str | None:
    volunteer = viewer.require()
    draft = await Draft.get_or_none(volunteer_id=volunteer.id, key=check_draft_key(key))
    return draft.body if draft else None


async def do_save_draft(viewer: Viewer, key: str, body: str) -> bool:
    """Upsert; an empty body deletes. The per-user cap counts other keys only."""
    volunteer = viewer.require()
    key = check_draft_key(key)
    body = check_draft_body(body)
    if not body.strip():
        await Draft.filter(volunteer_id=volunteer.id, key=key).delete()
        return True
    async with in_transaction() as connection:
        updated = await Draft.filter(volunteer_id=volunteer.id, key=key).using_db(
            connection).update(body=body, updated_at=datetime.now(UTC))
        if updated:
            return True
        if await Draft.filter(volunteer_id=volunteer.id).using_db(
                connection).count() >= DRAFTS_PER_USER_MAX:
            raise Conflict(f"You already keep {DRAFTS_PER_USER_MAX} drafts; delete one first.",
                           field="key")
    try:
        await Draft.create(volunteer_id=volunteer.id, key=key, body=body)
    except IntegrityError:
        # Another request created the same key in between: last write wins.
        await Draft.filter(volunteer_id=volunteer.id, key=key).update(
            body=body, updated_at=datetime.now(UTC))
    return True


async def discard_draft(volunteer_id: int, key: str | None,
                        using: BaseDBAsyncClient | None = None) -> None:
    """Called by publishing use cases inside their transaction."""
    if key:
        await Draft.filter(volunteer_id=volunteer_id, key=key).using_db(using).delete()
