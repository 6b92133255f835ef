"""The roster upload of the volunteer import (issue 26), beside the other HTTP edges:

    POST /imports/volunteers?name=<the file's name, .csv or .xlsx>
    Authorization: Bearer <token>            (a platform admin)
    <the file's bytes as the body>           (fetch(url, {method: "POST", body: file}))
    → 202 {"id": "<VolunteerImport ID>", "status": "QUEUED"}; read progress with volunteerImport(id:)

A plain POST rather than a GraphQL multipart mutation: the body is streamed to a temporary
file and counted chunk by chunk against IMPORT_MAX_BYTES (a declared Content-Length over it is
refused before one byte is read), with its own bound instead of the 1 MB every GraphQL request
has; no multipart parser, and no multipart/form-data on /graphql, a content type browsers
send cross-site without a preflight (strawberry keeps it off by default for that reason).

Refusals come before anything is written, as coded JSON errors in the reader's language
(Accept-Language): 401 UNAUTHENTICATED, 403 FORBIDDEN, 400 BAD_USER_INPUT (no name, not
.csv/.xlsx, empty), 413 BAD_USER_INPUT with reason TOO_LARGE and maxBytes.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.settings import get_settings
from resolvers import importer_jobs as rules
from resolvers.errors import DomainError
from resolvers.messages import choose_language, message_for
from schema.exports_http import STATUS, signed_in
from schema.relay import to_global_id

PATH = "/imports/volunteers"


def refusal(request: Request, error: DomainError) -> JSONResponse:
    language = choose_language(request.headers.get("accept-language"))
    extensions = {"code": error.code, **error.extensions}
    message = message_for(language, error.code, extensions, error.message)
    status = 413 if error.extensions.get("reason") == "TOO_LARGE" else STATUS.get(error.code, 400)
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]},
                        status_code=status)


async def _receive(request: Request, path: Path, max_bytes: int) -> None:
    """The body into `path`, refused as soon as it passes max_bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise rules.FileTooLarge(max_bytes)
    received = 0
    with path.open("wb") as handle:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise rules.FileTooLarge(max_bytes)
            handle.write(chunk)


async def upload_roster(request: Request) -> Response:
    try:
        viewer = await signed_in(request)
        admin = rules.check_may_import(viewer)
        name = rules.check_file_name(request.query_params.get("name"))
        descriptor, raw_path = tempfile.mkstemp(prefix="tongxin-upload-", suffix=Path(name).suffix.lower())
        os.close(descriptor)
        path = Path(raw_path)
        try:
            await _receive(request, path, get_settings().import_max_bytes)
            job = await rules.do_queue_import(admin, name, path)
        finally:
            await asyncio.to_thread(path.unlink, True)  # missing_ok
    except DomainError as error:
        return refusal(request, error)
    except ClientDisconnect:
        return Response(status_code=400)
    rules.start_import(job.id)
    return JSONResponse({"id": to_global_id("VolunteerImport", job.id), "status": job.status.value},
                        status_code=202)


ROUTES = [Route(PATH, upload_roster, methods=["POST"])]
