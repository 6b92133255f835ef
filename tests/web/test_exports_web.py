"""The organiser's download buttons in a real headless Chromium against a real server: the
roster of an activity (CSV and XLSX) on #/manage/<activity>, a team's hours on #/hours."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import openpyxl
import pytest
from selenium.webdriver.common.by import By

from models.hours import HoursStatus, ServiceRecord
from schema.relay import to_global_id
from tests.helpers import add_member, make_team, make_volunteer
from tests.hours.factory import make_activity as hours_activity
from tests.hours.factory import served, utc
from tests.live import LiveServer
from tests.web.browser import wait_for
from tests.web.test_web_client import open_as

pytestmark = pytest.mark.e2e

# Saving a file is the browser's business: record what the page hands it instead.
CAPTURE = """window.__saved = [];
HTMLAnchorElement.prototype.click = function () {
  const name = this.download;
  fetch(this.href).then((r) => r.arrayBuffer()).then((buffer) => {
    let binary = ""; new Uint8Array(buffer).forEach((b) => { binary += String.fromCharCode(b); });
    window.__saved.push([name, btoa(binary)]);
  });
};"""


def saved(page: Any, count: int) -> list[tuple[str, bytes]]:
    wait_for(page, lambda d: len(d.execute_script("return window.__saved")) >= count,
             message=f"{count} downloads")
    return [(name, base64.b64decode(body)) for name, body in page.execute_script("return window.__saved")]


async def test_an_organiser_downloads_the_roster_and_the_teams_hours(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team admin whose activity has one volunteer with approved hours
    admin = await make_volunteer("队长")
    team = await make_team(admin, "西城助老队")
    activity = await hours_activity(team, admin, starts_at=utc(2026, 3, 1, 9))
    person = await make_volunteer("=李明")
    await add_member(team, person)
    record = await served(activity, person)
    await ServiceRecord.filter(id=record.id).update(status=HoursStatus.APPROVED)
    page = browsers[0]

    # when the admin downloads the roster as CSV and as XLSX
    open_as(page, live_server, admin, f"manage/{to_global_id('Activity', activity.id)}")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-export=xlsx]"),
             message="the roster panel")
    page.execute_script(CAPTURE)
    page.find_element(By.CSS_SELECTOR, "button[data-export=csv]").click()
    page.find_element(By.CSS_SELECTOR, "button[data-export=xlsx]").click()
    files = saved(page, 2)

    # then both hold the volunteer, neutralised against formulas
    by_name = {name.rsplit(".", 1)[1]: body for name, body in files}
    rows = list(csv.reader(io.StringIO(by_name["csv"].decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["'=李明"]
    sheet = openpyxl.load_workbook(io.BytesIO(by_name["xlsx"]), read_only=True).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["'=李明"]

    # when the admin downloads March's hours on the hours page
    open_as(page, live_server, admin, "hours")
    box = "section.panel .hours-export"
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, box), message="the hours export")
    page.execute_script(CAPTURE)
    for name, day in (("from", "2026-03-01"), ("to", "2026-03-31")):
        page.execute_script("arguments[0].value = arguments[1];",
                            page.find_element(By.CSS_SELECTOR, f"{box} input[id^={name}-]"), day)
    page.find_element(By.CSS_SELECTOR, f"{box} button[data-export=csv]").click()
    (name, body), = saved(page, 1)

    # then the file holds that record
    hours = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert name.endswith("-2026-03-01-2026-03-31.csv")
    assert [(r[0], r[7]) for r in hours[1:]] == [("'=李明", "APPROVED")]
