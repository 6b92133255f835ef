"""Browser fixtures: locally a missing Chromium skips loudly; under CI=true it fails the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.web.browser import browser_problem, new_driver, quit_driver

PROBLEM = browser_problem()


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    if PROBLEM is None or not any("tests/web/" in item.nodeid for item in items):
        return
    if IN_CI:
        raise pytest.UsageError(f"CI=true and the browser tests cannot run: {PROBLEM}")
    print(f"\n!!! SKIPPING the browser tests: {PROBLEM} !!!\n")


@pytest.fixture(scope="session")
def _worker_browsers() -> Iterator[list[Any]]:
    # Started once per test process (~1 s of CPU a launch; per module and backend it was ~30
    # launches a run). Each module's server has its own port, so its own origin: nothing a
    # module leaves in a browser's storage is seen by the next.
    if PROBLEM:
        pytest.skip(f"browser tests need Chromium: {PROBLEM}")
    drivers = [new_driver(lean=True), new_driver(lean=True)]
    try:
        yield drivers
    finally:
        for driver in drivers:
            quit_driver(driver)


@pytest.fixture
def browsers(_module_browsers: list[Any]) -> Iterator[list[Any]]:
    """The module's two browsers, off every page once the test is done: a page left open keeps
    its live subscriptions on the shared server, and the next test that waits for a count of
    them there (tests/live.py wait_for_server_subscribers) would wait for ever (a chat room
    left open by one test failed the organiser's journey after it)."""
    yield _module_browsers
    for driver in _module_browsers:
        driver.get("about:blank")


@pytest.fixture(scope="module")
def _module_browsers(_worker_browsers: list[Any]) -> Iterator[list[Any]]:
    """Two independent browsers (separate profiles), handed to a module as if new: phone-sized,
    on a blank page, in the machine's time zone."""
    for driver in _worker_browsers:
        driver.get("about:blank")
        driver.set_window_size(412, 915)
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
    yield _worker_browsers
    for driver in _worker_browsers:
        # off the module's server before it stops: an open page would keep reconnecting
        driver.get("about:blank")
