"""Platform statistics for dashboards (platform admins: all; team admins: their district)."""

from __future__ import annotations

import strawberry

from resolvers import stats as rules
from resolvers.servicedesk import STATS_WINDOW_DAYS, FirstReplyFigures, first_reply_hours
from schema.context import Info


@strawberry.type(description="One group of a breakdown: a key, how many, and hours where it applies.")
class Bucket:
    key: str = strawberry.field(description="District, gender, age band, team type or month.")
    count: int = strawberry.field(description="People, teams or approved records in the group.")
    hours: float | None = strawberry.field(description="Approved hours of the group, if relevant.")


@strawberry.type(description="The service desk's first-reply figure over the tickets opened in "
                             "the last windowDays days.")
class ServiceDeskStats:
    window_days: int = strawberry.field(description="The window, in days (30).")
    first_reply_hours: float = strawberry.field(
        description="The promise N: a first staff reply within N hours "
                    "(SERVICE_DESK_FIRST_REPLY_HOURS, default 4).")
    tickets: int = strawberry.field(description="Tickets opened in the window.")
    counted: int = strawberry.field(
        description="Of those, the ones already decided: answered, or unanswered past N hours.")
    answered_within: int = strawberry.field(description="Answered within N hours.")
    share_answered_within: float | None = strawberry.field(
        description="answeredWithin / counted, 0–1; null when nothing is counted yet.")
    median_first_reply_minutes: float | None = strawberry.field(
        description="Median minutes from opening to the first staff reply, over the answered "
                    "tickets; null when none is answered.")

    @classmethod
    def from_result(cls, result: FirstReplyFigures | None) -> ServiceDeskStats:
        if result is None:  # a cached entry from before the service desk: nothing counted
            return cls(window_days=STATS_WINDOW_DAYS, first_reply_hours=first_reply_hours(),
                       tickets=0, counted=0, answered_within=0, share_answered_within=None,
                       median_first_reply_minutes=None)
        return cls(window_days=result.window_days, first_reply_hours=result.promised_hours,
                   tickets=result.tickets, counted=result.counted,
                   answered_within=result.within, share_answered_within=result.share_within,
                   median_first_reply_minutes=result.median_first_reply_minutes)


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
    service_desk: ServiceDeskStats = strawberry.field(
        description="Online service desk: share of tickets with a first reply within N hours, "
                    "and the median first-reply time (tickets of the district, or all).")

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
            service_desk=ServiceDeskStats.from_result(result.service_desk),
        )


@strawberry.type
class StatsQuery:
    @strawberry.field(description="Statistics, all districts or one (platform admins: any; "
                      "team admins: their teams' district).")
    async def stats(self, info: Info, district: str | None = None) -> PlatformStats:
        return PlatformStats.from_result(await rules.platform_stats(info.context.viewer, district))
