"""Volunteer accident insurance: policies, uncovered shifts and claims (the roster is an HTTP
download, schema/insurance_http.py; `SignUp.insured` is on the sign-up)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

import strawberry

from core.time import BEIJING
from models.insurance import ClaimStatus as ClaimStatusModel
from models.insurance import InsuranceClaim as InsuranceClaimModel
from models.insurance import InsurancePolicy as InsurancePolicyModel
from models.insurance import InsurancePolicyActivity as InsurancePolicyActivityModel
from models.insurance import InsuranceScope as InsuranceScopeModel
from models.team import Team as TeamModel
from resolvers import insurance as rules
from schema.activity import SignUp
from schema.context import Info
from schema.relay import (
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

if TYPE_CHECKING:
    InsuranceScope: TypeAlias = InsuranceScopeModel
    ClaimStatus: TypeAlias = ClaimStatusModel
else:
    InsuranceScope = strawberry.enum(
        InsuranceScopeModel, name="InsuranceScope",
        description="Who a policy covers: ALL_VOLUNTEERS (every registered volunteer), TEAM "
                    "(the team's approved members) or ACTIVITIES (the confirmed participants "
                    "of the activities it names).")
    ClaimStatus = strawberry.enum(ClaimStatusModel, name="ClaimStatus",
                                  description="OPEN, SUBMITTED, SETTLED or REJECTED.")


@strawberry.type(description="A volunteer accident insurance policy (志愿者意外险).")
class InsurancePolicy(Node):
    model: strawberry.Private[InsurancePolicyModel]
    insurer: str = strawberry.field(description="The insurance company.")
    policy_number: str = strawberry.field(description="The policy number.")
    scope: InsuranceScope = strawberry.field(description="Who it covers.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, model: InsurancePolicyModel) -> InsurancePolicy:
        return cls(db_id=model.id, model=model, insurer=model.insurer,
                   policy_number=model.policy_number, scope=InsuranceScopeModel(model.scope),
                   created_at=model.created_at)

    @strawberry.field(description="First covered date (Beijing).")
    def covers_from(self) -> date:
        return self.model.covers_from.astimezone(BEIJING).date()

    @strawberry.field(description="Last covered date (Beijing), inclusive.")
    def covers_until(self) -> date:
        return self.model.covers_until.astimezone(BEIJING).date() - timedelta(days=1)

    @strawberry.field(description="The team, for a TEAM policy.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        team = await info.context.loaders.by_id(TeamModel).load(self.model.team_id)
        return Team.from_model(team) if team else None

    @strawberry.field(description="IDs of the activities an ACTIVITIES policy names.")
    async def activity_ids(self, info: Info) -> list[strawberry.ID]:
        rows = await info.context.loaders.grouped(
            "insurance.activities", InsurancePolicyActivityModel, "policy_id").load(self.db_id)
        return [to_global_id("Activity", row.activity_id) for row in rows]

    @strawberry.field(description="Path of the insurer's roster download (CSV, streaming; "
                                  "the same path ending .xlsx gives XLSX; add "
                                  "?from=YYYY-MM-DD&to=YYYY-MM-DD; platform admins).")
    def roster_path(self) -> str:
        return f"/insurance/{to_global_id('InsurancePolicy', self.db_id)}/roster.csv"


@strawberry.type(description="An insurance claim for an incident on a shift.")
class InsuranceClaim(Node):
    model: strawberry.Private[InsuranceClaimModel]
    incident_at: datetime = strawberry.field(description="When it happened.")
    description: str = strawberry.field(description="What happened.")
    status: ClaimStatus = strawberry.field(description="Where the claim stands.")
    created_at: datetime = strawberry.field(description="When it was opened.")

    @classmethod
    def from_model(cls, model: InsuranceClaimModel) -> InsuranceClaim:
        return cls(db_id=model.id, model=model, incident_at=model.incident_at,
                   description=model.description, status=ClaimStatusModel(model.status),
                   created_at=model.created_at)

    @strawberry.field(description="The policy claimed against.")
    async def policy(self, info: Info) -> InsurancePolicy:
        model = await info.context.loaders.by_id(InsurancePolicyModel).load(self.model.policy_id)
        assert model is not None
        return InsurancePolicy.from_model(model)

    @strawberry.field(description="The shift's sign-up: its check-in and check-out are the "
                                  "attendance record.")
    async def sign_up(self, info: Info) -> SignUp:
        from models.activity import SignUp as SignUpModel

        model = await info.context.loaders.by_id(SignUpModel).load(self.model.sign_up_id)
        assert model is not None
        return SignUp.from_model(model)

    @strawberry.field(description="The service record of the shift's hours, if any.")
    def service_record_id(self) -> strawberry.ID | None:
        record = self.model.service_record_id
        return to_global_id("ServiceRecord", record) if record is not None else None


async def _policy_node(info: Info, db_id: int) -> InsurancePolicy | None:
    if not info.context.viewer.is_platform_admin:
        return None
    model = await info.context.loaders.by_id(InsurancePolicyModel).load(db_id)
    return InsurancePolicy.from_model(model) if model else None


async def _claim_node(info: Info, db_id: int) -> InsuranceClaim | None:
    model = await info.context.loaders.by_id(InsuranceClaimModel).load(db_id)
    if model is None or not await rules.claim_visible(info.context.viewer, model):
        return None
    return InsuranceClaim.from_model(model)


register_node("InsurancePolicy", _policy_node)
register_node("InsuranceClaim", _claim_node)


@strawberry.input(description="A new insurance policy.")
class InsurancePolicyInput:
    insurer: str = strawberry.field(description="The insurance company.")
    policy_number: str = strawberry.field(description="The policy number (unique).")
    covers_from: date = strawberry.field(description="First covered date.")
    covers_until: date = strawberry.field(description="Last covered date, inclusive.")
    scope: InsuranceScope = strawberry.field(description="Who it covers.")
    team_id: strawberry.ID | None = strawberry.field(default=None,
                                                     description="The team (TEAM scope).")
    activity_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The activities (ACTIVITIES scope).")


@strawberry.type
class InsuranceQuery:
    @strawberry.field(description="Recorded insurance policies, newest first (platform admins).")
    async def insurance_policies(self, info: Info, first: int | None = None,
                                 after: str | None = None) -> Connection[InsurancePolicy]:
        return await paginate(rules.list_policies(info.context.viewer), first, after,
                              convert=InsurancePolicy.from_model, order=NEWEST_FIRST)

    @strawberry.field(description="Confirmed upcoming shifts no policy covers, soonest first, "
                                  "of the teams the caller administers (or one of them); at "
                                  "most 200.")
    async def uncovered_shifts(self, info: Info,
                               team_id: strawberry.ID | None = None) -> list[SignUp]:
        rows = await rules.uncovered_shifts(info.context.viewer,
                                            decode_optional_id(team_id, "Team", "teamId"))
        return [SignUp.from_model(row) for row in rows]


@strawberry.type
class InsuranceMutation:
    @strawberry.mutation(description="Record an insurance policy (platform admins).")
    async def create_insurance_policy(self, info: Info,
                                      input: InsurancePolicyInput) -> InsurancePolicy:
        policy = await rules.do_create_policy(info.context.viewer, rules.PolicyData(
            insurer=input.insurer, policy_number=input.policy_number,
            covers_from=input.covers_from, covers_until=input.covers_until,
            scope=InsuranceScopeModel(input.scope),
            team_id=decode_optional_id(input.team_id, "Team", "input.teamId"),
            activity_ids=[decode_id(i, "Activity", "input.activityIds")
                          for i in input.activity_ids or []]))
        return InsurancePolicy.from_model(policy)

    @strawberry.mutation(description="Open a claim for an incident on a covered, checked-in "
                                     "shift (the volunteer or the activity's team admins).")
    async def open_insurance_claim(self, info: Info, sign_up_id: strawberry.ID,
                                   incident_at: datetime, description: str) -> InsuranceClaim:
        claim = await rules.do_open_claim(info.context.viewer,
                                          decode_id(sign_up_id, "SignUp", "signUpId"),
                                          incident_at, description)
        return InsuranceClaim.from_model(claim)


__all__ = ["InsuranceClaim", "InsuranceMutation", "InsurancePolicy", "InsuranceQuery"]
