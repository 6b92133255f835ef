"""Forum GraphQL: boards, threads, posts, reactions, reports, moderation, search,
experience posts and the live `boardActivity` subscription. Fields convert arguments and
call forum/rules.py; lists go through per-request loaders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Hashable
from contextlib import aclosing
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry
from strawberry.dataloader import DataLoader
from tortoise.functions import Count

from core.cursors import open_cursor, seal_cursor
from forum import rules
from forum import search as forum_search
from forum.models import Board as BoardModel
from forum.models import BoardModerator, Reaction
from forum.models import ExperiencePost as ExperiencePostModel
from forum.models import ModerationAction as ModerationActionModel
from forum.models import ModerationLog as ModerationLogModel
from forum.models import Post as PostModel
from forum.models import ReactionKind as ReactionKindModel
from forum.models import Report as ReportModel
from forum.models import Thread as ThreadModel
from models.activity import Activity as ActivityModel
from resolvers.auth import Viewer
from resolvers.errors import BadInput, DomainError
from resolvers.services import services
from schema.activity import Activity
from schema.cachecontrol import cache_hint
from schema.context import Context, Info
from schema.live.fanout import ShareMode, ShareRule, share
from schema.loaders import NamedLoader
from schema.relay import (
    BY_ID,
    NEWEST_FIRST,
    Connection,
    Edge,
    Node,
    Order,
    PageInfo,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    parse_global_id,
    register_node,
    to_global_id,
)
from schema.volunteer import Volunteer, load_volunteer, require_volunteer, volunteer_loader
from subscriptions import channels
from subscriptions.broker import RESYNC

if TYPE_CHECKING:
    ReactionKind: TypeAlias = ReactionKindModel
    ModerationAction: TypeAlias = ModerationActionModel
else:
    ReactionKind = strawberry.enum(ReactionKindModel, name="ReactionKind",
                                   description="Kinds of reaction to a post.")
    ModerationAction = strawberry.enum(ModerationActionModel, name="ModerationAction",
                                       description="What a moderator can do.")

# Pinned first, then the latest activity; id breaks ties (newest first).
THREAD_ORDER = Order(fields=(("pinned", True), ("last_post_at", True)), id_descending=True)


# --- per-request helpers ---------------------------------------------------------------


class ModeratesByBoardLoader(NamedLoader[int, bool]):
    """Whether the viewer moderates each board; one query per request, none for admins."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__()
        self.viewer = viewer

    async def batch_load(self, board_ids: list[int]) -> list[bool]:
        if self.viewer.volunteer is None:
            return [False] * len(board_ids)
        if self.viewer.is_platform_admin:
            return [True] * len(board_ids)
        moderated = await rules.moderated_among(self.viewer.volunteer.id, board_ids)
        return [board_id in moderated for board_id in board_ids]


async def viewer_moderates(info: Info, board_id: int) -> bool:
    return await info.context.loaders.named(ModeratesByBoardLoader, info.context.viewer).load(
        board_id)


def board_loader(info: Info) -> DataLoader[int, BoardModel | None]:
    return info.context.loaders.by_id(BoardModel)


def thread_loader(info: Info) -> DataLoader[int, ThreadModel | None]:
    return info.context.loaders.by_id(ThreadModel)


def post_loader(info: Info) -> DataLoader[int, PostModel | None]:
    return info.context.loaders.by_id(PostModel)


async def visible_thread(info: Info, thread_id: int) -> ThreadModel | None:
    thread = await thread_loader(info).load(thread_id)
    if thread is None or (thread.hidden and not await viewer_moderates(info, thread.board_id)):
        return None
    return thread


async def visible_post(info: Info, post_id: int) -> PostModel | None:
    post = await post_loader(info).load(post_id)
    if post is None:
        return None
    thread = await thread_loader(info).load(post.thread_id)
    if thread is None:
        return None
    if (post.hidden or thread.hidden) and not await viewer_moderates(info, thread.board_id):
        return None
    return post


