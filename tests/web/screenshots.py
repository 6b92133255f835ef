"""Regenerate docs/screenshots/*.png from the demo data: `make screenshots`.

Starts a server on a throw-away SQLite file with `seed-demo`, and photographs every page of the
web client (every route of web/js/app.js, and the sub-pages the axe test visits) as the demo
user it is for, once in a phone-sized (412 x 915) and once in a desktop-sized (1280 x 900)
headless Chromium: `docs/screenshots/<page>-phone.png` and `<page>-desktop.png`, the viewport
only (not the whole scrolled page), so the files stay small. The pages whose routes depend on
data (an activity, a thread, a chat room, a ticket, an import, a certificate) are found through
the API; a certificate is issued for the volunteer first. PNGs left from earlier names are
removed. The list of pages is printed as the Markdown table docs/web.md shows. Page names as
arguments (`.venv/bin/python -m tests.web.screenshots hours bank`) retake only those pages and
leave the other images as they are.

Needs Debian's chromium and chromium-driver, and a CJK font, or the Chinese comes out as boxes:
`apt-get install --no-install-recommends fonts-noto-cjk` (fonts-wqy-zenhei does as well). The
test suite does not need the font; only these images do. If pngquant is installed the images are
quantised in place (`apt-get install pngquant`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.web.browser import browser_problem, new_driver, quit_driver, wait_for

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
LOGIN = "mutation L($p: String!) { login(phone: $p, password: \"tongxin123\") { token } }"
WIDTHS = {"phone": (412, 915), "desktop": (1280, 900)}

# The demo's people (resolvers/demo.py, forum/demo.py): who each page is photographed as.
VOLUNTEER = "13800000002"  # 王芳: sign-ups, approved hours, chat, a desk ticket, a calendar feed
ORGANISER = "13800000001"  # 李明: admin of 朝阳区志愿服务总队, organises 重阳节敬老院陪伴
# 张伟 (admin of 海淀区青年志愿者协会) for #/manage: a second organiser's teams on the page (the page
# once failed for 李明, also an ordinary member of 蓝天应急救援队; fixed in d1e8a74, role: ADMIN)
TEAM_ADMIN = "13800000003"
MODERATOR = "13800000006"  # 杨磊: moderates 二手交换, where a thread waits in the report queue
PLATFORM = "13800000000"   # 平台管理员
WHO = {None: "visitor", VOLUNTEER: "volunteer (王芳)", ORGANISER: "team admin (李明)", TEAM_ADMIN: "team admin (张伟)",
       MODERATOR: "forum moderator (杨磊)", PLATFORM: "platform admin"}

ACTIVITIES = "{ activities(first: 50, status: PUBLISHED) { edges { node { id title } } } }"
BOARDS = "{ boards { slug threads(first: 20) { edges { node { id title } } } } }"
ROOMS = "{ myChatRooms { id kind } }"
TICKETS = "{ myServiceTickets(first: 10) { edges { node { id subject } } } }"
IMPORTS = "{ volunteerImports(first: 1) { edges { node { id } } } }"
CERTIFICATE = "mutation { issueCertificate { code } }"
REGISTER_HALF_FILLED = (
    "const f = document.querySelector('form.panel');"
    "f.elements.phone.value = '1380000'; f.elements.idNumber.value = '110105199001011230';"
    "f.querySelector('button[type=submit]').click();")


def scroll_to(css: str) -> str:
    """A `before` script: the panel a page is photographed for is below the first screen."""
    return f"document.querySelector({json.dumps(css)}).scrollIntoView()"


@dataclass
class Page:
    name: str
    route: str
    who: str | None  # a demo phone, or None for a visitor
    ready: str  # CSS that appears when the page has its data
    what: str  # for the table in docs/web.md
    lang: str = "zh"
    before: str = ""  # script run once the page is ready (fills a form, scrolls to a panel)


def serve(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.live import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite://{workdir / 'demo.sqlite3'}", "TONGXIN_DATA_DIR": str(workdir),
           "PORT": str(port), "LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "server.py", command], cwd=ROOT, env=env, check=True, capture_output=True)
    process = subprocess.Popen([sys.executable, "server.py", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the demo server did not start")


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}

    def token(self, phone: str) -> str:
        if phone not in self.tokens:
            answer = self.ask(LOGIN, {"p": phone})
            self.tokens[phone] = str(answer["login"]["token"])
        return self.tokens[phone]

    def ask(self, query: str, variables: dict[str, Any] | None = None, *, phone: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(phone)}"} if phone else {}
        answer = httpx.post(f"{self.base}/graphql", json={"query": query, "variables": variables or {}},
                            headers=headers, timeout=30).json()
        if answer.get("errors"):
            raise SystemExit(f"the demo data did not answer {query!r}: {answer['errors']}")
        return answer["data"]


def edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def pages(api: Api) -> list[Page]:
    """Every page of the client, with the demo data's IDs for the routes that need one."""
    activities = {a["title"]: a["id"] for a in edges(api.ask(ACTIVITIES)["activities"])}
    activity = activities.get("重阳节敬老院陪伴") or next(iter(activities.values()))
    boards = {b["slug"]: {t["title"]: t["id"] for t in edges(b["threads"])} for b in api.ask(BOARDS)["boards"]}
    thread = boards["fangyi"].get("本周六社区防疫志愿服务招募") or next(iter(boards["fangyi"].values()))
    reported = boards["ershou"].get("低价转让") or next(iter(boards["ershou"].values()))
    rooms = api.ask(ROOMS, phone=VOLUNTEER)["myChatRooms"]
    room = next((r["id"] for r in rooms if r["kind"] == "TEAM"), rooms[0]["id"])
    tickets = edges(api.ask(TICKETS, phone=VOLUNTEER)["myServiceTickets"])
    ticket = tickets[0]["id"]
    job = edges(api.ask(IMPORTS, phone=PLATFORM)["volunteerImports"])[0]["id"]
    code = api.ask(CERTIFICATE, phone=VOLUNTEER)["issueCertificate"]["code"]
    return [
        Page("home-visitor", "activities", None, "article.card", "the home page (activities) as the server draws it"),
        Page("login", "login", None, "form", "log in"),
        Page("register", "register", None, "form.panel", "real-name registration, half filled (inline errors)",
             before=REGISTER_HALF_FILLED),
        Page("verify", f"verify/{code}", None, "[data-cert=verify]", "a certificate's public page"),
        Page("activities", "activities", VOLUNTEER, "article.card", "activities"),
        Page("activities-en", "activities", VOLUNTEER, "article.card", "activities, in English", lang="en"),
        Page("activity", f"activities/{activity}", VOLUNTEER, "p.state", "an activity"),
        Page("activity-organiser", f"activities/{activity}", ORGANISER, "main:has(#msg-h):has(#log-h)",
             "an activity, as its organiser (messages, change log)", before=scroll_to("#msg-h")),
        Page("me", "me", VOLUNTEER, "[data-stat=hours]", "me: hours, schedule, certificate, calendar"),
        Page("help", "help", VOLUNTEER, ".help-list", "help requests"),
        Page("forum", "forum", VOLUNTEER, "main li, main .card", "forum boards"),
        Page("forum-board", "forum/b/fangyi", VOLUNTEER, "form.panel", "a board"),
        Page("forum-thread", f"forum/t/{thread}", VOLUNTEER, "form.panel textarea", "a thread"),
        Page("forum-search", "forum/s/老人", VOLUNTEER, "li[data-thread], p.empty", "forum search"),
        Page("forum-board-moderator", "forum/b/ershou", MODERATOR, "#rq-h", "a board, as its moderator (reports)"),
        Page("forum-thread-moderator", f"forum/t/{reported}", MODERATOR, "div.mod", "a reported thread, as moderator"),
        Page("feed", "feed", VOLUNTEER, "ul.feed, main p.empty", "feed"),
        Page("announcements", "announcements", VOLUNTEER, "ul.announcements, main p.empty", "announcements"),
        Page("announcements-organiser", "announcements", ORGANISER, "h1[data-scopes=writer] ~ details.new-announcement",
             "announcements, as team admin: write one (a draft or now), publish a draft, pin",
             before="document.querySelector('details.new-announcement').open = true"),
        Page("projects", "projects", VOLUNTEER, "main article.card", "projects"),
        Page("projects-organiser", "projects", ORGANISER, "details.new-project",
             "projects, as team admin: new project, new position, schedule and extend a series"),
        Page("points", "points", VOLUNTEER, "main article.card, main li.card", "service points"),
        Page("stations", "stations", PLATFORM, "table.rates, section.panel .empty", "service stations and their operating rate"),
        Page("honours", "honours", VOLUNTEER, "ol.leaderboard", "honours and leaderboard"),
        Page("learn", "learn", VOLUNTEER, "#qual-h", "training"),
        Page("bank", "bank", VOLUNTEER, "[data-points]", "time bank"),
        Page("notifications", "notifications", VOLUNTEER, "main ul, main p.empty", "notifications"),
        Page("messages", "messages", VOLUNTEER, "form.reply-organiser, main p.empty", "organisers' messages"),
        Page("messages-organiser", "messages", ORGANISER, "section[data-team]", "organisers' messages, as team admin"),
        Page("desk", "desk", VOLUNTEER, "section.desk-mine li, section.desk-mine p.empty", "service desk"),
        Page("desk-ticket", f"desk/{ticket}", VOLUNTEER, "ul.desk-messages li", "a service desk ticket"),
        Page("desk-queue", "desk", PLATFORM, "section.desk-queue li, section.desk-queue p.empty", "service desk, staff queue",
             before=scroll_to("section.desk-queue")),
        Page("chat", "chat", VOLUNTEER, "li[data-room]", "chat rooms"),
        Page("chat-room", f"chat/{room}", VOLUNTEER, "form.chat-send button:not([disabled])", "a chat room"),
        Page("chat-room-moderator", f"chat/{room}", ORGANISER, "li[data-id] button[data-action=mute]",
             "a chat room, as its moderator"),
        Page("hours", "hours", ORGANISER, "main section, main p.empty", "hours to review"),
        Page("manage", "manage", TEAM_ADMIN, "section[data-team]", "organise: teams and activities"),
        Page("manage-activity", f"manage/{activity}", ORGANISER, "ul.roster", "organise an activity: roster, check-in"),
        Page("stats", "stats", PLATFORM, ".plot[data-drawn]", "statistics"),
        Page("import", "import", PLATFORM, "main form", "volunteer import"),
        Page("import-job", f"import/{job}", PLATFORM, "section[data-import]:has([role=progressbar][data-status=DONE])",
             "a finished import with a rejected row"),
    ]


