"""Requests about one's own data (PIPL art. 45–47 and 50): a copy, a correction, deletion.

- **Copy** (`do_request_export`): the export job (resolvers/jobs.py, `privacy-exports`) builds a
  ZIP of JSON with every row that names the person (`build_archive`); the person then asks for
  a link (`do_create_archive_link`): an unguessable token of which only the SHA-256 is stored,
  valid ARCHIVE_LINK_MINUTES and for one download (`take_archive`, GET /privacy/archive/…).
- **Correction** of a profile field (`do_request_correction`), decided by a platform admin with
  a reason (`do_decide_request`); of a service record's hours (`do_request_record_correction`),
  decided by an admin of the activity's team (MCA Order 67), which adjusts the hours
  through the hours rules and reissues the certificates listing the record.
- **Deletion** (`do_delete_account`): the account row stays as a pseudonym (service records
  must be kept, PIPL art. 47 and MCA Order 67) but everything that identifies the person
  is erased in one transaction; they cannot sign in again; their posts show DELETED_NAME.

Every request is a `data_request` row; every decision is recorded on it, a refusal with its
reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core import pii
from models.activity import Activity, SignUp, SignUpStatus
from models.draft import Draft
from models.hours import Certificate, HoursStatus, ServiceRecord
from models.notification import Notification
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import archive
from resolvers.auth import Viewer, verify_password
from resolvers.certificate import public_base_url, reissue_for_record
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.hours import check_record_admin, check_service_hours, do_approve_hours
from resolvers.notification import create_notification, notify_created
from resolvers.services import services
from resolvers.signup import _cancel_in
from resolvers.slots import notify_slot_change
from resolvers.sql import Sql, fetch
from resolvers.team import administered_team_ids
from resolvers.validation import NAME_MAX, check_text

log = logging.getLogger("tongxin.privacy")

DELETED_NAME = "已注销用户"
REASON_MAX = 500
VALUE_MAX = 100
ARCHIVE_LINK_MINUTES = int(os.environ.get("ARCHIVE_LINK_MINUTES", 15))
# Password confirmations of a deletion per person and hour.
DELETE_ATTEMPTS = 5
# A stuck PROCESSING export (its job process died) is taken up again after this long.
EXPORT_STALE_MINUTES = 10
# Profile fields a person may ask to correct, with the column and the longest value. The
# others they edit themselves (updateProfile: display name, district, skills) or follow from
# the verified ID number (gender, birth date).
CORRECTABLE = {"realName": ("real_name", NAME_MAX)}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -- requests --------------------------------------------------------------------------------


async def do_request_export(viewer: Viewer) -> DataRequest:
    """A copy of all one's data; an export still waiting or being built is returned instead."""
    volunteer = viewer.require_active("ask for a copy of your data")
    waiting = await DataRequest.filter(
        volunteer_id=volunteer.id, kind=DataRequestKind.EXPORT,
        status__in=[DataRequestStatus.PENDING, DataRequestStatus.PROCESSING]).first()
    if waiting is not None:
        return waiting
    return await DataRequest.create(volunteer_id=volunteer.id, kind=DataRequestKind.EXPORT)


async def do_request_correction(viewer: Viewer, field: str, value: str,
                                reason: str) -> DataRequest:
    volunteer = viewer.require_active("ask for a correction")
    if field not in CORRECTABLE:
        raise BadInput("field", f"field must be one of {', '.join(sorted(CORRECTABLE))}.")
    value = check_text(value, "value", max_len=CORRECTABLE[field][1])
    why = check_text(reason, "reason", max_len=REASON_MAX)
    if await DataRequest.filter(volunteer_id=volunteer.id, kind=DataRequestKind.CORRECTION,
                                field=field, status=DataRequestStatus.PENDING).exists():
        raise Conflict("A correction of this field is already waiting for a decision.")
    return await DataRequest.create(volunteer_id=volunteer.id, kind=DataRequestKind.CORRECTION,
                                    field=field, requested_value=value, reason=why)


