"""One place that turns every error into the API.md shape: `extensions.code` always,
`extensions.field` on input errors, a lost database connection or a busy database answered
UNAVAILABLE (retry shortly; db/transient.py), unexpected exceptions masked as INTERNAL and logged with the
request id (never their message, which may hold SQL or personal data)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from tortoise.exceptions import ValidationError

from db.transient import describe, transient
from resolvers.errors import DomainError, GlobalRef, NotFound
from resolvers.messages import EN, choose_language, message_for
from schema.concealment import Concealment
from schema.relay import to_global_id

log = logging.getLogger("tongxin.errors")

TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth|aliases found|more than \d+ tokens|too complex", re.I
)


UNAVAILABLE_MESSAGE = ("The database could not be reached; try again shortly. A mutation may "
                       "or may not have taken effect: retry only an idempotent one.")
BUSY_MESSAGE = "The database is busy; the request was not completed. Try again shortly."
SERVICE_MESSAGE = ("A service the server needs could not be reached; try again shortly. A "
                   "mutation may or may not have taken effect: retry only an idempotent one.")
# db/transient.py's kinds: what `extensions.reason` says and the English message.
TRANSIENT_REASONS = {"busy": "BUSY", "redis": "SERVICE"}
TRANSIENT_MESSAGES = {"BUSY": BUSY_MESSAGE, "SERVICE": SERVICE_MESSAGE}


def original_of(error: GraphQLError) -> BaseException | None:
    """The exception a (possibly re-wrapped) GraphQL error stands for."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def error_code(error: GraphQLError) -> tuple[str, dict[str, Any]]:
    original = original_of(error)
    if isinstance(original, DomainError):
        extensions = {key: _render(value) for key, value in original.extensions.items()}
        field = extensions.get("field")
        if isinstance(field, str) and field.startswith("input."):
            # One convention for every domain: a field of the `input` argument is named bare
            # (`title`, `near.latitude`), as the form that sent it names it.
            extensions["field"] = field.removeprefix("input.")
        return original.code, extensions
    if original is None or isinstance(original, GraphQLError):
        if TOO_COMPLEX.search(error.message):
            return "QUERY_TOO_COMPLEX", {}
        # Parse and validation errors, variable coercion errors: the client sent bad input.
        return "BAD_USER_INPUT", {}
    if does_not_fit(original):
        return "BAD_USER_INPUT", {}
    failure = transient(original)
    if failure is not None:
        # A class of failures, not a bug: the next request gets a fresh connection (lost),
        # or finds the lock free (busy; its transaction was rolled back).
        reason = TRANSIENT_REASONS.get(failure[0])
        return "UNAVAILABLE", {"reason": reason} if reason else {}
    return "INTERNAL", {}


def does_not_fit(error: BaseException | None) -> bool:
    """A value its column cannot hold, refused by Tortoise's field validation (filters and
    saves alike) or by PostgreSQL (22001, value too long). The limits table keeps such values
    out (tests/schema/test_columns.py); one that slips through is still the caller's input,
    not a server fault to log with a traceback."""
    while error is not None:
        if isinstance(error, ValidationError) or getattr(error, "sqlstate", None) == "22001":
            return True
        error = error.original_error if isinstance(error, GraphQLError) else error.__cause__
    return False


def _render(value: Any) -> Any:
    if isinstance(value, GlobalRef):
        return str(to_global_id(value.type_name, value.db_id))
    return value


def log_unexpected(errors: list[GraphQLError], request_id: str | None) -> None:
    """Only unexpected exceptions are server errors worth a traceback in the log. A refusal
    (CONFLICT when an activity is full, FORBIDDEN...) or bad input is an answer: strawberry's
    default logged each with its traceback, which cost a sign-up crowd where a third of the
    requests are refused ~15 % of a worker's CPU (bench/signup.py) and buried real errors."""
    for error in errors:
        if does_not_fit(error.original_error):
            # One line and no value (it may be personal data): the path names the input whose
            # bound is longer than its column.
            log.warning("value does not fit its column request_id=%s path=%s", request_id,
                        ".".join(str(p) for p in error.path or []))
        elif (failure := transient(original_of(error))) is not None:
            # One line per request: a database restart cuts every connection at once, and
            # a traceback each would bury the log (the type says which way it was lost; its
            # driver code, never its message, which may quote values).
            kind, cause = failure
            what = {"lost": "database unreachable", "busy": "database busy",
                    "redis": "redis unreachable"}[kind]
            log.warning("%s request_id=%s path=%s error=%s", what, request_id,
                        ".".join(str(p) for p in error.path or []), describe(cause))
        elif error_code(error)[0] == "INTERNAL":
            log.error(
                "unexpected error request_id=%s path=%s",
                request_id,
                ".".join(str(p) for p in error.path or []),
                exc_info=error.original_error,
            )


