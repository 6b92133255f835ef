"""Offer timers are stored, not held in memory: an offer made while one server runs, which
stops before the offer is due, is fired exactly once by a later two-worker server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from models.activity import SignUp, SignUpStatus
from models.notification import Notification
from resolvers import offers
from resolvers.auth import Viewer
from resolvers.signup import do_cancel_sign_up
from tests.live import start_server
from tests.offers.test_offers import _full_activity, assert_counts_match_rows

pytestmark = pytest.mark.e2e

TICK = {"OFFER_CHECK_SECONDS": "0.5"}  # the offers job's interval (5 s by default)


async def test_a_stored_offer_fires_once_after_a_restart(db):
    # given: an offer due in a few seconds, and a server that stops before it is due
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    first = start_server(db, env=TICK)
    await asyncio.sleep(1.5)  # at least one job tick: the offer is not due yet
    first.stop()
    held = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
    assert held.status == SignUpStatus.OFFERED
    # the offer's time passes while no server runs
    await SignUp.filter(id=held.id).update(offer_expires_at=datetime.now(UTC) - timedelta(
        seconds=1))
    # when: a two-worker server starts after the offer is due
    second = start_server(db, workers=2, env=TICK)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            nxt = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[1].id)
            if nxt.status == SignUpStatus.OFFERED:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # another job tick in each worker
    finally:
        second.stop()
    # then
    assert (await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
            ).status == SignUpStatus.CANCELLED
    assert (await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[1].id)
            ).status == SignUpStatus.OFFERED
    assert await Notification.filter(kind=offers.OFFER_EXPIRED).count() == 1
    assert await Notification.filter(kind=offers.OFFER_MADE).count() == 2
    await assert_counts_match_rows(activity.id)
