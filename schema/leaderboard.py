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
    # Loaded for the whole board in one batch by the root field, so these two are plain
    # attributes: no per-entry awaits (20 async resolvers cost more than the board's SQL).
    volunteer: Volunteer | None = strawberry.field(description="Set on volunteer boards.")
    team: Team | None = strawberry.field(description="Set on team boards.")


@strawberry.type
class LeaderboardQuery:
    @strawberry.field(description="Top volunteers (or teams) by approved hours in the period, "
                      "optionally in one district (where the service took place). Public.")
    async def leaderboard(
        self, info: Info, period: Period, district: str | None = None,
        teams: bool | None = False, first: int | None = 20,
    ) -> list[LeaderboardEntry]:
        standings = await rules.leaderboard(rules.Period(period), district, bool(teams), first)
        ids = [standing.entity_id for standing in standings]
        if teams:
            team_rows = await info.context.loaders.by_id(TeamModel).load_many(ids)
            return [LeaderboardEntry(rank=s.rank, hours=s.hours, volunteer=None,
                                     team=Team.from_model(row) if row else None)
                    for s, row in zip(standings, team_rows, strict=True)]
        people = await info.context.loaders.by_id(VolunteerModel).load_many(ids)
        return [LeaderboardEntry(rank=s.rank, hours=s.hours, team=None,
                                 volunteer=Volunteer.from_model(row) if row else None)
                for s, row in zip(standings, people, strict=True)]
