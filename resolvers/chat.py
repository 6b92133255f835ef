"""Group chat: a room per team (its approved members) and per activity (its confirmed
participants). Members read, post text with photo links, mention each other and keep a read
marker; the team's admins (of the team or a parent team) and platform admins read, post and
moderate (mute a member, delete a message), every action logged as forum moderation is.

Access is decided from the memberships and sign-ups at the moment of each read, post and
delivered live message (`readers_among`, one statement per room for any number of people):
leaving the team or cancelling the sign-up takes the room away at once. Leaving also publishes
a KICK on the room's channel so an open subscription of that person closes without waiting
for the next message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from core.settings import get_settings
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.chat import (
    ChatMessage,
    ChatModerationAction,
    ChatModerationLog,
    ChatMute,
    ChatReadMarker,
    ChatRoom,
    ChatRoomKind,
)
from models.notification import Notification
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden, NotFound
from resolvers.notification import create_notification, notify_created
from resolvers.services import services
from resolvers.sql import Sql, fetch
from resolvers.team import ancestor_ids
from resolvers.validation import check_text, check_url
from subscriptions import channels

log = logging.getLogger("tongxin.chat")

BODY_MAX = 2000
CLIENT_ID_MAX = 64
REASON_MAX = 500
PHOTOS_MAX = 9
MENTIONS_MAX = 20
MUTE_MAX = timedelta(days=365)
ROOMS_LISTED = 100
MEMBERS_LISTED_MAX = 50
CHAT_MENTION = "CHAT_MENTION"
CHAT_MUTED = "CHAT_MUTED"
CHAT_UNMUTED = "CHAT_UNMUTED"


@dataclass(frozen=True)
class RoomScope:
    """Who may be in a room: the team whose members (or the activity whose confirmed
    participants) are its members, and the teams whose admins moderate it."""

    room: ChatRoom
    title: str
    admin_team_ids: tuple[int, ...]

    @property
    def id(self) -> int:
        return self.room.id


async def _scope(room: ChatRoom) -> RoomScope | None:
    if room.kind == ChatRoomKind.TEAM:
        team = await Team.get_or_none(id=room.team_id)
        if team is None:
            return None
        return RoomScope(room, team.name, tuple(ancestor_ids(team)))
    activity = await Activity.get_or_none(id=room.activity_id).select_related("team")
    if activity is None:
        return None
    return RoomScope(room, activity.title, tuple(ancestor_ids(activity.team)))


async def readers_among(scope: RoomScope, volunteer_ids: Iterable[int]) -> set[int]:
    """Which of these people may read the room now: its members, admins of the team (or of a
    parent team), platform admins. One statement."""
    ids = sorted(set(volunteer_ids))
    if not ids:
        return set()
    room = scope.room
    if room.kind == ChatRoomKind.TEAM:
        members = Sql("SELECT volunteer_id AS id FROM membership WHERE team_id = :team "
                      "AND status = 'APPROVED' AND :ids", team=room.team_id,
                      ids=Sql.one_of("volunteer_id", ids))
    else:
        members = Sql("SELECT volunteer_id AS id FROM sign_up WHERE activity_id = :activity "
                      "AND status = 'CONFIRMED' AND :ids", activity=room.activity_id,
                      ids=Sql.one_of("volunteer_id", ids))
    sql = Sql(":members UNION SELECT volunteer_id AS id FROM membership WHERE role = 'ADMIN' "
              "AND status = 'APPROVED' AND :teams AND :ids UNION SELECT id FROM volunteer "
              "WHERE is_platform_admin AND :vids", members=members,
              teams=Sql.one_of("team_id", scope.admin_team_ids),
              ids=Sql.one_of("volunteer_id", ids), vids=Sql.one_of("id", ids))
    return {int(row["id"]) for row in await fetch(connections.get("default"), sql)}


async def is_moderator(viewer: Viewer, scope: RoomScope) -> bool:
    if viewer.is_platform_admin:
        return True
    if viewer.id is None:
        return False
    return await Membership.exists(volunteer_id=viewer.id, team_id__in=scope.admin_team_ids,
                                   role=MembershipRole.ADMIN, status=MembershipStatus.APPROVED)


async def can_moderate(viewer: Viewer, room: ChatRoom) -> bool:
    """Whether the viewer may mute and delete in a room they were let into."""
    scope = await _scope(room)
    return scope is not None and await is_moderator(viewer, scope)


async def room_members(viewer: Viewer, room_id: int, search: str | None,
                       limit: int) -> list[Volunteer]:
    """People to mention, by name: the team's approved members (TEAM room), or the activity's
    confirmed participants and its own team's admins (ACTIVITY room); the caller and deleted
    accounts left out. NOT_FOUND unless the caller may read the room."""
    scope = await check_room(viewer, room_id)
    if not 1 <= limit <= MEMBERS_LISTED_MAX:
        raise BadInput("first", f"first must be between 1 and {MEMBERS_LISTED_MAX}.")
    room = scope.room
    if room.kind == ChatRoomKind.TEAM:
        among = Q(id__in=Subquery(Membership.filter(
            team_id=room.team_id, status=MembershipStatus.APPROVED).values("volunteer_id")))
    else:
        among = Q(id__in=Subquery(SignUp.filter(
            activity_id=room.activity_id, status=SignUpStatus.CONFIRMED).values("volunteer_id"))
        ) | Q(id__in=Subquery(Membership.filter(
            team_id=scope.admin_team_ids[-1], role=MembershipRole.ADMIN,
            status=MembershipStatus.APPROVED).values("volunteer_id")))
    query = Volunteer.filter(among).exclude(id=viewer.id).exclude(status=VolunteerStatus.DELETED)
    term = (search or "").strip().lstrip("@")
    if term:
        query = query.filter(display_name__icontains=term)
    return await query.order_by("display_name", "id").limit(limit)


async def check_room(viewer: Viewer, room_id: int) -> RoomScope:
    """The room, if the viewer may read it; NOT_FOUND alike for missing and not allowed."""
    volunteer = viewer.require()
    room = await ChatRoom.get_or_none(id=room_id)
    return await _check_reader(volunteer, await _scope(room) if room is not None else None)


async def _check_reader(volunteer: Volunteer, scope: RoomScope | None) -> RoomScope:
    if scope is None or volunteer.id not in await readers_among(scope, [volunteer.id]):
        raise NotFound("Chat room")
    return scope


async def _ensure_room(kind: ChatRoomKind, owner_id: int) -> ChatRoom:
    owner: dict[str, Any] = {"team_id": owner_id} if kind == ChatRoomKind.TEAM else {"activity_id": owner_id}
    room = await ChatRoom.get_or_none(**owner)
    if room is None:
        try:
            room = await ChatRoom.create(kind=kind, **owner)
        except IntegrityError:  # created by a racing request
            room = await ChatRoom.get(**owner)
    return room


async def do_open_room(viewer: Viewer, *, team_id: int | None,
                       activity_id: int | None) -> RoomScope:
    """The team's or the activity's room (made on first use), if the viewer may read it: the
    owner read once, serving both the room and its scope (a history page's first statements)."""
    volunteer = viewer.require()
    if (team_id is None) == (activity_id is None):
        raise BadInput("teamId", "Give exactly one of teamId and activityId.")
    if team_id is not None:
        team = await Team.get_or_none(id=team_id)
        if team is None:
            raise NotFound("Chat room")
        room = await _ensure_room(ChatRoomKind.TEAM, team_id)
        return await _check_reader(volunteer, RoomScope(room, team.name,
                                                        tuple(ancestor_ids(team))))
    activity = await Activity.filter(id=activity_id).exclude(
        status=ActivityStatus.DRAFT).select_related("team").first()
    if activity is None:
        raise NotFound("Chat room")
    room = await _ensure_room(ChatRoomKind.ACTIVITY, activity.id)
    return await _check_reader(volunteer, RoomScope(room, activity.title,
                                                    tuple(ancestor_ids(activity.team))))


async def my_rooms(viewer: Viewer) -> list[ChatRoom]:
    """Rooms of the viewer's teams, then of their confirmed activities (newest first, at most
    ROOMS_LISTED), made on first use: three statements however many."""
    volunteer = viewer.require()
    team_ids = [int(row[0]) for row in await Membership.filter(
        volunteer_id=volunteer.id, status=MembershipStatus.APPROVED
    ).order_by("team_id").values_list("team_id")]
    activity_ids = [int(row[0]) for row in await SignUp.filter(
        volunteer_id=volunteer.id, status=SignUpStatus.CONFIRMED
    ).order_by("-activity_id").limit(ROOMS_LISTED).values_list("activity_id")]
    wanted = [(ChatRoomKind.TEAM, i) for i in team_ids][:ROOMS_LISTED]
    wanted += [(ChatRoomKind.ACTIVITY, i) for i in activity_ids][:ROOMS_LISTED - len(wanted)]
    if not wanted:
        return []

    async def existing() -> dict[tuple[ChatRoomKind, int], ChatRoom]:
        rooms = await ChatRoom.filter(team_id__in=[i for k, i in wanted if k == ChatRoomKind.TEAM]
                                      ) if team_ids else []
        rooms += await ChatRoom.filter(activity_id__in=[
            i for k, i in wanted if k == ChatRoomKind.ACTIVITY]) if activity_ids else []
        return {(room.kind, int(room.team_id or room.activity_id or 0)): room for room in rooms}

    found = await existing()
    missing = [key for key in wanted if key not in found]
    if missing:
        await ChatRoom.bulk_create([
            ChatRoom(kind=kind, team_id=owner if kind == ChatRoomKind.TEAM else None,
                     activity_id=owner if kind == ChatRoomKind.ACTIVITY else None)
            for kind, owner in missing], ignore_conflicts=True)
        found = await existing()
    return [found[key] for key in wanted if key in found]


async def unread_counts(volunteer_id: int, room_ids: list[int]) -> list[int]:
    """Messages by others after the member's read marker, per room, in one statement."""
    rows = await fetch(connections.get("default"), Sql(
        "SELECT m.room_id AS room, COUNT(*) AS n FROM chat_message m "
        "LEFT JOIN chat_read_marker r ON r.room_id = m.room_id AND r.volunteer_id = :me "
        "WHERE :rooms AND m.deleted = false AND m.author_id <> :me "
        "AND m.id > COALESCE(r.last_read_id, 0) GROUP BY m.room_id",
        me=volunteer_id, rooms=Sql.one_of("m.room_id", room_ids)))
    found = {int(row["room"]): int(row["n"]) for row in rows}
    return [found.get(room_id, 0) for room_id in room_ids]


# --- posting -----------------------------------------------------------------------------


@dataclass
class MessageData:
    body: str
    client_id: str
    photo_urls: list[str]
    mention_ids: list[int]


@dataclass
class Posted:
    message: ChatMessage
    author_name: str
    created: bool
    notifications: list[Notification]


def _check_message(data: MessageData) -> MessageData:
    body = check_text(data.body, "body", max_len=BODY_MAX)
    client_id = check_text(data.client_id, "clientId", max_len=CLIENT_ID_MAX)
    if len(data.photo_urls) > PHOTOS_MAX:
        raise BadInput("photoUrls", f"At most {PHOTOS_MAX} photos.")
    photos = [str(check_url(url, "photoUrls", required=True)) for url in data.photo_urls]
    if len(data.mention_ids) > MENTIONS_MAX:
        raise BadInput("mentionIds", f"At most {MENTIONS_MAX} mentions.")
    return MessageData(body, client_id, photos, list(dict.fromkeys(data.mention_ids)))


async def check_can_post(viewer: Viewer, scope: RoomScope) -> Volunteer:
    author = viewer.require_active("post in chat rooms")
    mute = await ChatMute.get_or_none(room_id=scope.id, volunteer_id=author.id)
    if mute is not None and mute.until > datetime.now(UTC):
        raise Forbidden(f"You are muted in this room until {mute.until.isoformat()}.")
    return author


async def do_post_message(viewer: Viewer, room_id: int, data: MessageData) -> Posted:
    """A retry with the same clientId returns the first message and writes nothing. Mentioned
    people who cannot read the room are not told (nothing leaks out of a room)."""
    data = _check_message(data)
    scope = await check_room(viewer, room_id)
    author = await check_can_post(viewer, scope)
    existing = await ChatMessage.get_or_none(room_id=scope.id, author_id=author.id,
                                             client_id=data.client_id)
    if existing is not None:
        return Posted(existing, author.display_name, False, [])
    await services().limiter.hit(f"chat:{author.id}", get_settings().chat_messages_per_minute, 60)
    mentioned = sorted(await readers_among(scope, data.mention_ids) - {author.id})
    try:
        async with in_transaction() as conn:
            message = await ChatMessage.create(
                room_id=scope.id, author_id=author.id, client_id=data.client_id, body=data.body,
                photo_urls=data.photo_urls, mentions=mentioned, using_db=conn)
            notifications = [await create_notification(
                person, CHAT_MENTION, f"{author.display_name} 在「{scope.title}」提到了你",
                data.body[:200], subject=("ChatRoom", scope.id), using=conn)
                for person in mentioned]
    except IntegrityError:  # the same clientId raced in from a second connection
        message = await ChatMessage.get(room_id=scope.id, author_id=author.id,
                                        client_id=data.client_id)
        return Posted(message, author.display_name, False, [])
    return Posted(message, author.display_name, True, notifications)


def message_event(message: ChatMessage, author_name: str) -> dict[str, Any]:
    """What subscribers build the message from, with no database read per subscriber."""
    return {"id": message.id, "room": message.room_id, "author": message.author_id,
            "authorName": author_name, "clientId": message.client_id,
            "body": "" if message.deleted else message.body,
            "photos": [] if message.deleted else list(message.photo_urls),
            "mentions": list(message.mentions), "deleted": message.deleted,
            "at": message.created_at.isoformat()}


async def notify_posted(posted: Posted) -> None:
    """After commit: the room's live subscribers on every worker, and the mentioned people."""
    if not posted.created:
        return
    await services().broker.publish(channels.chat_room(posted.message.room_id),
                                    message_event(posted.message, posted.author_name))
    await notify_created(posted.notifications)


def history_sql(room_ids: list[int], limit: int, *, older_than: int | None = None,
                newer_than: int | None = None, newest_first: bool = True) -> Sql:
    """Each room's next `limit` live messages next to a keyset bound, with their authors'
    names, reading only those rows: per room `ORDER BY id LIMIT` on the (room_id, deleted, id)
    index, the rooms joined by UNION ALL into one statement. Newest first walks back
    (`older_than`), oldest first forward (`newer_than`)."""
    direction = "DESC" if newest_first else "ASC"
    pieces = []
    for index, room_id in enumerate(dict.fromkeys(room_ids)):
        bound = Sql("")
        if older_than is not None:
            bound += Sql(" AND m.id < :older", older=older_than)
        if newer_than is not None:
            bound += Sql(" AND m.id > :newer", newer=newer_than)
        pieces.append(Sql("SELECT * FROM (SELECT m.*, v.display_name AS author_display_name "
                          "FROM chat_message m JOIN volunteer v ON v.id = m.author_id "
                          "WHERE m.room_id = :room AND m.deleted = false", room=room_id) + bound +
                      f" ORDER BY m.id {direction} LIMIT {int(limit)}) AS p{index}")
    return Sql.join(" UNION ALL ", pieces)


@dataclass(frozen=True)
class HistoryMessage:
    """A message of a history page with its author's name (read in the same statement)."""

    message: ChatMessage
    author_name: str

    @property
    def id(self) -> int:  # the page's keyset (schema.relay.make_cursor reads it)
        return self.message.id


async def history_pages(room_ids: list[int], limit: int, *, older_than: int | None = None,
                        newer_than: int | None = None,
                        newest_first: bool = True) -> dict[int, list[HistoryMessage]]:
    """`history_sql`'s pages by room, each in its order."""
    pages: dict[int, list[HistoryMessage]] = {room_id: [] for room_id in room_ids}
    if not room_ids or limit <= 0:
        return pages
    sql = history_sql(room_ids, limit, older_than=older_than, newer_than=newer_than,
                      newest_first=newest_first)
    for row in await fetch(connections.get("default"), sql):
        name = str(row.pop("author_display_name"))
        pages[int(row["room_id"])].append(HistoryMessage(ChatMessage._init_from_db(**row), name))
    for page in pages.values():
        page.sort(key=lambda item: item.id, reverse=newest_first)
    return pages


async def messages_since(room_id: int, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """Messages after `after_id`, oldest first: what a subscriber missed while the broker
    reconnected, or between reading the history and subscribing (`chatMessages(after:)`)."""
    rows = await ChatMessage.filter(room_id=room_id, id__gt=after_id, deleted=False
                                    ).order_by("id").limit(limit).select_related("author")
    return [message_event(row, row.author.display_name) for row in rows]


async def do_mark_read(viewer: Viewer, room_id: int, up_to: int | None) -> RoomScope:
    """Moves the marker forward only (to the newest message when `up_to` is not given)."""
    volunteer = viewer.require()
    scope = await check_room(viewer, room_id)
    if up_to is None:
        newest = await ChatMessage.filter(room_id=scope.id).order_by("-id").first()
        up_to = newest.id if newest else 0
    elif not await ChatMessage.exists(id=up_to, room_id=scope.id):
        raise NotFound("Chat message")
    marker, _ = await ChatReadMarker.get_or_create(room_id=scope.id, volunteer_id=volunteer.id)
    await ChatReadMarker.filter(id=marker.id, last_read_id__lt=up_to).update(
        last_read_id=up_to, updated_at=datetime.now(UTC))
    return scope


# --- moderation --------------------------------------------------------------------------


async def check_moderator(viewer: Viewer, scope: RoomScope) -> Volunteer:
    actor = viewer.require_active("moderate chat rooms")
    if not await is_moderator(viewer, scope):
        raise Forbidden("Only the team's admins and platform admins moderate this room.")
    return actor


async def do_mute(viewer: Viewer, room_id: int, volunteer_id: int, until: datetime | None,
                  reason: str) -> tuple[ChatModerationLog, Notification]:
    """`until` None unmutes. Moderators cannot be muted (they could unmute themselves). The
    member's notification is pushed by the caller after commit (`notify_created`)."""
    reason = check_text(reason, "reason", max_len=REASON_MAX)
    scope = await check_room(viewer, room_id)
    actor = await check_moderator(viewer, scope)
    now = datetime.now(UTC)
    if until is not None:
        if until.tzinfo is None:
            raise BadInput("until", "until needs a time zone offset.")
        if not now < until <= now + MUTE_MAX:
            raise BadInput("until", "until must be in the future, at most a year ahead.")
    if volunteer_id not in await readers_among(scope, [volunteer_id]):
        raise NotFound("Room member")
    if until is not None and await is_moderator(Viewer(await Volunteer.get(id=volunteer_id)),
                                                scope):
        raise Forbidden("Moderators of a room cannot be muted in it.")
    async with in_transaction() as conn:
        if until is None:
            await ChatMute.filter(room_id=scope.id, volunteer_id=volunteer_id
                                  ).using_db(conn).delete()
        else:
            changed = await ChatMute.filter(room_id=scope.id, volunteer_id=volunteer_id
                                            ).using_db(conn).update(until=until)
            if not changed:
                await ChatMute.create(room_id=scope.id, volunteer_id=volunteer_id, until=until,
                                      using_db=conn)
        entry = await ChatModerationLog.create(
            room_id=scope.id, actor_id=actor.id, target_volunteer_id=volunteer_id,
            action=ChatModerationAction.UNMUTE if until is None else ChatModerationAction.MUTE,
            reason=reason, until=until, using_db=conn)
        # The member is told (and an open room page re-reads myMutedUntil on it, live).
        title = (f"你在「{scope.title}」的禁言已解除" if until is None else
                 f"你在「{scope.title}」被禁言至 {until.astimezone(BEIJING):%m-%d %H:%M}")
        notification = await create_notification(
            volunteer_id, CHAT_UNMUTED if until is None else CHAT_MUTED, title, reason,
            subject=("ChatRoom", scope.id), using=conn)
    return entry, notification


async def do_delete_message(viewer: Viewer, message_id: int,
                            reason: str) -> tuple[ChatMessage, ChatModerationLog, str]:
    """Moderators delete any message, authors their own; logged either way. Deleting twice
    is refused (CONFLICT-free: the second finds nothing to delete, NOT_FOUND)."""
    reason = check_text(reason, "reason", max_len=REASON_MAX)
    message = await ChatMessage.get_or_none(id=message_id, deleted=False
                                            ).select_related("author")
    if message is None:
        raise NotFound("Chat message")
    scope = await check_room(viewer, message.room_id)
    actor = viewer.require_active("delete chat messages")
    if actor.id != message.author_id:
        await check_moderator(viewer, scope)
    async with in_transaction() as conn:
        if not await ChatMessage.filter(id=message.id, deleted=False).using_db(conn).update(
                deleted=True):
            raise NotFound("Chat message")
        entry = await ChatModerationLog.create(
            room_id=scope.id, actor_id=actor.id, target_volunteer_id=message.author_id,
            message_id=message.id, action=ChatModerationAction.DELETE, reason=reason,
            using_db=conn)
    message.deleted = True
    return message, entry, message.author.display_name


async def notify_deleted(message: ChatMessage, author_name: str) -> None:
    """After commit: open rooms withdraw the message (it arrives again, deleted, no body)."""
    await services().broker.publish(channels.chat_room(message.room_id),
                                    message_event(message, author_name))


async def check_moderation_log_reader(viewer: Viewer, room_id: int) -> RoomScope:
    scope = await check_room(viewer, room_id)
    await check_moderator(viewer, scope)
    return scope


# --- leaving -----------------------------------------------------------------------------


async def notify_left(*, volunteer_id: int, team_id: int | None = None,
                      activity_id: int | None = None) -> None:
    """After commit of a change that may take a room away from someone (left or removed from
    the team, sign-up cancelled): their open subscriptions re-check and close."""
    room = await ChatRoom.get_or_none(**({"team_id": team_id} if team_id is not None
                                         else {"activity_id": activity_id}))
    if room is not None:
        await services().broker.publish(channels.chat_room(room.id), {"kick": volunteer_id})


class AccessCheck:
    """Re-checks, per delivered message, whether live subscribers may still read their room:
    the subscribers of one room that ask in the same turn of the event loop share one
    `readers_among` statement (a message to 2,000 members costs one query per worker)."""

    def __init__(self) -> None:
        self._waiting: dict[int, tuple[set[int], asyncio.Future[set[int]]]] = {}

    async def allowed(self, scope: RoomScope, volunteer_id: int) -> bool:
        waiting = self._waiting.get(scope.id)
        if waiting is None:
            future: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
            waiting = self._waiting[scope.id] = (set(), future)
            asyncio.get_running_loop().call_soon(self._run, scope)
        waiting[0].add(volunteer_id)
        return volunteer_id in await asyncio.shield(waiting[1])

    def _run(self, scope: RoomScope) -> None:
        asked, future = self._waiting.pop(scope.id)

        async def check() -> None:
            try:
                future.set_result(await readers_among(scope, asked))
            except Exception as error:  # every waiting subscriber sees it
                future.set_exception(error)

        asyncio.get_running_loop().create_task(check(), name=f"chat-access-{uuid.uuid4().hex}")


access_check = AccessCheck()
