"""Shift hand-over (swap): a confirmed volunteer offers their place to a named volunteer, or
to the activity's waitlist (the first waitlisted volunteer to accept takes it); the giver
keeps the place, and the responsibility, until it moves.

The move is one transaction built from the sign-up core (resolvers/slots.py): lock order
volunteer row → activity row → sign-up rows, the activity row held by a count UPDATE that is
conditional on the activity still being open and not started. The giver's CONFIRMED sign-up is
cancelled and the taker's confirmed by conditional UPDATEs, so a concurrent cancellation,
sign-up or second acceptance either happens wholly before (and this one refuses) or after.
Places taken do not change (one leaves, one arrives): a swap can never overbook; a taker who
was waitlisted leaves the waitlist. The taker must meet the requirements and have no
overlapping confirmed shift (rule 5), as for a sign-up.

Activities may require an organiser's approval (SwapPolicy): then acceptance waits for a
team admin's decision, and the move happens when they approve. Giver, taker and the
activity's creator are told of the move; the named receiver of an offer; the organisers of an
acceptance awaiting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.notification import Notification
from models.swap import ShiftSwap, SwapPolicy, SwapStatus
from models.team import Membership, MembershipRole, MembershipStatus, Team
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, NotFound
from resolvers.notification import create_notification, notify_created
from resolvers.requirements import check_requirements
from resolvers.slots import CountChange, Raced, change_counts, notify_slot_change, with_retries
from resolvers.sql import Sql
from resolvers.team import administered_team_ids, check_team_admin, is_team_admin
from resolvers.waitlist import overlaps_after_locking

SWAP_OFFERED = "SHIFT_SWAP_OFFERED"
SWAP_ACCEPTED = "SHIFT_SWAP_AWAITING_APPROVAL"
SWAP_DONE = "SHIFT_SWAP_DONE"
SWAP_ENDED = "SHIFT_SWAP_ENDED"
LIVE = (SwapStatus.OPEN, SwapStatus.AWAITING_APPROVAL)
REASON_MAX = 500


class _Refused(Exception):
    """A rule failed under the locks: roll back, then raise `error` (and maybe lapse)."""

    def __init__(self, error: Conflict, lapse: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.lapse = lapse


def _started(activity: Activity, now: datetime) -> bool:
    return activity.starts_at <= now


async def needs_approval(activity_id: int) -> bool:
    policy = await SwapPolicy.get_or_none(activity_id=activity_id)
    return bool(policy and policy.needs_approval)


async def do_set_swap_approval(viewer: Viewer, activity_id: int, required: bool) -> Activity:
    """Team admins decide whether swaps on the activity need their approval."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("Activity")
    await check_team_admin(viewer, activity.team_id)
    _, created = await SwapPolicy.get_or_create(activity_id=activity_id,
                                                     defaults={"needs_approval": required})
    if not created:
        await SwapPolicy.filter(activity_id=activity_id).update(needs_approval=required)
    return activity


async def check_offer(viewer: Viewer, activity_id: int,
                      receiver_id: int | None) -> tuple[Activity, SignUp, Volunteer | None]:
    giver = viewer.require_active("hand over a shift")
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    sign_up = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=giver.id)
    if sign_up is None or sign_up.status != SignUpStatus.CONFIRMED:
        raise Conflict("Only a confirmed place can be handed over.", reason="NOT_CONFIRMED")
    if activity.status != ActivityStatus.PUBLISHED or _started(activity, datetime.now(UTC)):
        raise Conflict("This activity has started or closed; its places no longer move.",
                       reason="NOT_OPEN")
    if sign_up.checked_in_at is not None:
        raise Conflict("You have already checked in.", reason="CHECKED_IN")
    receiver = None
    if receiver_id is not None:
        receiver = await Volunteer.get_or_none(id=receiver_id)
        if receiver is None or receiver.status != VolunteerStatus.ACTIVE:
            raise NotFound("Volunteer")
        if receiver.id == giver.id:
            raise Conflict("You cannot hand a place to yourself.", reason="SELF")
        theirs = await SignUp.get_or_none(activity_id=activity_id, volunteer_id=receiver.id)
        if theirs is not None and theirs.status in (SignUpStatus.CONFIRMED, SignUpStatus.OFFERED):
            raise Conflict("They already have a place on this activity.", reason="HAS_PLACE")
        await check_requirements(receiver, activity)
    return activity, sign_up, receiver