async def do_request_record_correction(viewer: Viewer, record_id: int, hours: float,
                                       reason: str) -> DataRequest:
    """MCA Order 67: a volunteer who finds a record wrong asks its organiser to correct it."""
    volunteer = viewer.require_active("ask for a correction")
    record = await ServiceRecord.get_or_none(id=record_id)
    if record is None or record.volunteer_id != volunteer.id:
        raise NotFound("Service record")
    activity = await Activity.get(id=record.activity_id)
    hours = check_service_hours(hours, activity)
    why = check_text(reason, "reason", max_len=REASON_MAX)
    if record.status == HoursStatus.PENDING:
        raise Conflict("These hours have not been decided yet; the organiser reviews them.")
    if await DataRequest.filter(record_id=record.id, status=DataRequestStatus.PENDING).exists():
        raise Conflict("A correction of this record is already waiting for a decision.")
    return await DataRequest.create(
        volunteer_id=volunteer.id, kind=DataRequestKind.RECORD_CORRECTION, record_id=record.id,
        requested_hours=hours, reason=why)


async def check_request_decider(viewer: Viewer, request: DataRequest) -> None:
    """Profile corrections: platform admins. Record corrections: admins of the record's team."""
    if request.kind == DataRequestKind.RECORD_CORRECTION and request.record_id is not None:
        await check_record_admin(viewer, request.record_id)
    elif request.kind != DataRequestKind.CORRECTION or not viewer.is_platform_admin:
        raise Forbidden("Only a platform admin decides on profile corrections.")


async def do_decide_request(viewer: Viewer, request_id: int, approve: bool, reason: str,
                            *, now: datetime | None = None) -> DataRequest:
    """Grant or refuse a pending correction; the reason is kept either way and told to the
    person. A granted record correction adjusts the hours and reissues certificates."""
    decider = viewer.require_active()
    why = check_text(reason, "reason", max_len=REASON_MAX)
    request = await DataRequest.get_or_none(id=request_id)
    if request is None or request.kind not in (DataRequestKind.CORRECTION,
                                               DataRequestKind.RECORD_CORRECTION):
        raise NotFound("Request")
    await check_request_decider(viewer, request)
    if request.status != DataRequestStatus.PENDING:
        raise Conflict("This request has already been decided.")
    moment = _now(now)
    if approve and request.kind == DataRequestKind.RECORD_CORRECTION:
        assert request.record_id is not None and request.requested_hours is not None
        # Its own transaction (the hours rules'); repeating it after a failure changes nothing.
        await do_approve_hours(viewer, request.record_id, request.requested_hours, why)
    notifications = []
    async with in_transaction() as conn:
        changed = await DataRequest.filter(id=request.id, status=DataRequestStatus.PENDING) \
            .using_db(conn).update(
                status=DataRequestStatus.DONE if approve else DataRequestStatus.REFUSED,
                decided_by_id=decider.id, decision_reason=why, decided_at=moment)
        if not changed:
            raise Conflict("This request has already been decided.")
        if approve and request.kind == DataRequestKind.CORRECTION and request.field:
            column = CORRECTABLE[request.field][0]
            await Volunteer.filter(id=request.volunteer_id).using_db(conn).update(
                **{column: request.requested_value})
        if approve and request.record_id is not None:
            await reissue_for_record(conn, request.record_id, request.volunteer_id, now=moment)
        verdict = "已更正" if approve else "未予更正"
        notifications.append(await create_notification(
            request.volunteer_id, "DATA_REQUEST_DECIDED", f"你的更正申请{verdict}",
            f"处理意见：{why}", subject=("DataRequest", request.id), using=conn))
    await notify_created(notifications)
    return await DataRequest.get(id=request.id)


async def visible_request(viewer: Viewer, request_id: int) -> DataRequest | None:
    """The request for its owner and for whoever may decide it; None for anyone else."""
    if viewer.id is None:
        return None
    request = await DataRequest.get_or_none(id=request_id)
    if request is None or request.volunteer_id == viewer.id:
        return request
    try:
        await check_request_decider(viewer, request)
    except (Forbidden, NotFound):
        return None
    return request


def list_own_requests(viewer: Viewer) -> Any:
    volunteer = viewer.require()
    return DataRequest.filter(volunteer_id=volunteer.id)


async def list_pending_requests(viewer: Viewer) -> Any:
    """What the caller may decide, oldest first: every pending correction for platform admins,
    corrections of records of the teams they administer (and sub-teams) for team admins."""
    volunteer = viewer.require()
    query = DataRequest.filter(status=DataRequestStatus.PENDING, kind__in=[
        DataRequestKind.CORRECTION, DataRequestKind.RECORD_CORRECTION])
    if volunteer.is_platform_admin:
        return query
    teams = await administered_team_ids(volunteer.id)
    return query.filter(kind=DataRequestKind.RECORD_CORRECTION,
                        record__activity__team_id__in=sorted(teams) or [0]) \
        .exclude(volunteer_id=volunteer.id)


