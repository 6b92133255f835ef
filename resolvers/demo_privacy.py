"""Demo data for service-record certificates and requests about one's own data: 王芳's
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
