"""Online service desk (在线客服): consultation tickets between a volunteer (or a team, through
its admins) and the platform staff or a team's admins, their messages and the SLA clock.

Who is on which side is decided at each read from the ticket's columns and the memberships
of the moment: the opener side is the opener and, for a ticket opened on behalf of a team, that
team's admins; the staff side is the platform admins for a platform ticket (`team` null), the
addressed team's admins otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.team import Team
    from models.volunteer import Volunteer


class TicketStatus(StrEnum):
    OPEN = "OPEN"  # waiting for the staff
    WAITING_FOR_USER = "WAITING_FOR_USER"  # the staff answered; the opener's turn
    RESOLVED = "RESOLVED"


class ServiceTicket(Model):
    # `district` is copied at opening (the addressed team's, else the opener's) so that the
    # stats of a district count its tickets without a join; `first_reply_at` is the SLA clock's
    # stop, set once by the first staff message.

    id = fields.IntField(primary_key=True)
    opener: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="service_tickets", on_delete=fields.RESTRICT)
    requester_team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="service_tickets_opened", null=True,
        on_delete=fields.CASCADE)
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "models.Team", related_name="service_tickets", null=True, on_delete=fields.CASCADE)
    subject = fields.CharField(max_length=200)
    status = fields.CharEnumField(TicketStatus, max_length=20, default=TicketStatus.OPEN)
    district = fields.CharField(max_length=50)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_at = fields.DatetimeField()
    first_reply_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)

    opener_id: int
    requester_team_id: int | None
    team_id: int | None

    class Meta:
        table = "service_ticket"
        indexes = (("team_id", "status", "id"), ("opener_id", "id"),
                   ("requester_team_id", "id"), ("created_at",))


class ServiceTicketMessage(Model):
    # `client_id` makes a retried send return the first message, as in chat.

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[ServiceTicket] = fields.ForeignKeyField(
        "models.ServiceTicket", related_name="messages", on_delete=fields.CASCADE)
    author: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="service_ticket_messages", on_delete=fields.RESTRICT)
    from_staff = fields.BooleanField()
    client_id = fields.CharField(max_length=64)
    body = fields.TextField()  # at most 4,000 characters (resolvers/servicedesk.py)
    attachment_urls: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    ticket_id: int
    author_id: int

    class Meta:
        table = "service_ticket_message"
        unique_together = (("ticket", "author", "client_id"),)
        indexes = (("ticket_id", "id"),)
