"""Asset layers from files: GeoJSON, and the Flemish road register's shapefile delivery.

An import reads the whole file first and refuses it with the feature and the reason when
anything is wrong (a geometry of the wrong kind, coordinates that are not coordinates, a
NUL byte in a name); only a file read without fault becomes a new version, in one
transaction, and the layer's current version. Geometries are kept in Lambert 72 metres.

The Wegenregister delivery (``Wegsegment.shp/.dbf/.shx/.prj`` with ``BEHEER``, the road
manager's code, and ``LstOrg.dbf``, the list of those codes) is read with pyshp from the
zip as delivered, without unpacking it to disk. A segment's name is its national road
number (``AttNationweg``, e.g. N43) with its European number, else its street names.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import struct
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapefile
import shapely
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from shapely.geometry import LineString, MultiLineString, mapping, shape

from regiohub.core import geo, history
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import (
    AssetFeature,
    AssetLayer,
    LayerFormat,
    LayerKind,
    LayerVersion,
)

MAX_FILE_BYTES = 300 * 1024 * 1024
MAX_FEATURES = 500_000
#: A zip may not unpack to more than this (a zip bomb is refused, not unpacked).
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024

GEOMETRY_TYPES = {
    LayerKind.LINE: ("LineString", "MultiLineString"),
    LayerKind.POINT: ("Point", "MultiPoint"),
    LayerKind.AREA: ("Polygon", "MultiPolygon"),
}


@dataclass(frozen=True)
class Feature:
    feature_id: str
    name: str
    manager_code: str
    manager_name: str
    geometry: Any  # shapely, Lambert 72


def _text(value: Any, where: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        raise ValidationError(_("%(where)s holds a NUL character.") % {"where": where})
    return text[:limit]


def _kind_label(kind: str) -> str:
    return {
        LayerKind.LINE: _("lines"),
        LayerKind.POINT: _("points"),
        LayerKind.AREA: _("areas"),
    }[LayerKind(kind)]


# -- GeoJSON --------------------------------------------------------------------------------

_CRS_NAMES = {
    geo.LAMBERT72: ("31370",),
    geo.LAMBERT2008: ("3812",),
    geo.WGS84: ("4326", "CRS84"),
}


def _crs_of(collection: dict[str, Any]) -> str:
    """RFC 7946 GeoJSON is longitude/latitude; the older ``crs`` member may say Lambert."""
    crs = collection.get("crs")
    if crs is None:
        return geo.WGS84
    name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
    for code, markers in _CRS_NAMES.items():
        if any(name.endswith(marker) or f"EPSG::{marker}" in name for marker in markers):
            return code
    raise ValidationError(
        _("The file's coordinate system (%(crs)s) is not supported: use WGS84 or Lambert 72.")
        % {"crs": name[:80] or "?"}
    )


def _reject_constant(value: str) -> Any:
    raise ValueError(value)


def read_geojson(
    data: bytes,
    kind: str,
    *,
    id_property: str = "id",
    name_property: str = "name",
    manager_property: str = "manager",
    manager_name_property: str = "manager_name",
) -> list[Feature]:
    """The features of a GeoJSON FeatureCollection, checked and in Lambert 72."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES >> 20}
        )
    try:
        text = data.decode("utf-8-sig")
        collection = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as error:
        raise ValidationError(
            _("The file is not UTF-8 text (byte %(at)d).") % {"at": error.start}
        ) from error
    except ValueError as error:
        raise ValidationError(
            _("The file is not valid JSON: %(error)s") % {"error": str(error)[:200]}
        ) from error
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise ValidationError(_("The file is not a GeoJSON FeatureCollection."))
    items = collection.get("features")
    if not isinstance(items, list) or not items:
        raise ValidationError(_("The file holds no features."))
    if len(items) > MAX_FEATURES:
        raise ValidationError(
            _("The file holds more than %(count)d features.") % {"count": MAX_FEATURES}
        )
    crs = _crs_of(collection)
    allowed = GEOMETRY_TYPES[LayerKind(kind)]
    features: list[Feature] = []
    for number, item in enumerate(items, start=1):
        where = _("Feature %(number)d") % {"number": number}
        if not isinstance(item, dict) or item.get("type") != "Feature":
            raise ValidationError(_("%(where)s is not a GeoJSON Feature.") % {"where": where})
        geometry = item.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in allowed:
            found = geometry.get("type") if isinstance(geometry, dict) else _("no geometry")
            raise ValidationError(
                _("%(where)s is a %(found)s, but this layer holds %(kind)s.")
                % {"where": where, "found": str(found)[:40], "kind": _kind_label(kind)}
            )
        try:
            shaped = shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise ValidationError(
                _("%(where)s has a geometry that cannot be read: %(error)s")
                % {"where": where, "error": str(error)[:200]}
            ) from error
        shaped = _to_lambert(shaped, crs, where)
        properties = item.get("properties") or {}
        if not isinstance(properties, dict):
            raise ValidationError(
                _("%(where)s has properties that are not an object.") % {"where": where}
            )
        feature_id = properties.get(id_property, item.get("id"))
        features.append(
            Feature(
                feature_id=_text(feature_id, where, 100) or str(number),
                name=_text(properties.get(name_property), where, 200),
                manager_code=_text(properties.get(manager_property), where, 40),
                manager_name=_text(properties.get(manager_name_property), where, 200),
                geometry=shaped,
            )
        )
    return features


