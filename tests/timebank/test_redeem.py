"""Redeeming catalogue items: stock and balance are taken together or not at all, never below
zero, under hundreds of concurrent redemptions; retries with a key spend once."""

from __future__ import annotations

import asyncio

from models.hours import PointsEntry, PointsKind
from models.timebank import Redemption, RewardItem
from resolvers.auth import Viewer
from resolvers.errors import Conflict, DomainError
from resolvers.timebank import do_redeem
from schema.relay import to_global_id
from tests.activity.clients import bulk_volunteers
from tests.helpers import PASSWORD_HASH, execute, make_volunteer
from tests.timebank.factory import assert_ledger_consistent, balance, grant, make_item

REDEEM = """
mutation Redeem($item: ID!, $quantity: Int, $key: String) {
  redeem(itemId: $item, quantity: $quantity, idempotencyKey: $key) {
    id quantity points item { title stock }
    volunteer { points }
  }
}
"""


async def test_redeem_takes_stock_and_points_together(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    item = await make_item(admin, cost=30, stock=5)
    await grant(person, 100)
    # when
    result = await execute(REDEEM, {"item": to_global_id("RewardItem", item.id), "quantity": 2},
                           as_=person)
    # then
    redeemed = result.ok()["redeem"]
    assert redeemed["points"] == 60
    assert redeemed["item"]["stock"] == 3
    assert redeemed["volunteer"]["points"] == 40
    entry = await PointsEntry.filter(volunteer_id=person.id, kind=PointsKind.REDEEM).get()
    assert (entry.delta, entry.balance_after, entry.actor_id) == (-60, 40, person.id)
    await assert_ledger_consistent()


async def test_short_balance_or_stock_is_a_conflict_and_writes_nothing(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    dear = await make_item(admin, title="理发服务", cost=80, stock=5)
    scarce = await make_item(admin, title="电影票", cost=10, stock=1)
    await grant(person, 50)
    # when
    poor = await execute(REDEEM, {"item": to_global_id("RewardItem", dear.id)}, as_=person)
    sold_out = await execute(REDEEM, {"item": to_global_id("RewardItem", scarce.id),
                                      "quantity": 2}, as_=person)
    # then
    assert poor.codes == ["CONFLICT"] and sold_out.codes == ["CONFLICT"]
    assert (await RewardItem.get(id=dear.id)).stock == 5
    assert (await RewardItem.get(id=scarce.id)).stock == 1
    assert await Redemption.all().count() == 0
    assert await balance(person) == 50


async def test_bad_input_and_unknown_items(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    item = await make_item(admin)
    retired = await make_item(admin, title="旧商品", active=False)
    gid = to_global_id("RewardItem", item.id)
    # when
    zero = await execute(REDEEM, {"item": gid, "quantity": 0}, as_=person)
    long_key = await execute(REDEEM, {"item": gid, "key": "k" * 65}, as_=person)
    wrong_type = await execute(REDEEM, {"item": to_global_id("Activity", item.id)}, as_=person)
    gone = await execute(REDEEM, {"item": to_global_id("RewardItem", retired.id)}, as_=person)
    anonymous = await execute(REDEEM, {"item": gid})
    # then
    assert zero.codes == ["BAD_USER_INPUT"] and zero.errors[0]["extensions"]["field"] == "quantity"
    assert long_key.errors[0]["extensions"]["field"] == "idempotencyKey"
    assert wrong_type.errors[0]["extensions"]["field"] == "itemId"
    assert gone.codes == ["NOT_FOUND"]
    assert anonymous.codes == ["UNAUTHENTICATED"]


async def test_a_retried_key_redeems_once(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    item = await make_item(admin, cost=10, stock=10)
    await grant(person, 100)
    viewer = Viewer(person)
    # when: the same request five times at once, then once more later
    results = await asyncio.gather(*(do_redeem(viewer, item.id, 1, "order-1") for _ in range(5)))
    again = await do_redeem(viewer, item.id, 1, "order-1")
    # then
    assert {r.id for r in results} == {again.id}
    assert (await RewardItem.get(id=item.id)).stock == 9
    assert await balance(person) == 90
    other = await execute(REDEEM, {"item": to_global_id("RewardItem", item.id), "quantity": 3,
                                   "key": "order-1"}, as_=person)
    assert other.codes == ["CONFLICT"]


async def test_hundreds_of_concurrent_redemptions_never_go_below_zero(db):
    # given: 300 people with points for one unit each race for 120 units, while one person
    # with points for 5 units fires 60 requests at an item with plenty of stock
    admin = await make_volunteer("管理员", platform_admin=True)
    crowd = await bulk_volunteers(300, PASSWORD_HASH, prefix="兑")
    hot = await make_item(admin, title="爱心大米", cost=20, stock=120)
    plenty = await make_item(admin, title="公交卡充值", cost=20, stock=1000)
    for person in crowd:
        await grant(person, 20)
    spender = await make_volunteer("李强")
    await grant(spender, 100)

    async def attempt(person, item_id: int) -> str:
        try:
            await do_redeem(Viewer(person), item_id)
            return "OK"
        except DomainError as exc:
            assert isinstance(exc, Conflict), exc
            return exc.extensions["reason"]

    # when
    outcomes = await asyncio.gather(
        *(attempt(person, hot.id) for person in crowd),
        *(attempt(spender, plenty.id) for _ in range(60)))
    # then
    crowd_outcomes, spender_outcomes = outcomes[:300], outcomes[300:]
    assert crowd_outcomes.count("OK") == 120
    assert set(crowd_outcomes) == {"OK", "OUT_OF_STOCK"}
    assert (await RewardItem.get(id=hot.id)).stock == 0
    assert spender_outcomes.count("OK") == 5
    assert set(spender_outcomes) == {"OK", "INSUFFICIENT_POINTS"}
    assert (await RewardItem.get(id=plenty.id)).stock == 995
    assert await balance(spender) == 0
    assert await Redemption.filter(item_id=hot.id).count() == 120
    winners = {r.volunteer_id for r in await Redemption.filter(item_id=hot.id)}
    for person in crowd:
        assert await balance(person) == (0 if person.id in winners else 20)
    await assert_ledger_consistent()