async def do_offer_swap(viewer: Viewer, activity_id: int, receiver_id: int | None) -> ShiftSwap:
    """One live swap per place (a unique key): offering again while one is live is CONFLICT."""
    activity, sign_up, receiver = await check_offer(viewer, activity_id, receiver_id)
    notifications: list[Notification] = []
    try:
        async with in_transaction() as conn:
            swap = await ShiftSwap.create(
                activity_id=activity.id, giver_sign_up_id=sign_up.id,
                giver_id=sign_up.volunteer_id, receiver_id=receiver.id if receiver else None,
                live_key=sign_up.id, using_db=conn)
            for person in await _offer_audience(conn, activity, receiver):
                notifications.append(await create_notification(
                    person, SWAP_OFFERED, f"有人想把名额转给您：{activity.title}",
                    f"一位志愿者想把「{activity.title}」的名额转给您，接受后即由您参加。",
                    subject=("ShiftSwap", swap.id), using=conn))
    except IntegrityError:
        raise Conflict("This place is already offered; withdraw that offer first.",
                       reason="ALREADY_OFFERED") from None
    await notify_created(notifications)
    return swap


async def _offer_audience(conn: BaseDBAsyncClient, activity: Activity,
                          receiver: Volunteer | None) -> list[int]:
    if receiver is not None:
        return [receiver.id]
    return [int(row["volunteer_id"]) for row in await SignUp.filter(
        activity_id=activity.id, status=SignUpStatus.WAITLISTED).using_db(conn).order_by(
        "waitlist_seq").limit(200).values("volunteer_id")]


async def visible_swap(viewer: Viewer, swap_id: int) -> ShiftSwap | None:
    """Giver, named receiver, waitlisted volunteers (for a waitlist swap), the taker and the
    team's admins see a swap; for everyone else it does not exist."""
    person = viewer.volunteer
    swap = await ShiftSwap.get_or_none(id=swap_id)
    if swap is None or person is None:
        return None
    if person.id in (swap.giver_id, swap.receiver_id, swap.taker_id):
        return swap
    if swap.receiver_id is None and await SignUp.exists(
            activity_id=swap.activity_id, volunteer_id=person.id,
            status=SignUpStatus.WAITLISTED):
        return swap
    activity = await Activity.get(id=swap.activity_id)
    if await is_team_admin(viewer, await Team.get(id=activity.team_id)):
        return swap
    return None


async def _require_swap(viewer: Viewer, swap_id: int) -> ShiftSwap:
    viewer.require()
    swap = await visible_swap(viewer, swap_id)
    if swap is None:
        raise NotFound("ShiftSwap")
    return swap


async def do_accept_swap(viewer: Viewer, swap_id: int) -> ShiftSwap:
    """The receiver (or, for a waitlist swap, a waitlisted volunteer) takes the place: now,
    or once an organiser approves, if the activity asks for that."""
    taker = viewer.require_active("take a shift")
    swap = await _require_swap(viewer, swap_id)
    if swap.status != SwapStatus.OPEN:
        raise Conflict("This hand-over is no longer open.", reason="NOT_OPEN")
    if swap.giver_id == taker.id or (swap.receiver_id is not None
                                     and swap.receiver_id != taker.id):
        raise NotFound("ShiftSwap")
    activity = await Activity.get(id=swap.activity_id)
    await check_requirements(taker, activity)
    if await needs_approval(activity.id):
        return await _await_approval(swap, activity, taker.id)
    return await _move(swap, activity, taker.id, expected=SwapStatus.OPEN, decided_by=None)


async def _await_approval(swap: ShiftSwap, activity: Activity, taker_id: int) -> ShiftSwap:
    notifications: list[Notification] = []
    async with in_transaction() as conn:
        changed = await ShiftSwap.filter(id=swap.id, status=SwapStatus.OPEN).using_db(
            conn).update(status=SwapStatus.AWAITING_APPROVAL, taker_id=taker_id,
                         updated_at=datetime.now(UTC))
        if not changed:
            raise Conflict("Someone else accepted this hand-over first.", reason="TAKEN")
        for admin in await _organisers(conn, activity):
            notifications.append(await create_notification(
                admin, SWAP_ACCEPTED, f"名额转让待审批：{activity.title}",
                f"「{activity.title}」有一个名额转让已被接受，请审批。",
                subject=("ShiftSwap", swap.id), using=conn))
    await notify_created(notifications)
    return await ShiftSwap.get(id=swap.id)


async def _organisers(conn: BaseDBAsyncClient, activity: Activity) -> list[int]:
    return [int(row["volunteer_id"]) for row in await Membership.filter(
        team_id=activity.team_id, role=MembershipRole.ADMIN, status=MembershipStatus.APPROVED,
    ).using_db(conn).order_by("volunteer_id").values("volunteer_id")]


