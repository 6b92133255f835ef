"""The calendar feeds over plain HTTP (calendar apps subscribe to a URL; no GraphQL):

- GET /calendar/feed/<token>.ics — a person's secret feed (404 once revoked);
- GET /calendar/team/<team ID>.ics — a team's public feed of published activities.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from resolvers import calendar as rules
from resolvers.errors import BadInput
from schema.relay import decode_id

MEDIA_TYPE = "text/calendar; charset=utf-8"


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404)


async def person_feed(request: Request) -> Response:
    volunteer_id = await rules.feed_owner(request.path_params["token"])
    if volunteer_id is None:
        return _not_found()
    body = await rules.person_calendar(volunteer_id)
    # The URL is a secret: no shared cache may keep it, and no referrer may carry it on.
    return Response(body, media_type=MEDIA_TYPE, headers={
        "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


async def team_feed(request: Request) -> Response:
    try:
        team_id = decode_id(request.path_params["team"], "Team", "team")
    except BadInput:
        return _not_found()
    body = await rules.team_calendar(team_id)
    if body is None:
        return _not_found()
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "public, max-age=300"})


ROUTES = [
    Route("/calendar/feed/{token}.ics", person_feed, methods=["GET"]),
    Route("/calendar/team/{team}.ics", team_feed, methods=["GET"]),
]


def person_feed_path(token: str) -> str:
    return f"/calendar/feed/{token}.ics"


def team_feed_path(team_global_id: str) -> str:
    return f"/calendar/team/{team_global_id}.ics"
