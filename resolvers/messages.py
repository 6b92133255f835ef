"""The one catalogue of error messages people read, in Chinese and English.

Keyed by the API's stable `extensions.code` and, where the code has them, `extensions.reason`
(or the requirement's `kind`); `extensions.field` names the input in Chinese. schema/errors.py
picks the language per request from `Accept-Language` (`choose_language`), falling back to
MESSAGE_LANGUAGE (zh-CN unless configured). In English the rule's own message is kept (it is
the more specific one and what existing clients read); in Chinese the message comes from here,
so a Chinese page never shows an English sentence. `extensions.code` never changes.

Transport refusals (a body too large, not JSON, a persisted-query hash refused, a token
refused before any operation ran, a WebSocket's connection_init refused) take both languages
from here (`refusal`), chosen the same way from the request's (or the WebSocket upgrade's)
Accept-Language; strawberry's own HTTP refusals are matched by their wording
(LIBRARY_REFUSALS). The points ledger's server-written reasons are said in the reader's
language at read time (LEDGER_REASONS). tests/messages/test_transport.py derives from the
code which entries must exist.
"""

from __future__ import annotations

import os
import re
from typing import Any

ZH = "zh-CN"
EN = "en"

# (code, reason) -> (Chinese, English). reason None is the code's general message.
CATALOGUE: dict[tuple[str, str | None], tuple[str, str]] = {
    ("UNAUTHENTICATED", None): ("请先登录。", "Sign in first."),
    ("UNAUTHENTICATED", "BAD_CREDENTIALS"): ("手机号或密码不正确。", "Wrong phone number or password."),
    ("UNAUTHENTICATED", "PENDING_CONSENT"): (
        "该账号由导入创建，请先认领账号。",
        "This account was imported; claim it first."),
    ("FORBIDDEN", None): ("你没有权限进行这个操作。", "You are not allowed to do that."),
    ("FORBIDDEN", "NOT_QUALIFIED"): (
        "你不符合这个活动的报名条件。",
        "You do not meet this activity's requirements."),
    ("FORBIDDEN", "QUALIFICATION"): (
        "报名需要有效的资质：{qualification}。",
        "This activity needs the qualification {qualification}."),
    ("FORBIDDEN", "MINIMUM_AGE"): (
        "报名需年满 {minimumAge} 岁（以活动开始日计）。",
        "This activity needs volunteers aged {minimumAge} or over."),
    ("NOT_FOUND", None): ("找不到{what}。", "{what} not found."),
    ("BAD_USER_INPUT", None): ("填写的内容有误，请检查。", "Please check what you entered."),
    ("BAD_USER_INPUT", "FIELD"): ("“{field}”填写有误，请检查。", "Please check {field}."),
    ("BAD_USER_INPUT", "TOO_LARGE"): ("文件太大：最多 {maxMegabytes} MB。", "The file is too large."),
    ("CONFLICT", None): ("操作与当前状态冲突，请刷新后重试。", "That conflicts with the current state."),
    ("CONFLICT", "FULL"): ("名额和候补都已满。", "This activity and its waitlist are full."),
    ("CONFLICT", "OVERLAP"): ("与你已报名的活动时间冲突。", "This overlaps an activity you signed up for."),
    ("CONFLICT", "DEADLINE_PASSED"): ("报名已截止。", "The sign-up deadline has passed."),
    ("CONFLICT", "NOT_OPEN"): ("该活动当前不接受报名。", "This activity does not take sign-ups now."),
    ("CONFLICT", "RETRY"): ("人太多了，请再试一次。", "Busy; please try again."),
    ("CONFLICT", "NO_HOURS"): (
        "你还没有已认证的志愿时长，暂不能开具证明。",
        "You have no approved service hours to certify yet."),
    ("CONFLICT", "OUT_OF_STOCK"): ("该礼品已兑完。", "This reward is out of stock."),
    ("CONFLICT", "INSUFFICIENT_POINTS"): ("积分不足。", "Not enough points."),
    ("CONFLICT", "STOCK_LIMIT"): (
        "补货后库存将超过上限 {stockMax} 件，请减少补货数量。",
        "That many units would take the stock past its limit of {stockMax}."),
    ("CONFLICT", "NOT_ENROLLED"): ("请先报名这门课程。", "Enrol in the course first."),
    ("CONFLICT", "NOT_A_QUIZ"): ("这一课没有测验。", "This lesson has no quiz."),
    ("CONFLICT", "IS_A_QUIZ"): ("这一课需要通过测验完成。", "This lesson is completed by its quiz."),
    ("CONFLICT", "COURSE_NOT_COMPLETED"): ("请先学完课程。", "Complete the course first."),
    ("CONFLICT", "NOT_CONFIRMED"): (
        "只有已确认的名额才能转让。", "Only a confirmed place can be handed over."),
    ("CONFLICT", "CHECKED_IN"): ("你已经签到了。", "You have already checked in."),
    ("CONFLICT", "SELF"): ("不能把名额转给自己。", "You cannot hand a place to yourself."),
    ("CONFLICT", "HAS_PLACE"): ("已经有这个活动的名额了。", "Already has a place on this activity."),
    ("CONFLICT", "ALREADY_OFFERED"): (
        "这个名额已在转让中，请先撤回那次转让。",
        "This place is already offered; withdraw that offer first."),
    ("CONFLICT", "TAKEN"): ("这次转让已被他人接受或已结束。", "This hand-over is no longer open."),
    ("CONFLICT", "NOT_AWAITING"): (
        "这次转让不在待审批状态。", "This hand-over is not waiting for a decision."),
    ("CONFLICT", "INACTIVE"): ("该账号目前不能接班。", "This account cannot take a shift now."),
    ("CONFLICT", "NOT_WAITLISTED"): (
        "只有候补名单上的志愿者才能接这个名额。", "Only volunteers on the waitlist can take this place."),
    ("CONFLICT", "GIVER_LEFT"): (
        "转让人已不再持有这个名额。", "The place is no longer held by the volunteer who offered it."),
    ("CONFLICT", "IMPORT_DONE"): (
        "这次导入已经完成，无法取消。", "This import has already finished; there is nothing to cancel."),
    ("CONFLICT", "IMPORT_FAILED"): (
        "这次导入已因错误中止，无法取消。",
        "This import has already stopped on an error; there is nothing to cancel."),
    ("CONFLICT", "IMPORT_CANCELLED"): ("这次导入已经取消了。", "This import was already cancelled."),
    ("RATE_LIMITED", None): (
        "尝试次数过多，请 {retryAfter} 秒后再试。",
        "Too many attempts; try again in {retryAfter} s."),
    ("INTERNAL", None): ("服务器内部错误，请稍后再试。", "Internal server error."),
    ("UNAVAILABLE", None): (
        "暂时无法连接数据库，请稍后重试（提交类操作可能已生效，请先刷新查看）。",
        "The database could not be reached; try again shortly."),
    ("UNAVAILABLE", "BUSY"): (
        "数据库正忙，本次操作未完成，请稍后重试。",
        "The database is busy; the request was not completed. Try again shortly."),
    ("UNAVAILABLE", "SERVICE"): (
        "暂时无法连接后台服务，请稍后重试（提交类操作可能已生效，请先刷新查看）。",
        "A service the server needs could not be reached; try again shortly."),
    ("QUERY_TOO_COMPLEX", None): ("请求过于复杂。", "The query is too complex."),
    ("TOO_LONG", None): (
        "填写的内容太长（或超出范围）。",
        "A value is too long (or out of range) for what it is stored in."),
    # Transport refusals: answered before (or instead of) executing an operation, by
    # schema/view.py, schema/prepared_edge.py, schema/persisted.py and the WebSocket handlers.
    # Their reason is the catalogue's key only, never sent in `extensions` (the code is).
    ("BAD_USER_INPUT", "NOT_ACCEPTABLE"): (
        "无法按请求的格式作答：本接口只返回 application/graphql-response+json 或 application/json。",
        "Not acceptable: this endpoint answers in application/graphql-response+json or "
        "application/json."),
    ("BAD_USER_INPUT", "BODY_TOO_LARGE"): (
        "请求内容过大：最多 {maxBytes} 字节。", "Request body larger than {maxBytes} bytes."),
    ("BAD_USER_INPUT", "GET_RUNS_QUERIES"): (
        "GET 请求只能执行查询；请用 POST 发送。", "Only queries run over GET; send this with POST."),
    ("BAD_USER_INPUT", "JSON_TOO_DEEP"): (
        "请求的 JSON 嵌套超过 {limit} 层。", "Request JSON is nested deeper than {limit} levels."),
    ("BAD_USER_INPUT", "NOT_JSON"): (
        "请求内容不是有效的 JSON。", "Unable to parse request body as JSON."),
    ("BAD_USER_INPUT", "JSON_NOT_OBJECT"): (
        "请求的 JSON（请求体或 variables 参数）必须是对象。",
        "Request JSON (the body, or the variables parameter) must be an object."),
    ("BAD_USER_INPUT", "BAD_REQUEST"): ("请求格式有误。", "Bad request."),
    ("BAD_USER_INPUT", "MEDIA_TYPE"): (
        "不支持这种请求内容类型，请用 application/json 发送。", "Unsupported content type"),
    ("BAD_USER_INPUT", "METHOD"): (
        "本接口只接受 GET 和 POST 请求。", "GraphQL only supports GET and POST requests."),
    ("BAD_USER_INPUT", "NO_QUERY"): ("请求中没有 GraphQL 查询。", "No GraphQL query found in the request"),
    ("BAD_USER_INPUT", "NO_PAGE"): ("这里没有内容。", "Not Found"),
    ("BAD_USER_INPUT", "OPERATION_SHAPE"): (
        "请求中的 query、variables 或 extensions 类型不对。",
        "The GraphQL operation's query, variables or extensions have the wrong type."),
    ("BAD_USER_INPUT", "UNKNOWN_OPERATION"): (
        "找不到要执行的操作（请检查 operationName）。", "Can't get GraphQL operation type"),
    ("BAD_USER_INPUT", "OPERATION_NOT_ALLOWED"): (
        "这种操作不能用这种请求方式执行。", "This operation type is not allowed with this method."),
    ("BAD_USER_INPUT", "BATCHING"): ("不支持批量请求。", "Batching is not enabled"),
    ("BAD_USER_INPUT", "MULTIPART"): ("无法读取上传的表单。", "Unable to parse the multipart body"),
    ("BAD_USER_INPUT", "PERSISTED_QUERY"): (
        "persistedQuery 需要 version 1 和 sha256Hash。",
        "persistedQuery needs version 1 and a sha256Hash."),
    ("BAD_USER_INPUT", "HASH_MISMATCH"): (
        "查询原文与所给的哈希不符。", "The query is not the document of that hash."),
    # Apollo's and urql's persisted-query links retry with the document's text when the
    # message is exactly "PersistedQueryNotFound" (urql reads nothing else): that word is a
    # protocol token, sent in every language (schema/persisted.py); the Chinese is for a
    # client that words the code itself.
    ("PERSISTED_QUERY_NOT_FOUND", None): (
        "服务器没有这个查询的缓存，请连同查询原文重新发送。", "PersistedQueryNotFound"),
    ("PERSISTED_QUERY_NOT_IN_LIST", None): (
        "这个查询不在本服务器允许的列表中。", "Only trusted documents run here."),
}

