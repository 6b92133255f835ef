"""Demo data for the service desk: a volunteer's question to the platform answered by the
staff, a question to a team's admins still waiting, and a team's ticket to the platform that
was resolved."""

from __future__ import annotations

from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"


async def seed_service_desk(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.servicedesk import MessageData, TicketData, do_open_ticket, do_post_message, do_resolve

    asked = await do_open_ticket(Viewer(people["13800000002"]), TicketData(
        "志愿服务证明怎么开具？", MessageData(
            body="单位需要我的志愿服务时长证明，请问在哪里申请？", client_id="demo-desk-1")))
    await do_post_message(Viewer(people[ADMIN_PHONE]), asked.ticket.id, MessageData(
        body="您好！在“我的”页面点“证书”即可生成带二维码的服务证明，单位扫码就能核验。",
        client_id="demo-desk-1r",
        attachment_urls=["https://docs.example.cn/demo/certificate-guide.pdf"]))
    await do_open_ticket(Viewer(people["13800000005"]), TicketData(
        "周六的敬老探访可以带孩子吗？", MessageData(
            body="孩子 12 岁，想一起参加，需要单独报名吗？", client_id="demo-desk-2"),
        team_id=teams["chaoyang"].id))
    team_ticket = await do_open_ticket(Viewer(people["13800000001"]), TicketData(
        "活动保险的投保名单如何更新？", MessageData(
            body="本周新增了 3 名队员，保险名单需要我们上传吗？", client_id="demo-desk-3"),
        as_team_id=teams["chaoyang"].id))
    await do_post_message(Viewer(people[ADMIN_PHONE]), team_ticket.ticket.id, MessageData(
        body="不需要上传：报名确认后系统会自动加入当次活动的投保名单。", client_id="demo-desk-3r"))
    await do_resolve(Viewer(people["13800000001"]), team_ticket.ticket.id)