async def _author(info: Info, volunteer_id: int) -> Volunteer:
    return await require_volunteer(info, volunteer_id)


# --- types -----------------------------------------------------------------------------


@strawberry.type(description="How many people reacted to a post with one kind.")
class ReactionCount:
    kind: ReactionKind = strawberry.field(description="The reaction.")
    count: int = strawberry.field(description="How many people gave it.")


@strawberry.type(description="A discussion board (版块) run by its moderators.")
class Board(Node):
    model: strawberry.Private[BoardModel]
    slug: str = strawberry.field(description="URL name, unique.")
    name: str = strawberry.field(description="Display name, e.g. 防疫志愿.")
    description: str = strawberry.field(description="What the board is for.")
    category: str = strawberry.field(description="Category (project area, internships, life...).")

    @classmethod
    def from_model(cls, model: BoardModel) -> Board:
        return cls(db_id=model.id, model=model, slug=model.slug, name=model.name,
                   description=model.description, category=model.category)

    @strawberry.field(description="Moderators of this board.")
    async def moderators(self, info: Info) -> list[Volunteer]:
        links = await info.context.loaders.grouped(
            "forum.board.moderators", BoardModerator, "board_id").load(self.db_id)
        people = await volunteer_loader(info).load_many([link.volunteer_id for link in links])
        return [Volunteer.from_model(person) for person in people if person is not None]

    @strawberry.field(description="Visible threads on this board.")
    async def thread_count(self, info: Info) -> int:
        return await info.context.loaders.counts(
            "forum.board.threads", ThreadModel, "board_id", hidden=False).load(self.db_id)

    @strawberry.field(description="Whether the signed-in volunteer moderates this board.")
    async def viewer_is_moderator(self, info: Info) -> bool:
        return await viewer_moderates(info, self.db_id)

    @strawberry.field(description="Threads, pinned first, then by latest activity. Moderators "
                                  "also see hidden threads (marked `hidden`).")
    async def threads(self, info: Info, first: int | None = None,
                      after: str | None = None) -> Connection[Thread]:
        query = ThreadModel.filter(board_id=self.db_id)
        if not await viewer_moderates(info, self.db_id):
            query = query.filter(hidden=False)
        return await paginate(query, first, after, convert=Thread.from_model, order=THREAD_ORDER)

    @strawberry.field(description="The reports queue, oldest first (moderators only).")
    async def reports(self, info: Info, first: int | None = None, after: str | None = None,
                      include_resolved: bool = False) -> Connection[Report]:
        query = await rules.check_report_queue(info.context.viewer, self.db_id, include_resolved)
        return await paginate(query, first, after, convert=Report.from_model, order=BY_ID)

    @strawberry.field(description="Moderation actions on this board, newest first "
                                  "(moderators only).")
    async def moderation_log(self, info: Info, first: int | None = None,
                             after: str | None = None) -> Connection[ModerationLog]:
        query = await rules.check_moderation_log(info.context.viewer, self.db_id)
        return await paginate(query, first, after, convert=ModerationLog.from_model,
                              order=NEWEST_FIRST)


