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


@pytest.fixture(scope="module")
def browsers() -> Iterator[list[Any]]:
    """Two independent browsers (separate profiles), started once per module."""
    if PROBLEM:
        pytest.skip(f"browser tests need Chromium: {PROBLEM}")
    drivers = [new_driver(), new_driver()]
    try:
        yield drivers
    finally:
        for driver in drivers:
            quit_driver(driver)
