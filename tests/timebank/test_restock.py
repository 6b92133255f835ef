"""Restocking adds units (`restockRewardItem`): one conditional `stock = stock + units`, so a
redemption made after the admin read the stock is kept, under any mix of concurrent
redemptions and restocks; each restock is in the item's history; refusals write nothing."""

from __future__ import annotations

import asyncio

import pytest

from models.timebank import Redemption, RewardItem, RewardItemChange
from models.volunteer import VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, DomainError, Forbidden, NotFound
from resolvers.messages import EN, ZH, message_for
from resolvers.timebank import STOCK_MAX, check_restock, do_redeem, do_restock_reward_item
from schema.relay import to_global_id
from tests.activity.clients import bulk_volunteers
from tests.helpers import PASSWORD_HASH, execute, make_volunteer
from tests.timebank.factory import assert_ledger_consistent, grant, make_item

RESTOCK = """
mutation Restock($item: ID!, $units: Int!, $reason: String) {
  restockRewardItem(itemId: $item, units: $units, reason: $reason) {
    stock active history { action before after reason actor { displayName } }
  }
}
"""

ITEM_STOCK = "query Item($id: ID!) { node(id: $id) { ... on RewardItem { stock } } }"
REDEEM = "mutation Redeem($item: ID!) { redeem(itemId: $item) { id } }"
SET_STOCK = """
mutation Set($id: ID!, $stock: Int!) { updateRewardItem(id: $id, input: { stock: $stock }) { stock } }
"""


async def restock(admin, item_id: int, units: int, reason: str | None = None) -> RewardItem:
    return await do_restock_reward_item(await check_restock(Viewer(admin), item_id, units, reason))


