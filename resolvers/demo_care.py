"""Demo data for reminders, calendar feeds, the change log, organiser messages and shift
hand-over: a volunteer who muted the 2-hour reminder and texts off, one with a calendar feed,
a moved meeting point in the change log and a message about it with a reply, a place offered
to the waitlist and one offered to a named friend, and an activity whose hand-overs need the
organiser's approval."""

from __future__ import annotations

from models.activity import Activity
from models.outreach import Audience
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer


async def seed_care(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.activity import ActivityData, do_update_activity
    from resolvers.calendar import do_create_feed
    from resolvers.outreach import do_reply, do_send_message
    from resolvers.reminder import do_update_reminder_settings
    from resolvers.swap import do_offer_swap, do_set_swap_approval

    await do_update_reminder_settings(Viewer(people["13800000005"]), [2], False)
    await do_create_feed(Viewer(people["13800000002"]))
    elderly = await Activity.get_or_none(title="重阳节敬老院陪伴")
    sorting = await Activity.get_or_none(title="中关村垃圾分类宣传")
    first_aid = await Activity.get_or_none(title="社区急救技能培训")
    if elderly is not None:
        await do_update_activity(Viewer(people["13800000001"]), elderly.id, ActivityData(
            address="朝阳区朝阳门社区养老服务驿站（原定社区服务中心）"))
        message = await do_send_message(
            Viewer(people["13800000001"]), elderly.id, None, Audience.CONFIRMED, "集合地点调整",
            "各位志愿者好：本次活动改在朝阳门社区养老服务驿站集合，请提前十分钟到达签到。", False)
        await do_reply(Viewer(people["13800000005"]), message.id, "收到，我会准时到。")
        await do_offer_swap(Viewer(people["13800000002"]), elderly.id, people["13800000006"].id)
    if sorting is not None:
        await do_offer_swap(Viewer(people["13800000004"]), sorting.id, None)
    if first_aid is not None:
        await do_set_swap_approval(Viewer(people["13800000000"]), first_aid.id, True)  # platform admin
