"""Nothing a person typed is lost when a page re-renders (a refusal shown, a reload, another
panel's answer, a message arriving live), in a real headless Chromium against a real server: the
organiser's activity forms on #/manage, and the other forms built the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from core.time import BEIJING
from models.activity import Activity, ActivityStatus
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import add_member, make_team, make_volunteer
from tests.hours.factory import confirm
from tests.hours.factory import make_activity as hours_activity
from tests.live import LiveServer
from tests.timebank.factory import grant, make_item
from tests.web.browser import wait_for
from tests.web.test_web_client import AXE, api, axe_problems, fill, open_as, text_of

pytestmark = pytest.mark.e2e

SEND_TO_TEAM = """mutation Send($team: ID!, $title: String!) {
  sendOrganiserMessage(teamId: $team, audience: TEAM, title: $title, body: "请按时到岗。") { id } }"""


def set_value(page: Any, form: Any, name: str, value: str) -> None:
    """Date and time inputs take their value from script: typing into one follows the browser's locale."""
    page.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, name), value)


# From now on the page's requests carrying this operation fail as if the network were down.
FAIL_OPERATION = """const operation = arguments[0];
const real = window.fetch;
window.fetch = (url, init) => (String(init?.body || "").includes(operation) ? Promise.reject(new TypeError("offline")) : real(url, init));"""


def choose(form: Any, name: str, value: str) -> None:
    form.find_element(By.CSS_SELECTOR, f"select[name={name}] option[value='{value}']").click()


def values(form: Any, names: list[str]) -> dict[str, str]:
    return {name: form.find_element(By.NAME, name).get_attribute("value") for name in names}


def field_error(form: Any, name: str) -> str:
    return form.find_element(By.CSS_SELECTOR, f"[data-error-for={name}]").text


async def test_a_refused_field_is_shown_at_it_everything_typed_stays_and_the_corrected_activity_is_created(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team admin on #/manage with the new-activity form open
    admin = await make_volunteer("活动组织者")
    team = await make_team(admin, "海淀环保队")
    page = browsers[0]
    open_as(page, live_server, admin, "manage")
    section = f'section[data-team="{to_global_id("Team", team.id)}"]'
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, f"{section} details.new-activity summary"),
             message="the new-activity form").click()
    form = page.find_element(By.CSS_SELECTOR, f"{section} details.new-activity form")
    day = (datetime.now(BEIJING) + timedelta(days=6)).date().isoformat()

    # when they fill every field, with an end before the start, and submit
    fill(page, form, "title", "周六湿地清洁")
    choose(form, "category", "环保")
    choose(form, "district", "海淀区")
    fill(page, form, "address", "翠湖湿地公园北门")
    set_value(page, form, "startsAt", f"{day}T09:00")
    set_value(page, form, "endsAt", f"{day}T08:00")
    fill(page, form, "capacity", "15")
    fill(page, form, "hoursCredit", "2.5")
    fill(page, form, "description", "捡拾垃圾，记录鸟类。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # then the server's refusal is shown at the end time, in Chinese
    wait_for(page, lambda d: field_error(form, "endsAt") == "“结束时间”填写有误，请检查。", message="the field's error")
    assert form.find_element(By.NAME, "endsAt").get_attribute("aria-invalid") == "true"
    # and everything they typed is still in the form, the wrong end included, to correct
    typed = {"title": "周六湿地清洁", "category": "环保", "district": "海淀区", "address": "翠湖湿地公园北门",
             "startsAt": f"{day}T09:00", "endsAt": f"{day}T08:00", "capacity": "15", "hoursCredit": "2.5",
             "description": "捡拾垃圾，记录鸟类。"}
    assert values(form, list(typed)) == typed
    assert not await Activity.filter(team_id=team.id).exists()
    audit = AXE.exists()  # the open form with its error, at phone width: nothing serious
    assert not audit or axe_problems(page) == []

    # when they correct the end and submit again
    set_value(page, form, "endsAt", f"{day}T12:00")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # then the draft is created with what they typed, and its page opens
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-action=publish]"), message="the draft's page")
    created = await Activity.get(team_id=team.id)
    assert (created.title, created.category, created.district, created.address, created.capacity,
            created.hours_credit, created.description, created.status) == \
        ("周六湿地清洁", "环保", "海淀区", "翠湖湿地公园北门", 15, 2.5, "捡拾垃圾，记录鸟类。", ActivityStatus.DRAFT)
    assert [at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") for at in (created.starts_at, created.ends_at)] == \
        [f"{day} 09:00", f"{day} 12:00"]


# The other forms of the class: each case fills a form, makes its page re-render, and checks
# that what was typed is still there.
Case = Callable[[LiveServer, Any], Awaitable[None]]


async def edited_activity(server: LiveServer, page: Any) -> None:
    # given a draft on its #/manage page, its edit form open
    admin = await make_volunteer("编辑者")
    draft = await make_activity(await make_team(admin), admin, title="旧标题", status=ActivityStatus.DRAFT)
    open_as(page, server, admin, f"manage/{to_global_id('Activity', draft.id)}")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "details.edit-activity summary"), message="the edit form").click()
    form = page.find_element(By.CSS_SELECTOR, "details.edit-activity form")
    start = form.find_element(By.NAME, "startsAt").get_attribute("value")
    # when they change the title and the address, put the end before the start, and save
    fill(page, form, "title", "新标题")
    fill(page, form, "address", "社区活动室")
    set_value(page, form, "endsAt", start)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # then the refusal is at the end time, and the new title and address are still there
    wait_for(page, lambda d: field_error(form, "endsAt") == "“结束时间”填写有误，请检查。", message="the field's error")
    assert values(form, ["title", "address", "endsAt"]) == {"title": "新标题", "address": "社区活动室", "endsAt": start}
    # and once the end is corrected the change is saved
    set_value(page, form, "endsAt", f"{start[:11]}23:59")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(page, lambda d: text_of(d, "details.edit-activity [data-outcome]") == "已保存", message="saved")
    assert ((await Activity.get(id=draft.id)).title, (await Activity.get(id=draft.id)).address) == ("新标题", "社区活动室")