def shoot(driver: Any, api: Api, page: Page, file: str) -> None:
    driver.get(f"{api.base}/healthz")
    driver.execute_script("localStorage.clear(); localStorage.setItem('tx.lang', arguments[0]);"
                          "if (arguments[1]) localStorage.setItem('tx.token', arguments[1]);",
                          page.lang, api.token(page.who) if page.who else None)
    driver.get(f"{api.base}/#/{page.route}")
    wait_for(driver, lambda d: d.find_elements("css selector", page.ready), message=f"{file}: {page.ready}")
    # a panel below the one waited for may still be loading: give it a few seconds to settle
    for _ in range(30):
        if not driver.execute_script("return /加载中…|Loading…/.test(document.querySelector('main').innerText)"):
            break
        time.sleep(0.1)
    time.sleep(0.4)  # the live socket connects, fonts settle
    driver.execute_script("window.scrollTo(0, 0)")
    if page.before:
        driver.execute_script(page.before)
        time.sleep(0.2)
    driver.save_screenshot(str(OUT / file))
    print(f"docs/screenshots/{file}")


def squeeze(files: list[Path]) -> None:
    """Quantise the PNGs in place when pngquant is installed (text stays sharp at 256 colours)."""
    if not shutil.which("pngquant"):
        return
    subprocess.run(["pngquant", "--force", "--skip-if-larger", "--strip", "--quality=70-95",
                    "--ext", ".png", *map(str, files)], check=False)


