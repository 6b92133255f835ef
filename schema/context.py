"""The per-request (and per-WebSocket-connection) context every field sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from resolvers.auth import Viewer
from schema.loaders import Loaders


@dataclass
class Context:
    request: Any = None
    response: Any = None
    viewer: Viewer = field(default_factory=Viewer)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    client_address: str = "unknown"
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(default_factory=Loaders)
    operation_name: str | None = None
    outcome: str = "OK"

    def fresh_loaders(self) -> Loaders:
        """A subscription calls this before each event so no event sees another's cache."""
        self.loaders = Loaders()
        return self.loaders


Info = StrawberryInfo[Context, None]


async def administered_teams(info: Info) -> set[int]:
    """Team ids the viewer administers (directly or through an ancestor), once per request."""
    from resolvers.volunteer import administered_team_ids

    viewer_id = info.context.viewer.id
    if viewer_id is None:
        return set()

    async def batch(keys: list[int]) -> list[set[int]]:
        teams = await administered_team_ids(keys[0])
        return [teams for _ in keys]

    return await info.context.loaders.get(("administered", viewer_id), batch).load(viewer_id)