async def requirements(server: LiveServer, page: Any) -> None:
    # given a published activity's requirements form, open
    admin = await make_volunteer("要求设置者")
    activity = await make_activity(await make_team(admin), admin)
    open_as(page, server, admin, f"manage/{to_global_id('Activity', activity.id)}")
    wait_for(page, lambda d: d.find_element(By.XPATH, "//details[summary[text()='报名条件']]/summary"),
             message="the requirements form").click()
    form = page.find_element(By.XPATH, "//details[summary[text()='报名条件']]//form")
    # when they type a qualification and an age the server refuses
    fill(page, form, "qualifications", "急救证、救生员证")
    fill(page, form, "minimumAge", "200")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # then the page says so, and both are still there
    wait_for(page, lambda d: "最低年龄" in text_of(d, "[data-message]"), message="the refusal")
    assert values(form, ["qualifications", "minimumAge"]) == {"qualifications": "急救证、救生员证", "minimumAge": "200"}


async def call_out_while_marking(server: LiveServer, page: Any) -> None:
    # given an activity under way with a volunteer on it
    admin = await make_volunteer("召集者")
    activity = await hours_activity(await make_team(admin), admin, title="河堤巡查")
    await confirm(activity, await make_volunteer("到岗的人"))
    open_as(page, server, admin, f"manage/{to_global_id('Activity', activity.id)}")
    form = wait_for(page, lambda d: d.find_element(By.XPATH, "//section[@aria-labelledby='call-h']//form"), message="call-out")
    # when they type a call-out, and before sending it mark the volunteer present
    fill(page, form, "message", "东侧河堤需要 3 人")
    fill(page, form, "needed", "3")
    page.find_element(By.CSS_SELECTOR, "ul.roster button[data-action=mark]").click()
    wait_for(page, lambda d: "已签到" in text_of(d, "ul.roster"), message="marked present")
    # then the call-out being written is still there
    assert values(form, ["message", "needed"]) == {"message": "东侧河堤需要 3 人", "needed": "3"}


async def hours_period(server: LiveServer, page: Any) -> None:
    # given a team admin's hours page
    admin = await make_volunteer("时长管理员")
    await make_team(admin, "时长队")
    open_as(page, server, admin, "hours")
    box = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, ".hours-export"), message="the hours export")
    # when they pick a period ending before it starts and download it
    for name, day in (("from", "2026-03-10"), ("to", "2026-03-01")):
        page.execute_script("arguments[0].value = arguments[1];", box.find_element(By.CSS_SELECTOR, f"input[id^={name}-]"), day)
    box.find_element(By.CSS_SELECTOR, "button[data-export=csv]").click()
    # then the refusal is shown, and the period they picked is still there to correct
    wait_for(page, lambda d: text_of(d, ".hours-export [role=status]"), message="the refusal")
    assert [box.find_element(By.CSS_SELECTOR, f"input[id^={name}-]").get_attribute("value") for name in ("from", "to")] == \
        ["2026-03-10", "2026-03-01"]


