"""Announcements and honours: types, inputs and the Query/Mutation fields.
Rules live in resolvers/honour.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, TypeAlias

import strawberry

from models.honour import Announcement as AnnouncementModel
from models.honour import AnnouncementStatus as AnnouncementStatusModel
from models.honour import Award as AwardModel
from models.honour import Nomination as NominationModel
from models.honour import NominationAudit as NominationAuditModel
from models.honour import NominationStatus as NominationStatusModel
from resolvers import honour as rules
from schema.cachecontrol import cache_hint
from schema.context import Info
from schema.relay import (
    BY_ID,
    NEWEST_FIRST,
    Connection,
    Node,
    Order,
    build_connection,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
    to_global_id,
)
from schema.team import Team, team_loader
from schema.volunteer import Volunteer, require_volunteer

if TYPE_CHECKING:
    AnnouncementStatus: TypeAlias = AnnouncementStatusModel
    NominationStatus: TypeAlias = NominationStatusModel
else:
    AnnouncementStatus = strawberry.enum(AnnouncementStatusModel, name="AnnouncementStatus",
                                         description="DRAFT or PUBLISHED.")
    NominationStatus = strawberry.enum(NominationStatusModel, name="NominationStatus",
                                       description="NOMINATED, then AWARDED or DECLINED.")

PINNED_FIRST = Order(fields=(("pinned", True), ("published_at", True)), id_descending=True)


@strawberry.type(description="An announcement or news brief (公告/简报) of the platform or a team.")
class Announcement(Node):
    model: strawberry.Private[AnnouncementModel]
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="Body text.")
    attachments: list[str] = strawberry.field(description="Attachment URLs.")
    pinned: bool = strawberry.field(description="Pinned to the top of announcement lists.")
    status: AnnouncementStatus = strawberry.field(description="DRAFT or PUBLISHED.")
    published_at: datetime = strawberry.field(description="Publication time (creation while a draft).")

    @classmethod
    def from_model(cls, model: AnnouncementModel) -> Announcement:
        return cls(db_id=model.id, model=model, title=model.title, body=model.body,
                   attachments=list(model.attachments or []), pinned=model.pinned,
                   status=AnnouncementStatusModel(model.status),
                   published_at=model.published_at)

    @strawberry.field(description="The team it is from; null for a platform announcement.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        row = await team_loader(info).load(self.model.team_id)
        return Team.from_model(row) if row else None

    @strawberry.field(description="Who wrote it.")
    async def author(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.author_id)


@strawberry.type(description="An honour (表彰) with the criteria its nominations are computed by.")
class Award(Node):
    model: strawberry.Private[AwardModel]
    name: str = strawberry.field(description="Name, e.g. 五星志愿者, 百优志愿者, 市长奖.")
    tier: int = strawberry.field(description="1 (highest) to 3.")
    min_period_hours: float = strawberry.field(
        description="Approved hours needed in activities that started within the period.")
    min_star_level: int = strawberry.field(description="Star level needed (cumulative hours).")
    period_start: date = strawberry.field(description="First day of the period (Beijing).")
    period_end: date = strawberry.field(description="Last day of the period (Beijing).")
    district: str | None = strawberry.field(description="Only volunteers of this district.")

    @classmethod
    def from_model(cls, model: AwardModel) -> Award:
        return cls(db_id=model.id, model=model, name=model.name, tier=model.tier,
                   min_period_hours=model.min_period_hours, min_star_level=model.min_star_level,
                   period_start=model.period_start, period_end=model.period_end,
                   district=model.district)

    @strawberry.field(description="Nominations in nomination order (each nomination run adds "
                                  "the newly eligible, most period hours first). Platform admins "
                                  "see every status; others the AWARDED ones.")
    async def nominations(
        self, info: Info, first: int | None = None, after: str | None = None,
        status: NominationStatus | None = None,
    ) -> Connection[Nomination]:
        statuses = [s.value for s in NominationStatusModel
                    if (status is None or s == status)
                    and (info.context.viewer.is_platform_admin
                         or s == NominationStatusModel.AWARDED)]
        size = check_first(first)
        loaders = info.context.loaders
        key = ("award.nominations", tuple(statuses))
        rows = await loaders.windowed(key, NominationModel, "award_id", size + 1, after, BY_ID,
                                      status=statuses).load(self.db_id) if statuses else []
        counter = loaders.counts(key, NominationModel, "award_id", status__in=statuses)

        async def count() -> int:
            return await counter.load(self.db_id) if statuses else 0

        return build_connection(rows, size, BY_ID, count, convert=Nomination.from_model,
                                started_after=bool(after))


@strawberry.type(description="One award decision in the audit trail.")
class NominationDecision:
    status_before: NominationStatus = strawberry.field(description="Status before.")
    status_after: NominationStatus = strawberry.field(description="Status after.")
    reason: str | None = strawberry.field(description="Reason given, if any.")
    created_at: datetime = strawberry.field(description="When it was decided.")
    actor_id: strawberry.ID = strawberry.field(description="Global ID of the deciding admin.")


@strawberry.type(description="A volunteer nominated for an award, with the figures that "
                             "qualified them and the decision.")
class Nomination(Node):
    model: strawberry.Private[NominationModel]
    period_hours: float = strawberry.field(description="Approved hours in the period when nominated.")
    star_level: int = strawberry.field(description="Star level when nominated.")
    status: NominationStatus = strawberry.field(description="NOMINATED, AWARDED or DECLINED.")
    decided_at: datetime | None = strawberry.field(description="When last decided.")

    @classmethod
    def from_model(cls, model: NominationModel) -> Nomination:
        return cls(db_id=model.id, model=model, period_hours=model.period_hours,
                   star_level=model.star_level, status=NominationStatusModel(model.status),
                   decided_at=model.decided_at)

    @classmethod
    async def honours_of(cls, info: Info, volunteer_id: int) -> list[Nomination]:
        """`Volunteer.honours`: awarded nominations, latest decision first."""
        rows = await info.context.loaders.grouped(
            "volunteer.honours", NominationModel, "volunteer_id", ("-decided_at", "id"),
            status=NominationStatusModel.AWARDED).load(volunteer_id)
        return [cls.from_model(row) for row in rows]

    @strawberry.field(description="The award.")
    async def award(self, info: Info) -> Award:
        row = await info.context.loaders.by_id(AwardModel).load(self.model.award_id)
        assert row is not None
        return Award.from_model(row)

    @strawberry.field(description="The nominated volunteer.")
    async def volunteer(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.volunteer_id)

    @strawberry.field(description="Decisions, oldest first (platform admins; others: empty).")
    async def audit(self, info: Info) -> list[NominationDecision]:
        if not info.context.viewer.is_platform_admin:
            return []
        rows = await info.context.loaders.grouped("nomination.audit", NominationAuditModel,
                                                  "nomination_id").load(self.db_id)
        return [NominationDecision(
            status_before=NominationStatusModel(r.status_before),
            status_after=NominationStatusModel(r.status_after), reason=r.reason,
            created_at=r.created_at, actor_id=to_global_id("Volunteer", r.actor_id))
            for r in rows]


async def _announcement_node(info: Info, db_id: int) -> Announcement | None:
    row = await info.context.loaders.by_id(AnnouncementModel).load(db_id)
    if row is None:
        return None
    if row.status == AnnouncementStatusModel.DRAFT and \
            not await rules._may_announce(info.context.viewer, row.team_id):
        return None
    return Announcement.from_model(row)


async def _award_node(info: Info, db_id: int) -> Award | None:
    row = await info.context.loaders.by_id(AwardModel).load(db_id)
    return Award.from_model(row) if row else None


async def _nomination_node(info: Info, db_id: int) -> Nomination | None:
    row = await info.context.loaders.by_id(NominationModel).load(db_id)
    if row is None or (row.status != NominationStatusModel.AWARDED
                       and not info.context.viewer.is_platform_admin):
        return None
    return Nomination.from_model(row)


register_node("Announcement", _announcement_node)
register_node("Award", _award_node)
register_node("Nomination", _nomination_node)


@strawberry.input(description="A new announcement.")
class AnnouncementInput:
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="The announcement.")
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="The team (its admins); omit for the platform (platform admins).")
    attachments: list[str] | None = strawberry.field(default=None,
                                                     description="http(s) URLs.")
    pinned: bool = strawberry.field(default=False, description="Pin to the top of lists.")
    publish: bool = strawberry.field(default=True, description="Publish now (else a DRAFT).")
    draft_key: str | None = strawberry.field(
        default=None, description="Server-side draft to discard when it is published.")


@strawberry.input(description="A new award and its criteria.")
class AwardInput:
    name: str = strawberry.field(description="Name of the award.")
    tier: int = strawberry.field(description="1 (highest) to 3.")
    period_start: date = strawberry.field(description="First day (Beijing).")
    period_end: date = strawberry.field(description="Last day (Beijing).")
    min_period_hours: float = strawberry.field(default=0, description="0–100,000.")
    min_star_level: int = strawberry.field(default=0, description="0 to the highest star level.")
    district: str | None = strawberry.field(default=None, description="Only this district.")


@strawberry.type
class HonourQuery:
    @strawberry.field(description="Published announcements, pinned first then newest; drafts "
                                  "too for those who may announce there. `teamId` for a team's, "
                                  "`platformOnly` for the platform's; `status` for only "
                                  "the drafts or only the published ones.",
                      metadata=cache_hint(60))
    async def announcements(self, info: Info, first: int | None = None,
                            after: str | None = None, team_id: strawberry.ID | None = None,
                            platform_only: bool = False,
                            status: AnnouncementStatus | None = None,
                            ) -> Connection[Announcement]:
        query = await rules.list_announcements(
            info.context.viewer, decode_optional_id(team_id, "Team", "teamId"), platform_only,
            None if status is None else AnnouncementStatusModel(status))
        return await paginate(query, first, after, convert=Announcement.from_model,
                              order=PINNED_FIRST)

    @strawberry.field(description="Awards, newest first.")
    async def awards(self, info: Info, first: int | None = None,
                     after: str | None = None) -> Connection[Award]:
        return await paginate(AwardModel.all(), first, after, convert=Award.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class HonourMutation:
    @strawberry.mutation(description="Create an announcement (platform or team admins).")
    async def create_announcement(self, info: Info, input: AnnouncementInput) -> Announcement:
        model = await rules.do_create_announcement(info.context.viewer, rules.AnnouncementData(
            title=input.title, body=input.body,
            team_id=decode_optional_id(input.team_id, "Team", "teamId"),
            attachments=input.attachments, pinned=input.pinned, publish=input.publish,
            draft_key=input.draft_key))
        return Announcement.from_model(model)

    @strawberry.mutation(description="Publish a draft announcement; it enters the feed now.")
    async def publish_announcement(self, info: Info, id: strawberry.ID,
                                   draft_key: str | None = None) -> Announcement:
        model = await rules.do_publish_announcement(
            info.context.viewer, decode_id(id, "Announcement", "id"), draft_key)
        return Announcement.from_model(model)

    @strawberry.mutation(description="Pin or unpin an announcement.")
    async def pin_announcement(self, info: Info, id: strawberry.ID,
                               pinned: bool) -> Announcement:
        model = await rules.do_pin_announcement(info.context.viewer,
                                                decode_id(id, "Announcement", "id"), pinned)
        return Announcement.from_model(model)

    @strawberry.mutation(description="Define an award and its criteria (platform admins).")
    async def create_award(self, info: Info, input: AwardInput) -> Award:
        model = await rules.do_create_award(info.context.viewer, rules.AwardData(
            name=input.name, tier=input.tier, period_start=input.period_start,
            period_end=input.period_end, min_period_hours=input.min_period_hours,
            min_star_level=input.min_star_level, district=input.district))
        return Award.from_model(model)

    @strawberry.mutation(description="Compute the nomination list from the data (platform "
                                     "admins); returns how many were added. Idempotent.")
    async def nominate_for_award(self, info: Info, award_id: strawberry.ID) -> int:
        return await rules.do_nominate(info.context.viewer,
                                       decode_id(award_id, "Award", "awardId"))

    @strawberry.mutation(description="Record an award decision (platform admins); changing an "
                                     "earlier decision needs a reason. Audited.")
    async def decide_nomination(self, info: Info, id: strawberry.ID,
                                decision: NominationStatus,
                                reason: str | None = None) -> Nomination:
        model = await rules.do_decide_nomination(
            info.context.viewer, decode_id(id, "Nomination", "id"),
            NominationStatusModel(decision), reason)
        return Nomination.from_model(model)


__all__ = ["Announcement", "Award", "HonourMutation", "HonourQuery", "Nomination"]
