"""An organiser writes an announcement on #/announcements in a real headless Chromium against a
real server: a refused empty title is said at the field with the text kept, then a draft (one
however often the button is clicked), published, pinned above an older pinned one; a member of
the team reads it there and in their feed, without the organiser's form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from models.honour import Announcement, AnnouncementStatus
from schema.relay import to_global_id
from tests.helpers import add_member, make_team, make_volunteer
from tests.live import LiveServer
from tests.web.browser import wait_for
from tests.web.test_web_client import AXE, axe_problems, base, fill, open_as, text_of

pytestmark = pytest.mark.e2e

TITLE = "十二月志愿者大会"
BODY = "周六下午两点，社区活动室。\n请穿红马甲。"


def titles(driver: Any) -> list[str]:
    return [h.text for h in driver.find_elements(By.CSS_SELECTOR, "ul.announcements > li h2")]


async def test_a_team_admin_drafts_publishes_and_pins_an_announcement_a_member_reads_it(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team admin, a member of the team, and an older pinned platform announcement
    admin = await make_volunteer("队长")
    team = await make_team(admin, "和平里社区志愿队")
    member = await make_volunteer("林小雨")
    await add_member(team, member)
    platform = await make_volunteer("平台管理员", platform_admin=True)
    older = await Announcement.create(author=platform, title="系统维护通知", body="周日凌晨维护。", pinned=True,
                                      status=AnnouncementStatus.PUBLISHED)
    await Announcement.filter(id=older.id).update(published_at=datetime.now(UTC) - timedelta(days=1))
    page, reader = browsers

    # when the admin opens the page (the navigation leads there) and the form, to their team only
    open_as(page, live_server, admin, "announcements")
    # (the heading knows the writer before the list is in, and the form comes with the list)
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "h1[data-scopes=writer] ~ details.new-announcement summary"),
             message="the writer's page")
    assert page.find_element(By.CSS_SELECTOR, 'header nav a[href="#/announcements"]').get_attribute("aria-current") == "page"
    page.find_element(By.CSS_SELECTOR, "details.new-announcement summary").click()
    form = page.find_element(By.CSS_SELECTOR, "details.new-announcement form")
    options = [o.get_attribute("value") for o in form.find_elements(By.CSS_SELECTOR, "select[name=teamId] option")]
    assert options == [to_global_id("Team", team.id)]
    # and saves a draft without a title
    form.find_element(By.NAME, "body").send_keys(BODY)
    form.find_element(By.CSS_SELECTOR, "button[value=draft]").click()

    # then the server's refusal is said at the title, in Chinese; the text is kept, nothing written
    wait_for(page, lambda d: text_of(d, '[data-error-for="title"]') == "“标题”填写有误，请检查。", message="the title's error")
    assert form.find_element(By.NAME, "title").get_attribute("aria-invalid") == "true"
    assert form.find_element(By.NAME, "body").get_attribute("value") == BODY
    assert await Announcement.filter(title__not="系统维护通知").count() == 0
    # (the open form with its error, at phone width: nothing serious for axe)
    assert not AXE.exists() or axe_problems(page) == []

    # when they give the title and double-click "save as draft"
    fill(page, form, "title", TITLE)
    ActionChains(page).double_click(form.find_element(By.CSS_SELECTOR, "button[value=draft]")).perform()
    # then one draft is written, listed under their drafts, and the form is empty again
    wait_for(page, lambda d: text_of(d, "details.new-announcement [data-outcome]") == f"已存为草稿：“{TITLE}”",
             message="the draft's outcome")
    wait_for(page, lambda d: text_of(d, "section.drafts li h3") == TITLE, message="the draft listed")
    assert form.find_element(By.NAME, "body").get_attribute("value") == ""
    written = await Announcement.filter(title=TITLE)
    assert [(a.status, a.team_id, a.body) for a in written] == [(AnnouncementStatus.DRAFT, team.id, BODY)]
    assert titles(page) == ["系统维护通知"]  # (not published yet)

    # when they publish the draft, then pin it
    page.find_element(By.CSS_SELECTOR, "section.drafts button[data-action=publish]").click()
    wait_for(page, lambda d: titles(d) == ["系统维护通知", TITLE], message="published below the pinned one")
    assert not page.find_elements(By.CSS_SELECTOR, "section.drafts")
    assert text_of(page, "[data-said]") == f"已发布：“{TITLE}”"
    mine = f'ul.announcements li[data-announcement="{to_global_id("Announcement", written[0].id)}"]'
    page.find_element(By.CSS_SELECTOR, f"{mine} button[data-action=pin]").click()
    # then it comes first (pinned, and newer), and the older platform one offers them nothing
    wait_for(page, lambda d: titles(d) == [TITLE, "系统维护通知"], message="pinned first")
    assert page.find_elements(By.CSS_SELECTOR, f"{mine} button[data-action=unpin]")
    assert len(page.find_elements(By.CSS_SELECTOR, "ul.announcements button")) == 1
    now = await Announcement.get(id=written[0].id)
    assert (now.status, now.pinned) == (AnnouncementStatus.PUBLISHED, True)

    # and the member reads it there, with its team and the platform's marked, without the form
    open_as(reader, live_server, member, "announcements")
    wait_for(reader, lambda d: d.find_element(By.CSS_SELECTOR, "h1[data-scopes=reader]"), message="the reader's page")
    wait_for(reader, lambda d: titles(d) == [TITLE, "系统维护通知"], message="the member's list")
    assert [b.text for b in reader.find_elements(By.CSS_SELECTOR, "ul.announcements [data-scope]")] == ["和平里社区志愿队", "平台公告"]
    assert reader.find_element(By.CSS_SELECTOR, "ul.announcements > li .prose").text == BODY
    assert not reader.find_elements(By.CSS_SELECTOR, "details.new-announcement, section.drafts, ul.announcements button")
    # and in their feed
    reader.get(f"{base(live_server)}/#/feed")
    wait_for(reader, lambda d: TITLE in text_of(d, 'ul.feed li[data-kind="Announcement"]'), message="the feed")
