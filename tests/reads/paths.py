"""Running one document through the compiled path and the general path, as one viewer."""

from __future__ import annotations

import json
from typing import Any

from models.volunteer import Volunteer
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from schema.reads.execute import encode_response


async def answer(query: str, variables: dict[str, Any] | None, as_: Volunteer | None, *,
                 compiled: bool) -> str:
    """The response body the HTTP view would send, with or without compiled reads."""
    context = Context(viewer=Viewer(as_), client_address="127.0.0.1", compiled_reads=compiled)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return encode_response(body)


def canonical(body: str) -> str:
    """Key order aside (PostgreSQL writes selection order too, but spaced differently), and
    without the per-request id an INTERNAL error carries."""
    decoded = json.loads(body)
    for error in decoded.get("errors") or []:
        error.get("extensions", {}).pop("requestId", None)
    return json.dumps(decoded, sort_keys=True, ensure_ascii=False)


def compiled_count() -> int:
    return schema.reads.compiled_roots  # type: ignore[no-any-return]


async def both(query: str, variables: dict[str, Any] | None,
               as_: Volunteer | None) -> tuple[str, str, int]:
    """(compiled body, general body, root fields the compiled path answered in SQL)."""
    before = compiled_count()
    fast = await answer(query, variables, as_, compiled=True)
    answered = compiled_count() - before
    slow = await answer(query, variables, as_, compiled=False)
    return fast, slow, answered
