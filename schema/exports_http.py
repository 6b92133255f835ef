"""Streaming downloads (CSV or XLSX, core/tabular.py), with the GraphQL bearer token:

    GET /activities/<activity ID>/roster.csv|.xlsx[?reason=…]
    GET /teams/<team ID>/hours.csv|.xlsx?from=YYYY-MM-DD&to=YYYY-MM-DD
    Authorization: Bearer <token>

Every check runs before the response starts, so a refusal is a status with a JSON body in the
GraphQL error shape (`{"errors": [{"message", "extensions": {"code"}}]}`: 401
UNAUTHENTICATED, 403 FORBIDDEN, 404 NOT_FOUND, 400 BAD_USER_INPUT) and not one row.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from core.tabular import MEDIA_TYPES, Cell, TableFormat, table_chunks
from resolvers import exports as rules
from resolvers.auth import Viewer, viewer_from_token
from resolvers.errors import BadInput, DomainError, Unauthenticated
from resolvers.messages import choose_language, message_for
from schema.relay import decode_id

UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]")
STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "BAD_USER_INPUT": 400}


def error_response(request: Request, error: DomainError) -> JSONResponse:
    """A refusal in the reader's language (Accept-Language), worded as /graphql words it."""
    extensions = {"code": error.code, **error.extensions}
    message = message_for(choose_language(request.headers.get("accept-language")), error.code,
                          extensions, error.message, getattr(error, "what", None))
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]},
                        status_code=STATUS.get(error.code, 400))


async def signed_in(request: Request) -> Viewer:
    """The viewer behind `Authorization: Bearer …`, as for /graphql; nobody is refused."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    viewer = await viewer_from_token(token)
    if viewer.volunteer is None:
        raise Unauthenticated()
    return viewer


def table_format(request: Request) -> TableFormat:
    try:
        return TableFormat(request.path_params["format"])
    except ValueError:
        raise BadInput("format", "Download .csv or .xlsx.") from None


def day_param(request: Request, name: str) -> date:
    try:
        return date.fromisoformat(request.query_params.get(name, ""))
    except ValueError:
        raise BadInput(name, f"{name} must be a date (YYYY-MM-DD).") from None


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def download(rows: AsyncIterator[Sequence[Cell]], chosen: TableFormat, name: str,
             sheet: str) -> StreamingResponse:
    """Headers go out at once, rows as they are read; `name` is reduced to ASCII (headers
    are Latin-1, and a policy number may hold anything)."""
    safe = UNSAFE_IN_FILENAME.sub("_", name)
    return StreamingResponse(table_chunks(rows, chosen, sheet), media_type=MEDIA_TYPES[chosen],
                             headers={"Content-Disposition": f'attachment; filename="{safe}.{chosen}"',
                                      "Cache-Control": "private, no-store"})


def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Domain errors raised before the first byte become coded error responses."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except DomainError as error:
            return error_response(request, error)
    return endpoint


@guarded
async def activity_roster(request: Request) -> Response:
    viewer = await signed_in(request)
    chosen = table_format(request)
    activity_id = decode_id(request.path_params["activity"], "Activity", "activity")
    export = await rules.check_roster_export(viewer, activity_id,
                                             request.query_params.get("reason"),
                                             client_address(request))
    return download(rules.roster_rows(export), chosen, f"roster-activity-{activity_id}", "名单")


@guarded
async def team_hours(request: Request) -> Response:
    viewer = await signed_in(request)
    chosen = table_format(request)
    team_id = decode_id(request.path_params["team"], "Team", "team")
    first, last = day_param(request, "from"), day_param(request, "to")
    export = await rules.check_hours_export(viewer, team_id, first, last)
    return download(rules.hours_rows(export), chosen, f"hours-team-{team_id}-{first}-{last}",
                    "服务时长")


ROUTES = [
    Route("/activities/{activity}/roster.{format}", activity_roster, methods=["GET"]),
    Route("/teams/{team}/hours.{format}", team_hours, methods=["GET"]),
]
