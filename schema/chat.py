"""Group chat rooms of teams and activities: history, unread counts, posting, moderation and
the live `chatMessages` subscription."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Hashable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry

from models.activity import Activity as ActivityModel
from models.chat import ChatMessage as ChatMessageModel
from models.chat import ChatModerationAction as ChatModerationActionModel
from models.chat import ChatModerationLog as ChatModerationLogModel
from models.chat import ChatMute as ChatMuteModel
from models.chat import ChatRoom as ChatRoomModel
from models.chat import ChatRoomKind as ChatRoomKindModel
from models.team import Team as TeamModel
from resolvers import chat as rules
from resolvers.errors import BadInput, DomainError
from resolvers.notification import notify_created
from resolvers.services import services
from schema.activity import Activity
from schema.context import Context, Info
from schema.live.fanout import ShareMode, ShareRule, share
from schema.loaders import ChatPageByRoomLoader, UnreadCountByRoomLoader
from schema.relay import (
    DEFAULT_PAGE,
    MAX_PAGE,
    NEWEST_FIRST,
    Connection,
    Edge,
    Node,
    PageInfo,
    build_connection,
    check_first,
    decode_id,
    decode_optional_id,
    make_cursor,
    parse_cursor,
    parse_global_id,
    register_node,
    to_global_id,
)
from schema.team import Team
from schema.volunteer import SentByVolunteer, Volunteer, load_volunteer
from subscriptions import channels
from subscriptions.broker import RESYNC

if TYPE_CHECKING:
    ChatRoomKind: TypeAlias = ChatRoomKindModel
    ChatModerationAction: TypeAlias = ChatModerationActionModel
else:
    ChatRoomKind = strawberry.enum(ChatRoomKindModel, name="ChatRoomKind",
                                   description="TEAM (the team's approved members) or ACTIVITY "
                                               "(the activity's confirmed participants).")
    ChatModerationAction = strawberry.enum(
        ChatModerationActionModel, name="ChatModerationAction",
        description="MUTE, UNMUTE (a member) or DELETE (a message).")


@strawberry.type(description="A message in a team's or an activity's chat room.")
class ChatMessage(SentByVolunteer):
    db_room_id: strawberry.Private[int]
    mentioned: strawberry.Private[list[int]]
    body: str = strawberry.field(description="The text; empty once deleted.")
    photo_urls: list[str] = strawberry.field(description="Links to photos (≤ 9).")
    deleted: bool = strawberry.field(
        description="Deleted by its author or a moderator: a live subscriber withdraws it.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def from_model(cls, model: ChatMessageModel) -> ChatMessage:
        return cls.from_event(rules.message_event(model, ""))

    @classmethod
    def from_history(cls, item: rules.HistoryMessage) -> ChatMessage:
        return cls.from_event(rules.message_event(item.message, item.author_name))

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ChatMessage:
        return cls(db_id=int(event["id"]), db_room_id=int(event["room"]),
                   author_id=int(event["author"]), known_author_name=event["authorName"] or None,
                   own_client_id=str(event["clientId"]), mentioned=list(event["mentions"]),
                   body=str(event["body"]), photo_urls=list(event["photos"]),
                   deleted=bool(event["deleted"]),
                   created_at=datetime.fromisoformat(event["at"]))

    @strawberry.field(name="authorId",
                      description="The sender's ID (the same for every reader, unlike `author`, "
                                  "so a live document may select it and stay shared).")
    def sender_id(self) -> strawberry.ID:
        return to_global_id("Volunteer", self.author_id)

    @strawberry.field(description="IDs of the room members this message mentions (@).")
    def mention_ids(self) -> list[strawberry.ID]:
        return [to_global_id("Volunteer", person) for person in self.mentioned]

    @strawberry.field(description="The room's ID.")
    def room_id(self) -> strawberry.ID:
        return to_global_id("ChatRoom", self.db_room_id)


@strawberry.type(description="One chat moderation action: who muted or deleted what, and why.")
class ChatModerationLog(Node):
    model: strawberry.Private[ChatModerationLogModel]
    action: ChatModerationAction = strawberry.field(description="What was done.")
    reason: str = strawberry.field(description="The moderator's reason.")
    until: datetime | None = strawberry.field(description="End of a mute.")
    created_at: datetime = strawberry.field(description="When it was done.")

    @classmethod
    def from_model(cls, model: ChatModerationLogModel) -> ChatModerationLog:
        return cls(db_id=model.id, model=model,
                   action=ChatModerationActionModel(model.action), reason=model.reason,
                   until=model.until, created_at=model.created_at)

    @strawberry.field(description="Who acted.")
    async def actor(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.actor_id)

    @strawberry.field(description="The member muted, or the author of the deleted message.")
    async def target(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.target_volunteer_id)


@strawberry.type(description="The chat room (群聊) of a team or of an activity's confirmed "
                             "participants.")
class ChatRoom(Node):
    model: strawberry.Private[ChatRoomModel]
    kind: ChatRoomKind = strawberry.field(description="TEAM or ACTIVITY.")

    @classmethod
    def from_model(cls, model: ChatRoomModel) -> ChatRoom:
        return cls(db_id=model.id, model=model, kind=ChatRoomKindModel(model.kind))

    @strawberry.field(description="The team, for a TEAM room.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        team = await info.context.loaders.by_id(TeamModel).load(self.model.team_id)
        return Team.from_model(team) if team else None

    @strawberry.field(description="The activity, for an ACTIVITY room.")
    async def activity(self, info: Info) -> Activity | None:
        if self.model.activity_id is None:
            return None
        activity = await info.context.loaders.by_id(ActivityModel).load(self.model.activity_id)
        return Activity.from_model(activity) if activity else None

    @strawberry.field(description="Messages by others after the caller's read marker.")
    async def unread_count(self, info: Info) -> int:
        me = info.context.viewer.id or 0
        return await info.context.loaders.named(UnreadCountByRoomLoader, me).load(self.db_id)

    @strawberry.field(description="History, newest first (deleted messages left out), Relay "
                                  "paging: `first`/`after` go back in time from the newest (or "
                                  "from a cursor), `last`/`before` forward from a cursor (then "
                                  "hasPreviousPage: newer ones follow). A page reads only its "
                                  "own rows, however long the room's history.")
    async def messages(self, info: Info, first: int | None = None, after: str | None = None,
                       last: int | None = None,
                       before: str | None = None) -> Connection[ChatMessage]:
        loaders = info.context.loaders
        counter = loaders.counts("chat.messages", ChatMessageModel, "room_id", deleted=False)

        async def count() -> int:
            return await counter.load(self.db_id)

        if last is None and before is None:
            size = check_first(first)
            older_than = _cursor_id(after, "after")
            rows = await loaders.named(ChatPageByRoomLoader, size + 1, older_than, None,
                                       True).load(self.db_id)
            return build_connection(rows, size, NEWEST_FIRST, count,
                                    convert=ChatMessage.from_history, started_after=bool(after))
        if first is not None or after is not None:
            raise BadInput("last", "Page with first/after or with last/before, not both.")
        if last is not None and not 0 <= last <= MAX_PAGE:
            raise BadInput("last", f"last must be between 0 and {MAX_PAGE}.")
        size = DEFAULT_PAGE if last is None else last
        # oldest first from the cursor: the `size` messages right after it, shown newest first
        rows = await loaders.named(ChatPageByRoomLoader, size + 1, None,
                                   _cursor_id(before, "before"), False).load(self.db_id)
        edges = [Edge(position=functools.partial(make_cursor, row, NEWEST_FIRST),
                      node=ChatMessage.from_history(row)) for row in reversed(rows[:size])]
        return Connection(edges=edges, page_info=PageInfo(
            has_next_page=False, has_previous_page=len(rows) > size, edges=edges),
            count_fn=count)

    @strawberry.field(description="Until when the caller is muted here (null: not muted).")
    async def my_muted_until(self, info: Info) -> datetime | None:
        mutes = await info.context.loaders.grouped(
            ("chat.mutes", info.context.viewer.id), ChatMuteModel, "room_id",
            volunteer_id=info.context.viewer.id or 0).load(self.db_id)
        return mutes[0].until if mutes and mutes[0].until > datetime.now(UTC) else None

    @strawberry.field(description="Whether the caller moderates this room (mutes members, "
                                  "deletes any message): the team's admins, of the team or a "
                                  "parent team, and platform admins.")
    async def viewer_can_moderate(self, info: Info) -> bool:
        return await rules.can_moderate(info.context.viewer, self.model)

    @strawberry.field(description="People to mention (a picker): the team's approved members, or "
                                  "the activity's confirmed participants and its team's admins, "
                                  "by name; `search` matches the display name. The caller is "
                                  "left out. NOT_FOUND unless the caller may read the room.")
    async def members(self, info: Info, search: str | None = None,
                      first: int = 20) -> list[Volunteer]:
        people = await rules.room_members(info.context.viewer, self.db_id, search, first)
        return [Volunteer.from_model(person) for person in people]

    @strawberry.field(description="Mutes and deletions in this room, newest first (the room's "
                                  "moderators only).")
    async def moderation_log(self, info: Info, first: int | None = None,
                             after: str | None = None) -> Connection[ChatModerationLog]:
        await rules.check_moderation_log_reader(info.context.viewer, self.db_id)
        return await info.context.loaders.child_page(
            "chat.moderation", ChatModerationLogModel, "room_id", self.db_id, first, after,
            NEWEST_FIRST, convert=ChatModerationLog.from_model)


def _cursor_id(cursor: str | None, field: str) -> int | None:
    """The message id a history cursor stands for (None without a cursor)."""
    if cursor is None:
        return None
    try:
        return int(parse_cursor(cursor, NEWEST_FIRST)[-1])
    except (BadInput, TypeError, ValueError):
        raise BadInput(field, f"{field} is not a valid cursor.") from None


async def _room_node(info: Info, db_id: int) -> ChatRoom | None:
    try:
        scope = await rules.check_room(info.context.viewer, db_id)
    except DomainError:
        return None
    return ChatRoom.from_model(scope.room)


async def _message_node(info: Info, db_id: int) -> ChatMessage | None:
    model = await ChatMessageModel.get_or_none(id=db_id, deleted=False)
    if model is None or await _room_node(info, model.room_id) is None:
        return None
    return ChatMessage.from_model(model)


register_node("ChatRoom", _room_node)
register_node("ChatMessage", _message_node)


@strawberry.type
class ChatQuery:
    @strawberry.field(description="A team's or an activity's chat room (give exactly one id); "
                                  "NOT_FOUND unless the caller is a member or moderates it.")
    async def chat_room(self, info: Info, team_id: strawberry.ID | None = None,
                        activity_id: strawberry.ID | None = None) -> ChatRoom:
        scope = await rules.do_open_room(
            info.context.viewer, team_id=decode_optional_id(team_id, "Team", "teamId"),
            activity_id=decode_optional_id(activity_id, "Activity", "activityId"))
        return ChatRoom.from_model(scope.room)

    @strawberry.field(description="The caller's rooms: their teams', then their confirmed "
                                  "activities' (newest first; at most 100).")
    async def my_chat_rooms(self, info: Info) -> list[ChatRoom]:
        return [ChatRoom.from_model(room) for room in await rules.my_rooms(info.context.viewer)]


@strawberry.type
class ChatMutation:
    @strawberry.mutation(description="Send a message. A retry with the same clientId (e.g. the "
                                     "connection dropped) returns the first message, sent once. "
                                     "Mentioned room members are notified.")
    async def post_chat_message(
        self, info: Info, room_id: strawberry.ID, body: str,
        client_id: Annotated[str, strawberry.argument(
            description="Client-chosen key, unique per room and sender (e.g. a UUID).")],
        photo_urls: list[str] | None = None, mention_ids: list[strawberry.ID] | None = None,
    ) -> ChatMessage:
        posted = await rules.do_post_message(
            info.context.viewer, decode_id(room_id, "ChatRoom", "roomId"), rules.MessageData(
                body=body, client_id=client_id, photo_urls=photo_urls or [],
                mention_ids=[decode_id(i, "Volunteer", "mentionIds") for i in mention_ids or []]))
        await rules.notify_posted(posted)
        return ChatMessage.from_event(rules.message_event(posted.message, posted.author_name))

    @strawberry.mutation(description="Move the caller's read marker forward (to the newest "
                                      "message when upToMessageId is not given).")
    async def mark_chat_read(self, info: Info, room_id: strawberry.ID,
                             up_to_message_id: strawberry.ID | None = None) -> ChatRoom:
        scope = await rules.do_mark_read(
            info.context.viewer, decode_id(room_id, "ChatRoom", "roomId"),
            decode_optional_id(up_to_message_id, "ChatMessage", "upToMessageId"))
        return ChatRoom.from_model(scope.room)

    @strawberry.mutation(description="Mute a member until a time, or unmute (until: null); the "
                                     "room's moderators only; logged. The member is notified "
                                     "(CHAT_MUTED / CHAT_UNMUTED, about the room).")
    async def mute_chat_member(self, info: Info, room_id: strawberry.ID,
                               volunteer_id: strawberry.ID, reason: str,
                               until: datetime | None = None) -> ChatModerationLog:
        entry, notification = await rules.do_mute(
            info.context.viewer, decode_id(room_id, "ChatRoom", "roomId"),
            decode_id(volunteer_id, "Volunteer", "volunteerId"), until, reason)
        await notify_created([notification])
        return ChatModerationLog.from_model(entry)

    @strawberry.mutation(description="Delete a message (its author, or the room's moderators); "
                                     "logged; open rooms withdraw it live.")
    async def delete_chat_message(self, info: Info, message_id: strawberry.ID,
                                  reason: str) -> ChatMessage:
        message, _, author_name = await rules.do_delete_message(
            info.context.viewer, decode_id(message_id, "ChatMessage", "messageId"), reason)
        await rules.notify_deleted(message, author_name)
        return ChatMessage.from_event(rules.message_event(message, author_name))


@strawberry.type
class ChatSubscription:
    @strawberry.subscription(description="A room's new messages (and deletions, marked deleted), "
                                         "live on every worker. Ends when the caller leaves the "
                                         "team or the activity. With `after`, the messages "
                                         "written since that one come first, each exactly once.")
    async def chat_messages(
        self, info: Info, room_id: strawberry.ID,
        after: Annotated[strawberry.ID | None, strawberry.argument(
            description="The newest message the client already has (from the history it read, "
                        "or the last one it received before reconnecting); the room's own ID "
                        "when it has none. Every message after it is sent first, oldest first, "
                        "then the live ones, none twice: nothing written between reading the "
                        "history and subscribing is lost.")] = None,
    ) -> AsyncGenerator[ChatMessage, None]:
        viewer = info.context.viewer
        scope = await rules.check_room(viewer, decode_id(room_id, "ChatRoom", "roomId"))
        replay_from = _replay_from(after, scope.id)
        # Shared (schema/live/fanout.py): this runs once for every member of the room's group
        # on this worker, and the group re-checks all of them with the same rule before each
        # message; alone, it re-checks its own viewer (batched with the room's other
        # per-subscriber streams by rules.access_check).
        audience = info.context.audience if info.context.fan_out else None
        if audience is not None:
            audience.check = lambda ids: rules.readers_among(scope, ids)
        subscription = await services().broker.subscribe(channels.chat_room(scope.id))
        try:
            # Subscribed first, so nothing written after this read is missed.
            replayed: set[int] = set()
            if replay_from is None:
                newest = await ChatMessageModel.filter(room_id=scope.id).order_by("-id").first()
                last = newest.id if newest else 0
            else:
                last = replay_from
                # Pages of the missed messages. One committed before its page was read but
                # published after the subscription began arrives live too: skipped below by
                # id (not by a high-water mark: concurrent posts may commit out of id order).
                while batch := await rules.messages_since(scope.id, last, REPLAY_BATCH):
                    for each in batch:
                        last = int(each["id"])
                        replayed.add(last)
                        yield ChatMessage.from_event(each)
                    if len(batch) < REPLAY_BATCH:
                        break
            async for event in subscription:
                info.context.fresh_loaders()
                if "kick" in event:
                    if audience is not None:
                        await audience.recheck({int(event["kick"])})
                    elif event["kick"] == viewer.id and \
                            not await rules.access_check.allowed(scope, viewer.id or 0):
                        return
                    continue
                events = await rules.messages_since(scope.id, last) if event == RESYNC \
                    else [event]
                for each in events:
                    if not each["deleted"] and int(each["id"]) in replayed:
                        replayed.discard(int(each["id"]))
                        continue  # sent by the replay already
                    if audience is None and \
                            not await rules.access_check.allowed(scope, viewer.id or 0):
                        return
                    last = max(last, int(each["id"]))
                    if audience is not None:  # the group's frames carry a message sent then
                        info.context.changed_at = datetime.fromisoformat(each["at"]).timestamp()
                    yield ChatMessage.from_event(each)
        finally:
            await subscription.close()


REPLAY_BATCH = 100


def _replay_from(after: str | None, room_id: int) -> int | None:
    """The message id to replay after: None (no `after`), 0 (the room's own ID: from the
    start) or the given message's id."""
    if after is None:
        return None
    kind, db_id = parse_global_id(after, "after")
    if kind == "ChatRoom" and db_id == room_id:
        return 0
    return decode_id(after, "ChatMessage", "after")


