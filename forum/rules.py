"""Forum rules: who may see, post, react, report and moderate, and the writes themselves.

Vocabulary (STYLE.md): `check_*` validates and fetches with access control, `do_*` writes,
`notify_*` publishes after commit. Content a caller may not see raises NotFound, exactly
as if it did not exist, so hidden IDs cannot be probed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.settings import get_settings
from forum.models import (
    Board,
    BoardModerator,
    BoardSuspension,
    ExperiencePost,
    ModerationAction,
    ModerationLog,
    Post,
    Reaction,
    ReactionKind,
    Report,
    Thread,
)
from forum.search import segment_document
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.draft import discard_draft
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.services import services
from resolvers.validation import NAME_MAX, SHORT_TEXT_MAX, check_aware, check_text, check_url
from subscriptions import channels

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,49}$")
BOARD_DESCRIPTION_MAX = 2_000
REASON_MAX = 500
PHOTOS_MAX = 9
SUSPENSION_MAX = timedelta(days=3650)
POST_WINDOW_SECONDS = 60


def _now() -> datetime:
    return datetime.now(UTC)


# --- roles -----------------------------------------------------------------------------


async def moderated_among(volunteer_id: int, board_ids: list[int]) -> set[int]:
    """Which of these boards the volunteer moderates, in one query."""
    rows = await BoardModerator.filter(volunteer_id=volunteer_id, board_id__in=board_ids)
    return {row.board_id for row in rows}


async def is_moderator(viewer: Viewer, board_id: int) -> bool:
    """Platform admins moderate every board."""
    if viewer.volunteer is None:
        return False
    if viewer.is_platform_admin:
        return True
    return bool(await moderated_among(viewer.volunteer.id, [board_id]))


async def check_moderator(viewer: Viewer, board_id: int) -> None:
    viewer.require()
    if not await is_moderator(viewer, board_id):
        raise Forbidden("Only this board's moderators and platform admins can do that.")





# --- boards ----------------------------------------------------------------------------


@dataclass
class BoardData:
    slug: str
    name: str
    description: str
    category: str


def list_boards() -> QuerySet[Board]:
    return Board.all().order_by("category", "id")


async def get_board_by_slug(slug: str) -> Board | None:
    return await Board.get_or_none(slug=(slug or "").strip().lower())


async def check_board(board_id: int) -> Board:
    board = await Board.get_or_none(id=board_id)
    if board is None:
        raise NotFound("Board")
    return board


async def do_create_board(viewer: Viewer, data: BoardData) -> Board:
    creator = viewer.require()
    if not viewer.is_platform_admin:
        raise Forbidden("Only platform admins create boards.")
    slug = (data.slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise BadInput("input.slug", "slug must be 2–50 lowercase letters, digits or dashes.")
    name = check_text(data.name, "input.name", max_len=100)
    description = check_text(data.description, "input.description", max_len=BOARD_DESCRIPTION_MAX,
                             required=False)
    category = check_text(data.category, "input.category", max_len=NAME_MAX)
    if await Board.exists(slug=slug):
        raise Conflict("A board with this slug exists.", field="input.slug")
    try:
        return await Board.create(slug=slug, name=name, description=description,
                                  category=category, created_by=creator)
    except IntegrityError:
        raise Conflict("A board with this slug exists.", field="input.slug") from None


async def do_assign_moderator(viewer: Viewer, board_id: int, volunteer_id: int) -> Board:
    """Idempotent: assigning a moderator twice keeps one assignment."""
    viewer.require()
    if not viewer.is_platform_admin:
        raise Forbidden("Only platform admins assign moderators.")
    board = await check_board(board_id)
    person = await Volunteer.get_or_none(id=volunteer_id)
    if person is None:
        raise NotFound("Volunteer")
    if person.status != VolunteerStatus.ACTIVE:
        raise BadInput("volunteerId", "Only active volunteers can moderate.")
    try:
        await BoardModerator.get_or_create(board=board, volunteer=person,
                                           defaults={"assigned_by_id": viewer.id})
    except IntegrityError:
        pass
    return board


# --- visibility ------------------------------------------------------------------------


async def check_thread(viewer: Viewer, thread_id: int) -> Thread:
    """The thread if the viewer may see it (hidden threads: its moderators only)."""
    thread = await Thread.get_or_none(id=thread_id)
    if thread is None or (thread.hidden and not await is_moderator(viewer, thread.board_id)):
        raise NotFound("Thread")
    return thread


async def check_post(viewer: Viewer, post_id: int) -> tuple[Post, Thread]:
    post = await Post.get_or_none(id=post_id).select_related("thread")
    if post is None:
        raise NotFound("Post")
    thread = post.thread
    if (post.hidden or thread.hidden) and not await is_moderator(viewer, thread.board_id):
        raise NotFound("Post")
    return post, thread


# --- posting ---------------------------------------------------------------------------


def check_body(raw: str | None, field: str = "body") -> str:
    return check_text(raw, field, max_len=get_settings().post_body_max_chars)


async def check_can_post(viewer: Viewer, board_id: int) -> Volunteer:
    """Active account, not suspended on the board, within the posting rate."""
    author = viewer.require_active("post")
    suspended = await BoardSuspension.filter(
        board_id=board_id, volunteer_id=author.id, until__gt=_now()
    ).order_by("-until").first()
    if suspended is not None:
        raise Forbidden(f"You are suspended from this board until {suspended.until.isoformat()}.")
    await services().limiter.hit(f"forum:post:{author.id}", get_settings().posts_per_minute,
                                 POST_WINDOW_SECONDS)
    return author


async def do_create_thread(viewer: Viewer, board_id: int, title: str, body: str,
                           draft_key: str | None = None) -> tuple[Thread, Post]:
    viewer.require()
    title = check_text(title, "title", max_len=SHORT_TEXT_MAX)
    body = check_body(body)
    await check_board(board_id)
    author = await check_can_post(viewer, board_id)
    search_text = segment_document(title, title, body)
    async with in_transaction() as connection:
        now = _now()
        thread = await Thread.create(board_id=board_id, author=author, title=title,
                                     last_post_at=now, using_db=connection)
        post = await Post.create(thread=thread, author=author, body=body, is_opening=True,
                                 search_text=search_text, using_db=connection)
        await discard_draft(author.id, draft_key, connection)
    return thread, post


async def do_reply(viewer: Viewer, thread_id: int, body: str,
                   draft_key: str | None = None) -> tuple[Post, Thread]:
    """The lock is checked by the same conditional UPDATE that counts the reply, so a reply
    racing a LOCK either lands before it or is refused."""
    viewer.require()
    body = check_body(body)
    thread = await check_thread(viewer, thread_id)
    moderator = await is_moderator(viewer, thread.board_id)
    if thread.locked and not moderator:
        raise Forbidden("This thread is locked.")
    author = await check_can_post(viewer, thread.board_id)
    search_text = segment_document(body)
    async with in_transaction() as connection:
        now = _now()
        guard = Thread.filter(id=thread.id)
        if not moderator:
            guard = guard.filter(locked=False, hidden=False)
        if not await guard.using_db(connection).update(
                reply_count=F("reply_count") + 1, last_post_at=now):
            raise Forbidden("This thread is locked.")
        post = await Post.create(thread_id=thread.id, author=author, body=body,
                                 search_text=search_text, using_db=connection)
        await discard_draft(author.id, draft_key, connection)
    await thread.refresh_from_db()
    return post, thread


async def notify_new_post(board_id: int, post_id: int) -> None:
    """After commit: the board's live subscribers re-check visibility when they receive it."""
    await services().broker.publish(channels.board(board_id), {"post": post_id})