@strawberry.type(description="A discussion thread; its first post is the opening body.")
class Thread(Node):
    model: strawberry.Private[ThreadModel]
    title: str = strawberry.field(description="Thread title.")
    pinned: bool = strawberry.field(description="Pinned threads list first.")
    locked: bool = strawberry.field(description="Locked threads accept no replies.")
    hidden: bool = strawberry.field(description="Hidden by a moderator (only they see it).")
    created_at: datetime = strawberry.field(description="When the thread was opened.")
    last_post_at: datetime = strawberry.field(description="When the latest post was written.")
    reply_count: int = strawberry.field(description="Visible replies (the opening post "
                                                    "excluded).")

    @classmethod
    def from_model(cls, model: ThreadModel) -> Thread:
        return cls(db_id=model.id, model=model, title=model.title, pinned=model.pinned,
                   locked=model.locked, hidden=model.hidden, created_at=model.created_at,
                   last_post_at=model.last_post_at, reply_count=model.reply_count)

    @strawberry.field(description="The board the thread is on.")
    async def board(self, info: Info) -> Board:
        board = await board_loader(info).load(self.model.board_id)
        assert board is not None
        return Board.from_model(board)

    @strawberry.field(description="Who opened the thread (real name display).")
    async def author(self, info: Info) -> Volunteer:
        return await _author(info, self.model.author_id)

    @strawberry.field(description="Posts, oldest first; the first is the opening body. Hidden "
                                  "posts are left out except for moderators.")
    async def posts(self, info: Info, first: int | None = None,
                    after: str | None = None) -> Connection[Post]:
        check_first(first)
        moderator = await viewer_moderates(info, self.model.board_id)
        equals: dict[str, Any] = {} if moderator else {"hidden": False}
        return await info.context.loaders.child_page(
            ("forum.thread.posts", moderator), PostModel, "thread_id", self.db_id, first, after,
            BY_ID, convert=Post.from_model, **equals)


@strawberry.type(description="A post: the opening body of a thread or a reply.")
class Post(Node):
    model: strawberry.Private[PostModel]
    body: str = strawberry.field(description="Text of the post.")
    hidden: bool = strawberry.field(description="Hidden by a moderator (only they see it).")
    is_opening: bool = strawberry.field(description="Whether this is the thread's opening post.")
    created_at: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def from_model(cls, model: PostModel) -> Post:
        return cls(db_id=model.id, model=model, body=model.body, hidden=model.hidden,
                   is_opening=model.is_opening, created_at=model.created_at)

    @strawberry.field(description="The thread the post belongs to.")
    async def thread(self, info: Info) -> Thread:
        thread = await thread_loader(info).load(self.model.thread_id)
        assert thread is not None
        return Thread.from_model(thread)

    @strawberry.field(description="Who wrote it (real name display).")
    async def author(self, info: Info) -> Volunteer:
        return await _author(info, self.model.author_id)

    @strawberry.field(description="Reaction counts by kind (kinds nobody used are left out).")
    async def reactions(self, info: Info) -> list[ReactionCount]:
        return await info.context.loaders.named(ReactionCountsByPostLoader).load(self.db_id)

    @strawberry.field(description="The signed-in volunteer's own reactions to this post.")
    async def my_reactions(self, info: Info) -> list[ReactionKind]:
        viewer_id = info.context.viewer.id
        if viewer_id is None:
            return []
        return await info.context.loaders.named(ReactionKindsByPostLoader, viewer_id).load(
            self.db_id)


class ReactionCountsByPostLoader(NamedLoader[int, list[ReactionCount]]):
    """Each post's reaction counts by kind, in one GROUP BY."""

    async def batch_load(self, post_ids: list[int]) -> list[list[ReactionCount]]:
        rows = await (Reaction.filter(post_id__in=post_ids).annotate(n=Count("id"))
                      .group_by("post_id", "kind").values("post_id", "kind", "n"))
        found: dict[int, dict[str, int]] = defaultdict(dict)
        for row in rows:
            kind = row["kind"].value if hasattr(row["kind"], "value") else row["kind"]
            found[row["post_id"]][kind] = int(row["n"])
        return [[ReactionCount(kind=kind, count=found[pid][kind.value])
                 for kind in ReactionKindModel if found[pid].get(kind.value)]
                for pid in post_ids]


