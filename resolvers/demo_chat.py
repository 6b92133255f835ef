"""Demo data for group chat: the 朝阳区 team's room with a morning's talk (a photo, a mention,
one message deleted by the team admin) and the room of one activity's confirmed participants."""

from __future__ import annotations

from models.activity import SignUp, SignUpStatus
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

TEAM_TALK = [
    ("13800000001", "大家早上好！本周六上午九点在朝阳门社区服务站集合，做重阳节敬老探访。", [], []),
    ("13800000002", "收到，我带上血压计。", [], []),
    ("13800000005", "@李明 需要准备慰问品吗？", [], ["13800000001"]),
    ("13800000001", "需要，队里已经买好了，周五下午到服务站领取。", [], []),
    ("13800000002", "上次活动的照片发一下～", ["https://img.example.cn/demo/chongyang-2025.jpg"], []),
]


async def seed_chat(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.chat import MessageData, do_delete_message, do_open_room, do_post_message

    room = (await do_open_room(Viewer(people["13800000002"]), team_id=teams["chaoyang"].id,
                               activity_id=None)).room
    for index, (phone, body, photos, mentions) in enumerate(TEAM_TALK):
        await do_post_message(Viewer(people[phone]), room.id, MessageData(
            body=body, client_id=f"demo-{index}", photo_urls=photos,
            mention_ids=[people[m].id for m in mentions]))
    spam = await do_post_message(Viewer(people["13800000005"]), room.id, MessageData(
        body="转发抽奖链接，点开领红包", client_id="demo-spam", photo_urls=[], mention_ids=[]))
    await do_delete_message(Viewer(people["13800000001"]), spam.message.id, "与志愿服务无关的广告")
    confirmed = await SignUp.filter(status=SignUpStatus.CONFIRMED).order_by("activity_id").first()
    if confirmed is not None:
        volunteer = next(p for p in people.values() if p.id == confirmed.volunteer_id)
        activity_room = (await do_open_room(Viewer(volunteer), team_id=None,
                                            activity_id=confirmed.activity_id)).room
        await do_post_message(Viewer(volunteer), activity_room.id, MessageData(
            body="我已报名，到时候在哪里签到？", client_id="demo-activity-0", photo_urls=[],
            mention_ids=[]))
