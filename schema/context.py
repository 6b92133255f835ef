"""The per-request (and per-WebSocket-connection) context every field sees."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.types import Info as StrawberryInfo

from resolvers.auth import Viewer
from schema.loaders import AdministeredTeamsByVolunteerLoader, Loaders

if TYPE_CHECKING:
    from schema.live.fanout import Audience

# Request ids: 16 hex digits, a random per-process prefix and a counter. Unique across the
# workers and restarts of a deployment for log correlation (not a secret), and no urandom
# system call per request as uuid4() makes.
_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER) & 0xFFFFFFFF:08x}"


@dataclass
class Context:
    request: Any = None
    response: Any = None
    viewer: Viewer = field(default_factory=Viewer)
    request_id: str = field(default_factory=new_request_id)
    client_address: str = "unknown"
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(default_factory=Loaders)
    operation_name: str | None = None
    outcome: str = "OK"
    # A shared subscription group's execution (schema/live/fanout.py): the group, not the
    # resolver, measures when its frames are written; the resolver leaves the commit time
    # (Unix seconds) of what it yields in changed_at.
    fan_out: bool = False
    changed_at: float | None = None
    # The group's members, for a resolver whose access rule must be re-checked per member
    # while the subscription is open (schema/live/fanout.py Audience); None elsewhere.
    audience: Audience | None = None
    # HTTP queries may answer root fields with JSON text the database built (schema/reads):
    # only a transport that splices it (schema/view.py encode_json) turns this on.
    compiled_reads: bool = False
    # Error messages' language (resolvers/messages.py), when the transport chose it without a
    # request object (the prepared edge) or before releasing the headers (a WebSocket's, read
    # at connection_init); else it comes from request.headers' Accept-Language.
    language: str | None = None
    # Why connection_init was refused, worded in `language` (the close reason of 4403).
    refusal: str | None = None

    def fresh_loaders(self) -> Loaders:
        """A subscription calls this before each event so no event sees another's cache."""
        self.loaders = Loaders()
        return self.loaders


Info = StrawberryInfo[Context, None]


async def administered_teams(info: Info) -> set[int]:
    """Team ids the viewer administers (directly or through an ancestor), once per request."""
    viewer_id = info.context.viewer.id
    if viewer_id is None:
        return set()
    return await info.context.loaders.named(AdministeredTeamsByVolunteerLoader).load(viewer_id)
