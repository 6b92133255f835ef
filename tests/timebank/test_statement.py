"""Statements: every entry with its running balance, newest first, private to the volunteer,
one query per page whatever its size; approved hours land in the same ledger."""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from models.hours import PointsEntry, PointsKind
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours, do_reject_hours
from resolvers.timebank import do_donate_points, do_expire_points, do_redeem, post_entry
from schema.relay import to_global_id
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc
from tests.timebank.factory import assert_ledger_consistent, balance, grant, make_item

STATEMENT = """
query Statement($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on Volunteer { points pointsStatement(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { kind delta balanceAfter reason
      redemption { quantity item { title } } transfer { fromVolunteer { displayName } }
      serviceRecord { hours } } }
  } } }
}
"""


async def test_statement_shows_every_movement_with_its_running_balance(db):
    # given
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    friend = await make_volunteer("刘洋")
    item = await make_item(admin, title="爱心大米", cost=30, stock=5)
    await grant(person, 100)
    await do_redeem(Viewer(person), item.id)
    await do_donate_points(Viewer(person), 20, to_volunteer_id=friend.id)
    await grant(friend, 5)
    await do_donate_points(Viewer(friend), 5, to_volunteer_id=person.id)
    # when
    result = await execute(STATEMENT, {"id": to_global_id("Volunteer", person.id)}, as_=person)
    # then
    volunteer = result.ok()["node"]
    lines = [e["node"] for e in volunteer["pointsStatement"]["edges"]]
    assert [(line["kind"], line["delta"], line["balanceAfter"]) for line in lines] == [
        ("DONATE_IN", 5, 55), ("DONATE_OUT", -20, 50), ("REDEEM", -30, 70), ("EARN", 100, 100)]
    assert lines[2]["redemption"]["item"]["title"] == "爱心大米"
    assert lines[0]["transfer"]["fromVolunteer"]["displayName"] == "刘洋"
    assert volunteer["points"] == 55


async def test_statement_is_private(db):
    # given
    person = await make_volunteer("王芳")
    other = await make_volunteer("陌生人")
    admin = await make_volunteer("管理员", platform_admin=True)
    await grant(person, 10)
    gid = to_global_id("Volunteer", person.id)
    # when
    stranger = await execute(STATEMENT, {"id": gid}, as_=other)
    platform = await execute(STATEMENT, {"id": gid}, as_=admin)
    # then
    assert stranger.codes == ["FORBIDDEN"]
    assert platform.ok()["node"]["pointsStatement"]["totalCount"] == 1


async def test_statement_queries_do_not_grow_with_page_size(db):
    # given: redemptions and donations, whose lines each load related rows
    admin = await make_volunteer("管理员", platform_admin=True)
    person = await make_volunteer("王芳")
    friend = await make_volunteer("刘洋")
    item = await make_item(admin, cost=1, stock=100)
    await grant(person, 200)
    for index in range(30):
        if index % 2:
            await do_redeem(Viewer(person), item.id)
        else:
            await do_donate_points(Viewer(person), 1, to_volunteer_id=friend.id)
    gid = to_global_id("Volunteer", person.id)
    # when
    with count_statements() as small:
        (await execute(STATEMENT, {"id": gid, "first": 2}, as_=person)).ok()
    with count_statements() as large:
        page = (await execute(STATEMENT, {"id": gid, "first": 25}, as_=person)).ok()
    # then
    assert len(page["node"]["pointsStatement"]["edges"]) == 25
    assert len(large) == len(small)


async def test_approvals_and_rejections_post_to_the_same_ledger(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    person = await make_volunteer("李明")
    await add_member(team, person)
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=3)
    record = await served(activity, person, 3)
    shop = await make_volunteer("管理员", platform_admin=True)
    item = await make_item(shop, cost=25, stock=5)
    # when: approved (30 points), 25 spent, then the hours are rejected after all
    await do_approve_hours(Viewer(admin), record.id)
    await do_redeem(Viewer(person), item.id)
    await do_reject_hours(Viewer(admin), record.id, "签到记录有误")
    # then: the reversal is recorded in full, even though it overdraws the account
    entries = await PointsEntry.filter(volunteer_id=person.id).order_by("id").values_list(
        "kind", "delta", "balance_after", "actor_id")
    assert entries == [(PointsKind.EARN, 30, 30, admin.id), (PointsKind.REDEEM, -25, 5, person.id),
                       (PointsKind.EARN, -30, -25, admin.id)]
    assert await balance(person) == -25
    await assert_ledger_consistent()


async def test_expiry_is_off_by_default_and_expires_the_oldest_unspent_points(db):
    # given: 100 points earned 14 months ago, 40 spent since, 50 earned last month
    person = await make_volunteer("王芳")
    now = utc(2026, 12, 1)
    async with in_transaction() as conn:
        for delta, kind, age in ((100, PointsKind.EARN, 420), (-40, PointsKind.REDEEM, 200),
                                 (50, PointsKind.EARN, 30)):
            entry = await post_entry(conn, person.id, delta, kind, "测试")
            assert entry is not None
            await PointsEntry.filter(id=entry.id).using_db(conn).update(
                created_at=now - timedelta(days=age))
    # when
    off = await do_expire_points(now)
    expired = await do_expire_points(now, months=12)
    again = await do_expire_points(now, months=12)
    # then: 60 of the old points were never spent and expire; last month's stay
    assert (off, expired, again) == (0, 60, 0)
    assert await balance(person) == 50
    assert await PointsEntry.filter(volunteer_id=person.id, kind=PointsKind.EXPIRE).count() == 1
    await assert_ledger_consistent()