def _to_lambert(shaped: Any, crs: str, where: str) -> Any:
    coords = shapely.get_coordinates(shaped)
    if not len(coords) or not np.isfinite(coords).all():
        raise ValidationError(_("%(where)s has no valid coordinates.") % {"where": where})
    if crs == geo.WGS84:
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            raise ValidationError(
                _(
                    "%(where)s has coordinates that are not longitude and latitude; "
                    "a file in Lambert 72 must say so in its crs member."
                )
                % {"where": where}
            )
        transformer = geo._transformer(geo.WGS84, geo.LAMBERT72)
    elif crs == geo.LAMBERT2008:
        transformer = geo._transformer(geo.LAMBERT2008, geo.LAMBERT72)
    else:
        transformer = None
    if transformer is not None:
        shaped = shapely.transform(
            shaped, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    if not shaped.is_valid:
        raise ValidationError(
            _("%(where)s has an invalid geometry: %(why)s")
            % {"where": where, "why": shapely.is_valid_reason(shaped)[:200]}
        )
    return shaped


# -- Wegenregister --------------------------------------------------------------------------


def _member(archive: zipfile.ZipFile, name: str, *, required: bool = True) -> bytes | None:
    """A file of the delivery by name, in any folder and any case."""
    wanted = name.lower()
    for info in archive.infolist():
        if info.filename.replace("\\", "/").rsplit("/", 1)[-1].lower() == wanted:
            return archive.read(info)
    if required:
        raise ValidationError(
            _("The delivery has no %(name)s: is this the Wegenregister's shapefile download?")
            % {"name": name}
        )
    return None


def _encoding(archive: zipfile.ZipFile, stem: str) -> str:
    cpg = _member(archive, f"{stem}.cpg", required=False)
    if cpg:
        name = cpg.decode("ascii", "replace").strip().lower()
        return {"65001": "utf-8", "utf8": "utf-8", "1252": "cp1252"}.get(name, name or "cp1252")
    return "cp1252"  # the register's dBase files are Windows-1252


def _records(dbf: bytes, encoding: str) -> Iterator[dict[str, Any]]:
    reader = shapefile.Reader(dbf=io.BytesIO(dbf), encoding=encoding, encodingErrors="replace")
    for record in reader.iterRecords():
        yield record.as_dict()


def read_wegenregister(data: bytes) -> list[Feature]:
    """The road segments of a Wegenregister delivery (zip), with their managers."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES >> 20}
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise ValidationError(_("The zip file unpacks to more than 2 GB: refused."))
        return _read_delivery(archive)
    except zipfile.BadZipFile as error:
        raise ValidationError(
            _("The file is not a zip file: %(error)s") % {"error": error}
        ) from error
    except (shapefile.ShapefileException, struct.error, OSError, KeyError) as error:
        raise ValidationError(
            _("The delivery cannot be read: %(error)s") % {"error": str(error)[:200]}
        ) from error


def _read_delivery(archive: zipfile.ZipFile) -> list[Feature]:
    prj = (_member(archive, "Wegsegment.prj", required=False) or b"").decode("latin-1")
    if prj and not any(marker in prj for marker in ("Lambert_1972", "Lambert 72", "31370")):
        raise ValidationError(
            _("Wegsegment.prj is not Belgian Lambert 72, as the Wegenregister delivers it.")
        )
    encoding = _encoding(archive, "Wegsegment")
    managers = {
        str(row.get("ORG", "")).strip(): str(row.get("LBLORG", "")).strip()
        for row in _records(_member(archive, "LstOrg.dbf"), _encoding(archive, "LstOrg"))  # type: ignore[arg-type]
    }
    numbers: dict[str, list[str]] = {}
    for stem, column in (("AttNationweg", "IDENT2"), ("AttEuropweg", "EUNUMMER")):
        dbf = _member(archive, f"{stem}.dbf", required=False)
        if dbf:
            for row in _records(dbf, _encoding(archive, stem)):
                ident = str(row.get(column) or "").strip()
                if ident:
                    numbers.setdefault(str(row.get("WS_OIDN")), []).append(ident)
    with warnings.catch_warnings():
        # Deliveries often declare a shorter file length in the header than they have.
        warnings.simplefilter("ignore")
        reader = shapefile.Reader(
            shp=io.BytesIO(_member(archive, "Wegsegment.shp")),  # type: ignore[arg-type]
            shx=io.BytesIO(_member(archive, "Wegsegment.shx")),  # type: ignore[arg-type]
            dbf=io.BytesIO(_member(archive, "Wegsegment.dbf")),  # type: ignore[arg-type]
            encoding=encoding,
            encodingErrors="replace",
        )
        fields = {f[0] for f in reader.fields}
        missing = {"WS_OIDN", "BEHEER"} - fields
        if missing:
            raise ValidationError(
                _("Wegsegment.dbf lacks the column(s) %(columns)s.")
                % {"columns": ", ".join(sorted(missing))}
            )
        if len(reader) > MAX_FEATURES:
            raise ValidationError(
                _("The delivery holds more than %(count)d segments.") % {"count": MAX_FEATURES}
            )
        features: list[Feature] = []
        for number, item in enumerate(reader.iterShapeRecords(), start=1):
            row = item.record.as_dict()
            where = _("Segment %(number)d (WS_OIDN %(id)s)") % {
                "number": number,
                "id": row.get("WS_OIDN"),
            }
            geometry = _polyline(item.shape, where)
            code = _text(row.get("BEHEER"), where, 40)
            segment = str(row.get("WS_OIDN"))
            streets = [_text(row.get(c), where, 100) for c in ("LSTRNM", "RSTRNM") if c in fields]
            streets = list(dict.fromkeys(s for s in streets if s))
            name = " ".join(dict.fromkeys(numbers.get(segment, []))) or " / ".join(streets)
            features.append(
                Feature(
                    feature_id=_text(segment, where, 100),
                    name=name[:200],
                    manager_code=code,
                    manager_name=managers.get(code) or _text(row.get("LBLBEHEER"), where, 200),
                    geometry=geometry,
                )
            )
    if not features:
        raise ValidationError(_("Wegsegment.shp holds no segments."))
    return features


def _polyline(shp: Any, where: str) -> Any:
    points = [(p[0], p[1]) for p in shp.points]
    if not points or not all(math.isfinite(c) for p in points for c in p):
        raise ValidationError(_("%(where)s has no valid line.") % {"where": where})
    parts = [*list(shp.parts), len(points)]
    lines = [points[a:b] for a, b in itertools.pairwise(parts) if b - a >= 2]
    if not lines:
        raise ValidationError(_("%(where)s has no valid line.") % {"where": where})
    return LineString(lines[0]) if len(lines) == 1 else MultiLineString(lines)


# -- import -------------------------------------------------------------------------------


def _rounded(geometry: Any) -> dict[str, Any]:
    """GeoJSON of the geometry to the centimetre: what a layer needs, in less space."""
    return mapping(shapely.transform(geometry, lambda xy: np.round(xy, 2)))


def read(data: bytes, file_format: str, kind: str, **options: str) -> list[Feature]:
    if file_format == LayerFormat.WEGENREGISTER:
        if kind != LayerKind.LINE:
            raise ValidationError(_("The Wegenregister holds road lines: choose a line layer."))
        return read_wegenregister(data)
    if file_format == LayerFormat.GEOJSON:
        return read_geojson(data, kind, **{k: v for k, v in options.items() if v})
    raise ValidationError(_("Unknown file format: %(format)s") % {"format": str(file_format)[:40]})


@transaction.atomic
def import_layer(
    layer: AssetLayer,
    data: bytes,
    *,
    file_format: str,
    source: str,
    licence: str,
    attribution: str = "",
    actor: Any = None,
    **options: str,
) -> LayerVersion:
    """Read ``data`` and make it the layer's new current version (all or nothing)."""
    if not source.strip() or not licence.strip():
        raise ValidationError(_("Say where the file comes from and under which licence."))
    for value in (source, licence, attribution):
        if "\x00" in value:
            raise ValidationError(_("The source, licence or attribution holds a NUL character."))
    features = read(data, file_format, layer.kind, **options)
    layer = AssetLayer.objects.select_for_update().get(pk=layer.pk)
    number = (layer.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = LayerVersion.objects.create(
        layer=layer,
        number=number,
        file_format=file_format,
        source=source.strip()[:300],
        licence=licence.strip()[:200],
        attribution=attribution.strip()[:500],
        sha256=hashlib.sha256(data).hexdigest(),
        feature_count=len(features),
        imported_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    AssetFeature.objects.bulk_create(
        (
            AssetFeature(
                version=version,
                feature_id=f.feature_id,
                name=f.name,
                manager_code=f.manager_code,
                manager_name=f.manager_name,
                geometry=_rounded(f.geometry),
            )
            for f in features
        ),
        batch_size=2000,
    )
    before = {"version": layer.current_version.number if layer.current_version else None}
    layer.current_version = version
    layer.save(update_fields=["current_version", "updated_at"])
    history.record(
        layer,
        Action.LAYER_IMPORTED,
        actor=actor,
        before=before,
        after={"version": number, "features": len(features), "sha256": version.sha256},
        reason=source.strip()[:300],
    )
    return version


def features_geojson(layer: AssetLayer) -> dict[str, Any]:
    """The layer's current features as WGS84 GeoJSON (for maps)."""
    to_wgs84 = geo._transformer(geo.LAMBERT72, geo.WGS84)
    features = []
    if layer.current_version_id:
        for fid, name, manager, geometry in AssetFeature.objects.filter(
            version_id=layer.current_version_id
        ).values_list("feature_id", "name", "manager_name", "geometry"):
            shaped = shapely.transform(
                shape(geometry),
                lambda xy: np.round(np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])), 6),
            )
            features.append(
                {
                    "type": "Feature",
                    "id": fid,
                    "properties": {"name": name, "manager": manager},
                    "geometry": mapping(shaped),
                }
            )
    return {"type": "FeatureCollection", "features": features}