# -- the archive -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return value


def _profile(person: Volunteer) -> dict[str, Any]:
    def opened(read: Any) -> str | None:
        try:
            value = read(person)
        except pii.PiiKeyError:  # erased
            return None
        return None if value is None else str(value)

    return {
        "id": person.id, "realName": person.real_name, "displayName": person.display_name,
        "phone": opened(pii.phone_of), "idType": "居民身份证",
        "idNumber": opened(pii.id_number_of), "homeAddress": opened(pii.home_address_of),
        "gender": person.gender,
        "birthDate": person.birth_date.isoformat(), "district": person.district,
        "skills": [s for s in person.skills.split(",") if s], "status": person.status.value,
        "volunteerNumber": person.volunteer_number,
        "consentedAt": _plain(person.consented_at), "approvedHours": person.approved_hours,
        "createdAt": _plain(person.created_at), "updatedAt": _plain(person.updated_at),
    }


def _reader(field: Any) -> Callable[[Any], Any] | None:
    """How a raw column value becomes JSON (None: as the driver gives it). SQLite gives
    booleans as 0/1 and JSON and times as text; PostgreSQL gives times as datetimes."""
    if isinstance(field, fields.BooleanField):
        return lambda value: None if value is None else bool(value)
    if isinstance(field, fields.JSONField):
        return lambda value: json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(field, fields.DatetimeField | fields.DateField | fields.DecimalField
                  | fields.TimeField | fields.UUIDField):
        return _plain
    return None


async def _rows(section: archive.Section, volunteer_id: int) -> list[dict[str, Any]]:
    """The section's rows (aliased `t`), converted for JSON. Raw rows: building model objects
    first would cost most of an archive's time."""
    meta = section.model._meta
    columns = [(column, _reader(meta.fields_map[name]))
               for name, column in meta.fields_db_projection.items()
               if archive.exportable(column) or column in section.sealed]
    listed = ", ".join(f't."{column}"' for column, _ in columns)
    rows = await fetch(meta.db, Sql(
        f'SELECT {listed} FROM "{meta.db_table}" t WHERE {section.where} '
        f'ORDER BY t."{meta.db_pk_column}"', person=volunteer_id))
    converted = [(column, read) for column, read in columns if read is not None]
    open_sealed = archive.reader_of(section, volunteer_id) if section.sealed else None
    for row in rows:
        for column, read in converted:
            row[column] = read(row[column])
        if open_sealed is not None:
            open_sealed(row)
    return rows


async def archive_sections(volunteer_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row that concerns the person, by table, as resolvers/archive.py declares it: rows
    naming them through a foreign key, rows belonging to rows of theirs (the replies in their
    service-desk tickets, claims on their shifts, the audit of their hours). One statement per
    table."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for section in archive.sections():
        rows = await _rows(section, volunteer_id)
        if rows:
            sections[section.model._meta.db_table] = rows
    return sections


async def build_archive(volunteer_id: int, *, now: datetime | None = None) -> bytes:
    """The ZIP: README.txt, profile.json, then one <table>.json per table that names them."""
    person = await Volunteer.get(id=volunteer_id)
    sections = await archive_sections(volunteer_id)
    # JSON and deflate are CPU work: off the event loop, which keeps answering meanwhile.
    return await asyncio.to_thread(_zip, _profile(person), sections, _now(now))


def _zip(profile: dict[str, Any], sections: dict[str, list[dict[str, Any]]],
         moment: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", (
            "同心志愿服务平台 个人信息副本 / Tongxin personal data copy\n"
            f"generated: {moment.isoformat()}\n"
            "profile.json: your account, with your phone, ID number and home address; every other "
            "file is one table: the rows that name you, and the rows that belong to yours (the "
            "replies in your service-desk tickets, claims on your shifts; times in UTC, "
            "ISO 8601).\n"))
        archive.writestr("profile.json", json.dumps(profile, ensure_ascii=False, indent=1))
        for table, rows in sorted(sections.items()):
            archive.writestr(f"{table}.json", json.dumps(rows, ensure_ascii=False))
    return buffer.getvalue()


