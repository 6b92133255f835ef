"""The home page (GET / and /index.html) with the activity list already drawn in it, as a visitor
sees it: the list's first paint waits for no module, no request and no rendering in the browser
(docs/web.md, "Figures").

The public list is the same for every visitor, so each worker keeps one pre-serialised page
(HTML, gzipped, ETag) and serves it while the list's rows are unchanged. Every request reads the
rows the page shows — the list's own rule (`resolvers.activity.list_activities`, published and
not started, the first 50 soonest, the total), with every column the list's document reads
(`FINGERPRINT`; tests/web/test_home.py checks they cover it) — and compares them with the rows
the page was drawn from: a sign-up, an edit, a new or cancelled activity, or an activity
starting changes them, on any worker, with no message between workers. The rows are read before
the page's answer is executed, so a page is never older than the rows it is served for.

What is drawn: the visitor's header, the list page (filters at their defaults, the count, the
cards) and the GraphQL answer it came from (`#tx-list`, which views/activities.js takes over
instead of asking again). The markup mirrors views/activities.js and app.js's Header node for
node and its words come from web/js/i18n.js (zh); tests/web/test_home.py compares the server's
drawing with the client's for the same answer. A signed-in reader gets the same page: their own
state (their sign-ups, their header) is not in it, so index.html's inline script hides the
header's links and the cards' buttons (html.tx-reader) until the client lays the reader's own
answer over the cards and draws their header. An English reader, or another route, gets the
page hidden by that script (their view differs) and drawn by the client as before. Cards show
the count as of the page; the cards' live subscriptions answer the count now first.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.routing import read_connection
from models.activity import Activity, ActivityStatus
from resolvers.sql import Sql, fetch

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parents[1] / "web"
PAGE = WEB / "index.html"
I18N = WEB / "js" / "i18n.js"
VIEW = WEB / "js" / "views" / "activities.js"
STYLE = WEB / "app.css"
FIRST = 50
# Cards drawn into the page: the first screen (three rows of three at 1280 px, more than a phone
# shows); the client adds the rest after the first frame. Fewer cards, a faster first frame.
DRAWN_CARDS = 9
BEIJING = timezone(timedelta(hours=8))
WEEKDAYS = "周一 周二 周三 周四 周五 周六 周日".split()

# The list document's fields (index.html's early request) and the activity columns each is
# computed from: the fingerprint reads them all, so no shown value changes unseen.
FINGERPRINT: dict[str, tuple[str, ...]] = {
    "id": ("id",), "title": ("title",), "category": ("category",), "district": ("district",),
    "address": ("address",), "startsAt": ("starts_at",), "endsAt": ("ends_at",),
    "capacity": ("capacity",), "confirmedCount": ("taken_count", "offered_count"),
    "waitlistCount": ("waitlist_count",), "waitlistLimit": ("waitlist_limit",),
    "remaining": ("capacity", "taken_count"), "hoursCredit": ("hours_credit",),
    "status": ("status",), "team": ("team_id",), "position": ("position_id",),
    "mySignUp": (),  # a visitor's is absent (signedIn: false)
}
COLUMNS = sorted({column for columns in FINGERPRINT.values() for column in columns})


@dataclass(frozen=True)
class Sources:
    """What the drawing is made of, read from web/ (reread when a file changes)."""

    stamp: tuple[float, ...]
    template: str
    style: str
    query: str
    words: dict[str, str]


@dataclass(frozen=True)
class Drawn:
    key: tuple[Any, ...]
    body: bytes
    gzipped: bytes
    etag: str


_sources: Sources | None = None
_page: Drawn | None = None
_lock = asyncio.Lock()


def _js_string(text: str) -> str:
    return str(json.loads(text))


def sources() -> Sources:
    global _sources
    stamp = tuple(path.stat().st_mtime for path in (PAGE, I18N, VIEW, STYLE))
    if _sources is None or _sources.stamp != stamp:
        template = PAGE.read_text()
        query = re.search(r'var query = ("(?:[^"\\]|\\.)*");', template)
        table = re.search(r"^const zh = \{(.*?)^\};", I18N.read_text(), re.S | re.M)
        if query is None or table is None:
            raise RuntimeError("web/: the home page's sources changed shape (schema/home_http.py)")
        words = {key: _js_string(value) for key, value in
                 re.findall(r'(\w+): ("(?:[^"\\]|\\.)*")', table.group(1))}
        _sources = Sources(stamp, template, STYLE.read_text(), _js_string(query.group(1)), words)
    return _sources


# --- the drawing: views/activities.js's List and Card, app.js's Header (visitor, zh) ---

def _t(words: dict[str, str], key: str, **params: Any) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), words.get(key, key))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _number(value: Any) -> str:
    """A JSON number as JavaScript's String() writes it (2.0 -> "2")."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def fmt_date(iso: str) -> str:
    """i18n.js fmtDate in zh-CN as Chromium's Intl writes it: "12/7周一 09:00" (Beijing time)."""
    at = datetime.fromisoformat(iso).astimezone(BEIJING)
    return f"{at.month}/{at.day}{WEEKDAYS[at.weekday()]} {at:%H:%M}"


