"""Time-bank fixtures: points granted straight into the ledger, catalogue items, invariants."""

from __future__ import annotations

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models.hours import PointsEntry, PointsKind
from models.timebank import PointsAccount, RewardItem
from models.volunteer import Volunteer
from resolvers.timebank import post_entry


async def grant(volunteer: Volunteer, points: int, reason: str = "测试发放") -> None:
    """Credit points as approved hours would (an EARN entry through the ledger)."""
    async with in_transaction() as conn:
        await post_entry(conn, volunteer.id, points, PointsKind.EARN, reason)


async def make_item(admin: Volunteer, *, title: str = "爱心大米 5kg", cost: int = 50,
                    stock: int = 10, active: bool = True) -> RewardItem:
    return await RewardItem.create(title=title, description="社区服务站领取", cost_points=cost,
                                   stock=stock, active=active, created_by=admin)


async def balance(volunteer: Volunteer) -> int:
    account = await PointsAccount.get_or_none(volunteer_id=volunteer.id)
    return account.balance if account else 0


async def assert_ledger_consistent() -> None:
    """Every account equals its ledger's sum, and each entry's balance_after is the running
    total of that volunteer's entries in id order (the order they took the account lock)."""
    entries = await PointsEntry.all().order_by("id")
    running: dict[int, int] = {}
    for entry in entries:
        running[entry.volunteer_id] = running.get(entry.volunteer_id, 0) + entry.delta
        assert entry.balance_after == running[entry.volunteer_id], entry.id
    sums = await PointsEntry.annotate(total=Sum("delta")).group_by("volunteer_id").values(
        "volunteer_id", "total")
    accounts = {a.volunteer_id: a.balance for a in await PointsAccount.all()}
    assert {row["volunteer_id"]: int(row["total"]) for row in sums} == {
        k: v for k, v in accounts.items() if k in running}
