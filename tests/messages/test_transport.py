"""Transport refusals in the reader's language: what /graphql and the WebSocket answer before
(or instead of) running an operation takes zh-CN and en from the one catalogue, chosen by
Accept-Language (the WebSocket upgrade's for a socket), with extensions.code and the HTTP
status unchanged. Which entries must exist is read from the code, not kept by hand."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.testclient import TestClient
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

import forum
import resolvers
from resolvers.errors import DomainError
from resolvers.messages import (
    CATALOGUE,
    EN,
    LEDGER_REASONS,
    LIBRARY_REFUSALS,
    ZH,
    library_refusal,
)
from schema import schema
from schema.exports_http import ROUTES as EXPORT_ROUTES
from schema.persisted import PersistedDocuments, sha256_hex
from schema.prepared_edge import PreparedRequests
from schema.view import BodySizeLimit, TongxinGraphQL

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("schema/**/*.py"), *ROOT.glob("resolvers/*.py"), *ROOT.glob("forum/*.py")])
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
BOARDS = "{ boards { slug } }"
MAX_BYTES = 2000


def _module_constants(trees: list[ast.Module]) -> dict[str, str]:
    """Module-level NAME = "text" assignments of every source (NOT_FOUND, NOT_IN_LIST…)."""
    constants: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str):
                constants.update({target.id: node.value.value for target in node.targets
                                  if isinstance(target, ast.Name)})
    return constants


def _calls(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            yield name, node


def refusals_in_code() -> tuple[set[tuple[str, str | None]], set[str]]:
    """(code, reason) of every refusal worded from the catalogue in schema/, resolvers/ and
    forum/: graphql_error_response, refusal, Refusal and DocumentRefused calls with literal
    (or module-constant) codes; and the ledger keys ledger_note is called with."""
    trees = [ast.parse(path.read_text(), str(path)) for path in SOURCES]
    constants = _module_constants(trees)

    def text(node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    keys: set[tuple[str, str | None]] = set()
    ledger: set[str] = set()
    for tree in trees:
        for name, call in _calls(tree):
            args = [*call.args, *(None,) * 3]
            keywords = {keyword.arg: keyword.value for keyword in call.keywords}
            if name == "graphql_error_response" and text(args[1]) is not None:
                keys.add((text(args[1]), text(keywords.get("reason"))))  # type: ignore[arg-type]
            elif name == "refusal" and text(args[1]) is not None:
                keys.add((text(args[1]), text(args[2] or keywords.get("reason"))))  # type: ignore[arg-type]
            elif name == "Refusal" and text(args[0]) is not None:
                keys.add(("BAD_USER_INPUT", text(args[0])))
            elif name == "DocumentRefused" and text(args[0]) is not None:
                keys.add((text(args[0]), text(args[1])))  # type: ignore[arg-type]
            elif name == "ledger_note" and args[0] is not None:
                first = args[0]
                if isinstance(first, ast.JoinedStr):  # f"HOURS_{action}": its literal start
                    first = first.values[0]
                ledger.add(text(first) or "")
    return keys, ledger


def domain_errors() -> dict[str, str]:
    """Every DomainError class (resolvers/ and forum/ imported) by name: its code."""
    for package in (resolvers, forum):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: dict[str, str] = {}
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls.code
        pending.extend(cls.__subclasses__())
    return found


def domain_error_reasons() -> set[tuple[str, str]]:
    """(code, reason) of every DomainError raised with a literal reason= in the sources."""
    classes = domain_errors()
    found: set[tuple[str, str]] = set()
    for path in SOURCES:
        for name, call in _calls(ast.parse(path.read_text())):
            reason = next((keyword.value for keyword in call.keywords if keyword.arg == "reason"), None)
            if name in classes and isinstance(reason, ast.Constant) and isinstance(reason.value, str):
                found.add((classes[name], reason.value))
    return found


def strawberry_refusals() -> set[str]:
    """Every literal reason strawberry's HTTP layer raises, and its operation-type ones."""
    reasons = {CannotGetOperationTypeError(None).as_http_error_reason(),
               CannotGetOperationTypeError("Missing").as_http_error_reason()}
    reasons |= {InvalidOperationTypeError(kind).as_http_error_reason(method)
                for kind in OperationType for method in ("GET", "POST")}
    for path in Path(strawberry.__file__).parent.joinpath("http").glob("*.py"):
        for name, call in _calls(ast.parse(path.read_text())):
            if name == "HTTPException" and len(call.args) == 2 and \
                    isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
                reasons.add(call.args[1].value)
    return reasons


