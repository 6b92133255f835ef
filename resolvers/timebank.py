"""Time bank (爱心银行): spend points on the catalogue, donate them, read statements, expire them.

Every ledger append goes through `post_entry`: inside the caller's transaction it moves the
volunteer's `points_account.balance` with one conditional UPDATE (a debit only if the balance
covers it) and writes the append-only entry carrying the new running balance. That UPDATE is
also the per-volunteer lock (PostgreSQL row lock; SQLite writes are serialised by BEGIN
IMMEDIATE), so concurrent spends of one person queue and never overdraw.

Lock order: reward_item row → points_account rows (ascending volunteer id). Hours approvals
take service_record → points_account; nothing takes an account and then an item.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.settings import get_settings
from models.helprequest import HelpRequest
from models.hours import PointsEntry, PointsKind
from models.notification import Notification
from models.timebank import (
    PointsAccount,
    PointsTransfer,
    Redemption,
    RewardItem,
    RewardItemChange,
    RewardKind,
)
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.messages import ledger_note
from resolvers.notification import create_notification, notify_created
from resolvers.sql import Sql, fetch
from resolvers.validation import check_optional_text, check_text

log = logging.getLogger("tongxin.timebank")

POINTS_RECEIVED = "POINTS_RECEIVED"
POINTS_EXPIRED = "POINTS_EXPIRED"

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
NOTE_MAX = 200
REASON_MAX = 500
KEY_MAX = 64
COST_MAX = 1_000_000
STOCK_MAX = 1_000_000
QUANTITY_MAX = 20
DONATION_MAX = 100_000


async def post_entry(
    conn: BaseDBAsyncClient,
    volunteer_id: int,
    delta: int,
    kind: PointsKind,
    reason: str,
    *,
    actor_id: int | None = None,
    record_id: int | None = None,
    redemption_id: int | None = None,
    transfer_id: int | None = None,
    overdraw: bool = False,
) -> PointsEntry | None:
    """Precondition: inside a transaction. Appends one ledger entry and moves the balance.
    A debit the balance does not cover returns None and writes nothing, unless `overdraw`
    (taking back approved hours records the truth even if the points were already spent)."""
    now = datetime.now(UTC)
    if delta >= 0 or overdraw:
        rows = await fetch(conn, Sql(
            "INSERT INTO points_account (volunteer_id, balance, updated_at) "
            "VALUES (:volunteer, :delta, :now) "
            "ON CONFLICT (volunteer_id) DO UPDATE SET balance = points_account.balance + "
            "excluded.balance, updated_at = excluded.updated_at RETURNING balance",
            volunteer=volunteer_id, delta=delta, now=now))
    else:
        rows = await fetch(conn, Sql(
            "UPDATE points_account SET balance = balance + :delta, updated_at = :now "
            "WHERE volunteer_id = :volunteer AND balance + :delta >= 0 RETURNING balance",
            delta=delta, now=now, volunteer=volunteer_id))
    if not rows:
        return None
    return await PointsEntry.create(
        volunteer_id=volunteer_id, delta=delta, kind=kind, reason=reason[:200],
        balance_after=int(rows[0]["balance"]), actor_id=actor_id, record_id=record_id,
        redemption_id=redemption_id, transfer_id=transfer_id, using_db=conn)


# --- catalogue ---------------------------------------------------------------------------


@dataclass
class ItemInput:
    title: str | None = None
    description: str | None = None
    kind: RewardKind | None = None
    cost_points: int | None = None
    stock: int | None = None
    district: str | None = None
    active: bool | None = None


def _item_snapshot(item: RewardItem) -> dict[str, Any]:
    return {"title": item.title, "description": item.description, "kind": item.kind.value,
            "costPoints": item.cost_points, "stock": item.stock, "district": item.district,
            "active": item.active}


def _check_int(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise BadInput(name, f"{name} must be between {low} and {high}.")
    return value


def _check_item(data: ItemInput, *, creating: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if data.title is not None or creating:
        changes["title"] = check_text(data.title, "title", max_len=TITLE_MAX)
    if data.description is not None:
        changes["description"] = check_text(data.description, "description",
                                             max_len=DESCRIPTION_MAX, required=False)
    if data.kind is not None:
        changes["kind"] = data.kind
    if data.cost_points is not None or creating:
        if data.cost_points is None:
            raise BadInput("costPoints", "costPoints is required.")
        changes["cost_points"] = _check_int(data.cost_points, "costPoints", 1, COST_MAX)
    if data.stock is not None or creating:
        if data.stock is None:
            raise BadInput("stock", "stock is required.")
        changes["stock"] = _check_int(data.stock, "stock", 0, STOCK_MAX)
    if data.district is not None:
        changes["district"] = check_text(data.district, "district", max_len=50,
                                         required=False) or None
    if data.active is not None:
        changes["active"] = data.active
    return changes


def _require_catalogue_admin(viewer: Viewer) -> Volunteer:
    admin = viewer.require_active("manage the catalogue")
    if not admin.is_platform_admin:
        raise Forbidden("Only platform admins manage the time-bank catalogue.")
    return admin


async def do_create_reward_item(viewer: Viewer, data: ItemInput) -> RewardItem:
    """Platform admins; the item and its CREATE audit row in one transaction."""
    admin = _require_catalogue_admin(viewer)
    changes = _check_item(data, creating=True)
    async with in_transaction() as conn:
        item = await RewardItem.create(created_by_id=admin.id, **changes, using_db=conn)
        await RewardItemChange.create(item_id=item.id, actor_id=admin.id, action="CREATE",
                                      before=None, after=_item_snapshot(item), using_db=conn)
    return item


async def do_update_reward_item(viewer: Viewer, item_id: int, data: ItemInput,
                                reason: str | None) -> RewardItem:
    """Platform admins. `stock` sets the remaining stock; the row is locked so a concurrent
    redemption is never overwritten by a stale read."""
    admin = _require_catalogue_admin(viewer)
    changes = _check_item(data, creating=False)
    reason = check_optional_text(reason, "reason", max_len=REASON_MAX)
    if not changes:
        raise BadInput("input", "Nothing to change.")
    async with in_transaction() as conn:
        item = await RewardItem.filter(id=item_id).select_for_update().using_db(conn).first()
        if item is None:
            raise NotFound("Reward item")
        before = _item_snapshot(item)
        for name, value in changes.items():
            setattr(item, name, value)
        after = _item_snapshot(item)
        if after == before:
            return item
        await item.save(using_db=conn, update_fields=[*changes, "updated_at"])
        await RewardItemChange.create(item_id=item.id, actor_id=admin.id, action="UPDATE",
                                      before=before, after=after, reason=reason, using_db=conn)
    return item


@dataclass(frozen=True)
class Restock:
    """A restock checked by `check_restock`, ready for `do_restock_reward_item`."""

    admin_id: int
    item_id: int
    units: int
    reason: str | None


async def check_restock(viewer: Viewer, item_id: int, units: int,
                        reason: str | None) -> Restock:
    """Platform admins; 1–STOCK_MAX units; the item exists. Retired items may be restocked
    (to fill them before offering them again): redeem refuses them anyway."""
    admin = _require_catalogue_admin(viewer)
    _check_int(units, "units", 1, STOCK_MAX)
    reason = check_optional_text(reason, "reason", max_len=REASON_MAX)
    if not await RewardItem.exists(id=item_id):
        raise NotFound("Reward item")
    return Restock(admin.id, item_id, units, reason)


async def do_restock_reward_item(restock: Restock) -> RewardItem:
    """Adds units with one conditional UPDATE (`stock = stock + units` while the result stays
    ≤ STOCK_MAX): never a read-modify-write, so a redemption committed between the admin's
    read and this write is kept. The RESTOCK history row is written under the same row lock
    (PostgreSQL; SQLite: BEGIN IMMEDIATE), so its before/after are the stock at that instant."""
    async with in_transaction() as conn:
        rows = await fetch(conn, Sql(
            "UPDATE reward_item SET stock = stock + :units, updated_at = :now "
            "WHERE id = :item AND stock <= :room RETURNING stock",
            units=restock.units, now=datetime.now(UTC), item=restock.item_id,
            room=STOCK_MAX - restock.units))
        if not rows:
            raise Conflict(f"Adding {restock.units:,} units would take the stock past "
                           f"{STOCK_MAX:,}.", reason="STOCK_LIMIT", field="units",
                           stockMax=STOCK_MAX)
        item = await RewardItem.filter(id=restock.item_id).using_db(conn).get()
        after = _item_snapshot(item)
        await RewardItemChange.create(
            item_id=item.id, actor_id=restock.admin_id, action="RESTOCK",
            before={**after, "stock": after["stock"] - restock.units}, after=after,
            reason=restock.reason, using_db=conn)
    return item


def catalogue_filters(viewer: Viewer, include_inactive: bool) -> dict[str, Any]:
    """Everyone sees active items; platform admins may ask for retired ones too."""
    if include_inactive:
        if not viewer.is_platform_admin:
            raise Forbidden("Only platform admins see retired catalogue items.")
        return {}
    return {"active": True}


# --- redeem ------------------------------------------------------------------------------


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX:
        raise BadInput("idempotencyKey", f"idempotencyKey must be 1–{KEY_MAX} characters.")
    return key


async def do_redeem(viewer: Viewer, item_id: int, quantity: int = 1,
                    idempotency_key: str | None = None) -> Redemption:
    """Atomic: the stock UPDATE (`stock >= quantity`) and the balance debit (`balance >=
    cost`) commit together or not at all. A repeated idempotency key returns the first
    redemption instead of spending twice."""
    volunteer = viewer.require_active("redeem points")
    _check_int(quantity, "quantity", 1, QUANTITY_MAX)
    key = _check_key(idempotency_key)
    if key is not None:
        earlier = await Redemption.get_or_none(volunteer_id=volunteer.id, idempotency_key=key)
        if earlier is not None:
            return _same_redemption(earlier, item_id, quantity)
    item = await RewardItem.get_or_none(id=item_id)
    if item is None or not item.active:
        raise NotFound("Reward item")
    try:
        async with in_transaction() as conn:
            rows = await fetch(conn, Sql(
                "UPDATE reward_item SET stock = stock - :quantity, updated_at = :now "
                "WHERE id = :item AND active = :active AND stock >= :quantity "
                "RETURNING cost_points",
                quantity=quantity, now=datetime.now(UTC), item=item_id, active=True))
            if not rows:
                raise Conflict("This reward is out of stock.", reason="OUT_OF_STOCK")
            points = int(rows[0]["cost_points"]) * quantity
            redemption = await Redemption.create(
                item_id=item_id, volunteer_id=volunteer.id, quantity=quantity, points=points,
                idempotency_key=key, using_db=conn)
            entry = await post_entry(
                conn, volunteer.id, -points, PointsKind.REDEEM, ledger_note("REDEEM", title=item.title),
                actor_id=volunteer.id, redemption_id=redemption.id)
            if entry is None:
                raise Conflict("Your points balance does not cover this reward.",
                               reason="INSUFFICIENT_POINTS")
    except IntegrityError:
        # The same key raced in from a retry: the first redemption stands.
        earlier = await Redemption.get_or_none(volunteer_id=volunteer.id, idempotency_key=key)
        if key is None or earlier is None:
            raise
        return _same_redemption(earlier, item_id, quantity)
    return redemption


def _same_redemption(earlier: Redemption, item_id: int, quantity: int) -> Redemption:
    if earlier.item_id != item_id or earlier.quantity != quantity:
        raise Conflict("This idempotencyKey was already used for another redemption.")
    return earlier


# --- donate ------------------------------------------------------------------------------


@dataclass
class Donation:
    transfer: PointsTransfer
    notifications: list[Notification] = field(default_factory=list)


async def _recipient(donor: Volunteer, volunteer_id: int | None,
                     help_request_id: int | None) -> tuple[Volunteer, int | None]:
    if (volunteer_id is None) == (help_request_id is None):
        raise BadInput("toVolunteerId", "Give exactly one of toVolunteerId and helpRequestId.")
    if help_request_id is not None:
        request = await HelpRequest.get_or_none(id=help_request_id)
        if request is None:
            raise NotFound("Help request")
        volunteer_id = request.created_by_id
        if volunteer_id == donor.id:
            raise BadInput("helpRequestId", "You cannot donate to your own help request.")
    assert volunteer_id is not None
    if volunteer_id == donor.id:
        raise BadInput("toVolunteerId", "You cannot donate points to yourself.")
    recipient = await Volunteer.get_or_none(id=volunteer_id)
    if recipient is None or recipient.status != VolunteerStatus.ACTIVE:
        raise NotFound("Volunteer")
    return recipient, help_request_id


async def do_donate_points(
    viewer: Viewer,
    points: int,
    *,
    to_volunteer_id: int | None = None,
    help_request_id: int | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Donation:
    """Donor debit (only if covered) and recipient credit in one transaction; both accounts
    are locked in ascending volunteer id so crossing donations cannot deadlock."""
    donor = viewer.require_active("donate points")
    _check_int(points, "points", 1, DONATION_MAX)
    note = check_optional_text(note, "note", max_len=NOTE_MAX)
    key = _check_key(idempotency_key)
    if key is not None:
        earlier = await PointsTransfer.get_or_none(from_volunteer_id=donor.id, idempotency_key=key)
        if earlier is not None:
            return Donation(earlier)
    recipient, request_id = await _recipient(donor, to_volunteer_id, help_request_id)
    recipient_id = recipient.id
    try:
        async with in_transaction() as conn:
            await _lock_accounts(conn, sorted({donor.id, recipient_id}))
            transfer = await PointsTransfer.create(
                from_volunteer_id=donor.id, to_volunteer_id=recipient_id,
                help_request_id=request_id, points=points, note=note, idempotency_key=key,
                using_db=conn)
            debit = await post_entry(conn, donor.id, -points, PointsKind.DONATE_OUT,
                                     ledger_note("DONATE_OUT", name=recipient.display_name),
                                     actor_id=donor.id, transfer_id=transfer.id)
            if debit is None:
                raise Conflict("Your points balance does not cover this donation.",
                               reason="INSUFFICIENT_POINTS")
            await post_entry(conn, recipient_id, points, PointsKind.DONATE_IN,
                             ledger_note("DONATE_IN", name=donor.display_name), actor_id=donor.id,
                             transfer_id=transfer.id)
            notice = await create_notification(
                recipient_id, POINTS_RECEIVED, f"收到 {points} 爱心积分",
                f"{donor.display_name} 向您捐赠了 {points} 积分。{note or ''}".strip(),
                subject=("PointsTransfer", transfer.id), using=conn)
    except IntegrityError:
        earlier = await PointsTransfer.get_or_none(from_volunteer_id=donor.id, idempotency_key=key)
        if key is None or earlier is None:
            raise
        return Donation(earlier)
    return Donation(transfer, [notice])


async def _lock_accounts(conn: BaseDBAsyncClient, volunteer_ids: list[int]) -> None:
    """Create missing accounts, then lock them in the given (ascending) order."""
    now = datetime.now(UTC)
    for volunteer_id in volunteer_ids:
        await fetch(conn, Sql("INSERT INTO points_account (volunteer_id, balance, updated_at) "
                              "VALUES (:volunteer, 0, :now) ON CONFLICT (volunteer_id) DO NOTHING",
                              volunteer=volunteer_id, now=now))
    if conn.capabilities.dialect == "postgres":
        await fetch(conn, Sql("SELECT id FROM points_account WHERE :mine "
                              "ORDER BY volunteer_id FOR UPDATE",
                              mine=Sql.one_of("volunteer_id", volunteer_ids)))


async def notify_donation(donation: Donation) -> None:
    await notify_created(donation.notifications)


# --- statements --------------------------------------------------------------------------


def check_statement_reader(viewer: Viewer, volunteer_id: int) -> None:
    """Statements are private: the volunteer themself and platform admins."""
    viewer.require()
    if viewer.id != volunteer_id and not viewer.is_platform_admin:
        raise Forbidden("Only the volunteer themself sees their points statement.")


async def account_balances(volunteer_ids: list[int]) -> list[int]:
    rows = await PointsAccount.filter(volunteer_id__in=volunteer_ids).values(
        "volunteer_id", "balance")
    found = {row["volunteer_id"]: int(row["balance"]) for row in rows}
    return [found.get(i, 0) for i in volunteer_ids]


# --- expiry ------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def do_expire_points(now: datetime | None = None, *, months: int | None = None) -> int:
    """Points expire `months` after they were earned, oldest first (every debit, spent,
    donated or expired, consumes the oldest credits). Off unless POINTS_EXPIRE_MONTHS > 0.
    Idempotent: the EXPIRE entries it writes are debits, so a second run finds nothing due.
    Returns how many points expired."""
    months = get_settings().points_expire_months if months is None else months
    if months <= 0:
        return 0
    cutoff = months_before(now or datetime.now(UTC), months)
    candidates = await PointsAccount.filter(balance__gt=0).values_list("volunteer_id", flat=True)
    expired = 0
    for candidate in candidates:
        volunteer_id = int(candidate)  # type: ignore[call-overload]
        async with in_transaction() as conn:
            locked = await fetch(conn, Sql(
                "UPDATE points_account SET balance = balance WHERE volunteer_id = :volunteer "
                "RETURNING balance", volunteer=volunteer_id))
            balance = int(locked[0]["balance"]) if locked else 0
            sums = await fetch(conn, Sql(
                "SELECT COALESCE(SUM(CASE WHEN delta > 0 AND created_at < :cutoff THEN delta END), "
                "0) AS old_credits, COALESCE(SUM(CASE WHEN delta < 0 THEN -delta END), 0) "
                "AS debits FROM points_entry WHERE volunteer_id = :volunteer",
                cutoff=cutoff, volunteer=volunteer_id))
            due = min(balance, int(sums[0]["old_credits"]) - int(sums[0]["debits"]))
            if due <= 0:
                continue
            await post_entry(conn, volunteer_id, -due, PointsKind.EXPIRE,
                             ledger_note("EXPIRE", months=months))
            notice = await create_notification(
                volunteer_id, POINTS_EXPIRED, f"{due} 爱心积分已过期",
                f"按本市规则，获得超过 {months} 个月未使用的 {due} 积分已过期。", using=conn)
        expired += due
        await notify_created([notice])
    if expired:
        log.info("expired %d points", expired)
    return expired