class ReactionKindsByPostLoader(NamedLoader[int, list[ReactionKindModel]]):
    """The kinds of reaction a volunteer gave each post."""

    def __init__(self, volunteer_id: int) -> None:
        super().__init__()
        self.volunteer_id = volunteer_id

    async def batch_load(self, post_ids: list[int]) -> list[list[ReactionKindModel]]:
        rows = await Reaction.filter(post_id__in=post_ids, volunteer_id=self.volunteer_id).values(
            "post_id", "kind")
        mine: dict[int, set[str]] = defaultdict(set)
        for row in rows:
            kind = row["kind"].value if hasattr(row["kind"], "value") else row["kind"]
            mine[row["post_id"]].add(kind)
        return [[kind for kind in ReactionKindModel if kind.value in mine[pid]]
                for pid in post_ids]


@strawberry.type(description="A report about a post, waiting in its board's queue.")
class Report(Node):
    model: strawberry.Private[ReportModel]
    reason: str = strawberry.field(description="Why the reporter flagged the post.")
    resolved: bool = strawberry.field(description="Resolved by a moderation action.")
    created_at: datetime = strawberry.field(description="When it was reported.")

    @classmethod
    def from_model(cls, model: ReportModel) -> Report:
        return cls(db_id=model.id, model=model, reason=model.reason, resolved=model.resolved,
                   created_at=model.created_at)

    @strawberry.field(description="The reported post (moderators see it even when hidden).")
    async def post(self, info: Info) -> Post:
        post = await post_loader(info).load(self.model.post_id)
        assert post is not None
        return Post.from_model(post)

    @strawberry.field(description="Who reported it.")
    async def reporter(self, info: Info) -> Volunteer:
        return await _author(info, self.model.reporter_id)

    @strawberry.field(description="The moderation action that resolved it, if any.")
    async def resolution(self, info: Info) -> ModerationLog | None:
        if self.model.resolution_id is None:
            return None
        entry = await info.context.loaders.by_id(ModerationLogModel).load(
            self.model.resolution_id)
        return ModerationLog.from_model(entry) if entry else None


@strawberry.type(description="One moderation action: who did what to which content and why.")
class ModerationLog(Node):
    model: strawberry.Private[ModerationLogModel]
    action: ModerationAction = strawberry.field(description="What was done.")
    reason: str = strawberry.field(description="The moderator's reason.")
    until: datetime | None = strawberry.field(description="End of a suspension.")
    created_at: datetime = strawberry.field(description="When it was done.")

    @classmethod
    def from_model(cls, model: ModerationLogModel) -> ModerationLog:
        return cls(db_id=model.id, model=model, action=model.action, reason=model.reason,
                   until=model.until, created_at=model.created_at)

    @strawberry.field(description="The moderator or platform admin who acted.")
    async def actor(self, info: Info) -> Volunteer:
        return await _author(info, self.model.actor_id)

    @strawberry.field(description="The board the action was taken on.")
    async def board(self, info: Info) -> Board:
        board = await board_loader(info).load(self.model.board_id)
        assert board is not None
        return Board.from_model(board)

    @strawberry.field(description="The thread acted on, if any.")
    async def thread(self, info: Info) -> Thread | None:
        if self.model.thread_id is None:
            return None
        thread = await thread_loader(info).load(self.model.thread_id)
        return Thread.from_model(thread) if thread else None

    @strawberry.field(description="The post acted on, if any.")
    async def post(self, info: Info) -> Post | None:
        if self.model.post_id is None:
            return None
        post = await post_loader(info).load(self.model.post_id)
        return Post.from_model(post) if post else None

    @strawberry.field(description="The suspended volunteer (SUSPEND_USER).")
    async def target_volunteer(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.target_volunteer_id)

    @strawberry.field(description="Where the thread was moved to (MOVE).")
    async def to_board(self, info: Info) -> Board | None:
        if self.model.to_board_id is None:
            return None
        board = await board_loader(info).load(self.model.to_board_id)
        return Board.from_model(board) if board else None


