"""The volunteer import page (#/import) in a real headless Chromium against a real server: a
platform admin uploads a roster, watches the progress bar finish, reads the rejected row in the
table and downloads the rejected rows as CSV, then cancels an import still queued; a volunteer
is told the page is not theirs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from models.importer import ImportStatus, VolunteerImport, VolunteerImportChunk
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.importer_jobs import do_queue_import
from schema.relay import to_global_id
from tests.helpers import make_volunteer
from tests.importer.test_import import person
from tests.importer.test_web_import import roster
from tests.live import LiveServer
from tests.web.browser import wait_for
from tests.web.test_exports_web import CAPTURE, saved
from tests.web.test_web_client import open_as

pytestmark = pytest.mark.e2e


async def test_an_admin_uploads_a_roster_watches_it_finish_and_reads_the_rejected_row(
        live_server: LiveServer, browsers: list[Any], tmp_path: Path) -> None:
    # given a platform admin and a roster of three rows, the second with a bad phone
    admin = await make_volunteer("平台管理员", platform_admin=True)
    path = tmp_path / "名册.csv"
    path.write_bytes(roster([person(701), person(702, phone="12345"), person(703)]))
    page = browsers[0]

    # when the admin opens the import page from the header and uploads the file
    open_as(page, live_server, admin, "stats")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, 'nav a[href="#/import"]'), message="the nav link")
    page.find_element(By.CSS_SELECTOR, 'nav a[href="#/import"]').click()
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "input#roster"), message="the file picker")
    page.find_element(By.CSS_SELECTOR, "input#roster").send_keys(str(path))
    page.find_element(By.CSS_SELECTOR, "form.panel button[type=submit]").click()

    # then the progress bar reaches its end and the job says it is done
    bar = '[role=progressbar][data-status="DONE"]'
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, bar), timeout=20, message="the import to finish")
    progress = page.find_element(By.CSS_SELECTOR, bar)
    assert (progress.get_attribute("aria-valuenow"), progress.get_attribute("aria-valuemax")) == ("3", "3")
    counts = {element.get_attribute("data-count"): element.text
              for element in page.find_elements(By.CSS_SELECTOR, "[data-count]")}
    assert counts == {"read": "3", "imported": "2", "rejected": "1"}
    # and the rejected row is listed with its row number and column, in Chinese
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "table.import-errors tr[data-row]"),
             message="the rejected row")
    row = page.find_element(By.CSS_SELECTOR, "table.import-errors tr[data-row]")
    assert row.get_attribute("data-row") == "3" and row.get_attribute("data-code") == "INVALID"
    assert "手机号" in row.text
    # and the URL names the import, so a reload shows it again
    assert "#/import/" in page.current_url
    page.refresh()
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, f"{bar}"), message="the import after a reload")

    # when the admin downloads the rejected rows
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-action=download-errors]"), message="the button")
    page.execute_script(CAPTURE)
    page.find_element(By.CSS_SELECTOR, "[data-action=download-errors]").click()
    (name, body), = saved(page, 1)
    # then the file holds that row
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert name == "名册-errors.csv"
    assert [r[:3] for r in rows[1:]] == [["3", "手机号", "INVALID"]]
    # and the people are in, waiting to claim their accounts
    names = await Volunteer.filter(status=VolunteerStatus.PENDING_CONSENT).values_list("real_name", flat=True)
    assert sorted(names) == ["居民701", "居民703"]

    # given an import waiting to start (the shared server runs no background jobs: it stays QUEUED)
    waiting_path = tmp_path / "待导入.csv"
    waiting_path.write_bytes(roster([person(704), person(705)]))
    waiting = await do_queue_import(admin, "待导入.csv", waiting_path)
    open_as(page, live_server, admin, f"import/{to_global_id('VolunteerImport', waiting.id)}")
    # when the admin asks to cancel it, the page asks first, the safe choice focused
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-action=cancel-import]"), message="取消导入")
    page.find_element(By.CSS_SELECTOR, "[data-action=cancel-import]").click()
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-action=confirm-cancel]"), message="the question")
    assert page.switch_to.active_element.get_attribute("data-action") == "keep-importing"
    assert "不能恢复" in page.find_element(By.CSS_SELECTOR, "[data-confirm=cancel-import]").text
    # and confirms with a double click: one request goes
    page.execute_script("""window.cancels = 0; const send = window.fetch;
      window.fetch = (url, options) => { if (String(options?.body).includes("cancelVolunteerImport")) window.cancels += 1;
        return send(url, options); };
      const button = document.querySelector("[data-action=confirm-cancel]"); button.click(); button.click();""")
    # then the import shows as cancelled, by them, with its counts, and the button is gone
    badge = 'h2 .badge[data-status="CANCELLED"]'
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, badge), message="已取消")
    assert page.find_element(By.CSS_SELECTOR, badge).text == "已取消"
    assert "平台管理员 取消了导入" in page.find_element(By.CSS_SELECTOR, "[data-cancelled-by]").text
    counts = {element.get_attribute("data-count"): element.text
              for element in page.find_elements(By.CSS_SELECTOR, "[data-count]")}
    assert counts == {"read": "0", "imported": "0", "rejected": "0"}
    assert not page.find_elements(By.CSS_SELECTOR, "[data-action=cancel-import], [data-action=confirm-cancel]")
    assert page.execute_script("return window.cancels") == 1
    # and it is cancelled in the database, its file gone, nobody of it imported
    assert (await VolunteerImport.get(id=waiting.id)).status == ImportStatus.CANCELLED
    assert await VolunteerImportChunk.filter(volunteer_import_id=waiting.id).count() == 0
    assert await Volunteer.filter(real_name__in=["居民704", "居民705"]).count() == 0

    # when a volunteer opens the page, it is not theirs
    volunteer = await make_volunteer("志愿者")
    open_as(page, live_server, volunteer, "import")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "main p.error"), message="the refusal")
    assert not page.find_elements(By.CSS_SELECTOR, "input#roster")
