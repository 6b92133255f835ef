"""Service desk: opening a ticket with the platform or a team, the conversation and its statuses,
who sees what (NOT_FOUND for everyone else), coded refusals that write nothing, drafts kept on
the server, the rate limit, lists without N+1, and the first-reply figure in the stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.draft import Draft
from models.notification import Notification
from models.servicedesk import ServiceTicket, ServiceTicketMessage, TicketStatus
from resolvers import servicedesk as desk
from resolvers.auth import Viewer
from resolvers.draft import do_save_draft
from resolvers.errors import BadInput, NotFound, RateLimited
from schema.relay import to_global_id
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

OPEN = """
mutation O($subject: String!, $body: String!, $client: String!, $team: ID, $asTeam: ID,
           $urls: [String!], $draft: String) {
  openServiceTicket(subject: $subject, body: $body, clientId: $client, teamId: $team,
                    asTeamId: $asTeam, attachmentUrls: $urls, draftKey: $draft) {
    id subject status slaBreached firstReplyAt team { name } requesterTeam { name }
    opener { displayName phoneMasked }
    messages { edges { node { body attachmentUrls fromStaff } } } } }
"""
POST = """
mutation P($ticket: ID!, $body: String!, $client: String!, $urls: [String!], $draft: String) {
  postServiceTicketMessage(ticketId: $ticket, body: $body, clientId: $client,
                           attachmentUrls: $urls, draftKey: $draft) {
    body fromStaff authorName attachmentUrls } }
"""
RESOLVE = "mutation R($ticket: ID!) { resolveServiceTicket(ticketId: $ticket) { status resolvedAt } }"
TICKET = """
query T($id: ID!) { serviceTicket(id: $id) { subject status firstReplyAt
  messages { totalCount edges { node { body fromStaff } } } } }
"""
MINE = "query { myServiceTickets { totalCount edges { node { subject status } } } }"
QUEUE = """
query Q($team: ID, $status: ServiceTicketStatus, $first: Int) {
  serviceDeskQueue(teamId: $team, status: $status, first: $first) {
    totalCount edges { node { subject status slaBreached firstReplyDueAt opener { displayName }
      team { name } requesterTeam { name }
      messages(first: 3) { edges { node { body authorName author { displayName } } } } } } } }
"""
STATS = """
query { stats { registered serviceDesk { windowDays firstReplyHours tickets counted
  answeredWithin shareAnsweredWithin medianFirstReplyMinutes } } }
