"""Error messages in the reader's language: Accept-Language picks zh-CN or en (zh-CN when the
request names neither, unless MESSAGE_LANGUAGE says en); extensions.code never changes."""

from __future__ import annotations

import httpx
import pytest

from resolvers.messages import CATALOGUE, EN, ZH, choose_language, message_for
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import make_team, make_volunteer, token_for, unique_phone
from tests.live import LiveServer

LOGIN = "mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"
SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
CREATE_HELP = "mutation Help($input: HelpRequestInput!) { createHelpRequest(input: $input) { id } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
HELP_LIST = "query HelpList { helpRequests(first: 5) { totalCount } }"
CALL_OUT = "mutation Answer($id: ID!) { answerCallOut(id: $id, coming: true) { id } }"


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", ZH), ("en-US,en;q=0.9", EN), ("en;q=0.5, zh-TW;q=0.8", ZH),
    ("fr-FR, en;q=0.3", EN), ("zh;q=0, en;q=0.1", EN)])
def test_accept_language_picks_the_best_supported_language(header: str, expected: str) -> None:
    assert choose_language(header) == expected


def test_without_a_supported_language_the_configured_default_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSAGE_LANGUAGE", "zh-CN")
    assert choose_language(None) == ZH and choose_language("fr, de;q=0.5") == ZH
    monkeypatch.setenv("MESSAGE_LANGUAGE", "en")
    assert choose_language(None) == EN


def test_every_catalogue_entry_has_chinese_and_english_and_chinese_holds_no_latin_sentence() -> None:
    for (code, reason), (zh, en) in CATALOGUE.items():
        assert zh and en, (code, reason)
        assert not any(word in zh for word in (" the ", "Sign", "not found")), (code, reason, zh)


def test_chinese_names_the_field_and_the_missing_requirement() -> None:
    assert message_for(ZH, "BAD_USER_INPUT", {"field": "input.title"}, "title is required.") == "“标题”填写有误，请检查。"
    assert message_for(ZH, "FORBIDDEN", {"reason": "NOT_QUALIFIED", "requirement": {
        "kind": "QUALIFICATION", "qualification": "急救证"}}, "needs 急救证") == "报名需要有效的资质：急救证。"
    assert message_for(ZH, "NOT_FOUND", {}, "Activity not found.", "Activity") == "找不到该活动。"
    assert message_for(EN, "NOT_FOUND", {}, "Activity not found.", "Activity") == "Activity not found."


async def post(server: LiveServer, query: str, variables: dict, language: str | None, token: str | None = None
               ) -> dict:
    headers = {"Accept-Language": language} if language else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(server.url, json={"query": query, "variables": variables}, headers=headers)
    return answer.json()["errors"][0]


async def test_the_same_refusals_are_said_in_chinese_or_english_with_the_same_code(live_server: LiveServer) -> None:
    # given a full activity, a volunteer, and requests that will be refused
    organiser = await make_volunteer("组织者")
    activity = await make_activity(await make_team(organiser), organiser, capacity=1, waitlist_limit=0)
    first, late = await make_volunteer("先到"), await make_volunteer("后到")
    activity_id = to_global_id("Activity", activity.id)
    async with httpx.AsyncClient(timeout=30) as client:
        taken = await client.post(live_server.url, json={"query": SIGN_UP, "variables": {"id": activity_id}},
                                  headers={"Authorization": f"Bearer {token_for(first)}"})
    assert taken.json()["data"]["signUp"]["status"] == "CONFIRMED"
    cases = [
        (LOGIN, {"phone": unique_phone(), "password": "wrong-password-1"}, None,
         "UNAUTHENTICATED", "手机号或密码不正确。", "Wrong phone number or password."),
        (SIGN_UP, {"id": activity_id}, token_for(late), "CONFLICT", "名额和候补都已满。",
         "This activity and its waitlist are full."),
        (CREATE_HELP, {"input": {"title": " ", "description": "五楼", "district": "朝阳区"}}, token_for(late),
         "BAD_USER_INPUT", "“标题”填写有误，请检查。", None),
        (CALL_OUT, {"id": to_global_id("CallOut", 999999)}, token_for(late), "NOT_FOUND", "找不到该召集。", None),
        (CREATE_HELP, {"input": {"title": "求助", "description": "五楼", "district": "朝阳区"}}, None,
         "UNAUTHENTICATED", "请先登录。", "Sign in first."),
        (HELP_LIST, {}, None, "UNAUTHENTICATED", "请先登录。", "Sign in first."),  # a read: the prepared edge's path
    ]
    for query, variables, token, code, chinese, english in cases:
        # when asked in Chinese, in English, and without saying (the tests' MESSAGE_LANGUAGE is en)
        zh = await post(live_server, query, variables, "zh-CN,zh;q=0.9", token)
        en = await post(live_server, query, variables, "en-GB,en;q=0.9", token)
        unsaid = await post(live_server, query, variables, None, token)
        # then the code is the same and only the message's language differs
        assert zh["extensions"]["code"] == en["extensions"]["code"] == unsaid["extensions"]["code"] == code
        assert zh["message"] == chinese, zh
        assert en["message"] == (english or en["message"]) and en["message"] == unsaid["message"]
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in en["message"]), en
