"""The web client is served at / beside the API, small enough to load on a phone."""

from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer

pytestmark = pytest.mark.e2e

WEB = Path(__file__).resolve().parents[2] / "web"


async def test_the_client_is_served_at_the_root_and_graphiql_stays_at_graphql(live_server: LiveServer) -> None:
    # given
    root = live_server.url.removesuffix("/graphql")
    async with httpx.AsyncClient() as client:
        # when
        page = await client.get(f"{root}/")
        module = await client.get(f"{root}/js/app.js")
        graphiql = await client.get(live_server.url, headers={"Accept": "text/html"})
        health = await client.get(f"{root}/healthz")
        missing = await client.get(f"{root}/js/nope.js")
    # then
    assert page.status_code == 200 and '<script type="module" src="/js/app.js">' in page.text
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()
    assert health.json()["status"] == "ok"
    assert missing.status_code == 404


def test_all_javascript_together_stays_under_100_kib() -> None:
    total = sum(path.stat().st_size for path in WEB.rglob("*.js"))
    assert 10_000 < total < 100 * 1024, total