@dataclass(frozen=True)
class Visibility:
    """A HIDE or RESTORE on a board: of one reply (`post_id`), or of a whole thread."""

    log_id: int
    hidden: bool
    thread_id: int
    post_id: int | None

    def message(self) -> dict[str, Any]:
        return {"change": "HIDDEN" if self.hidden else "RESTORED", "log": self.log_id,
                "thread": self.thread_id, "post": self.post_id}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Visibility:
        post = message.get("post")
        return cls(int(message["log"]), message["change"] == "HIDDEN", int(message["thread"]),
                   int(post) if post is not None else None)


async def notify_visibility(board_id: int, change: Visibility) -> None:
    """After commit: readers watching the board withdraw (or get back) the content live."""
    await services().broker.publish(channels.board(board_id), change.message())


async def latest_moderation_id() -> int:
    newest = await ModerationLog.all().order_by("-id").first()
    return newest.id if newest else 0


async def visibility_changes_since(board_id: int, after_id: int,
                                   limit: int = 100) -> list[Visibility]:
    """HIDE/RESTORE actions a subscriber may have missed while the broker reconnected."""
    logs = await ModerationLog.filter(
        id__gt=after_id, board_id=board_id,
        action__in=[ModerationAction.HIDE, ModerationAction.RESTORE], thread_id__isnull=False,
    ).order_by("id").limit(limit).prefetch_related("post")
    return [Visibility(log.id, log.action == ModerationAction.HIDE, cast(int, log.thread_id),
                       log.post_id if log.post is not None and not log.post.is_opening else None)
            for log in logs]


