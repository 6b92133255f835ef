"""Online service desk (在线客服): a volunteer, or a team through its admins, opens a consultation
ticket with the platform staff or with a team's admins; both sides exchange messages (text and
links to attachments), live over the ticket's channel.

Sides, decided at each read from the memberships of the moment:
- the opener side: the opener and, for a ticket opened on behalf of a team, that team's admins
  (of the team or a parent team) who are not on the staff side;
- the staff side: the platform admins for a platform ticket, the addressed team's admins (of
  the team or a parent team) for a team ticket. Platform admins do not read team tickets: a
  volunteer asking their own team did not ask the platform.
Anyone else is told NOT_FOUND, the same as for a ticket that does not exist.

Status: OPEN (the staff's turn) on opening and after each opener message; WAITING_FOR_USER
after a staff message; RESOLVED when either side resolves it; any message reopens it. The SLA
clock runs from opening to the first staff message (`first_reply_at`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.settings import get_settings
from models.notification import Notification
from models.servicedesk import ServiceTicket, ServiceTicketMessage, TicketStatus
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.draft import check_draft_key, discard_draft
from resolvers.errors import BadInput, Forbidden, NotFound
from resolvers.notification import NewNotification, create_notifications, notify_created
from resolvers.services import services
from resolvers.sql import Sql, fetch
from resolvers.team import administered_team_ids, ancestor_ids
from resolvers.validation import check_text, check_url
from subscriptions import channels

SUBJECT_MAX = 200
BODY_MAX = 4000
CLIENT_ID_MAX = 64
ATTACHMENTS_MAX = 5
TICKETS_PER_HOUR = 5
MESSAGES_PER_MINUTE = 20
STAFF_NOTIFIED_MAX = 50
STATS_WINDOW_DAYS = 30
TICKET_OPENED = "SERVICE_TICKET_OPENED"
TICKET_REPLY = "SERVICE_TICKET_REPLY"

Side = Literal["OPENER", "STAFF"]


def first_reply_hours() -> float:
    return get_settings().service_desk_first_reply_hours


def first_reply_due(ticket: ServiceTicket) -> datetime:
    return ticket.created_at + timedelta(hours=first_reply_hours())


def sla_breached(ticket: ServiceTicket, now: datetime | None = None) -> bool:
    """Answered late, or still unanswered past the promise."""
    due = first_reply_due(ticket)
    if ticket.first_reply_at is not None:
        return ticket.first_reply_at > due
    return (now or datetime.now(UTC)) > due


# --- who is on which side ----------------------------------------------------------------


async def _administers(volunteer_id: int, team_id: int | None) -> bool:
    """An approved admin of the team or of a parent team (platform admins are not, here)."""
    if team_id is None:
        return False
    team = await Team.get_or_none(id=team_id)
    if team is None:
        return False
    return await Membership.exists(volunteer_id=volunteer_id, team_id__in=ancestor_ids(team),
                                   role=MembershipRole.ADMIN, status=MembershipStatus.APPROVED)


async def side_of(viewer: Viewer, ticket: ServiceTicket) -> Side | None:
    """The viewer's side of the ticket, or None: they may not know it exists."""
    volunteer = viewer.volunteer
    if volunteer is None:
        return None
    if volunteer.id == ticket.opener_id:
        return "OPENER"
    # A platform admin who also administers the requesting team (or a parent of it) answers
    # as staff: the team asked the platform, and they are the platform.
    staff = volunteer.is_platform_admin if ticket.team_id is None \
        else await _administers(volunteer.id, ticket.team_id)
    if staff:
        return "STAFF"
    return "OPENER" if await _administers(volunteer.id, ticket.requester_team_id) else None


async def check_ticket(viewer: Viewer, ticket_id: int) -> tuple[ServiceTicket, Side]:
    """The ticket and the viewer's side; NOT_FOUND alike for missing and not allowed."""
    viewer.require()
    ticket = await ServiceTicket.get_or_none(id=ticket_id)
    side = await side_of(viewer, ticket) if ticket is not None else None
    if ticket is None or side is None:
        raise NotFound("Service ticket")
    return ticket, side


