"""core/aio.py cancel_and_wait: stopping a helper task never swallows the caller's own cancel,
and no code outside the tests stops a task the way that did."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from core.aio import cancel_and_wait

ROOT = Path(__file__).resolve().parents[2]


async def test_a_stopped_task_ends_quietly_and_its_error_is_raised():
    # given a task that waits for ever, and one that fails
    idle = asyncio.create_task(asyncio.Event().wait())

    async def failing() -> None:
        raise ValueError("broken")

    failed = asyncio.create_task(failing())
    await asyncio.sleep(0)
    # when both are stopped: the first ends by its cancel (no error), the second with its own
    await cancel_and_wait(idle)
    with pytest.raises(ValueError, match="broken"):
        await cancel_and_wait(failed)
    # then
    assert idle.cancelled()
    await cancel_and_wait(None)  # nothing to stop


async def test_the_callers_cancel_while_it_waits_for_the_task_is_raised():
    # given a task that takes a while to stop, and a caller stopping it
    release = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # its clean-up takes a moment

    helper = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    carried_on = []

    async def caller() -> None:
        await cancel_and_wait(helper)
        carried_on.append(True)  # `with suppress(CancelledError): await task` got here

    stopping = asyncio.create_task(caller())
    await asyncio.sleep(0)
    # when the caller itself is cancelled while it waits, and the helper then ends
    stopping.cancel()
    await asyncio.sleep(0)
    release.set()
    # then the caller's cancel reaches it
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert carried_on == []
    assert helper.cancelled()


def test_no_code_outside_the_tests_stops_a_task_by_suppressing_cancelled_error():
    # `task.cancel(); with suppress(CancelledError): await task` also swallows a cancel of the
    # code doing it, which then carries on as if never asked to stop: cancel_and_wait is the way
    found = [f"{path.relative_to(ROOT)}:{number}"
             for folder in ("core", "db", "forum", "models", "resolvers", "schema", "subscriptions", "scripts")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"^\s*with .*suppress\([^)]*CancelledError", line)]
    found += [f"server.py:{number}" for number, line in
              enumerate((ROOT / "server.py").read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"^\s*with .*suppress\([^)]*CancelledError", line)]
    assert found == []