"""


def gid(kind: str, db_id: int) -> str:
    return str(to_global_id(kind, db_id))


def _open_vars(**extra):
    return {"subject": "服务时长没有到账", "body": "上周六的活动时长还没有记录，请帮忙查看。",
            "client": "open-1", **extra}


async def _people():
    admin = await make_volunteer("平台客服", platform_admin=True)
    asker = await make_volunteer("李明")
    captain = await make_volunteer("队长王强")
    team = await make_team(captain, "朝阳门社区志愿服务队")
    await add_member(team, asker)
    return admin, asker, captain, team


async def test_a_platform_ticket_goes_back_and_forth_and_the_staff_reply_stops_the_clock(db):
    # given
    admin, asker, _, _ = await _people()
    # when
    opened = (await execute(OPEN, _open_vars(urls=["https://img.example.cn/a.png"]),
                            as_=asker)).ok()["openServiceTicket"]
    ticket_id = opened["id"]
    reply = await execute(POST, {"ticket": ticket_id, "body": "已为您补录，请查收。",
                                 "client": "r-1"}, as_=admin)
    # then
    assert (opened["status"], opened["team"], opened["firstReplyAt"]) == ("OPEN", None, None)
    assert opened["opener"]["displayName"] == "李明"
    assert opened["opener"]["phoneMasked"] is not None and "****" in opened["opener"]["phoneMasked"]
    assert opened["messages"]["edges"][0]["node"] == {
        "body": "上周六的活动时长还没有记录，请帮忙查看。",
        "attachmentUrls": ["https://img.example.cn/a.png"], "fromStaff": False}
    assert reply.ok()["postServiceTicketMessage"]["fromStaff"] is True
    assert await Notification.filter(volunteer_id=admin.id, kind=desk.TICKET_OPENED).count() == 1
    assert await Notification.filter(volunteer_id=asker.id, kind=desk.TICKET_REPLY).count() == 1
    seen = (await execute(TICKET, {"id": ticket_id}, as_=asker)).ok()["serviceTicket"]
    assert seen["status"] == "WAITING_FOR_USER" and seen["firstReplyAt"] is not None
    # the opener answers (OPEN again), resolves; a new message reopens it
    await execute(POST, {"ticket": ticket_id, "body": "收到，谢谢", "client": "u-2"}, as_=asker)
    assert (await ServiceTicket.get()).status == TicketStatus.OPEN
    resolved = (await execute(RESOLVE, {"ticket": ticket_id}, as_=asker)).ok()
    assert resolved["resolveServiceTicket"]["status"] == "RESOLVED"
    await execute(POST, {"ticket": ticket_id, "body": "还有一个问题", "client": "u-3"}, as_=asker)
    ticket = await ServiceTicket.get()
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.OPEN, None)
    mine = (await execute(MINE, as_=asker)).ok()["myServiceTickets"]
    assert mine["totalCount"] == 1


async def test_only_the_opener_side_and_the_addressed_staff_see_a_ticket(db):
    # given: a ticket to the team's admins
    admin, asker, captain, team = await _people()
    member = await make_volunteer("张丽")
    await add_member(team, member)
    opened = (await execute(OPEN, _open_vars(team=gid("Team", team.id)), as_=asker)).ok()
    ticket_id = opened["openServiceTicket"]["id"]
    # then: the opener and the team's admin see it and may write
    assert opened["openServiceTicket"]["team"]["name"] == "朝阳门社区志愿服务队"
    assert (await execute(TICKET, {"id": ticket_id}, as_=captain)).ok()["serviceTicket"]
    staff = await execute(POST, {"ticket": ticket_id, "body": "您好", "client": "c"}, as_=captain)
    assert staff.ok()["postServiceTicketMessage"]["fromStaff"] is True
    # a team member, a stranger and even a platform admin are told NOT_FOUND, write nothing
    for outsider in (member, await make_volunteer("路人"), admin):
        assert (await execute(TICKET, {"id": ticket_id}, as_=outsider)).codes == ["NOT_FOUND"]
        posted = await execute(POST, {"ticket": ticket_id, "body": "x", "client": "x"},
                               as_=outsider)
        assert posted.codes == ["NOT_FOUND"]
        assert (await execute(RESOLVE, {"ticket": ticket_id}, as_=outsider)).codes == ["NOT_FOUND"]
        node = await execute("query($id: ID!) { node(id: $id) { id } }", {"id": ticket_id},
                             as_=outsider)
        assert node.ok()["node"] is None
    assert (await execute(QUEUE, {"team": gid("Team", team.id)}, as_=member)).codes == [
        "FORBIDDEN"]
    assert (await execute(QUEUE, {}, as_=captain)).codes == ["FORBIDDEN"]
    assert (await execute(TICKET, {"id": ticket_id})).codes == ["UNAUTHENTICATED"]
    assert await ServiceTicketMessage.all().count() == 2
    queue = (await execute(QUEUE, {"team": gid("Team", team.id)}, as_=captain)).ok()
    assert queue["serviceDeskQueue"]["totalCount"] == 1
    assert (await execute(QUEUE, {}, as_=admin)).ok()["serviceDeskQueue"]["totalCount"] == 0


async def test_a_team_opens_a_ticket_with_the_platform_through_its_admins(db):
    # given
    admin, asker, captain, team = await _people()
    deputy = await make_volunteer("副队长")
    await add_member(team, deputy)
    await team.memberships.filter(volunteer_id=deputy.id).update(role="ADMIN")
    # when
    opened = (await execute(OPEN, _open_vars(asTeam=gid("Team", team.id)), as_=captain)).ok()
    ticket_id = opened["openServiceTicket"]["id"]
    # then: another admin of the team is on the opener side; a plain member is not
    assert opened["openServiceTicket"]["requesterTeam"]["name"] == "朝阳门社区志愿服务队"
    written = await execute(POST, {"ticket": ticket_id, "body": "补充材料", "client": "d"},
                            as_=deputy)
    assert written.ok()["postServiceTicketMessage"]["fromStaff"] is False
    assert (await execute(MINE, as_=deputy)).ok()["myServiceTickets"]["totalCount"] == 1
    assert (await execute(TICKET, {"id": ticket_id}, as_=asker)).codes == ["NOT_FOUND"]
    assert (await execute(OPEN, _open_vars(asTeam=gid("Team", team.id), client="m"),
                          as_=asker)).codes == ["FORBIDDEN"]
    queue = (await execute(QUEUE, {"status": "OPEN"}, as_=admin)).ok()["serviceDeskQueue"]
    assert [edge["node"]["subject"] for edge in queue["edges"]] == ["服务时长没有到账"]


@pytest.mark.parametrize(("change", "field"), [
    ({"subject": " "}, "subject"),
    ({"subject": "长" * 201}, "subject"),
    ({"body": ""}, "body"),
    ({"body": "长" * 4001}, "body"),
    ({"urls": ["javascript:alert(1)"]}, "attachmentUrls"),
    ({"urls": ["ftp://files.example.cn/a.pdf"]}, "attachmentUrls"),
    ({"urls": ["https://" + "a" * 500 + ".cn"]}, "attachmentUrls"),
    ({"urls": [f"https://img.example.cn/{i}.png" for i in range(6)]}, "attachmentUrls"),
    ({"draft": "bad key!"}, "draftKey"),
])
async def test_bad_input_is_refused_with_nothing_written(db, change, field):
    # given
    _, asker, _, _ = await _people()
    # when
    result = await execute(OPEN, _open_vars(**change), as_=asker)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert await ServiceTicket.all().count() == 0
    assert await ServiceTicketMessage.all().count() == 0
    assert await Notification.all().count() == 0


async def test_rules_refuse_both_addressees_and_unknown_teams(db):
    # given
    _, asker, _, team = await _people()
    message = desk.MessageData(body="你好", client_id="c1")
    # when / then
    with pytest.raises(BadInput):
        await desk.do_open_ticket(Viewer(asker), desk.TicketData(
            "问题", message, team_id=team.id, as_team_id=team.id))
    with pytest.raises(NotFound):
        await desk.do_open_ticket(Viewer(asker), desk.TicketData("问题", message,
                                                                 team_id=team.id + 1000))
    assert await ServiceTicket.all().count() == 0


async def test_drafts_are_kept_on_the_server_and_go_with_the_send(db):
    # given
    admin, asker, _, _ = await _people()
    await do_save_draft(Viewer(asker), "ticket:new", "上周六的活动时长还没有记录")
    # when
    opened = (await execute(OPEN, _open_vars(draft="ticket:new"), as_=asker)).ok()
    ticket_id = opened["openServiceTicket"]["id"]
    key = f"ticket:{ticket_id}"
    await do_save_draft(Viewer(admin), key, "正在核实")
    saved = (await execute("query($k: String!) { draft(key: $k) }", {"k": key}, as_=admin)).ok()
    # then: the draft outlives the session, and the send deletes it in its transaction
    assert saved["draft"] == "正在核实"
    assert not await Draft.filter(volunteer_id=asker.id).exists()
    await execute(POST, {"ticket": ticket_id, "body": "正在核实，请稍候", "client": "a",
                         "draft": key}, as_=admin)
    assert not await Draft.filter(volunteer_id=admin.id).exists()
    # a refused message keeps the draft
    await do_save_draft(Viewer(admin), key, "第二条")
    refused = await execute(POST, {"ticket": ticket_id, "body": "x", "client": "b", "draft": key,
                                   "urls": ["file:///etc/passwd"]}, as_=admin)
    assert refused.codes == ["BAD_USER_INPUT"]
    assert await Draft.filter(volunteer_id=admin.id, key=key).exists()


async def test_a_retry_is_sent_once_and_opening_is_rate_limited(db):
    # given
    _, asker, _, _ = await _people()
    # when: the same clientId twice
    first = (await execute(OPEN, _open_vars(), as_=asker)).ok()
    again = (await execute(OPEN, _open_vars(), as_=asker)).ok()
    # then
    assert first["openServiceTicket"]["id"] == again["openServiceTicket"]["id"]
    assert await ServiceTicket.all().count() == 1
    for index in range(desk.TICKETS_PER_HOUR - 1):
        await desk.do_open_ticket(Viewer(asker), desk.TicketData(
            f"问题{index}", desk.MessageData(body="内容", client_id=f"k{index}")))
    with pytest.raises(RateLimited):
        await desk.do_open_ticket(Viewer(asker), desk.TicketData(
            "又一个", desk.MessageData(body="内容", client_id="late")))
    limited = await execute(OPEN, _open_vars(client="late-2"), as_=asker)
    assert limited.codes == ["RATE_LIMITED"]
    assert await ServiceTicket.all().count() == desk.TICKETS_PER_HOUR


async def test_messages_are_rate_limited(db):
    # given
    _, asker, _, _ = await _people()
    opened = await desk.do_open_ticket(Viewer(asker), desk.TicketData(
        "问题", desk.MessageData(body="内容", client_id="o")))
    for index in range(desk.MESSAGES_PER_MINUTE):
        await desk.do_post_message(Viewer(asker), opened.ticket.id,
                                   desk.MessageData(body=f"第{index}条", client_id=f"m{index}"))
    # when / then
    with pytest.raises(RateLimited):
        await desk.do_post_message(Viewer(asker), opened.ticket.id,
                                   desk.MessageData(body="太多了", client_id="over"))
    assert await ServiceTicketMessage.filter(ticket_id=opened.ticket.id).count() == \
        desk.MESSAGES_PER_MINUTE + 1


async def test_the_queue_costs_the_same_statements_for_2_or_6_tickets(db):
    # given: six people each open a ticket with the platform, each with two messages
    admin = await make_volunteer("平台客服", platform_admin=True)
    for index in range(6):
        person = await make_volunteer(f"志愿者{index}")
        opened = await desk.do_open_ticket(Viewer(person), desk.TicketData(
            f"问题{index}", desk.MessageData(body="内容", client_id="o")))
        await desk.do_post_message(Viewer(admin), opened.ticket.id,
                                   desk.MessageData(body="回复", client_id="r"))
    counts = []
    for size in (2, 6):
        # when
        with count_statements() as statements:
            result = (await execute(QUEUE, {"first": size}, as_=admin)).ok()
        # then
        assert len(result["serviceDeskQueue"]["edges"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1]


async def test_the_stats_show_the_share_answered_within_n_hours_and_the_median(db):
    # given: four tickets of the last 30 days and one older
    admin = await make_volunteer("平台客服", platform_admin=True)
    now = datetime.now(UTC)
    waits = [timedelta(hours=1), timedelta(hours=3), timedelta(hours=6), None, None]
    opened_ago = [timedelta(days=1), timedelta(days=2), timedelta(days=3), timedelta(hours=5),
                  timedelta(hours=1)]
    for index, (wait, ago) in enumerate(zip(waits, opened_ago, strict=True)):
        person = await make_volunteer(f"志愿者{index}", district="东城区")
        opened = await desk.do_open_ticket(Viewer(person), desk.TicketData(
            f"问题{index}", desk.MessageData(body="内容", client_id="o")))
        await ServiceTicket.filter(id=opened.ticket.id).update(
            created_at=now - ago, first_reply_at=now - ago + wait if wait else None)
    old = await desk.do_open_ticket(Viewer(admin), desk.TicketData(
        "旧问题", desk.MessageData(body="内容", client_id="old")))
    await ServiceTicket.filter(id=old.ticket.id).update(created_at=now - timedelta(days=40))
    # when
    figures = await desk.compute_first_reply(None, now)
    through_graphql = (await execute(STATS, as_=admin)).ok()["stats"]["serviceDesk"]
    # then: 1 h and 3 h are within 4 h, 6 h is not, 5 h unanswered is overdue, 1 h is pending
    assert (figures.tickets, figures.counted, figures.within) == (5, 4, 2)
    assert figures.share_within == 0.5
    assert figures.median_first_reply_minutes == 180.0
    assert through_graphql["firstReplyHours"] == 4.0
    assert through_graphql["windowDays"] == 30
    assert (through_graphql["tickets"], through_graphql["shareAnsweredWithin"]) == (5, 0.5)
    assert (await desk.compute_first_reply("东城区", now)).tickets == 5
    assert (await desk.compute_first_reply("西城区", now)).tickets == 0
