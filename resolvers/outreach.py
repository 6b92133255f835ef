"""Organiser messages: a team admin writes to an activity's confirmed, waitlisted, checked-in
or signed-up volunteers, or to a team's members. Each recipient gets a notification row
(in-app, live, SMS if asked) written in the transaction of the message; recipients may reply
to the organiser. Rate-limited per sender; the message row is the audit record (who, what,
to whom, to how many, when), listed for the team's admins.
"""

from __future__ import annotations

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from models.outreach import Audience, OrganiserMessage, OrganiserMessageReply
from models.team import Membership, MembershipStatus, Team
from resolvers.auth import Viewer
from resolvers.errors import BadInput, NotFound
from resolvers.notification import (
    NewNotification,
    create_notification,
    create_notifications,
    notify_created,
)
from resolvers.services import services
from resolvers.team import check_team_admin, is_team_admin
from resolvers.validation import check_text

ORGANISER_MESSAGE = "ORGANISER_MESSAGE"
ORGANISER_MESSAGE_REPLY = "ORGANISER_MESSAGE_REPLY"
MESSAGES_PER_HOUR = 10
REPLIES_PER_MINUTE = 10
TITLE_MAX = 200
BODY_MAX = 2000
RECIPIENTS_MAX = 10_000

_SIGN_UP_STATUSES = {
    Audience.CONFIRMED: [SignUpStatus.CONFIRMED],
    Audience.CHECKED_IN: [SignUpStatus.CONFIRMED],
    Audience.WAITLISTED: [SignUpStatus.WAITLISTED],
    Audience.SIGNED_UP: [SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED, SignUpStatus.OFFERED],
}


async def _recipients(activity: Activity | None, team: Team, audience: Audience) -> list[int]:
    if activity is None:
        rows = await Membership.filter(team_id=team.id, status=MembershipStatus.APPROVED) \
            .order_by("volunteer_id").limit(RECIPIENTS_MAX).values("volunteer_id")
    else:
        query = SignUp.filter(activity_id=activity.id, status__in=_SIGN_UP_STATUSES[audience])
        if audience == Audience.CHECKED_IN:
            query = query.filter(checked_in_at__not_isnull=True)
        rows = await query.order_by("volunteer_id").limit(RECIPIENTS_MAX).values("volunteer_id")
    return [int(row["volunteer_id"]) for row in rows]


async def do_send_message(viewer: Viewer, activity_id: int | None, team_id: int | None,
                          audience: Audience, title: str, body: str,
                          sms: bool) -> OrganiserMessage:
    """Validated before anything is written; the rate limit counts only valid messages."""
    sender = viewer.require_active("send messages")
    title = check_text(title, "title", max_len=TITLE_MAX)
    body = check_text(body, "body", max_len=BODY_MAX)
    if (activity_id is None) == (team_id is None):
        raise BadInput("activityId", "Give either activityId or teamId.")
    activity = None
    if activity_id is not None:
        if audience == Audience.TEAM:
            raise BadInput("audience", "TEAM goes with teamId, not activityId.")
        activity = await Activity.get_or_none(id=activity_id)
        if activity is None or activity.status == ActivityStatus.DRAFT:
            raise NotFound("Activity")
        team = await check_team_admin(viewer, activity.team_id)
    else:
        if audience != Audience.TEAM:
            raise BadInput("audience", "A team's members are the TEAM audience.")
        assert team_id is not None
        team = await check_team_admin(viewer, team_id)
    await services().limiter.hit(f"organiser-message:{sender.id}", MESSAGES_PER_HOUR, 3600)
    recipients = [person for person in await _recipients(activity, team, audience)
                  if person != sender.id]
    async with in_transaction() as conn:
        message = await OrganiserMessage.create(
            sender_id=sender.id, activity_id=activity.id if activity else None, team_id=team.id,
            audience=audience, title=title, body=body, sms=sms,
            recipient_count=len(recipients), using_db=conn)
        notifications = await create_notifications([
            NewNotification(person, ORGANISER_MESSAGE, title, body,
                            subject=("OrganiserMessage", message.id), sms=sms)
            for person in recipients], conn)
    await notify_created(notifications)
    return message


async def visible_message(viewer: Viewer, message_id: int) -> OrganiserMessage | None:
    """The sender, its recipients and the team's admins see a message; for others it does
    not exist."""
    if viewer.volunteer is None:
        return None
    message = await OrganiserMessage.get_or_none(id=message_id)
    if message is None:
        return None
    if message.sender_id == viewer.id or await _received(viewer.id, message.id):
        return message
    if await is_team_admin(viewer, await Team.get(id=message.team_id)):
        return message
    return None


async def _received(volunteer_id: int | None, message_id: int) -> bool:
    return await Notification.exists(volunteer_id=volunteer_id, kind=ORGANISER_MESSAGE,
                                     subject_type="OrganiserMessage", subject_id=message_id)


async def do_reply(viewer: Viewer, message_id: int, body: str) -> OrganiserMessageReply:
    """Recipients answer the organiser who wrote; the organiser is notified."""
    author = viewer.require_active("reply")
    body = check_text(body, "body", max_len=BODY_MAX)
    message = await OrganiserMessage.get_or_none(id=message_id)
    if message is None or not await _received(author.id, message_id):
        raise NotFound("OrganiserMessage")
    await services().limiter.hit(f"organiser-reply:{author.id}", REPLIES_PER_MINUTE, 60)
    async with in_transaction() as conn:
        reply = await OrganiserMessageReply.create(message_id=message.id, author_id=author.id,
                                                   body=body, using_db=conn)
        notice = await create_notification(
            message.sender_id, ORGANISER_MESSAGE_REPLY, f"回复：{message.title}",
            f"{author.display_name}：{body}", subject=("OrganiserMessage", message.id),
            using=conn)
    await notify_created([notice])
    return reply


async def replies_for(viewer: Viewer, message: OrganiserMessage) -> QuerySet[OrganiserMessageReply]:
    """The sender and the team's admins read every reply; a recipient reads their own."""
    query = OrganiserMessageReply.filter(message_id=message.id)
    if message.sender_id == viewer.id or await is_team_admin(
            viewer, await Team.get(id=message.team_id)):
        return query
    return query.filter(author_id=viewer.id or 0)


async def list_messages(viewer: Viewer, activity_id: int | None,
                        team_id: int | None) -> QuerySet[OrganiserMessage]:
    """The log of a team's (or an activity's) messages, for its admins."""
    viewer.require()
    if activity_id is not None:
        activity = await Activity.get_or_none(id=activity_id)
        if activity is None:
            raise NotFound("Activity")
        await check_team_admin(viewer, activity.team_id)
        return OrganiserMessage.filter(activity_id=activity_id)
    if team_id is None:
        raise BadInput("teamId", "Give activityId or teamId.")
    await check_team_admin(viewer, team_id)
    return OrganiserMessage.filter(team_id=team_id)