# Strawberry's own refusals (its HTTPException reasons, by how they start) -> catalogue reason.
# English keeps strawberry's wording; an unlisted one is BAD_REQUEST in Chinese.
LIBRARY_REFUSALS: tuple[tuple[str, str], ...] = (
    ("Unable to parse request body as JSON", "NOT_JSON"),
    ("Unsupported content type", "MEDIA_TYPE"),
    ("GraphQL only supports GET and POST", "METHOD"),
    ("No GraphQL query found", "NO_QUERY"),
    ("Not Found", "NO_PAGE"),
    ("The GraphQL operation's", "OPERATION_SHAPE"),
    ("Can't get GraphQL operation type", "UNKNOWN_OPERATION"),
    ("Unknown operation named", "UNKNOWN_OPERATION"),
    ("Batching is not enabled", "BATCHING"),
    ("Too many operations", "BATCHING"),
    ("Unable to parse the multipart body", "MULTIPART"),
    ("File(s) missing in form data", "MULTIPART"),
    ("queries are not allowed", "OPERATION_NOT_ALLOWED"),
    ("mutations are not allowed", "OPERATION_NOT_ALLOWED"),
    ("subscriptions are not allowed", "OPERATION_NOT_ALLOWED"),
)

# Names of inputs (extensions.field, last part) and of objects (NotFound's `what`) in Chinese.
NAMES_ZH: dict[str, str] = {
    "title": "标题", "description": "描述", "body": "内容", "district": "所在区", "phone": "手机号",
    "password": "密码", "reason": "原因", "capacity": "名额", "startsAt": "开始时间", "endsAt": "结束时间",
    "hoursCredit": "时长", "address": "地址", "idNumber": "身份证号", "realName": "真实姓名",
    "message": "内容", "code": "签到码", "category": "类别", "name": "名称", "consent": "服务协议",
    "latitude": "纬度", "longitude": "经度", "signUpDeadline": "报名截止时间", "waitlistLimit": "候补人数",
    "skills": "技能", "displayName": "昵称", "key": "草稿", "first": "条数", "after": "分页位置",
    "Activity": "该活动", "Team": "该队伍", "Volunteer": "该志愿者", "Course": "该课程", "Lesson": "该课时",
    "Help request": "该求助", "Call-out": "该召集", "Sign-up": "该报名", "Service record": "该时长记录",
    "Project": "该项目", "Position": "该岗位", "Series": "该排班", "Service point": "该服务阵地",
    "Reward item": "该礼品", "Award": "该荣誉", "Nomination": "该提名", "Announcement": "该公告",
    "Object": "该内容", "file": "文件", "Import": "该导入",
    "firstDate": "第一天", "lastDate": "最后一天", "startTime": "开始时间",
    "durationMinutes": "每班时长", "weekdays": "星期", "dayOfMonth": "每月几号",
    "capacityPerShift": "每班人数", "minimumAge": "最低年龄", "qualifications": "资质",
    "coverImageUrl": "封面图片", "positionId": "岗位", "teamId": "队伍",
    "costPoints": "所需积分", "stock": "库存", "units": "补货数量",
}


