"""Where is a point? Municipality lookup and Belgian coordinate systems.

The boundaries come from the organisations in the database (loaded from the official
GeoJSON by the demo or by ``regiohub import boundaries``), are prepared once per process and
rebuilt only when an organisation changes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache

import shapely
from pyproj import Transformer
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

WGS84 = "EPSG:4326"
LAMBERT72 = "EPSG:31370"
LAMBERT2008 = "EPSG:3812"


@dataclass(frozen=True)
class Location:
    """The answer to "where is this point": a municipality, or outside the region."""

    organisation_id: int | None
    nis_code: str | None
    name: str | None

    @property
    def inside(self) -> bool:
        return self.organisation_id is not None


OUTSIDE = Location(organisation_id=None, nis_code=None, name=None)


class _Index:
    def __init__(self) -> None:
        from regiohub.core.models import Organisation
        from regiohub.core.models.organisation import OrganisationKind

        rows = Organisation.objects.filter(
            kind=OrganisationKind.MUNICIPALITY, boundary__isnull=False
        ).values_list("pk", "nis_code", "name", "boundary")
        self.locations: list[Location] = []
        geometries = []
        for pk, nis, name, boundary in rows:
            geometry = shape(boundary)
            shapely.prepare(geometry)
            geometries.append(geometry)
            self.locations.append(Location(pk, nis, name))
        self.geometries = geometries
        self.tree = STRtree(geometries)

    def locate(self, point: Point) -> Location:
        for i in self.tree.query(point, predicate="intersects"):
            return self.locations[int(i)]
        return OUTSIDE


_lock = threading.Lock()
_index: _Index | None = None


def _get_index() -> _Index:
    global _index
    index = _index
    if index is None:
        with _lock:
            if _index is None:
                _index = _Index()
            index = _index
    return index


def invalidate() -> None:
    """Forget the prepared boundaries; the next lookup reloads them."""
    global _index
    with _lock:
        _index = None


def valid_wgs84(lat: float, lon: float) -> bool:
    return (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )


def municipality_at(lat: float, lon: float) -> Location:
    """The municipality of the region containing (lat, lon), or :data:`OUTSIDE`.

    Points on a shared border go to the first municipality that touches them. Invalid
    coordinates are outside too; callers that must tell them apart use :func:`valid_wgs84`.
    """
    if not valid_wgs84(lat, lon):
        return OUTSIDE
    return _get_index().locate(Point(lon, lat))


@lru_cache(maxsize=8)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_wgs84(x: float, y: float, crs: str = LAMBERT72) -> tuple[float, float]:
    """Belgian Lambert (72 by default, or 2008) metres to WGS84 ``(lat, lon)``."""
    lon, lat = _transformer(crs, WGS84).transform(x, y)
    return lat, lon


def from_wgs84(lat: float, lon: float, crs: str = LAMBERT72) -> tuple[float, float]:
    """WGS84 ``(lat, lon)`` to Belgian Lambert ``(x, y)`` metres."""
    return _transformer(WGS84, crs).transform(lon, lat)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine); accurate to well under 1 m at city scale."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
