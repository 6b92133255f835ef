"""One place that turns every error into the API.md shape: `extensions.code` always,
`extensions.field` on input errors, unexpected exceptions masked as INTERNAL and logged
with the request id (never their message, which may hold SQL or personal data)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.errors import DomainError

log = logging.getLogger("tongxin.errors")

TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth|aliases found|more than \d+ tokens|too complex", re.I
)


def error_code(error: GraphQLError) -> tuple[str, dict[str, Any]]:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, DomainError):
        return original.code, dict(original.extensions)
    if original is None or isinstance(original, GraphQLError):
        if TOO_COMPLEX.search(error.message):
            return "QUERY_TOO_COMPLEX", {}
        # Parse and validation errors, variable coercion errors: the client sent bad input.
        return "BAD_USER_INPUT", {}
    return "INTERNAL", {}


def format_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    code, extra = error_code(error)
    if code == "INTERNAL":
        log.error(
            "unexpected error request_id=%s path=%s",
            request_id,
            ".".join(str(p) for p in error.path or []),
            exc_info=error.original_error,
        )
        message = "Internal server error."
        extra = {"requestId": request_id} if request_id else {}
    else:
        message = error.message
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**extra, "code": code},
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if context is not None and hasattr(context, "operation_name"):
            context.operation_name = self.execution_context.operation_name
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        request_id = getattr(context, "request_id", None)
        result.errors = [format_error(error, request_id) for error in result.errors]
        if context is not None and hasattr(context, "outcome"):
            context.outcome = (result.errors[0].extensions or {}).get("code", "INTERNAL")
