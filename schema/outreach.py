"""Organiser messages to participants or a team, replies, and the log for team admins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.outreach import Audience as AudienceModel
from models.outreach import OrganiserMessage as OrganiserMessageModel
from models.outreach import OrganiserMessageReply as ReplyModel
from resolvers import outreach as rules
from schema.context import Info
from schema.relay import (
    BY_ID,
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
    MessageAudience: TypeAlias = AudienceModel
else:
    MessageAudience = strawberry.enum(
        AudienceModel, name="MessageAudience",
        description="Who an organiser message goes to: an activity's CONFIRMED, WAITLISTED, "
                    "CHECKED_IN or SIGNED_UP (confirmed, waitlisted and held offers) volunteers, "
                    "or a team's approved members (TEAM).")


@strawberry.type(description="A reply of a recipient to the organiser.")
class OrganiserMessageReply:
    model: strawberry.Private[ReplyModel]
    body: str = strawberry.field(description="The reply.")
    created_at: datetime = strawberry.field(description="When.")

    @strawberry.field(description="Who replied.")
    async def author(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.author_id)


@strawberry.type(description="A message from an organiser to an activity's participants or a "
                             "team; also the audit record of who sent what to whom.")
class OrganiserMessage(Node):
    model: strawberry.Private[OrganiserMessageModel]
    audience: MessageAudience = strawberry.field(description="Who it went to.")
    title: str = strawberry.field(description="One-line subject.")
    body: str = strawberry.field(description="The message.")
    sms: bool = strawberry.field(description="Whether it also went out by SMS.")
    recipient_count: int = strawberry.field(description="How many people received it.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def from_model(cls, model: OrganiserMessageModel) -> OrganiserMessage:
        return cls(db_id=model.id, model=model, audience=AudienceModel(model.audience),
                   title=model.title, body=model.body, sms=model.sms,
                   recipient_count=model.recipient_count, created_at=model.created_at)

    @strawberry.field(description="Who sent it.")
    async def sender(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.sender_id)

    @strawberry.field(description="Replies, oldest first: all of them for the sender and the "
                                  "team's admins, one's own for a recipient.")
    async def replies(self, info: Info, first: int | None = None,
                      after: str | None = None) -> Connection[OrganiserMessageReply]:
        query = await rules.replies_for(info.context.viewer, self.model)
        return await paginate(query, first, after, order=BY_ID,
                              convert=lambda m: OrganiserMessageReply(
                                  model=m, body=m.body, created_at=m.created_at))


async def _message_node(info: Info, db_id: int) -> OrganiserMessage | None:
    model = await rules.visible_message(info.context.viewer, db_id)
    return OrganiserMessage.from_model(model) if model else None


register_node("OrganiserMessage", _message_node)


@strawberry.type
class OutreachQuery:
    @strawberry.field(description="Team admins: the messages sent to an activity's participants "
                                  "or to a team (the audit log), newest first.")
    async def organiser_messages(
        self, info: Info,
        activity_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="An activity's messages.")] = None,
        team_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="A team's messages (all of its activities' too).")] = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[OrganiserMessage]:
        query = await rules.list_messages(
            info.context.viewer, decode_optional_id(activity_id, "Activity", "activityId"),
            decode_optional_id(team_id, "Team", "teamId"))
        return await paginate(query, first, after, convert=OrganiserMessage.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class OutreachMutation:
    @strawberry.mutation(description="Team admins: write to an activity's participants (give "
                                     "activityId and an audience) or to a team's members "
                                     "(teamId, audience TEAM). Recipients get it in-app and "
                                     "live, and by SMS if asked. At most 10 an hour per sender.")
    async def send_organiser_message(
        self, info: Info, audience: MessageAudience, title: str, body: str,
        activity_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The activity whose participants receive it.")] = None,
        team_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The team whose members receive it.")] = None,
        sms: Annotated[bool, strawberry.argument(
            description="Also send it by SMS.")] = False,
    ) -> OrganiserMessage:
        return OrganiserMessage.from_model(await rules.do_send_message(
            info.context.viewer, decode_optional_id(activity_id, "Activity", "activityId"),
            decode_optional_id(team_id, "Team", "teamId"), AudienceModel(audience), title,
            body, sms))

    @strawberry.mutation(description="A recipient replies to the organiser who wrote.")
    async def reply_to_organiser_message(self, info: Info, message_id: strawberry.ID,
                                         body: str) -> OrganiserMessageReply:
        reply = await rules.do_reply(info.context.viewer,
                                     decode_id(message_id, "OrganiserMessage", "messageId"), body)
        return OrganiserMessageReply(model=reply, body=reply.body, created_at=reply.created_at)
