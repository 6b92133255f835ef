"""Notifications: rows written inside the caller's transaction, pushed live after commit.

Channels sit behind one small interface. In-app delivery is the row itself plus a live push;
SMS is a transactional outbox: a pluggable `SmsSender` enqueues inside the transaction (the
default writes an `SmsOutbox` row) and `drain_sms_outbox` hands queued messages to an
`SmsGateway` adapter after commit, outside any transaction (see docs/hours.md).
A channel failure is logged and never rolls back the change that caused the notification.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from core import pii
from models.consent import ConsentPurpose
from models.notification import Notification, SmsOutbox
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.consent import withdrawn
from resolvers.errors import BadInput
from resolvers.services import services
from resolvers.sql import Sql, bulk_rows, execute, fetch
from subscriptions import channels

log = logging.getLogger("tongxin.notifications")

SMS_TEXT_MAX = 500
MARK_READ_IDS_MAX = 500
SMS_MAX_ATTEMPTS = 5

# Kinds written by the hours work; other domains add their own (SIGN_UP_PROMOTED, ...).
HOURS_APPROVED = "HOURS_APPROVED"
HOURS_ADJUSTED = "HOURS_ADJUSTED"
HOURS_REJECTED = "HOURS_REJECTED"
STAR_LEVEL_REACHED = "STAR_LEVEL_REACHED"


class SmsSender(Protocol):
    """Enqueue one message inside the caller's transaction. Must not do network I/O."""

    async def queue(self, notification: Notification, using: BaseDBAsyncClient | None) -> None: ...


class SmsGateway(Protocol):
    """A real SMS provider adapter. Raise on failure; the outbox row is retried later."""

    async def send(self, phone: str, text: str) -> None: ...


class OutboxSmsSender:
    """Writes an outbox row; `drain_sms_outbox` hands it to the gateway and sets `sent_at`."""

    async def queue(self, notification: Notification, using: BaseDBAsyncClient | None) -> None:
        text = f"【同心】{notification.title}"[:SMS_TEXT_MAX]
        await SmsOutbox.create(volunteer_id=notification.volunteer_id, notification=notification,
                               text=text, using_db=using)


class LoggingSmsGateway:
    """Development gateway: logs that a message would be sent, with the phone masked."""

    async def send(self, phone: str, text: str) -> None:
        log.info("sms to %s****%s: %d characters", phone[:3], phone[-4:], len(text))


def _load(dotted: str) -> object:
    """`package.module:Name` → an instance of Name (called with no arguments)."""
    module_name, _, attribute = dotted.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    return factory()


def _sender_from_env() -> SmsSender:
    dotted = os.environ.get("SMS_SENDER")
    return _load(dotted) if dotted else OutboxSmsSender()  # type: ignore[return-value]


def gateway_from_env() -> SmsGateway:
    dotted = os.environ.get("SMS_GATEWAY")
    return _load(dotted) if dotted else LoggingSmsGateway()  # type: ignore[return-value]


sms_sender: SmsSender = _sender_from_env()


def set_sms_sender(sender: SmsSender) -> SmsSender:
    """Swap the SMS channel (tests, deployments); returns the previous one."""
    global sms_sender
    previous, sms_sender = sms_sender, sender
    return previous


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
        kind=kind[:40],
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


NOTIFICATION_COLUMNS = (("volunteer_id", "int"), ("kind", "text"), ("title", "text"),
                        ("body", "text"), ("subject_type", "text"), ("subject_id", "int"))
SMS_COLUMNS = (("volunteer_id", "int"), ("notification_id", "int"), ("text", "text"))


@dataclass(frozen=True)
class NewNotification:
    volunteer_id: int
    kind: str
    title: str
    body: str
    subject: tuple[str, int] | None = None
    sms: bool = False


async def create_notifications(items: Sequence[NewNotification],
                               using: BaseDBAsyncClient) -> list[Notification]:
    """Many at once (jobs that notify thousands): one INSERT for the rows and, with the
    default outbox channel, one for the SMS. Call inside the transaction of the change;
    the returned rows carry id and volunteer_id for `notify_created` after commit."""
    if not items:
        return []
    moment = datetime.now(UTC)
    dialect = using.capabilities.dialect
    rows = await fetch(using, Sql(
        "INSERT INTO notification (volunteer_id, kind, title, body, read, subject_type, "
        "subject_id, created_at) SELECT b.volunteer_id, b.kind, b.title, b.body, FALSE, "
        "b.subject_type, b.subject_id, :at FROM (:rows) AS b WHERE TRUE "
        "RETURNING id, volunteer_id, kind, subject_type, subject_id", at=moment,
        rows=bulk_rows(dialect, NOTIFICATION_COLUMNS, [
            (item.volunteer_id, item.kind[:40], item.title[:200], item.body,
             item.subject[0] if item.subject else None,
             item.subject[1] if item.subject else None) for item in items])))
    # RETURNING's row order is not promised: pair rows and items by what they were given
    # (items equal in all of these are interchangeable but for body and channel).
    ids: dict[tuple[object, ...], list[int]] = {}
    for row in sorted(rows, key=lambda row: int(row["id"])):
        key = (int(row["volunteer_id"]), row["kind"], row["subject_type"], row["subject_id"])
        ids.setdefault(key, []).append(int(row["id"]))
    made = []
    for item in items:
        subject_type, subject_id = item.subject if item.subject else (None, None)
        made.append(Notification(
            id=ids[(item.volunteer_id, item.kind[:40], subject_type, subject_id)].pop(0),
            volunteer_id=item.volunteer_id, kind=item.kind[:40], title=item.title[:200],
            body=item.body, read=False, subject_type=subject_type, subject_id=subject_id,
            created_at=moment))
    texting = [notification for notification, item in zip(made, items, strict=True) if item.sms]
    if texting and isinstance(sms_sender, OutboxSmsSender):
        await execute(using, Sql(
            "INSERT INTO sms_outbox (volunteer_id, notification_id, text, attempts, created_at) "
            "SELECT b.volunteer_id, b.notification_id, b.text, 0, :at FROM (:rows) AS b "
            "WHERE TRUE", at=moment, rows=bulk_rows(dialect, SMS_COLUMNS, [
                (n.volunteer_id, n.id, f"【同心】{n.title}"[:SMS_TEXT_MAX]) for n in texting])))
    else:
        for notification in texting:
            try:
                async with _savepoint(using):
                    await sms_sender.queue(notification, using)
            except Exception:
                log.exception("sms channel failed for notification %s", notification.id)
    return made


