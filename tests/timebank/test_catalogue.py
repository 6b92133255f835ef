"""The catalogue: platform admins add, restock and retire items; every edit is audited;
everyone browses active items."""

from __future__ import annotations

from models.timebank import RewardItem, RewardItemChange
from schema.relay import to_global_id
from tests.helpers import execute, make_volunteer
from tests.timebank.factory import make_item

CREATE = """
mutation Create($input: RewardItemInput!) {
  createRewardItem(input: $input) { id title kind costPoints stock district active }
}
"""

UPDATE = """
mutation Update($id: ID!, $input: RewardItemUpdate!, $reason: String) {
  updateRewardItem(id: $id, input: $input, reason: $reason) {
    stock active history { action before after reason actor { displayName } }
  }
}
"""

CATALOGUE = """
query Catalogue($first: Int, $after: String, $all: Boolean) {
  rewardItems(first: $first, after: $after, includeInactive: $all) {
    totalCount edges { node { title costPoints stock } } pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_platform_admin_creates_an_item_and_it_is_audited(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    # when
    result = await execute(CREATE, {"input": {"title": "社区理发一次", "kind": "SERVICE",
                                              "costPoints": 40, "stock": 20,
                                              "district": "朝阳区"}}, as_=admin)
    # then
    item = result.ok()["createRewardItem"]
    assert (item["title"], item["kind"], item["costPoints"], item["stock"], item["active"]) == (
        "社区理发一次", "SERVICE", 40, 20, True)
    change = await RewardItemChange.get()
    assert change.action == "CREATE" and change.after["stock"] == 20


async def test_catalogue_input_is_validated_and_admin_only(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    valid = {"title": "爱心大米", "costPoints": 50, "stock": 10}
    # when
    forbidden = await execute(CREATE, {"input": valid}, as_=person)
    bad = [await execute(CREATE, {"input": {**valid, **change}}, as_=admin) for change in (
        {"title": " "}, {"costPoints": 0}, {"stock": -1}, {"title": "长" * 101})]
    # then
    assert forbidden.codes == ["FORBIDDEN"]
    assert [r.errors[0]["extensions"]["field"] for r in bad] == [
        "title", "costPoints", "stock", "title"]
    assert all(r.codes == ["BAD_USER_INPUT"] for r in bad)
    assert await RewardItem.all().count() == 0


async def test_restock_and_retire_keep_an_audit_trail(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    item = await make_item(admin, stock=3)
    gid = to_global_id("RewardItem", item.id)
    # when
    await execute(UPDATE, {"id": gid, "input": {"stock": 30}, "reason": "新到一批"}, as_=admin)
    result = await execute(UPDATE, {"id": gid, "input": {"active": False}}, as_=admin)
    # then
    updated = result.ok()["updateRewardItem"]
    assert (updated["stock"], updated["active"]) == (30, False)
    history = updated["history"]
    assert [h["action"] for h in history] == ["UPDATE", "UPDATE"]
    assert (history[0]["before"]["stock"], history[0]["after"]["stock"]) == (3, 30)
    assert history[0]["reason"] == "新到一批"
    assert history[1]["actor"]["displayName"] == "管理员"


async def test_volunteers_browse_active_items_page_by_page(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    for index in range(5):
        await make_item(admin, title=f"奖品{index}", cost=10 + index)
    await make_item(admin, title="已下架", active=False)
    # when
    first = (await execute(CATALOGUE, {"first": 3}, as_=person)).ok()["rewardItems"]
    rest = (await execute(CATALOGUE, {"first": 3, "after": first["pageInfo"]["endCursor"]},
                          as_=person)).ok()["rewardItems"]
    retired_for_volunteer = await execute(CATALOGUE, {"all": True}, as_=person)
    everything = (await execute(CATALOGUE, {"all": True}, as_=admin)).ok()["rewardItems"]
    # then
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"]
    titles = [e["node"]["title"] for e in first["edges"] + rest["edges"]]
    assert titles == [f"奖品{i}" for i in range(5)]
    assert retired_for_volunteer.codes == ["FORBIDDEN"]
    assert everything["totalCount"] == 6