# The volunteer import's rejected rows and failed files (resolvers/importer.py codes), keyed by
# (code, column); column None is the code's general message. {column} and {otherRow} are filled in.
IMPORT_MESSAGES: dict[tuple[str, str | None], tuple[str, str]] = {
    ("INVALID", None): ("“{column}”填写有误。", "{column} is not valid."),
    ("INVALID", "name"): ("姓名为空或超过 50 个字。", "Name is missing or too long."),
    ("INVALID", "phone"): ("手机号应为以 1 开头的 11 位大陆手机号。",
                           "Phone must be a mainland mobile number: 11 digits starting with 1."),
    ("INVALID", "id_number"): ("身份证号无效（应为 18 位，校验位和出生日期须正确）。",
                               "The ID number is not valid."),
    ("INVALID", "district"): ("所属区为空或过长。", "District is missing or too long."),
    ("INVALID", "skills"): ("技能填写有误（项数过多、单项过长或含逗号）。", "Skills are not valid."),
    ("UNKNOWN_TEAM", None): ("没有这个名称的队伍。", "No team has this name."),
    ("AMBIGUOUS_TEAM", None): ("有多个队伍使用这个名称，请先改名。",
                               "Several teams have this name; rename one first."),
    ("DUPLICATE_IN_FILE", None): ("与本文件中更早的一行重复（{column}）。",
                                  "Same value as an earlier row of this file."),
    ("DUPLICATE_ROW", None): ("与第 {otherRow} 行的{column}相同。", "Same {column} as row {otherRow}."),
    ("ALREADY_REGISTERED", None): ("该{column}已在平台注册。", "Already registered on the platform."),
    ("BATCH_COLLISION", None): ("本批次与同时进行的注册冲突，未导入；请重新导入该文件。",
                                "Not imported: its batch met a concurrent registration; run the file again."),
    ("MISSING_COLUMNS", None): ("缺少必需的列：姓名、手机号、身份证号、所属区。",
                                "Missing columns: name, phone, ID number and district are required."),
    ("EMPTY_FILE", None): ("文件是空的。", "The file is empty."),
    ("FILE_TYPE", None): ("请使用 .csv 或 .xlsx 文件。", "Use a .csv or .xlsx file."),
    ("NOT_UTF8", None): ("文件不是 UTF-8 编码，请另存为“CSV UTF-8”或 XLSX。",
                         "The file is not UTF-8 text; save it as CSV UTF-8 or as XLSX."),
    ("UNREADABLE", None): ("无法读取该文件，请确认是 CSV 或 XLSX 名册。",
                           "The file could not be read; check that it is a CSV or XLSX roster."),
    ("INTERNAL", None): ("导入因意外错误中止；此前的行已导入。",
                         "The import stopped on an unexpected error; rows before it are in."),
}
IMPORT_COLUMNS_ZH: dict[str, str] = {
    "name": "姓名", "phone": "手机号", "id_number": "身份证号", "district": "所属区", "team": "队伍",
    "skills": "技能", "file": "文件", "": "该行",
}


