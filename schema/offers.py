"""Time-limited waitlist offers: accept or decline a held place."""

from __future__ import annotations

import strawberry

from resolvers import offers as rules
from schema.activity import SignUp
from schema.context import Info
from schema.relay import decode_id


@strawberry.type
class OfferMutation:
    @strawberry.mutation(description="Take the place held for you (status OFFERED) before "
                                     "offerExpiresAt; CONFLICT once it has passed on.")
    async def accept_offer(self, info: Info, activity_id: strawberry.ID) -> SignUp:
        model = await rules.do_accept_offer(info.context.viewer,
                                            decode_id(activity_id, "Activity", "activityId"))
        return SignUp.from_model(model)

    @strawberry.mutation(description="Give the held place up; it is offered to the next "
                                     "waitlisted volunteer and your sign-up is cancelled.")
    async def decline_offer(self, info: Info, activity_id: strawberry.ID) -> SignUp:
        model = await rules.do_decline_offer(info.context.viewer,
                                             decode_id(activity_id, "Activity", "activityId"))
        return SignUp.from_model(model)
