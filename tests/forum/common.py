"""Forum fixtures built straight on the rules (fast), shared by the forum and feed tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from forum import rules
from forum.models import Board, Post, Thread
from models.activity import Activity, ActivityStatus
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.services import services
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import make_volunteer


def gid(kind: str, db_id: int) -> str:
    return str(to_global_id(kind, db_id))


@dataclass
class Forum:
    admin: Volunteer
    moderator: Volunteer
    other_moderator: Volunteer
    member: Volunteer
    stranger: Volunteer
    board: Board
    other_board: Board


async def make_board(admin: Volunteer, slug: str, name: str, category: str = "项目",
                     moderators: tuple[Volunteer, ...] = ()) -> Board:
    board = await rules.do_create_board(Viewer(admin), rules.BoardData(
        slug=slug, name=name, description=f"{name}交流", category=category))
    for person in moderators:
        await rules.do_assign_moderator(Viewer(admin), board.id, person.id)
    return board


async def make_forum() -> Forum:
    admin = await make_volunteer("平台管理员", platform_admin=True)
    moderator = await make_volunteer("版主甲")
    other_moderator = await make_volunteer("版主乙")
    board = await make_board(admin, "fangyi", "防疫志愿", moderators=(moderator,))
    other_board = await make_board(admin, "zhulao", "助老服务", moderators=(other_moderator,))
    return Forum(admin=admin, moderator=moderator, other_moderator=other_moderator,
                 member=await make_volunteer("李明"), stranger=await make_volunteer("王芳"),
                 board=board, other_board=other_board)


async def open_thread(author: Volunteer, board: Board, title: str = "社区防疫志愿服务招募",
                      body: str = "本周末在朝阳区开展社区防疫志愿服务，欢迎报名。") -> Thread:
    thread, _ = await rules.do_create_thread(Viewer(author), board.id, title, body)
    await reset_post_limit(author)
    return thread


async def write_reply(author: Volunteer, thread: Thread, body: str = "我报名参加！") -> Post:
    post, _ = await rules.do_reply(Viewer(author), thread.id, body)
    await reset_post_limit(author)
    return post


async def reset_post_limit(person: Volunteer) -> None:
    """Fixtures write many posts quickly; only the rate-limit test wants the limit."""
    await services().limiter.reset(f"forum:post:{person.id}")


async def opening_post(thread: Thread) -> Post:
    return await Post.get(thread_id=thread.id, is_opening=True)


async def make_activity(team: Team, creator: Volunteer, *,
                        status: ActivityStatus = ActivityStatus.PUBLISHED,
                        ends_in: timedelta = timedelta(days=3),
                        title: str = "社区助老活动") -> Activity:
    ends_at = datetime.now(UTC).replace(microsecond=0) + ends_in
    starts_at = ends_at - timedelta(hours=3)
    return await Activity.create(
        team=team, created_by=creator, title=title, description="陪伴社区老人。",
        category="助老", district="朝阳区", starts_at=starts_at, ends_at=ends_at,
        sign_up_deadline=starts_at, capacity=10, waitlist_limit=10, hours_credit=3,
        status=status)


async def subscribe(query: str, person: Volunteer | None, variables: dict[str, Any]) -> Any:
    context = Context(viewer=Viewer(person))
    return await schema.subscribe(query, variable_values=variables, context_value=context)


async def next_event(stream: Any, wait: float = 5.0) -> Any:
    return await asyncio.wait_for(stream.__anext__(), wait)