def _link(activity_id: str) -> str:
    return "#/activities/" + quote(activity_id, safe="-_.!~*'()")


def _groups(activities: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for a in activities:
        team = (a.get("team") or {}).get("id")
        key = (f"p:{a['position']['id']}" if a.get("position")
               else f"t:{team}|{a['title']}|{a['district']}|{a.get('address') or ''}")
        by_key.setdefault(key, []).append(a)
    return [sorted(shifts, key=lambda x: x["startsAt"]) for shifts in by_key.values()]


def _card(w: dict[str, str], a: dict[str, Any], others: list[dict[str, Any]]) -> str:
    i = _e(a["id"])
    full = a["remaining"] <= 0
    slots = _t(w, "full") if full else _t(w, "remaining", n=a["remaining"], cap=a["capacity"])
    waitlist = (_t(w, "waitlist", n=a["waitlistCount"], limit=a["waitlistLimit"])
                if a["waitlistLimit"] else "")
    meta = (f"{fmt_date(a['startsAt'])} · {a['district']} · {a['category']} · "
            + _t(w, "hours", n=_number(a["hoursCredit"])))
    parts = [
        f'<article class="{"card is-full" if full else "card"}" data-id="{i}" aria-labelledby="t-{i}">',
        f'<h2 id="t-{i}" elementtiming="card"><a href="{_e(_link(a["id"]))}">{_e(a["title"])}</a> '
        '<span class="state-slot"></span></h2>',
        f'<p class="meta">{_e(meta)}</p>',
        f'<p class="meta">{_e(a["address"])}</p>' if a.get("address") else "",
        f'<p class="slots"><strong class="remaining" aria-live="polite" data-remaining="{a["remaining"]}">'
        f'{_e(slots)}</strong> <span class="waitlist">{_e(waitlist)}</span></p>',
        '<div class="actions"><button class="primary" type="button" data-action="signup">'
        f'{_e(_t(w, "signUp"))}</button></div>',
        '<p class="result" role="status" aria-live="polite"></p>',
    ]
    if others:
        shifts = "".join(f'<li><a href="{_e(_link(o["id"]))}">{_e(fmt_date(o["startsAt"]))}</a> </li>'
                         for o in others)
        parts.append(f'<details class="shifts"><summary>{_e(_t(w, "moreShifts", n=len(others)))}</summary>'
                     f'<ul class="plain">{shifts}</ul></details>')
    return "".join(parts) + "</article>"


def draw_main(s: Sources, data: dict[str, Any]) -> str:
    w = s.words

    activities = [edge["node"] for edge in data["activities"]["edges"]]
    groups = _groups(activities)
    cards = ("".join(_card(w, first, others) for first, *others in groups[:DRAWN_CARDS])
             or f"<p>{_e(_t(w, 'empty'))}</p>")
    return "".join((
        f"<h1>{_e(_t(w, 'navActivities'))}</h1>",
        # The form is the client's, built when the panel first opens (views/activities.js).
        f'<details class="filter-panel"><summary>{_e(_t(w, "filters"))}</summary></details>',
        '<p class="note" role="status"></p>',
        f'<p class="count" role="status">{_e(_t(w, "activityCount", n=data["activities"]["totalCount"]))}'
        '</p>',
        f'<section class="list" aria-live="off" aria-busy="false">{cards}</section>',
    ))


NAV = ("activities", "help", "forum", "announcements", "projects", "learn", "honours", "stations",
       "login", "register")
NAV_WORDS = {"activities": "navActivities", "help": "navHelp", "forum": "navForum",
             "announcements": "navAnnouncements", "projects": "navProjects",
             "learn": "navLearn", "honours": "navHonours", "stations": "navStations", "login": "navLogin",
             "register": "navRegister"}


def draw_header(s: Sources) -> str:
    w = s.words
    current = ' aria-current="page"'
    links = "".join(f'<a href="#/{name}"{current if name == "activities" else ""}>'
                    f"{_e(_t(w, NAV_WORDS[name]))}</a>" for name in NAV)
    return (f'<a class="brand" href="#/activities">{_e(_t(w, "brand"))}</a>'
            f'<nav aria-label="{_e(_t(w, "mainNav"))}">{links}</nav>'
            f'<button class="lang" type="button" lang="en" data-testid="lang">{_e(_t(w, "lang"))}</button>')


def draw_page(s: Sources, answer: dict[str, Any]) -> str:
    # JSON inside <script>: no "<" may close it or open a comment.
    data = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    tail = (f'<script type="application/json" id="tx-list">{data}</script>\n'
            # The frame that shows the drawn list: what bench.web times (as the client's own
            # drawing marks it), unless the inline script hid it.
            '<script>if (!document.documentElement.classList.contains("tx-own"))'
            ' requestAnimationFrame(function () { performance.mark("tx:list-painted"); });</script>\n')
    # The stylesheet inline: the first frame waits for no file (the page is revalidated by ETag).
    return (s.template.replace('<html lang="zh-CN">', '<html lang="zh-CN" data-drawn>', 1)
            .replace('<link rel="stylesheet" href="/app.css">', f"<style>{s.style}</style>", 1)
            .replace("<!--tx:header-->", draw_header(s), 1)
            .replace("<!--tx:main-->", draw_main(s, answer["data"]), 1)
            .replace("<!--tx:tail-->", tail, 1))


# --- the cache ---

@functools.cache
def fingerprint_sql() -> str:
    """Written on first use: the model's columns are known once Tortoise is initialised."""
    columns = ", ".join(Activity._meta.fields_db_projection[name] for name in COLUMNS)
    return (f"SELECT {columns}, COUNT(*) OVER () AS total_rows FROM {Activity._meta.db_table} "
            "WHERE status = :status AND starts_at > :now ORDER BY starts_at, id LIMIT :first")


async def fingerprint(now: datetime) -> tuple[Any, ...]:
    """The rows the public list shows now (every column it reads) and their total, in one
    statement (it runs for every visitor: two through the ORM cost ~3 ms of the page's 4; the
    list's rule, `list_activities` for a visitor with status PUBLISHED and startsAfter now, is
    held equal to this by tests/web/test_home.py)."""
    rows = await fetch(read_connection(), Sql(fingerprint_sql(), status=ActivityStatus.PUBLISHED.value,
                                              now=now, first=FIRST))
    return (rows[0]["total_rows"] if rows else 0, tuple(tuple(row.values())[:-1] for row in rows))


def variables(now: datetime) -> dict[str, Any]:
    """views/activities.js variablesNow() with the default filters, signed out."""
    return {"first": FIRST, "district": None, "category": None, "hasOpenSlots": None, "signedIn": False,
            "status": "PUBLISHED", "startsAfter": now.isoformat(), "near": None}


async def _answer(query: str, now: datetime) -> dict[str, Any] | None:
    from schema import schema
    from schema.context import Context

    result = await schema.execute(query, variable_values=variables(now),
                                  context_value=Context(language="zh-CN"))
    if result.errors:
        log.warning("home page: the list's answer failed: %s", result.errors[0])
        return None
    return {"data": result.data}


async def drawn_page() -> Drawn | None:
    """The page for the rows now, drawn again only when they changed (one drawing at a time)."""
    global _page
    s = sources()
    now = datetime.now(UTC)
    key = (s.stamp, await fingerprint(now))
    if _page is not None and _page.key == key:
        return _page
    async with _lock:
        if _page is not None and _page.key == key:
            return _page
        answer = await _answer(s.query, now)
        if answer is None:
            return None
        body = draw_page(s, answer).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        _page = Drawn(key, body, gzip.compress(body, 6, mtime=0), etag)
        return _page


async def warm() -> None:
    """Draw the page once as the worker starts (server.py's lifespan, in the background): the
    first visitor after a start or a rolling restart gets a drawing, and the schema's first
    execution, already made."""
    try:
        await drawn_page()
    except Exception:  # the visitor's request will draw it, or the client will
        log.warning("home page: drawing at start-up failed", exc_info=True)


async def home(request: Request) -> Response:
    try:
        page = await drawn_page()
    except Exception:  # the list is an optimisation of the page: never fail the page for it
        log.exception("home page: drawing the list failed")
        page = None
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if page is None:  # the client draws it, as it always could
        return Response(sources().template, media_type="text/html; charset=utf-8", headers=headers)
    headers["ETag"] = page.etag
    if page.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(page.gzipped, media_type="text/html; charset=utf-8", headers=headers)
    return Response(page.body, media_type="text/html; charset=utf-8", headers=headers)


ROUTES = [Route("/", home, methods=["GET", "HEAD"]), Route("/index.html", home, methods=["GET", "HEAD"])]
