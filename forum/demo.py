"""Demo forum for `seed-demo`: five boards with moderators, Chinese threads and replies, a
pinned notice, an open report and experience posts for the demo's approved service hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.models import Board, BoardModerator, ExperiencePost, Post, Reaction, Report, Thread
from forum.search import segment_document
from models.hours import HoursStatus, ServiceRecord
from models.team import Team
from models.volunteer import Volunteer

ADMIN = "13800000000"

# slug, name, category, description, moderator phones
BOARDS = [
    ("fangyi", "防疫志愿", "项目", "社区防疫、核酸检测引导、疫苗接种服务的经验与招募。",
     ["13800000001"]),
    ("zhulao", "助老服务", "项目", "探访独居老人、陪诊、助餐等助老服务交流。", ["13800000005"]),
    ("shixi", "实习招聘", "实习", "公益组织实习与志愿岗位信息。", ["13800000003"]),
    ("ershou", "二手交换", "二手", "闲置物品互换与爱心捐赠。", ["13800000006"]),
    ("shenghuo", "生活交流", "生活", "志愿者之间的日常交流。", ["13800000002"]),
]

# board slug, author phone, title, body, [(reply author phone, reply body)], pinned
THREADS = [
    ("fangyi", ADMIN, "【置顶】防疫志愿服务须知", "参加社区防疫志愿服务前请完成线上培训，"
     "现场服从社区工作人员安排，注意个人防护。", [], True),
    ("fangyi", "13800000001", "本周六社区防疫志愿服务招募",
     "朝阳区某社区本周六上午开展核酸检测引导，需要志愿者十名，请在活动页报名。",
     [("13800000002", "我报名了，需要自带口罩吗？"),
      ("13800000001", "现场会统一发放防护用品，不用自带。"),
      ("13800000005", "上次参加过，老人比较多，耐心引导就好。")], False),
    ("zhulao", "13800000005", "独居老人探访经验分享",
     "探访前先电话联系，聊天时多倾听；发现身体不适及时联系社区医生。",
     [("13800000002", "很实用，谢谢分享！"), ("13800000004", "请问陪诊需要什么资质吗？")], False),
    ("shixi", "13800000003", "法律援助中心招募暑期实习生",
     "海淀区法律援助中心招募法学专业实习生两名，每周至少三天。", [], False),
    ("ershou", "13800000006", "闲置电工工具免费送",
     "家里有一套电工工具，希望送给需要的志愿者，自取。",
     [("13800000001", "应急救援队正好需要，我来联系你。")], False),
    ("shenghuo", "13800000004", "周末一起去奥森跑步吗",
     "志愿者跑团招新，每周日早上七点奥森南门集合。", [("13800000002", "算我一个！")], False),
]


async def _thread(board: Board, author: Volunteer, title: str, body: str, when: datetime,
                  pinned: bool) -> Thread:
    # Dated as the board lists them (last_post_at), not at the time of seeding.
    thread = await Thread.create(board=board, author=author, title=title, pinned=pinned,
                                 last_post_at=when, created_at=when)
    await Post.create(thread=thread, author=author, body=body, is_opening=True,
                      search_text=segment_document(title, title, body), created_at=when)
    return thread


async def seed_forum(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    admin = people[ADMIN]
    boards: dict[str, Board] = {}
    for slug, name, category, description, moderators in BOARDS:
        board = await Board.create(slug=slug, name=name, category=category,
                                   description=description, created_by=admin)
        for phone in moderators:
            await BoardModerator.create(board=board, volunteer=people[phone], assigned_by=admin)
        boards[slug] = board
    start = datetime.now(UTC) - timedelta(days=2)
    for index, (slug, author, title, body, replies, pinned) in enumerate(THREADS):
        when = start + timedelta(hours=index)
        thread = await _thread(boards[slug], people[author], title, body, when, pinned)
        for offset, (replier, text) in enumerate(replies, start=1):
            thread.last_post_at = when + timedelta(minutes=10 * offset)
            post = await Post.create(thread=thread, author=people[replier], body=text,
                                     search_text=segment_document(text),
                                     created_at=thread.last_post_at)
            await Reaction.create(post=post, volunteer=people[author], kind="THANKS")
            thread.reply_count += 1
        await thread.save(update_fields=["reply_count", "last_post_at"])
    spam = await _thread(boards["ershou"], people["13800000004"], "低价转让", "加微信了解详情",
                         start, False)
    opening = await Post.get(thread_id=spam.id, is_opening=True)
    await Report.create(post=opening, reporter=people["13800000006"], reason="疑似广告")
    records = await ServiceRecord.filter(status=HoursStatus.APPROVED).prefetch_related(
        "activity").order_by("id").limit(2)
    for record in records:
        await ExperiencePost.create(
            activity=record.activity, team_id=record.activity.team_id,
            author_id=record.volunteer_id, title=f"{record.activity.title}心得",
            body="第一次参加这样的活动，收获很多，也认识了很多热心的邻居。",
            photo_urls=["https://img.example.com/demo/1.jpg"])
