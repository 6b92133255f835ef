"""The `GeoInput` shared by every `near:` argument."""

from __future__ import annotations

import strawberry

from core.geo import Circle
from resolvers.validation import check_coordinates, check_radius


@strawberry.input(description="A circle on the map: a point and a radius in kilometres.")
class GeoInput:
    latitude: float = strawberry.field(description="Latitude in degrees (-90..90).")
    longitude: float = strawberry.field(description="Longitude in degrees (-180..180).")
    radius_km: float = strawberry.field(description="Radius in km (0 < r ≤ 100).")

    def to_circle(self, field: str = "near") -> Circle:
        latitude, longitude = check_coordinates(self.latitude, self.longitude, prefix=f"{field}.")
        radius = check_radius(self.radius_km, field=f"{field}.radiusKm")
        assert latitude is not None and longitude is not None
        return Circle(latitude, longitude, radius)