async def build_pending_archives(*, now: datetime | None = None, limit: int = 5) -> int:
    """The export job: claims waiting exports one by one (a conditional UPDATE, so several
    workers never build one twice) and stores each archive for its one download."""
    moment = _now(now)
    await DataRequest.filter(
        kind=DataRequestKind.EXPORT, status=DataRequestStatus.PROCESSING,
        updated_at__lt=moment - timedelta(minutes=EXPORT_STALE_MINUTES),
    ).update(status=DataRequestStatus.PENDING, updated_at=moment)
    built = 0
    waiting = await DataRequest.filter(kind=DataRequestKind.EXPORT,
                                       status=DataRequestStatus.PENDING) \
        .order_by("id").limit(limit).values_list("id", "volunteer_id")
    for request_id, volunteer_id in waiting:
        claimed = await DataRequest.filter(id=request_id, status=DataRequestStatus.PENDING) \
            .update(status=DataRequestStatus.PROCESSING, updated_at=moment)
        if not claimed:
            continue
        body = await build_archive(volunteer_id, now=moment)
        async with in_transaction() as conn:
            stored = await DataRequest.filter(
                id=request_id, status=DataRequestStatus.PROCESSING,  # not deleted meanwhile
            ).using_db(conn).update(status=DataRequestStatus.READY, archive=body,
                                    archive_bytes=len(body), decided_at=_now(None))
            if not stored:
                continue
            note = await create_notification(
                volunteer_id, "DATA_EXPORT_READY", "你的个人信息副本已生成",
                "请在“我的数据”中获取下载链接；链接短时有效，仅可下载一次。",
                subject=("DataRequest", request_id), using=conn)
        await notify_created([note])
        built += 1
    return built


@dataclass(frozen=True)
class ArchiveLink:
    url: str
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def do_create_archive_link(viewer: Viewer, request_id: int,
                                 *, now: datetime | None = None) -> ArchiveLink:
    """A fresh one-time link to a built archive; any earlier link of it stops working."""
    volunteer = viewer.require()
    request = await DataRequest.get_or_none(id=request_id, volunteer_id=volunteer.id,
                                            kind=DataRequestKind.EXPORT)
    if request is None:
        raise NotFound("Request")
    if request.status != DataRequestStatus.READY:
        raise Conflict("The copy is not ready, or was already downloaded; ask for a new one.",
                       reason=request.status.value)
    token = secrets.token_urlsafe(32)
    expires = _now(now) + timedelta(minutes=ARCHIVE_LINK_MINUTES)
    changed = await DataRequest.filter(id=request.id, status=DataRequestStatus.READY).update(
        link_hash=_token_hash(token), link_expires_at=expires)
    if not changed:
        raise Conflict("The copy was downloaded meanwhile; ask for a new one.")
    return ArchiveLink(f"{public_base_url()}/privacy/archive/{token}", expires)


async def take_archive(token: str, *, now: datetime | None = None) -> tuple[str, bytes] | None:
    """The archive behind a live link, once: the download that marks it wins, the archive is
    dropped with it. None for unknown, spent or expired links."""
    if not token or len(token) > 100:
        return None
    moment = _now(now)
    async with in_transaction() as conn:
        changed = await DataRequest.filter(
            link_hash=_token_hash(token), status=DataRequestStatus.READY,
            link_expires_at__gt=moment,
        ).using_db(conn).update(status=DataRequestStatus.DONE, downloaded_at=moment)
        if not changed:
            return None
        request = await DataRequest.filter(link_hash=_token_hash(token)).using_db(conn).get()
        body = bytes(request.archive or b"")
        await DataRequest.filter(id=request.id).using_db(conn).update(archive=None,
                                                                      link_hash=None)
    return f"tongxin-data-{request.id}.zip", body


# -- deletion --------------------------------------------------------------------------------


async def _refuse(volunteer_id: int, kind: DataRequestKind, reason: str,
                  why: str) -> DataRequest:
    return await DataRequest.create(volunteer_id=volunteer_id, kind=kind, reason=why,
                                    status=DataRequestStatus.REFUSED, decision_reason=reason,
                                    decided_at=datetime.now(UTC))


def _pseudonym() -> str:
    return f"D{secrets.randbelow(10**15):015d}"


async def _cancel_upcoming(conn: BaseDBAsyncClient, volunteer_id: int,
                           moment: datetime) -> tuple[list[Notification], set[int]]:
    """Precondition: the person's row is locked (their sign-ups cannot change under this).
    Places they hold on activities not started yet are given back (the waitlist moves up)."""
    holding = await SignUp.filter(
        volunteer_id=volunteer_id, checked_in_at=None,
        status__in=[SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED, SignUpStatus.OFFERED],
        activity__starts_at__gt=moment,
    ).using_db(conn).order_by("activity_id")
    promoted: list[Notification] = []
    for sign_up in holding:
        promoted += await _cancel_in(conn, sign_up.activity_id, sign_up)
    return promoted, {s.activity_id for s in holding}


