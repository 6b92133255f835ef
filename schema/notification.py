"""Notifications: the caller's inbox, marking read, and the live `notificationReceived` stream."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from models.notification import Notification as NotificationModel
from resolvers import notification as rules
from resolvers.services import services
from schema.context import Info
from schema.relay import (
    NEWEST_FIRST,
    NODE_RESOLVERS,
    Connection,
    Node,
    decode_id,
    paginate,
    register_node,
)
from subscriptions import channels
from subscriptions.broker import RESYNC

# A live subscriber remembers this many delivered IDs to skip duplicates after a catch-up.
DELIVERED_MEMORY = 512
CATCH_UP_BATCH = 100


@strawberry.type(description="Something the volunteer was told: in-app always, SMS for some kinds.")
class Notification(Node):
    model: strawberry.Private[NotificationModel]
    kind: str = strawberry.field(
        description="What happened, e.g. SIGN_UP_PROMOTED, ACTIVITY_CANCELLED, HOURS_APPROVED."
    )
    title: str = strawberry.field(description="One-line summary.")
    body: str = strawberry.field(description="The full message.")
    read: bool = strawberry.field(description="Whether the volunteer marked it read.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_model(cls, model: NotificationModel) -> Notification:
        return cls(db_id=model.id, model=model, kind=model.kind, title=model.title, body=model.body,
                   read=model.read, created_at=model.created_at)

    @strawberry.field(description="The object it is about (activity, service record…), if visible.")
    async def subject(self, info: Info) -> Node | None:
        if self.model.subject_type is None or self.model.subject_id is None:
            return None
        resolver = NODE_RESOLVERS.get(self.model.subject_type)
        return await resolver(info, self.model.subject_id) if resolver else None


async def _node(info: Info, db_id: int) -> Notification | None:
    model = await rules.get_own_notification(info.context.viewer, db_id)
    return Notification.from_model(model) if model else None


register_node("Notification", _node)


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        unread_only: bool | None = None,
    ) -> Connection[Notification]:
        query = rules.list_notifications(info.context.viewer, unread_only=bool(unread_only))
        return await paginate(query, first, after, convert=Notification.from_model,
                              order=NEWEST_FIRST)

    @strawberry.field(description="How many of the caller's notifications are unread.")
    async def unread_notification_count(self, info: Info) -> int:
        return await rules.list_notifications(info.context.viewer, unread_only=True).count()


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mark the caller's notifications read (none given: all). "
                                     "Returns how many changed.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None
    ) -> int:
        db_ids = None if ids is None else [decode_id(i, "Notification", "ids") for i in ids]
        return await rules.do_mark_read(info.context.viewer, db_ids)


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(description="The caller's own new notifications, live. Needs the "
                                         "token in the connection_init payload.")
    async def notification_received(self, info: Info) -> AsyncGenerator[Notification, None]:
        volunteer = info.context.viewer.require()
        high = await rules.latest_notification_id(volunteer.id)
        subscription = await services().broker.subscribe(channels.notifications(volunteer.id))
        delivered: deque[int] = deque(maxlen=DELIVERED_MEMORY)
        try:
            wanted: set[int] = set()
            while True:
                # Each round re-reads everything newer than the highest delivered ID (catch-up
                # after subscribing, after a Redis reconnect or a dropped message) plus any
                # announced IDs below it (transactions that committed out of ID order).
                info.context.fresh_loaders()
                rows = await rules.new_notifications_since(volunteer.id, high, wanted,
                                                           limit=CATCH_UP_BATCH)
                for row in rows:
                    if row.id in delivered:
                        continue
                    delivered.append(row.id)
                    high = max(high, row.id)
                    yield Notification.from_model(row)
                wanted = set()
                if len(rows) == CATCH_UP_BATCH:
                    continue
                message: dict[str, object] | None = await subscription.get()
                while message is not None:
                    announced = message.get("id")
                    if message is not RESYNC and isinstance(announced, int):
                        wanted.add(announced)
                    message = subscription.get_nowait()
                wanted -= set(delivered)
        finally:
            await subscription.close()
