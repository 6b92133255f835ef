"""Leaderboards / honour roll over approved hours."""

from __future__ import annotations

import strawberry

from models.team import Team as TeamModel
from models.volunteer import Volunteer as VolunteerModel
from resolvers import leaderboard as rules
from schema.context import Info
from schema.team import Team
from schema.volunteer import Volunteer

Period = rules.Period
strawberry.enum(rules.Period, name="Period",
                description="Leaderboard period (local calendar; weeks start Monday).")


@strawberry.type(description="One place on a leaderboard: a volunteer or a team, with hours.")
class LeaderboardEntry:
    rank: int = strawberry.field(description="1-based; equal hours share a rank.")
    hours: float = strawberry.field(description="Approved hours in the period.")
    entity_id: strawberry.Private[int]
    is_team: strawberry.Private[bool]

    @strawberry.field(description="Set on volunteer boards.")
    async def volunteer(self, info: Info) -> Volunteer | None:
        if self.is_team:
            return None
        model = await info.context.loaders.by_id(VolunteerModel).load(self.entity_id)
        return Volunteer.from_model(model) if model else None

    @strawberry.field(description="Set on team boards.")
    async def team(self, info: Info) -> Team | None:
        if not self.is_team:
            return None
        model = await info.context.loaders.by_id(TeamModel).load(self.entity_id)
        return Team.from_model(model) if model else None


@strawberry.type
class LeaderboardQuery:
    @strawberry.field(description="Top volunteers (or teams) by approved hours in the period, "
                      "optionally in one district (where the service took place). Public.")
    async def leaderboard(
        self, info: Info, period: Period, district: str | None = None,
        teams: bool | None = False, first: int | None = 20,
    ) -> list[LeaderboardEntry]:
        standings = await rules.leaderboard(rules.Period(period), district, bool(teams), first)
        return [LeaderboardEntry(rank=s.rank, hours=s.hours, entity_id=s.entity_id,
                                 is_team=bool(teams)) for s in standings]