@strawberry.type(description="An experience post (心得) about an activity the author served in.")
class ExperiencePost(Node):
    model: strawberry.Private[ExperiencePostModel]
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="What the volunteer learned.")
    photo_urls: list[str] = strawberry.field(description="Photo links (http/https).")
    created_at: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def from_model(cls, model: ExperiencePostModel) -> ExperiencePost:
        return cls(db_id=model.id, model=model, title=model.title, body=model.body,
                   photo_urls=list(model.photo_urls or []), created_at=model.created_at)

    @classmethod
    async def of_activity(
        cls, info: Info, activity_id: int, first: int | None, after: str | None
    ) -> Connection[ExperiencePost]:
        """`Activity.experiencePosts`: newest first, one windowed statement for many activities."""
        return await info.context.loaders.child_page(
            "forum.activity.experience", ExperiencePostModel, "activity_id", activity_id, first,
            after, NEWEST_FIRST, convert=cls.from_model)

    @strawberry.field(description="The activity it is about.")
    async def activity(
        self, info: Info
    ) -> Activity:
        activity = await info.context.loaders.by_id(ActivityModel).load(self.model.activity_id)
        assert activity is not None
        return Activity.from_model(activity)

    @strawberry.field(description="Who wrote it.")
    async def author(self, info: Info) -> Volunteer:
        return await _author(info, self.model.author_id)


# --- node(id:) -------------------------------------------------------------------------


async def _board_node(info: Info, db_id: int) -> Board | None:
    board = await board_loader(info).load(db_id)
    return Board.from_model(board) if board else None


async def _thread_node(info: Info, db_id: int) -> Thread | None:
    thread = await visible_thread(info, db_id)
    return Thread.from_model(thread) if thread else None


async def _post_node(info: Info, db_id: int) -> Post | None:
    post = await visible_post(info, db_id)
    return Post.from_model(post) if post else None


async def _report_node(info: Info, db_id: int) -> Report | None:
    report = await rules.check_visible_report(info.context.viewer, db_id)
    return Report.from_model(report) if report else None


async def _log_node(info: Info, db_id: int) -> ModerationLog | None:
    entry = await rules.check_visible_log(info.context.viewer, db_id)
    return ModerationLog.from_model(entry) if entry else None


async def _experience_node(info: Info, db_id: int) -> ExperiencePost | None:
    post = await info.context.loaders.by_id(ExperiencePostModel).load(db_id)
    return ExperiencePost.from_model(post) if post else None


register_node("Board", _board_node)
register_node("Thread", _thread_node)
register_node("Post", _post_node)
register_node("Report", _report_node)
register_node("ModerationLog", _log_node)
register_node("ExperiencePost", _experience_node)


# --- search ----------------------------------------------------------------------------


def _search_cursor(offset: int) -> str:
    """Ranked results page by position: the cursor is the offset of the next result."""
    return seal_cursor({"o": offset})


def _search_offset(after: str | None) -> int:
    if not after:
        return 0
    try:
        offset = int(open_cursor(after)["o"])
    except (ValueError, KeyError, TypeError):
        raise BadInput("after", "after is not a valid cursor.") from None
    if not 0 <= offset <= forum_search.SEARCH_RESULTS_MAX:
        raise BadInput("after", "after is not a valid cursor.")
    return offset


async def search_threads(info: Info, query: str, first: int | None, after: str | None,
                         board_id: int | None) -> Connection[Thread]:
    size = check_first(first)
    terms = forum_search.check_query(query)
    offset = _search_offset(after)
    size = max(0, min(size, forum_search.SEARCH_RESULTS_MAX - offset))
    boards = [board_id] if board_id is not None else None
    page = await forum_search.search_thread_ids(terms, offset=offset, limit=size,
                                                include_hidden=False, board_ids=boards)
    found = {t.id: t for t in await ThreadModel.filter(id__in=page.thread_ids)} if page.thread_ids \
        else {}
    edges = [Edge(position=_search_cursor(offset + index + 1), node=Thread.from_model(found[tid]))
             for index, tid in enumerate(page.thread_ids) if tid in found]

    async def count() -> int:
        return await forum_search.count_threads(terms, board_ids=boards)

    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next, has_previous_page=offset > 0,
                           edges=edges),
        count_fn=count,
    )


