"""Regenerate docs/screenshots/*.png from the demo data: `make screenshots`.

Starts a server on a throw-away SQLite file with `seed-demo`, signs in as the demo users and
photographs the main pages in a phone-sized headless Chromium (and the list at desktop size).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.web.browser import browser_problem, new_driver, quit_driver, wait_for

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
LOGIN = "mutation L($p: String!) { login(phone: $p, password: \"tongxin123\") { token } }"
THREAD = "{ boards { slug threads(first: 1) { edges { node { id } } } } }"


FIRST_ACTIVITY = "{ activities(first: 1, status: PUBLISHED) { edges { node { id } } } }"


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


def token(base: str, phone: str) -> str:
    answer = httpx.post(f"{base}/graphql", json={"query": LOGIN, "variables": {"p": phone}}).json()
    return str(answer["data"]["login"]["token"])


def shoot(driver: Any, base: str, route: str, name: str, *, token: str | None = None, lang: str = "zh",
          ready: str = "main > *", before: str = "") -> None:
    driver.get(f"{base}/healthz")
    driver.execute_script("localStorage.clear(); localStorage.setItem('tx.lang', arguments[0]);"
                          "if (arguments[1]) localStorage.setItem('tx.token', arguments[1]);", lang, token)
    driver.get(f"{base}/#/{route}")
    wait_for(driver, lambda d: d.find_elements("css selector", ready), message=f"{name}: {ready}")
    time.sleep(0.4)  # the live socket connects, fonts settle
    if before:
        driver.execute_script(before)
        time.sleep(0.2)
    OUT.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.set_window_size(max(width, 412) if width < 1000 else 1280, min(max(height + 140, 600), 1800))
    driver.save_screenshot(str(OUT / f"{name}.png"))
    print(f"docs/screenshots/{name}.png")


def main() -> int:
    if problem := browser_problem():
        print(f"make screenshots needs Chromium: {problem}", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tongxin-shots-"))
    server, base = serve(workdir)
    phone, desktop = new_driver(412, 915), new_driver(1280, 900)
    try:
        volunteer, admin = token(base, "13800000001"), token(base, "13800000000")
        boards = httpx.post(f"{base}/graphql", json={"query": THREAD}).json()["data"]["boards"]
        thread = next(b["threads"]["edges"][0]["node"]["id"] for b in boards if b["threads"]["edges"])
        shoot(phone, base, "activities", "activities", token=volunteer, ready="article.card")
        shoot(phone, base, "activities", "activities-en", token=volunteer, lang="en", ready="article.card")
        shoot(phone, base, "register", "register", ready="form.panel", before=(
            "const f = document.querySelector('form.panel');"
            "f.elements.phone.value = '1380000'; f.elements.idNumber.value = '110105199001011230';"
            "f.querySelector('button[type=submit]').click();"))
        shoot(phone, base, "me", "me", token=volunteer, ready="[data-stat=hours]")
        shoot(phone, base, "help", "help", token=volunteer, ready="main section .card")
        shoot(phone, base, f"forum/t/{thread}", "forum-thread-moderator", token=admin, ready="article.post")
        shoot(phone, base, "hours", "hours-queue", token=admin, ready="main section, main p")
        shoot(desktop, base, "activities", "activities-desktop", token=volunteer, ready="article.card")
        first = httpx.post(f"{base}/graphql", json={"query": FIRST_ACTIVITY}).json()["data"]["activities"]["edges"][0]["node"]["id"]
        shoot(phone, base, f"activities/{first}", "activity-detail", token=volunteer, ready="article.detail")
        shoot(desktop, base, f"activities/{first}", "activity-detail-desktop", token=volunteer, ready="article.detail")
        shoot(phone, base, "learn", "learn", token=volunteer, ready="main .card, main p")
        shoot(phone, base, "bank", "bank", token=volunteer, ready="[data-points]")
        shoot(phone, base, "notifications", "notifications", token=volunteer, ready="main ul, main p")
        shoot(phone, base, "manage", "manage", token=admin, ready="section[data-team], main p")
        shoot(desktop, base, "manage", "manage-desktop", token=admin, ready="section[data-team], main p")
        shoot(desktop, base, "stats", "stats-desktop", token=admin, ready=".plot[data-drawn], main p.error")
        shoot(phone, base, "stats", "stats", token=admin, ready=".plot[data-drawn], main p.error")
        shoot(phone, base, "honours", "honours", token=volunteer, ready="ol.leaderboard, #lb-h + div + p")
        shoot(phone, base, "projects", "projects", token=volunteer, ready="main article.card, main p")
        shoot(phone, base, "feed", "feed", token=volunteer, ready="ul.feed, main p")
    finally:
        quit_driver(phone)
        quit_driver(desktop)
        server.terminate()
        server.wait(10)
    print(json.dumps({"written": sorted(p.name for p in OUT.glob("*.png"))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
