"""Activities, sign-ups and live slot counts: types, inputs and the Query/Mutation/Subscription
fields. Rules live in resolvers/activity.py, resolvers/signup.py and resolvers/slots.py."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Hashable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry

from core.metrics import observe_delivery
from models.activity import Activity as ActivityModel
from models.activity import ActivityStatus as ActivityStatusModel
from models.activity import SignUp as SignUpModel
from models.activity import SignUpStatus as SignUpStatusModel
from resolvers import activity as rules
from resolvers import chat, signup
from resolvers.errors import DomainError, Forbidden, NotFound
from resolvers.services import services
from resolvers.slots import slot_state
from resolvers.team import administered_team_ids
from resolvers.validation import decode_tags
from schema.cachecontrol import cache_hint
from schema.context import Context, Info, administered_teams
from schema.geo import GeoInput
from schema.lazy import lazy_class
from schema.live.fanout import ShareRule, share
from schema.loaders import InsuredBySignUpLoader, SignUpByActivityLoader, WaitlistPositionBySignUpLoader
from schema.project import Position, Project, activity_position, activity_project
from schema.relay import (
    Connection,
    Node,
    Order,
    build_connection,
    check_first,
    decode_id,
    paginate,
    paginate_within,
    register_node,
    to_global_id,
)
from schema.servicepoint import ServicePoint, activity_service_point
from schema.team import Team, team_loader
from schema.training import ActivityRequirements, activity_requirements
from schema.volunteer import Volunteer, require_volunteer
from subscriptions.slots import SlotState, slot_hub

if TYPE_CHECKING:
    from forum.schema import ExperiencePost

# The forum loads after this module (schema/lazy.py).
ExperiencePostRef = Annotated["ExperiencePost", strawberry.lazy("forum.schema")]

if TYPE_CHECKING:
    ActivityStatus: TypeAlias = ActivityStatusModel
    SignUpStatus: TypeAlias = SignUpStatusModel
else:
    ActivityStatus = strawberry.enum(ActivityStatusModel, name="ActivityStatus",
                                     description="Lifecycle of an activity.")
    SignUpStatus = strawberry.enum(SignUpStatusModel, name="SignUpStatus",
                                   description="State of a volunteer's sign-up.")

UPCOMING_FIRST = Order(fields=(("starts_at", False),))
NEWEST_FIRST = Order(id_descending=True)


def activity_loader(info: Info):  # type: ignore[no-untyped-def]
    return info.context.loaders.by_id(ActivityModel)


def sign_up_loader(info: Info):  # type: ignore[no-untyped-def]
    return info.context.loaders.by_id(SignUpModel)


async def _may_manage(info: Info, team_id: int) -> bool:
    return info.context.viewer.is_platform_admin or team_id in await administered_teams(info)


@strawberry.type(description="A volunteer activity (活动) with a limited number of slots.")
class Activity(Node):
    model: strawberry.Private[ActivityModel]
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="Description (may be long).")
    category: str = strawberry.field(description="Category, e.g. 助老, 环保, 应急.")
    district: str = strawberry.field(description="District where it takes place.")
    address: str | None = strawberry.field(description="Street address.")
    latitude: float | None = strawberry.field(description="Latitude in degrees, if known.")
    longitude: float | None = strawberry.field(description="Longitude in degrees, if known.")
    starts_at: datetime = strawberry.field(description="Start time.")
    ends_at: datetime = strawberry.field(description="End time.")
    sign_up_deadline: datetime = strawberry.field(description="Sign-ups close at this time.")
    capacity: int = strawberry.field(description="Confirmed places (1–10,000).")
    confirmed_count: int = strawberry.field(description="Confirmed sign-ups now.")
    offered_count: int = strawberry.field(
        description="Freed places held for waitlisted volunteers until they accept or the "
                    "offer expires (not free, not yet confirmed).")
    waitlist_count: int = strawberry.field(description="Waitlisted sign-ups now.")
    waitlist_limit: int = strawberry.field(description="Maximum waitlist length.")
    remaining: int = strawberry.field(description="Free confirmed places (0 unless published).")
    hours_credit: float = strawberry.field(description="Service hours credited for attending.")
    skills: list[str] = strawberry.field(description="Skills needed.")
    status: ActivityStatus = strawberry.field(description="Lifecycle state.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled, if it was.")
    created_at: datetime = strawberry.field(description="When it was created.")
    published_at: datetime = strawberry.field(
        description="When it was published (its creation time while still a draft).")

    @classmethod
    def from_model(cls, model: ActivityModel) -> Activity:
        status = ActivityStatusModel(model.status)
        return cls(
            db_id=model.id, model=model, title=model.title, description=model.description,
            category=model.category, district=model.district, address=model.address,
            latitude=model.latitude, longitude=model.longitude, starts_at=model.starts_at,
            ends_at=model.ends_at, sign_up_deadline=model.sign_up_deadline,
            capacity=model.capacity,
            confirmed_count=model.taken_count - model.offered_count,
            offered_count=model.offered_count, waitlist_count=model.waitlist_count,
            waitlist_limit=model.waitlist_limit,
            remaining=max(0, model.capacity - model.taken_count)
            if status == ActivityStatusModel.PUBLISHED else 0,
            hours_credit=model.hours_credit, skills=decode_tags(model.skills), status=status,
            cancel_reason=model.cancel_reason, created_at=model.created_at,
            published_at=model.published_at,
        )

    @strawberry.field(description="The organising team.")
    async def team(self, info: Info) -> Team:
        return Team.from_model(await team_loader(info).load(self.model.team_id))

    @strawberry.field(description="What a volunteer needs to sign up: qualifications (all of "
                                  "them) and a minimum age; empty when anyone may.")
    async def requirements(
        self, info: Info
    ) -> ActivityRequirements:
        return await activity_requirements(info, self.model)

    @strawberry.field(description="The project (项目) this activity belongs to, if any.")
    async def project(self, info: Info) -> Project | None:
        return await activity_project(info, self.model)

    @strawberry.field(description="The fixed post (岗位) this shift is for, if any.")
    async def position(
        self, info: Info
    ) -> Position | None:
        return await activity_position(info, self.model)

    @strawberry.field(description="The service point (服务阵地) it takes place at, if named.")
    async def service_point(
        self, info: Info
    ) -> ServicePoint | None:
        return await activity_service_point(info, self.model)

    @strawberry.field(description="The signed-in volunteer's sign-up, if any (null if anonymous).")
    async def my_sign_up(self, info: Info) -> SignUp | None:
        viewer_id = info.context.viewer.id
        if viewer_id is None:
            return None
        row = await info.context.loaders.named(SignUpByActivityLoader, viewer_id).load(self.db_id)
        return SignUp.from_model(row) if row else None

    @strawberry.field(description="Check-in code volunteers type on site (team admins only).")
    async def check_in_code(self, info: Info) -> str | None:
        if not await _may_manage(info, self.model.team_id):
            return None
        return self.model.check_in_code

    @strawberry.field(description="Whether the signed-in volunteer may manage this activity.")
    async def viewer_can_manage(self, info: Info) -> bool:
        return await _may_manage(info, self.model.team_id)

    @strawberry.field(description="Sign-ups, by arrival (team admins only). Filter by status; "
                                  "WAITLISTED lists the waitlist in order.")
    async def sign_ups(
        self, info: Info, first: int | None = None, after: str | None = None,
        status: SignUpStatus | None = None,
    ) -> Connection[SignUp]:
        if not await _may_manage(info, self.model.team_id):
            raise Forbidden("Only the activity's team admins can list its sign-ups.")
        query = SignUpModel.filter(activity_id=self.db_id)
        order = Order()
        if status is not None:
            query = query.filter(status=status)
            if status == SignUpStatusModel.WAITLISTED:
                order = Order(fields=(("waitlist_seq", False),))
        return await paginate(query, first, after, convert=SignUp.from_model, order=order)

    @strawberry.field(description="Experience posts (心得) about this activity, newest first.")
    async def experience_posts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ExperiencePostRef]:
        return await lazy_class(ExperiencePostRef).of_activity(info, self.db_id, first, after)

    @classmethod
    async def of_team(
        cls, info: Info, team_id: int, first: int | None, after: str | None,
        status: ActivityStatusModel | None,
    ) -> Connection[Activity]:
        """`Team.activities`: newest first, one windowed statement for all teams of the request."""
        size = check_first(first)
        statuses = [s for s in ActivityStatusModel if status is None or s == status]
        if not await _may_manage(info, team_id):
            statuses = [s for s in statuses if s != ActivityStatusModel.DRAFT]
        loader = info.context.loaders.windowed(("team.activities", tuple(statuses)), ActivityModel,
                                               "team_id", size + 1, after, NEWEST_FIRST,
                                               status=[s.value for s in statuses])
        rows = await loader.load(team_id) if statuses else []
        counter = info.context.loaders.counts(("team.activities", tuple(statuses)), ActivityModel,
                                              "team_id", status__in=statuses)

        async def count() -> int:
            return await counter.load(team_id) if statuses else 0

        return build_connection(rows, size, NEWEST_FIRST, count, convert=cls.from_model,
                                started_after=bool(after))


@strawberry.type(description="A volunteer's sign-up for an activity.")
class SignUp(Node):
    model: strawberry.Private[SignUpModel]
    status: SignUpStatus = strawberry.field(
        description="CONFIRMED, WAITLISTED, OFFERED (a freed place is held for you until "
                    "offerExpiresAt: acceptOffer or declineOffer) or CANCELLED.")
    offer_expires_at: datetime | None = strawberry.field(
        description="While OFFERED: when the held place passes to the next in line.")
    created_at: datetime = strawberry.field(description="When the volunteer signed up.")
    checked_in_at: datetime | None = strawberry.field(description="Check-in time on site.")
    checked_out_at: datetime | None = strawberry.field(description="Check-out time.")

    @classmethod
    def from_model(cls, model: SignUpModel) -> SignUp:
        return cls(db_id=model.id, model=model, status=SignUpStatusModel(model.status),
                   offer_expires_at=model.offer_expires_at,
                   created_at=model.created_at, checked_in_at=model.checked_in_at,
                   checked_out_at=model.checked_out_at)

    @classmethod
    async def of_volunteer(
        cls, info: Info, volunteer_id: int, first: int | None, after: str | None
    ) -> Connection[SignUp]:
        """`Volunteer.signUps`: the volunteer themself only; newest first, one windowed query."""
        if info.context.viewer.id != volunteer_id:
            raise Forbidden("Only the volunteer themself sees their sign-ups.")
        return await info.context.loaders.child_page(
            "volunteer.sign_ups", SignUpModel, "volunteer_id", volunteer_id, first, after,
            NEWEST_FIRST, convert=cls.from_model)

    @strawberry.field(description="The activity.")
    async def activity(self, info: Info) -> Activity:
        return Activity.from_model(await activity_loader(info).load(self.model.activity_id))

    @strawberry.field(description="The volunteer who signed up.")
    async def volunteer(self, info: Info) -> Volunteer:
        return await require_volunteer(info, self.model.volunteer_id)

    @strawberry.field(description="A confirmed shift some accident insurance policy covers "
                                  "(false otherwise); batched for a list.")
    async def insured(self, info: Info) -> bool:
        return await info.context.loaders.named(InsuredBySignUpLoader).load(self.db_id)

    @strawberry.field(description="1 for the next to be promoted; null unless WAITLISTED.")
    async def waitlist_position(self, info: Info) -> int | None:
        if self.model.status != SignUpStatusModel.WAITLISTED:
            return None
        return await info.context.loaders.named(WaitlistPositionBySignUpLoader).load(self.db_id)


@strawberry.type(description="Live slot counts of an activity.")
class SlotCount:
    activity_id: strawberry.ID = strawberry.field(description="Global ID of the activity.")
    capacity: int = strawberry.field(description="Confirmed places.")
    confirmed: int = strawberry.field(description="Confirmed sign-ups.")
    offered: int = strawberry.field(
        description="Places held for waitlisted volunteers (time-limited offers).")
    waitlisted: int = strawberry.field(description="Waitlisted sign-ups.")
    remaining: int = strawberry.field(description="Free places (0 unless published).")
    status: ActivityStatus = strawberry.field(description="Lifecycle state of the activity.")
    version: int = strawberry.field(description="Grows with every change; never goes back.")
    at: datetime = strawberry.field(description="When these counts were committed or read.")

    @classmethod
    def from_state(cls, state: SlotState) -> SlotCount:
        return cls(activity_id=to_global_id("Activity", state.activity_id),
                   capacity=state.capacity, confirmed=state.confirmed - state.offered,
                   offered=state.offered,
                   waitlisted=state.waitlisted, remaining=state.remaining,
                   status=state.status, version=state.version, at=state.at)


async def _activity_node(info: Info, db_id: int) -> Activity | None:
    model = await activity_loader(info).load(db_id)
    if model is None:
        return None
    if model.status == ActivityStatusModel.DRAFT and not await _may_manage(info, model.team_id):
        return None
    return Activity.from_model(model)


async def _sign_up_node(info: Info, db_id: int) -> SignUp | None:
    model = await sign_up_loader(info).load(db_id)
    if model is None:
        return None
    if model.volunteer_id != info.context.viewer.id:
        activity = await activity_loader(info).load(model.activity_id)
        if activity is None or not await _may_manage(info, activity.team_id):
            return None
    return SignUp.from_model(model)


register_node("Activity", _activity_node)
register_node("SignUp", _sign_up_node)


@strawberry.input(description="A new activity (created as DRAFT; publish it to open sign-ups).")
class ActivityInput:
    team_id: strawberry.ID = strawberry.field(description="Organising team.")
    title: str = strawberry.field(description="Title.")
    category: str = strawberry.field(description="Category, e.g. 助老.")
    district: str = strawberry.field(description="District where it takes place.")
    starts_at: datetime = strawberry.field(description="Start, with a UTC offset.")
    ends_at: datetime = strawberry.field(description="End, after the start (≤ 31 days).")
    capacity: int = strawberry.field(description="Confirmed places, 1–10,000.")
    hours_credit: float = strawberry.field(description="Hours credited; > 0, ≤ the length.")
    description: str = strawberry.field(default="", description="What volunteers will do.")
    address: str | None = strawberry.field(default=None, description="Where to go.")
    latitude: float | None = strawberry.field(default=None, description="-90..90, with longitude.")
    longitude: float | None = strawberry.field(default=None, description="-180..180.")
    sign_up_deadline: datetime | None = strawberry.field(default=None,
                                                         description="≤ start; default: start.")
    skills: list[str] | None = strawberry.field(default=None, description="Skills wanted.")
    waitlist_limit: int | None = strawberry.field(default=None,
                                                  description="0–10,000; default: capacity.")
    check_in_code: str | None = strawberry.field(default=None, description="Optional code.")
    check_in_radius_m: int | None = strawberry.field(
        default=None, description="Optional check-in radius in metres (needs coordinates).")


@strawberry.input(description="Changes to an activity; omitted fields stay as they are.")
class ActivityUpdateInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    district: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    sign_up_deadline: datetime | None = strawberry.UNSET
    capacity: int | None = strawberry.UNSET
    hours_credit: float | None = strawberry.UNSET
    skills: list[str] | None = strawberry.UNSET
    waitlist_limit: int | None = strawberry.UNSET
    check_in_code: str | None = strawberry.UNSET
    check_in_radius_m: int | None = strawberry.UNSET


def _data(source: object) -> rules.ActivityData:
    data = rules.ActivityData()
    for name in rules.ActivityData.__dataclass_fields__:
        value = getattr(source, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            setattr(data, name, value)
    return data


@strawberry.type
class ActivityQuery:
    @strawberry.field(description="Activities, soonest first. Without `status` drafts are left "
                                  "out; `near` keeps those within the circle.",
                      metadata=cache_hint(10))  # slot counts stay live over subscriptions
    async def activities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: ActivityStatus | None = None,
        district: str | None = None,
        category: str | None = None,
        has_open_slots: bool | None = None,
        starts_after: datetime | None = None,
        near: GeoInput | None = None,
    ) -> Connection[Activity]:
        circle = near.to_circle("near") if near is not None else None
        query = await rules.list_activities(info.context.viewer, rules.ActivityFilter(
            status=ActivityStatusModel(status) if status is not None else None,
            district=district, category=category, has_open_slots=has_open_slots,
            starts_after=starts_after, near=circle,
        ))
        if circle is not None:
            return await paginate_within(query, first, after, circle, convert=Activity.from_model,
                                          order=UPCOMING_FIRST)
        return await paginate(query, first, after, convert=Activity.from_model,
                              order=UPCOMING_FIRST)


@strawberry.type
class ActivityMutation:
    @strawberry.mutation(description="Create a DRAFT activity (admins of the team or a parent).")
    async def create_activity(self, info: Info, input: ActivityInput) -> Activity:
        team_id = decode_id(input.team_id, "Team", "teamId")
        model = await rules.do_create_activity(info.context.viewer, team_id, _data(input))
        return Activity.from_model(model)

    @strawberry.mutation(description="Publish a draft: sign-ups open.")
    async def publish_activity(self, info: Info, id: strawberry.ID) -> Activity:
        model = await rules.do_publish_activity(info.context.viewer,
                                                decode_id(id, "Activity", "id"))
        return Activity.from_model(model)

    @strawberry.mutation(description="Change an activity. More capacity promotes waitlisted "
                                     "volunteers; a new time notifies everyone signed up.")
    async def update_activity(self, info: Info, id: strawberry.ID,
                              input: ActivityUpdateInput) -> Activity:
        model = await rules.do_update_activity(info.context.viewer,
                                               decode_id(id, "Activity", "id"), _data(input))
        return Activity.from_model(model)

    @strawberry.mutation(description="Cancel an activity; everyone signed up is notified.")
    async def cancel_activity(self, info: Info, id: strawberry.ID, reason: str) -> Activity:
        model = await rules.do_cancel_activity(info.context.viewer,
                                               decode_id(id, "Activity", "id"), reason)
        return Activity.from_model(model)

    @strawberry.mutation(description="Sign up: CONFIRMED while places last, then WAITLISTED; "
                                     "CONFLICT when both are full. Repeating returns the same.")
    async def sign_up(self, info: Info, activity_id: strawberry.ID) -> SignUp:
        model = await signup.do_sign_up(info.context.viewer,
                                        decode_id(activity_id, "Activity", "activityId"))
        return SignUp.from_model(model)

    @strawberry.mutation(description="Cancel your sign-up; a freed place goes to the waitlist.")
    async def cancel_sign_up(self, info: Info, activity_id: strawberry.ID) -> SignUp:
        model = await signup.do_cancel_sign_up(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"))
        await chat.notify_left(volunteer_id=model.volunteer_id, activity_id=model.activity_id)
        return SignUp.from_model(model)


@strawberry.type
class ActivitySubscription:
    @strawberry.subscription(description="The activity's counts now, then after every change "
                                         "(bursts coalesced; the latest value always arrives).")
    async def slot_count(self, info: Info,
                         activity_id: strawberry.ID) -> AsyncGenerator[SlotCount, None]:
        db_id = decode_id(activity_id, "Activity", "activityId")
        if await _activity_node(info, db_id) is None:
            raise NotFound("Activity")
        hub = slot_hub(services().broker, slot_state)
        watcher = await hub.watch(db_id)
        try:
            while True:
                state = await watcher.next()
                committed_at = state.at.timestamp()
                if info.context.fan_out:
                    info.context.changed_at = committed_at
                yield SlotCount.from_state(state)
                if not info.context.fan_out:  # back here once its frame was written
                    observe_delivery("slotCount", committed_at)
        finally:
            await watcher.close()


async def _slot_count_group(context: Context, args: dict[str, Any]) -> Hashable | None:
    """Every SlotCount field is the same for everyone allowed to watch the activity, so all
    of them share one group; those who may not see it (a draft, to outsiders) take the
    per-subscriber path, which answers NOT_FOUND."""
    try:
        db_id = decode_id(args["activityId"], "Activity", "activityId")
    except DomainError:
        return None
    model = await ActivityModel.get_or_none(id=db_id)
    if model is None:
        return None
    if model.status == ActivityStatusModel.DRAFT:
        viewer = context.viewer
        if not viewer.is_platform_admin and (
                viewer.id is None or model.team_id not in await administered_team_ids(viewer.id)):
            return None
    return "visible"


share(ShareRule(
    field="slotCount",
    fields={"SlotCount": frozenset({"activityId", "capacity", "confirmed", "offered",
                                    "waitlisted", "remaining", "status", "version", "at"})},
    group_key=_slot_count_group,
))


__all__ = [
    "Activity", "ActivityMutation", "ActivityQuery", "ActivityStatus", "ActivitySubscription",
    "SignUp", "SignUpStatus", "SlotCount", "activity_loader",
]
