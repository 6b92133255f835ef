"""The reference web client in a real headless Chromium against a real server.

Two independent browsers (own profiles) play two people; the API plays everyone else.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from models.volunteer import Volunteer
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.forum.common import make_board, open_thread, write_reply
from tests.helpers import make_team, make_volunteer, token_for, unique_id_number, unique_phone
from tests.live import LiveServer
from tests.web.browser import wait_for

pytestmark = pytest.mark.e2e

SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"


def base(server: LiveServer) -> str:
    return server.url.removesuffix("/graphql")


def open_as(driver: Any, server: LiveServer, person: Volunteer | None, route: str) -> None:
    """Open the app at a route, signed in as the person (or signed out)."""
    driver.get(f"{base(server)}/healthz")
    driver.execute_script("localStorage.clear();" + (
        f"localStorage.setItem('tx.token', {token_for(person)!r});" if person else ""))
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
    assert await Volunteer.filter(phone=phone).count() == 1


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

    # when the moderator hides it from the page
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

    # and when the moderator restores it, it comes back in its place, still without a reload
    restore = mod_page.find_element(By.CSS_SELECTOR, f'{post_css} button[data-moderate="RESTORE"]')
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
