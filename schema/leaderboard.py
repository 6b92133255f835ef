"""Leaderboards / honour roll over approved hours."""

from __future__ import annotations

from typing import Any

import strawberry

from models.consent import ConsentPurpose
from models.team import Team as TeamModel
from models.volunteer import Volunteer as VolunteerModel
from resolvers import leaderboard as rules
from resolvers.consent import withdrawn
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
    volunteer: Volunteer | None = strawberry.field(
        description="Set on volunteer boards; null (anonymous) for volunteers who withdrew "
                    "LEADERBOARD_DISPLAY consent.")
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
        model = TeamModel if teams else VolunteerModel
        rows = await _board_rows(info, model, ids)
        if teams:
            return [LeaderboardEntry(rank=s.rank, hours=s.hours, volunteer=None,
                                     team=Team.from_model(row) if row else None)
                    for s, row in zip(standings, rows, strict=True)]
        # Those who withdrew LEADERBOARD_DISPLAY keep their place and hours, without a name.
        hidden = await withdrawn(ids, ConsentPurpose.LEADERBOARD_DISPLAY)
        return [LeaderboardEntry(rank=s.rank, hours=s.hours, team=None,
                                 volunteer=Volunteer.from_model(row)
                                 if row and row.id not in hidden else None)
                for s, row in zip(standings, rows, strict=True)]


async def _board_rows(info: Info, model: type[Any], ids: list[int]) -> list[Any]:
    """The board's rows: recently shown ones from the process cache (rules.recent_board_rows),
    the rest in one batch through the request's loader, which is primed with all of them so
    the rest of the request sees the same objects."""
    loader = info.context.loaders.by_id(model)
    found, missing = rules.recent_board_rows(model.__name__, ids)
    if missing:
        loaded = await loader.load_many(missing)
        fresh = {entity_id: row for entity_id, row in zip(missing, loaded, strict=True)
                 if row is not None}
        rules.remember_board_rows(model.__name__, fresh)
        found.update(fresh)
    loader.prime_many(found)
    return [found.get(entity_id) for entity_id in ids]