def table(shots: list[Page]) -> str:
    """docs/web.md's table: thumbnails (HTML, for their width) linking to the full images."""
    def thumb(file: str, width: int) -> str:
        return f'<a href="screenshots/{file}"><img src="screenshots/{file}" width="{width}" alt="{file}"></a>'

    rows = ["| page | route | who | phone (412 px) | desktop (1280 px) |", "| --- | --- | --- | --- | --- |"]
    for page in shots:
        route = page.route.rsplit("/", 1)[0] + "/…" if "/" in page.route else page.route
        rows.append(f"| {page.what} | `#/{route}` | {WHO[page.who]} | "
                    f"{thumb(f'{page.name}-phone.png', 90)} | {thumb(f'{page.name}-desktop.png', 200)} |")
    return "\n".join(rows)


def main() -> int:
    if problem := browser_problem():
        print(f"make screenshots needs Chromium: {problem}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tongxin-shots-"))
    server, base = serve(workdir)
    drivers = {width: new_driver(*size) for width, size in WIDTHS.items()}
    for width, (x, y) in WIDTHS.items():
        # the viewport itself: a headless window is at least 500 px wide and its height
        # includes the browser's frame, so --window-size alone gives 500 x 772 and 1280 x 757
        drivers[width].execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": x, "height": y, "deviceScaleFactor": 1, "mobile": width == "phone"})
    written: list[Path] = []
    only = set(sys.argv[1:])  # page names to retake (e.g. `hours bank`); none: every page
    try:
        api = Api(base)
        shots = pages(api)
        OUT.mkdir(parents=True, exist_ok=True)
        for page in shots:
            if only and page.name not in only:
                continue
            for width, driver in drivers.items():
                shoot(driver, api, page, f"{page.name}-{width}.png")
                written.append(OUT / f"{page.name}-{width}.png")
    finally:
        for driver in drivers.values():
            quit_driver(driver)
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    if not only:
        for stale in set(OUT.glob("*.png")) - set(written):
            stale.unlink()
    squeeze(written)
    print(table(shots))
    size = sum(p.stat().st_size for p in written)
    print(json.dumps({"pages": len(shots), "images": len(written), "bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