# --- reactions and reports -------------------------------------------------------------


async def do_react(viewer: Viewer, post_id: int, kind: ReactionKind) -> Post:
    """Toggle: the same kind again removes the reaction."""
    person = viewer.require()
    post, _ = await check_post(viewer, post_id)
    removed = await Reaction.filter(post_id=post.id, volunteer_id=person.id, kind=kind).delete()
    if not removed:
        try:
            await Reaction.create(post_id=post.id, volunteer_id=person.id, kind=kind)
        except IntegrityError:
            pass  # a concurrent identical click already added it
    return post


async def do_report(viewer: Viewer, post_id: int, reason: str) -> Report:
    """Reporting the same post again while the first report is open returns that report."""
    person = viewer.require()
    reason = check_text(reason, "reason", max_len=REASON_MAX)
    post, _ = await check_post(viewer, post_id)
    existing = await Report.filter(post_id=post.id, reporter_id=person.id, resolved=False).first()
    if existing is not None:
        return existing
    await services().limiter.hit(f"forum:report:{person.id}", get_settings().posts_per_minute,
                                 POST_WINDOW_SECONDS)
    return await Report.create(post_id=post.id, reporter=person, reason=reason)


async def check_report_queue(viewer: Viewer, board_id: int, include_resolved: bool
                             ) -> QuerySet[Report]:
    await check_moderator(viewer, board_id)
    query = Report.filter(post__thread__board_id=board_id)
    return query if include_resolved else query.filter(resolved=False)


async def check_moderation_log(viewer: Viewer, board_id: int) -> QuerySet[ModerationLog]:
    await check_moderator(viewer, board_id)
    return ModerationLog.filter(board_id=board_id)


async def check_visible_report(viewer: Viewer, report_id: int) -> Report | None:
    report = await Report.get_or_none(id=report_id).select_related("post__thread")
    if report is None or not await is_moderator(viewer, report.post.thread.board_id):
        return None
    return report


async def check_visible_log(viewer: Viewer, log_id: int) -> ModerationLog | None:
    log = await ModerationLog.get_or_none(id=log_id)
    if log is None or not await is_moderator(viewer, log.board_id):
        return None
    return log


# --- moderation ------------------------------------------------------------------------

THREAD_ACTIONS = {ModerationAction.PIN, ModerationAction.UNPIN, ModerationAction.LOCK,
                  ModerationAction.UNLOCK, ModerationAction.MOVE}


@dataclass
class ModerationTarget:
    """What an action applies to, resolved from the target ID."""

    kind: str  # "Thread" | "Post" | "Report" | "Volunteer"
    db_id: int


@dataclass
class ModerateData:
    action: ModerationAction
    target: ModerationTarget
    reason: str
    to_board_id: int | None = None
    until: datetime | None = None
    board_id: int | None = None


@dataclass
class _Resolved:
    board_id: int
    thread: Thread | None = None
    post: Post | None = None
    report: Report | None = None
    volunteer_id: int | None = None