def assert_both_languages(code: str, reason: str | None) -> None:
    assert (code, reason) in CATALOGUE, f"resolvers/messages.py CATALOGUE lacks {(code, reason)}"
    zh, en = CATALOGUE[(code, reason)]
    assert CJK.search(zh), (code, reason, zh)
    assert en.strip() and not CJK.search(en), (code, reason, en)
    assert set(PLACEHOLDER.findall(zh)) == set(PLACEHOLDER.findall(en)), (code, reason)


def test_every_refusal_the_code_words_has_chinese_and_english():
    keys, _ = refusals_in_code()
    assert len(keys) >= 10, keys  # the walk found the view's, the persisted documents' and the socket's
    for code, reason in sorted(keys, key=str):
        assert_both_languages(code, reason)


def test_every_domain_error_code_and_reason_has_chinese_and_english():
    codes = set(domain_errors().values())
    assert {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "BAD_USER_INPUT"} <= codes
    for code in sorted(codes):
        assert_both_languages(code, None)
    reasons = domain_error_reasons()
    assert ("CONFLICT", "FULL") in reasons and len(reasons) >= 20, reasons
    for code, reason in sorted(reasons):
        assert_both_languages(code, reason)


def test_every_refusal_of_strawberrys_own_is_matched_in_chinese():
    mapped = {reason for _, reason in LIBRARY_REFUSALS}
    for reason in mapped:
        assert_both_languages("BAD_USER_INPUT", reason)
    for original in sorted(strawberry_refusals()):
        worded = library_refusal(ZH, original)
        assert worded != CATALOGUE[("BAD_USER_INPUT", "BAD_REQUEST")][0], \
            f"add strawberry's {original!r} to LIBRARY_REFUSALS"
        assert library_refusal(EN, original) == original


def test_every_ledger_reason_the_server_writes_reads_back_in_both_languages():
    _, used = refusals_in_code()
    assert len(used) >= 5, used
    for key in used:
        assert any(name.startswith(key) for name in LEDGER_REASONS), key
    for key, (stored, zh, en) in LEDGER_REASONS.items():
        assert CJK.search(zh) and not CJK.search(en.replace("{title}", "")), key
        assert set(PLACEHOLDER.findall(stored)) == set(PLACEHOLDER.findall(zh)) == \
            set(PLACEHOLDER.findall(en)), key


# --- behaviour: in-process requests against the endpoint as served ---------------------------


@pytest.fixture
def chinese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's default (the suite runs with MESSAGE_LANGUAGE=en)."""
    monkeypatch.setenv("MESSAGE_LANGUAGE", "zh-CN")


def endpoint(documents: PersistedDocuments | None = None) -> httpx.AsyncClient:
    """/graphql as server.py stacks it: body limit, prepared edge, the view."""
    view = TongxinGraphQL(schema, documents=documents or PersistedDocuments())
    app = BodySizeLimit(PreparedRequests(view, graphql_app=view), max_bytes=MAX_BYTES)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)),
                             base_url="http://t")


LANGUAGES = [pytest.param({}, ZH, id="default-zh"), pytest.param({"accept-language": "en"}, EN, id="en")]


