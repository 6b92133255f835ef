"""Online service desk (在线客服): consultation tickets, their messages, the staff's queue and
the live `serviceTicketUpdates` subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import strawberry

from models.servicedesk import ServiceTicket as ServiceTicketModel
from models.servicedesk import ServiceTicketMessage as MessageModel
from models.servicedesk import TicketStatus as TicketStatusModel
from models.team import Team as TeamModel
from resolvers import servicedesk as rules
from resolvers.errors import DomainError
from resolvers.services import services
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
    to_global_id,
)
from schema.team import Team
from schema.volunteer import SentByVolunteer, Volunteer, load_volunteer
from subscriptions import channels
from subscriptions.broker import RESYNC

if TYPE_CHECKING:
    ServiceTicketStatus: TypeAlias = TicketStatusModel
else:
    ServiceTicketStatus = strawberry.enum(
        TicketStatusModel, name="ServiceTicketStatus",
        description="OPEN (the staff's turn), WAITING_FOR_USER (the staff answered; the "
                    "opener's turn) or RESOLVED (any new message reopens it).")


@strawberry.type(description="A message of a service-desk ticket.")
class ServiceTicketMessage(SentByVolunteer):
    db_ticket_id: strawberry.Private[int]
    body: str = strawberry.field(description="The text.")
    attachment_urls: list[str] = strawberry.field(
        description="Links to attachments (http or https, ≤ 5).")
    from_staff: bool = strawberry.field(
        description="Written by the staff side (platform or team admins), not the opener side.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def from_model(cls, model: MessageModel) -> ServiceTicketMessage:
        return cls.from_event(rules.message_event(model, ""))

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ServiceTicketMessage:
        return cls(db_id=int(event["id"]), db_ticket_id=int(event["ticket"]),
                   author_id=int(event["author"]), known_author_name=event["authorName"] or None,
                   own_client_id=str(event["clientId"]), body=str(event["body"]),
                   attachment_urls=list(event["attachments"]),
                   from_staff=bool(event["fromStaff"]),
                   created_at=datetime.fromisoformat(event["at"]))

    @strawberry.field(description="The ticket's ID.")
    def ticket_id(self) -> strawberry.ID:
        return to_global_id("ServiceTicket", self.db_ticket_id)


@strawberry.type(description="A consultation ticket (在线客服) of a volunteer or a team with the "
                             "platform staff or a team's admins. Only the opener side and the "
                             "addressed staff see it.")
class ServiceTicket(Node):
    model: strawberry.Private[ServiceTicketModel]
    subject: str = strawberry.field(description="One-line subject.")
    status: ServiceTicketStatus = strawberry.field(description="Whose turn it is, or resolved.")
    created_at: datetime = strawberry.field(description="When it was opened (the SLA clock "
                                                        "starts).")
    last_message_at: datetime = strawberry.field(description="When the last message came.")
    first_reply_at: datetime | None = strawberry.field(
        description="The first staff message (the SLA clock stops); null until then.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved; null "
                                                                "while not resolved.")

    @classmethod
    def from_model(cls, model: ServiceTicketModel) -> ServiceTicket:
        return cls(db_id=model.id, model=model, subject=model.subject,
                   status=TicketStatusModel(model.status), created_at=model.created_at,
                   last_message_at=model.last_message_at, first_reply_at=model.first_reply_at,
                   resolved_at=model.resolved_at)

    @strawberry.field(description="The promised first reply: createdAt plus the deployment's "
                                  "SERVICE_DESK_FIRST_REPLY_HOURS.")
    def first_reply_due_at(self) -> datetime:
        return rules.first_reply_due(self.model)

    @strawberry.field(description="The first reply came late, or has not come and is overdue.")
    def sla_breached(self) -> bool:
        return rules.sla_breached(self.model)

    @strawberry.field(description="Who opened it.")
    async def opener(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.opener_id)

    @strawberry.field(description="The team whose admins answer it; null: the platform staff.")
    async def team(self, info: Info) -> Team | None:
        return await _team(info, self.model.team_id)

    @strawberry.field(description="The team it was opened on behalf of (its admins share the "
                                  "opener's side); null: a person's own ticket.")
    async def requester_team(self, info: Info) -> Team | None:
        return await _team(info, self.model.requester_team_id)

    @strawberry.field(description="The conversation, oldest first.")
    async def messages(self, info: Info, first: int | None = None,
                       after: str | None = None) -> Connection[ServiceTicketMessage]:
        return await info.context.loaders.child_page(
            "servicedesk.messages", MessageModel, "ticket_id", self.db_id, first, after, BY_ID,
            convert=ServiceTicketMessage.from_model)


async def _team(info: Info, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = await info.context.loaders.by_id(TeamModel).load(team_id)
    return Team.from_model(team) if team else None


@strawberry.type(description="A change of a ticket pushed live: a new message (with the status "
                             "it left the ticket in) or a status change alone.")
class ServiceTicketUpdate:
    db_ticket_id: strawberry.Private[int]
    status: ServiceTicketStatus = strawberry.field(description="The ticket's status now.")
    message: ServiceTicketMessage | None = strawberry.field(
        description="The new message; null for a status change alone.")

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ServiceTicketUpdate:
        message = event.get("message")
        return cls(db_ticket_id=int(event["ticket"]), status=TicketStatusModel(event["status"]),
                   message=ServiceTicketMessage.from_event(message) if message else None)

    @strawberry.field(description="The ticket's ID.")
    def ticket_id(self) -> strawberry.ID:
        return to_global_id("ServiceTicket", self.db_ticket_id)


async def _ticket_node(info: Info, db_id: int) -> ServiceTicket | None:
    try:
        ticket, _ = await rules.check_ticket(info.context.viewer, db_id)
    except DomainError:
        return None
    return ServiceTicket.from_model(ticket)


register_node("ServiceTicket", _ticket_node)

StatusFilter = Annotated[ServiceTicketStatus | None, strawberry.argument(
    description="Only tickets in this status.")]


@strawberry.type
class ServiceDeskQuery:
    @strawberry.field(description="One ticket; NOT_FOUND unless the caller is on its opener "
                                  "side or its addressed staff.")
    async def service_ticket(self, info: Info, id: strawberry.ID) -> ServiceTicket:
        ticket, _ = await rules.check_ticket(info.context.viewer,
                                             decode_id(id, "ServiceTicket", "id"))
        return ServiceTicket.from_model(ticket)

    @strawberry.field(description="Tickets the caller opened, and those opened on behalf of "
                                  "teams they administer; newest first.")
    async def my_service_tickets(self, info: Info, status: StatusFilter = None,
                                 first: int | None = None,
                                 after: str | None = None) -> Connection[ServiceTicket]:
        query = await rules.my_tickets(info.context.viewer, _status(status))
        return await paginate(query, first, after, convert=ServiceTicket.from_model,
                              order=NEWEST_FIRST)

    @strawberry.field(description="The staff's queue, oldest first: the platform's tickets "
                                  "(no teamId; platform admins) or a team's (its admins).")
    async def service_desk_queue(
        self, info: Info,
        team_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The team whose tickets to list; none: the platform's.")] = None,
        status: StatusFilter = None, first: int | None = None, after: str | None = None,
    ) -> Connection[ServiceTicket]:
        query = await rules.queue(info.context.viewer,
                                  decode_optional_id(team_id, "Team", "teamId"), _status(status))
        return await paginate(query, first, after, convert=ServiceTicket.from_model, order=BY_ID)


def _status(status: ServiceTicketStatus | None) -> TicketStatusModel | None:
    return TicketStatusModel(status) if status is not None else None


@strawberry.type
class ServiceDeskMutation:
    @strawberry.mutation(description="Open a ticket with the platform staff (no teamId) or a "
                                     "team's admins (teamId), with its first message; asTeamId "
                                     "opens it on behalf of a team you administer (to the "
                                     "platform). The staff are notified. At most 5 an hour.")
    async def open_service_ticket(
        self, info: Info, subject: str, body: str,
        client_id: Annotated[str, strawberry.argument(
            description="Client-chosen key (e.g. a UUID): a retry returns the first ticket.")],
        team_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="The team whose admins are asked; none: the platform staff.")] = None,
        as_team_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Open it on behalf of this team (you are its admin).")] = None,
        attachment_urls: Annotated[list[str] | None, strawberry.argument(
            description="Links to attachments: http or https, ≤ 5.")] = None,
        draft_key: Annotated[str | None, strawberry.argument(
            description="The server-side draft this message was typed in; deleted with "
                        "the send.")] = None,
    ) -> ServiceTicket:
        posted = await rules.do_open_ticket(info.context.viewer, rules.TicketData(
            subject=subject,
            message=rules.MessageData(body=body, client_id=client_id,
                                      attachment_urls=attachment_urls or [], draft_key=draft_key),
            team_id=decode_optional_id(team_id, "Team", "teamId"),
            as_team_id=decode_optional_id(as_team_id, "Team", "asTeamId")))
        await rules.notify_ticket(posted.ticket, posted)
        return ServiceTicket.from_model(posted.ticket)

    @strawberry.mutation(description="Write in a ticket (either side). A staff message makes it "
                                     "WAITING_FOR_USER, an opener message OPEN; a retry with the "
                                     "same clientId returns the first message. Pushed live.")
    async def post_service_ticket_message(
        self, info: Info, ticket_id: strawberry.ID, body: str,
        client_id: Annotated[str, strawberry.argument(
            description="Client-chosen key, unique per ticket and sender (e.g. a UUID).")],
        attachment_urls: Annotated[list[str] | None, strawberry.argument(
            description="Links to attachments: http or https, ≤ 5.")] = None,
        draft_key: Annotated[str | None, strawberry.argument(
            description="The server-side draft this message was typed in; deleted with "
                        "the send.")] = None,
    ) -> ServiceTicketMessage:
        posted = await rules.do_post_message(
            info.context.viewer, decode_id(ticket_id, "ServiceTicket", "ticketId"),
            rules.MessageData(body=body, client_id=client_id,
                              attachment_urls=attachment_urls or [], draft_key=draft_key))
        await rules.notify_ticket(posted.ticket, posted)
        return ServiceTicketMessage.from_event(
            rules.message_event(posted.message, posted.author_name))

    @strawberry.mutation(description="Mark a ticket resolved (either side); any later message "
                                     "reopens it.")
    async def resolve_service_ticket(self, info: Info,
                                     ticket_id: strawberry.ID) -> ServiceTicket:
        ticket = await rules.do_resolve(info.context.viewer,
                                        decode_id(ticket_id, "ServiceTicket", "ticketId"))
        await rules.notify_ticket(ticket)
        return ServiceTicket.from_model(ticket)


@strawberry.type
class ServiceDeskSubscription:
    @strawberry.subscription(description="A ticket's new messages and status changes, live on "
                                         "every worker, for its opener side and its staff.")
    async def service_ticket_updates(
            self, info: Info, ticket_id: strawberry.ID) -> AsyncGenerator[ServiceTicketUpdate, None]:
        viewer = info.context.viewer
        ticket, _ = await rules.check_ticket(viewer,
                                             decode_id(ticket_id, "ServiceTicket", "ticketId"))
        subscription = await services().broker.subscribe(channels.service_ticket(ticket.id))
        try:
            # Subscribed first, so nothing written after this read is missed.
            newest = await MessageModel.filter(ticket_id=ticket.id).order_by("-id").first()
            last = newest.id if newest else 0
            async for event in subscription:
                info.context.fresh_loaders()
                events = await rules.events_since(ticket.id, last) if event == RESYNC \
                    else [event]
                try:  # access is re-checked per event: an admin removed meanwhile stops here
                    await rules.check_ticket(viewer, ticket.id)
                except DomainError:
                    return
                for each in events:
                    message = each.get("message")
                    if message is not None:
                        if int(message["id"]) <= last:
                            continue
                        last = int(message["id"])
                    yield ServiceTicketUpdate.from_event(each)
        finally:
            await subscription.close()


__all__ = ["ServiceDeskMutation", "ServiceDeskQuery", "ServiceDeskSubscription",
           "ServiceTicket", "ServiceTicketMessage", "ServiceTicketUpdate"]
