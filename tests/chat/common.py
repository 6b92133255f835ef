"""Chat fixtures built straight on the models and rules (fast)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from models.chat import ChatRoom
from models.team import Team
from models.volunteer import Volunteer
from resolvers import chat
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import add_member, make_team, make_volunteer


def gid(kind: str, db_id: int) -> str:
    return str(to_global_id(kind, db_id))


@dataclass
class TeamRoom:
    admin: Volunteer
    member: Volunteer
    other: Volunteer
    stranger: Volunteer
    team: Team
    room: ChatRoom


async def team_room() -> TeamRoom:
    admin = await make_volunteer("队长王强")
    member = await make_volunteer("李明")
    other = await make_volunteer("张丽")
    team = await make_team(admin, "朝阳门社区志愿服务队")
    await add_member(team, member)
    await add_member(team, other)
    scope = await chat.do_open_room(Viewer(member), team_id=team.id, activity_id=None)
    return TeamRoom(admin, member, other, await make_volunteer("路人"), team, scope.room)


async def say(person: Volunteer, room: ChatRoom, body: str, client_id: str | None = None,
              mentions: list[int] | None = None) -> chat.Posted:
    posted = await chat.do_post_message(Viewer(person), room.id, chat.MessageData(
        body=body, client_id=client_id or f"c-{body}", photo_urls=[], mention_ids=mentions or []))
    await chat.notify_posted(posted)
    return posted


async def subscribe(query: str, person: Volunteer, variables: dict[str, Any]) -> Any:
    return await schema.subscribe(query, variable_values=variables,
                                  context_value=Context(viewer=Viewer(person)))


async def next_event(stream: Any, wait: float = 5.0) -> Any:
    return await asyncio.wait_for(stream.__anext__(), wait)
