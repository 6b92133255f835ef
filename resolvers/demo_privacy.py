"""Demo data for service-record certificates and requests about one's own data: hours of two
admins (so every signed-in role has a certificate to issue), 王芳's
certificate of her approved hours, 陈静's record correction waiting for the 朝阳区 team, 刘洋's
correction of his real name refused with its reason, 张伟's copy of his data waiting for
the export job, and home addresses (sealed) for 李明 and 王芳."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core import pii
from models.hours import ServiceRecord
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"
HOME_ADDRESSES = {"13800000001": "北京市朝阳区安贞西里5号楼3单元402",
                  "13800000002": "北京市朝阳区和平街十一区16号楼1单元201"}


async def seed_privacy(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.certificate import _create, certificate_content
    from resolvers.privacy import (
        do_decide_request,
        do_request_correction,
        do_request_export,
        do_request_record_correction,
    )

    await _drill_hours(people, teams)
    for phone, address in HOME_ADDRESSES.items():
        await Volunteer.filter(id=people[phone].id).update(
            home_address_cipher=pii.seal(address, pii.HOME_ADDRESS))
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
    """Admins serve too: 李明 (admin of the 朝阳区 team) at the rescue team's drill, approved
    by the platform admin; the platform admin at the 朝阳区 fire-safety day, approved by 李明."""
    li_ming, admin = people["13800000001"], people[ADMIN_PHONE]
    await _served(li_ming, teams["rescue"], admin, "应急救援演练", "地震疏散与伤员转运演练", 7, 4)
    await _served(admin, teams["chaoyang"], li_ming, "社区消防安全宣传日", "入户讲解燃气与用电安全", 5, 2)


async def _served(person: Volunteer, team: Team, approver: Volunteer, title: str,
                  description: str, days_ago: int, hours: float) -> None:
    from datetime import timedelta

    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from resolvers.hours import do_approve_hours, do_check_in, do_check_out

    starts = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) \
        - timedelta(days=days_ago)
    activity = await Activity.create(
        team=team, created_by=approver, title=title, description=description,
        category="应急救援", district=team.district, starts_at=starts,
        ends_at=starts + timedelta(hours=hours), sign_up_deadline=starts, capacity=20,
        waitlist_limit=20, hours_credit=hours, status=ActivityStatus.FINISHED, taken_count=1,
        version=1)
    await SignUp.create(activity=activity, volunteer=person, status=SignUpStatus.CONFIRMED)
    await do_check_in(Viewer(person), activity.id, now=starts)
    sign_up = await do_check_out(Viewer(person), activity.id, now=starts + timedelta(hours=hours))
    record = await ServiceRecord.get(sign_up_id=sign_up.id)
    await do_approve_hours(Viewer(approver), record.id)
