"""Group chat (what the QQ groups were): one room per team and one per activity, its messages,
each member's read marker, mutes and the moderation log.

A room's members are not stored: they are the team's approved members, or the activity's
confirmed participants, at the moment of each read, post or delivered message, so leaving the
team or cancelling the sign-up takes access away with nothing to keep in step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.activity import Activity
    from models.team import Team
    from models.volunteer import Volunteer


class ChatRoomKind(StrEnum):
    TEAM = "TEAM"
    ACTIVITY = "ACTIVITY"


class ChatModerationAction(StrEnum):
    MUTE = "MUTE"
    UNMUTE = "UNMUTE"
    DELETE = "DELETE"


class ChatRoom(Model):
    # Created on first use; exactly one of team / activity is set (unique each).

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ChatRoomKind, max_length=10)
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="chat_rooms", null=True, unique=True,
        on_delete=fields.CASCADE)
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="chat_rooms", null=True, unique=True,
        on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    team_id: int | None
    activity_id: int | None

    class Meta:
        table = "chat_room"


class ChatMessage(Model):
    # `client_id` makes a retried send (the connection dropped) return the first message.

    id = fields.IntField(primary_key=True)
    room: fields.ForeignKeyRelation[ChatRoom] = fields.ForeignKeyField(
        "models.ChatRoom", related_name="messages", on_delete=fields.CASCADE)
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="chat_messages", on_delete=fields.RESTRICT)
    client_id = fields.CharField(max_length=64)
    body = fields.TextField()  # bounded by BODY_MAX (2,000) at the input boundary
    photo_urls: Any = fields.JSONField(default=list)
    mentions: Any = fields.JSONField(default=list)
    deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    room_id: int
    author_id: int

    class Meta:
        table = "chat_message"
        unique_together = (("room", "author", "client_id"),)
        indexes = (("room_id", "deleted", "id"),)


class ChatReadMarker(Model):
    # The newest message id a member has read in a room; only ever moves forward.

    id = fields.IntField(primary_key=True)
    room: fields.ForeignKeyRelation[ChatRoom] = fields.ForeignKeyField(
        "models.ChatRoom", related_name="read_markers", on_delete=fields.CASCADE)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="chat_read_markers", on_delete=fields.CASCADE)
    last_read_id = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    room_id: int
    volunteer_id: int

    class Meta:
        table = "chat_read_marker"
        unique_together = (("room", "volunteer"),)


class ChatMute(Model):
    # A member who may read but not post in a room until `until`.

    id = fields.IntField(primary_key=True)
    room: fields.ForeignKeyRelation[ChatRoom] = fields.ForeignKeyField(
        "models.ChatRoom", related_name="mutes", on_delete=fields.CASCADE)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="chat_mutes", on_delete=fields.CASCADE)
    until = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    room_id: int
    volunteer_id: int

    class Meta:
        table = "chat_mute"
        unique_together = (("room", "volunteer"),)


class ChatModerationLog(Model):
    # Append-only, like the forum's moderation log: actor, target, reason.

    id = fields.IntField(primary_key=True)
    room: fields.ForeignKeyRelation[ChatRoom] = fields.ForeignKeyField(
        "models.ChatRoom", related_name="moderation_logs", on_delete=fields.CASCADE)
    actor: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="chat_moderation_actions", on_delete=fields.RESTRICT)
    action = fields.CharEnumField(ChatModerationAction, max_length=10)
    target_volunteer: fields.ForeignKeyNullableRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="chat_moderation_targeted", null=True,
        on_delete=fields.SET_NULL)
    message: fields.ForeignKeyNullableRelation[ChatMessage] = fields.ForeignKeyField(
        "models.ChatMessage", related_name="moderation_logs", null=True,
        on_delete=fields.SET_NULL)
    reason = fields.CharField(max_length=500)
    until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    room_id: int
    actor_id: int
    target_volunteer_id: int | None
    message_id: int | None

    class Meta:
        table = "chat_moderation_log"