async def reply_while_a_message_arrives(server: LiveServer, page: Any) -> None:
    # given a member who received a team message, on #/messages, writing a reply to it
    admin = await make_volunteer("队长")
    team = await make_team(admin, "消息队")
    member = await make_volunteer("队员")
    await add_member(team, member)
    await api(server, admin, SEND_TO_TEAM, {"team": to_global_id("Team", team.id), "title": "第一条"})
    open_as(page, server, member, "messages")
    first = "//li[@data-id][h3[contains(., '第一条')]]"
    wait_for(page, lambda d: d.find_element(By.XPATH, f"{first}//textarea"), message="the reply box").send_keys("收到，我会准时到。")
    wait_for(page, lambda d: d.find_element(By.ID, "conn").get_attribute("class") == "conn up", message="live")
    # when a second message arrives live, above it
    await api(server, admin, SEND_TO_TEAM, {"team": to_global_id("Team", team.id), "title": "第二条"})
    second = "//li[@data-id][h3[contains(., '第二条')]]"
    wait_for(page, lambda d: d.find_elements(By.XPATH, second), message="the live message")
    # then the reply is still under the first message, and the new one's box is empty
    assert page.find_element(By.XPATH, f"{first}//textarea").get_attribute("value") == "收到，我会准时到。"
    assert page.find_element(By.XPATH, f"{second}//textarea").get_attribute("value") == ""


async def failed_reload_on_manage(server: LiveServer, page: Any) -> None:
    # given an activity under way with a volunteer on it, and a call-out being written
    admin = await make_volunteer("断网的组织者")
    activity = await hours_activity(await make_team(admin), admin, title="夜间巡逻")
    await confirm(activity, await make_volunteer("夜班队员"))
    open_as(page, server, admin, f"manage/{to_global_id('Activity', activity.id)}")
    form = wait_for(page, lambda d: d.find_element(By.XPATH, "//section[@aria-labelledby='call-h']//form"), message="call-out")
    fill(page, form, "message", "北门需要 2 人")
    # when they mark the volunteer present and the page's reload after it fails
    page.execute_script(FAIL_OPERATION, "query ManageActivity")
    page.find_element(By.CSS_SELECTOR, "ul.roster button[data-action=mark]").click()
    # then the page says so and stays, with the call-out being written
    wait_for(page, lambda d: text_of(d, "[data-message]") == "网络连接失败，请检查网络后重试", message="the failed reload")
    assert values(form, ["message"]) == {"message": "北门需要 2 人"}


async def failed_reload_on_bank(server: LiveServer, page: Any) -> None:
    # given a volunteer with points writing a donation on #/bank
    volunteer = await make_volunteer("捐积分的人")
    await grant(volunteer, 100)
    item = await make_item(volunteer, title="断网测试礼品", cost=10)
    open_as(page, server, volunteer, "bank")
    wait_for(page, lambda d: d.find_element(By.XPATH, "//details[summary[text()='捐赠积分']]/summary"), message="bank").click()
    form = page.find_element(By.XPATH, "//details[summary[text()='捐赠积分']]//form")
    fill(page, form, "points", "5")
    fill(page, form, "note", "给需要的老人")
    # when they redeem a reward and the page's reload after it fails
    page.execute_script(FAIL_OPERATION, "query Bank")
    page.find_element(By.CSS_SELECTOR, f'[data-item="{to_global_id("RewardItem", item.id)}"] button[data-action=redeem]').click()
    # then the page says so and stays, with the donation being written
    wait_for(page, lambda d: text_of(d, "[data-message]") == "网络连接失败，请检查网络后重试", message="the failed reload")
    assert values(form, ["points", "note"]) == {"points": "5", "note": "给需要的老人"}


CASES: dict[str, Case] = {"edit activity": edited_activity, "requirements": requirements,
                          "call-out": call_out_while_marking, "hours period": hours_period,
                          "message reply": reply_while_a_message_arrives,
                          "failed reload (manage)": failed_reload_on_manage, "failed reload (bank)": failed_reload_on_bank}


@pytest.mark.parametrize("case", list(CASES))
async def test_what_was_typed_survives_a_re_render(case: str, live_server: LiveServer, browsers: list[Any]) -> None:
    await CASES[case](live_server, browsers[0])