async def test_a_restock_adds_units_and_is_kept_in_the_history(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    item = await make_item(admin, stock=4)
    # when
    restocked = await restock(admin, item.id, 16, "  新到一批  ")
    # then
    assert restocked.stock == 20 and (await RewardItem.get(id=item.id)).stock == 20
    change = await RewardItemChange.get(item_id=item.id)
    assert (change.action, change.actor_id, change.reason) == ("RESTOCK", admin.id, "新到一批")
    assert (change.before["stock"], change.after["stock"]) == (4, 20)
    assert {k: v for k, v in change.before.items() if k != "stock"} == {
        k: v for k, v in change.after.items() if k != "stock"}


async def test_refusals_are_coded_and_write_nothing(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    suspended_admin = await make_volunteer("停用管理员", platform_admin=True,
                                           status=VolunteerStatus.SUSPENDED)
    item = await make_item(admin, stock=STOCK_MAX - 5)
    # when
    refusals: list[DomainError] = []
    for who, item_id, units, reason in (
            (person, item.id, 5, None), (suspended_admin, item.id, 5, None),
            (admin, item.id + 1000, 5, None), (admin, item.id, 0, None),
            (admin, item.id, -3, None), (admin, item.id, STOCK_MAX + 1, None),
            (admin, item.id, 5, "长" * 501), (admin, item.id, 6, None)):
        with pytest.raises(DomainError) as refused:
            await restock(who, item_id, units, reason)
        refusals.append(refused.value)
    # then
    assert [type(r) for r in refusals] == [Forbidden, Forbidden, NotFound, BadInput, BadInput,
                                           BadInput, BadInput, Conflict]
    assert [r.extensions.get("field") for r in refusals[3:]] == [
        "units", "units", "units", "reason", "units"]
    assert refusals[-1].extensions == {"reason": "STOCK_LIMIT", "field": "units",
                                       "stockMax": STOCK_MAX}
    assert (await RewardItem.get(id=item.id)).stock == STOCK_MAX - 5
    assert await RewardItemChange.all().count() == 0
    # and up to the limit is fine
    assert (await restock(admin, item.id, 5)).stock == STOCK_MAX


async def test_a_retired_item_can_be_restocked_before_it_is_offered_again(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    await grant(person, 100)
    retired = await make_item(admin, stock=0, active=False)
    # when
    restocked = await restock(admin, retired.id, 8, "明年再上架")
    # then: stocked, still retired, so still not redeemable
    assert (restocked.stock, restocked.active) == (8, False)
    with pytest.raises(NotFound):
        await do_redeem(Viewer(person), retired.id)
    assert (await RewardItem.get(id=retired.id)).stock == 8


async def test_a_redemption_after_the_admin_read_the_stock_is_kept(db):
    # given: the admin reads 5 units left, then a volunteer redeems one
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    await grant(person, 100)
    item = await make_item(admin, cost=30, stock=5)
    gid = to_global_id("RewardItem", item.id)
    seen = (await execute(ITEM_STOCK, {"id": gid}, as_=admin)).ok()["node"]["stock"]
    (await execute(REDEEM, {"item": gid}, as_=person)).ok()
    # when the admin adds 10 to what they saw
    result = await execute(RESTOCK, {"item": gid, "units": 10, "reason": "新到一批"}, as_=admin)
    # then the redemption is not undone: 5 - 1 + 10
    restocked = result.ok()["restockRewardItem"]
    assert seen == 5 and restocked["stock"] == 14
    assert (await RewardItem.get(id=item.id)).stock == 14
    change = restocked["history"][-1]
    assert (change["action"], change["before"]["stock"], change["after"]["stock"]) == (
        "RESTOCK", 4, 14)
    assert (change["reason"], change["actor"]["displayName"]) == ("新到一批", "管理员")
    # (where setting the stock to what the admin saw plus 10 would have made a unit from nothing)
    overwritten = await execute(SET_STOCK, {"id": gid, "stock": seen + 10}, as_=admin)
    assert overwritten.ok()["updateRewardItem"]["stock"] == 15


async def test_refusals_through_graphql_carry_their_code_field_and_reason(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    item = await make_item(admin, stock=STOCK_MAX - 1)
    gid = to_global_id("RewardItem", item.id)
    # when
    anonymous = await execute(RESTOCK, {"item": gid, "units": 1})
    volunteer = await execute(RESTOCK, {"item": gid, "units": 1}, as_=person)
    missing = await execute(RESTOCK, {"item": to_global_id("RewardItem", item.id + 1000),
                                      "units": 1}, as_=admin)
    wrong_type = await execute(RESTOCK, {"item": to_global_id("Activity", item.id),
                                         "units": 1}, as_=admin)
    zero = await execute(RESTOCK, {"item": gid, "units": 0}, as_=admin)
    too_long = await execute(RESTOCK, {"item": gid, "units": 1, "reason": "长" * 501}, as_=admin)
    past_limit = await execute(RESTOCK, {"item": gid, "units": 2}, as_=admin)
    # then
    assert [r.codes for r in (anonymous, volunteer, missing)] == [
        ["UNAUTHENTICATED"], ["FORBIDDEN"], ["NOT_FOUND"]]
    assert [(r.codes, r.errors[0]["extensions"].get("field")) for r in (wrong_type, zero, too_long)] == [
        (["BAD_USER_INPUT"], "itemId"), (["BAD_USER_INPUT"], "units"), (["BAD_USER_INPUT"], "reason")]
    assert past_limit.errors[0]["extensions"] == {
        "code": "CONFLICT", "reason": "STOCK_LIMIT", "field": "units", "stockMax": STOCK_MAX}
    assert (await RewardItem.get(id=item.id)).stock == STOCK_MAX - 1
    assert await RewardItemChange.all().count() == 0


def test_refusals_are_worded_in_chinese_and_english():
    # given
    limit = {"reason": "STOCK_LIMIT", "field": "units", "stockMax": STOCK_MAX}
    # then
    assert message_for(ZH, "CONFLICT", limit, "x") == (
        f"补货后库存将超过上限 {STOCK_MAX} 件，请减少补货数量。")
    assert message_for(ZH, "BAD_USER_INPUT", {"field": "units"}, "x") == "“补货数量”填写有误，请检查。"
    assert message_for(EN, "CONFLICT", limit, "Adding 6 units…") == "Adding 6 units…"


async def test_concurrent_redemptions_and_restocks_add_up_exactly(db):
    # given: 60 people with points for one unit each, 10 units, and 30 restocks of 2 units
    # each fired in between the redemptions
    admin = await make_volunteer("管理员", platform_admin=True)
    crowd = await bulk_volunteers(60, PASSWORD_HASH, prefix="补")
    for person in crowd:
        await grant(person, 20)
    item = await make_item(admin, title="爱心大米", cost=20, stock=10)

    async def redeem(person) -> str:
        try:
            await do_redeem(Viewer(person), item.id)
            return "REDEEMED"
        except Conflict as exc:
            return str(exc.extensions["reason"])

    async def add_two() -> str:
        await restock(admin, item.id, 2)
        return "RESTOCKED"

    attempts = []
    for index, person in enumerate(crowd):
        attempts.append(redeem(person))
        if index % 2:
            attempts.append(add_two())
    # when
    outcomes = await asyncio.gather(*attempts)
    # then
    redeemed = outcomes.count("REDEEMED")
    assert outcomes.count("RESTOCKED") == 30
    assert set(outcomes) <= {"REDEEMED", "OUT_OF_STOCK", "RESTOCKED"}
    assert redeemed > 0
    assert (await RewardItem.get(id=item.id)).stock == 10 + 30 * 2 - redeemed
    assert await Redemption.filter(item_id=item.id).count() == redeemed
    changes = await RewardItemChange.filter(item_id=item.id, action="RESTOCK")
    assert len(changes) == 30
    assert all(c.after["stock"] - c.before["stock"] == 2 and c.before["stock"] >= 0
               for c in changes)
    await assert_ledger_consistent()


async def test_concurrent_restocks_never_pass_the_limit(db):
    # given room for 5 more units
    admin = await make_volunteer("管理员", platform_admin=True)
    item = await make_item(admin, stock=STOCK_MAX - 5)

    async def add(units: int) -> str:
        try:
            await restock(admin, item.id, units)
            return "RESTOCKED"
        except Conflict as exc:
            return str(exc.extensions["reason"])

    # when: eight admins' restocks of 3 at once
    outcomes = await asyncio.gather(*(add(3) for _ in range(8)))
    # then exactly one fits
    assert sorted(outcomes) == ["RESTOCKED"] + ["STOCK_LIMIT"] * 7
    assert (await RewardItem.get(id=item.id)).stock == STOCK_MAX - 2
    assert await RewardItemChange.filter(item_id=item.id).count() == 1