async def _resolve_target(viewer: Viewer, data: ModerateData) -> _Resolved:
    target = data.target
    if target.kind == "Volunteer":
        if data.action != ModerationAction.SUSPEND_USER:
            raise BadInput("targetId", "Only SUSPEND_USER takes a volunteer as target.")
        if data.board_id is None:
            raise BadInput("boardId", "Give the board to suspend the volunteer from.")
        await check_board(data.board_id)
        if not await Volunteer.exists(id=target.db_id):
            raise NotFound("Volunteer")
        return _Resolved(board_id=data.board_id, volunteer_id=target.db_id)
    if target.kind == "Thread":
        thread = await check_thread(viewer, target.db_id)
        return _Resolved(board_id=thread.board_id, thread=thread, volunteer_id=thread.author_id)
    report: Report | None = None
    post_id = target.db_id
    if target.kind == "Report":
        report = await check_visible_report(viewer, target.db_id)
        if report is None:
            raise NotFound("Report")
        post_id = report.post_id
    post, thread = await check_post(viewer, post_id)
    return _Resolved(board_id=thread.board_id, thread=thread, post=post, report=report,
                     volunteer_id=post.author_id)


def _check_moderate_input(data: ModerateData) -> tuple[str, datetime | None]:
    reason = check_text(data.reason, "reason", max_len=REASON_MAX)
    until: datetime | None = None
    if data.action == ModerationAction.SUSPEND_USER:
        if data.until is None:
            raise BadInput("until", "SUSPEND_USER needs `until`.")
        until = check_aware(data.until, "until")
        if until <= _now():
            raise BadInput("until", "until must be in the future.")
        if until - _now() > SUSPENSION_MAX:
            raise BadInput("until", "A suspension lasts at most ten years.")
    if data.action == ModerationAction.MOVE and data.to_board_id is None:
        raise BadInput("toBoardId", "MOVE needs `toBoardId`.")
    return reason, until


async def do_moderate(viewer: Viewer, data: ModerateData) -> ModerationLog:
    """Only the board's moderators and platform admins act; every action writes one log row
    and resolves the open reports about the content it acted on."""
    actor = viewer.require()
    reason, until = _check_moderate_input(data)
    resolved = await _resolve_target(viewer, data)
    await check_moderator(viewer, resolved.board_id)
    action = data.action
    thread, post = resolved.thread, resolved.post
    if action in THREAD_ACTIONS and thread is None:
        raise BadInput("targetId", f"{action.value} applies to a thread, post or report.")
    if action in (ModerationAction.HIDE, ModerationAction.RESTORE) and thread is None:
        raise BadInput("targetId", f"{action.value} applies to a thread, post or report.")
    if post is not None and post.is_opening and action in (ModerationAction.HIDE,
                                                           ModerationAction.RESTORE):
        post = None  # hiding the opening post hides the whole thread
    if action == ModerationAction.MOVE:
        assert thread is not None and data.to_board_id is not None
        if data.to_board_id == thread.board_id:
            raise BadInput("toBoardId", "The thread is already on that board.")
        await check_board(data.to_board_id)
    if action == ModerationAction.SUSPEND_USER:
        assert resolved.volunteer_id is not None
        if resolved.volunteer_id == actor.id:
            raise BadInput("targetId", "You cannot suspend yourself.")
        target_person = Viewer(await Volunteer.get(id=resolved.volunteer_id))
        if not viewer.is_platform_admin and await is_moderator(target_person, resolved.board_id):
            raise Forbidden("Only platform admins can suspend a moderator.")

    async with in_transaction() as connection:
        if thread is not None:
            threads = Thread.filter(id=thread.id).using_db(connection)
            if action == ModerationAction.PIN:
                await threads.update(pinned=True)
            elif action == ModerationAction.UNPIN:
                await threads.update(pinned=False)
            elif action == ModerationAction.LOCK:
                await threads.update(locked=True)
            elif action == ModerationAction.UNLOCK:
                await threads.update(locked=False)
            elif action == ModerationAction.MOVE:
                await threads.update(board_id=data.to_board_id)
            elif action in (ModerationAction.HIDE, ModerationAction.RESTORE):
                hide = action == ModerationAction.HIDE
                if post is None:
                    await threads.update(hidden=hide)
                # Conditional so repeating an action cannot count a reply twice.
                elif await Post.filter(id=post.id, hidden=not hide).using_db(
                        connection).update(hidden=hide):
                    delta = -1 if hide else 1
                    await threads.update(reply_count=F("reply_count") + delta)
        log = await ModerationLog.create(
            board_id=resolved.board_id, actor=actor, action=action,
            thread_id=thread.id if thread else None,
            post_id=(resolved.post.id if resolved.post else None),
            target_volunteer_id=resolved.volunteer_id if action == ModerationAction.SUSPEND_USER
            else None,
            to_board_id=data.to_board_id if action == ModerationAction.MOVE else None,
            until=until, reason=reason, using_db=connection,
        )
        if action == ModerationAction.SUSPEND_USER:
            assert until is not None and resolved.volunteer_id is not None
            await BoardSuspension.create(board_id=resolved.board_id,
                                         volunteer_id=resolved.volunteer_id, until=until,
                                         log=log, using_db=connection)
        reports = Report.filter(resolved=False).using_db(connection)
        if resolved.post is not None:
            await reports.filter(post_id=resolved.post.id).update(resolved=True,
                                                                  resolution_id=log.id)
        elif thread is not None and action in (ModerationAction.HIDE, ModerationAction.RESTORE):
            await reports.filter(post__thread_id=thread.id).update(resolved=True,
                                                                   resolution_id=log.id)
    if thread is not None and action in (ModerationAction.HIDE, ModerationAction.RESTORE):
        await notify_visibility(resolved.board_id, Visibility(
            log.id, action == ModerationAction.HIDE, thread.id, post.id if post else None))
    return log


