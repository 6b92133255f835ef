"""Service-record certificates (志愿服务记录证明): a frozen snapshot anyone can verify by code.

The content is computed once at issue and stored as JSON; `verifyCertificate` returns exactly
that JSON, so later changes (an adjustment, a renamed team) never alter an issued proof.
The code is 192 random bits (unguessable); the serial number is for humans (TX-YYYYMMDD-XXXXXX).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from core import pii
from models.activity import Activity
from models.hours import Certificate, HoursStatus, ServiceRecord
from models.team import Membership, MembershipStatus, Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.hours import team_id_of
from resolvers.services import services
from resolvers.validation import mask_id_number

CODE_BYTES = 24  # 32 characters of URL-safe base64
CODE_MAX = 40  # Certificate.code's column: no longer code can match
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I/O: read aloud and typed by hand
ISSUES_PER_HOUR = 10
ID_TYPE = "居民身份证"


def issuer() -> dict[str, str]:
    """The issuing organisation and its contact, per deployment."""
    return {
        "name": os.environ.get("CERTIFICATE_ISSUER", "同心志愿服务平台"),
        "contact": os.environ.get("CERTIFICATE_CONTACT", "service@tongxin.example"),
    }


def new_serial(moment: datetime) -> str:
    suffix = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(8))
    return f"TX-{moment:%Y%m%d}-{suffix}"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


async def certificate_content(volunteer_id: int, moment: datetime) -> dict[str, Any]:
    """Everything the proof shows, read in four statements."""
    person = await Volunteer.get(id=volunteer_id)
    records = await ServiceRecord.filter(
        volunteer_id=volunteer_id, status=HoursStatus.APPROVED
    ).order_by("approved_at", "id")
    activities = {a.id: a for a in await Activity.filter(id__in={r.activity_id for r in records})}
    team_ids = {team_id_of(a) for a in activities.values()}
    memberships = await Membership.filter(
        volunteer_id=volunteer_id, status=MembershipStatus.APPROVED
    ).values("team_id")
    member_of = {int(row["team_id"]) for row in memberships}
    teams = {t.id: t for t in await Team.filter(id__in=team_ids | member_of)}
    entries = []
    for record in records:
        activity = activities[record.activity_id]
        team = teams.get(team_id_of(activity))
        entries.append({
            "recordId": record.id,
            "activityId": activity.id,
            "activityTitle": activity.title,
            "team": team.name if team else "",
            "startsAt": activity.starts_at.isoformat(),
            "endsAt": activity.ends_at.isoformat(),
            "hours": round(record.hours, 2),
            "approvedAt": record.approved_at.isoformat() if record.approved_at else None,
        })
    return {
        "volunteerId": person.id,
        "volunteerName": person.real_name,
        "idType": ID_TYPE,
        "idNumberMasked": mask_id_number(pii.id_number_of(person)),
        "volunteerNumber": person.volunteer_number,
        "teams": [teams[i].name for i in sorted(member_of) if i in teams],
        "records": entries,
        "totalHours": round(sum(float(record.hours) for record in records), 2),
        "issuer": issuer(),
        "issuedAt": moment.isoformat(),
    }


async def do_issue_certificate(viewer: Viewer, *, now: datetime | None = None) -> Certificate:
    """Free of charge, on request, for the caller's own approved hours (throttled per hour)."""
    volunteer = viewer.require_active()
    await services().limiter.hit(f"certificate:{volunteer.id}", ISSUES_PER_HOUR, 3600)
    moment = now or datetime.now(UTC)
    content = await certificate_content(volunteer.id, moment)
    for _ in range(5):
        serial = new_serial(moment)
        try:
            return await Certificate.create(
                code=new_code(), serial=serial, volunteer_id=volunteer.id,
                content={**content, "serialNumber": serial}, issued_at=moment,
            )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique certificate serial number")


async def verify_certificate(code: str) -> Certificate | None:
    """Public: the frozen certificate behind a code, or None."""
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        return None
    return await Certificate.get_or_none(code=code)
