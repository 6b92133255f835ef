"""Distances on the earth's surface, the same on every backend.

SQL narrows candidates with a bounding box on plain latitude/longitude columns (indexable,
portable); the exact great-circle distance is then checked in Python. The compiled
`servicePoints(near:)` (schema/reads/roots.py `_metres`) repeats `distance_km` in PostgreSQL
operation for operation: change one, change the other."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_km: float

    def bounding_box(self) -> tuple[float, float, float, float]:
        """(min_lat, max_lat, min_lon, max_lon) that contains the whole circle."""
        lat_delta = math.degrees(self.radius_km / EARTH_RADIUS_KM)
        cos_lat = max(math.cos(math.radians(self.latitude)), 1e-6)
        lon_delta = min(180.0, math.degrees(self.radius_km / (EARTH_RADIUS_KM * cos_lat)))
        return (self.latitude - lat_delta, self.latitude + lat_delta,
                self.longitude - lon_delta, self.longitude + lon_delta)

    def contains(self, latitude: float | None, longitude: float | None) -> bool:
        if latitude is None or longitude is None:
            return False
        return distance_km(self.latitude, self.longitude, latitude, longitude) <= self.radius_km

    def filters(self, prefix: str = "") -> dict[str, float]:
        """Tortoise filter kwargs for the bounding box."""
        min_lat, max_lat, min_lon, max_lon = self.bounding_box()
        return {
            f"{prefix}latitude__gte": min_lat,
            f"{prefix}latitude__lte": max_lat,
            f"{prefix}longitude__gte": min_lon,
            f"{prefix}longitude__lte": max_lon,
        }


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
