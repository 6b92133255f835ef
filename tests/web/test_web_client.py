"""The reference web client in a real headless Chromium against a real server.

Two independent browsers (own profiles) play two people; the API plays everyone else.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from selenium.webdriver.common.by import By

from core import pii
from core.time import BEIJING
from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.draft import Draft
from models.honour import Announcement, AnnouncementStatus
from models.hours import HoursAudit, HoursStatus, ServiceRecord
from models.notification import Notification
from models.project import Position, Project
from models.servicepoint import ServicePoint, ServicePointKind
from models.station import StationHours
from models.team import Membership, MembershipStatus, TeamType
from models.timebank import RewardItem, RewardItemChange
from models.training import Lesson, Qualification
from models.volunteer import Volunteer
from resolvers import station
from resolvers import swap as swap_rules
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours
from resolvers.signup import do_sign_up
from schema.relay import decode_id, to_global_id
from subscriptions import channels
from tests.activity.factory import make_activity
from tests.conftest import Backend
from tests.forum.common import make_board, open_thread, write_reply
from tests.helpers import add_member, make_team, make_volunteer, token_for, unique_id_number, unique_phone
from tests.hours.factory import approved_records, confirm, served, utc
from tests.hours.factory import make_activity as hours_activity
from tests.importer.test_import import person as roster_row
from tests.importer.test_web_import import roster
from tests.live import LiveServer, wait_for_server_subscribers
from tests.timebank.factory import grant, make_item
from tests.training.factory import make_course, qualify, require
from tests.web.browser import find_browser, wait_for

pytestmark = pytest.mark.e2e

SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
DESK_REPLY = """mutation Reply($id: ID!, $body: String!) {
  postServiceTicketMessage(ticketId: $id, body: $body, clientId: "staff-reply") { fromStaff } }"""


def base(server: LiveServer) -> str:
    return server.url.removesuffix("/graphql")


def open_as(driver: Any, server: LiveServer, person: Volunteer | None, route: str) -> None:
    """Open the app at a route, signed in as the person (or signed out): a fresh load of the
    page with only that token in the origin's storage. From a page of another origin (or none)
    it first loads /healthz to reach the storage; from one of the server's own it sets the
    storage and the address there and reloads (a page load costs Chromium ~0.1 s of CPU)."""
    storage = "localStorage.clear();" + (
        f"localStorage.setItem('tx.token', {token_for(person)!r});" if person else "")
    if driver.current_url.startswith(f"{base(server)}/"):
        driver.execute_script(storage + "history.replaceState(null, '', arguments[0]);", f"/#/{route}")
        driver.refresh()
        return
    driver.get(f"{base(server)}/healthz")
    driver.execute_script(storage)
    driver.get(f"{base(server)}/#/{route}")


def card_css(activity_id: int) -> str:
    return f'article.card[data-id="{to_global_id("Activity", activity_id)}"]'


def remaining(driver: Any, activity_id: int) -> str:
    cards = driver.find_elements(By.CSS_SELECTOR, f"{card_css(activity_id)} .remaining")
    return cards[0].text if cards else ""


def fill(driver: Any, form: Any, name: str, value: str) -> None:
    box = form.find_element(By.NAME, name)
    box.clear()
    box.send_keys(value)


async def test_register_log_in_and_sign_up_while_another_browser_watches_the_card_drop(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given an activity with 5 slots, and a watcher looking at the list
    organiser = await make_volunteer("组织者")
    activity = await make_activity(await make_team(organiser), organiser, title="社区助老活动", capacity=5)
    newcomer, watcher = browsers
    open_as(watcher, live_server, None, "activities")
    wait_for(watcher, lambda d: remaining(d, activity.id) == "剩余 5 / 5", message="watcher sees 5 left")
    watcher.execute_script("window.__notReloaded = true")
    phone, id_number = unique_phone(), unique_id_number()

    # when a newcomer registers (a wrong ID first: the server-side rules show inline) ...
    open_as(newcomer, live_server, None, "register")
    form = wait_for(newcomer, lambda d: d.find_element(By.CSS_SELECTOR, "form.panel"))
    fill(newcomer, form, "phone", phone)
    fill(newcomer, form, "password", "secret-pass-1")
    fill(newcomer, form, "realName", "张晓明")
    fill(newcomer, form, "idNumber", id_number[:17] + ("0" if id_number[17] != "0" else "1"))
    fill(newcomer, form, "district", "朝阳区")
    newcomer.find_element(By.ID, "reg-consent").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    id_error = form.find_element(By.CSS_SELECTOR, '[data-error-for="idNumber"]')
    assert id_error.text == "身份证号校验位不正确"
    fill(newcomer, form, "idNumber", id_number)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(newcomer, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-stat=number]"), message="me page")
    assert newcomer.find_element(By.CSS_SELECTOR, "[data-stat=hours]").text == "0 小时"
    # (a new account is told what to do first, with links)
    assert newcomer.find_elements(By.CSS_SELECTOR, 'section.first-run a[href="#/activities"]')
    # ... logs out, logs in again ...
    newcomer.find_element(By.XPATH, "//button[text()='退出']").click()
    form = wait_for(newcomer, lambda d: d.find_element(By.CSS_SELECTOR, "form.panel"))
    fill(newcomer, form, "phone", phone)
    fill(newcomer, form, "password", "secret-pass-1")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # ... and signs up on the list
    button = wait_for(newcomer, lambda d: d.find_element(By.CSS_SELECTOR, f"{card_css(activity.id)} button.primary"))
    button.click()

    # then the newcomer is told, and the watcher's card drops by one without a reload
    wait_for(newcomer, lambda d: d.find_element(By.CSS_SELECTOR, f"{card_css(activity.id)} .result").text == "报名成功")
    wait_for(watcher, lambda d: remaining(d, activity.id) == "剩余 4 / 5", message=remaining(watcher, activity.id))
    assert watcher.execute_script("return window.__notReloaded") is True
    assert await Volunteer.filter(**pii.with_phone(phone)).count() == 1


async def test_a_flash_crowd_from_the_api_fills_the_activity_and_the_page_shows_full(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given 8 slots, no waitlist, a volunteer watching the list and 20 others ready to race
    organiser = await make_volunteer("组织者")
    activity = await make_activity(await make_team(organiser), organiser, title="周末植树", capacity=8,
                                   waitlist_limit=0)
    late = await make_volunteer("迟到的人")
    crowd = [await make_volunteer(f"志愿者{i}") for i in range(20)]
    page = browsers[0]
    open_as(page, live_server, late, "activities")
    wait_for(page, lambda d: remaining(d, activity.id) == "剩余 8 / 8")
    page.execute_script("window.__notReloaded = true")

    # when the crowd signs up at once through the API
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(client.post(live_server.url, json={
            "query": SIGN_UP, "variables": {"id": to_global_id("Activity", activity.id)}},
            headers={"Authorization": f"Bearer {token_for(person)}"}) for person in crowd))
    confirmed = [a for a in answers if (a.json().get("data") or {}).get("signUp")]
    assert len(confirmed) == 8

    # then the card shows 满 without a reload, and signing up now gets the typed "full" answer
    wait_for(page, lambda d: remaining(d, activity.id) == "满", message=remaining(page, activity.id))
    assert page.execute_script("return window.__notReloaded") is True
    page.find_element(By.CSS_SELECTOR, f"{card_css(activity.id)} button.primary").click()
    result = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, f"{card_css(activity.id)} .result[data-reason]"))
    assert result.get_attribute("data-reason") == "FULL"
    assert result.text == "名额和候补都已满"


async def test_a_reply_being_typed_survives_a_reload(live_server: LiveServer, browsers: list[Any]) -> None:
    # given a thread and a volunteer typing a long reply
    admin = await make_volunteer("平台管理员", platform_admin=True)
    board = await make_board(admin, "zhuli", "助老服务")
    writer = await make_volunteer("李明")
    thread = await open_thread(admin, board)
    page = browsers[0]
    open_as(page, live_server, writer, f"forum/t/{to_global_id('Thread', thread.id)}")
    box = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form textarea[name=body]"))
    text = "周六上午我可以去帮忙打扫，下午还能陪老人聊天。"
    box.send_keys(text)
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, ".draft-status").get_attribute("data-state") == "saved")

    # when the page reloads with this device's copy gone (a timed-out form, another device)
    page.execute_script("Object.keys(localStorage).filter(k => k.startsWith('tx.draft.'))"
                        ".forEach(k => localStorage.removeItem(k))")
    page.refresh()

    # then the server draft is back in the box
    box = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form textarea[name=body]"))
    wait_for(page, lambda d: box.get_attribute("value") == text, message=box.get_attribute("value"))
    assert page.find_element(By.CSS_SELECTOR, ".draft-status").text == "已恢复草稿"


async def test_a_moderator_hides_a_post_and_the_readers_open_page_withdraws_it_live(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a board with a moderator, a thread with a rude reply, and a reader looking at it
    admin = await make_volunteer("平台管理员", platform_admin=True)
    moderator = await make_volunteer("版主甲")
    board = await make_board(admin, "fangyi", "防疫志愿", moderators=(moderator,))
    reader = await make_volunteer("王芳")
    thread = await open_thread(admin, board)
    rude = await write_reply(await make_volunteer("捣乱者"), thread, body="广告：低价代办各种证件")
    route = f"forum/t/{to_global_id('Thread', thread.id)}"
    post_css = f'article.post[data-id="{to_global_id("Post", rude.id)}"]'
    mod_page, reader_page = browsers
    open_as(reader_page, live_server, reader, route)
    wait_for(reader_page, lambda d: d.find_elements(By.CSS_SELECTOR, post_css), message="reader sees the reply")
    reader_page.execute_script("window.__notReloaded = true")
    # and the reader likes the opening post and reports the rude reply with a reason
    like = "article.post:first-child button[data-reaction=LIKE]"
    reader_page.find_element(By.CSS_SELECTOR, like).click()
    wait_for(reader_page, lambda d: d.find_element(By.CSS_SELECTOR, like).get_attribute("aria-pressed") == "true")
    assert reader_page.find_element(By.CSS_SELECTOR, like).text == "赞 1"
    report = reader_page.find_element(By.CSS_SELECTOR, f"{post_css} button[data-action=report]")
    report.click()
    reader_page.find_element(By.CSS_SELECTOR, f"{post_css} form.inline input[name=reason]").send_keys("广告")
    reader_page.find_element(By.CSS_SELECTOR, f"{post_css} form.inline button[type=submit]").click()
    wait_for(reader_page, lambda d: d.find_element(By.ID, "toast").text == "已举报，版主会处理", message="reported")
    assert report.get_attribute("aria-expanded") == "false"
    # and the moderator finds the report in the board's queue
    open_as(mod_page, live_server, moderator, f"forum/b/{board.slug}")
    queued = wait_for(mod_page, lambda d: d.find_element(By.CSS_SELECTOR, "li[data-report]"), message="the report queue")
    assert "低价代办" in queued.text and "举报理由：广告 · 王芳" in queued.text

    # when the moderator hides it from the thread's page
    open_as(mod_page, live_server, moderator, route)
    hide = wait_for(mod_page, lambda d: d.find_element(By.CSS_SELECTOR, f'{post_css} button[data-moderate="HIDE"]'))
    mod_page.find_element(By.CSS_SELECTOR, "input.reason").send_keys("广告")
    hide.click()
    wait_for(mod_page, lambda d: d.find_elements(By.CSS_SELECTOR, f'{post_css} button[data-moderate="RESTORE"]'))

    # then the reader's open page drops it without a reload (the opening post stays)
    wait_for(reader_page, lambda d: not d.find_elements(By.CSS_SELECTOR, post_css), message="withdrawn live")
    assert reader_page.execute_script("return window.__notReloaded") is True
    assert "低价代办" not in reader_page.find_element(By.TAG_NAME, "main").text
    assert reader_page.find_elements(By.CSS_SELECTOR, "article.post")

    # and the board's moderation log says who hid what and why
    open_as(mod_page, live_server, moderator, f"forum/b/{board.slug}")
    logged = wait_for(mod_page, lambda d: d.find_element(By.CSS_SELECTOR, 'ul.mod-log li[data-action="HIDE"]'))
    assert "版主甲 · 隐藏" in logged.text and "广告" in logged.text
    open_as(mod_page, live_server, moderator, route)

    # and when the moderator restores it, it comes back in its place, still without a reload
    restore = wait_for(mod_page, lambda d: d.find_element(By.CSS_SELECTOR, f'{post_css} button[data-moderate="RESTORE"]'))
    restore.click()
    wait_for(reader_page, lambda d: d.find_elements(By.CSS_SELECTOR, f"article.post:last-child{post_css[len('article.post'):]}"),
             message="restored live, after the opening post")

    # and when the whole thread is hidden, the reader's page says so instead of showing it
    wait_for(mod_page, lambda d: d.find_elements(By.CSS_SELECTOR, f'{post_css} button[data-moderate="HIDE"]'))
    mod_page.find_element(By.CSS_SELECTOR, 'div.mod button[data-moderate="HIDE"]').click()
    notice = wait_for(reader_page, lambda d: d.find_element(By.CSS_SELECTOR, "p.notice"))
    assert notice.text == "此帖已被版主隐藏。"
    assert reader_page.find_elements(By.CSS_SELECTOR, "article.post") == []
    assert reader_page.execute_script("return window.__notReloaded") is True


async def sign_up_through_the_api(server: LiveServer, activity: Any, person: Volunteer) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(server.url, json={"query": SIGN_UP, "variables": {
            "id": to_global_id("Activity", activity.id)}}, headers={"Authorization": f"Bearer {token_for(person)}"})
    assert answer.json()["data"]["signUp"]["status"] == "CONFIRMED", answer.text


MESSAGE = """mutation Message($id: ID!) {
  sendOrganiserMessage(activityId: $id, audience: CONFIRMED, title: "带好水杯", body: "天气热，请自带水杯。") { id } }"""
MOVE = "mutation Move($id: ID!, $input: ActivityUpdateInput!) { updateActivity(id: $id, input: $input) { id } }"


async def api(server: LiveServer, person: Volunteer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(server.url, json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Bearer {token_for(person)}"})
    assert answer.json().get("data"), answer.text
    return answer.json()["data"]


SLOTS_LIVE = "subscription Slots($id: ID!) { slotCount(activityId: $id) { remaining } }"
# The page's own WebSocket client (ws.js): a subscription the page did not make, so the toggle's
# re-render does not stop it; window.__held collects the remaining slots it receives.
HOLD_SLOTS = f"""const [id, done] = arguments; window.__held = []; window.__banner = [];
import("/js/ws.js").then((ws) => {{ window.__ws = ws;
  ws.subscribe({SLOTS_LIVE!r}, {{ id }}, {{ next: ({{ data }}) => window.__held.push(data.slotCount.remaining) }}); done(); }});"""
# A refusal arrives as an answer with errors (or, before execution, as graphql-ws's error).
REFUSED_SLOTS = f"""const done = arguments[0];
const said = (errors) => done((errors || []).map((e) => ({{ message: e.message, code: e.extensions?.code }})));
window.__ws.subscribe({SLOTS_LIVE!r}, {{ id: "nope" }}, {{ next: (answer) => said(answer.errors), error: said }});"""
# Subscribes, stops at the first answer and subscribes again at once; then reports what the
# banner said meanwhile.
RESUBSCRIBE_AT_ONCE = f"""const [id, done] = arguments; window.__banner = [];
new MutationObserver(() => window.__banner.push(document.getElementById("conn").textContent))
  .observe(document.getElementById("conn"), {{ childList: true, characterData: true, subtree: true }});
