"""Where is a point? Municipality and district lookup and Belgian coordinate systems.

The boundaries come from the organisations and districts in the database (loaded from the
official GeoJSON by ``regiohub demo``), are prepared once per process and rebuilt when an
organisation or a district is saved or deleted in that process (bulk ``update()`` does not
notify: call :func:`invalidate`, or restart the workers).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
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
        self.geometries = np.array(geometries, dtype=object)
        self.tree = STRtree(geometries)

    def locate(self, point: Point) -> Location:
        # A region has a few dozen boundaries: one vectorised test against all prepared
        # geometries beats a tree lookup per point (see bench/core_geo.py).
        hits = np.flatnonzero(shapely.intersects(self.geometries, point))
        return self.locations[int(hits[0])] if len(hits) else OUTSIDE

    def metric(self) -> np.ndarray:
        """The boundaries in Lambert 72 metres (made on first use: only border checks need
        them)."""
        metric = getattr(self, "_metric", None)
        if metric is None:
            to_l72 = _transformer(WGS84, LAMBERT72)
            metric = np.array(
                [
                    shapely.transform(g, lambda xy: np.column_stack(to_l72.transform(*xy.T)))
                    for g in self.geometries
                ],
                dtype=object,
            )
            self._metric = metric
        return metric

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> list[Location]:
        points = shapely.points(lons, lats)
        found: list[Location] = [OUTSIDE] * len(points)
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        for p, g in zip(point_idx[::-1], geom_idx[::-1], strict=True):
            found[int(p)] = self.locations[int(g)]  # reversed: the first match wins
        return found


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
    """Forget the prepared boundaries (municipalities and districts); the next lookup
    reloads them."""
    global _index
    with _lock:
        _index = None
    invalidate_districts()


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a square around the point that holds every
    point within ``radius_m``: a cheap, indexable first filter before :func:`distance_m`."""
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.1, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def representative_point(organisation_id: int) -> tuple[float, float]:
    """A point (lat, lon) surely inside the municipality, for reports placed by address
    only. Raises KeyError for an organisation without a boundary."""
    index = _get_index()
    for location, geometry in zip(index.locations, index.geometries, strict=True):
        if location.organisation_id == organisation_id:
            point = geometry.representative_point()
            return round(point.y, 6), round(point.x, 6)
    raise KeyError(organisation_id)


def boundaries_geojson() -> dict:
    """The region's municipalities as a GeoJSON FeatureCollection (for maps)."""
    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind

    rows = Organisation.objects.filter(
        kind=OrganisationKind.MUNICIPALITY, boundary__isnull=False
    ).values_list("code", "nis_code", "name", "name_fr", "boundary")
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "nis_code": nis, "name": name, "name_fr": name_fr},
                "geometry": boundary,
            }
            for code, nis, name, name_fr, boundary in rows
        ],
    }


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


def municipalities_near(lat: float, lon: float, metres: float) -> list[tuple[Location, float]]:
    """The region's municipalities within ``metres`` of (lat, lon), nearest first, with
    their distance in metres (0 for the one containing the point): near a border the
    point may belong to either, as far as a tap on a map can tell."""
    if not valid_wgs84(lat, lon):
        return []
    index = _get_index()
    x, y = from_wgs84(lat, lon)
    distances = shapely.distance(index.metric(), Point(x, y))
    near = np.flatnonzero(distances <= metres)
    return sorted(
        ((index.locations[int(i)], float(distances[int(i)])) for i in near),
        key=lambda pair: pair[1],
    )


def municipalities_at(points: list[tuple[float, float]]) -> list[Location]:
    """:func:`municipality_at` for many ``(lat, lon)`` points at once (vectorised)."""
    if not points:
        return []
    coords = np.array(points, dtype=float)
    lats, lons = coords[:, 0], coords[:, 1]
    valid = np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180)
    found = _get_index().locate_many(np.where(valid, lons, 0.0), np.where(valid, lats, 0.0))
    return [loc if ok else OUTSIDE for loc, ok in zip(found, valid, strict=True)]


class DistrictIndex:
    """Districts prepared for point lookups, from ``(code, boundary)`` rows.

    A point on the border of two districts goes to the lower code. Rows without a
    boundary (a bucket such as ``<NIS5>WONB``) are never the answer. Migrations build one
    from their historical model; the product uses :func:`district_at`.
    """

    def __init__(self, rows: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        codes: list[str] = []
        geometries = []
        for code, boundary in sorted(rows, key=lambda row: row[0]):
            if not boundary:
                continue
            geometry = shape(boundary)
            shapely.prepare(geometry)
            codes.append(code)
            geometries.append(geometry)
        self.codes = np.array(codes, dtype=object)
        self.geometries = np.array(geometries, dtype=object)
        self.tree = STRtree(geometries)

    def __len__(self) -> int:
        return len(self.codes)

    def code_at(self, lat: float, lon: float) -> str:
        if not valid_wgs84(lat, lon):
            return ""
        hits = self.tree.query(Point(lon, lat), predicate="intersects")
        return str(self.codes[hits.min()]) if len(hits) else ""

    def codes_at(self, points: Sequence[tuple[float, float]]) -> list[str]:
        if not len(points):
            return []
        coords = np.array(points, dtype=float).reshape(-1, 2)
        lats, lons = coords[:, 0], coords[:, 1]
        valid = np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180)
        found = np.full(len(coords), "", dtype=object)
        if not len(self.codes):
            return found.tolist()
        shapes = shapely.points(np.where(valid, lons, 0.0), np.where(valid, lats, 0.0))
        # Candidates by bounding box, then the exact test on the prepared districts: for
        # many points this is a few times faster than the tree's own predicate.
        point_idx, district_idx = self.tree.query(shapes)
        inside = shapely.intersects(self.geometries[district_idx], shapes[point_idx])
        point_idx, district_idx = point_idx[inside], district_idx[inside]
        order = np.lexsort((district_idx, point_idx))  # per point, the lowest code first
        point_idx, district_idx = point_idx[order], district_idx[order]
        first = np.unique(point_idx, return_index=True)[1]
        found[point_idx[first]] = self.codes[district_idx[first]]
        found[~valid] = ""
        return found.tolist()


_district_index: DistrictIndex | None = None


def _get_district_index() -> DistrictIndex:
    global _district_index
    index = _district_index
    if index is None:
        with _lock:
            if _district_index is None:
                from regiohub.core.models import District

                _district_index = DistrictIndex(
                    District.objects.filter(boundary__isnull=False).values_list("code", "boundary")
                )
            index = _district_index
    return index


def invalidate_districts() -> None:
    """Forget the prepared districts; the next lookup reloads them."""
    global _district_index
    with _lock:
        _district_index = None


def district_at(lat: float, lon: float) -> str:
    """The code of the district (``34022W07``) containing (lat, lon), or ``""`` outside
    every district and for invalid coordinates.

    The answer is where the point lies: the districts follow the municipal borders more
    closely than the (coarser) municipal boundaries of :func:`municipality_at`, so near a
    border the district may belong to the neighbouring municipality.
    """
    return _get_district_index().code_at(lat, lon)


def districts_at(points: Sequence[tuple[float, float]]) -> list[str]:
    """:func:`district_at` for many ``(lat, lon)`` points at once (vectorised)."""
    return _get_district_index().codes_at(points)


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
