"""Shift hand-over (swap): offer a confirmed place to a named volunteer or to the waitlist,
accept, decline, withdraw; organiser approval per activity."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.swap import ShiftSwap as ShiftSwapModel
from models.swap import SwapStatus as SwapStatusModel
from resolvers import swap as rules
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
from schema.volunteer import Volunteer, load_volunteer

if TYPE_CHECKING:
    SwapStatus: TypeAlias = SwapStatusModel
else:
    SwapStatus = strawberry.enum(
        SwapStatusModel, name="SwapStatus",
        description="OPEN (waiting for the receiver), AWAITING_APPROVAL (accepted; the "
                    "organiser decides), DONE (the place moved), DECLINED, WITHDRAWN, REJECTED "
                    "(by the organiser), LAPSED (the giver lost the place or the activity "
                    "started or closed first).")


@strawberry.type(description="A confirmed volunteer's offer to hand their place over.")
class ShiftSwap(Node):
    model: strawberry.Private[ShiftSwapModel]
    status: SwapStatus = strawberry.field(description="Where the hand-over stands.")
    to_waitlist: bool = strawberry.field(
        description="Offered to the activity's waitlist (the first waitlisted volunteer to "
                    "accept takes it) rather than to a named volunteer.")
    created_at: datetime = strawberry.field(description="When it was offered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    decision_reason: str | None = strawberry.field(
        description="Why the organiser refused it (REJECTED); null otherwise.")

    @classmethod
    def from_model(cls, model: ShiftSwapModel) -> ShiftSwap:
        return cls(db_id=model.id, model=model, status=SwapStatusModel(model.status),
                   to_waitlist=model.receiver_id is None, created_at=model.created_at,
                   updated_at=model.updated_at, decision_reason=model.decision_reason)

    @strawberry.field(description="The activity whose place it is.")
    async def activity(self, info: Info) -> Activity:
        return Activity.from_model(await activity_loader(info).load(self.model.activity_id))

    @strawberry.field(description="Who offers the place.")
    async def giver(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.giver_id)

    @strawberry.field(description="The named receiver (null: offered to the waitlist).")
    async def receiver(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.receiver_id)

    @strawberry.field(description="Who accepted, if anyone has.")
    async def taker(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.taker_id)


async def _swap_node(info: Info, db_id: int) -> ShiftSwap | None:
    model = await rules.visible_swap(info.context.viewer, db_id)
    return ShiftSwap.from_model(model) if model else None


register_node("ShiftSwap", _swap_node)


@strawberry.type
class SwapQuery:
    @strawberry.field(description="Hand-overs: the caller's own (given, offered to them, taken), "
                                  "or an activity's (all of them for its team's admins; "
                                  "waitlisted volunteers also see its open waitlist offers), "
                                  "newest first.")
    async def shift_swaps(
        self, info: Info,
        activity_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only this activity's.")] = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[ShiftSwap]:
        query = await rules.list_swaps(
            info.context.viewer, decode_optional_id(activity_id, "Activity", "activityId"))
        return await paginate(query, first, after, convert=ShiftSwap.from_model,
                              order=NEWEST_FIRST)

    @strawberry.field(description="Team admins: accepted hand-overs waiting for their decision on "
                                  "the activities of the teams they administer (directly or "
                                  "through a parent team), oldest first.")
    async def shift_swaps_awaiting_approval(
        self, info: Info, first: int | None = None, after: str | None = None,
    ) -> Connection[ShiftSwap]:
        query = await rules.swaps_awaiting_approval(info.context.viewer)
        return await paginate(query, first, after, convert=ShiftSwap.from_model)

    @strawberry.field(description="Team admins: whether hand-overs on this activity wait for "
                                  "their approval (set with setShiftSwapApproval).")
    async def shift_swap_approval_required(self, info: Info, activity_id: strawberry.ID) -> bool:
        return await rules.swap_approval_required(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"))


@strawberry.type
class SwapMutation:
    @strawberry.mutation(description="Offer the caller's confirmed place to a named volunteer, "
                                     "or (no toVolunteerId) to the waitlist. The caller keeps "
                                     "the place until someone accepts; one live offer per place.")
    async def offer_shift_swap(
        self, info: Info, activity_id: strawberry.ID,
        to_volunteer_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The named receiver; leave out to offer it to the waitlist.")] = None,
    ) -> ShiftSwap:
        return ShiftSwap.from_model(await rules.do_offer_swap(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"),
            decode_optional_id(to_volunteer_id, "Volunteer", "toVolunteerId")))

    @strawberry.mutation(description="Take the offered place (the named receiver, or a "
                                     "waitlisted volunteer): it moves at once, atomically, or "
                                     "after the organiser approves if the activity asks for it.")
    async def accept_shift_swap(self, info: Info, id: strawberry.ID) -> ShiftSwap:
        return ShiftSwap.from_model(await rules.do_accept_swap(
            info.context.viewer, decode_id(id, "ShiftSwap", "id")))

    @strawberry.mutation(description="The named receiver says no; the giver keeps the place.")
    async def decline_shift_swap(self, info: Info, id: strawberry.ID) -> ShiftSwap:
        return ShiftSwap.from_model(await rules.do_decline_swap(
            info.context.viewer, decode_id(id, "ShiftSwap", "id")))

    @strawberry.mutation(description="The giver takes the offer back (before the place moved).")
    async def withdraw_shift_swap(self, info: Info, id: strawberry.ID) -> ShiftSwap:
        return ShiftSwap.from_model(await rules.do_withdraw_swap(
            info.context.viewer, decode_id(id, "ShiftSwap", "id")))

    @strawberry.mutation(description="A team admin approves (the place moves now) or rejects, "
                                     "saying why, an accepted hand-over on an activity that "
                                     "needs approval.")
    async def decide_shift_swap(
        self, info: Info, id: strawberry.ID, approve: bool,
        reason: Annotated[str | None, strawberry.argument(
            description="Why it is refused: required when approve is false, at most 500 "
                        "characters; giver and taker read it.")] = None,
    ) -> ShiftSwap:
        return ShiftSwap.from_model(await rules.do_decide_swap(
            info.context.viewer, decode_id(id, "ShiftSwap", "id"), approve, reason))

    @strawberry.mutation(description="Team admins: whether hand-overs on this activity need "
                                     "their approval (default: no).")
    async def set_shift_swap_approval(self, info: Info, activity_id: strawberry.ID,
                                      required: bool) -> Activity:
        model = await rules.do_set_swap_approval(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"), required)
        return Activity.from_model(model)