# The points ledger's lines the server writes (resolvers/timebank.py, resolvers/hours.py), by
# a stable key: (as stored, Chinese, English). `reason` is stored in the first wording, as it
# always was (rows written before this read the same way, no migration); PointsEntry.reason
# reads it back into its key and parameters (`ledger_reason`) and says it in the reader's
# language. A reason no template matches (a grant typed by hand) is shown as stored.
LEDGER_REASONS: dict[str, tuple[str, str, str]] = {
    "REDEEM": ("兑换：{title}", "兑换：{title}", "Redeemed: {title}"),
    "DONATE_OUT": ("捐赠给 {name}", "捐赠给 {name}", "Donated to {name}"),
    "DONATE_IN": ("来自 {name} 的爱心积分", "来自 {name} 的爱心积分", "Points from {name}"),
    "EXPIRE": ("积分过期（获得超过 {months} 个月）", "积分过期（获得超过 {months} 个月）",
               "Points expired (earned more than {months} months ago)"),
    "HOURS_APPROVE": ("approve hours: {title}", "时长通过：{title}", "Hours approved: {title}"),
    "HOURS_ADJUST": ("adjust hours: {title}", "时长调整：{title}", "Hours adjusted: {title}"),
    "HOURS_REJECT": ("reject hours: {title}", "时长撤销：{title}", "Hours withdrawn: {title}"),
}
LEDGER_REASON_MAX = 200  # points_entry.reason's column


