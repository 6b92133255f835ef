"""The statement's reasons in the reader's language: the lines the server writes (redeemed,
donated, received, expired, hours decided) read in Chinese or English from Accept-Language,
rows written before this change included; a reason typed by hand reads as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from models.hours import PointsEntry, PointsKind
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours
from resolvers.messages import EN, ZH
from resolvers.timebank import do_donate_points, do_expire_points, do_redeem, post_entry
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import add_member, make_team, make_volunteer
from tests.hours.factory import make_activity, served, utc
from tests.timebank.factory import grant, make_item

REASONS = """
query Reasons($id: ID!) {
  node(id: $id) { ... on Volunteer { pointsStatement(first: 20) { edges { node { kind reason } } } } }
}
"""


async def reasons(person: Volunteer, language: str) -> list[tuple[str, str]]:
    """The statement, newest first, as a reader of `language` sees it."""
    context = Context(viewer=Viewer(person), client_address="127.0.0.1")
    context.language = language
    result = await schema.execute(REASONS, variable_values={"id": to_global_id("Volunteer", person.id)},
                                  context_value=context)
    assert result.errors is None, result.errors
    return [(edge["node"]["kind"], edge["node"]["reason"])
            for edge in result.data["node"]["pointsStatement"]["edges"]]


async def test_each_language_reads_the_lines_the_server_wrote_in_its_own_words(db):
    # given: hours approved, a reward redeemed, points given and received, a grant typed by hand
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳队")
    person = await make_volunteer("王芳")
    friend = await make_volunteer("刘洋")
    await add_member(team, person)
    activity = await make_activity(team, admin, starts_at=utc(2026, 3, 1, 9), hours=3)
    await do_approve_hours(Viewer(admin), (await served(activity, person, 3)).id)
    shop = await make_volunteer("管理员", platform_admin=True)
    item = await make_item(shop, title="爱心大米", cost=10, stock=5)
    await do_redeem(Viewer(person), item.id)
    await do_donate_points(Viewer(person), 5, to_volunteer_id=friend.id)
    await grant(friend, 3)
    await do_donate_points(Viewer(friend), 3, to_volunteer_id=person.id)
    await grant(person, 7, reason="社区活动补发")
    # when
    chinese = await reasons(person, ZH)
    english = await reasons(person, EN)
    # then
    assert chinese == [
        ("EARN", "社区活动补发"), ("DONATE_IN", "来自 刘洋 的爱心积分"), ("DONATE_OUT", "捐赠给 刘洋"),
        ("REDEEM", "兑换：爱心大米"), ("EARN", f"时长通过：{activity.title}")]
    assert english == [
        ("EARN", "社区活动补发"), ("DONATE_IN", "Points from 刘洋"), ("DONATE_OUT", "Donated to 刘洋"),
        ("REDEEM", "Redeemed: 爱心大米"), ("EARN", f"Hours approved: {activity.title}")]


async def test_rows_written_before_and_expiry_read_in_both_languages(db):
    # given: lines as the server stored them before (the same wording, no migration), and
    # points earned long ago that expire
    person = await make_volunteer("李明")
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        old = await post_entry(conn, person.id, 40, PointsKind.EARN, "adjust hours: 旧活动")
        assert old is not None
        await post_entry(conn, person.id, -10, PointsKind.REDEEM, "兑换：旧礼品")
        await PointsEntry.filter(volunteer_id=person.id).using_db(conn).update(
            created_at=now - timedelta(days=420))
    await do_expire_points(now, months=12)
    # when
    chinese = await reasons(person, ZH)
    english = await reasons(person, EN)
    # then
    assert chinese == [("EXPIRE", "积分过期（获得超过 12 个月）"), ("REDEEM", "兑换：旧礼品"),
                       ("EARN", "时长调整：旧活动")]
    assert english == [("EXPIRE", "Points expired (earned more than 12 months ago)"),
                       ("REDEEM", "Redeemed: 旧礼品"), ("EARN", "Hours adjusted: 旧活动")]
    # stored as written, whatever the reader's language
    assert await PointsEntry.filter(volunteer_id=person.id, kind=PointsKind.EXPIRE).values_list(
        "reason", flat=True) == ["积分过期（获得超过 12 个月）"]
