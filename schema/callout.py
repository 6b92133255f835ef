"""Emergency call-outs: type, input, mutations, list and the live acknowledgement feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import StrEnum

import strawberry

from models.helprequest import CallOut as CallOutModel
from models.helprequest import CallOutAnswer
from resolvers import callout as rules
from resolvers.services import services
from resolvers.validation import decode_tags
from schema.activity import Activity, activity_loader
from schema.context import Info
from schema.relay import (
    NEWEST_FIRST,
    Connection,
    Node,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
)
from schema.team import Team, team_loader
from schema.volunteer import Volunteer, load_volunteer
from subscriptions import channels
from subscriptions.broker import RESYNC


@strawberry.enum(description="A volunteer's answer to a call-out.")
class CallOutAnswerKind(StrEnum):
    COMING = "COMING"
    CANNOT = "CANNOT"


@strawberry.type(description="An emergency call-out (一呼百应) to volunteers with given skills.")
class CallOut(Node):
    model: strawberry.Private[CallOutModel]
    message: str = strawberry.field(description="What is happening and where to go.")
    districts: list[str] = strawberry.field(description="Districts whose volunteers are called.")
    skills: list[str] = strawberry.field(description="Skills called (empty: everyone).")
    needed: int = strawberry.field(description="How many volunteers are needed.")
    coming_count: int = strawberry.field(description="Volunteers who answered COMING.")
    cannot_count: int = strawberry.field(description="Volunteers who answered CANNOT.")
    created_at: datetime = strawberry.field(description="When the call went out.")

    @classmethod
    def from_model(cls, model: CallOutModel) -> CallOut:
        return cls(
            db_id=model.id, model=model, message=model.message,
            districts=decode_tags(model.districts), skills=decode_tags(model.skills),
            needed=model.needed, coming_count=model.coming_count,
            cannot_count=model.cannot_count, created_at=model.created_at,
        )

    @strawberry.field(description="Whether enough volunteers are coming.")
    def filled(self) -> bool:
        return self.coming_count >= self.needed

    @strawberry.field(description="Who called.")
    async def created_by(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.created_by_id)

    @strawberry.field(description="The emergency team that called, if any.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        team = await team_loader(info).load(self.model.team_id)
        return Team.from_model(team) if team else None

    @strawberry.field(description="The activity people are called to, if any.")
    async def activity(self, info: Info) -> Activity | None:
        if self.model.activity_id is None:
            return None
        model = await activity_loader(info).load(self.model.activity_id)
        return Activity.from_model(model) if model else None

    @strawberry.field(description="The signed-in volunteer's answer, if any.")
    async def my_answer(self, info: Info) -> CallOutAnswerKind | None:
        viewer_id = info.context.viewer.id
        if viewer_id is None:
            return None
        answers = await info.context.loaders.grouped(
            ("callout.mine", viewer_id), CallOutAnswer, "call_out_id", volunteer_id=viewer_id
        ).load(self.db_id)
        if not answers:
            return None
        return CallOutAnswerKind.COMING if answers[0].coming else CallOutAnswerKind.CANNOT


async def _node(info: Info, db_id: int) -> CallOut | None:
    model = await rules.get_visible_call_out(info.context.viewer, db_id)
    return CallOut.from_model(model) if model else None


register_node("CallOut", _node)


@strawberry.input(description="A new call-out.")
class CallOutInput:
    message: str = strawberry.field(description="What is happening and where to go.")
    districts: list[str] = strawberry.field(description="Districts to call, at least one.")
    skills: list[str] = strawberry.field(default_factory=list, description="Skills; empty: all.")
    needed: int = strawberry.field(description="How many volunteers are needed (1–10,000).")
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="The emergency team calling (default: your first one)."
    )
    activity_id: strawberry.ID | None = strawberry.field(
        default=None, description="The activity people are called to: volunteers checked in "
                                  "there (and not out) are not pushed.")


@strawberry.type
class CallOutQuery:
    @strawberry.field(description="Call-outs, newest first: all of them for platform and "
                      "emergency-team admins, the ones targeting you otherwise.")
    async def call_outs(
        self, info: Info, first: int | None = None, after: str | None = None,
        district: str | None = None,
    ) -> Connection[CallOut]:
        query = await rules.visible_call_outs(info.context.viewer, district)
        return await paginate(query, first, after, convert=CallOut.from_model, order=NEWEST_FIRST)


@strawberry.type
class CallOutMutation:
    @strawberry.mutation(description="Call volunteers out (platform and emergency-team admins).")
    async def call_out(self, info: Info, input: CallOutInput) -> CallOut:
        model, notifications = await rules.do_call_out(
            info.context.viewer,
            rules.CallOutData(
                message=input.message, districts=input.districts, skills=input.skills,
                needed=input.needed,
                team_id=decode_optional_id(input.team_id, "Team", "input.teamId"),
                activity_id=decode_optional_id(input.activity_id, "Activity",
                                               "input.activityId"),
            ),
        )
        await rules.notify_call_out(model, notifications)
        return CallOut.from_model(model)

    @strawberry.mutation(description="Answer a call-out that targets you; you may change it.")
    async def answer_call_out(self, info: Info, id: strawberry.ID, coming: bool) -> CallOut:
        viewer = info.context.viewer
        model = await rules.do_answer_call_out(viewer, decode_id(id, "CallOut", "id"), coming)
        assert viewer.id is not None
        await rules.notify_answer(model, viewer.id, coming)
        return CallOut.from_model(model)


@strawberry.type
class CallOutSubscription:
    @strawberry.subscription(
        description="New call-outs and their acknowledgement counts, live. Callers see every "
        "call-out; a volunteer sees those targeting them until answering CANNOT. With `id`, "
        "that call-out as it is now comes first (when the caller may see it), so an answer "
        "given before the subscription started is not missed."
    )
    async def call_outs(
        self, info: Info, district: str | None = None, id: strawberry.ID | None = None
    ) -> AsyncGenerator[CallOut, None]:
        watch = await rules.CallOutWatch.start(info.context.viewer, district)
        current = decode_optional_id(id, "CallOut", "id")
        subscription = await services().broker.subscribe(channels.call_outs(), maxsize=1000)
        try:
            # Read after subscribing: a change committed in between is read here or pushed.
            model = await CallOutModel.get_or_none(id=current) if current is not None else None
            if model is not None and await watch.wanted([rules.call_out_payload(model, created=False)]):
                yield CallOut.from_model(model)
            while True:
                batch = [await subscription.get()]
                while (more := subscription.get_nowait()) is not None:
                    batch.append(more)
                ids = await watch.wanted([p for p in batch if p != RESYNC])
                if not ids:
                    continue
                loader = info.context.fresh_loaders().by_id(CallOutModel)
                for model in await loader.load_many(ids):
                    if model is not None:
                        yield CallOut.from_model(model)
        finally:
            await subscription.close()
