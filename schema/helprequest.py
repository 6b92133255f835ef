"""Help requests: type, inputs, list query, mutations and the live push subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from core import pii
from core.metrics import observe_delivery
from models.helprequest import HelpRequest as HelpRequestModel
from models.helprequest import HelpRequestStatus as HelpRequestStatusModel
from models.helprequest import Urgency as UrgencyModel
from resolvers import helprequest as rules
from resolvers.validation import decode_tags
from schema.context import Info
from schema.geo import GeoInput
from schema.relay import (
    NEWEST_FIRST,
    Connection,
    Node,
    decode_id,
    decode_optional_id,
    paginate,
    paginate_within,
    register_node,
)
from schema.servicepoint import ServicePoint, help_request_service_point
from schema.team import Team, team_loader
from schema.volunteer import Volunteer, load_volunteer, require_volunteer

# Registers the models' enums as GraphQL enums (same classes, so values pass through).
HelpRequestStatus = HelpRequestStatusModel
Urgency = UrgencyModel
strawberry.enum(HelpRequestStatusModel, name="HelpRequestStatus",
                description="OPEN → CLAIMED (by a volunteer or team) → RESOLVED; CLOSED if withdrawn.")
strawberry.enum(UrgencyModel, name="Urgency", description="How soon help is needed.")


@strawberry.type(description="A request for help (求助) posted by a resident, volunteer or department.")
class HelpRequest(Node):
    model: strawberry.Private[HelpRequestModel]
    title: str = strawberry.field(description="Short summary.")
    description: str = strawberry.field(description="What is needed.")
    district: str = strawberry.field(description="District where help is needed.")
    address: str | None = strawberry.field(description="Street address, if given.")
    latitude: float | None = strawberry.field(description="Latitude of the place, if given.")
    longitude: float | None = strawberry.field(description="Longitude of the place, if given.")
    skills: list[str] = strawberry.field(description="Skills needed.")
    urgency: Urgency = strawberry.field(description="LOW, NORMAL or URGENT.")
    status: HelpRequestStatus = strawberry.field(description="Lifecycle state.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved or closed.")

    @classmethod
    def from_model(cls, model: HelpRequestModel) -> HelpRequest:
        return cls(
            db_id=model.id, model=model, title=model.title, description=model.description,
            district=model.district,
            address=pii.open_optional(model.address_cipher, pii.HELP_ADDRESS), latitude=model.latitude,
            longitude=model.longitude, skills=decode_tags(model.skills), urgency=model.urgency,
            status=model.status, created_at=model.created_at, resolved_at=model.resolved_at,
        )

    @strawberry.field(description="Who posted it (real-name platform).")
    async def author(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.created_by_id)

    @strawberry.field(description="The service point (服务阵地) nearest the need, if named.")
    async def service_point(
        self, info: Info
    ) -> ServicePoint | None:
        return await help_request_service_point(info, self.model)

    @strawberry.field(description="The volunteer who claimed it, if claimed.")
    async def claimed_by(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.claimed_by_id)

    @strawberry.field(description="The team it was claimed for, if any.")
    async def claimed_team(self, info: Info) -> Team | None:
        if self.model.claimed_team_id is None:
            return None
        team = await team_loader(info).load(self.model.claimed_team_id)
        return Team.from_model(team) if team else None


async def _node(info: Info, db_id: int) -> HelpRequest | None:
    if info.context.viewer.volunteer is None:
        return None
    model = await info.context.loaders.by_id(HelpRequestModel).load(db_id)
    return HelpRequest.from_model(model) if model else None


register_node("HelpRequest", _node)


@strawberry.input(description="A new help request.")
class HelpRequestInput:
    title: str = strawberry.field(description="Short summary.")
    description: str = strawberry.field(description="What is needed.")
    district: str = strawberry.field(description="District where help is needed.")
    address: str | None = strawberry.field(default=None, description="Street address.")
    latitude: float | None = strawberry.field(default=None, description="Latitude (with longitude).")
    longitude: float | None = strawberry.field(default=None, description="Longitude (with latitude).")
    skills: list[str] | None = strawberry.field(default=None, description="Skills needed.")
    urgency: Urgency = strawberry.field(default=UrgencyModel.NORMAL, description="Default NORMAL.")


@strawberry.type
class HelpRequestQuery:
    @strawberry.field(description="Help requests, newest first (signed-in users).")
    async def help_requests(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: HelpRequestStatus | None = None,
        district: str | None = None,
        skill: str | None = None,
        near: GeoInput | None = None,
    ) -> Connection[HelpRequest]:
        circle = near.to_circle("near") if near is not None else None
        if circle is not None:
            await rules.check_location_allowed(info.context.viewer)
        query = rules.list_help_requests(
            info.context.viewer, status=status, district=district, skill=skill, near=circle
        )
        if circle is not None:
            return await paginate_within(query, first, after, circle,
                                         convert=HelpRequest.from_model, order=NEWEST_FIRST)
        return await paginate(query, first, after, convert=HelpRequest.from_model, order=NEWEST_FIRST)


@strawberry.type
class HelpRequestMutation:
    @strawberry.mutation(description="Post a help request; matching volunteers are pushed it live.")
    async def create_help_request(self, info: Info, input: HelpRequestInput) -> HelpRequest:
        model = await rules.do_create_help_request(
            info.context.viewer,
            rules.HelpRequestData(
                title=input.title, description=input.description, district=input.district,
                address=input.address, latitude=input.latitude, longitude=input.longitude,
                skills=input.skills, urgency=UrgencyModel(input.urgency),
            ),
        )
        await rules.notify_help_request_created(model)
        return HelpRequest.from_model(model)

    @strawberry.mutation(description="Claim an open request (optionally for a team you administer).")
    async def claim_help_request(
        self, info: Info, id: strawberry.ID, team_id: strawberry.ID | None = None
    ) -> HelpRequest:
        model = await rules.do_claim_help_request(
            info.context.viewer, decode_id(id, "HelpRequest", "id"),
            decode_optional_id(team_id, "Team", "teamId"),
        )
        return HelpRequest.from_model(model)

    @strawberry.mutation(description="Mark a claimed request resolved (the claimer or an admin).")
    async def resolve_help_request(self, info: Info, id: strawberry.ID) -> HelpRequest:
        model = await rules.do_resolve_help_request(
            info.context.viewer, decode_id(id, "HelpRequest", "id")
        )
        return HelpRequest.from_model(model)

    @strawberry.mutation(description="Withdraw a request that is not resolved (author or admin).")
    async def close_help_request(self, info: Info, id: strawberry.ID) -> HelpRequest:
        model = await rules.do_close_help_request(
            info.context.viewer, decode_id(id, "HelpRequest", "id")
        )
        return HelpRequest.from_model(model)


@strawberry.type
class HelpRequestSubscription:
    @strawberry.subscription(
        description="New help requests matching every filter given: district equal, any skill in "
        "common, within `near.radiusKm` of the point. No filter: every new request."
    )
    async def help_request_created(
        self,
        info: Info,
        district: str | None = None,
        skills: list[str] | None = None,
        near: GeoInput | None = None,
    ) -> AsyncGenerator[HelpRequest, None]:
        match = rules.check_match_filter(
            district, skills, near.to_circle("near") if near is not None else None
        )
        async with rules.watch_help_requests(info.context.viewer, match) as inbox:
            while True:
                model = await rules.next_help_request(inbox)
                info.context.fresh_loaders()
                yield HelpRequest.from_model(model)
                # back here once its frame was written
                observe_delivery("helpRequestCreated", model.created_at.timestamp())