async def _teams_left_without_admin(volunteer_id: int) -> list[str]:
    """Names of the teams the person administers alone."""
    mine = await Membership.filter(volunteer_id=volunteer_id, role=MembershipRole.ADMIN,
                                   status=MembershipStatus.APPROVED).values_list("team_id", flat=True)
    if not mine:
        return []
    shared = set(await Membership.filter(
        team_id__in=list(mine), role=MembershipRole.ADMIN, status=MembershipStatus.APPROVED,
    ).exclude(volunteer_id=volunteer_id).values_list("team_id", flat=True))
    alone = [team_id for team_id in mine if team_id not in shared]
    if not alone:
        return []
    names = await Team.filter(id__in=alone).order_by("id").values_list("name", flat=True)
    return [str(name) for name in names]


async def do_delete_account(viewer: Viewer, password: str, reason: str = "",
                            *, now: datetime | None = None) -> DataRequest:
    """Erase the caller's personal data once they confirm with their password (an irreversible
    act needs more than a session token; attempts are throttled like logins). Refused
    (recorded, with the reason) for platform admins and a team's only admin, who hand over
    first. Two deletions at once: one erases, the other is CONFLICT."""
    volunteer = viewer.require()
    why = check_text(reason, "reason", max_len=REASON_MAX, required=False)
    await services().limiter.hit(f"delete-account:{volunteer.id}", DELETE_ATTEMPTS, 3600)
    if not await verify_password(password or "", volunteer.password_hash):
        raise BadInput("password", "The password is wrong.")
    if volunteer.is_platform_admin:
        return await _refuse(volunteer.id, DataRequestKind.DELETION,
                             "平台管理员账户需先移交管理权限，才能注销。", why)
    orphaned = await _teams_left_without_admin(volunteer.id)
    if orphaned:
        return await _refuse(volunteer.id, DataRequestKind.DELETION,
                             f"你是队伍「{'、'.join(orphaned)}」唯一的管理员，请先指定新的管理员再注销。",
                             why)
    moment = _now(now)
    async with in_transaction() as conn:
        # The person's row lock first: their sign-ups (which lock it too) serialise with this.
        changed = await Volunteer.filter(id=volunteer.id).exclude(
            status=VolunteerStatus.DELETED).using_db(conn).update(
            status=VolunteerStatus.DELETED, real_name=DELETED_NAME, display_name=DELETED_NAME,
            phone_cipher=None, phone_index=None, id_number_cipher=None, id_number_index=None,
            home_address_cipher=None, password_hash=None, skills="", volunteer_number=_pseudonym(),
            birth_date=date(volunteer.birth_date.year, 1, 1), updated_at=moment)
        if not changed:
            raise Conflict("This account has already been deleted.")
        promoted, activities = await _cancel_upcoming(conn, volunteer.id, moment)
        await Draft.filter(volunteer_id=volunteer.id).using_db(conn).delete()
        await Notification.filter(volunteer_id=volunteer.id).using_db(conn).delete()
        await DataRequest.filter(volunteer_id=volunteer.id).using_db(conn).update(
            requested_value=None, archive=None, link_hash=None)
        await DataRequest.filter(volunteer_id=volunteer.id, status__in=[
            DataRequestStatus.PENDING, DataRequestStatus.PROCESSING, DataRequestStatus.READY,
        ]).using_db(conn).update(status=DataRequestStatus.REFUSED, decided_at=moment,
                                 decision_reason="账户已注销，申请不再处理。")
        for certificate in await Certificate.filter(volunteer_id=volunteer.id).using_db(conn):
            content = {**certificate.content, "volunteerName": DELETED_NAME,
                       "idNumberMasked": "", "volunteerNumber": "", "teams": []}
            await Certificate.filter(id=certificate.id).using_db(conn).update(
                content=content, superseded_at=certificate.superseded_at or moment)
        request = await DataRequest.create(
            volunteer_id=volunteer.id, kind=DataRequestKind.DELETION, reason=why,
            status=DataRequestStatus.DONE, decided_at=moment, using_db=conn)
    await notify_created(promoted)
    for activity_id in sorted(activities):
        await notify_slot_change(activity_id)
    log.info("account %s deleted (request %s)", volunteer.id, request.id)
    return request