# --- inputs and root fields ------------------------------------------------------------


@strawberry.input(description="A new board (platform admins).")
class BoardInput:
    slug: str = strawberry.field(description="URL name: at least 2 lowercase letters, digits, dashes.")
    name: str = strawberry.field(description="Display name.")
    category: str = strawberry.field(description="Category, e.g. 项目, 实习, 二手, 生活.")
    description: str = strawberry.field(default="", description="What the board is for.")


@strawberry.input(description="An experience post about an activity you served in.")
class ExperiencePostInput:
    activity_id: strawberry.ID = strawberry.field(description="The activity.")
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="Text; size-limited like forum posts.")
    photo_urls: list[str] = strawberry.field(default_factory=list,
                                             description="http/https links.")
    draft_key: str | None = strawberry.field(default=None,
                                             description="Draft to delete once published.")


@strawberry.type
class ForumQuery:
    @strawberry.field(description="All boards, by category.", metadata=cache_hint(60))
    async def boards(self, info: Info) -> list[Board]:
        return [Board.from_model(board) for board in await rules.list_boards()]

    @strawberry.field(description="One board by its slug.")
    async def board(self, info: Info, slug: str) -> Board | None:
        board = await rules.get_board_by_slug(slug)
        return Board.from_model(board) if board else None

    @strawberry.field(description="Threads whose titles or posts hold every word of the query "
                                  "(Chinese is segmented), best match first.")
    async def search_forum(self, info: Info, query: str, first: int | None = None,
                           after: str | None = None,
                           board_id: strawberry.ID | None = None) -> Connection[Thread]:
        return await search_threads(info, query, first, after,
                                    decode_optional_id(board_id, "Board", "boardId"))

    @strawberry.field(description="Experience posts, newest first, optionally of one activity.")
    async def experience_posts(self, info: Info, first: int | None = None,
                               after: str | None = None,
                               activity_id: strawberry.ID | None = None
                               ) -> Connection[ExperiencePost]:
        query = rules.list_experience_posts(
            decode_optional_id(activity_id, "Activity", "activityId"))
        return await paginate(query, first, after, convert=ExperiencePost.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class ForumMutation:
    @strawberry.mutation(description="Create a board (platform admins).")
    async def create_board(self, info: Info, input: BoardInput) -> Board:
        board = await rules.do_create_board(info.context.viewer, rules.BoardData(
            slug=input.slug, name=input.name, description=input.description,
            category=input.category))
        return Board.from_model(board)

    @strawberry.mutation(description="Make a volunteer a moderator of a board (platform admins).")
    async def assign_moderator(self, info: Info, board_id: strawberry.ID,
                               volunteer_id: strawberry.ID) -> Board:
        board = await rules.do_assign_moderator(
            info.context.viewer, decode_id(board_id, "Board", "boardId"),
            decode_id(volunteer_id, "Volunteer", "volunteerId"))
        return Board.from_model(board)

    @strawberry.mutation(description="Open a thread; the body becomes its first post.")
    async def create_thread(self, info: Info, board_id: strawberry.ID, title: str, body: str,
                            draft_key: str | None = None) -> Thread:
        thread, post = await rules.do_create_thread(
            info.context.viewer, decode_id(board_id, "Board", "boardId"), title, body, draft_key)
        await rules.notify_new_post(thread.board_id, post.id)
        return Thread.from_model(thread)

    @strawberry.mutation(description="Reply to a thread (locked threads refuse: FORBIDDEN).")
    async def reply(self, info: Info, thread_id: strawberry.ID, body: str,
                    draft_key: str | None = None) -> Post:
        post, thread = await rules.do_reply(
            info.context.viewer, decode_id(thread_id, "Thread", "threadId"), body, draft_key)
        await rules.notify_new_post(thread.board_id, post.id)
        return Post.from_model(post)

    @strawberry.mutation(description="React to a post; the same kind again removes it.")
    async def react(self, info: Info, post_id: strawberry.ID, kind: ReactionKind) -> Post:
        post = await rules.do_react(info.context.viewer, decode_id(post_id, "Post", "postId"),
                                    ReactionKindModel(kind))
        return Post.from_model(post)

    @strawberry.mutation(description="Report a post to the board's moderators.")
    async def report(self, info: Info, post_id: strawberry.ID, reason: str) -> Report:
        report = await rules.do_report(info.context.viewer,
                                       decode_id(post_id, "Post", "postId"), reason)
        return Report.from_model(report)

    @strawberry.mutation(description="Moderate a thread, post, reported post or volunteer. "
                                     "Resolves the open reports about that content.")
    async def moderate(self, info: Info, action: ModerationAction, target_id: strawberry.ID,
                       reason: str, to_board_id: strawberry.ID | None = None,
                       until: datetime | None = None,
                       board_id: strawberry.ID | None = None) -> ModerationLog:
        kind, db_id = parse_global_id(target_id, "targetId")
        if kind not in ("Thread", "Post", "Report", "Volunteer"):
            raise BadInput("targetId", "targetId must be a Thread, Post, Report or Volunteer.")
        entry = await rules.do_moderate(info.context.viewer, rules.ModerateData(
            action=ModerationActionModel(action),
            target=rules.ModerationTarget(kind, db_id),
            reason=reason,
            to_board_id=decode_optional_id(to_board_id, "Board", "toBoardId"),
            until=until,
            board_id=decode_optional_id(board_id, "Board", "boardId"),
        ))
        return ModerationLog.from_model(entry)

    @strawberry.mutation(description="Write about an activity you served in.")
    async def create_experience_post(self, info: Info,
                                     input: ExperiencePostInput) -> ExperiencePost:
        post = await rules.do_create_experience_post(info.context.viewer, rules.ExperienceData(
            activity_id=decode_id(input.activity_id, "Activity", "input.activityId"),
            title=input.title, body=input.body, photo_urls=input.photo_urls,
        ), input.draft_key)
        return ExperiencePost.from_model(post)


@strawberry.enum(description="What happened on a board.")
class BoardChangeKind(Enum):
    POSTED = "POSTED"
    HIDDEN = "HIDDEN"
    RESTORED = "RESTORED"


@strawberry.type(description="One change on a board, live: a new post, or content a moderator "
                             "hid or restored. A reader's client withdraws hidden content at "
                             "once; `post` is what this viewer may see of it.")
class BoardChange:
    kind: BoardChangeKind = strawberry.field(description="What happened.")
    thread_id: strawberry.ID = strawberry.field(description="The thread it happened in.")
    post_id: strawberry.ID | None = strawberry.field(
        description="The post; null when a whole thread was hidden or restored.")
    post: Post | None = strawberry.field(
        description="POSTED/RESTORED: the post. HIDDEN: the post marked hidden for the board's "
                    "moderators, null for everyone else.")


async def _board_change(info: Info, board_id: int, message: Any) -> BoardChange | None:
    """What this viewer is told of one broker message on the board (None: nothing)."""
    if "change" not in message:  # a new post: only if this viewer may see it, on this board
        post = await visible_post(info, int(message.get("post", 0)))
        if post is None:
            return None
        thread = await thread_loader(info).load(post.thread_id)
        if thread is None or thread.board_id != board_id:
            return None
        return BoardChange(kind=BoardChangeKind.POSTED,
                           thread_id=to_global_id("Thread", post.thread_id),
                           post_id=to_global_id("Post", post.id),
                           post=Post.from_model(post))
    change = rules.Visibility.from_message(message)
    post = await visible_post(info, change.post_id) if change.post_id is not None else None
    if not change.hidden and change.post_id is not None and post is None:
        return None  # restored, but still not visible to this viewer (its thread is hidden)
    return BoardChange(
        kind=BoardChangeKind.HIDDEN if change.hidden else BoardChangeKind.RESTORED,
        thread_id=to_global_id("Thread", change.thread_id),
        post_id=to_global_id("Post", change.post_id) if change.post_id else None,
        post=Post.from_model(post) if post is not None else None)


async def _board_changes(info: Info, board_id: strawberry.ID,
                         visibility: bool) -> AsyncGenerator[BoardChange, None]:
    """The board's changes as this viewer may see them: new posts, and with `visibility` the
    HIDE/RESTOREs too. After a broker reconnect, what it may have lost is re-read from the
    database (posts, moderation log) and delivered once."""
    db_id = decode_id(board_id, "Board", "boardId")
    await rules.check_board(db_id)
    subscription = await services().broker.subscribe(channels.board(db_id))
    try:
        # Subscribed first, so nothing written after these reads is missed.
        last_post = await rules.latest_post_id()
        last_log = await rules.latest_moderation_id() if visibility else 0
        async for message in subscription:
            info.context.fresh_loaders()
            messages: list[Any] = [message]
            if message == RESYNC:
                messages = [{"post": post_id} for post_id in
                            await rules.post_ids_since(db_id, last_post)]
                if visibility:
                    messages += [change.message() for change in
                                 await rules.visibility_changes_since(db_id, last_log)]
            for each in messages:
                if "change" in each:
                    if not visibility or each["log"] <= last_log:
                        continue
                    last_log = each["log"]
                else:
                    last_post = max(last_post, int(each.get("post", 0)))
                change = await _board_change(info, db_id, each)
                if change is not None:
                    yield change
    finally:
        await subscription.close()


@strawberry.type
class ForumSubscription:
    @strawberry.subscription(description="New visible posts on a board, live.")
    async def board_activity(self, info: Info,
                             board_id: strawberry.ID) -> AsyncGenerator[Post, None]:
        # aclosing: unsubscribing closes the inner stream (its broker subscription) at once
        async with aclosing(_board_changes(info, board_id, visibility=False)) as changes:
            async for change in changes:
                if change.post is not None:  # POSTED only: a new post always carries it
                    yield change.post

    @strawberry.subscription(description="Everything a reader's open board or thread needs to "
                                         "stay true, live: new posts, and content hidden or "
                                         "restored by a moderator (withdraw it at once).")
    async def board_changes(self, info: Info,
                            board_id: strawberry.ID) -> AsyncGenerator[BoardChange, None]:
        async with aclosing(_board_changes(info, board_id, visibility=True)) as changes:
            async for change in changes:
                yield change


async def _board_activity_group(context: Context, args: dict[str, Any]) -> Hashable | None:
    """Which posts arrive (hidden ones reach moderators only) depends on whether the viewer
    moderates the board: one group per (board, moderator or not). Fields that depend on who
    the viewer is (author details, own reactions) are not in the shared set at all."""
    try:
        db_id = decode_id(args["boardId"], "Board", "boardId")
        await rules.check_board(db_id)
    except DomainError:
        return None
    return "moderator" if await rules.is_moderator(context.viewer, db_id) else "reader"


share(ShareRule(
    field="boardActivity",
    fields={
        "Post": frozenset({"id", "body", "hidden", "isOpening", "createdAt", "reactions",
                           "thread"}),
        "ReactionCount": frozenset({"kind", "count"}),
        "Thread": frozenset({"id", "title", "pinned", "locked", "hidden", "createdAt",
                             "lastPostAt", "replyCount"}),
    },
    group_key=_board_activity_group,
    mode=ShareMode.EVENTS,
))


__all__ = ["Board", "BoardChange", "BoardChangeKind", "ExperiencePost", "ForumMutation",
           "ForumQuery", "ForumSubscription", "ModerationLog", "Post", "ReactionCount", "Report", "Thread"]
