"""Platform statistics for dashboards (platform admins: all; team admins: their district)."""

from __future__ import annotations

import strawberry

from resolvers import stats as rules
from schema.context import Info


@strawberry.type(description="One group of a breakdown: a key, how many, and hours where it applies.")
class Bucket:
    key: str = strawberry.field(description="District, gender, age band, team type or month.")
    count: int = strawberry.field(description="People, teams or approved records in the group.")
    hours: float | None = strawberry.field(description="Approved hours of the group, if relevant.")


@strawberry.type(description="The numbers cities report: registered and active people, teams, "
                 "activities and approved hours, with breakdowns.")
class PlatformStats:
    registered: int = strawberry.field(description="Consented accounts (not pending consent).")
    active: int = strawberry.field(description="Registered people with approved hours in 12 months.")
    pending_consent: int = strawberry.field(description="Imported people who have not claimed yet.")
    teams: int = strawberry.field(description="Teams.")
    activities: int = strawberry.field(description="Published or finished activities.")
    approved_hours: float = strawberry.field(description="All approved hours.")
    by_district: list[Bucket] = strawberry.field(
        description="Registered people per district, with hours served there.")
    by_gender: list[Bucket] = strawberry.field(description="Registered people per gender.")
    by_age_band: list[Bucket] = strawberry.field(description="Registered people per age band.")
    by_team_type: list[Bucket] = strawberry.field(description="Teams per type, with their hours.")
    hours_by_month: list[Bucket] = strawberry.field(
        description="The last 12 local months: approved records (count) and hours.")
    computed_at: float = strawberry.field(description="Unix time these figures were computed "
                                          "(cached up to a minute).")

    @classmethod
    def from_result(cls, result: rules.PlatformStats) -> PlatformStats:
        def buckets(items: list[rules.Bucket]) -> list[Bucket]:
            return [Bucket(key=b.key, count=b.count, hours=b.hours) for b in items]

        return cls(
            registered=result.registered, active=result.active,
            pending_consent=result.pending_consent, teams=result.teams,
            activities=result.activities, approved_hours=result.approved_hours,
            by_district=buckets(result.by_district), by_gender=buckets(result.by_gender),
            by_age_band=buckets(result.by_age_band), by_team_type=buckets(result.by_team_type),
            hours_by_month=buckets(result.hours_by_month), computed_at=result.computed_at,
        )


@strawberry.type
class StatsQuery:
    @strawberry.field(description="Statistics, all districts or one (platform admins: any; "
                      "team admins: their teams' district).")
    async def stats(self, info: Info, district: str | None = None) -> PlatformStats:
        return PlatformStats.from_result(await rules.platform_stats(info.context.viewer, district))
