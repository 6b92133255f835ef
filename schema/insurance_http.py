"""The insurer's roster (名单) as a streaming CSV or XLSX download (core/tabular.py):

    GET /insurance/<policy ID>/roster.csv|.xlsx?from=YYYY-MM-DD&to=YYYY-MM-DD[&reason=…]
    Authorization: Bearer <token>

Platform admins only; refusals are coded JSON errors as for the other downloads
(schema/exports_http.py). ID numbers are masked unless a reason is given; every person on
the roster is logged as exported before the first byte.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from resolvers import insurance as rules
from schema.exports_http import client_address, day_param, download, guarded, signed_in, table_format
from schema.relay import decode_id


@guarded
async def roster(request: Request) -> Response:
    viewer = await signed_in(request)
    chosen = table_format(request)
    policy_id = decode_id(request.path_params["policy"], "InsurancePolicy", "policy")
    first, last = day_param(request, "from"), day_param(request, "to")
    checked = await rules.check_roster(viewer, policy_id, first, last,
                                       request.query_params.get("reason"), client_address(request))
    return download(rules.roster_lines(checked), chosen,
                    f"roster-{checked.policy.policy_number}-{first}-{last}", "名单")


ROUTES = [Route("/insurance/{policy}/roster.{format}", roster, methods=["GET"])]