def _pattern(stored: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", stored)
    return re.compile("".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+)"
                              for index, part in enumerate(parts)), re.DOTALL)


_LEDGER_PATTERNS = [(key, _pattern(stored)) for key, (stored, _, _) in LEDGER_REASONS.items()]


def ledger_note(key: str, **params: Any) -> str:
    """A ledger line's reason as stored, cut to its column."""
    return LEDGER_REASONS[key][0].format(**params)[:LEDGER_REASON_MAX]


def ledger_reason(language: str, stored: str) -> str:
    """A stored ledger reason in `language`; one no template matches is shown as stored."""
    for key, pattern in _LEDGER_PATTERNS:
        matched = pattern.fullmatch(stored)
        if matched is not None:
            _, chinese, english = LEDGER_REASONS[key]
            return (english if language == EN else chinese).format(**matched.groupdict())
    return stored


def import_message(language: str, code: str, column: str, original: str,
                   other_row: int | None = None) -> str:
    """A rejected row's (or a failed file's) message; English keeps the rule's own wording."""
    if language == EN:
        return original
    if code == "DUPLICATE_IN_FILE" and other_row is not None:
        code = "DUPLICATE_ROW"
    entry = IMPORT_MESSAGES.get((code, column)) or IMPORT_MESSAGES.get((code, None)) \
        or IMPORT_MESSAGES[("INTERNAL", None)]
    return entry[0].format(column=IMPORT_COLUMNS_ZH.get(column, column), otherRow=other_row)


def default_language() -> str:
    """MESSAGE_LANGUAGE: the language when a request states none (zh-CN unless set to en)."""
    return EN if os.environ.get("MESSAGE_LANGUAGE", ZH).lower().startswith("en") else ZH


def choose_language(accept_language: str | None) -> str:
    """The best of zh-CN and en for an Accept-Language header (q-values honoured); the
    configured default when the header is absent or names neither."""
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        language = ZH if tag.startswith("zh") else EN if tag.startswith("en") else None
        if language is None:
            continue
        try:
            q = float(params.strip().removeprefix("q=")) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, language)
    return best[1] if best else default_language()


def message_for(language: str, code: str, extensions: dict[str, Any], original: str,
                what: str | None = None) -> str:
    """The message for an error in `language`; English keeps the rule's own wording."""
    if language == EN:
        return original
    requirement = extensions.get("requirement")
    reason = extensions.get("reason")
    params: dict[str, Any] = {**extensions}
    if isinstance(requirement, dict) and requirement.get("kind"):
        reason = requirement["kind"]
        params.update(requirement)
    field = extensions.get("field")
    if code == "BAD_USER_INPUT" and isinstance(field, str) and field:
        name = field.split(".")[-1]
        params["field"] = NAMES_ZH.get(name, name)
        reason = reason or "FIELD"
    if code == "NOT_FOUND":
        params["what"] = NAMES_ZH.get(what or "Object", "该内容")
    entry = CATALOGUE.get((code, reason)) or CATALOGUE.get((code, None)) or CATALOGUE[("INTERNAL", None)]
    return entry[0].format_map(_Blank(params))


def refusal(language: str, code: str, reason: str | None = None, **params: Any) -> str:
    """A transport refusal's message in `language`, both languages from the catalogue."""
    entry = CATALOGUE.get((code, reason)) or CATALOGUE.get((code, None)) or CATALOGUE[("INTERNAL", None)]
    return (entry[1] if language == EN else entry[0]).format_map(_Blank(params))


def library_refusal(language: str, original: str) -> str:
    """One of strawberry's own HTTP refusals in `language` (English keeps its wording)."""
    if language == EN:
        return original
    reason = next((key for start, key in LIBRARY_REFUSALS if original.startswith(start)),
                  "BAD_REQUEST")
    return refusal(language, "BAD_USER_INPUT", reason)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""
