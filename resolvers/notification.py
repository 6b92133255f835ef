"""Notifications: rows written inside the caller's transaction, pushed live after commit.

Channels sit behind one small interface. In-app delivery is the row itself plus a live push;
SMS goes through a pluggable `SmsSender` (default: the outbox table a gateway adapter drains).
A channel failure is logged and never rolls back the change that caused the notification.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from models.notification import Notification, SmsOutbox
from resolvers.services import services
from subscriptions import channels

log = logging.getLogger("tongxin.notifications")


class SmsSender(Protocol):
    async def queue(self, notification: Notification, using: BaseDBAsyncClient | None) -> None: ...


class OutboxSmsSender:
    """Writes an outbox row; a gateway adapter (see README) drains it and sets `sent_at`."""

    async def queue(self, notification: Notification, using: BaseDBAsyncClient | None) -> None:
        text = f"【同心】{notification.title}"[:500]
        await SmsOutbox.create(volunteer_id=notification.volunteer_id, notification=notification,
                               text=text, using_db=using)


sms_sender: SmsSender = OutboxSmsSender()


async def create_notification(
    volunteer_id: int,
    kind: str,
    title: str,
    body: str,
    *,
    subject: tuple[str, int] | None = None,
    sms: bool = False,
    using: BaseDBAsyncClient | None = None,
) -> Notification:
    """Call inside the transaction of the change; publish with `notify_created` after commit."""
    notification = await Notification.create(
        volunteer_id=volunteer_id,
        kind=kind,
        title=title[:200],
        body=body,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        using_db=using,
    )
    if sms:
        try:
            async with _savepoint(using):
                await sms_sender.queue(notification, using)
        except Exception:
            log.exception("sms channel failed for notification %s", notification.id)
    return notification


class _savepoint:
    """A nested transaction when inside one, so a failing channel cannot poison the outer one."""

    def __init__(self, using: BaseDBAsyncClient | None) -> None:
        self._using = using
        self._context = None

    async def __aenter__(self) -> None:
        if self._using is not None:
            self._context = self._using._in_transaction()
            await self._context.__aenter__()

    async def __aexit__(self, *exc: object) -> bool:
        if self._context is not None:
            await self._context.__aexit__(*exc)
        return False


async def notify_created(notifications: Iterable[Notification]) -> None:
    """After commit: push each notification to its owner's live channel."""
    broker = services().broker
    for notification in notifications:
        try:
            await broker.publish(channels.notifications(notification.volunteer_id),
                                 {"id": notification.id})
        except Exception:
            log.exception("live push failed for notification %s", notification.id)
