"""Service stations that keep their hours: weekly schedule, closures and the operating rate."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.station import StationClosure as StationClosureModel
from models.station import StationHours as StationHoursModel
from models.team import Team as TeamModel
from resolvers import station as rules
from schema.context import Info
from schema.relay import decode_id, decode_optional_id
from schema.servicepoint import ServicePoint, service_point_of
from schema.team import Team

if TYPE_CHECKING:
    StationGrouping: TypeAlias = rules.Grouping
else:
    StationGrouping = strawberry.enum(
        rules.Grouping, name="StationGrouping",
        description="How operating rates are summed: per STATION, DISTRICT, operating TEAM, "
                    "WEEK (starting Monday) or for the whole CITY.")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@strawberry.type(description="One weekly opening period of a station (Beijing time).")
class StationHours:
    weekday: int = strawberry.field(description="0 = Monday … 6 = Sunday.")
    opens: str = strawberry.field(description="Opening time, HH:MM.")
    closes: str = strawberry.field(description="Closing time, HH:MM (24:00 = midnight).")

    @classmethod
    def from_model(cls, model: StationHoursModel) -> StationHours:
        return cls(weekday=model.weekday, opens=_clock(model.opens_minute),
                   closes=_clock(model.closes_minute))


@strawberry.input(description="One weekly opening period.")
class StationHoursInput:
    weekday: int = strawberry.field(description="0 = Monday … 6 = Sunday.")
    opens: str = strawberry.field(description="HH:MM.")
    closes: str = strawberry.field(description="HH:MM, after opens (24:00 allowed).")


@strawberry.type(description="A date a station (or every station) is closed, e.g. a holiday.")
class StationClosure:
    model: strawberry.Private[StationClosureModel]
    date: date = strawberry.field(description="The closed date (Beijing).")
    reason: str = strawberry.field(description="Why, e.g. 春节.")

    @classmethod
    def from_model(cls, model: StationClosureModel) -> StationClosure:
        return cls(model=model, date=rules.day_of(model.day_number), reason=model.reason)

    @strawberry.field(description="The station; null when every station closes.")
    async def service_point(self, info: Info) -> ServicePoint | None:
        return await service_point_of(info, self.model.service_point_id)


@strawberry.type(description="Staffed slots ÷ scheduled slots for one station, district, team, "
                             "week or the city.")
class OperatingRate:
    point_id: strawberry.Private[int | None]
    team_id: strawberry.Private[int | None]
    key: str = strawberry.field(description="Station id, district, team id (0: no team), week's "
                                            "Monday (YYYY-MM-DD) or 0 for the city.")
    scheduled_slots: int = strawberry.field(description="Opening slots in the period, closed "
                                                        "dates left out.")
    staffed_slots: int = strawberry.field(description="Slots someone on duty was checked in for.")
    rate: float = strawberry.field(description="staffed ÷ scheduled (0–1).")
    below_target: bool = strawberry.field(description="rate < the report's target.")
    week: date | None = strawberry.field(description="The week's Monday (WEEK grouping).")

    @strawberry.field(description="The station (STATION grouping).")
    async def service_point(self, info: Info) -> ServicePoint | None:
        return await service_point_of(info, self.point_id)

    @strawberry.field(description="The operating team (TEAM grouping).")
    async def team(self, info: Info) -> Team | None:
        if self.team_id is None:
            return None
        model = await info.context.loaders.by_id(TeamModel).load(self.team_id)
        return Team.from_model(model) if model else None


@strawberry.type(description="Operating rates of the service stations over a period.")
class OperatingRateReport:
    target: float = strawberry.field(description="The target rate (STATION_OPERATING_TARGET, "
                                                 "95 % by default, unless asked otherwise).")
    rows: list[OperatingRate] = strawberry.field(description="One row per group.")

    @strawberry.field(description="The rows below the target (stations falling short, with "
                                  "STATION grouping).")
    def below_target(self) -> list[OperatingRate]:
        return [row for row in self.rows if row.below_target]


@strawberry.type
class StationQuery:
    @strawberry.field(description="Operating rate (staffed ÷ scheduled slots) of the service "
                                  "stations over Beijing dates [from, to), grouped; platform "
                                  "admins. One SQL statement.")
    async def station_operating_rates(
        self, info: Info,
        start: Annotated[date, strawberry.argument(name="from", description="First date.")],
        to: Annotated[date, strawberry.argument(description="The date after the last one.")],
        group_by: StationGrouping = rules.Grouping.STATION, target: float | None = None,
    ) -> OperatingRateReport:
        goal = rules.operating_target(target)
        rates = await rules.operating_rates(info.context.viewer, start, to,
                                            rules.Grouping(group_by))
        return OperatingRateReport(target=goal, rows=[OperatingRate(
            point_id=r.point_id, team_id=r.team_id, key=r.key, scheduled_slots=r.scheduled,
            staffed_slots=r.staffed, rate=round(r.rate, 4), below_target=r.rate < goal,
            week=r.week) for r in rates])


@strawberry.type
class StationMutation:
    @strawberry.mutation(description="Set a station's weekly opening schedule from today (its "
                                     "managers); earlier slots keep the schedule then in force.")
    async def set_station_hours(self, info: Info, service_point_id: strawberry.ID,
                                hours: list[StationHoursInput]) -> ServicePoint:
        point = await rules.do_set_hours(
            info.context.viewer, decode_id(service_point_id, "ServicePoint", "servicePointId"),
            [rules.HoursData(h.weekday, h.opens, h.closes) for h in hours])
        return ServicePoint.from_model(point)

    @strawberry.mutation(description="Close a station on a date (its managers), or every station "
                                     "without servicePointId (platform admins), e.g. a holiday.")
    async def add_station_closure(self, info: Info, date: date, reason: str,
                                  service_point_id: strawberry.ID | None = None
                                  ) -> StationClosure:
        closure = await rules.do_add_closure(
            info.context.viewer,
            decode_optional_id(service_point_id, "ServicePoint", "servicePointId"), date, reason)
        return StationClosure.from_model(closure)


__all__ = ["OperatingRate", "OperatingRateReport", "StationClosure", "StationHours",
           "StationMutation", "StationQuery"]