def request_language(context: Any) -> str:
    """zh-CN or en, from the request's (or the WebSocket upgrade's) Accept-Language."""
    chosen = getattr(context, "language", None)
    if chosen is not None:
        return str(chosen)
    request = getattr(context, "request", None)
    headers = getattr(request, "headers", None)
    return choose_language(headers.get("accept-language") if headers is not None else None)


def format_error(error: GraphQLError, request_id: str | None, language: str = EN) -> GraphQLError:
    code, extra = error_code(error)
    catalogue_code = code
    if code == "INTERNAL":
        message = "Internal server error."
        extra = {"requestId": request_id} if request_id else {}
    elif code == "UNAVAILABLE":
        message = TRANSIENT_MESSAGES.get(extra.get("reason", ""), UNAVAILABLE_MESSAGE)
        extra = {**extra, "requestId": request_id} if request_id else extra
    elif does_not_fit(error.original_error):
        message = "A value is too long (or out of range) for what it is stored in."
        catalogue_code = "TOO_LONG"
    else:
        message = error.message
    original = original_of(error)
    what = original.what if isinstance(original, NotFound) else None
    message = message_for(language, catalogue_code, extra, message, what)
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**extra, "code": code},
    )


def finish_result(result: Any, context: Any) -> None:
    """Give every error of a finished result its code (in place) and note the outcome."""
    errors = getattr(result, "errors", None)
    if errors:
        request_id = getattr(context, "request_id", None)
        language = request_language(context)
        errors[:] = [
            localised(error, language) if (error.extensions or {}).get("code")
            else format_error(error, request_id, language)
            for error in errors
        ]
    if context is not None and hasattr(context, "outcome"):
        context.outcome = (errors[0].extensions or {}).get("code", "INTERNAL") if errors else "OK"


def localised(error: GraphQLError, language: str) -> GraphQLError:
    """An error that already carries its code, said in the reader's language (a copy)."""
    if language == EN:
        return error
    extensions = dict(error.extensions or {})
    message = message_for(language, str(extensions.get("code")), extensions, error.message)
    if message == error.message:
        return error
    return GraphQLError(message=message, nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, extensions=extensions)


class OperationName(SchemaExtension):
    """Records the operation name on the context for the one-line request log."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None and hasattr(context, "operation_name"):
            context.operation_name = self.execution_context.operation_name
        yield


class CodedSchema(strawberry.Schema):
    """A schema whose every result, on every path (parse, validation, execution,
    subscription events), carries `extensions.code` as API.md requires."""

    prepared: Any = None  # schema/prepared.py's PreparedOperations, set by build_schema
    reads: Any = None  # schema/reads/execute.py's CompiledReads, set by build_schema
    concealment: Concealment | None = None  # set by build_schema when introspection is off

    def _get_execute_function(self) -> Any:
        execute = super()._get_execute_function()
        return self.reads.wrap(execute) if self.reads is not None else execute

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: Any | None = None) -> None:
        """Strawberry calls this on every path, before masking: see log_unexpected; with
        introspection off, schema/concealment.py rewords graphql-core's messages here."""
        context = getattr(execution_context, "context", None)
        log_unexpected(errors, getattr(context, "request_id", None))
        if self.concealment is not None:
            self.concealment.reword(errors)

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, *args: Any, **kwargs: Any) -> Any:
        result = await super().execute(query, variable_values, context_value, *args, **kwargs)
        finish_result(result, context_value)
        return result

    async def stream(self, query: str | None, variable_values: dict[str, Any] | None = None,
                     context_value: Any | None = None, *args: Any, **kwargs: Any) -> Any:
        result = await super().stream(query, variable_values, context_value, *args, **kwargs)
        if not hasattr(result, "__aiter__"):
            finish_result(result, context_value)
            return result
        return _coded_stream(result, context_value)


async def _coded_stream(results: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
    try:
        async for result in results:
            finish_result(result, context)
            yield result
    finally:
        close = getattr(results, "aclose", None)
        if close is not None:
            await close()
