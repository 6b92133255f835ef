"""The caller's inbox: listing, unread filter, marking read, node visibility, subjects."""

from __future__ import annotations

from models.notification import Notification
from resolvers.notification import create_notification
from schema.relay import to_global_id
from tests.helpers import count_statements, execute, make_team, make_volunteer

INBOX = """
query Inbox($first: Int, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id kind title body read createdAt subject { id } } }
  }
  unreadNotificationCount
}
"""

MARK_READ = "mutation Mark($ids: [ID!]) { markNotificationsRead(ids: $ids) }"

NODE = "query Node($id: ID!) { node(id: $id) { id ... on Notification { title } } }"

SUBJECT = """
{ notifications(first: 5) { edges { node { subject { id ... on Team { name } } } } } }
"""


async def _notify(person, count: int, kind: str = "TEST") -> list[Notification]:
    return [await create_notification(person.id, kind, f"标题{i}", f"正文{i}") for i in range(count)]


async def test_inbox_lists_only_own_notifications_newest_first(db):
    # given
    me = await make_volunteer("李明")
    other = await make_volunteer("王芳")
    mine = await _notify(me, 3)
    await _notify(other, 2)
    # when
    with count_statements() as statements:
        result = await execute(INBOX, {"first": 2}, as_=me)
    # then
    data = result.ok()["notifications"]
    titles = [edge["node"]["title"] for edge in data["edges"]]
    assert titles == ["标题2", "标题1"]
    assert data["totalCount"] == 3
    assert data["pageInfo"]["hasNextPage"] is True
    assert result.data["unreadNotificationCount"] == 3
    assert len(statements) == 3, statements  # page, total, unread count
    # and the next page continues where the first ended
    rest = (await execute(INBOX, {"first": 2, "after": data["pageInfo"]["endCursor"]}, as_=me)).ok()
    assert [e["node"]["title"] for e in rest["notifications"]["edges"]] == ["标题0"]
    assert rest["notifications"]["edges"][0]["node"]["id"] == to_global_id("Notification", mine[0].id)


async def test_unread_only_and_mark_selected_read(db):
    # given
    me = await make_volunteer("李明")
    other = await make_volunteer("王芳")
    first, _, third = await _notify(me, 3)
    foreign = (await _notify(other, 1))[0]
    ids = [to_global_id("Notification", n.id) for n in (first, third, foreign)]
    # when
    changed = (await execute(MARK_READ, {"ids": ids}, as_=me)).ok()["markNotificationsRead"]
    # then: only my two changed; the other person's stays unread
    assert changed == 2
    unread = (await execute(INBOX, {"unreadOnly": True}, as_=me)).ok()["notifications"]
    assert [e["node"]["title"] for e in unread["edges"]] == ["标题1"]
    assert (await Notification.get(id=foreign.id)).read is False
    # and marking again changes nothing
    assert (await execute(MARK_READ, {"ids": ids}, as_=me)).ok()["markNotificationsRead"] == 0


async def test_mark_all_read(db):
    # given
    me = await make_volunteer("李明")
    await _notify(me, 4)
    # when
    changed = (await execute(MARK_READ, {}, as_=me)).ok()["markNotificationsRead"]
    # then
    assert changed == 4
    assert (await execute(INBOX, {"unreadOnly": True}, as_=me)).ok()["notifications"]["totalCount"] == 0


async def test_bad_input_and_anonymous(db):
    # given
    me = await make_volunteer("李明")
    await _notify(me, 1)
    team_id = to_global_id("Team", 1)
    # when
    wrong_type = await execute(MARK_READ, {"ids": [team_id]}, as_=me)
    garbage = await execute(MARK_READ, {"ids": ["%%%"]}, as_=me)
    anonymous_list = await execute(INBOX)
    anonymous_mark = await execute(MARK_READ)
    # then
    assert wrong_type.codes == ["BAD_USER_INPUT"]
    assert wrong_type.errors[0]["extensions"]["field"] == "ids"
    assert garbage.codes == ["BAD_USER_INPUT"]
    assert anonymous_list.codes == ["UNAUTHENTICATED"]
    assert anonymous_mark.codes == ["UNAUTHENTICATED"]
    assert await Notification.filter(read=True).count() == 0


async def test_node_is_visible_to_its_owner_only(db):
    # given
    me = await make_volunteer("李明")
    other = await make_volunteer("王芳")
    (note,) = await _notify(me, 1)
    gid = to_global_id("Notification", note.id)
    # when
    own = await execute(NODE, {"id": gid}, as_=me)
    foreign = await execute(NODE, {"id": gid}, as_=other)
    anonymous = await execute(NODE, {"id": gid})
    # then
    assert own.ok()["node"]["title"] == "标题0"
    assert foreign.ok()["node"] is None
    assert anonymous.ok()["node"] is None


async def test_subject_resolves_through_node(db):
    # given
    me = await make_volunteer("李明")
    team = await make_team(me, "朝阳队")
    await create_notification(me.id, "TEAM", "t", "b", subject=("Team", team.id))
    await create_notification(me.id, "GONE", "t", "b", subject=("Team", 999_999))
    # when
    edges = (await execute(SUBJECT, as_=me)).ok()["notifications"]["edges"]
    # then
    assert edges[0]["node"]["subject"] is None
    assert edges[1]["node"]["subject"]["name"] == "朝阳队"
