"""Redemptions through a real two-worker server: 200 people at once for 80 units, each with
points for two units, each sending two requests (so stock and balances are both contended)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.timebank import Redemption, RewardItem
from schema.relay import to_global_id
from tests.activity.clients import bulk_volunteers
from tests.helpers import PASSWORD_HASH, make_volunteer, token_for
from tests.timebank.factory import assert_ledger_consistent, balance, grant, make_item

pytestmark = pytest.mark.e2e

REDEEM = "mutation R($id: ID!) { redeem(itemId: $id) { points } }"


async def test_two_workers_never_oversell_or_overdraw(db, pair_server):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    people = await bulk_volunteers(200, PASSWORD_HASH, prefix="米")
    for person in people:
        await grant(person, 25)  # enough for one unit of 20, not two
    item = await make_item(admin, title="爱心大米", cost=20, stock=80)
    gid = to_global_id("RewardItem", item.id)
    server = pair_server
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def redeem(token: str) -> str:
            response = await client.post(server.url, json={
                "query": REDEEM, "variables": {"id": gid}},
                headers={"Authorization": f"Bearer {token}"})
            body = response.json()
            if body.get("errors"):
                return str(body["errors"][0]["extensions"]["code"])
            return "OK"

        # when
        outcomes = await asyncio.gather(*(redeem(token_for(person))
                                          for person in people for _ in range(2)))
    # then
    assert outcomes.count("OK") == 80
    assert set(outcomes) == {"OK", "CONFLICT"}
    assert (await RewardItem.get(id=item.id)).stock == 0
    redemptions = await Redemption.filter(item_id=item.id)
    buyers = [r.volunteer_id for r in redemptions]
    assert len(buyers) == len(set(buyers)) == 80  # nobody could pay for a second unit
    for person in people:
        assert await balance(person) == (5 if person.id in set(buyers) else 25)
    await assert_ledger_consistent()