# --- input -------------------------------------------------------------------------------


@dataclass
class MessageData:
    body: str
    client_id: str
    attachment_urls: list[str] = field(default_factory=list)
    draft_key: str | None = None


@dataclass
class TicketData:
    subject: str
    message: MessageData
    team_id: int | None = None  # addressed team; None: the platform staff
    as_team_id: int | None = None  # opened on behalf of this team (to the platform only)


def check_attachments(urls: list[str]) -> list[str]:
    if len(urls) > ATTACHMENTS_MAX:
        raise BadInput("attachmentUrls", f"At most {ATTACHMENTS_MAX} attachments.")
    return [str(check_url(url, "attachmentUrls", required=True)) for url in urls]


def check_message(data: MessageData) -> MessageData:
    return MessageData(
        body=check_text(data.body, "body", max_len=BODY_MAX),
        client_id=check_text(data.client_id, "clientId", max_len=CLIENT_ID_MAX),
        attachment_urls=check_attachments(data.attachment_urls),
        draft_key=check_draft_key(data.draft_key, "draftKey") if data.draft_key else None)


# --- opening -----------------------------------------------------------------------------


@dataclass
class Posted:
    ticket: ServiceTicket
    message: ServiceTicketMessage
    author_name: str
    created: bool
    notifications: list[Notification] = field(default_factory=list)


async def _staff_ids(team_id: int | None) -> list[int]:
    """Whom a new ticket is announced to: active platform admins, or the team's direct admins."""
    if team_id is None:
        rows = await Volunteer.filter(is_platform_admin=True, status=VolunteerStatus.ACTIVE
                                      ).order_by("id").limit(STAFF_NOTIFIED_MAX).values_list("id")
    else:
        rows = await Membership.filter(team_id=team_id, role=MembershipRole.ADMIN,
                                       status=MembershipStatus.APPROVED
                                       ).order_by("volunteer_id").limit(
            STAFF_NOTIFIED_MAX).values_list("volunteer_id")
    return [int(row[0]) for row in rows]


async def do_open_ticket(viewer: Viewer, data: TicketData) -> Posted:
    """Validated before anything is written; a retry with the same clientId returns the
    ticket it opened. The addressed staff are notified (after commit, by notify_ticket)."""
    opener = viewer.require_active("open service tickets")
    subject = check_text(data.subject, "subject", max_len=SUBJECT_MAX)
    message = check_message(data.message)
    if data.team_id is not None and data.as_team_id is not None:
        raise BadInput("asTeamId", "A team's ticket goes to the platform staff: give teamId or "
                                   "asTeamId, not both.")
    district = opener.district
    if data.team_id is not None:
        team = await Team.get_or_none(id=data.team_id)
        if team is None:
            raise NotFound("Team")
        district = team.district
    if data.as_team_id is not None:
        as_team = await Team.get_or_none(id=data.as_team_id)
        if as_team is None:
            raise NotFound("Team")
        if not await _administers(opener.id, as_team.id):
            raise Forbidden("Only the team's admins open tickets on its behalf.")
        district = as_team.district
    earlier = await ServiceTicketMessage.get_or_none(
        author_id=opener.id, client_id=message.client_id, ticket__opener_id=opener.id,
        from_staff=False).select_related("ticket")
    if earlier is not None:
        return Posted(earlier.ticket, earlier, opener.display_name, False)
    await services().limiter.hit(f"servicedesk-open:{opener.id}", TICKETS_PER_HOUR, 3600)
    staff = [person for person in await _staff_ids(data.team_id) if person != opener.id]
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        ticket = await ServiceTicket.create(
            opener_id=opener.id, team_id=data.team_id, requester_team_id=data.as_team_id,
            subject=subject, status=TicketStatus.OPEN, district=district, last_message_at=now,
            using_db=conn)
        first = await ServiceTicketMessage.create(
            ticket_id=ticket.id, author_id=opener.id, from_staff=False,
            client_id=message.client_id, body=message.body,
            attachment_urls=message.attachment_urls, using_db=conn)
        await discard_draft(opener.id, message.draft_key, conn)
        notifications = await create_notifications([
            NewNotification(person, TICKET_OPENED, f"新的咨询：{subject}", message.body[:200],
                            subject=("ServiceTicket", ticket.id)) for person in staff], conn)
    return Posted(ticket, first, opener.display_name, True, notifications)