import("/js/ws.js").then((ws) => {{ const first = ws.subscribe({SLOTS_LIVE!r}, {{ id }}, {{ next: () => {{ first();
  const again = ws.subscribe({SLOTS_LIVE!r}, {{ id }}, {{ next: () => {{ again(); done(window.__banner.filter(Boolean)); }} }}); }} }}); }});"""


def text_of(driver: Any, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


async def test_a_volunteer_reads_a_shared_activity_page_in_beijing_time_and_sees_their_own_state(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team's shift repeated on three mornings at 07:30 Beijing time (23:30 UTC the day
    # before), a full activity with a waitlist, and a volunteer whose browser is in New York
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser, "朝阳助老队")
    first = datetime.combine(datetime.now(BEIJING).date() + timedelta(days=3), time(7, 30), BEIJING)
    shifts = [await make_activity(team, organiser, title="早班助餐", starts_at=first + timedelta(days=day),
                                  address="朝阳区幸福街 1 号") for day in range(3)]
    # (the lecture and the gated shift below are days after the series: at a default "in three
    # days" they overlapped its first morning whenever the run started between 04:30 and 10:30
    # Beijing time, and the sign-ups were refused as clashes)
    full = await make_activity(team, organiser, title="满员的讲座", capacity=1, waitlist_limit=3,
                               starts_in=timedelta(days=8))
    await sign_up_through_the_api(live_server, full, await make_volunteer("先来的人"))
    volunteer = await make_volunteer("赵敏")
    page = browsers[0]
    open_as(page, live_server, volunteer, "activities")
    page.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    page.refresh()

    # then the list shows the series once, with the other two shifts a tap away
    wait_for(page, lambda d: remaining(d, shifts[0].id) == "剩余 10 / 10", message="the first shift's card")
    assert not page.find_elements(By.CSS_SELECTOR, card_css(shifts[1].id))
    assert text_of(page, f"{card_css(shifts[0].id)} details.shifts summary") == "另有 2 个班次"
    assert "07:30" in text_of(page, f"{card_css(shifts[0].id)} .meta")

    # when the volunteer opens the activity's own page (its title links there) and signs up
    page.find_element(By.CSS_SELECTOR, f"{card_css(shifts[0].id)} h2 a").click()
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "article.detail [data-field=team]"), message="detail")
    assert page.current_url.endswith(f"#/activities/{to_global_id('Activity', shifts[0].id)}")
    assert page.find_element(By.CSS_SELECTOR, "[data-field=team]").text == "朝阳助老队"
    assert page.find_element(By.CSS_SELECTOR, "[data-field=time]").text.count("07:30") == 1
    assert "无特殊要求" in page.find_element(By.CSS_SELECTOR, "main").text
    page.find_element(By.CSS_SELECTOR, "button[data-action=signup]").click()

    # then it says 已报名, also after a reload of the shared URL, and the live slots dropped
    wait_for(page, lambda d: text_of(d, "p.state .badge") == "已报名", message="state after sign-up")
    wait_for(page, lambda d: text_of(d, ".remaining") == "剩余 9 / 10", message="live slots")
    page.refresh()
    wait_for(page, lambda d: text_of(d, "p.state .badge") == "已报名", message="state after reload")

    # and when the live connection drops, the banner says so and clears once it is back
    wait_for(page, lambda d: d.find_element(By.ID, "conn").get_attribute("class") == "conn up", message="live")
    page.execute_script("window.__banner = []; new MutationObserver(() => window.__banner.push("
                        "document.getElementById('conn').textContent)).observe(document.getElementById('conn'),"
                        " { childList: true, characterData: true, subtree: true });"
                        "import('/js/ws.js').then((ws) => ws.dropConnection());")
    # (back: connected and the banner empty; a loaded machine may drop the new socket again
    # before it settles, and the banner must say so then too)
    wait_for(page, lambda d: d.find_element(By.ID, "conn").get_attribute("class") == "conn up"
             and d.find_element(By.ID, "conn").text == ""
             and "连接中断，正在重连…" in d.execute_script("return window.__banner"), message="dropped and back")

    # and the language toggle reaches live updates: a subscription held across it (the page's own
    # are re-rendered with it; this one watches the third shift) goes on counting on a socket that
    # now speaks English, a refused one is refused in English, and no banner says the connection
    # was lost
    page.execute_async_script(HOLD_SLOTS, to_global_id("Activity", shifts[2].id))
    wait_for(page, lambda d: d.execute_script("return window.__held") == [10], message="held subscription")
    page.find_element(By.CSS_SELECTOR, "[data-testid=lang]").click()
    wait_for(page, lambda d: text_of(d, ".remaining") == "9 of 10 left", message="the page in English")
    refusal = page.execute_async_script(REFUSED_SLOTS)
    assert refusal == [{"message": "activityId is not a valid ID.", "code": "BAD_USER_INPUT"}], refusal
    await sign_up_through_the_api(live_server, shifts[2], await make_volunteer("钱多多"))
    wait_for(page, lambda d: d.execute_script("return window.__held")[-1] == 9, message="live after the toggle")
    assert not {"连接中断，正在重连…", "Connection lost, reconnecting…"} & set(page.execute_script("return window.__banner"))

    # and on a full activity's page, signing up puts them on the waitlist, said so
    open_as(page, live_server, volunteer, f"activities/{to_global_id('Activity', full.id)}")
    wait_for(page, lambda d: text_of(d, ".remaining") == "满")
    page.find_element(By.CSS_SELECTOR, "button[data-action=signup]").click()
    wait_for(page, lambda d: text_of(d, "p.state") == "候补中 候补第 1 位", message=text_of(page, "p.state"))

    # and an activity needing a qualification says beforehand that they lack it, and why it refuses
    gated = await make_activity(team, organiser, title="急救保障", starts_in=timedelta(days=10))
    await require(gated.id, "急救员")
    open_as(page, live_server, volunteer, f"activities/{to_global_id('Activity', gated.id)}")
    meets = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-meets]"))
    assert meets.get_attribute("data-meets") == "no" and meets.text == "你还不符合：资质：急救员"
    page.find_element(By.CSS_SELECTOR, "button[data-action=signup]").click()
    wait_for(page, lambda d: text_of(d, "p.result") == "不符合报名条件：资质：急救员", message=text_of(page, "p.result"))

    # and the project library shows a project's post with its next shifts, linked to their pages
    project = await Project.create(team=team, created_by=organiser, name="公交文明引导", category="文明交通",
                                   district="朝阳区", description="早晚高峰站台引导。")
    post = await Position.create(project=project, name="国贸站", capacity_per_shift=3, qualifications=",急救员,")
    shift = await make_activity(team, organiser, title="国贸站引导", position=post, project=project)
    open_as(page, live_server, volunteer, "projects")
    listed = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, f'li[data-position="{to_global_id("Position", post.id)}"]'))
    assert "每班 3 人" in listed.text and "资质：急救员" in listed.text
    assert listed.find_element(By.CSS_SELECTOR, "a").get_attribute("href").endswith(
        f"#/activities/{to_global_id('Activity', shift.id)}")

    # and leaving for a page without live updates shows no connection banner (#/me, where one
    # qualification lapses in 10 days and a course renews it, and one has lapsed with none)
    renewing = await make_course(organiser, team, qualification="心理援助")
    await Qualification.create(volunteer=volunteer, course=renewing, name="心理援助", granted_at=datetime.now(BEIJING),
                               expires_at=datetime.now(BEIJING) + timedelta(days=10))
    await qualify(volunteer, "驾驶员", expires_in=timedelta(days=-1))
    page.get(f"{base(live_server)}/#/me")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-stat=number]"))
    # the closed socket's close event, which must not raise the banner, comes within a round trip
    # of leaving (the client closes as soon as no page needs it)
    await asyncio.sleep(0.2)
    assert page.find_element(By.ID, "conn").text == ""
    # nor does a page that stops its live updates and subscribes again at once (as a page does
    # when the toggle re-renders it): the socket graphql-ws closes when the last one stops is no outage
    assert page.execute_async_script(RESUBSCRIBE_AT_ONCE, to_global_id("Activity", shifts[2].id)) == []
    # and the schedule on #/me lists the shift as upcoming and the lecture as waitlisted
    assert "早班助餐" in text_of(page, '[data-group="UPCOMING"]')
    assert "满员的讲座 · 候补第 1 位" in text_of(page, '[data-group="WAITLISTED"]')
    # and it warns of the lapsing qualifications, with the renewing course or whom to ask
    soon = text_of(page, 'section.expiring li[data-qualification="心理援助"]')
    assert "到期" in soon and "续期课程：心理援助培训" in soon, soon
    assert "已过期 · 请联系你的队伍续期" in text_of(page, 'section.expiring li[data-qualification="驾驶员"]')

    # and they turn off the 2-hour reminder and the SMS copy, which the server keeps
    page.find_element(By.CSS_SELECTOR, 'section.reminders input[name=offset][value="2"]').click()
    page.find_element(By.CSS_SELECTOR, "section.reminders input[name=sms]").click()
    page.find_element(By.CSS_SELECTOR, "button[data-action=save-reminders]").click()
    wait_for(page, lambda d: text_of(d, "section.reminders .result") == "已保存", message="reminders saved")
    kept = await api(live_server, volunteer, "{ reminderSettings { mutedHours sms } }", {})
    assert kept["reminderSettings"] == {"mutedHours": [2.0], "sms": False}

    # and (docs/care.md) #/me makes their secret calendar feed URL, which a calendar app can read
    page.find_element(By.CSS_SELECTOR, "button[data-action=new-feed]").click()
    url = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-calendar-url]")).get_attribute("value")
    assert "/calendar/feed/" in url and url.endswith(".ics"), url
    async with httpx.AsyncClient(timeout=30) as client:
        feed = await client.get(url)
    assert feed.status_code == 200 and "早班助餐" in feed.text
    # and turning it off hides the URL and the calendar app gets nothing any more
    page.find_element(By.CSS_SELECTOR, "button[data-action=revoke-feed]").click()
    wait_for(page, lambda d: text_of(d, "section.calendar .result") == "订阅链接已停用", message="revoked")
    assert not page.find_elements(By.CSS_SELECTOR, "[data-calendar-url]")
    assert text_of(page, "[data-feed]") == "尚未生成订阅链接。"
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(url)).status_code == 404

    # and when the organiser moves the shift by an hour, its page shows the change log
    shift_route = f"activities/{to_global_id('Activity', shifts[0].id)}"
    moved = await api(live_server, organiser, MOVE, {"id": to_global_id("Activity", shifts[0].id), "input": {
        "startsAt": (first + timedelta(hours=1)).isoformat(),
        "endsAt": (shifts[0].ends_at + timedelta(hours=1)).isoformat()}})
    assert moved["updateActivity"]["id"]
    open_as(page, live_server, volunteer, shift_route)
    change = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-change=starts_at]"), message="change log")
    assert "开始时间" in change.text and "07:30 → " in change.text and "08:30" in change.text, change.text
    assert "组织者" in change.text  # who changed it

    # and the organiser writes to the confirmed volunteers from the activity's page ...
    other = browsers[1]
    open_as(other, live_server, organiser, shift_route)
    form = wait_for(other, lambda d: d.find_element(By.XPATH, "//section[@aria-labelledby='msg-h']//form"))
    fill(other, form, "title", "集合地点调整")
    fill(other, form, "body", "请到幸福街北门集合。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(other, lambda d: text_of(d, "section[aria-labelledby=msg-h] .result") == "已发送给 1 人")
    # ... the volunteer reads it in their notifications and replies ...
    open_as(page, live_server, volunteer, "notifications")
    reply = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form.reply-organiser"), message="the message")
    assert "请到幸福街北门集合。" in text_of(page, "main")
    fill(page, reply, "body", "收到，准时到。")
    reply.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(page, lambda d: "收到，准时到。" in text_of(d, "ul.replies"), message="reply shown")
    # ... and the organiser reads the reply under the message
    other.refresh()
    wait_for(other, lambda d: "收到，准时到。" in text_of(d, "section[aria-labelledby=msg-h] ul.replies"), message="reply")

    # and the volunteer hands their place over to a teammate, who takes it from the same page
    taker = await make_volunteer("钱进")
    await add_member(team, taker)
    open_as(page, live_server, volunteer, shift_route)
    wait_for(page, lambda d: d.find_element(By.XPATH, "//summary[text()='我来不了，转让我的名额']")).click()
    taker_id = to_global_id("Volunteer", taker.id)
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, f'#swap-to option[value="{taker_id}"]')).click()
    page.find_element(By.CSS_SELECTOR, "button[data-action=offer-swap]").click()
    wait_for(page, lambda d: "正在转让给 钱进" in text_of(d, "section[aria-labelledby=swap-h]"), message="offered")
    open_as(other, live_server, taker, shift_route)
    wait_for(other, lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=accept-swap]")).click()
    wait_for(other, lambda d: text_of(d, "p.state .badge") == "已报名", message="the taker's place")
    places = {row.volunteer_id: row.status for row in await SignUp.filter(activity_id=shifts[0].id)}
    assert places == {taker.id: SignUpStatus.CONFIRMED, volunteer.id: SignUpStatus.CANCELLED}

    # and on a shift whose hand-overs need approval (ticked on #/manage/<shift> by the organiser),
    # an accepted hand-over waits: the giver's page says so, the organiser refuses it on #/manage
    # (a reason is required) and the giver reads why; a second one the organiser approves
    second = to_global_id("Activity", shifts[1].id)
    open_as(other, live_server, organiser, f"manage/{second}")
    wait_for(other, lambda d: d.find_element(By.CSS_SELECTOR, "input[data-action=swap-approval]")).click()
    for _ in range(100):  # the box is ticked at once; the server's answer follows
        if await swap_rules.needs_approval(shifts[1].id):
            break
        await asyncio.sleep(0.1)
    assert await swap_rules.needs_approval(shifts[1].id)
    await do_sign_up(Viewer(volunteer), shifts[1].id)
    for attempt in range(2):
        offered = await swap_rules.do_offer_swap(Viewer(volunteer), shifts[1].id, taker.id)
        await swap_rules.do_accept_swap(Viewer(taker), offered.id)
        if attempt == 0:
            open_as(page, live_server, volunteer, f"activities/{second}")
            wait_for(page, lambda d: "等待组织者审批" in text_of(d, "section[aria-labelledby=swap-h]"), message="waiting")
        open_as(other, live_server, organiser, "manage")
        row = f'li[data-swap="{to_global_id("ShiftSwap", offered.id)}"]'
        wait_for(other, lambda d, row=row: "赵敏 → 钱进" in text_of(d, row), message="the pending hand-over")
        if attempt == 0:
            other.find_element(By.CSS_SELECTOR, f"{row} button[data-action=refuse-swap]").click()
            wait_for(other, lambda d: text_of(d, "section.approvals .result") == "不批准时请填写原因")
            fill(other, other.find_element(By.CSS_SELECTOR, f"{row} form"), "reason", "钱进未参加过岗前培训")
            other.find_element(By.CSS_SELECTOR, f"{row} button[data-action=refuse-swap]").click()
            wait_for(other, lambda d: "已不批准" in text_of(d, "section.approvals .result"), message="refused")
            page.refresh()
            wait_for(page, lambda d: "组织者未批准这次转让：钱进未参加过岗前培训"
                     in text_of(d, "section[aria-labelledby=swap-h]"), message="the reason")
        else:
            other.find_element(By.CSS_SELECTOR, f"{row} button[data-action=approve-swap]").click()
            wait_for(other, lambda d: "已批准" in text_of(d, "section.approvals .result"), message="approved")
            page.refresh()  # the place moved: the giver's page no longer shows the earlier refusal
            wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "article.detail [data-field=team]"), message="page")
            await asyncio.sleep(0.5)  # the hand-over panel asks for its own data
            assert "组织者未批准" not in text_of(page, "main")
    places = {row.volunteer_id: row.status for row in await SignUp.filter(activity_id=shifts[1].id)}
    assert places == {taker.id: SignUpStatus.CONFIRMED, volunteer.id: SignUpStatus.CANCELLED}

    # and the organiser writes to the whole team on #/messages; the member, on the same page,
    # sees it arrive live as unread, replies, and the organiser reads the reply under it
    open_as(page, live_server, taker, "messages")
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "#got-h ~ ul, #got-h ~ p.empty"), message="my messages")
    open_as(other, live_server, organiser, "messages")
    form = wait_for(other, lambda d: d.find_element(By.CSS_SELECTOR, f'section[data-team="{to_global_id("Team", team.id)}"] form'))
    fill(other, form, "title", "本周例会")
    fill(other, form, "body", "周六上午九点在社区活动室开例会。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(other, lambda d: "已发送给" in text_of(d, f'section[data-team="{to_global_id("Team", team.id)}"] .result'))
    wait_for(page, lambda d: text_of(d, "[data-unread-messages]") == "1 条未读", message="the unread count, live")
    assert "周六上午九点在社区活动室开例会。" in text_of(page, "main")
    reply = page.find_element(By.CSS_SELECTOR, "form.reply-organiser")
    fill(page, reply, "body", "我会准时参加。")
    reply.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(page, lambda d: "我会准时参加。" in text_of(d, "ul.replies"), message="reply shown")
    other.refresh()
    wait_for(other, lambda d: "我会准时参加。" in text_of(d, "main ul.replies"), message="the reply, for the organiser")


async def test_help_requests_are_posted_watched_live_and_claimed(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given someone who needs help, a neighbour watching the help page, and a signed-out visitor
    asker = await make_volunteer("钱阿姨")
    helper = await make_volunteer("孙志愿")
    asking, helping = browsers
    open_as(asking, live_server, None, "help")
    wait_for(asking, lambda d: "登录后可查看附近的求助" in d.find_element(By.TAG_NAME, "main").text,
             message="the signed-out page speaks Chinese and says what to do")
    open_as(helping, live_server, helper, "help")
    wait_for(helping, lambda d: d.find_elements(By.CSS_SELECTOR, ".help-list .empty, .help-list .card"))
    helping.execute_script("window.__notReloaded = true")

    # when the asker posts a request from the page
    open_as(asking, live_server, asker, "help")
    asking.find_element(By.CSS_SELECTOR, "details.post-help summary").click()
    form = asking.find_element(By.CSS_SELECTOR, "details.post-help form")
    fill(asking, form, "title", "帮忙搬一袋米上楼")
    fill(asking, form, "description", "五楼，没有电梯，下午三点前。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(asking, lambda d: "求助已发布" in d.find_element(By.TAG_NAME, "main").text)

    # then the neighbour sees it arrive without a reload, and claims it
    card = '.help-list article.card[data-status="OPEN"]'
    wait_for(helping, lambda d: "帮忙搬一袋米上楼" in text_of(d, card), message="live arrival")
    assert helping.execute_script("return window.__notReloaded") is True
    helping.find_element(By.CSS_SELECTOR, f"{card} button[data-action=claim]").click()
    wait_for(helping, lambda d: "已认领" in d.find_element(By.CSS_SELECTOR, ".help-list").text)
    assert not asking.find_elements(By.CSS_SELECTOR, f"{card} button[data-action=claim]"), "no claiming one's own"

    # and when the asker asks the service desk, the staff's answer arrives on the open page
    staff = await make_volunteer("平台客服", platform_admin=True)
    asking.get(f"{base(live_server)}/#/desk")
    form = wait_for(asking, lambda d: d.find_element(By.CSS_SELECTOR, "form.desk-open"))
    fill(asking, form, "subject", "求助没人认领怎么办？")
    fill(asking, form, "body", "发布了求助但还没人认领。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(asking, lambda d: "发布了求助但还没人认领。" in text_of(d, ".desk-messages"), message="the ticket page")
    asking.execute_script("window.__notReloaded = true")
    ticket_id = unquote(asking.current_url.split("#/desk/")[1])
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(live_server.url, json={"query": DESK_REPLY, "variables": {
            "id": ticket_id, "body": "已通知附近的志愿者。"}}, headers={"Authorization": f"Bearer {token_for(staff)}"})
    assert answer.json()["data"]["postServiceTicketMessage"]["fromStaff"] is True, answer.text
    wait_for(asking, lambda d: "已通知附近的志愿者。" in text_of(d, '.desk-messages li[data-staff="true"]'),
             message="the staff reply arrives live")
    assert text_of(asking, "[data-ticket-status]") == "待用户回复"
    # the badge and the "· <to whom>" that follows it are apart (htm drops a line break's space)
    assert "待用户回复 · " in asking.find_element(By.CSS_SELECTOR, "h1 + .meta").get_attribute("textContent")
    assert asking.execute_script("return window.__notReloaded") is True


async def test_an_organiser_decides_on_hours_with_a_reason_where_needed_and_changes_a_decision_later(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a team admin with two volunteers' hours (3 h each, the activity's length) awaiting review
    admin = await make_volunteer("队长")
    team = await make_team(admin, "海淀环保队")
    activity = await hours_activity(team, admin, starts_at=utc(2026, 3, 1, 9))
    records = []
    for name in ("李明", "周雨"):
        person = await make_volunteer(name)
        await add_member(team, person)
        records.append(await served(activity, person))
    page = browsers[0]
    open_as(page, live_server, admin, "hours")
    row = f'li[data-record="{to_global_id("ServiceRecord", records[0].id)}"]'
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, row), message="the queue")
    # (every decision the page sends is counted as it goes: a click sends at once or never)
    page.execute_script("""window.writes = []; const send = window.fetch;
      window.fetch = (url, options) => { const name = /mutation (Approve|Reject)\\b/.exec(String(options?.body))?.[1];
        if (name) window.writes.push(name); return send(url, options); };""")

    def writes() -> list[str]:
        return list(page.execute_script("return window.writes"))

    # when the admin clicks reject with no reason
    page.find_element(By.CSS_SELECTOR, f"{row} button[data-action=reject]").click()

    # then the page asks for one and nothing is decided
    assert text_of(page, f"{row} [data-error-for=reason]") == "驳回时请填写原因"
    assert writes() == []
    assert (await ServiceRecord.get(id=records[0].id)).status == HoursStatus.PENDING

    # when a reason is given, it is rejected: the row says so and offers only to approve instead
    page.find_element(By.CSS_SELECTOR, f"{row} input[name=reason]").send_keys("当天未到岗")
    page.find_element(By.CSS_SELECTOR, f"{row} button[data-action=reject]").click()
    wait_for(page, lambda d: text_of(d, f"{row} .result") == "已驳回")
    assert text_of(page, f"{row} .decided") == "未通过"
    assert [b.get_attribute("data-action") for b in page.find_elements(By.CSS_SELECTOR, f"{row} form button")] == ["approve"]
    assert (await ServiceRecord.get(id=records[0].id)).status == HoursStatus.REJECTED

    # when the admin approves the other record at 2.5 h (claimed 3 h) without a reason
    other = f'li[data-record="{to_global_id("ServiceRecord", records[1].id)}"]'
    hours = page.find_element(By.CSS_SELECTOR, f"{other} input[name=hours]")
    assert hours.get_attribute("value") == "3" and hours.get_attribute("max") == "3"
    hours.clear()
    hours.send_keys("2.5")
    page.find_element(By.CSS_SELECTOR, f"{other} button[data-action=approve]").click()

    # then the reason is asked for at its field, the hours typed stay, and nothing is written
    reason = page.find_element(By.CSS_SELECTOR, f"{other} input[name=reason]")
    assert text_of(page, f"{other} [data-error-for=reason]") == "改动时长时请填写原因"
    assert reason.get_attribute("aria-invalid") == "true"
    assert page.find_element(By.CSS_SELECTOR, f"{other} input[name=hours]").get_attribute("value") == "2.5"
    assert writes() == ["Reject"]
    assert (await ServiceRecord.get(id=records[1].id)).status == HoursStatus.PENDING
    assert await HoursAudit.filter(record_id=records[1].id).count() == 1

    # when a reason is given, the record is approved at 2.5 h, and the volunteer's hours count 2.5
    reason.send_keys("提前一小时离开")
    page.find_element(By.CSS_SELECTOR, f"{other} button[data-action=approve]").click()
    wait_for(page, lambda d: text_of(d, f"{other} .result") == "已按 2.5 小时通过", message="approved at 2.5 h")
    assert text_of(page, f"{other} .decided") == "已通过 · 2.5 小时"
    record = await ServiceRecord.get(id=records[1].id)
    assert (record.status, record.hours, record.hours_claimed) == (HoursStatus.APPROVED, 2.5, 3.0)
    assert (await Volunteer.get(id=record.volunteer_id)).approved_hours == 2.5

    # when they change the decision (改判) to rejected, with a reason
    page.find_element(By.CSS_SELECTOR, f"{other} details.change summary").click()
    page.find_element(By.CSS_SELECTOR, f"{other} details.change input[name=reason]").send_keys("重复申报")
    page.find_element(By.CSS_SELECTOR, f"{other} details.change button[data-action=reject]").click()

    # then it is rejected and the hours no longer count
    wait_for(page, lambda d: text_of(d, f"{other} .result") == "已改为未通过，时长不再计入", message="changed to rejected")
    assert text_of(page, f"{other} .decided") == "未通过"
    record = await ServiceRecord.get(id=records[1].id)
    assert record.status == HoursStatus.REJECTED
    assert (await Volunteer.get(id=record.volunteer_id)).approved_hours == 0

    # and the audit trail lists both decisions: who, what, before → after, why
    page.find_element(By.CSS_SELECTOR, f"{other} details.audit summary").click()
    trail = f"{other} details.audit li"
    wait_for(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, trail)) == 3, message="the audit trail")
    entries = page.find_elements(By.CSS_SELECTOR, trail)
    assert [e.get_attribute("data-action") for e in entries] == ["CLAIM", "ADJUST", "REJECT"]
    assert "队长 · 调整时长后通过" in entries[1].text and "待审核 → 已通过 · 3 → 2.5 小时" in entries[1].text
    assert "原因：提前一小时离开" in entries[1].text
    assert "队长 · 驳回" in entries[2].text and "已通过 → 未通过 · 2.5 小时" in entries[2].text
    assert "原因：重复申报" in entries[2].text

    # when, later, they open 未通过: both records are listed
    page.find_element(By.CSS_SELECTOR, "nav.tabs a[data-status=REJECTED]").click()
    # (the rows just decided on 待审核 say REJECTED too, until the tab's own list replaces them)
    listed = "ul[data-list=REJECTED] li[data-status=REJECTED]"
    wait_for(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, listed)) == 2, message="the rejected records")
    assert page.find_element(By.CSS_SELECTOR, "nav.tabs [aria-current=page]").text == "未通过"
    # and approve the second again with no reason: refused at the field
    page.find_element(By.CSS_SELECTOR, f"{other} details.change summary").click()
    page.find_element(By.CSS_SELECTOR, f"{other} details.change button[data-action=approve]").click()
    assert text_of(page, f"{other} [data-error-for=reason]") == "改判时请填写原因"
    assert writes() == ["Reject", "Approve", "Reject"]
    page.find_element(By.CSS_SELECTOR, f"{other} details.audit summary").click()
    wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, f"{other} details.audit li"), message="the audit trail")
    audit = AXE.exists()  # the open forms, an error and the audit trail, at phone width: nothing serious
    assert not audit or axe_problems(page) == []

    # when they give a reason and double-click 改为通过
    page.find_element(By.CSS_SELECTOR, f"{other} details.change input[name=reason]").send_keys("核实后确认到岗")
    page.execute_script("const button = document.querySelector(arguments[0]); button.click(); button.click();",
                        f"{other} details.change button[data-action=approve]")

    # then one request went, and it is approved again at 2.5 h
    wait_for(page, lambda d: text_of(d, f"{other} .result") == "已改为通过（2.5 小时）", message="approved again")
    assert writes() == ["Reject", "Approve", "Reject", "Approve"]
    record = await ServiceRecord.get(id=records[1].id)
    assert (record.status, record.hours) == (HoursStatus.APPROVED, 2.5)
    assert (await Volunteer.get(id=record.volunteer_id)).approved_hours == 2.5
    assert [a.action for a in await HoursAudit.filter(record_id=record.id).order_by("id")] == \
        ["CLAIM", "ADJUST", "REJECT", "APPROVE"]

    # given a second team of theirs with 51 approved records, one more than a page of the list
    river = await make_team(admin, "朝阳护河队")
    await approved_records(river, admin, await make_volunteer("吴晓"), 51)
    river_list = f'section[data-team="{to_global_id("Team", river.id)}"]'

    # when, later, on 已通过, they open 改判 on the record approved at 2.5 h: its hours are there to change
    page.find_element(By.CSS_SELECTOR, "nav.tabs a[data-status=APPROVED]").click()
    wait_for(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, f"{river_list} ul[data-list=APPROVED] li")) == 50,
             message="the first page of the other team's approved records")
    change = f"{other} details.change"
    page.find_element(By.CSS_SELECTOR, f"{change} summary").click()
    hours = page.find_element(By.CSS_SELECTOR, f"{change} input[name=hours]")
    assert hours.get_attribute("value") == "2.5" and hours.get_attribute("max") == "3"
    # and give a reason but leave the hours as they are
    page.find_element(By.CSS_SELECTOR, f"{change} input[name=reason]").send_keys("按签到记录核减")
    page.find_element(By.CSS_SELECTOR, f"{change} button[data-action=adjust]").click()

    # then the page says so at the hours, and nothing is written
    assert text_of(page, f"{other} [data-error-for=hours]") == "与已通过的时长相同，无需调整"
    assert writes() == ["Reject", "Approve", "Reject", "Approve"]

    # when they change the hours to 2 (the reason still typed) and double-click 调整时长
    notified = await Notification.filter(volunteer_id=record.volunteer_id).count()
    hours.clear()
    hours.send_keys("2")
    page.execute_script("const button = document.querySelector(arguments[0]); button.click(); button.click();",
                        f"{change} button[data-action=adjust]")

    # then one request went: the record is still approved, now at 2 h, with one ADJUST more in its
    # trail, and the volunteer is told once
    wait_for(page, lambda d: text_of(d, f"{other} .result") == "时长已调整为 2 小时", message="adjusted in place")
    assert text_of(page, f"{other} .decided") == "已通过 · 2 小时"
    assert writes() == ["Reject", "Approve", "Reject", "Approve", "Approve"]
    record = await ServiceRecord.get(id=records[1].id)
    assert (record.status, record.hours) == (HoursStatus.APPROVED, 2.0)
    assert (await Volunteer.get(id=record.volunteer_id)).approved_hours == 2.0
    trail = await HoursAudit.filter(record_id=record.id).order_by("id")
    assert [a.action for a in trail] == ["CLAIM", "ADJUST", "REJECT", "APPROVE", "ADJUST"]
    assert (trail[-1].status_before, trail[-1].status_after, trail[-1].hours_before, trail[-1].hours_after,
            trail[-1].reason) == ("APPROVED", "APPROVED", 2.5, 2.0, "按签到记录核减")
    assert await Notification.filter(volunteer_id=record.volunteer_id).count() == notified + 1

    # and the other team's list goes past its first 50 with 加载更多, which is gone once all are shown
    page.find_element(By.CSS_SELECTOR, f"{river_list} button[data-action=more]").click()
    wait_for(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, f"{river_list} li[data-status=APPROVED]")) == 51,
             message="the next page, appended")
    assert not page.find_elements(By.CSS_SELECTOR, f"{river_list} button[data-action=more]")


async def test_a_new_threads_title_and_body_survive_a_reload(live_server: LiveServer, browsers: list[Any]) -> None:
    # given a volunteer writing a new thread on a board
    admin = await make_volunteer("平台管理员", platform_admin=True)
    board = await make_board(admin, "shequ", "社区服务")
    writer = await make_volunteer("吴桐")
    page = browsers[0]
    open_as(page, live_server, writer, f"forum/b/{board.slug}")
    form = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form.panel"))
    form.find_element(By.NAME, "title").send_keys("周末旧衣回收点")
    form.find_element(By.NAME, "body").send_keys("小区东门，周六上午九点到十一点。")
    # and both server copies written (each field saves 500 ms after its own last keystroke; the
    # status line may say "saved" for the title while the body's save is still out)
    typed = {"周末旧衣回收点", "小区东门，周六上午九点到十一点。"}
    for _ in range(100):
        saved = {draft.body for draft in await Draft.filter(volunteer_id=writer.id)}
        if typed <= saved:
            break
        await asyncio.sleep(0.1)
    assert typed <= saved, f"server copies after 10 s: {saved}"

    # when the page reloads with this device's copies gone
    page.execute_script("Object.keys(localStorage).filter(k => k.startsWith('tx.draft.'))"
                        ".forEach(k => localStorage.removeItem(k))")
    page.refresh()

    # then both the title and the body are back
    form = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "form.panel"))
    # (each field's server copy is read back on its own, so the body may land after the title)
    wait_for(page, lambda d: form.find_element(By.NAME, "title").get_attribute("value") == "周末旧衣回收点")
    wait_for(page, lambda d: form.find_element(By.NAME, "body").get_attribute("value")
             == "小区东门，周六上午九点到十一点。")

    # when it is published, the thread's page opens and neither draft is kept
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(page, lambda d: text_of(d, "main h1") == "周末旧衣回收点", message="the thread's page")
    # (the heading can be drawn a frame before the posts)
    wait_for(page, lambda d: "小区东门" in text_of(d, "article.post .body"), message="the opening post")
    for _ in range(100):
        if not await Draft.filter(volunteer_id=writer.id).count():
            break
        await asyncio.sleep(0.1)
    assert await Draft.filter(volunteer_id=writer.id).count() == 0

    # and the forum's search finds it by a word of its title
    open_as(page, live_server, writer, "forum")
    box = wait_for(page, lambda d: d.find_element(By.ID, "forum-q"))
    box.send_keys("旧衣")
    page.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    found = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "li[data-thread] h2 a"), message="search results")
    assert found.text == "周末旧衣回收点" and "社区服务" in text_of(page, "li[data-thread] .meta")
    assert page.find_element(By.ID, "forum-q").get_attribute("value") == "旧衣"


AXE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_problems(driver: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, { resultTypes: ['violations'] }).then((r) => done(r.violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
        ".map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))));")
    return list(result)


# Accessibility is a property of the markup the client renders, which is the same whichever
# database answers; the journeys above and below run on both backends, this audit on one.
@pytest.mark.postgres
@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed in tests/node (make test installs it)")
async def test_axe_finds_no_serious_violations_on_any_page_at_phone_and_desktop_width(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a volunteer with a sign-up, a team admin, a board, and every page of the client
    admin = await make_volunteer("队长")
    team = await make_team(admin, "无障碍测试队")
    activity = await make_activity(team, admin, title="读书会")
    volunteer = await make_volunteer("郑洁")
    await sign_up_through_the_api(live_server, activity, volunteer)
    platform = await make_volunteer("平台管理员", platform_admin=True)
    board = await make_board(platform, "wza", "无障碍")
    # and the care panels' data: a moved start (the change log) and an organiser's message
    activity_id = to_global_id("Activity", activity.id)
    await api(live_server, admin, MOVE, {"id": activity_id, "input": {
        "startsAt": (activity.starts_at + timedelta(hours=1)).isoformat(), "endsAt": (activity.ends_at + timedelta(hours=1)).isoformat()}})
    await api(live_server, admin, MESSAGE, {"id": activity_id})
    room = (await api(live_server, volunteer, "query R($id: ID) { chatRoom(activityId: $id) { id } }", {"id": activity_id}))["chatRoom"]["id"]
    # and a finished volunteer import with a rejected row (#/import/<id>: progress bar, counts, table)
    async with httpx.AsyncClient(timeout=30) as client:
        imported = (await client.post(f"{base(live_server)}/imports/volunteers", params={"name": "roster.csv"},
                                      content=roster([roster_row(801), roster_row(802, phone="1")]),
                                      headers={"Authorization": f"Bearer {token_for(platform)}"})).json()["id"]
    await api(live_server, volunteer, """mutation P($room: ID!) { postChatMessage(roomId: $room, body: "到了", clientId: "axe",
      photoUrls: ["https://img.example.cn/a.jpg"]) { id } }""", {"room": room})
    # and a project of the admin's team with a post and a series (#/projects with the organiser's forms)
    project = (await api(live_server, admin, "mutation P($input: ProjectInput!) { createProject(input: $input) { id } }", {"input": {
        "teamId": to_global_id("Team", team.id), "name": "读书角", "category": "文化", "district": "朝阳区"}}))["createProject"]["id"]
    post = (await api(live_server, admin, """mutation P($id: ID!) { createPosition(projectId: $id, input: { name: "图书角值守",
      capacityPerShift: 2 }) { id } }""", {"id": project}))["createPosition"]["id"]
    first = datetime.now(BEIJING).date() + timedelta(days=3)
    await api(live_server, admin, "mutation S($id: ID!, $input: SeriesInput!) { scheduleSeries(projectId: $id, input: $input) { created } }",
              {"id": project, "input": {"frequency": "WEEKLY", "weekdays": [first.isoweekday()], "startTime": "19:00",
                                        "durationMinutes": 60, "firstDate": first.isoformat(), "lastDate": first.isoformat(), "positionId": post}})
    pages = [(None, "activities", "article.card"), (None, "login", "form"), (None, "register", "form"),
             (None, "help", "main h1"), (None, "forum", "main h1"),
             (volunteer, "activities", "article.card"), (volunteer, f"activities/{to_global_id('Activity', activity.id)}", "p.state"),
             (volunteer, "me", "[data-stat=number]"), (volunteer, "help", ".help-list"),
             (volunteer, f"forum/b/{board.slug}", "form.panel"), (admin, "hours", "li[data-status=PENDING] form.decide"),
             (admin, "manage", "section[data-team] ~ *, section.approvals"), (admin, f"manage/{to_global_id('Activity', activity.id)}", "ul.roster"),
             (None, "learn", "main h1"), (volunteer, "learn", "#qual-h"), (volunteer, "bank", "[data-points]"),
             (volunteer, "notifications", "main h1"), (platform, "stats", ".plot[data-drawn]"),
             (None, "honours", "#aw-h"), (volunteer, "feed", "main h1"), (None, "projects", "main h1"),
             (None, "points", "main h1"), (admin, "projects", "li[data-series] form"), (volunteer, f"activities/{activity_id}", "main:has(#swap-h):has(#log-h)"),
             (admin, f"activities/{activity_id}", "main:has(#msg-h):has(#lapse-h):has(#log-h)"),
             (volunteer, "notifications", "form.reply-organiser"), (volunteer, "chat", "li[data-room]"),
             (volunteer, f"chat/{room}", "form.chat-send button:not([disabled])"),
             (admin, f"chat/{room}", "li[data-id] button[data-action=mute]"),
             (None, "stations", "main h1"), (platform, "stations", "table.rates, section.panel .empty"),
             (volunteer, "messages", "form.reply-organiser"), (admin, "messages", "section[data-team] form"),
             (platform, f"import/{imported}", "section[data-import]:has([role=progressbar][data-status=DONE]) table.import-errors tr[data-row]")]
    # and the forum's thread page (a reader's, and a moderator's tools), a moderator's board (the
    # report queue and the log), a search, and a certificate's public page
    # and #/announcements with the organisers' form and drafts: a team draft with an attachment,
    # a pinned platform announcement
    announce = "mutation A($input: AnnouncementInput!) { createAnnouncement(input: $input) { id } }"
    await api(live_server, admin, announce, {"input": {"title": "读书会书单", "body": "见附件。", "publish": False,
                                                       "teamId": to_global_id("Team", team.id), "attachments": ["https://example.cn/list.pdf"]}})
    await api(live_server, platform, announce, {"input": {"title": "系统维护通知", "body": "周日凌晨维护。", "pinned": True}})
    ready = "h1[data-scopes=writer] ~ section.drafts li"
    pages += [(admin, "announcements", ready), (platform, "announcements", ready)]
    thread = await open_thread(platform, board)
    asked = await write_reply(volunteer, thread, body="读书会的书单在哪里看？")
    await api(live_server, admin, 'mutation R($post: ID!) { report(postId: $post, reason: "重复提问") { id } }',
              {"post": to_global_id("Post", asked.id)})
    thread_id = to_global_id("Thread", thread.id)
    await add_member(team, volunteer)
    await do_approve_hours(Viewer(admin), (await served(await hours_activity(team, admin, title="读书会布置"), volunteer)).id)
    code = (await api(live_server, volunteer, "mutation { issueCertificate { code } }", {}))["issueCertificate"]["code"]
    # and hours of theirs awaiting the admin's review (#/hours: a decision's fields, at both widths)
    await served(await hours_activity(team, admin, title="读书会整理"), volunteer)
    pages += [(volunteer, f"forum/t/{thread_id}", "form.panel textarea"), (platform, f"forum/t/{thread_id}", "div.mod"),
              (platform, f"forum/b/{board.slug}", "#rq-h"), (None, "forum/s/书单", "li[data-thread], p.empty"),
              (None, f"verify/{code}", "[data-cert=verify]")]
    # and the time bank as a platform admin: the new-item form, a retired item's panel open with
    # its edit history (#/bank/<item>)
    reward = (await api(live_server, platform, "mutation C($input: RewardItemInput!) { createRewardItem(input: $input) { id } }",
                        {"input": {"title": "爱心理发券", "costPoints": 30, "stock": 5}}))["createRewardItem"]["id"]
    await api(live_server, platform, 'mutation R($id: ID!) { updateRewardItem(id: $id, input: { active: false }, reason: "年底休假") { id } }',
              {"id": reward})
    pages += [(platform, f"bank/{reward}", "main:has([data-admin=new-item] form):has(details[data-admin=item][open] ol.item-history li)")]
    page = browsers[1]
    problems: dict[str, list[str]] = {}
    # Each person's pages one after another: the first is loaded afresh, the others reached by
    # the address (#/...), as a user moves through the app. A page load and axe-core injected
    # again (500 KB) cost ~0.3 s each; 42 loads became one per person.
    first_seen: dict[int, int] = {}
    for person, _, _ in pages:
        first_seen.setdefault(id(person), len(first_seen))
    pages.sort(key=lambda entry: first_seen[id(entry[0])])
    current: object = object()
    try:
        for person, route, ready in pages:
            # when the page has rendered on a phone, and again once the window is a desktop's
            # (one load per page: the layout follows the width, as it does for a user who turns
            # a tablet or widens the window)
            page.set_window_size(412, 900)
            moved = False
            if person is current:
                # (the previous page's nodes are noted: the page is ready once none is left in
                # <main>, every view drawing into an emptied one, and its own element is there)
                moved = page.execute_script(
                    "if (location.hash === arguments[0]) return false;"
                    "window.__left = new WeakSet(document.getElementById('main').children);"
                    "location.hash = arguments[0]; return true;", f"#/{route}")
            else:
                open_as(page, live_server, person, route)
                current = person
            for width in (412, 1280):
                if width != 412:
                    page.set_window_size(width, 900)
                wait_for(page, lambda d, css=ready, moved=moved: d.find_elements(By.CSS_SELECTOR, css) and (not moved or d.execute_script(
                    "return [...document.getElementById('main').children].every((n) => !window.__left.has(n))")),
                    message=route)
                # then axe finds nothing serious or critical
                found = axe_problems(page)
                if found:
                    problems[f"{width}px {'signed in' if person else 'visitor'} #/{route}"] = found
    finally:
        page.set_window_size(412, 915)
    assert problems == {}


LIGHTHOUSE = Path(__file__).resolve().parents[1] / "node" / "lighthouse.mjs"


# Like axe, a property of the pages, not of the database: one backend. One Chromium, one
# Lighthouse run per page (desktop preset), ~15 s for both pages here.
@pytest.mark.postgres
@pytest.mark.skipif(not (LIGHTHOUSE.parent / "node_modules" / "lighthouse").exists(),
                    reason="lighthouse is not installed in tests/node (make test installs it)")
async def test_lighthouse_scores_the_list_and_an_activity_page_at_least_95_in_every_category(
        live_server: LiveServer) -> None:
    # given a published activity with a sign-up
    admin = await make_volunteer("队长")
    team = await make_team(admin, "灯塔测试队")
    activity = await make_activity(team, admin, title="社区读书会")
    await sign_up_through_the_api(live_server, activity, await make_volunteer("郑洁"))
    pages = [f"{base(live_server)}/#/activities", f"{base(live_server)}/#/activities/{to_global_id('Activity', activity.id)}"]
    # when Lighthouse audits the list and the activity's page as a visitor
    found = find_browser()
    assert found is not None
    process = await asyncio.create_subprocess_exec(
        "node", str(LIGHTHOUSE), *pages, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CHROME_PATH": found[0]})
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, err.decode()[-2000:]
    scores = json.loads(out.decode().strip().splitlines()[-1])
    # then every category of every page scores 95 or more (the failing audits say why not)
    low = {url: score for url, score in scores.items()
           if any(value < 95 for key, value in score.items() if key != "failing")}
    assert set(scores) == set(pages) and low == {}, low


async def test_an_organiser_creates_publishes_checks_in_calls_out_and_cancels_from_the_browser(
        db: Backend, live_server: LiveServer, browsers: list[Any]) -> None:
    # given an emergency team's admin, and an activity of theirs under way with one volunteer on it
    admin = await make_volunteer("应急队长")
    team = await make_team(admin, "朝阳应急队", type=TeamType.EMERGENCY)
    ongoing = await hours_activity(team, admin, title="防汛值守", code="8866")
    present = await make_volunteer("到场的人")
    await confirm(ongoing, present)
    responder = await make_volunteer("能来的人")
    applicant = await make_volunteer("想入队的人")
    await add_member(team, applicant, MembershipStatus.PENDING)
    # (issue 26) and a plain member of another team, whose applicants they may not read
    await add_member(await make_team(await make_volunteer("别队队长"), "别的队"), admin)
    # (issue 31) an upcoming shift no insurance covers; two stations open all day today, someone
    # on duty at the first only
    await confirm(await make_activity(team, admin, title="周六巡河"), present)
    today = datetime.now(BEIJING)
    on_duty = await make_volunteer("值班的人")
    for name in ("朝阳门服务站", "望京服务站"):
        point = await ServicePoint.create(name=name, kind=ServicePointKind.STATION, district="朝阳区",
                                          latitude=39.92, longitude=116.43, team=team)
        await StationHours.create(service_point=point, weekday=today.weekday(), opens_minute=0, closes_minute=1440,
                                  valid_from_day=station.day_number(today.date()))
        if name == "朝阳门服务站":
            duty = await make_activity(team, admin, title="服务站值班", service_point_id=point.id)
            shift = await SignUp.create(activity=duty, volunteer=on_duty, status=SignUpStatus.CONFIRMED, checked_in_at=today)
            assert await station.mark_operating(shift.id) == 1
    page = browsers[0]
    open_as(page, live_server, admin, "manage")
    # then the organiser's page lists the uncovered shift
    wait_for(page, lambda d: "到场的人 · 周六巡河" in text_of(d, "[data-uncovered]"), message="uncovered shift")

    # when they approve an application to the team from the page
    wait_for(page, lambda d: d.find_element(
        By.CSS_SELECTOR, f'li[data-applicant="{to_global_id("Volunteer", applicant.id)}"] button[data-action=approve-member]')).click()
    wait_for(page, lambda d: "已同意 想入队的人 入队" in d.find_element(By.TAG_NAME, "main").text)
    assert (await Membership.get(team_id=team.id, volunteer_id=applicant.id)).status == MembershipStatus.APPROVED

    # when they create an activity for 09:00–12:00 Beijing time and publish it
    wait_for(page, lambda d: d.find_element(
        By.CSS_SELECTOR, f'section[data-team="{to_global_id("Team", team.id)}"] details.new-activity summary')).click()
    form = page.find_element(By.CSS_SELECTOR, "details.new-activity[open] form")
    fill(page, form, "title", "周日河道清理")
    day = (datetime.now(BEIJING) + timedelta(days=5)).date().isoformat()
    for name, at in (("startsAt", "09:00"), ("endsAt", "12:00")):
        page.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, name), f"{day}T{at}")
    fill(page, form, "capacity", "12")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    publish = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=publish]"), message="draft page")
    publish.click()
    wait_for(page, lambda d: text_of(d, "[data-message]") == "已发布，志愿者现在可以报名")

    # then it is published, at the Beijing time typed
    created = await Activity.get(title="周日河道清理", team_id=team.id)
    assert created.status == ActivityStatus.PUBLISHED and created.capacity == 12
    assert created.starts_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") == f"{day} 09:00"
    # and its change log names the statuses in Chinese
    open_as(page, live_server, admin, f"activities/{to_global_id('Activity', created.id)}")
    change = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-change=status]"), message="change log")
    assert "草稿 → 报名中" in change.text, change.text

    # when they open the activity under way: the code is shown, and they mark the volunteer present
    open_as(page, live_server, admin, f"manage/{to_global_id('Activity', ongoing.id)}")
    wait_for(page, lambda d: text_of(d, "[data-code]") == "8866")
    assert "到场的人" in text_of(page, "ul.roster")
    assert text_of(page, "ul.roster [data-insured]") == "未投保"
    page.find_element(By.CSS_SELECTOR, "ul.roster button[data-action=mark]").click()
    wait_for(page, lambda d: "已签到" in text_of(d, "ul.roster"), message="marked present")

    # and send a call-out, whose answer arrives on the page live
    call = page.find_element(By.XPATH, "//section[@aria-labelledby='call-h']//form")
    fill(page, call, "message", "河堤需要加固，急需 2 人")
    fill(page, call, "needed", "2")
    call.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    status = wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-callout]"))
    assert status.text == "已发出：需要 2 人，0 人能到，0 人去不了"
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(live_server.url, json={"query": "mutation A($id: ID!) { answerCallOut(id: $id, coming: true) { id } }",
                                                          "variables": {"id": status.get_attribute("data-callout")}},
                                   headers={"Authorization": f"Bearer {token_for(responder)}"})
    assert answer.json().get("data"), answer.text
    wait_for(page, lambda d: text_of(d, "[data-callout]") == "已发出：需要 2 人，1 人能到，0 人去不了", message="live answer")

    # and (issue 31) the organiser and the volunteer on the shift open its chat room in two browsers ...
    other = browsers[1]
    await wait_for_server_subscribers(live_server, "chatMessages", 0)
    open_as(other, live_server, present, "chat")
    room = wait_for(other, lambda d: d.find_element(By.XPATH, "//li[@data-room][contains(., '防汛值守')]"))
    room_id = room.get_attribute("data-room")
    room.find_element(By.TAG_NAME, "a").click()
    open_as(page, live_server, admin, f"chat/{room_id}")
    for browser in (page, other):
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "form.chat-send button:not([disabled])")
                 and d.find_element(By.ID, "conn").get_attribute("class") == "conn up", message="room open, live")
    # the subscriptions reach the server
    await wait_for_server_subscribers(live_server, "chatMessages", 2, redis_url=db.redis_url,
                                      channel=channels.chat_room(decode_id(room_id, "ChatRoom", "roomId")))
    # ... and each sees the other's message arrive live, their own marked as theirs
    for sender, reader, text in ((other, page, "我在河堤东侧"), (page, other, "收到，注意安全")):
        fill(sender, sender.find_element(By.CSS_SELECTOR, "form.chat-send"), "body", text)
        sender.find_element(By.CSS_SELECTOR, "form.chat-send button[type=submit]").click()
        wait_for(sender, lambda d, text=text: d.find_elements(By.XPATH, f"//li[contains(@class, 'mine')][contains(., '{text}')]"),
                 message="own message")
        wait_for(reader, lambda d, text=text: text in text_of(d, "ul.chat-messages"), message="live message")
        assert not reader.find_elements(By.XPATH, f"//li[contains(@class, 'mine')][contains(., '{text}')]")
    # ... the organiser mentions the volunteer through the picker ("@" offers the room's members) ...
    composer = page.find_element(By.CSS_SELECTOR, "form.chat-send")
    composer.find_element(By.NAME, "body").send_keys("@到")
    offered = wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, "ul.chat-mentions button[data-mention]"), message="picker")
    audit = AXE.exists()  # the controls only some see, open, at phone width: nothing serious
    assert not audit or axe_problems(page) == []
    offered[0].click()
    assert composer.find_element(By.NAME, "body").get_attribute("value") == "@到场的人 "
    composer.find_element(By.NAME, "body").send_keys("请拍照回传<b>!</b>")
    fill(page, composer, "photos", "https://img.example.cn/dike.jpg")
    composer.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # ... who is notified, sees it highlighted with its photo link (escaped, a link only)
    wait_for(other, lambda d: d.find_elements(By.XPATH, "//li[contains(@class, 'urgent')][contains(., '请拍照回传')]//a[@href='https://img.example.cn/dike.jpg']"),
             message="mention highlighted, photo linked")
    assert await Notification.filter(volunteer_id=present.id, kind="CHAT_MENTION").count() == 1
    assert "请拍照回传<b>!</b>" in text_of(other, "li.urgent") and not other.find_elements(By.CSS_SELECTOR, "li.urgent b")  # text, not markup
    # ... then mutes them from their message: their open composer says until when and is blocked ...
    said = "//li[@data-id][contains(., '我在河堤东侧')]"
    page.find_element(By.XPATH, f"{said}//button[@data-action='mute']").click()
    fill(page, page.find_element(By.CSS_SELECTOR, "form.chat-moderate"), "reason", "刷屏")
    assert not audit or axe_problems(page) == []
    page.find_element(By.CSS_SELECTOR, "button[data-action=confirm-mute]").click()
    wait_for(page, lambda d: "已禁言 到场的人" in text_of(d, "form.chat-send [role=alert]"), message="muted")
    wait_for(other, lambda d: d.find_elements(By.CSS_SELECTOR, "form.chat-send [data-muted]"), message="composer muted live")
    assert "你已被禁言，至" in text_of(other, "form.chat-send [data-muted]")
    assert not audit or axe_problems(other) == []
    assert other.find_element(By.CSS_SELECTOR, "form.chat-send button[type=submit]").get_attribute("disabled") is not None
    assert other.find_element(By.CSS_SELECTOR, "form.chat-send textarea").get_attribute("disabled") is not None
    # ... and deletes that message: it disappears from the volunteer's page too, live
    page.find_element(By.XPATH, f"{said}//button[@data-action='delete']").click()
    fill(page, page.find_element(By.CSS_SELECTOR, "form.chat-moderate"), "reason", "位置信息有误")
    page.find_element(By.CSS_SELECTOR, "button[data-action=confirm-delete]").click()
    wait_for(other, lambda d: "我在河堤东侧" not in text_of(d, "ul.chat-messages"), message="deleted live")
    assert "我在河堤东侧" not in text_of(page, "ul.chat-messages")

    # and a platform admin sees which station operates now and the operating rate, the one
    # below the 95 % target marked
    city = await make_volunteer("市级管理员", platform_admin=True)
    open_as(other, live_server, city, "stations")
    wait_for(other, lambda d: d.find_elements(By.CSS_SELECTOR, "table.rates")
             and "朝阳门服务站 运营中" in text_of(d, "li[data-operating=true]"), message="rates, operating now")
    other.find_element(By.CSS_SELECTOR, "#rate-by option[value=STATION]").click()
    other.find_element(By.CSS_SELECTOR, "section.panel form button[type=submit]").click()
    wait_for(other, lambda d: "望京服务站" in text_of(d, "table.rates"), message="rates by station")
    rows = {row.find_element(By.TAG_NAME, "th").text: row for row in other.find_elements(By.CSS_SELECTOR, "table.rates tbody tr")}
    assert "100%" in rows["朝阳门服务站"].text and rows["朝阳门服务站"].get_attribute("class") == ""
    assert "0%" in rows["望京服务站"].text and "未达标" in rows["望京服务站"].text
    assert rows["望京服务站"].get_attribute("class") == "below"

    # and cancelling needs a reason
    open_as(page, live_server, admin, f"manage/{to_global_id('Activity', ongoing.id)}")
    wait_for(page, lambda d: text_of(d, "[data-code]") == "8866")
    page.find_element(By.XPATH, "//details[summary[text()='取消活动']]/summary").click()
    page.find_element(By.CSS_SELECTOR, "button[data-action=cancel-activity]").click()
    wait_for(page, lambda d: text_of(d, "[data-message]") == "取消活动时请填写原因")
    fill(page, page.find_element(By.XPATH, "//details[summary[text()='取消活动']]//form"), "reason", "暴雨预警")
    page.find_element(By.CSS_SELECTOR, "button[data-action=cancel-activity]").click()
    wait_for(page, lambda d: text_of(d, "[data-message]").startswith("活动已取消"))
    assert (await Activity.get(id=ongoing.id)).status == ActivityStatus.CANCELLED


async def test_a_volunteer_learns_redeems_reads_notifications_and_prints_a_certificate(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a volunteer with 3 approved hours (30 points) plus 50 granted, a reward costing 50,
    # a first-aid course with a quiz, and an unread notification
    admin = await make_volunteer("队长", platform_admin=True)
    team = await make_team(admin, "西城助老队")
    volunteer = await make_volunteer("林小雨")
    await add_member(team, volunteer)
    record = await served(await hours_activity(team, admin, title="敬老院陪伴"), volunteer)
    await do_approve_hours(Viewer(admin), record.id)
    await grant(volunteer, 50)
    await make_item(admin, title="爱心理发券", cost=50)
    await Lesson.create(course=await make_course(admin, team), position=1, title="心肺复苏要点")
    await Notification.create(volunteer=volunteer, kind="HOURS_APPROVED", title="时长已通过", body="敬老院陪伴 3 小时")
    page, visitor = browsers

    # when they open the app, the header counts the unread notification; reading clears it
    open_as(page, live_server, volunteer, "activities")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-unread]").get_attribute("data-unread") != "0")
    page.find_element(By.CSS_SELECTOR, 'a[href="#/notifications"]').click()
    wait_for(page, lambda d: "时长已通过" in d.find_element(By.TAG_NAME, "main").text)
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "[data-unread]").get_attribute("data-unread") == "0")

    # and they enrol in the course and pass its quiz (checked by the server)
    page.get(f"{base(live_server)}/#/learn")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=enroll]")).click()
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=complete]")).click()
    wait_for(page, lambda d: d.find_element(By.XPATH, "//summary[text()='参加测验']")).click()
    for question, option in ((0, 1), (1, 0)):
        page.find_element(By.CSS_SELECTOR, f'input[name="q{question}"][value="{option}"]').click()
    page.find_element(By.CSS_SELECTOR, "form.quiz button[type=submit]").click()
    wait_for(page, lambda d: "急救员" in text_of(d, "ul.quals"), message="the qualification is listed")
    assert "有效期至" in text_of(page, "ul.quals")

    # and redeem the reward; the statement shows the running balance
    page.get(f"{base(live_server)}/#/bank")
    wait_for(page, lambda d: text_of(d, "[data-points]") == "80")
    page.find_element(By.CSS_SELECTOR, "button[data-action=redeem]").click()
    wait_for(page, lambda d: text_of(d, "[data-points]") == "30", message="balance after redeeming")
    first_row = [cell.text for cell in page.find_elements(By.CSS_SELECTOR, "table.statement tbody tr:first-child td")]
    assert first_row[2:] == ["-50", "30"], first_row
    # the approved hours' line in Chinese, not the ledger's stored "approve hours: ..."
    assert "时长通过：敬老院陪伴" in text_of(page, "table.statement"), text_of(page, "table.statement")
    # in English the server words the lines it wrote in English (the redemption's too)
    page.find_element(By.CSS_SELECTOR, "[data-testid=lang]").click()
    wait_for(page, lambda d: "Hours approved: 敬老院陪伴" in text_of(d, "table.statement"),
             message="the statement in English")
    assert "Redeemed: " in text_of(page, "table.statement") and "兑换：" not in text_of(page, "table.statement")
    page.find_element(By.CSS_SELECTOR, "[data-testid=lang]").click()
    wait_for(page, lambda d: "时长通过：敬老院陪伴" in text_of(d, "table.statement"))

    # and a platform admin adds an item to the catalogue on #/bank: a cost of 0 is refused at its
    # field, with what was typed kept and nothing written; corrected, a double click adds it once
    open_as(visitor, live_server, admin, "bank")
    form = wait_for(visitor, lambda d: d.find_element(By.CSS_SELECTOR, "[data-admin=new-item] form"))
    typed = {"title": "社区理发券", "costPoints": "0", "stock": "5", "description": "每周六上午，社区服务站"}
    for name, value in typed.items():
        fill(visitor, form, name, value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(visitor, lambda d: text_of(d, '[data-admin=new-item] [data-error-for="costPoints"]') == "“所需积分”填写有误，请检查。",
             message="the refused cost at its field")
    assert form.find_element(By.NAME, "costPoints").get_attribute("aria-invalid") == "true"
    assert {name: form.find_element(By.NAME, name).get_attribute("value") for name in typed} == typed
    assert not await RewardItem.filter(title="社区理发券").exists()
    fill(visitor, form, "costPoints", "30")
    visitor.execute_script("arguments[0].click(); arguments[0].click();", form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(visitor, lambda d: text_of(d, "[data-admin=new-item] [data-outcome]") == "已添加“社区理发券”。", message="added")
    item = await RewardItem.get(title="社区理发券")
    card = f'article[data-item="{to_global_id("RewardItem", item.id)}"]'
    # (the volunteer sees it, without the admin's controls)
    page.refresh()
    wait_for(page, lambda d: "社区理发券" in text_of(d, "#items-h + .list"), message="the volunteer sees the new item")
    assert not page.find_elements(By.CSS_SELECTOR, "[data-admin]")
    # and the admin raises its cost (the page shows 5 left)
    visitor.find_element(By.CSS_SELECTOR, f"{card} details[data-admin=item] summary").click()

    def submit(kind: str, name: str, value: str, said: str) -> None:
        edit = visitor.find_element(By.CSS_SELECTOR, f"{card} form[data-form={kind}]")
        fill(visitor, edit, name, value)
        edit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(visitor, lambda d: text_of(d, f"{card} form[data-form={kind}] [data-outcome]") == said, message=kind)

    submit("edit", "costPoints", "40", "已保存。")
    assert "库存 5" in text_of(visitor, f"{card} .meta")
    # (while the page is open, someone redeems one: 4 left, the page still says 5)
    customer = await make_volunteer("顾客")
    await grant(customer, 40)
    await api(live_server, customer, "mutation R($id: ID!) { redeem(itemId: $id) { id } }", {"id": to_global_id("RewardItem", item.id)})
    # and restocks it: 1.5 (no GraphQL Int) and 0 units are refused at the field, typed text kept,
    # nothing written
    restock = visitor.find_element(By.CSS_SELECTOR, f"{card} form[data-form=restock]")
    fill(visitor, restock, "units", "1.5")
    restock.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(visitor, lambda d: text_of(d, f'{card} form[data-form=restock] [data-error-for="units"]') == "“补货数量”须为整数。",
             message="1.5 units refused at the field")
    fill(visitor, restock, "units", "0")
    restock.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(visitor, lambda d: text_of(d, f'{card} form[data-form=restock] [data-error-for="units"]') == "“补货数量”填写有误，请检查。",
             message="0 units refused at the field")
    assert restock.find_element(By.NAME, "units").get_attribute("aria-invalid") == "true"
    assert restock.find_element(By.NAME, "units").get_attribute("value") == "0"
    # 15 units, double-clicked, are added once to what is left (4 + 15), not to what the page showed
    fill(visitor, restock, "units", "15")
    visitor.execute_script("arguments[0].click(); arguments[0].click();", restock.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(visitor, lambda d: text_of(d, f"{card} form[data-form=restock] [data-outcome]") == "已补货 15 件，现有库存 19。", message="restocked")
    assert "库存 19" in text_of(visitor, f"{card} .meta")
    assert (await RewardItem.get(id=item.id)).stock == 19
    assert await RewardItemChange.filter(item_id=item.id, action="RESTOCK").count() == 1
    # and retires it with a reason
    submit("retire", "reason", "理发师年底休假", "已下架，志愿者不再看到它。")
    assert text_of(visitor, f"{card} [data-retired]") == "已下架" and "库存 19" in text_of(visitor, f"{card} .meta")
    # and reads the item's history: added, then each edit with its reason
    visitor.find_element(By.CSS_SELECTOR, f"{card} details.history summary").click()
    history = wait_for(visitor, lambda d: [li.text for li in d.find_elements(By.CSS_SELECTOR, f"{card} ol.item-history li")] or None)
    assert len(history) == 4, history
    assert "队长 · 添加" in history[0] and "社区理发券 · 30 积分 · 库存 5" in history[0]
    assert "所需积分：30 → 40" in history[1]
    assert "队长 · 补货" in history[2] and "补货 15 件：库存 4 → 19" in history[2]
    assert "状态：在售 → 已下架" in history[3] and "原因：理发师年底休假" in history[3]
    assert await RewardItem.filter(title="社区理发券").count() == 1 and await RewardItemChange.filter(item_id=item.id).count() == 4
    # and the volunteer no longer sees it
    page.refresh()
    wait_for(page, lambda d: text_of(d, "[data-points]") == "30")
    assert "社区理发券" not in text_of(page, "main")

    # and issue a certificate, shown as a page with a link anyone can open to check it
    page.get(f"{base(live_server)}/#/me")
    wait_for(page, lambda d: d.find_element(By.XPATH, "//button[text()='开具志愿服务记录证明']")).click()
    wait_for(page, lambda d: text_of(d, "[data-cert=hours]") == "3 小时")
    # the number and its unit do not break apart
    assert page.find_element(By.CSS_SELECTOR, "[data-cert=hours]").get_attribute("textContent") == "3\u00a0小时"
    assert "敬老院陪伴 · 3 小时 已通过" in text_of(page, f'[data-record="{to_global_id("ServiceRecord", record.id)}"]')
    link = page.find_element(By.CSS_SELECTOR, "[data-cert=verify]").get_attribute("href")
    open_as(visitor, live_server, None, "activities")
    visitor.get(link)
    # the real name masked for anyone but its holder, as on the public verification page
    wait_for(visitor, lambda d: text_of(d, "[data-cert=name]") == "林**", message="verified by a visitor")
    assert text_of(visitor, "[data-cert=hours]") == "3 小时"

    # and, having served, they write about it on the activity's page, where it then shows
    open_as(page, live_server, volunteer, f"activities/{to_global_id('Activity', record.activity_id)}")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, "details.write-post summary")).click()
    form = page.find_element(By.CSS_SELECTOR, "details.write-post form")
    fill(page, form, "title", "陪老人下棋")
    fill(page, form, "body", "张爷爷棋艺很好，下次还来。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(page, lambda d: "陪老人下棋" in text_of(d, "section[aria-labelledby=exp-h] article.card"), message="posted")

    # and their feed shows their team's announcement and what they wrote
    await Announcement.create(team=team, author=admin, title="十二月志愿者大会", body="周六下午两点，社区活动室。",
                              status=AnnouncementStatus.PUBLISHED)
    page.get(f"{base(live_server)}/#/feed")
    wait_for(page, lambda d: "十二月志愿者大会" in text_of(d, 'ul.feed li[data-kind="Announcement"]'), message="feed")
    assert "陪老人下棋" in text_of(page, 'ul.feed li[data-kind="ExperiencePost"]')

    # and the public leaderboard ranks them by their approved hours (the service was this month)
    open_as(visitor, live_server, None, "honours")
    wait_for(visitor, lambda d: "林小雨 · 3 小时" in text_of(d, "ol.leaderboard"), message="leaderboard")

    # and the platform admin's dashboard draws its six charts, each with its numbers as a table
    open_as(visitor, live_server, admin, "stats")
    wait_for(visitor, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".plot[data-drawn]")) == 6, message="charts")
    assert int(text_of(visitor, "[data-stat=registered]")) >= 2
    assert visitor.find_elements(By.CSS_SELECTOR, 'table[data-chart="district"] tbody tr')
