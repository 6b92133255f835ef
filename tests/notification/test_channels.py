"""Delivery channels: SMS outbox inside the change's transaction, channel failures never roll
back the change, the outbox drain, and the live `notificationReceived` stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from core import pii
from models.notification import Notification, SmsOutbox
from models.team import Team
from models.volunteer import VolunteerStatus
from resolvers import notification as channels_module
from resolvers.auth import Viewer
from resolvers.notification import create_notification, drain_sms_outbox, notify_created
from schema import schema
from schema.context import Context
from subscriptions import channels
from tests.helpers import make_volunteer, wait_for_subscribers

RECEIVED = "subscription { notificationReceived { kind title read } }"


class FailingSender:
    async def queue(self, notification: Notification, using: Any) -> None:
        await SmsOutbox.create(volunteer_id=notification.volunteer_id, notification=notification,
                               text="x" * 501, using_db=using)  # too long: the insert fails
        raise RuntimeError("gateway exploded")


class RecordingGateway:
    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_for = fail_for or set()

    async def send(self, phone: str, text: str) -> None:
        if phone in self.fail_for:
            raise ConnectionError("provider down")
        self.sent.append((phone, text))


async def test_sms_goes_to_the_outbox_in_the_same_transaction(db):
    # given
    person = await make_volunteer("李明")
    # when: the change rolls back
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await create_notification(person.id, "K", "活动取消", "b", sms=True, using=conn)
            raise RuntimeError("the change failed")
    # then: neither the notification nor its SMS exist
    assert await Notification.all().count() == 0
    assert await SmsOutbox.all().count() == 0
    # when: the change commits
    async with in_transaction() as conn:
        note = await create_notification(person.id, "K", "活动取消", "b", sms=True, using=conn)
    # then
    outbox = await SmsOutbox.get(notification_id=note.id)
    assert outbox.text == "【同心】活动取消"
    assert outbox.sent_at is None


@pytest.mark.parametrize("inside_transaction", [True, False])
async def test_failing_sms_channel_never_rolls_back_the_change(db, inside_transaction):
    # given
    person = await make_volunteer("李明")
    previous = channels_module.set_sms_sender(FailingSender())
    try:
        # when
        if inside_transaction:
            async with in_transaction() as conn:
                await Team.create(name="变更", type="COMMUNITY", district="朝阳区",
                                  created_by_id=person.id, using_db=conn)
                await create_notification(person.id, "K", "t", "b", sms=True, using=conn)
        else:
            await Team.create(name="变更", type="COMMUNITY", district="朝阳区",
                              created_by_id=person.id)
            await create_notification(person.id, "K", "t", "b", sms=True)
    finally:
        channels_module.set_sms_sender(previous)
    # then: the change and the in-app notification are there, the broken SMS is not
    assert await Team.filter(name="变更").count() == 1
    assert await Notification.all().count() == 1
    assert await SmsOutbox.all().count() == 0


async def test_drain_sends_once_and_retries_failures(db):
    # given
    ok = await make_volunteer("李明")
    broken = await make_volunteer("王芳")
    pending = await make_volunteer("张伟", status=VolunteerStatus.PENDING_CONSENT)
    for person in (ok, broken, pending):
        await create_notification(person.id, "K", "提醒", "b", sms=True)
    gateway = RecordingGateway(fail_for={pii.phone_of(broken)})
    # when
    sent = await drain_sms_outbox(gateway)
    again = await drain_sms_outbox(gateway)
    # then: one message went out exactly once; the failure is retried, the unconsented never
    assert sent == 1 and again == 0
    assert gateway.sent == [(pii.phone_of(ok), "【同心】提醒")]
    failed = await SmsOutbox.get(volunteer_id=broken.id)
    assert failed.sent_at is None and failed.attempts == 2
    skipped = await SmsOutbox.get(volunteer_id=pending.id)
    assert skipped.attempts == channels_module.SMS_MAX_ATTEMPTS
    # and once the provider is back, the retry succeeds
    gateway.fail_for.clear()
    assert await drain_sms_outbox(gateway) == 1
    assert (await SmsOutbox.get(volunteer_id=broken.id)).sent_at is not None


async def _subscribe(person) -> Any:
    context = Context(viewer=Viewer(person))
    stream = await schema.subscribe(RECEIVED, context_value=context)
    return stream


async def _next(stream: Any, timeout: float = 5.0) -> Any:
    return await asyncio.wait_for(stream.__anext__(), timeout)


async def test_live_stream_delivers_own_notifications_after_commit(db):
    # given
    me = await make_volunteer("李明")
    other = await make_volunteer("王芳")
    await create_notification(me.id, "OLD", "旧消息", "b")  # before subscribing: not replayed
    stream = await _subscribe(me)
    first = asyncio.ensure_future(_next(stream))
    await wait_for_subscribers(channels.notifications(me.id))
    try:
        # when
        foreign = await create_notification(other.id, "OTHER", "别人的", "b")
        mine = await create_notification(me.id, "HOURS_APPROVED", "时长通过", "b")
        await notify_created([foreign, mine])
        # then
        result = await first
        assert not result.errors
        assert result.data["notificationReceived"] == {
            "kind": "HOURS_APPROVED", "title": "时长通过", "read": False}
        # when: two more arrive, the second announced before the first (out of commit order)
        later = [await create_notification(me.id, "K", f"第{i}条", "b") for i in range(2)]
        await notify_created(reversed(later))
        # then: both, in order, each once
        titles = [(await _next(stream)).data["notificationReceived"]["title"] for _ in range(2)]
        assert titles == ["第0条", "第1条"]
    finally:
        await stream.aclose()


async def test_live_stream_catches_up_after_a_lost_message(db):
    # given
    me = await make_volunteer("李明")
    stream = await _subscribe(me)
    first = asyncio.ensure_future(_next(stream))
    await wait_for_subscribers(channels.notifications(me.id))
    try:
        # when: one notification is never announced (a lost pub/sub message), the next is
        lost = await create_notification(me.id, "K", "丢失的", "b")
        announced = await create_notification(me.id, "K", "后来的", "b")
        await notify_created([announced])
        # then: both are delivered, oldest first
        assert (await first).data["notificationReceived"]["title"] == "丢失的"
        assert (await _next(stream)).data["notificationReceived"]["title"] == "后来的"
        assert lost.id < announced.id
    finally:
        await stream.aclose()


async def test_live_stream_needs_a_signed_in_volunteer(db):
    # when
    stream = await schema.subscribe(RECEIVED, context_value=Context())
    result = await _next(stream)
    # then
    assert result.errors and result.errors[0].extensions["code"] == "UNAUTHENTICATED"