def only_error(response: httpx.Response) -> dict:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
async def test_a_body_too_large_is_refused_in_the_readers_language(chinese_by_default, headers, language):
    # given
    body = {"query": BOARDS, "variables": {"padding": "x" * MAX_BYTES}}
    async with endpoint() as client:
        # when
        response = await client.post("/graphql", json=body, headers=headers)
    # then: same status and code either way
    assert response.status_code == 413
    error = only_error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == {ZH: f"请求内容过大：最多 {MAX_BYTES} 字节。",
                                EN: f"Request body larger than {MAX_BYTES} bytes."}[language]


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
async def test_a_body_that_is_not_json_or_not_a_supported_type_is_refused_in_the_readers_language(
        chinese_by_default, headers, language):
    async with endpoint() as client:
        # when: broken JSON, then strawberry's own refusal of a content type
        broken = await client.post("/graphql", content=b'{"query": ',
                                   headers={**headers, "content-type": "application/json"})
        plain = await client.post("/graphql", content=b"{ boards { slug } }",
                                  headers={**headers, "content-type": "text/plain"})
    # then
    assert (broken.status_code, plain.status_code) == (400, 400)
    assert only_error(broken)["extensions"] == only_error(plain)["extensions"] == {"code": "BAD_USER_INPUT"}
    assert only_error(broken)["message"] == {ZH: "请求内容不是有效的 JSON。",
                                             EN: "Unable to parse request body as JSON."}[language]
    assert only_error(plain)["message"] == {ZH: "不支持这种请求内容类型，请用 application/json 发送。",
                                            EN: "Unsupported content type"}[language]


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
async def test_a_bad_persisted_hash_is_refused_in_the_readers_language(chinese_by_default, headers,
                                                                        language):
    # given: a hash that is not its text's, and a server that runs only its manifest
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex("{ me { id } }")}}
    async with endpoint() as client:
        # when
        mismatch = await client.post("/graphql", json={"query": BOARDS, "extensions": wrong},
                                     headers=headers)
        unknown = await client.post("/graphql", json={"extensions": wrong}, headers=headers)
    async with endpoint(PersistedDocuments({sha256_hex(BOARDS): BOARDS})) as trusted:
        not_listed = await trusted.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    # then
    assert only_error(mismatch)["extensions"] == {"code": "BAD_USER_INPUT"}
    assert only_error(mismatch)["message"] == {ZH: "查询原文与所给的哈希不符。",
                                               EN: "The query is not the document of that hash."}[language]
    assert only_error(not_listed) == {"message": {ZH: "这个查询不在本服务器允许的列表中。",
                                                  EN: "Only trusted documents run here."}[language],
                                      "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"}}
    # the one word urql's and Apollo's links resend the text on, in every language
    assert only_error(unknown) == {"message": "PersistedQueryNotFound",
                                   "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
async def test_a_refused_token_is_answered_401_in_the_readers_language(chinese_by_default, headers, language):
    async with endpoint() as client:
        response = await client.post("/graphql", json={"query": BOARDS},
                                     headers={**headers, "authorization": "Bearer forged"})
    assert response.status_code == 401
    error = only_error(response)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert bool(CJK.search(error["message"])) == (language == ZH), error


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
def test_a_refused_websocket_init_is_worded_in_the_upgrades_language(chinese_by_default, headers, language):
    # given
    client = TestClient(TongxinGraphQL(schema))
    # when: graphql-transport-ws closes 4403, graphql-ws sends connection_error
    with client.websocket_connect("/", subprotocols=["graphql-transport-ws"], headers=dict(headers)) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
        closed = ws.receive()
    with client.websocket_connect("/", subprotocols=["graphql-ws"], headers=dict(headers)) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authToken": "forged"}})
        legacy = ws.receive_json()
    # then
    assert closed["type"] == "websocket.close" and closed["code"] == 4403
    assert legacy["type"] == "connection_error" and legacy["payload"]["code"] == "UNAUTHENTICATED"
    for message in (closed["reason"], legacy["payload"]["message"]):
        assert bool(CJK.search(message)) == (language == ZH), message
    assert closed["reason"] == legacy["payload"]["message"]


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
def test_an_untrusted_document_over_websocket_is_refused_in_the_upgrades_language(
        chinese_by_default, headers, language):
    view = TongxinGraphQL(schema, documents=PersistedDocuments({sha256_hex(BOARDS): BOARDS}))
    with TestClient(view).websocket_connect("/", subprotocols=["graphql-transport-ws"],
                                            headers=dict(headers)) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "subscription { callOuts { id } }"}})
        refused = ws.receive_json()
    assert refused == {"id": "1", "type": "error", "payload": [{
        "message": {ZH: "这个查询不在本服务器允许的列表中。", EN: "Only trusted documents run here."}[language],
        "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"}}]}


def test_a_browser_states_its_language_in_connection_init():
    """A browser sets no header on a WebSocket: the web client (web/js/ws.js) sends the page's
    language in connection_init's params, which win over the upgrade's header."""
    client = TestClient(TongxinGraphQL(schema))
    with client.websocket_connect("/", subprotocols=["graphql-transport-ws"],
                                  headers={"accept-language": "en"}) as ws:
        ws.send_json({"type": "connection_init", "payload": {
            "Accept-Language": "zh-CN", "Authorization": "Bearer forged"}})
        closed = ws.receive()
    assert closed["code"] == 4403 and CJK.search(closed["reason"]), closed


@pytest.mark.parametrize(("headers", "language"), LANGUAGES)
async def test_a_refused_download_is_worded_in_the_readers_language(chinese_by_default, headers, language):
    # given: the streaming exports, asked without a token
    app = Starlette(routes=EXPORT_ROUTES)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        # when
        response = await client.get("/teams/VGVhbTox/hours.csv", headers=headers)
    # then
    assert response.status_code == 401
    assert only_error(response) == {"message": {ZH: "请先登录。", EN: "Sign in first."}[language],
                                    "extensions": {"code": "UNAUTHENTICATED"}}
