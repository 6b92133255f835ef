"""Service points (服务阵地), the walking-time circle and the coverage statistic.

Decisions where the issue was silent (docs/training.md):
- Walking speed is 80 m per minute (4.8 km/h, the planning figure of the "15-minute
  community life circle" guidelines), straight-line (great-circle) distance: a 10-minute
  circle is 800 m, a 15-minute one 1,200 m. `minutes` is 1–60.
- Coverage counts communities (社区, registered with their centre point by platform admins):
  a community is covered when a service point lies within the walking circle of its centre.
- Service points are managed by platform admins, or by admins of the operating team.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from core.geo import Circle, distance_km
from models.activity import Activity
from models.helprequest import HelpRequest
from models.servicepoint import Community, ServicePoint, ServicePointKind
from models.team import Team
from resolvers.activity import check_activity_admin
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden, NotFound
from resolvers.team import is_team_admin
from resolvers.validation import NAME_MAX, SHORT_TEXT_MAX, check_coordinates, check_optional_text, check_text

WALKING_METRES_PER_MINUTE = 80
MINUTES_MAX = 60


@dataclass
class ServicePointData:
    name: str
    kind: ServicePointKind
    district: str
    latitude: float
    longitude: float
    address: str | None = None
    opening_hours: str | None = None
    team_id: int | None = None


@dataclass(frozen=True)
class NearPoint:
    point: ServicePoint
    distance_m: float

    @property
    def id(self) -> int:
        return self.point.id


@dataclass(frozen=True)
class DistrictCoverage:
    district: str
    communities: int
    covered: int

    @property
    def share(self) -> float:
        return self.covered / self.communities if self.communities else 0.0


@dataclass(frozen=True)
class Coverage:
    minutes: int
    radius_m: int
    districts: list[DistrictCoverage]

    @property
    def communities(self) -> int:
        return sum(d.communities for d in self.districts)

    @property
    def covered(self) -> int:
        return sum(d.covered for d in self.districts)

    @property
    def share(self) -> float:
        return self.covered / self.communities if self.communities else 0.0


def check_minutes(minutes: int, field: str = "near.minutes") -> int:
    if not 1 <= minutes <= MINUTES_MAX:
        raise BadInput(field, f"minutes must be between 1 and {MINUTES_MAX}.")
    return minutes


def walking_circle(latitude: float, longitude: float, minutes: int,
                   prefix: str = "near.") -> Circle:
    lat, lon = check_coordinates(latitude, longitude, prefix=prefix)
    assert lat is not None and lon is not None
    radius_km = check_minutes(minutes, f"{prefix}minutes") * WALKING_METRES_PER_MINUTE / 1000
    return Circle(lat, lon, radius_km)


async def points_near(circle: Circle, kind: ServicePointKind | None = None) -> list[NearPoint]:
    """Bounding box on the (latitude, longitude) index, exact distance here; nearest first."""
    query = ServicePoint.filter(**circle.filters())
    if kind is not None:
        query = query.filter(kind=kind)
    found = []
    for point in await query:
        metres = near_distance(circle, point.latitude, point.longitude)
        if metres is not None:
            found.append(NearPoint(point, metres))
    found.sort(key=lambda near: (near.distance_m, near.point.id))
    return found


def near_distance(circle: Circle, latitude: float, longitude: float) -> float | None:
    """Metres (to 0.1 m) from the circle's centre, None outside it: the exact rule of
    `points_near`, also finishing the compiled `servicePoints(near:)` (schema/reads/roots.py)."""
    metres = distance_km(circle.latitude, circle.longitude, latitude, longitude) * 1000
    return round(metres, 1) if metres <= circle.radius_km * 1000 else None


async def coverage(minutes: int, district: str | None = None,
                   only_points: set[int] | None = None) -> Coverage:
    """Share of communities with a service point inside their walking circle. Two statements
    (communities, point coordinates); points sorted by latitude, each community looks only at
    the latitude band of its circle. `only_points`: count just these (the stations operating
    at a given time, resolvers/station.py)."""
    check_minutes(minutes, "minutes")
    radius_km = minutes * WALKING_METRES_PER_MINUTE / 1000
    communities = Community.all()
    if district:
        communities = communities.filter(
            district=check_text(district, "district", max_len=NAME_MAX))
    rows = await communities.values_list("district", "latitude", "longitude")
    candidates = ServicePoint.all() if only_points is None else ServicePoint.filter(
        id__in=sorted(only_points))
    points = sorted(await candidates.values_list("latitude", "longitude"))
    latitudes = [p[0] for p in points]
    lat_delta = math.degrees(radius_km / 6371.0088)
    tallies: dict[str, list[int]] = {}
    for name, lat, lon in rows:
        tally = tallies.setdefault(str(name), [0, 0])
        tally[0] += 1
        circle = Circle(float(lat), float(lon), radius_km)
        start = bisect.bisect_left(latitudes, lat - lat_delta)
        end = bisect.bisect_right(latitudes, lat + lat_delta)
        if any(circle.contains(p_lat, p_lon) for p_lat, p_lon in points[start:end]):
            tally[1] += 1
    return Coverage(minutes, minutes * WALKING_METRES_PER_MINUTE,
                    [DistrictCoverage(name, n, c) for name, (n, c) in sorted(tallies.items())])


async def _may_manage(viewer: Viewer, team_id: int | None) -> bool:
    if viewer.is_platform_admin:
        return True
    if team_id is None:
        return False
    team = await Team.get_or_none(id=team_id)
    return team is not None and await is_team_admin(viewer, team)


async def do_create_service_point(viewer: Viewer, data: ServicePointData) -> ServicePoint:
    viewer.require_active()
    if data.team_id is not None and not await Team.exists(id=data.team_id):
        raise NotFound("Team")
    if not await _may_manage(viewer, data.team_id):
        raise Forbidden("Platform admins, or admins of the operating team, add service points.")
    name = check_text(data.name, "name", max_len=SHORT_TEXT_MAX)
    district = check_text(data.district, "district", max_len=NAME_MAX)
    latitude, longitude = check_coordinates(data.latitude, data.longitude)
    return await ServicePoint.create(
        name=name, kind=data.kind, district=district, latitude=latitude, longitude=longitude,
        address=check_optional_text(data.address, "address", max_len=SHORT_TEXT_MAX),
        opening_hours=check_optional_text(data.opening_hours, "openingHours",
                                          max_len=SHORT_TEXT_MAX) or "",
        team_id=data.team_id)


async def do_create_community(viewer: Viewer, name: str, district: str, latitude: float,
                              longitude: float) -> Community:
    viewer.require_active()
    if not viewer.is_platform_admin:
        raise Forbidden("Only platform admins register communities.")
    clean_name = check_text(name, "name", max_len=100)
    clean_district = check_text(district, "district", max_len=NAME_MAX)
    lat, lon = check_coordinates(latitude, longitude)
    existing = await Community.get_or_none(district=clean_district, name=clean_name)
    if existing is not None:  # registering again moves its centre (idempotent by name)
        await Community.filter(id=existing.id).update(latitude=lat, longitude=lon)
        await existing.refresh_from_db()
        return existing
    return await Community.create(name=clean_name, district=clean_district, latitude=lat,
                                  longitude=lon)


async def _point(point_id: int | None) -> int | None:
    if point_id is None:
        return None
    if not await ServicePoint.exists(id=point_id):
        raise NotFound("Service point")
    return point_id


async def do_set_activity_service_point(viewer: Viewer, activity_id: int,
                                        point_id: int | None) -> Activity:
    """The activity's team admins name (or clear, with null) the service point it uses."""
    activity = await check_activity_admin(viewer, activity_id)
    await Activity.filter(id=activity.id).update(service_point_id=await _point(point_id))
    await activity.refresh_from_db()
    return activity


async def do_set_help_request_service_point(viewer: Viewer, request_id: int,
                                            point_id: int | None) -> HelpRequest:
    """The requester (or a platform admin) names the service point nearest the need."""
    volunteer = viewer.require()
    request = await HelpRequest.get_or_none(id=request_id)
    if request is None:
        raise NotFound("Help request")
    if request.created_by_id != volunteer.id and not viewer.is_platform_admin:
        raise Forbidden("Only the requester can change this help request.")
    await HelpRequest.filter(id=request.id).update(service_point_id=await _point(point_id))
    await request.refresh_from_db()
    return request
