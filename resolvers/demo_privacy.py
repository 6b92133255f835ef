"""Demo data for service-record certificates and requests about one's own data: hours of the
rescue team's drill for 李明 (so a team admin has a certificate to issue too), 王芳's
certificate of her approved hours, 陈静's record correction waiting for the 朝阳区 team, 刘洋's
correction of his real name refused with its reason, and 张伟's copy of his data waiting for
the export job."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models.hours import ServiceRecord
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"


async def seed_privacy(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.certificate import _create, certificate_content
    from resolvers.privacy import (
        do_decide_request,
        do_request_correction,
        do_request_export,
        do_request_record_correction,
    )

    await _drill_hours(people, teams)
    wang_fang = people["13800000002"]
    moment = datetime.now(UTC)
    content = await certificate_content(wang_fang.id, moment)
    if content["totalHours"] > 0:  # issued the way issueCertificate does, without its throttle
        async with in_transaction() as conn:
            await _create(conn, wang_fang.id, content, moment)
    late = await ServiceRecord.filter(volunteer_id=people["13800000005"].id,
                                      status="APPROVED").first()
    if late is not None:
        await do_request_record_correction(Viewer(people["13800000005"]), late.id, 3.0,
                                           "签到晚了半小时，实际全程在场，请核对签到表。")
    refused = await do_request_correction(Viewer(people["13800000004"]), "realName", "刘小洋",
                                          "我平时都用这个名字。")
    await do_decide_request(Viewer(people[ADMIN_PHONE]), refused.id, False,
                            "实名信息须与居民身份证一致；常用名可在个人资料中设为显示名。")
    await do_request_export(Viewer(people["13800000003"]))


async def _drill_hours(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    """李明 (admin of the 朝阳区 team, member of the rescue team) served at the rescue team's
    drill a week ago; the platform admin approved his hours."""
    from datetime import timedelta

    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from resolvers.hours import do_approve_hours, do_check_in, do_check_out

    li_ming, admin, team = people["13800000001"], people[ADMIN_PHONE], teams["rescue"]
    starts = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) \
        - timedelta(days=7)
    drill = await Activity.create(
        team=team, created_by=admin, title="应急救援演练", description="地震疏散与伤员转运演练",
        category="应急救援", district=team.district, starts_at=starts,
        ends_at=starts + timedelta(hours=4), sign_up_deadline=starts, capacity=20,
        waitlist_limit=20, hours_credit=4, status=ActivityStatus.FINISHED, taken_count=1,
        version=1)
    await SignUp.create(activity=drill, volunteer=li_ming, status=SignUpStatus.CONFIRMED)
    await do_check_in(Viewer(li_ming), drill.id, now=starts)
    sign_up = await do_check_out(Viewer(li_ming), drill.id, now=starts + timedelta(hours=4))
    record = await ServiceRecord.get(sign_up_id=sign_up.id)
    await do_approve_hours(Viewer(admin), record.id)
