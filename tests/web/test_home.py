"""The home page the server draws for a visitor (schema/home_http.py): the same markup as the
client's, the answer it came from, and drawn again whenever a row the list shows changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from graphql import parse

from models.activity import ActivityStatus
from resolvers.activity import ActivityFilter, list_activities
from resolvers.auth import Viewer
from schema import home_http
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import count_statements, make_team, make_volunteer, token_for
from tests.live import LiveServer
from tests.web.browser import wait_for

pytestmark = pytest.mark.e2e

SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"


class Canonical(HTMLParser):
    """Elements with their attributes sorted and text merged: two drawings compare equal when a
    browser would build the same tree from them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag} {sorted((k, v or '') for k, v in attrs)}>")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.out and self.out[-1].startswith("text:"):
            self.out[-1] += data
        else:
            self.out.append(f"text:{data}")


def canonical(markup: str) -> list[str]:
    parser = Canonical()
    parser.feed(markup)
    parser.close()
    return [part for part in parser.out if part != "text:"]


def inner(page: str, tag: str) -> str:
    found = re.search(rf'<{tag} id="(?:top|main)"[^>]*>(.*?)</{tag}>', page, re.S)
    assert found, tag
    return found.group(1)


def test_the_fingerprint_reads_every_field_the_list_shows() -> None:
    # given the list document the page is drawn from (index.html's, the client's LIST)
    operation: Any = parse(home_http.sources().query).definitions[0]
    edges = next(s for s in operation.selection_set.selections[0].selection_set.selections
                 if s.name.value == "edges")
    nodes = edges.selection_set.selections[0].selection_set.selections
    # then every field it selects names the columns it comes from, and nothing else is listed
    assert {field.name.value for field in nodes} == set(home_http.FINGERPRINT)


async def test_the_fingerprint_reads_the_lists_own_rows_in_one_statement(db) -> None:
    # given published activities to come, a draft, a cancelled one and one that has started
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser)
    shown = [await make_activity(team, organiser, title=f"将来{i}", starts_in=timedelta(days=i + 1)) for i in range(3)]
    await make_activity(team, organiser, title="草稿", status=ActivityStatus.DRAFT)
    await make_activity(team, organiser, title="取消", status=ActivityStatus.CANCELLED)
    await make_activity(team, organiser, title="已开始", starts_in=timedelta(hours=-1))
    now = datetime.now(UTC)
    # when the page reads its fingerprint
    with count_statements() as statements:
        total, rows = await home_http.fingerprint(now)
    # then it is the list's rule (a visitor's published, not started activities, soonest first),
    # every column the page shows, in one statement
    rule = await list_activities(Viewer(), ActivityFilter(status=ActivityStatus.PUBLISHED, starts_after=now))
    expected = await rule.order_by("starts_at", "id").limit(home_http.FIRST).values_list("id", flat=True)
    assert (total, [row[home_http.COLUMNS.index("id")] for row in rows]) == (3, expected)
    assert expected == [a.id for a in shown] and len(rows[0]) == len(home_http.COLUMNS)
    assert len(statements) == 1


