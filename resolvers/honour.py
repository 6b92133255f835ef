"""Announcements and honours.

Decisions where the issue was silent (docs/training.md):
- An announcement belongs to the platform (platform admins; everyone's feed) or a team (its
  admins; its members' feeds). It is created as DRAFT or PUBLISHED; publishing discards the
  author's server-side draft under `draftKey` in the same transaction, as forum posts do.
  The feed orders announcements by publication time like every entry; `pinned` puts them
  first in `announcements(...)`.
- Awards are platform-wide (optionally one district) and defined and decided by platform
  admins. A volunteer is nominated when, for activities that started inside the award's
  period, their approved hours reach `minPeriodHours` and their star level (cumulative
  hours) reaches `minStarLevel`. `nominate` snapshots the list (idempotent, one row per
  volunteer); every decision (AWARDED / DECLINED, changeable with a reason) is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.settings import get_settings
from core.time import BEIJING
from db.routing import read_connection
from models.exchange import RecordChangeKind
from models.honour import (
    Announcement,
    AnnouncementStatus,
    Award,
    Nomination,
    NominationAudit,
    NominationStatus,
)
from models.team import Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers import exchange
from resolvers.auth import Viewer
from resolvers.draft import discard_draft
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.hours import star_level
from resolvers.sql import Sql, fetch
from resolvers.team import administered_team_ids, is_team_admin
from resolvers.validation import (
    LONG_TEXT_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    check_optional_text,
    check_text,
    check_url,
)

ATTACHMENTS_MAX = 10
REASON_MAX = 500


@dataclass
class AnnouncementData:
    title: str
    body: str
    team_id: int | None = None
    attachments: list[str] | None = None
    pinned: bool = False
    publish: bool = True
    draft_key: str | None = None


@dataclass
class AwardData:
    name: str
    tier: int
    period_start: date
    period_end: date
    min_period_hours: float = 0
    min_star_level: int = 0
    district: str | None = None


async def _may_announce(viewer: Viewer, team_id: int | None) -> bool:
    if viewer.is_platform_admin:
        return True
    if team_id is None:
        return False
    team = await Team.get_or_none(id=team_id)
    return team is not None and await is_team_admin(viewer, team)


def _check_attachments(urls: list[str] | None) -> list[str]:
    clean = []
    for raw in urls or []:
        url = check_url(raw, "attachments", required=True)
        assert url is not None
        clean.append(url)
    if len(clean) > ATTACHMENTS_MAX:
        raise BadInput("attachments", f"At most {ATTACHMENTS_MAX} attachments.")
    return clean


async def do_create_announcement(viewer: Viewer, data: AnnouncementData) -> Announcement:
    author = viewer.require_active()
    if data.team_id is not None and not await Team.exists(id=data.team_id):
        raise NotFound("Team")
    if not await _may_announce(viewer, data.team_id):
        raise Forbidden("Platform admins announce to everyone; team admins to their team.")
    values = {
        "title": check_text(data.title, "title", max_len=SHORT_TEXT_MAX),
        "body": check_text(data.body, "body", max_len=LONG_TEXT_MAX),
        "attachments": _check_attachments(data.attachments),
    }
    status = AnnouncementStatus.PUBLISHED if data.publish else AnnouncementStatus.DRAFT
    async with in_transaction() as conn:
        announcement = await Announcement.create(
            team_id=data.team_id, author_id=author.id, pinned=data.pinned, status=status,
            using_db=conn, **values)
        if data.publish:
            await discard_draft(author.id, data.draft_key, conn)
    return announcement


async def check_announcement_admin(viewer: Viewer, announcement_id: int) -> Announcement:
    viewer.require()
    announcement = await Announcement.get_or_none(id=announcement_id)
    if announcement is None:
        raise NotFound("Announcement")
    if not await _may_announce(viewer, announcement.team_id):
        if announcement.status == AnnouncementStatus.DRAFT:
            raise NotFound("Announcement")
        raise Forbidden("Only the announcement's admins can change it.")
    return announcement


async def do_publish_announcement(viewer: Viewer, announcement_id: int,
                                  draft_key: str | None = None) -> Announcement:
    """DRAFT → PUBLISHED (dated now, so it enters the feed at the top); again: no-op."""
    announcement = await check_announcement_admin(viewer, announcement_id)
    async with in_transaction() as conn:
        await Announcement.filter(id=announcement.id, status=AnnouncementStatus.DRAFT) \
            .using_db(conn).update(status=AnnouncementStatus.PUBLISHED,
                                   published_at=datetime.now(UTC))
        await discard_draft(viewer.require().id, draft_key, conn)
    await announcement.refresh_from_db()
    return announcement


async def do_pin_announcement(viewer: Viewer, announcement_id: int, pinned: bool) -> Announcement:
    announcement = await check_announcement_admin(viewer, announcement_id)
    await Announcement.filter(id=announcement.id).update(pinned=pinned)
    await announcement.refresh_from_db()
    return announcement


async def list_announcements(viewer: Viewer, team_id: int | None, platform_only: bool,
                             status: AnnouncementStatus | None = None) -> QuerySet[Announcement]:
    """Published ones; drafts too where the viewer may announce (every draft for platform
    admins, their teams' for team admins), so an organiser's page lists them in one request."""
    query = Announcement.all()
    if platform_only:
        query = query.filter(team_id__isnull=True)
    elif team_id is not None:
        query = query.filter(team_id=team_id)
    if status is not None:
        query = query.filter(status=status)
    if viewer.is_platform_admin:
        return query
    managed = await administered_team_ids(viewer.id) if viewer.id is not None else set()
    if not managed:
        return query.filter(status=AnnouncementStatus.PUBLISHED)
    return query.filter(Q(status=AnnouncementStatus.PUBLISHED) | Q(team_id__in=managed))


# --- honours -------------------------------------------------------------------------------

def _require_platform_admin(viewer: Viewer) -> Volunteer:
    volunteer = viewer.require_active()
    if not viewer.is_platform_admin:
        raise Forbidden("Only platform admins manage honours.")
    return volunteer


async def do_create_award(viewer: Viewer, data: AwardData) -> Award:
    creator = _require_platform_admin(viewer)
    name = check_text(data.name, "name", max_len=100)
    if not 1 <= data.tier <= 3:
        raise BadInput("tier", "tier must be 1 (highest), 2 or 3.")
    if data.period_end < data.period_start:
        raise BadInput("periodEnd", "periodEnd must not be before periodStart.")
    if not 0 <= data.min_period_hours <= 100_000:
        raise BadInput("minPeriodHours", "minPeriodHours must be between 0 and 100000.")
    if not 0 <= data.min_star_level <= len(get_settings().star_thresholds):
        raise BadInput("minStarLevel", "minStarLevel must be a star level that exists.")
    district = check_optional_text(data.district, "district", max_len=NAME_MAX)
    return await Award.create(name=name, tier=data.tier, period_start=data.period_start,
                              period_end=data.period_end, min_period_hours=data.min_period_hours,
                              min_star_level=data.min_star_level, district=district,
                              created_by_id=creator.id)


async def eligible(award: Award) -> list[tuple[int, float, int]]:
    """(volunteer id, approved hours in the period, star level) meeting the criteria, one
    grouped statement; the period is Beijing dates, inclusive."""
    start = datetime.combine(award.period_start, time(), BEIJING).astimezone(UTC)
    end = datetime.combine(award.period_end + timedelta(days=1), time(), BEIJING).astimezone(UTC)
    district = (Sql("AND v.district = :district", district=award.district) if award.district
                else Sql())
    rows = await fetch(read_connection(), Sql(
        "SELECT r.volunteer_id AS volunteer_id, SUM(r.hours) AS hours, "
        "MAX(v.approved_hours) AS total FROM service_record r "
        "JOIN activity a ON a.id = r.activity_id JOIN volunteer v ON v.id = r.volunteer_id "
        "WHERE r.status = 'APPROVED' AND a.starts_at >= :start AND a.starts_at < :end "
        "AND v.status = :active :district GROUP BY r.volunteer_id "
        "HAVING SUM(r.hours) >= :min_hours ORDER BY hours DESC, r.volunteer_id",
        start=start, end=end, active=VolunteerStatus.ACTIVE, district=district,
        min_hours=award.min_period_hours))
    found = []
    for row in rows:
        stars = star_level(float(row["total"]))
        if stars >= award.min_star_level:
            found.append((int(row["volunteer_id"]), round(float(row["hours"]), 2), stars))
    return found


async def do_nominate(viewer: Viewer, award_id: int) -> int:
    """Snapshot the nomination list; re-running adds newly eligible volunteers only."""
    _require_platform_admin(viewer)
    award = await Award.get_or_none(id=award_id)
    if award is None:
        raise NotFound("Award")
    have = set(await Nomination.filter(award_id=award.id).values_list("volunteer_id", flat=True))
    fresh = [Nomination(award_id=award.id, volunteer_id=v, period_hours=h, star_level=s)
             for v, h, s in await eligible(award) if v not in have]
    try:
        await Nomination.bulk_create(fresh, batch_size=500)
    except IntegrityError:
        raise Conflict("Nominations changed at the same moment; run it again.") from None
    return len(fresh)


async def do_decide_nomination(viewer: Viewer, nomination_id: int, status: NominationStatus,
                               reason: str | None) -> Nomination:
    """AWARDED or DECLINED; changing an earlier decision needs a reason. Audited."""
    actor = _require_platform_admin(viewer)
    if status == NominationStatus.NOMINATED:
        raise BadInput("decision", "decision must be AWARDED or DECLINED.")
    reason_text = check_optional_text(reason, "reason", max_len=REASON_MAX)
    async with in_transaction() as conn:
        current = await Nomination.filter(id=nomination_id).using_db(conn) \
            .select_for_update().first()
        if current is None:
            raise NotFound("Nomination")
        if current.status == status:
            return current
        if current.status != NominationStatus.NOMINATED and not reason_text:
            raise BadInput("reason", "Give a reason to change an award decision.")
        before = current.status
        current.status, current.decided_at = status, datetime.now(UTC)
        await current.save(using_db=conn, update_fields=["status", "decided_at"])
        await NominationAudit.create(nomination_id=current.id, actor_id=actor.id,
                                     status_before=before.value, status_after=status.value,
                                     reason=reason_text, using_db=conn)
        if NominationStatus.AWARDED in (before, status):  # awarded, or an award withdrawn
            award = await Award.filter(id=current.award_id).using_db(conn).get()
            await exchange.enqueue_for(conn, RecordChangeKind.AWARD, current.volunteer_id,
                                       current.id, {"title": award.name, "status": status.value,
                                                    "occurredAt": current.decided_at.isoformat()})
    return current