def check_decision(approve: bool, reason: str | None) -> str | None:
    """A refusal says why (the giver and the taker read it); an approval needs no reason."""
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise BadInput("reason", "Say why the hand-over is refused.")
    if reason is not None and len(reason) > REASON_MAX:
        raise BadInput("reason", f"The reason is longer than {REASON_MAX} characters.")
    return reason


async def do_decide_swap(viewer: Viewer, swap_id: int, approve: bool,
                         reason: str | None = None) -> ShiftSwap:
    """A team admin approves (the place moves now) or rejects, with a reason, an accepted
    hand-over."""
    reason = check_decision(approve, reason)
    swap = await _require_swap(viewer, swap_id)
    activity = await Activity.get(id=swap.activity_id)
    await check_team_admin(viewer, activity.team_id)
    if swap.status != SwapStatus.AWAITING_APPROVAL or swap.taker_id is None:
        raise Conflict("This hand-over is not waiting for a decision.", reason="NOT_AWAITING")
    if approve:
        return await _move(swap, activity, swap.taker_id, expected=SwapStatus.AWAITING_APPROVAL,
                           decided_by=viewer.id)
    return await _end(swap, SwapStatus.REJECTED, (SwapStatus.AWAITING_APPROVAL,),
                      decided_by=viewer.id, tell=[swap.giver_id, swap.taker_id],
                      text=f"组织者未批准这次名额转让，名额仍由原志愿者保留。原因：{reason}",
                      reason=reason)


async def swaps_awaiting_approval(viewer: Viewer) -> QuerySet[ShiftSwap]:
    """Accepted hand-overs waiting for a decision on the activities of the teams the caller
    administers (directly or through a parent team; platform admins: all)."""
    person = viewer.require()
    waiting = ShiftSwap.filter(status=SwapStatus.AWAITING_APPROVAL)
    if viewer.is_platform_admin:
        return waiting
    return waiting.filter(activity__team_id__in=sorted(await administered_team_ids(person.id)))