# --- experience posts ------------------------------------------------------------------


@dataclass
class ExperienceData:
    activity_id: int
    title: str
    body: str
    photo_urls: list[str]


def check_photo_urls(raw: list[str] | None, field: str = "input.photoUrls") -> list[str]:
    if len(raw or []) > PHOTOS_MAX:
        raise BadInput(field, f"At most {PHOTOS_MAX} photos.")
    return [str(check_url(url, field, required=True)) for url in raw or []]


async def check_served(volunteer_id: int, activity: Activity) -> None:
    """Approved hours, or a confirmed sign-up of an activity that has finished."""
    if await ServiceRecord.exists(activity_id=activity.id, volunteer_id=volunteer_id,
                                  status=HoursStatus.APPROVED):
        return
    finished = activity.status == ActivityStatus.FINISHED or (
        activity.status == ActivityStatus.PUBLISHED and activity.ends_at <= _now())
    if finished and await SignUp.exists(activity_id=activity.id, volunteer_id=volunteer_id,
                                        status=SignUpStatus.CONFIRMED):
        return
    raise Forbidden("Only volunteers who served in this activity can write about it.")


async def do_create_experience_post(viewer: Viewer, data: ExperienceData,
                                    draft_key: str | None = None) -> ExperiencePost:
    author = viewer.require_active("post")
    title = check_text(data.title, "input.title", max_len=SHORT_TEXT_MAX)
    body = check_body(data.body, "input.body")
    photos = check_photo_urls(data.photo_urls)
    activity = await Activity.get_or_none(id=data.activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    await check_served(author.id, activity)
    await services().limiter.hit(f"forum:post:{author.id}", get_settings().posts_per_minute,
                                 POST_WINDOW_SECONDS)
    async with in_transaction() as connection:
        post = await ExperiencePost.create(activity=activity, team_id=activity.team_id,
                                           author=author, title=title, body=body,
                                           photo_urls=photos, using_db=connection)
        await discard_draft(author.id, draft_key, connection)
    return post


def list_experience_posts(activity_id: int | None) -> QuerySet[ExperiencePost]:
    query = ExperiencePost.all()
    return query.filter(activity_id=activity_id) if activity_id is not None else query


# --- live ------------------------------------------------------------------------------


async def latest_post_id() -> int:
    newest = await Post.all().order_by("-id").first()
    return newest.id if newest else 0


async def post_ids_since(board_id: int, after_id: int, limit: int = 100) -> list[int]:
    """Posts a subscriber may have missed while the broker reconnected, oldest first."""
    rows = await Post.filter(id__gt=after_id, thread__board_id=board_id).order_by("id").limit(
        limit).values_list("id", flat=True)
    return [int(row) for row in cast(list[int], rows)]
