"""Time bank (爱心银行): catalogue, redemptions, donations and the points statement."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.helprequest import HelpRequest as HelpRequestModel
from models.hours import PointsEntry as PointsEntryModel
from models.hours import PointsKind as PointsKindModel
from models.hours import ServiceRecord as ServiceRecordModel
from models.timebank import PointsTransfer as PointsTransferModel
from models.timebank import Redemption as RedemptionModel
from models.timebank import RewardItem as RewardItemModel
from models.timebank import RewardItemChange as RewardItemChangeModel
from models.timebank import RewardKind as RewardKindModel
from resolvers import timebank as rules
from resolvers.errors import Forbidden
from resolvers.messages import ledger_reason
from schema.context import Info
from schema.errors import request_language
from schema.helprequest import HelpRequest
from schema.hours import ServiceRecord
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
    RewardKind: TypeAlias = RewardKindModel
    PointsKind: TypeAlias = PointsKindModel
else:
    RewardKind = strawberry.enum(
        RewardKindModel, name="RewardKind",
        description="REWARD (a thing to take home) or SERVICE (e.g. a haircut, a repair).")
    PointsKind = strawberry.enum(
        PointsKindModel, name="PointsKind",
        description="Why the ledger moved: EARN (approved hours; negative when taken back), "
                    "REDEEM, DONATE_OUT, DONATE_IN or EXPIRE.")



@strawberry.type(description="One edit of a catalogue item (append-only audit).")
class RewardItemChange:
    model: strawberry.Private[RewardItemChangeModel]
    action: str = strawberry.field(description="CREATE, UPDATE or RESTOCK (restockRewardItem: "
                                               "before and after differ by the units added).")
    before: strawberry.scalars.JSON | None = strawberry.field(
        description="The item's fields before the edit (null for CREATE).")
    after: strawberry.scalars.JSON = strawberry.field(description="The item's fields after.")
    reason: str | None = strawberry.field(description="Why, if given.")
    created_at: datetime = strawberry.field(description="When.")

    @strawberry.field(description="Who edited.")
    async def actor(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.actor_id)


@strawberry.type(description="A reward or service in the time-bank catalogue (爱心银行).")
class RewardItem(Node):
    model: strawberry.Private[RewardItemModel]
    title: str = strawberry.field(description="Name of the reward or service.")
    description: str = strawberry.field(description="Details and how to collect it.")
    kind: RewardKind = strawberry.field(description="REWARD or SERVICE.")
    cost_points: int = strawberry.field(description="Points per unit.")
    stock: int = strawberry.field(description="Units left.")
    district: str | None = strawberry.field(description="Where it can be collected (null: all).")
    active: bool = strawberry.field(description="Offered now (retired items stay for history).")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_model(cls, model: RewardItemModel) -> RewardItem:
        return cls(db_id=model.id, model=model, title=model.title,
                   description=model.description, kind=RewardKindModel(model.kind),
                   cost_points=model.cost_points, stock=model.stock, district=model.district,
                   active=model.active, created_at=model.created_at)

    @strawberry.field(description="Every edit, oldest first (platform admins only).")
    async def history(self, info: Info) -> list[RewardItemChange]:
        if not info.context.viewer.is_platform_admin:
            raise Forbidden("Only platform admins see the catalogue's audit trail.")
        rows = await info.context.loaders.grouped(
            "timebank.item_changes", RewardItemChangeModel, "item_id").load(self.db_id)
        return [RewardItemChange(model=row, action=row.action, before=row.before,
                                 after=row.after, reason=row.reason, created_at=row.created_at)
                for row in rows]


async def _item(info: Info, item_id: int | None) -> RewardItem | None:
    if item_id is None:
        return None
    model = await info.context.loaders.by_id(RewardItemModel).load(item_id)
    return RewardItem.from_model(model) if model else None


async def _item_node(info: Info, db_id: int) -> RewardItem | None:
    item = await _item(info, db_id)
    if item is None or (not item.active and not info.context.viewer.is_platform_admin):
        return None
    return item


register_node("RewardItem", _item_node)


@strawberry.type(description="Points spent on a catalogue item.")
class Redemption(Node):
    model: strawberry.Private[RedemptionModel]
    quantity: int = strawberry.field(description="Units redeemed.")
    points: int = strawberry.field(description="Points spent (cost per unit × quantity).")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, model: RedemptionModel) -> Redemption:
        return cls(db_id=model.id, model=model, quantity=model.quantity, points=model.points,
                   created_at=model.created_at)

    @strawberry.field(description="What was redeemed.")
    async def item(self, info: Info) -> RewardItem:
        item = await _item(info, self.model.item_id)
        assert item is not None
        return item

    @strawberry.field(description="Who redeemed.")
    async def volunteer(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.volunteer_id)


async def _redemption_node(info: Info, db_id: int) -> Redemption | None:
    model = await info.context.loaders.by_id(RedemptionModel).load(db_id)
    viewer = info.context.viewer
    if model is None or (viewer.id != model.volunteer_id and not viewer.is_platform_admin):
        return None
    return Redemption.from_model(model)


register_node("Redemption", _redemption_node)


@strawberry.type(description="Points donated from one volunteer to another.")
class PointsTransfer:
    model: strawberry.Private[PointsTransferModel]
    points: int = strawberry.field(description="Points donated.")
    note: str | None = strawberry.field(description="The donor's note, if any.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, model: PointsTransferModel) -> PointsTransfer:
        return cls(model=model, points=model.points, note=model.note,
                   created_at=model.created_at)

    @strawberry.field(description="The donor.")
    async def from_volunteer(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.from_volunteer_id)

    @strawberry.field(description="The recipient (a help request's beneficiary, if given).")
    async def to_volunteer(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.to_volunteer_id)

    @strawberry.field(description="The help request donated to, if any.")
    async def help_request(self, info: Info) -> HelpRequest | None:
        if self.model.help_request_id is None:
            return None
        model = await info.context.loaders.by_id(HelpRequestModel).load(
            self.model.help_request_id)
        return HelpRequest.from_model(model) if model else None


@strawberry.type(description="One line of a points statement (append-only ledger entry).")
class PointsEntry:
    model: strawberry.Private[PointsEntryModel]
    kind: PointsKind = strawberry.field(description="Why the balance moved.")
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    balance_after: int = strawberry.field(description="Running balance right after this entry.")
    created_at: datetime = strawberry.field(description="When.")

    @strawberry.field(description="Human-readable description, in the request's language "
                      "(Accept-Language) for the lines the server writes (redeemed, donated, "
                      "received, expired, hours decided); others as written.")
    def reason(self, info: Info) -> str:
        return ledger_reason(request_language(info.context), self.model.reason)

    @classmethod
    def from_model(cls, model: PointsEntryModel) -> PointsEntry:
        return cls(model=model, kind=PointsKindModel(model.kind), delta=model.delta,
                   balance_after=model.balance_after, created_at=model.created_at)

    @classmethod
    async def statement_of(cls, info: Info, volunteer_id: int, first: int | None,
                           after: str | None) -> Connection[PointsEntry]:
        """`Volunteer.pointsStatement`: newest first, one windowed query for every page."""
        rules.check_statement_reader(info.context.viewer, volunteer_id)
        return await info.context.loaders.child_page(
            "volunteer.statement", PointsEntryModel, "volunteer_id", volunteer_id, first, after,
            NEWEST_FIRST, convert=cls.from_model)

    @strawberry.field(description="The redemption, for REDEEM entries.")
    async def redemption(self, info: Info) -> Redemption | None:
        if self.model.redemption_id is None:
            return None
        model = await info.context.loaders.by_id(RedemptionModel).load(self.model.redemption_id)
        return Redemption.from_model(model) if model else None

    @strawberry.field(description="The donation, for DONATE_OUT and DONATE_IN entries.")
    async def transfer(self, info: Info) -> PointsTransfer | None:
        if self.model.transfer_id is None:
            return None
        model = await info.context.loaders.by_id(PointsTransferModel).load(
            self.model.transfer_id)
        return PointsTransfer.from_model(model) if model else None

    @strawberry.field(description="The service record, for EARN entries.")
    async def service_record(self, info: Info) -> ServiceRecord | None:
        if self.model.record_id is None:
            return None
        model = await info.context.loaders.by_id(ServiceRecordModel).load(self.model.record_id)
        return ServiceRecord.from_model(model) if model else None


@strawberry.input(description="A new catalogue item.")
class RewardItemInput:
    title: str = strawberry.field(description="Name.")
    cost_points: int = strawberry.field(description="Points per unit, 1–1,000,000.")
    stock: int = strawberry.field(description="Units available, 0–1,000,000.")
    description: str | None = strawberry.field(default=None, description="What it is and how to collect it.")
    kind: RewardKind = strawberry.field(default=RewardKindModel.REWARD, description="Default REWARD.")
    district: str | None = strawberry.field(default=None, description="Where to collect (null: all).")


@strawberry.input(description="Changes to a catalogue item; omitted fields stay as they are.")
class RewardItemUpdate:
    title: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    kind: RewardKind | None = strawberry.field(default=None, description="New kind.")
    cost_points: int | None = strawberry.field(default=None, description="New points per unit.")
    stock: int | None = strawberry.field(
        default=None, description="Units left from now on: replaces whatever redemptions left "
                                  "since it was read (restockRewardItem adds units instead).")
    district: str | None = strawberry.field(default=None, description="New district ('' for all).")
    active: bool | None = strawberry.field(default=None, description="false retires the item.")


@strawberry.input(description="A donation: give exactly one of toVolunteerId and helpRequestId.")
class DonatePointsInput:
    points: int = strawberry.field(description="Points to give, 1–100,000.")
    to_volunteer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The volunteer receiving the points.")
    help_request_id: strawberry.ID | None = strawberry.field(
        default=None, description="A help request: its beneficiary (who posted it) receives them.")
    note: str | None = strawberry.field(default=None, description="A note.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Client-chosen key: a retry with it donates once.")


@strawberry.type
class TimebankQuery:
    @strawberry.field(description="The time-bank catalogue (爱心银行), by id; active items only "
                                  "unless a platform admin asks for retired ones too.")
    async def reward_items(
        self, info: Info, first: int | None = None, after: str | None = None,
        include_inactive: bool = False,
    ) -> Connection[RewardItem]:
        filters = rules.catalogue_filters(info.context.viewer, include_inactive)
        return await paginate(RewardItemModel.filter(**filters), first, after,
                              convert=RewardItem.from_model, order=BY_ID)


@strawberry.type
class TimebankMutation:
    @strawberry.mutation(description="Add a catalogue item (platform admins).")
    async def create_reward_item(self, info: Info, input: RewardItemInput) -> RewardItem:
        model = await rules.do_create_reward_item(info.context.viewer, rules.ItemInput(
            title=input.title, description=input.description, kind=input.kind,
            cost_points=input.cost_points, stock=input.stock, district=input.district))
        return RewardItem.from_model(model)

    @strawberry.mutation(description="Edit, set the stock of or retire a catalogue item (platform "
                                     "admins; restockRewardItem adds units); every edit is audited.")
    async def update_reward_item(
        self, info: Info, id: strawberry.ID, input: RewardItemUpdate, reason: str | None = None
    ) -> RewardItem:
        model = await rules.do_update_reward_item(
            info.context.viewer, decode_id(id, "RewardItem", "id"), rules.ItemInput(
                title=input.title, description=input.description, kind=input.kind,
                cost_points=input.cost_points, stock=input.stock, district=input.district,
                active=input.active), reason)
        return RewardItem.from_model(model)

    @strawberry.mutation(description="Add units to a catalogue item's stock (platform admins): "
                                     "one conditional `stock = stock + units`, so redemptions "
                                     "made since the item was read are kept. CONFLICT (reason "
                                     "STOCK_LIMIT) if the stock would pass 1,000,000. Retired "
                                     "items may be restocked. Audited as RESTOCK.")
    async def restock_reward_item(
        self, info: Info, item_id: strawberry.ID,
        units: Annotated[int, strawberry.argument(description="Units to add, 1–1,000,000.")],
        reason: Annotated[str | None, strawberry.argument(
            description="Why (kept in the item's history).")] = None,
    ) -> RewardItem:
        restock = await rules.check_restock(
            info.context.viewer, decode_id(item_id, "RewardItem", "itemId"), units, reason)
        return RewardItem.from_model(await rules.do_restock_reward_item(restock))

    @strawberry.mutation(description="Spend points on a catalogue item: stock and balance are "
                                     "checked and taken atomically (CONFLICT if either is short).")
    async def redeem(
        self, info: Info, item_id: strawberry.ID, quantity: int = 1,
        idempotency_key: Annotated[str | None, strawberry.argument(
            description="Client-chosen key: a retry with it redeems once.")] = None,
    ) -> Redemption:
        model = await rules.do_redeem(info.context.viewer,
                                      decode_id(item_id, "RewardItem", "itemId"), quantity,
                                      idempotency_key)
        return Redemption.from_model(model)

    @strawberry.mutation(description="Donate points to another volunteer or to a help request's "
                                     "beneficiary (CONFLICT if the balance is short).")
    async def donate_points(self, info: Info, input: DonatePointsInput) -> PointsTransfer:
        donation = await rules.do_donate_points(
            info.context.viewer, input.points,
            to_volunteer_id=decode_optional_id(input.to_volunteer_id, "Volunteer",
                                               "toVolunteerId"),
            help_request_id=decode_optional_id(input.help_request_id, "HelpRequest",
                                               "helpRequestId"),
            note=input.note, idempotency_key=input.idempotency_key)
        await rules.notify_donation(donation)
        return PointsTransfer.from_model(donation.transfer)
