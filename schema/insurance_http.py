"""The insurer's roster (名单) as a streaming CSV download:

    GET /insurance/<policy ID>/roster.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&reason=…]
    Authorization: Bearer <token>

Platform admins only (403 otherwise, 401 without a valid token). ID numbers are masked unless
a reason is given; every person on the roster is logged as exported before the first byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers import insurance as rules
from resolvers.auth import viewer_from_token
from resolvers.errors import DomainError
from schema.relay import decode_id

STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "BAD_USER_INPUT": 400}


async def roster(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    try:
        viewer = await viewer_from_token(token)
        if viewer.volunteer is None:
            return PlainTextResponse("Sign in first.", status_code=401)
        policy_id = decode_id(request.path_params["policy"], "InsurancePolicy", "policy")
        try:
            first = date.fromisoformat(request.query_params.get("from", ""))
            last = date.fromisoformat(request.query_params.get("to", ""))
        except ValueError:
            return PlainTextResponse("from and to must be dates (YYYY-MM-DD).", status_code=400)
        checked = await rules.check_roster(
            viewer, policy_id, first, last, request.query_params.get("reason"),
            request.client.host if request.client else "")
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=STATUS.get(error.code, 400))
    name = f"roster-{checked.policy.policy_number}-{first}-{last}.csv"
    return StreamingResponse(_csv(checked), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


async def _csv(request: rules.RosterRequest) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # Excel opens UTF-8 CSV with Chinese text correctly only with a BOM
    async for row in rules.roster_lines(request):
        writer.writerow(row)
        if buffer.tell() > 32_768:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


ROUTES = [Route("/insurance/{policy}/roster.csv", roster, methods=["GET"])]
