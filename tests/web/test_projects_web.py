"""An organiser builds a project in the project library (#/projects) in a real headless Chromium
against a real server: creates the project and a post, schedules a weekly series of shifts from
the post, extends it, and is told in Chinese at the field when a date is wrong."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from core.time import BEIJING
from models.activity import Activity, ActivityStatus
from models.project import Position, Project, ProjectSeries
from schema.relay import to_global_id
from tests.helpers import add_member, make_team, make_volunteer
from tests.live import LiveServer
from tests.web.browser import wait_for
from tests.web.test_web_client import AXE, axe_problems, fill, open_as, text_of

pytestmark = pytest.mark.e2e


def set_value(page: Any, form: Any, name: str, value: str) -> None:
    """Date inputs take their value from script: typing into one follows the browser's locale."""
    page.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, name), value)


async def test_an_organiser_creates_a_project_and_a_post_schedules_a_weekly_series_and_extends_it(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team admin, a plain member of the team, and a date a week ahead (Beijing)
    admin = await make_volunteer("项目负责人")
    team = await make_team(admin, "公交文明引导队")
    member = await make_volunteer("队员小王")
    await add_member(team, member)
    first = datetime.now(BEIJING).date() + timedelta(days=7)
    page = browsers[0]

    # when the admin creates a project from the library page
    open_as(page, live_server, admin, "projects")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "details.new-project summary"), message="the form")
    page.find_element(By.CSS_SELECTOR, "details.new-project summary").click()
    form = page.find_element(By.CSS_SELECTOR, "details.new-project form")
    assert form.find_element(By.NAME, "teamId").get_attribute("value") == to_global_id("Team", team.id)
    fill(page, form, "name", "U爱·公交文明引导")
    fill(page, form, "category", "文明交通")
    fill(page, form, "district", "朝阳区")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # then it is listed, and said so
    card = "//article[h2[text()='U爱·公交文明引导']]"
    wait_for(page, lambda d: d.find_elements(By.XPATH, card), message="the new project")
    assert text_of(page, "details.new-project [data-outcome]") == "项目“U爱·公交文明引导”已创建"
    project = await Project.get(name="U爱·公交文明引导")
    assert project.team_id == team.id

    # when they add a post of 3 per shift
    page.find_element(By.XPATH, f"{card}//details[contains(@class, 'new-position')]/summary").click()
    form = page.find_element(By.XPATH, f"{card}//details[contains(@class, 'new-position')]//form")
    fill(page, form, "name", "1路 国贸站")
    fill(page, form, "capacityPerShift", "3")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    post = f"{card}//li[@data-position][strong[text()='1路 国贸站']]"
    wait_for(page, lambda d: d.find_elements(By.XPATH, post), message="the new post")
    position = await Position.get(project_id=project.id)
    assert position.capacity_per_shift == 3

    # when they schedule, from the post, that weekday for two weeks at 07:30 Beijing time, 90 minutes
    page.find_element(By.XPATH, f"{post}//details[contains(@class, 'schedule')]/summary").click()
    form = page.find_element(By.XPATH, f"{post}//details[contains(@class, 'schedule')]//form")
    form.find_element(By.CSS_SELECTOR, f"input[name=weekdays][value='{first.isoweekday()}']").click()
    set_value(page, form, "startTime", "07:30")
    fill(page, form, "durationMinutes", "90")
    set_value(page, form, "firstDate", first.isoformat())
    set_value(page, form, "lastDate", (first + timedelta(days=13)).isoformat())
    audit = AXE.exists()  # the organiser's open forms, at phone width: nothing serious
    assert not audit or axe_problems(page) == []
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # then the page says two activities were made, each linked to its page
    schedule = f"{post}//details[contains(@class, 'schedule')]"
    wait_for(page, lambda d: d.find_element(By.XPATH, f"{schedule}//*[@data-outcome]").text == "已生成 2 个活动",
             message="the created count")
    made = await Activity.filter(project_id=project.id).order_by("starts_at")
    assert [a.starts_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") for a in made] == \
        [f"{first.isoformat()} 07:30", f"{first + timedelta(days=7)} 07:30"]
    assert {(a.status, a.capacity) for a in made} == {(ActivityStatus.PUBLISHED, 3)}
    links = [a.get_attribute("href") for a in page.find_elements(By.XPATH, f"{schedule}//ul[contains(@class, 'made')]//a")]
    assert [link.split("#/activities/")[1] for link in links] == [to_global_id("Activity", a.id) for a in made]
    # and the shifts appear under the post, and the series in the project's list with its rule
    wait_for(page, lambda d: len(d.find_elements(By.XPATH, f"{post}/ul[contains(@class, 'shifts-list')]/li")) == 2,
             message="the post's shifts")
    series = await ProjectSeries.get(project_id=project.id)
    row = f"//li[@data-series='{to_global_id('ProjectSeries', series.id)}']"
    assert "07:30 起，每班 90 分钟" in page.find_element(By.XPATH, row).text

    # when they extend the series by two weeks
    form = page.find_element(By.XPATH, f"{row}//form")
    set_value(page, form, "lastDate", (first + timedelta(days=27)).isoformat())
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # then two more are made, and said so
    wait_for(page, lambda d: text_of(d, "li[data-series] [data-outcome]") == "已延长，新增 2 个活动",
             message="the extension")
    assert await Activity.filter(project_id=project.id).count() == 4
    assert (await ProjectSeries.get(id=series.id)).last_date == first + timedelta(days=27)

    # when they schedule again with the last date before the first
    form = page.find_element(By.XPATH, f"{schedule}//form")
    set_value(page, form, "firstDate", (first + timedelta(days=30)).isoformat())
    set_value(page, form, "lastDate", (first + timedelta(days=29)).isoformat())
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # then the server's refusal is shown at that field, in Chinese, and nothing was written
    error = f"{schedule}//*[@data-error-for='lastDate']"
    wait_for(page, lambda d: d.find_element(By.XPATH, error).text == "“最后一天”填写有误，请检查。",
             message="the field's error")
    assert form.find_element(By.NAME, "lastDate").get_attribute("aria-invalid") == "true"
    # (what they typed is still there to correct, as is the rest of the form)
    assert [form.find_element(By.NAME, name).get_attribute("value") for name in ("firstDate", "lastDate", "startTime")] == \
        [(first + timedelta(days=30)).isoformat(), (first + timedelta(days=29)).isoformat(), "07:30"]
    assert await ProjectSeries.filter(project_id=project.id).count() == 1
    assert await Activity.filter(project_id=project.id).count() == 4

    # and a plain member of the team sees the project and its next shifts (the page shows 3), but
    # none of the forms
    open_as(page, live_server, member, "projects")
    wait_for(page, lambda d: len(d.find_elements(By.XPATH, f"{post}/ul[contains(@class, 'shifts-list')]/li")) == 3,
             message="the member's view")
    assert not page.find_elements(By.CSS_SELECTOR, "details.new-project, details.new-position, details.schedule, li[data-series]")

    # and a platform admin, who administers no team, may create a project for any team and
    # manages this one
    platform = await make_volunteer("平台管理员", platform_admin=True)
    open_as(page, live_server, platform, "projects")
    wait_for(page, lambda d: d.find_elements(By.XPATH, f"{post}//details[contains(@class, 'schedule')]"),
             message="the platform admin's forms")
    # (the team list arrives with the viewer's own query, after the projects)
    options = "details.new-project select[name=teamId] option"
    teams = wait_for(page, lambda d: [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, options)],
                     message="the platform admin's team list")
    assert to_global_id("Team", team.id) in teams