async def swap_approval_required(viewer: Viewer, activity_id: int) -> bool:
    """Whether hand-overs on the activity wait for an organiser; the team's admins ask."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("Activity")
    await check_team_admin(viewer, activity.team_id)
    return await needs_approval(activity_id)


async def do_withdraw_swap(viewer: Viewer, swap_id: int) -> ShiftSwap:
    swap = await _require_swap(viewer, swap_id)
    if swap.giver_id != viewer.id:
        raise NotFound("ShiftSwap")
    return await _end(swap, SwapStatus.WITHDRAWN, LIVE, decided_by=None,
                      tell=[p for p in (swap.receiver_id, swap.taker_id) if p],
                      text="对方已撤回名额转让。")


async def do_decline_swap(viewer: Viewer, swap_id: int) -> ShiftSwap:
    swap = await _require_swap(viewer, swap_id)
    if swap.receiver_id is None or swap.receiver_id != viewer.id:
        raise NotFound("ShiftSwap")
    return await _end(swap, SwapStatus.DECLINED, (SwapStatus.OPEN,), decided_by=None,
                      tell=[swap.giver_id], text="对方谢绝了您的名额转让，名额仍由您保留。")


async def _end(swap: ShiftSwap, status: SwapStatus, from_statuses: tuple[SwapStatus, ...], *,
               decided_by: int | None, tell: list[int], text: str,
               reason: str | None = None) -> ShiftSwap:
    notifications: list[Notification] = []
    async with in_transaction() as conn:
        changed = await ShiftSwap.filter(id=swap.id, status__in=from_statuses).using_db(
            conn).update(status=status, live_key=None, decided_by_id=decided_by,
                         decision_reason=reason, updated_at=datetime.now(UTC))
        if not changed:
            raise Conflict("This hand-over changed at the same moment.", reason="NOT_OPEN")
        activity = await Activity.get(id=swap.activity_id, using_db=conn)
        for person in tell:
            notifications.append(await create_notification(
                person, SWAP_ENDED, f"名额转让未完成：{activity.title}", text,
                subject=("ShiftSwap", swap.id), using=conn))
    await notify_created(notifications)
    return await ShiftSwap.get(id=swap.id)


@dataclass
class _Moved:
    swap: ShiftSwap
    notifications: list[Notification]


async def _move(swap: ShiftSwap, activity: Activity, taker_id: int, *, expected: SwapStatus,
                decided_by: int | None) -> ShiftSwap:
    """The atomic transfer (see the module docstring)."""

    async def attempt() -> _Moved:
        async with in_transaction() as conn:
            return await _move_in(conn, swap, activity, taker_id, expected, decided_by)

    try:
        moved = await with_retries(attempt)
    except (Raced, IntegrityError):
        raise Conflict("The place changed at the same moment; try again.",
                       reason="RETRY") from None
    except _Refused as refused:
        if refused.lapse:
            await ShiftSwap.filter(id=swap.id, status__in=LIVE).update(
                status=SwapStatus.LAPSED, live_key=None, updated_at=datetime.now(UTC))
        raise refused.error from None
    await notify_created(moved.notifications)
    await notify_slot_change(activity.id)
    return moved.swap


async def _move_in(conn: BaseDBAsyncClient, swap: ShiftSwap, activity: Activity, taker_id: int,
                   expected: SwapStatus, decided_by: int | None) -> _Moved:
    """Precondition: inside a transaction. Volunteer row → activity row → sign-up rows."""
    now = datetime.now(UTC)
    if await overlaps_after_locking(conn, taker_id, activity):
        raise _Refused(Conflict("You already have a confirmed sign-up at an overlapping time.",
                                reason="OVERLAP"))
    if not await Volunteer.filter(id=taker_id, status=VolunteerStatus.ACTIVE).using_db(
            conn).exists():
        raise _Refused(Conflict("This account cannot take a shift now.", reason="INACTIVE"))
    theirs = await SignUp.filter(activity_id=activity.id, volunteer_id=taker_id).using_db(
        conn).first()
    if theirs is not None and theirs.status in (SignUpStatus.CONFIRMED, SignUpStatus.OFFERED):
        raise _Refused(Conflict("You already have a place on this activity.", reason="HAS_PLACE"))
    if swap.receiver_id is None and (theirs is None or theirs.status != SignUpStatus.WAITLISTED):
        raise _Refused(Conflict("Only volunteers on the waitlist can take this place.",
                                reason="NOT_WAITLISTED"))
    waitlisted = theirs is not None and theirs.status == SignUpStatus.WAITLISTED
    # Holds the activity row to commit; open and not started, or nothing moves.
    row = await change_counts(conn, activity.id, CountChange(waitlisted=-1 if waitlisted else 0),
                              Sql("status = 'PUBLISHED' AND starts_at > :now", now=now))
    if row is None:
        raise _Refused(Conflict("This activity has started or closed; its places no longer "
                                "move.", reason="NOT_OPEN"), lapse=True)
    gave = await SignUp.filter(id=swap.giver_sign_up_id, status=SignUpStatus.CONFIRMED,
                               checked_in_at=None).using_db(conn).update(
        status=SignUpStatus.CANCELLED, updated_at=now)
    if not gave:
        raise _Refused(Conflict("The place is no longer held by the volunteer who offered it.",
                                reason="GIVER_LEFT"), lapse=True)
    if theirs is None:
        await SignUp.create(activity_id=activity.id, volunteer_id=taker_id,
                            status=SignUpStatus.CONFIRMED, using_db=conn)
    else:
        took = await SignUp.filter(id=theirs.id, status=theirs.status).using_db(conn).update(
            status=SignUpStatus.CONFIRMED, waitlist_seq=None, created_at=now, updated_at=now,
            checked_in_at=None, checked_out_at=None, offer_expires_at=None)
        if not took:
            raise Raced()
    closed = await ShiftSwap.filter(id=swap.id, status=expected).using_db(conn).update(
        status=SwapStatus.DONE, live_key=None, taker_id=taker_id, decided_by_id=decided_by,
        updated_at=now)
    if not closed:
        raise _Refused(Conflict("This hand-over is no longer open.", reason="TAKEN"))
    text = f"「{activity.title}」的名额已转让完成。"
    notifications = [await create_notification(
        person, SWAP_DONE, f"名额转让完成：{activity.title}", text,
        subject=("ShiftSwap", swap.id), using=conn)
        for person in dict.fromkeys((swap.giver_id, taker_id, activity.created_by_id))]
    return _Moved(await ShiftSwap.get(id=swap.id, using_db=conn), notifications)


async def list_swaps(viewer: Viewer, activity_id: int | None) -> QuerySet[ShiftSwap]:
    """Without an activity: the caller's own (given, offered to them, taken). With one: all of
    its swaps for its team's admins; for others their own there, plus its live waitlist
    swaps when they are waitlisted on it."""
    person = viewer.require()
    mine = Q(giver_id=person.id) | Q(receiver_id=person.id) | Q(taker_id=person.id)
    if activity_id is None:
        return ShiftSwap.filter(mine)
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.status == ActivityStatus.DRAFT:
        raise NotFound("Activity")
    query = ShiftSwap.filter(activity_id=activity.id)
    if await is_team_admin(viewer, await Team.get(id=activity.team_id)):
        return query
    if await SignUp.exists(activity_id=activity.id, volunteer_id=person.id,
                           status=SignUpStatus.WAITLISTED):
        return query.filter(mine | Q(receiver_id=None, status__in=list(LIVE)))
    return query.filter(mine)