# --- messages and status -----------------------------------------------------------------


async def do_post_message(viewer: Viewer, ticket_id: int, data: MessageData) -> Posted:
    """A staff message starts WAITING_FOR_USER (and stops the SLA clock the first time); an
    opener message makes it OPEN again. A retry with the same clientId writes nothing."""
    author = viewer.require_active("write to the service desk")
    message = check_message(data)
    ticket, side = await check_ticket(viewer, ticket_id)
    existing = await ServiceTicketMessage.get_or_none(ticket_id=ticket.id, author_id=author.id,
                                                      client_id=message.client_id)
    if existing is not None:
        return Posted(ticket, existing, author.display_name, False)
    await services().limiter.hit(f"servicedesk-message:{author.id}", MESSAGES_PER_MINUTE, 60)
    staff = side == "STAFF"
    now = datetime.now(UTC)
    status = TicketStatus.WAITING_FOR_USER if staff else TicketStatus.OPEN
    try:
        async with in_transaction() as conn:
            posted = await ServiceTicketMessage.create(
                ticket_id=ticket.id, author_id=author.id, from_staff=staff,
                client_id=message.client_id, body=message.body,
                attachment_urls=message.attachment_urls, using_db=conn)
            await ServiceTicket.filter(id=ticket.id).using_db(conn).update(
                status=status, last_message_at=now, resolved_at=None)
            if staff:
                await ServiceTicket.filter(id=ticket.id, first_reply_at__isnull=True
                                           ).using_db(conn).update(first_reply_at=now)
            await discard_draft(author.id, message.draft_key, conn)
            notifications = await create_notifications([NewNotification(
                ticket.opener_id, TICKET_REPLY, f"客服回复：{ticket.subject}",
                message.body[:200], subject=("ServiceTicket", ticket.id))], conn) \
                if staff and ticket.opener_id != author.id else []
    except IntegrityError:  # the same clientId raced in from a second connection
        existing = await ServiceTicketMessage.get(ticket_id=ticket.id, author_id=author.id,
                                                  client_id=message.client_id)
        return Posted(ticket, existing, author.display_name, False)
    return Posted(await ServiceTicket.get(id=ticket.id), posted, author.display_name, True,
                  notifications)


async def do_resolve(viewer: Viewer, ticket_id: int) -> ServiceTicket:
    """Either side closes the consultation; resolving a resolved ticket changes nothing."""
    viewer.require_active("resolve service tickets")
    ticket, _ = await check_ticket(viewer, ticket_id)
    await ServiceTicket.filter(id=ticket.id).exclude(status=TicketStatus.RESOLVED).update(
        status=TicketStatus.RESOLVED, resolved_at=datetime.now(UTC))
    return await ServiceTicket.get(id=ticket.id)


def message_event(message: ServiceTicketMessage, author_name: str) -> dict[str, Any]:
    """What subscribers build the message from, without a database read per subscriber."""
    return {"id": message.id, "ticket": message.ticket_id, "author": message.author_id,
            "authorName": author_name, "fromStaff": message.from_staff,
            "clientId": message.client_id, "body": message.body,
            "attachments": list(message.attachment_urls), "at": message.created_at.isoformat()}


def ticket_event(ticket: ServiceTicket, message: dict[str, Any] | None) -> dict[str, Any]:
    return {"ticket": ticket.id, "status": str(ticket.status), "message": message}


async def notify_ticket(ticket: ServiceTicket, posted: Posted | None = None) -> None:
    """After commit: the ticket's live subscribers on every worker, then the notified people."""
    if posted is not None and not posted.created:
        return
    message = message_event(posted.message, posted.author_name) if posted else None
    await services().broker.publish(channels.service_ticket(ticket.id),
                                    ticket_event(ticket, message))
    if posted is not None:
        await notify_created(posted.notifications)


