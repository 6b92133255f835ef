"""Offer timers are stored, not held in memory: an offer made while one server runs, which
stops before the offer is due, is fired exactly once by a later two-worker server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from models.activity import SignUp, SignUpStatus
from models.notification import Notification
from resolvers import offers
from resolvers.auth import Viewer
from resolvers.signup import do_cancel_sign_up
from tests.helpers import until
from tests.live import LiveServer, sample, scrape, start_server
from tests.offers.test_offers import _full_activity, assert_counts_match_rows

pytestmark = pytest.mark.e2e

INTERVAL = 0.5  # the offers job's interval (5 s by default)
TOKEN = "offer-timer-metrics-" + "x" * 16
TICK = {"OFFER_CHECK_SECONDS": str(INTERVAL), "METRICS_TOKEN": TOKEN}


async def _ran_since(server: LiveServer, moment: float) -> bool:
    return await last_offers_run(server) > moment


async def last_offers_run(server: LiveServer) -> float:
    """When the server's offers job last ended without an error (Unix time; 0: not yet), as
    its /metrics says (the latest of its workers)."""
    return sample(await scrape(server, TOKEN), "tongxin_job_last_success_timestamp_seconds",
                  job="offers")


async def test_a_stored_offer_fires_once_after_a_restart(db):
    # given: an offer due in a few seconds, and a server that stops before it is due
    activity, confirmed, waitlisted = await _full_activity(timedelta(hours=5))
    await do_cancel_sign_up(Viewer(confirmed[0]), activity.id)
    first = start_server(db, env=TICK)
    try:
        # at least one job tick: the offer is not due yet
        await until(lambda: last_offers_run(first), "the first server's offers job has run",
                    timeout=30, interval=0.05)
    finally:
        first.stop()
    held = await SignUp.get(activity_id=activity.id, volunteer_id=waitlisted[0].id)
    assert held.status == SignUpStatus.OFFERED
    # the offer's time passes while no server runs
    await SignUp.filter(id=held.id).update(offer_expires_at=datetime.now(UTC) - timedelta(
        seconds=1))
    # when: a two-worker server starts after the offer is due
    second = start_server(db, workers=2, env=TICK)
    try:
        await until(lambda: SignUp.filter(activity_id=activity.id, volunteer_id=waitlisted[1].id,
                                          status=SignUpStatus.OFFERED).exists(),
                    "the next on the waitlist is offered the place", timeout=30)
        # another job tick in each worker (nothing fires twice): the workers tick every
        # INTERVAL, so once a run that began an interval after the offer moved has ended,
        # each of them has begun one since
        moved = time.time()
        await until(lambda: _ran_since(second, moved + INTERVAL),
                    "the offers job runs again", timeout=30, interval=0.05)
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