async def _chat_messages_group(context: Context, args: dict[str, Any]) -> Hashable | None:
    """Every shareable ChatMessage field is the same for everyone who may read the room
    (moderators included: a deletion reaches all alike), so one group per room (and `after`
    value, through the variables); whoever may not read it, or gives a bad `after`, takes the
    per-subscriber path, which answers NOT_FOUND or BAD_USER_INPUT. Losing access later
    is caught per member by the group's Audience (the resolver installs the rule)."""
    try:
        scope = await rules.check_room(context.viewer,
                                       decode_id(args["roomId"], "ChatRoom", "roomId"))
        _replay_from(args.get("after"), scope.id)
    except DomainError:
        return None
    return "reader"


# clientId is the sender's own (null for everyone else) and author is a Volunteer whose fields
# depend on the viewer: a document selecting either runs per subscriber.
share(ShareRule(
    field="chatMessages",
    fields={"ChatMessage": frozenset({"id", "body", "photoUrls", "deleted", "createdAt",
                                      "authorName", "authorId", "mentionIds", "roomId"})},
    group_key=_chat_messages_group,
    mode=ShareMode.EVENTS,
    # members who give the same `after` share a group that replays from it, and one joining
    # later gets everything that group sent (schema/live/fanout.py)
    replay_argument="after",
))


__all__ = ["ChatMessage", "ChatModerationLog", "ChatMutation", "ChatQuery", "ChatRoom",
           "ChatSubscription"]