async def events_since(ticket_id: int, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """What a subscriber may have missed while the broker reconnected: the ticket's status now
    and the messages after the last one it sent."""
    ticket = await ServiceTicket.get(id=ticket_id)
    rows = await ServiceTicketMessage.filter(ticket_id=ticket_id, id__gt=after_id
                                             ).order_by("id").limit(limit).select_related("author")
    events = [ticket_event(ticket, message_event(row, row.author.display_name)) for row in rows]
    return events or [ticket_event(ticket, None)]


# --- lists -------------------------------------------------------------------------------


def _with_status(query: QuerySet[ServiceTicket],
                 status: TicketStatus | None) -> QuerySet[ServiceTicket]:
    return query.filter(status=status) if status is not None else query


async def my_tickets(viewer: Viewer, status: TicketStatus | None) -> QuerySet[ServiceTicket]:
    """Tickets the viewer opened, and those opened on behalf of teams they administer."""
    volunteer = viewer.require()
    teams = sorted(await administered_team_ids(volunteer.id))
    condition = Q(opener_id=volunteer.id)
    if teams:
        condition |= Q(requester_team_id__in=teams)
    return _with_status(ServiceTicket.filter(condition), status)


async def queue(viewer: Viewer, team_id: int | None,
                status: TicketStatus | None) -> QuerySet[ServiceTicket]:
    """The staff's queue: platform tickets for platform admins, a team's for its admins."""
    volunteer = viewer.require()
    if team_id is None:
        if not viewer.is_platform_admin:
            raise Forbidden("Only platform admins see the platform's service desk.")
        return _with_status(ServiceTicket.filter(team_id=None), status)
    if not await Team.exists(id=team_id):
        raise NotFound("Team")
    if not await _administers(volunteer.id, team_id):
        raise Forbidden("Only the team's admins see its service desk.")
    return _with_status(ServiceTicket.filter(team_id=team_id), status)


# --- the figure in the stats -------------------------------------------------------------


@dataclass
class FirstReplyFigures:
    window_days: int
    promised_hours: float
    tickets: int  # opened in the window
    counted: int  # answered, or unanswered past the promise
    within: int  # answered within the promise
    share_within: float | None  # within / counted
    median_first_reply_minutes: float | None  # over the answered ones


def first_reply_figures(rows: list[dict[str, Any]], now: datetime) -> FirstReplyFigures:
    """Tickets still unanswered and still inside the promise are counted in `tickets` only:
    they can go either way yet."""
    hours = first_reply_hours()
    promise = timedelta(hours=hours)
    counted = within = 0
    waits: list[float] = []
    for row in rows:
        opened, replied = _aware(row["created_at"]), _aware(row["first_reply_at"])
        assert opened is not None  # NOT NULL
        if replied is None:
            if now - opened > promise:
                counted += 1
            continue
        counted += 1
        wait = replied - opened
        waits.append(wait.total_seconds() / 60)
        if wait <= promise:
            within += 1
    return FirstReplyFigures(
        window_days=STATS_WINDOW_DAYS, promised_hours=hours, tickets=len(rows), counted=counted,
        within=within, share_within=round(within / counted, 4) if counted else None,
        median_first_reply_minutes=round(statistics.median(waits), 1) if waits else None)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def first_reply_statement(district: str | None, now: datetime) -> Sql:
    where = Sql("AND district = :district", district=district) if district is not None else Sql()
    return Sql("SELECT created_at, first_reply_at FROM service_ticket WHERE created_at >= :since "
               ":where", since=now - timedelta(days=STATS_WINDOW_DAYS), where=where)


async def compute_first_reply(district: str | None, now: datetime,
                              connection: Any = None) -> FirstReplyFigures:
    rows = await fetch(connection or connections.get("default"),
                       first_reply_statement(district, now))
    return first_reply_figures(rows, now)
