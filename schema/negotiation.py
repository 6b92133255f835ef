"""GraphQL over HTTP's media types: which one a request accepts, and the status and shape a
result gets in it (https://graphql.github.io/graphql-over-http/draft/)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from graphql import GraphQLError
from strawberry.http import GraphQLHTTPResponse

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Accept values answered by strawberry's streaming transports (SSE, multipart subscriptions)
# rather than by one JSON document.
STREAMING = ("text/event-stream", "multipart/mixed")


@lru_cache(maxsize=256)
def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither (406). No Accept
    header means application/graphql-response+json, as the spec asks; `*/*` and
    `application/*` mean application/json, which every client written before that media type
    reads (browsers' and Node's fetch send `*/*` when the caller sets nothing)."""
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE
    best: str | None = None
    best_q = 0.0
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media = media.strip().lower()
        if media == GRAPHQL_RESPONSE:
            offered = GRAPHQL_RESPONSE
        elif media in (JSON, "application/*", "*/*"):
            offered = JSON
        else:
            continue
        q = _quality(parameters)
        if q > best_q:
            best, best_q = offered, q
    return best


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def streams(accept: str | None) -> bool:
    """Whether the request asks for a streaming transport, which negotiates by itself."""
    return accept is not None and any(kind in accept.lower() for kind in STREAMING)


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """A result that never reached execution: the document did not parse or validate, the
    variables did not coerce, or the operation was refused before any field ran. Field errors
    carry a path; these do not."""
    return data is None and bool(errors) and all(error.path is None for error in errors or ())


def shape(media_type: str | None, data: object, errors: Sequence[GraphQLError] | None,
          processed: GraphQLHTTPResponse) -> int:
    """The status for one result in the negotiated media type; removes the `data` entry of a
    request error answered in application/graphql-response+json, which must not have one.
    application/json answers 200 whatever happened, as clients written for it expect."""
    if media_type == GRAPHQL_RESPONSE and is_request_error(data, errors):
        processed.pop("data", None)
        return 400
    return 200
