"""Service-record certificates (志愿服务记录证明, MCA Order 67): a frozen snapshot anyone can
verify by code.

The content is computed once at issue and stored as JSON; `verifyCertificate`, the PDF and the
public verification page (schema/pages.py) all show exactly that JSON, so later
changes (an adjustment, a renamed team) never alter an issued proof. A correction of one of its
records reissues it instead: a new certificate (new serial and code) with the corrected hours,
and the old one marked superseded by it. The code is 192 random bits (unguessable); the serial
number is for humans (TX-YYYYMMDD-XXXXXXXX).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import pii
from core.time import BEIJING
from models.activity import Activity
from models.hours import Certificate, HoursStatus, ServiceRecord
from models.team import Membership, MembershipStatus, Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import Conflict
from resolvers.hours import team_id_of
from resolvers.services import services
from resolvers.validation import mask_id_number

CODE_BYTES = 24  # 32 characters of URL-safe base64
CODE_MAX = 40  # Certificate.code's column: no longer code can match
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I/O: read aloud and typed by hand
ISSUES_PER_HOUR = 10
ID_TYPE = "居民身份证"


def issuer() -> dict[str, str]:
    """The issuing organisation, its person in charge, the handler and a contact, per
    deployment (Order 67: the certificate names who issues it and how to reach them)."""
    return {
        "name": os.environ.get("CERTIFICATE_ISSUER", "同心志愿服务平台"),
        "principal": os.environ.get("CERTIFICATE_PRINCIPAL", "平台负责人"),
        "handler": os.environ.get("CERTIFICATE_HANDLER", "系统自动出具"),
        "contact": os.environ.get("CERTIFICATE_CONTACT", "service@tongxin.example"),
    }


def public_base_url() -> str:
    """Where this deployment is reachable from outside: the QR code on a PDF points there."""
    return os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")


def verification_url(code: str) -> str:
    return f"{public_base_url()}/certificates/{code}"


def new_serial(moment: datetime) -> str:
    """The date part is the issue day in Beijing, as the certificate's issuedOn shows it (an
    issue at 05:07 on 7 Dec in Beijing is 6 Dec in UTC)."""
    suffix = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(8))
    return f"TX-{moment.astimezone(BEIJING):%Y%m%d}-{suffix}"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


async def certificate_content(volunteer_id: int, moment: datetime,
                              conn: BaseDBAsyncClient | None = None) -> dict[str, Any]:
    """Everything the proof shows, read in four statements."""
    person = await Volunteer.filter(id=volunteer_id).using_db(conn).get()
    records = await ServiceRecord.filter(
        volunteer_id=volunteer_id, status=HoursStatus.APPROVED
    ).order_by("approved_at", "id").using_db(conn)
    activities = {a.id: a for a in await Activity.filter(
        id__in={r.activity_id for r in records}).using_db(conn)}
    team_ids = {team_id_of(a) for a in activities.values()}
    memberships = await Membership.filter(
        volunteer_id=volunteer_id, status=MembershipStatus.APPROVED
    ).using_db(conn).values("team_id")
    member_of = {int(row["team_id"]) for row in memberships}
    teams = {t.id: t for t in await Team.filter(id__in=team_ids | member_of).using_db(conn)}
    entries = []
    for record in records:
        activity = activities[record.activity_id]
        team = teams.get(team_id_of(activity))
        entries.append({
            "recordId": record.id,
            "activityId": activity.id,
            "activityTitle": activity.title,
            "team": team.name if team else "",
            "date": activity.starts_at.astimezone(BEIJING).date().isoformat(),
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


async def _create(conn: BaseDBAsyncClient, volunteer_id: int, content: dict[str, Any],
                  moment: datetime) -> Certificate:
    for _ in range(5):
        serial = new_serial(moment)
        try:
            async with in_transaction() as savepoint:  # a clash rolls back this insert only
                return await Certificate.create(
                    code=new_code(), serial=serial, volunteer_id=volunteer_id,
                    content={**content, "serialNumber": serial}, issued_at=moment,
                    using_db=savepoint)
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique certificate serial number")


async def do_issue_certificate(viewer: Viewer, *, now: datetime | None = None) -> Certificate:
    """Free of charge, on request, for the caller's own approved hours (throttled per hour);
    refused (CONFLICT, reason NO_HOURS) while they have no approved hours to certify."""
    volunteer = viewer.require_active()
    await services().limiter.hit(f"certificate:{volunteer.id}", ISSUES_PER_HOUR, 3600)
    moment = now or datetime.now(UTC)
    content = await certificate_content(volunteer.id, moment)
    if content["totalHours"] <= 0:
        raise Conflict("You have no approved service hours to certify yet.", reason="NO_HOURS")
    async with in_transaction() as conn:
        return await _create(conn, volunteer.id, content, moment)


async def reissue_for_record(conn: BaseDBAsyncClient, record_id: int, volunteer_id: int,
                             *, now: datetime | None = None) -> list[Certificate]:
    """Precondition: inside the transaction that corrected `record_id`. Each current
    certificate of the person that lists the record is superseded by a new one (new serial and
    code) showing the corrected hours; certificates that no longer have hours are superseded
    without a successor."""
    moment = now or datetime.now(UTC)
    current = await Certificate.filter(volunteer_id=volunteer_id, superseded_at=None) \
        .using_db(conn).order_by("id")
    affected = [c for c in current
                if any(entry["recordId"] == record_id for entry in c.content["records"])]
    if not affected:
        return []
    content = await certificate_content(volunteer_id, moment, conn)
    issued: list[Certificate] = []
    for old in affected:
        successor = await _create(conn, volunteer_id, content, moment) \
            if content["totalHours"] > 0 else None
        changed = await Certificate.filter(id=old.id, superseded_at=None).using_db(conn).update(
            superseded_at=moment, superseded_by_id=successor.id if successor else None)
        if changed and successor is not None:
            issued.append(successor)
    return issued


async def verify_certificate(code: str) -> Certificate | None:
    """Public: the frozen certificate behind a code, or None."""
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        return None
    return await Certificate.get_or_none(code=code)


def mask_real_name(name: str) -> str:
    """李明 → 李*, 欧阳娜娜 → 欧***: the public page names nobody in full."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


async def public_view(code: str) -> dict[str, Any] | None:
    """What the public verification page shows: the certificate's own content, the name and
    ID number masked, and whether it was superseded (by whom, or withdrawn)."""
    model = await verify_certificate(code)
    if model is None:
        return None
    content = model.content
    note = ""
    if model.superseded_at is not None:
        successor = await Certificate.get_or_none(id=model.superseded_by_id) \
            if model.superseded_by_id else None
        note = (f"记录更正后已重新出具，新证明编号 {successor.serial}" if successor
                else "持有人已注销账户，本证明已撤回")
    issuer_info = {"principal": "", "handler": "", **content["issuer"]}
    return {
        "serialNumber": content["serialNumber"],
        "volunteerName": mask_real_name(content["volunteerName"]),
        "idType": content["idType"],
        "idNumberMasked": content["idNumberMasked"],
        "volunteerNumber": content["volunteerNumber"],
        "totalHours": content["totalHours"],
        "issuer": issuer_info,
        "issuedOn": datetime.fromisoformat(content["issuedAt"]).astimezone(BEIJING)
        .date().isoformat(),
        "records": [{
            "date": entry.get("date") or datetime.fromisoformat(entry["startsAt"])
            .astimezone(BEIJING).date().isoformat(),
            "activity": entry["activityTitle"], "hours": entry["hours"], "organiser": entry["team"],
        } for entry in content["records"]],
        "supersededNote": note,
    }
