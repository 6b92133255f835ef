"""serviceTicketUpdates: a staff reply reaches the opener's open subscription live (with the
status it left the ticket in), a resolution arrives as a status change, and outsiders cannot
subscribe."""

from __future__ import annotations

import asyncio
from typing import Any

from resolvers import servicedesk as desk
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import execute, make_volunteer

UPDATES = """subscription($ticket: ID!) { serviceTicketUpdates(ticketId: $ticket) {
  status message { body fromStaff authorName attachmentUrls } } }"""
POST = """mutation($ticket: ID!, $body: String!) {
  postServiceTicketMessage(ticketId: $ticket, body: $body, clientId: "staff-1",
                           attachmentUrls: ["https://docs.example.cn/guide.pdf"]) { id } }"""
RESOLVE = "mutation($ticket: ID!) { resolveServiceTicket(ticketId: $ticket) { status } }"


async def _subscribe(person: Any, ticket_id: int) -> Any:
    return await schema.subscribe(
        UPDATES, variable_values={"ticket": str(to_global_id("ServiceTicket", ticket_id))},
        context_value=Context(viewer=Viewer(person)))


def _update(result: Any) -> dict[str, Any]:
    assert not result.errors, result.errors
    return result.data["serviceTicketUpdates"]


async def test_a_staff_reply_reaches_the_openers_subscription_live(db):
    # given: a volunteer watching their platform ticket
    staff = await make_volunteer("平台客服", platform_admin=True)
    asker = await make_volunteer("李明")
    opened = await desk.do_open_ticket(Viewer(asker), desk.TicketData(
        "证书怎么下载", desk.MessageData(body="在哪里下载服务证明？", client_id="o")))
    ticket = str(to_global_id("ServiceTicket", opened.ticket.id))
    stream = await _subscribe(asker, opened.ticket.id)
    first = asyncio.ensure_future(asyncio.wait_for(stream.__anext__(), 5))
    await asyncio.sleep(0.2)  # let it reach the broker
    try:
        # when
        (await execute(POST, {"ticket": ticket, "body": "在“我的”页面点“证书”即可。"},
                       as_=staff)).ok()
        # then
        assert _update(await first) == {"status": "WAITING_FOR_USER", "message": {
            "body": "在“我的”页面点“证书”即可。", "fromStaff": True, "authorName": "平台客服",
            "attachmentUrls": ["https://docs.example.cn/guide.pdf"]}}
        (await execute(RESOLVE, {"ticket": ticket}, as_=staff)).ok()
        assert _update(await asyncio.wait_for(stream.__anext__(), 5)) == {
            "status": "RESOLVED", "message": None}
    finally:
        await stream.aclose()


async def test_an_outsider_cannot_subscribe(db):
    # given
    asker = await make_volunteer("李明")
    opened = await desk.do_open_ticket(Viewer(asker), desk.TicketData(
        "问题", desk.MessageData(body="内容", client_id="o")))
    # when
    stream = await _subscribe(await make_volunteer("路人"), opened.ticket.id)
    result = await asyncio.wait_for(stream.__anext__(), 5)
    # then
    assert [error.extensions["code"] for error in result.errors] == ["NOT_FOUND"]
