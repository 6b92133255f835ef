"""Forum models: boards and their moderators, threads, posts, reactions, reports, the
moderation log, per-board suspensions and experience posts (心得).

Search: every post keeps `search_text`, its words segmented at write time (jieba) and
joined by spaces; forum/search.py indexes that column (PostgreSQL GIN, SQLite FTS5)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.team import Team
    from models.volunteer import Volunteer


class ReactionKind(StrEnum):
    LIKE = "LIKE"
    THANKS = "THANKS"
    HUG = "HUG"


class ModerationAction(StrEnum):
    PIN = "PIN"
    UNPIN = "UNPIN"
    LOCK = "LOCK"
    UNLOCK = "UNLOCK"
    HIDE = "HIDE"
    RESTORE = "RESTORE"
    MOVE = "MOVE"
    SUSPEND_USER = "SUSPEND_USER"


class Board(Model):
    # A discussion board with a URL slug and a category (project area, internships, life...).

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=50, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField()
    category = fields.CharField(max_length=50, db_index=True)
    created_by: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="created_boards", on_delete=fields.RESTRICT
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_board"


class BoardModerator(Model):
    # Who moderates which board; assigned by a platform admin.

    id = fields.IntField(primary_key=True)
    board: fields.ForeignKeyRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="moderator_links", on_delete=fields.CASCADE
    )
    board_id: int
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="moderated_boards", on_delete=fields.CASCADE
    )
    volunteer_id: int
    assigned_by: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="assigned_moderators", null=True,
        on_delete=fields.SET_NULL,
    )
    assigned_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_board_moderator"
        unique_together = (("board", "volunteer"),)
        indexes = (("volunteer_id", "board_id"),)


class Thread(Model):
    # reply_count counts visible replies and last_post_at the newest post; both change in the
    # same transaction as the post, so the board list needs no aggregate.

    id = fields.IntField(primary_key=True)
    board: fields.ForeignKeyRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="threads", on_delete=fields.RESTRICT
    )
    board_id: int
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="forum_threads", on_delete=fields.RESTRICT
    )
    author_id: int
    title = fields.CharField(max_length=200)
    pinned = fields.BooleanField(default=False)
    locked = fields.BooleanField(default=False)
    hidden = fields.BooleanField(default=False)
    reply_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_post_at = fields.DatetimeField()

    class Meta:
        table = "forum_thread"
        indexes = (("board_id", "hidden", "pinned", "last_post_at"), ("author_id", "id"))


class Post(Model):
    # The opening post of a thread carries its body; replies follow. search_text is the
    # segmented title (opening post only) and body.

    id = fields.IntField(primary_key=True)
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="posts", on_delete=fields.CASCADE
    )
    thread_id: int
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="forum_posts", on_delete=fields.RESTRICT
    )
    author_id: int
    body = fields.TextField()
    is_opening = fields.BooleanField(default=False)
    hidden = fields.BooleanField(default=False)
    search_text = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_post"
        indexes = (("thread_id", "id"), ("created_at", "id"))


class Reaction(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="reactions", on_delete=fields.CASCADE
    )
    post_id: int
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="forum_reactions", on_delete=fields.CASCADE
    )
    volunteer_id: int
    kind = fields.CharEnumField(ReactionKind, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_reaction"
        unique_together = (("post", "volunteer", "kind"),)


class Report(Model):
    # A report stays in its board's queue until a moderation action on the post resolves it.

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="reports", on_delete=fields.CASCADE
    )
    post_id: int
    reporter: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="forum_reports", on_delete=fields.CASCADE
    )
    reporter_id: int
    reason = fields.CharField(max_length=500)
    resolved = fields.BooleanField(default=False)
    resolution: fields.ForeignKeyNullableRelation[ModerationLog] = fields.ForeignKeyField(
        "models.ModerationLog", related_name="resolved_reports", null=True,
        on_delete=fields.SET_NULL,
    )
    resolution_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_report"
        indexes = (("post_id", "resolved"),)


class ModerationLog(Model):
    # Append-only record of every moderation action: actor, target, reason.

    id = fields.IntField(primary_key=True)
    board: fields.ForeignKeyRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="moderation_logs", on_delete=fields.RESTRICT
    )
    board_id: int
    actor: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="moderation_actions", on_delete=fields.RESTRICT
    )
    actor_id: int
    action = fields.CharEnumField(ModerationAction, max_length=12)
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="moderation_logs", null=True, on_delete=fields.SET_NULL
    )
    thread_id: int | None
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="moderation_logs", null=True, on_delete=fields.SET_NULL
    )
    post_id: int | None
    target_volunteer: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="moderation_targeted", null=True,
        on_delete=fields.SET_NULL,
    )
    target_volunteer_id: int | None
    to_board: fields.ForeignKeyNullableRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="moved_in_logs", null=True, on_delete=fields.SET_NULL
    )
    to_board_id: int | None
    until = fields.DatetimeField(null=True)
    reason = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_moderation_log"
        indexes = (("board_id", "id"),)


class BoardSuspension(Model):
    # A volunteer may not post on the board before `until`.

    id = fields.IntField(primary_key=True)
    board: fields.ForeignKeyRelation[Board] = fields.ForeignKeyField(
        "models.Board", related_name="suspensions", on_delete=fields.CASCADE
    )
    board_id: int
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="board_suspensions", on_delete=fields.CASCADE
    )
    volunteer_id: int
    until = fields.DatetimeField()
    log: fields.ForeignKeyNullableRelation[ModerationLog] = fields.ForeignKeyField(
        "models.ModerationLog", related_name="suspensions", null=True, on_delete=fields.SET_NULL
    )
    log_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "forum_board_suspension"
        indexes = (("board_id", "volunteer_id", "until"),)


class ExperiencePost(Model):
    # 心得: written by someone who served in the activity. team is the activity's team, copied
    # so the feed finds posts of a volunteer's teams without a join.

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="experience_posts", on_delete=fields.CASCADE
    )
    activity_id: int
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="experience_posts", on_delete=fields.CASCADE
    )
    team_id: int
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="experience_posts", on_delete=fields.RESTRICT
    )
    author_id: int
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    photo_urls: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "experience_post"
        indexes = (("activity_id", "id"), ("team_id", "created_at", "id"))
