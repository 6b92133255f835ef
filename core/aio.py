"""asyncio details every long wait of a subscriber shares."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("tongxin.aio")


def honour_lost_cancel() -> None:
    """Called where a subscriber parks until its next event: a cancel asked of this task that
    never reached it ends it here instead of leaving it parked for ever.

    Python 3.11's `asyncio.wait_for` returns the awaited result when it completes in the same
    loop turn as a cancel, and the cancel is gone (cpython gh-86296, fixed in 3.12 by
    reimplementing it on `asyncio.timeout`). redis-py sends every command through it, so a
    WebSocket closed while its subscription's SUBSCRIBE was on the wire left the operation
    running, subscribed, with nobody reading it. Our own code uses `asyncio.timeout` (ruff
    bans `asyncio.wait_for`, pyproject.toml); a library's lost cancel is caught here, since
    the task still counts the request (`Task.cancelling()`)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        log.info("a cancel lost on the way was honoured before waiting: %s", task.get_name())
        raise asyncio.CancelledError


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancels `task` (None, or the caller itself: nothing to do) and returns once it has ended.
    Its own cancellation is the expected end and is not raised; an error it ended with is. A
    cancel of the caller while it waits is raised, where `with suppress(CancelledError): await
    task` would swallow it with the task's and carry on as if never asked to stop."""
    caller = asyncio.current_task()
    if task is None or task is caller:
        return
    asked = caller.cancelling() if caller is not None else 0
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if caller is not None and caller.cancelling() > asked:
            raise