async def test_the_page_is_drawn_again_when_a_count_changes_and_a_reader_gets_their_own_state_over_it(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given an activity with 5 places, shown on the drawn home page
    organiser = await make_volunteer("组织者")
    activity = await make_activity(await make_team(organiser), organiser, title="绘制测试", capacity=5,
                                   waitlist_limit=0)
    root = live_server.url.removesuffix("/graphql")
    async with httpx.AsyncClient() as client:
        first = await client.get(f"{root}/")
        again = await client.get(f"{root}/", headers={"If-None-Match": first.headers["etag"]})
        # when a volunteer signs up through the API
        answer = await client.post(live_server.url, json={
            "query": SIGN_UP, "variables": {"id": to_global_id("Activity", activity.id)}},
            headers={"Authorization": f"Bearer {token_for(await make_volunteer('报名者'))}"})
        assert answer.json()["data"]["signUp"]["status"] == "CONFIRMED"
        after = await client.get(f"{root}/", headers={"If-None-Match": first.headers["etag"]})
    # then the unchanged page was not sent again, and the changed one is drawn with the new count
    assert 'data-drawn' in first.text and "剩余 5 / 5" in first.text
    assert again.status_code == 304
    assert after.status_code == 200 and "剩余 4 / 5" in after.text and "剩余 5 / 5" not in after.text
    assert after.headers["cache-control"] == "no-cache"

    # and a signed-in reader who signed up keeps the drawing, with their own state laid over it
    page = browsers[0]
    card = f'article.card[data-id="{to_global_id("Activity", activity.id)}"]'
    seen = _read_as(page, root, token_for(await _signed_up(live_server, activity.id)), card)
    assert seen["button"] == "取消报名" and seen["badge"] == "已报名"
    assert seen["marks"] == ["tx:list-hydrated", "tx:list-painted", "tx:own-painted"]
    assert "我的" in seen["nav"] and "退出" in seen["nav"] and "登录" not in seen["nav"]
    assert seen["classes"] == "" and seen["hidden"] == "visible"

    # and a reader whose session has ended keeps the visitor's drawing, signed out, not an error
    ended = _read_as(page, root, "not-a-session", card)
    assert ended["button"] == "报名" and ended["badge"] is None and "登录" in ended["nav"]
    assert ended["token"] is None and ended["classes"] == "" and ended["hidden"] == "visible"


def _read_as(page: Any, root: str, token: str, card: str) -> dict[str, Any]:
    """The home page opened with `token` as the session, once the reader's own answer is in."""
    page.get(f"{root}/healthz")
    page.execute_script("localStorage.clear(); localStorage.setItem('tx.token', arguments[0]);", token)
    page.get(f"{root}/")
    wait_for(page, lambda d: d.execute_script("return !document.documentElement.className"
                                              " && performance.getEntriesByName('tx:route').length"),
             message="the reader's own state in")
    return page.execute_script(
        "const card = document.querySelector(arguments[0]);"
        "return { button: card.querySelector('button.primary').textContent,"
        "  badge: card.querySelector('.badge.state')?.textContent ?? null,"
        "  marks: ['tx:list-hydrated', 'tx:list-painted', 'tx:own-painted']"
        "    .filter((name) => performance.getEntriesByName(name).length),"
        "  nav: document.querySelector('header nav').textContent,"
        "  classes: document.documentElement.className, token: localStorage.getItem('tx.token'),"
        "  hidden: getComputedStyle(card.querySelector('.actions')).visibility };", card)


async def _signed_up(live_server: LiveServer, activity_id: int) -> Any:
    person = await make_volunteer("已报名的人")
    async with httpx.AsyncClient() as client:
        await client.post(live_server.url, json={
            "query": SIGN_UP, "variables": {"id": to_global_id("Activity", activity_id)}},
            headers={"Authorization": f"Bearer {token_for(person)}"})
    return person


async def _visit_drawn(live_server: LiveServer, page: Any) -> tuple[Any, str]:
    """The home page as the server draws it for a visitor, and the same page opened by a
    visitor's browser once the client has taken the drawing over."""
    root = live_server.url.removesuffix("/graphql")
    async with httpx.AsyncClient() as client:
        drawn = (await client.get(f"{root}/")).text
    page.get(f"{root}/healthz")
    page.execute_script("localStorage.clear()")
    page.get(f"{root}/")
    wait_for(page, lambda d: d.execute_script("return performance.getEntriesByName('tx:list-hydrated').length"),
             message="hydrated")
    return page, drawn


async def test_the_servers_drawing_is_the_clients_node_for_node(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a series of three shifts (one card), a full activity, a title that needs escaping, one
    # without an address or a waitlist, and more cards than the server draws
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser, "绘制队")
    for day in range(3):
        await make_activity(team, organiser, title="早班助餐", address="朝阳区幸福街 1 号",
                            starts_in=timedelta(days=2 + day))
    full = await make_activity(team, organiser, title='满员 <b>"讲座"</b> & 茶话', capacity=1, waitlist_limit=3,
                               address="海淀区 2 号", starts_in=timedelta(days=1))
    await _signed_up(live_server, full.id)
    await make_activity(team, organiser, title="无地址", waitlist_limit=0, starts_in=timedelta(hours=30),
                        length=timedelta(minutes=90))
    for index in range(home_http.DRAWN_CARDS + 2):
        await make_activity(team, organiser, title=f"其他活动{index}", address=f"某地{index}",
                            starts_in=timedelta(days=6, hours=index))
    # when a visitor's browser opens it and the client takes the drawing over
    page, drawn = await _visit_drawn(live_server, browsers[0])
    header, main, cards = page.execute_script(
        "const main = document.getElementById('main').cloneNode(true);"
        "const all = main.querySelectorAll('article.card');"
        "all.forEach((card, i) => { if (i >= arguments[0]) card.remove(); });"
        "return [document.getElementById('top').innerHTML, main.innerHTML, all.length];", home_http.DRAWN_CARDS)

    # then the client drew every card and the server's drawing matches its first screen exactly
    assert cards == 3 + home_http.DRAWN_CARDS + 2  # the series, the full one, the bare one, the others
    assert canonical(inner(drawn, "header")) == canonical(header)
    assert canonical(inner(drawn, "main")) == canonical(main)
    assert '满员 &lt;b&gt;&quot;讲座&quot;&lt;/b&gt; &amp; 茶话' in drawn and "is-full" in drawn
    assert "另有 2 个班次" in drawn


async def test_a_visitor_filters_the_drawn_list_and_a_choice_not_yet_applied_survives_closing_the_panel(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given activities in two districts, on the page the server drew (its filter panel is empty
    # until it opens: the form is the client's)
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser, "筛选队")
    here = await make_activity(team, organiser, title="朝阳的活动", district="朝阳区")
    there = await make_activity(team, organiser, title="海淀的活动", district="海淀区")
    page, drawn = await _visit_drawn(live_server, browsers[0])
    assert '<details class="filter-panel"><summary>筛选</summary></details>' in drawn

    # when the visitor opens 筛选, picks 海淀区, closes and reopens the panel, then applies it
    summary = page.find_element("css selector", "details.filter-panel summary")
    summary.click()
    district = wait_for(page, lambda d: d.find_element("id", "flt-district"), message="the filter form")
    page.execute_script("arguments[0].value = '海淀区'", district)
    summary.click()
    summary.click()
    kept = page.find_element("id", "flt-district").get_attribute("value")
    page.find_element("css selector", "form.filters button[type=submit]").click()

    # then the choice was kept, and only the 海淀区 activity is listed
    assert kept == "海淀区"
    ids = {str(a.id): to_global_id("Activity", a.id) for a in (here, there)}
    wait_for(page, lambda d: [c.get_attribute("data-id") for c in d.find_elements("css selector", "article.card")]
             == [ids[str(there.id)]], message="the filtered list")
    assert page.find_element("css selector", "p.count").text == "共 1 个活动"


async def test_an_english_reader_and_another_route_never_keep_the_chinese_drawing(
        live_server: LiveServer, browsers: list[Any]) -> None:
    # given a published activity (so the server draws a card)
    organiser = await make_volunteer("组织者")
    activity = await make_activity(await make_team(organiser), organiser, title="英文读者")
    root = live_server.url.removesuffix("/graphql")
    card = f'article.card[data-id="{to_global_id("Activity", activity.id)}"]'
    page = browsers[0]
    page.get(f"{root}/healthz")
    page.execute_script("localStorage.clear(); localStorage.setItem('tx.lang', 'en');")

    # when an English reader opens the home page, then (in Chinese) the help page
    page.get(f"{root}/")
    wait_for(page, lambda d: d.find_element("css selector", f"{card} button.primary").text == "Sign up",
             message="the English list")
    english = (page.find_element("css selector", "header nav").text,
               page.execute_script("return !!document.getElementById('tx-list')"))
    page.execute_script("localStorage.setItem('tx.lang', 'zh');")
    page.get(f"{root}/#/help")
    wait_for(page, lambda d: d.execute_script("return performance.getEntriesByName('tx:view-loaded').length"))

    # then the header and the list were drawn in English by the client, the drawn answer dropped,
    # and the help page shows no card of the drawn list
    assert "Activities" in english[0] and "活动" not in english[0] and english[1] is False
    assert not page.find_elements("css selector", "main article.card")
    assert page.find_element("css selector", 'header a[aria-current="page"]').get_attribute("href").endswith("#/help")


async def test_the_page_drawn_at_start_up_is_the_first_visitors(db, monkeypatch) -> None:
    # given a published activity, and a worker that drew the page as it started (server.py)
    organiser = await make_volunteer("组织者")
    await make_activity(await make_team(organiser), organiser, title="开机就画好的活动")
    monkeypatch.setattr(home_http, "_page", None)
    await home_http.warm()
    drawings = []
    real = home_http._answer

    async def counted(query: str, now: Any) -> Any:
        drawings.append(query)
        return await real(query, now)

    monkeypatch.setattr(home_http, "_answer", counted)
    # when the first visitor asks for it
    page = await home_http.drawn_page()
    # then it is the drawing made at start-up, with the activity, and nothing was drawn again
    assert page is not None and "开机就画好的活动" in page.body.decode()
    assert drawings == []