class _savepoint:
    """A savepoint inside the current transaction (a short transaction outside one), so a
    failing channel is rolled back alone and cannot poison the change's transaction."""

    def __init__(self, using: BaseDBAsyncClient | None) -> None:
        self._client = using if using is not None else connections.get("default")
        self._context: object | None = None

    async def __aenter__(self) -> None:
        context = self._client._in_transaction()
        await context.__aenter__()
        self._context = context

    async def __aexit__(self, *exc: object) -> bool:
        if self._context is not None:
            await self._context.__aexit__(*exc)  # type: ignore[attr-defined]
        return False


async def notify_created(notifications: Iterable[Notification]) -> None:
    """After commit: push each notification to its owner's live channel (one Redis pipeline
    for all of them: a job notifying thousands makes one round trip, not thousands). A failed
    push is logged; subscribers catch up from the database after a resync."""
    items = [(channels.notifications(n.volunteer_id), {"id": n.id}) for n in notifications]
    if not items:
        return
    try:
        await services().broker.publish_many(items)
    except Exception:
        log.exception("live push failed for %d notifications", len(items))


def list_notifications(viewer: Viewer, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The caller's own notifications (newest first is the caller's ordering choice)."""
    volunteer = viewer.require()
    query = Notification.filter(volunteer_id=volunteer.id)
    if unread_only:
        query = query.filter(read=False)
    return query


async def get_own_notification(viewer: Viewer, notification_id: int) -> Notification | None:
    """None for missing and for other people's notifications alike (IDs cannot be probed)."""
    if viewer.id is None:
        return None
    return await Notification.get_or_none(id=notification_id, volunteer_id=viewer.id)


async def do_mark_read(viewer: Viewer, ids: list[int] | None) -> int:
    """Marks the caller's unread notifications (all, or the given ones) read; returns how many
    changed. Other people's IDs are silently ignored. One conditional UPDATE: no lock needed."""
    volunteer = viewer.require()
    query = Notification.filter(volunteer_id=volunteer.id, read=False)
    if ids is not None:
        if len(ids) > MARK_READ_IDS_MAX:
            raise BadInput("ids", f"At most {MARK_READ_IDS_MAX} ids at a time.")
        if not ids:
            return 0
        query = query.filter(id__in=sorted(set(ids)))
    return int(await query.update(read=True))


async def new_notifications_since(
    volunteer_id: int, after_id: int, announced: Iterable[int] = (), *, limit: int = 100
) -> list[Notification]:
    """A live subscriber's read: everything newer than the highest ID it delivered (catch-up
    after subscribing or a Redis reconnect) plus announced IDs below it (transactions that
    committed out of ID order)."""
    condition = Q(id__gt=after_id)
    wanted = sorted(set(announced))
    if wanted:
        condition |= Q(id__in=wanted)
    return await Notification.filter(condition, volunteer_id=volunteer_id).order_by(
        "id").limit(limit)


async def latest_notification_id(volunteer_id: int) -> int:
    row = await Notification.filter(volunteer_id=volunteer_id).order_by("-id").first().values("id")
    return int(row["id"]) if row else 0


async def drain_sms_outbox(gateway: SmsGateway | None = None, *, limit: int = 100,
                           max_attempts: int = SMS_MAX_ATTEMPTS) -> int:
    """Send queued SMS through the gateway; returns how many were sent. Safe to run from
    several processes: each row is claimed by a conditional UPDATE on its attempt count
    before sending, so one message goes to the gateway at most once per attempt."""
    gateway = gateway or gateway_from_env()
    pending = await SmsOutbox.filter(sent_at=None, attempts__lt=max_attempts).order_by(
        "id").limit(limit)
    if not pending:
        return 0
    people = {
        person.id: person
        for person in await Volunteer.filter(id__in={row.volunteer_id for row in pending})
    }
    # Withdrawn SMS consent: the message is abandoned like an unconsented person's.
    no_sms = await withdrawn(people, ConsentPurpose.SMS)
    sent = 0
    for row in pending:
        claimed = await SmsOutbox.filter(id=row.id, sent_at=None, attempts=row.attempts).update(
            attempts=F("attempts") + 1)
        if not claimed:
            continue
        person = people.get(row.volunteer_id)
        if (person is None or person.status == VolunteerStatus.PENDING_CONSENT
                or person.id in no_sms or person.phone_cipher is None):
            await SmsOutbox.filter(id=row.id).update(attempts=max_attempts)
            continue
        try:
            await gateway.send(pii.phone_of(person), row.text)
        except Exception:
            log.warning("sms gateway failed for outbox row %s (attempt %s)", row.id,
                        row.attempts + 1, exc_info=True)
            continue
        await SmsOutbox.filter(id=row.id).update(sent_at=datetime.now(UTC))
        sent += 1
    return sent
