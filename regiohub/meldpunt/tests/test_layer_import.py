"""Asset layers from files: the Wegenregister delivery and GeoJSON, refused with reasons."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation
from shapely.geometry import shape

from regiohub.core import geo
from regiohub.core.models import HistoryEntry
from regiohub.core.testing import needs_shared, shared_path
from regiohub.meldpunt import layers, routing
from regiohub.meldpunt.models import (
    AssetFeature,
    AssetLayer,
    ExternalBody,
    LayerKind,
    OwnerKind,
    RoutingRule,
)

pytestmark = pytest.mark.django_db

FIXTURE = ("data", "roads", "wegenregister-format-fixture", "valid.zip")


def _layer(kind: str = LayerKind.LINE, code: str = "roads") -> AssetLayer:
    return AssetLayer.objects.create(code=code, name="Wegen", kind=kind)


@needs_shared(*FIXTURE)
def test_the_wegenregister_fixture_imports_with_its_managers_from_lstorg(region):
    data = shared_path(*FIXTURE).read_bytes()
    layer = _layer()
    version = layers.import_layer(
        layer, data, file_format="wegenregister", source="valid.zip",
        licence="Modellicentie Gratis Hergebruik", attribution="© Digitaal Vlaanderen",
    )  # fmt: skip
    assert version.number == 1
    assert version.feature_count == 5
    features = {f.feature_id: f for f in AssetFeature.objects.filter(version=version)}
    assert set(features) == {"258977", "327783", "361901", "389633", "1114812"}
    motorway = features["389633"]
    assert motorway.manager_code == "AWV213"
    assert motorway.manager_name == "Agentschap Wegen en Verkeer - District Leuven"
    assert motorway.name == "A3 E40"  # national and European numbers
    assert features["258977"].manager_name == "Gemeente Hoegaarden"
    assert features["258977"].name == "Rommersom"
    assert features["327783"].manager_code == "24107"
    x, y = motorway.geometry["coordinates"][0]
    assert 188_000 < x < 190_000 and 163_000 < y < 165_000  # Lambert 72 metres, near Tienen
    layer.refresh_from_db()
    assert layer.current_version == version
    assert HistoryEntry.objects.filter(action="layer.imported", object_id=str(layer.pk)).exists()

    # BEHEER routes: a point 5 m from the motorway segment belongs to its AWV district.
    awv = ExternalBody.objects.create(
        code="awv-leuven", name="AWV District Leuven", email="a@example.org",
        manager_codes="AWV213",
    )  # fmt: skip
    kortrijk = region["KOR"]
    RoutingRule.objects.create(organisation=kortrijk, category_codes="pothole", layer=layer)
    start = motorway.geometry["coordinates"][0]
    lat, lon = geo.to_wgs84(start[0], start[1] + 5)
    found = routing.route(kortrijk.pk, "pothole", lat, lon)
    assert not found.uncertain
    assert found.owner_kind == OwnerKind.EXTERNAL
    assert found.external_body_id == awv.pk
    assert found.feature_name == "A3 E40"
    # Hoegaarden's own road is not a municipality of this region: uncertain, with the name.
    middle = shape(features["258977"].geometry).interpolate(0.5, normalized=True)
    lat, lon = geo.to_wgs84(middle.x, middle.y)
    found = routing.route(kortrijk.pk, "pothole", lat, lon)
    assert found.uncertain
    assert "Hoegaarden" in found.reason


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def in_english():
    with translation.override("en"):
        yield


@needs_shared(*FIXTURE)
def test_a_delivery_without_its_code_list_or_in_another_projection_is_refused(db, in_english):
    with zipfile.ZipFile(shared_path(*FIXTURE)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    without = {k: v for k, v in members.items() if k.lower() != "lstorg.dbf"}
    with pytest.raises(ValidationError, match=r"LstOrg\.dbf"):
        layers.read_wegenregister(_zip(**without))
    other = dict(members, **{"Wegsegment.prj": b'PROJCS["WGS_84_UTM_31N"]'})
    with pytest.raises(ValidationError, match="Lambert 72"):
        layers.read_wegenregister(_zip(**other))
    broken = dict(members, **{"Wegsegment.shp": members["Wegsegment.shp"][:150]})
    with pytest.raises(ValidationError):
        layers.read_wegenregister(_zip(**broken))
    with pytest.raises(ValidationError, match="zip"):
        layers.read_wegenregister(b"PK\x03\x04 not really a zip")


def _geojson(features: list, **extra) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features, **extra}).encode()


POINT = {
    "type": "Feature",
    "properties": {"id": "L1"},
    "geometry": {"type": "Point", "coordinates": [3.2649, 50.8275]},
}
LINE = {
    "type": "Feature",
    "properties": {"id": "W1", "name": "Leie", "manager": "V0012"},
    "geometry": {"type": "LineString", "coordinates": [[3.26, 50.83], [3.27, 50.835]]},
}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (json.dumps({"type": "Feature"}).encode(), "FeatureCollection"),
        (_geojson([]), "no features"),
        (_geojson([POINT]), "Feature 1 is a Point, but this layer holds lines"),
        (_geojson([LINE, {"type": "Feature", "geometry": None}]), "Feature 2"),
        (b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
         b'{"type":"LineString","coordinates":[[NaN,1],[2,3]]}}]}', "not valid JSON"),
        (_geojson([{**LINE, "geometry": {"type": "LineString",
                                         "coordinates": [[150000, 170000], [150010, 170000]]}}]),
         "crs member"),
        (_geojson([{**LINE, "properties": {"id": "W\x001"}}]), "NUL"),
        (_geojson([LINE], crs={"type": "name", "properties": {"name": "EPSG:2154"}}),
         "not supported"),
    ],
)  # fmt: skip
def test_a_bad_geojson_file_is_refused_naming_the_feature(db, data, message):
    layer = _layer()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        layers.import_layer(layer, data, file_format="geojson", source="x", licence="CC0")
    assert message in " ".join(error.value.messages)
    assert not layer.versions.exists()  # nothing half-written


def test_geojson_in_wgs84_is_kept_in_lambert_72_and_a_new_version_replaces_the_old(db):
    layer = _layer()
    first = layers.import_layer(
        layer, _geojson([LINE]), file_format="geojson", source="a", licence="CC0"
    )
    second = layers.import_layer(
        layer, _geojson([LINE, LINE]), file_format="geojson", source="b", licence="CC0"
    )
    assert (first.number, second.number) == (1, 2)
    layer.refresh_from_db()
    assert layer.current_version == second
    feature = AssetFeature.objects.filter(version=second).first()
    assert feature.manager_code == "V0012" and feature.name == "Leie"
    x, y = feature.geometry["coordinates"][0]
    expected = geo.from_wgs84(50.83, 3.26)
    assert abs(x - expected[0]) < 0.02 and abs(y - expected[1]) < 0.02
    back = layers.features_geojson(layer)
    assert back["features"][0]["geometry"]["coordinates"][0] == pytest.approx([3.26, 50.83])


def test_the_import_command_reads_a_file(tmp_path, db, capsys):
    layer = _layer(kind=LayerKind.POINT, code="lights")
    path = tmp_path / "lights.geojson"
    path.write_bytes(_geojson([POINT]))
    call_command(
        "meldpunt_import_layer", "lights", str(path), "--licence", "CC0", "--source", "test"
    )
    layer.refresh_from_db()
    assert layer.current_version.feature_count == 1
    assert "lights" in capsys.readouterr().out
