"""Service points (服务阵地), the walking-time circle and coverage: types, inputs and fields.
Rules live in resolvers/servicepoint.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.activity import Activity as ActivityModel
from models.helprequest import HelpRequest as HelpRequestModel
from models.servicepoint import Community as CommunityModel
from models.servicepoint import ServicePoint as ServicePointModel
from models.servicepoint import ServicePointKind as ServicePointKindModel
from models.station import StationHours as StationHoursModel
from resolvers import servicepoint as rules
from resolvers import station
from resolvers.errors import BadInput
from resolvers.validation import check_aware
from schema.cachecontrol import cache_hint
from schema.context import Info
from schema.lazy import lazy_class
from schema.loaders import NamedLoader
from schema.relay import (
    BY_ID,
    Connection,
    Node,
    Order,
    build_connection,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    parse_cursor,
    register_node,
)
from schema.team import Team, team_loader

if TYPE_CHECKING:
    from schema.activity import Activity
    from schema.helprequest import HelpRequest
    from schema.station import StationHours

# Activities and help requests load after service points (schema/lazy.py).
ActivityRef = Annotated["Activity", strawberry.lazy("schema.activity")]
HelpRequestRef = Annotated["HelpRequest", strawberry.lazy("schema.helprequest")]
StationHoursRef = Annotated["StationHours", strawberry.lazy("schema.station")]

if TYPE_CHECKING:
    ServicePointKind: TypeAlias = ServicePointKindModel
else:
    ServicePointKind = strawberry.enum(
        ServicePointKindModel, name="ServicePointKind",
        description="Kind of service point: station, school, hub, library, park, community "
                    "centre.")

NEAREST_FIRST = Order(fields=(("distance_m", False),))


class OperatingNowLoader(NamedLoader[int, bool]):
    """Whether each station operates now: one statement for the whole list (the stations
    operating at this moment, as the 10-minute circle's `at` counts them)."""

    async def batch_load(self, point_ids: list[int]) -> list[bool]:
        operating = await station.operating_point_ids(datetime.now(UTC))
        return [i in operating for i in point_ids]


@strawberry.type(description="A service point (服务阵地): a fixed place where volunteers serve.")
class ServicePoint(Node):
    model: strawberry.Private[ServicePointModel]
    name: str = strawberry.field(description="Name.")
    kind: ServicePointKind = strawberry.field(description="Kind of place.")
    district: str = strawberry.field(description="District.")
    address: str | None = strawberry.field(description="Street address.")
    latitude: float = strawberry.field(description="Latitude in degrees.")
    longitude: float = strawberry.field(description="Longitude in degrees.")
    opening_hours: str = strawberry.field(description="Opening hours as text, e.g. 周一至周五 9:00–17:00.")
    distance_metres: float | None = strawberry.field(
        description="Straight-line distance from the `near` point; null outside `near` queries.")

    @classmethod
    def from_model(cls, model: ServicePointModel, distance: float | None = None) -> ServicePoint:
        return cls(db_id=model.id, model=model, name=model.name,
                   kind=ServicePointKindModel(model.kind), district=model.district,
                   address=model.address, latitude=model.latitude, longitude=model.longitude,
                   opening_hours=model.opening_hours, distance_metres=distance)

    @strawberry.field(description="Walking minutes from the `near` point at 80 m/min; null "
                                  "outside `near` queries.")
    def walking_minutes(self) -> float | None:
        if self.distance_metres is None:
            return None
        return round(self.distance_metres / rules.WALKING_METRES_PER_MINUTE, 1)

    @strawberry.field(description="The operating team, if any.")
    async def team(self, info: Info) -> Team | None:
        if self.model.team_id is None:
            return None
        row = await team_loader(info).load(self.model.team_id)
        return Team.from_model(row) if row else None

    @strawberry.field(description="The weekly opening schedule in force (Beijing time).")
    async def opening_schedule(self, info: Info) -> list[StationHoursRef]:
        rows = await info.context.loaders.grouped(
            "station.hours", StationHoursModel, "service_point_id", ("weekday", "opens_minute"),
            valid_until_day__isnull=True).load(self.db_id)
        return [lazy_class(StationHoursRef).from_model(row) for row in rows]

    @strawberry.field(description="Operating now: open by its schedule with someone checked in "
                                  "on duty for the current slot (batched for a list).")
    async def operating_now(self, info: Info) -> bool:
        return await info.context.loaders.named(OperatingNowLoader).load(self.db_id)


@strawberry.type(description="A community (社区) with its centre, the unit of coverage.")
class Community(Node):
    model: strawberry.Private[CommunityModel]
    name: str = strawberry.field(description="Name.")
    district: str = strawberry.field(description="District.")
    latitude: float = strawberry.field(description="Latitude of its centre.")
    longitude: float = strawberry.field(description="Longitude of its centre.")

    @classmethod
    def from_model(cls, model: CommunityModel) -> Community:
        return cls(db_id=model.id, model=model, name=model.name, district=model.district,
                   latitude=model.latitude, longitude=model.longitude)


@strawberry.type(description="Coverage of one district.")
class DistrictCoverage:
    district: str = strawberry.field(description="District.")
    communities: int = strawberry.field(description="Communities registered in it.")
    covered: int = strawberry.field(description="Communities with a point inside the circle.")
    share: float = strawberry.field(description="covered / communities (0 when none).")


@strawberry.type(description="The N-minute service circle coverage a city reports: share of "
                             "communities with a service point within N minutes' walk.")
class ServiceCoverage:
    minutes: int = strawberry.field(description="Walking minutes of the circle.")
    radius_metres: int = strawberry.field(description="minutes × 80 m.")
    communities: int = strawberry.field(description="Communities counted.")
    covered: int = strawberry.field(description="Communities covered.")
    share: float = strawberry.field(description="covered / communities (0 when none).")
    districts: list[DistrictCoverage] = strawberry.field(description="Per district.")


@strawberry.input(description="A walking-time circle: a point and minutes on foot (80 m/min).")
class WalkingCircleInput:
    lat: float = strawberry.field(description="Latitude in degrees (-90..90).")
    lng: float = strawberry.field(description="Longitude in degrees (-180..180).")
    minutes: int = strawberry.field(description="Walking minutes, 1–60 (10 → 800 m, 15 → 1,200 m).")


@strawberry.input(description="A new service point.")
class ServicePointInput:
    name: str = strawberry.field(description="Name.")
    kind: ServicePointKind = strawberry.field(description="Kind of place.")
    district: str = strawberry.field(description="District.")
    latitude: float = strawberry.field(description="-90..90.")
    longitude: float = strawberry.field(description="-180..180.")
    address: str | None = strawberry.field(default=None, description="Street address.")
    opening_hours: str | None = strawberry.field(default=None, description="Opening hours as text.")
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Operating team.")


@strawberry.input(description="A community with its centre point.")
class CommunityInput:
    name: str = strawberry.field(description="Name, unique in its district.")
    district: str = strawberry.field(description="District.")
    latitude: float = strawberry.field(description="-90..90.")
    longitude: float = strawberry.field(description="-180..180.")


async def service_point_of(info: Info, point_id: int | None) -> ServicePoint | None:
    if point_id is None:
        return None
    row = await info.context.loaders.by_id(ServicePointModel).load(point_id)
    return ServicePoint.from_model(row) if row else None


async def _node(info: Info, db_id: int) -> ServicePoint | None:
    return await service_point_of(info, db_id)


register_node("ServicePoint", _node)


def _circle(near: WalkingCircleInput):  # type: ignore[no-untyped-def]
    try:
        return rules.walking_circle(near.lat, near.lng, near.minutes)
    except BadInput as exc:  # name the input's own fields
        field = {"near.latitude": "near.lat", "near.longitude": "near.lng"}.get(exc.field,
                                                                                 exc.field)
        raise BadInput(field, exc.message.replace("Latitude", "lat").replace("Longitude", "lng")) \
            from None


@strawberry.type
class ServicePointQuery:
    @strawberry.field(description="Service points. With `near`: those within the walking circle "
                                  "(80 m/min, straight line), nearest first; else by id.",
                      metadata=cache_hint(300))
    async def service_points(
        self, info: Info, first: int | None = None, after: str | None = None,
        near: WalkingCircleInput | None = None, kind: ServicePointKind | None = None,
    ) -> Connection[ServicePoint]:
        kind_model = ServicePointKindModel(kind) if kind is not None else None
        if near is None:
            query = ServicePointModel.all()
            if kind_model is not None:
                query = query.filter(kind=kind_model)
            return await paginate(query, first, after, convert=ServicePoint.from_model,
                                  order=BY_ID)
        size = check_first(first)
        found = await rules.points_near(_circle(near), kind_model)
        total = len(found)
        if after:
            distance, point_id = parse_cursor(after, NEAREST_FIRST)
            found = [n for n in found if (n.distance_m, n.id) > (distance, point_id)]

        async def count() -> int:
            return total

        return build_connection(found[:size + 1], size, NEAREST_FIRST, count,
                                convert=lambda n: ServicePoint.from_model(n.point, n.distance_m),
                                started_after=bool(after))

    @strawberry.field(description="The N-minute service circle coverage: share of registered "
                                  "communities with a service point within N minutes' walk. "
                                  "With `at`: only stations operating then (open by their "
                                  "schedule, with someone checked in on duty).")
    async def service_coverage(self, info: Info, minutes: int = 15,
                               district: str | None = None,
                               at: datetime | None = None) -> ServiceCoverage:
        only = await station.operating_point_ids(check_aware(at, "at")) if at is not None \
            else None
        report = await rules.coverage(minutes, district, only)
        return ServiceCoverage(
            minutes=report.minutes, radius_metres=report.radius_m,
            communities=report.communities, covered=report.covered,
            share=round(report.share, 4),
            districts=[DistrictCoverage(district=d.district, communities=d.communities,
                                        covered=d.covered, share=round(d.share, 4))
                       for d in report.districts])


@strawberry.type
class ServicePointMutation:
    @strawberry.mutation(description="Add a service point (platform admins or admins of the "
                                     "operating team).")
    async def create_service_point(self, info: Info, input: ServicePointInput) -> ServicePoint:
        model = await rules.do_create_service_point(info.context.viewer, rules.ServicePointData(
            name=input.name, kind=ServicePointKindModel(input.kind), district=input.district,
            latitude=input.latitude, longitude=input.longitude, address=input.address,
            opening_hours=input.opening_hours,
            team_id=decode_optional_id(input.team_id, "Team", "teamId")))
        return ServicePoint.from_model(model)

    @strawberry.mutation(description="Register a community and its centre (platform admins); "
                                     "again with the same name moves its centre.")
    async def register_community(self, info: Info, input: CommunityInput) -> Community:
        model = await rules.do_create_community(info.context.viewer, input.name, input.district,
                                                input.latitude, input.longitude)
        return Community.from_model(model)

    @strawberry.mutation(description="Name the service point an activity uses (team admins); "
                                     "null clears it.")
    async def set_activity_service_point(
        self, info: Info, activity_id: strawberry.ID,
        service_point_id: strawberry.ID | None = None,
    ) -> ActivityRef:
        model = await rules.do_set_activity_service_point(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"),
            decode_optional_id(service_point_id, "ServicePoint", "servicePointId"))
        return lazy_class(ActivityRef).from_model(model)

    @strawberry.mutation(description="Name the service point nearest a help request (the "
                                     "requester); null clears it.")
    async def set_help_request_service_point(
        self, info: Info, help_request_id: strawberry.ID,
        service_point_id: strawberry.ID | None = None,
    ) -> HelpRequestRef:
        model = await rules.do_set_help_request_service_point(
            info.context.viewer, decode_id(help_request_id, "HelpRequest", "helpRequestId"),
            decode_optional_id(service_point_id, "ServicePoint", "servicePointId"))
        return lazy_class(HelpRequestRef).from_model(model)


def activity_service_point(info: Info, model: ActivityModel):  # type: ignore[no-untyped-def]
    return service_point_of(info, model.service_point_id)


def help_request_service_point(info: Info, model: HelpRequestModel):  # type: ignore[no-untyped-def]
    return service_point_of(info, model.service_point_id)


__all__ = ["Community", "ServicePoint", "ServicePointMutation", "ServicePointQuery",
           "activity_service_point", "help_request_service_point", "service_point_of"]
