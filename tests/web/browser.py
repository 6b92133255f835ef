"""Headless Chromium through Selenium, using the system browser and driver only.

Debian's `chromium`, `chromium-headless-shell` and `chromium-driver` packages (installed by
.ci/run). Selenium Manager is never asked for anything: the driver path is passed explicitly, so
nothing is downloaded.

The tests' browsers (`lean=True`) are Debian's headless shell where it is installed: the same
Chromium build (Blink, V8, the same version as `chromium`) without the full browser's layers
that a headless run never shows. It takes a quarter of the browser tests' CPU off (tests/web on
both backends, run after each other on a quiet machine: 103 core-seconds against 136, 110 s
against 126 s of wall time; docs/operations.md "The suite's budget"). bench.web, the screenshots and Lighthouse keep the full `chromium`: what they measure
is what a visitor's browser does. Without the shell the tests run on `chromium`, slower.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# The binary itself: /usr/bin/chromium-headless-shell is a wrapper script that does not exec it,
# so quitting the driver would kill the wrapper and leave the browser running.
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
_PROFILES: dict[int, Path] = {}
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=zh-CN")
# The test browsers' extras: one renderer process reused for every page (all test pages are on
# 127.0.0.1, one site; a navigation no longer starts a renderer) and no background features.
# ~16% less of Chromium's CPU over 30 page loads, and the suite is CPU-bound on two cores. Not
# for bench.web or the screenshots: a visitor's browser starts a renderer per tab, and the
# first paint is measured as they get it.
LEAN_FLAGS = ("--renderer-process-limit=1", "--disable-extensions", "--mute-audio",
              "--disable-component-extensions-with-background-pages",
              "--disable-features=site-per-process,Translate,OptimizationHints,MediaRouter,"
              "AutofillServerCommunication")


def find_browser() -> tuple[str, str] | None:
    browser = os.environ.get("CHROMIUM_BIN") or next((p for p in CHROMIUM_CANDIDATES if os.path.exists(p)), None)
    driver = os.environ.get("CHROMEDRIVER_BIN") or next((p for p in DRIVER_CANDIDATES if os.path.exists(p)), None)
    return (browser, driver) if browser and driver else None


def browser_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed"
    if find_browser() is None:
        return "no chromium/chromedriver (apt-get install chromium chromium-driver)"
    return None


def new_driver(width: int = 412, height: int = 915, *, lean: bool = False) -> Any:
    """A fresh browser (own profile: own localStorage and cookies), phone-sized by default;
    `lean`: the tests' browsers, the headless shell (unless CHROMIUM_BIN names a browser) with
    LEAN_FLAGS."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    assert found is not None, browser_problem()
    browser, driver_path = found
    if lean and os.path.exists(HEADLESS_SHELL) and not os.environ.get("CHROMIUM_BIN"):
        browser = HEADLESS_SHELL
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS + (LEAN_FLAGS if lean else ()):
        options.add_argument(flag)
    # The shell refuses a --user-data-dir of ours ("unable to discover open pages"): chromedriver
    # gives it a fresh profile of its own and removes it on quit.
    profile = None
    if browser != HEADLESS_SHELL:
        profile = Path(tempfile.mkdtemp(prefix="tongxin-chromium-"))
        options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = _waiting_chrome() if lean else webdriver.Chrome
    driver: Any = chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(30)
    if profile is not None:
        _PROFILES[id(driver)] = profile
    return driver


# How long a test browser's find_element waits for its element to be drawn.
FIND_TIMEOUT = 10.0


def _waiting_chrome() -> Any:
    """webdriver.Chrome whose find_element waits (up to FIND_TIMEOUT) for the element to be
    there, as Playwright's locators do. A test that waited for one sign of a page and then
    clicked another part of it failed whenever that part was drawn a moment later (twice in
    one day, once the browser got faster). find_elements (plural) still answers at once: the
    tests read "nothing there" with it."""
    import time

    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException
    from selenium.webdriver.common.by import By

    class WaitingChrome(webdriver.Chrome):
        def find_element(self, by: Any = By.ID, value: Any = None) -> Any:
            deadline = time.monotonic() + FIND_TIMEOUT
            while True:
                try:
                    return super().find_element(by, value)
                except NoSuchElementException:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(POLL)

    return WaitingChrome


def quit_driver(driver: Any) -> None:
    """Quit the browser and remove its throw-away profile."""
    try:
        driver.quit()
    finally:
        profile = _PROFILES.pop(id(driver), None)
        if profile is not None:
            shutil.rmtree(profile, ignore_errors=True)


# Every poll is a few WebDriver round trips through chromedriver and the browser. 0.1 s made no
# difference to the suite's time (322 s against 310-311 s, within the runs' noise).
POLL = 0.05


def wait_for(driver: Any, condition: Callable[[Any], Any], timeout: float = 10, message: str = "") -> Any:
    """Poll until the condition holds; on timeout say what the page showed and logged."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # A page that re-renders (a live update, a reload after an action) may replace an element
    # between finding it and reading it: poll again rather than fail.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(driver, timeout, poll_frequency=POLL, ignored_exceptions=ignored).until(condition, message)
    except TimeoutException as exc:
        page = driver.execute_script("return document.body ? document.body.innerText : ''")
        logs = [entry["message"] for entry in driver.get_log("browser")]
        raise AssertionError(f"{message or 'condition'} not met in {timeout}s at {driver.current_url}\n"
                             f"page:\n{page}\nconsole:\n" + "\n".join(logs)) from exc
