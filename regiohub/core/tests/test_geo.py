from __future__ import annotations

import json

import pytest

from regiohub.core import geo
from regiohub.core.demo.region import BOUNDARIES
from regiohub.core.testing import shared_path

pytestmark = pytest.mark.django_db


def test_kortrijk_city_centre_is_kortrijk(region):
    location = geo.municipality_at(50.8275, 3.2649)
    assert location.inside
    assert location.nis_code == "34022"
    assert location.organisation_id == region["KOR"].pk


@pytest.mark.parametrize(
    ("lat", "lon", "nis"),
    [
        (50.7816, 3.0451, "33029"),  # Wervik, market square
        (50.7949, 3.1236, "34027"),  # Menen
        (50.8830, 3.4270, "34040"),  # Waregem
        (50.7268, 3.3458, "34043"),  # Spiere-Helkijn
    ],
)
def test_each_municipality_answers_for_its_own_centre(region, lat, lon, nis):
    assert geo.municipality_at(lat, lon).nis_code == nis


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (51.40, 2.60),  # the North Sea
        (50.8467, 4.3522),  # Brussels: Belgian, but not in the region
        (50.6292, 3.0573),  # Lille, France
    ],
)
def test_points_outside_the_region_are_explicitly_outside(region, lat, lon):
    location = geo.municipality_at(lat, lon)
    assert location == geo.OUTSIDE
    assert not location.inside


@pytest.mark.parametrize(
    ("lat", "lon"), [(float("nan"), 3.0), (91, 3.0), (50.8, 181), (float("inf"), 0)]
)
def test_invalid_coordinates_are_outside_not_an_exception(region, lat, lon):
    assert geo.municipality_at(lat, lon) is geo.OUTSIDE


def test_boundaries_are_reloaded_after_a_change(region):
    assert geo.municipality_at(50.8275, 3.2649).nis_code == "34022"
    kortrijk = region["KOR"]
    kortrijk.boundary = None
    kortrijk.save()
    assert geo.municipality_at(50.8275, 3.2649) is geo.OUTSIDE


def test_lambert72_of_brussels_grand_place():
    x, y = geo.from_wgs84(50.8467, 4.3522)
    assert abs(x - 148_834) < 50 and abs(y - 170_700) < 50


def test_lambert_round_trips_to_the_centimetre():
    for crs in (geo.LAMBERT72, geo.LAMBERT2008):
        x, y = geo.from_wgs84(50.8275, 3.2649, crs)
        lat, lon = geo.to_wgs84(x, y, crs)
        assert geo.distance_m(lat, lon, 50.8275, 3.2649) < 0.01


def test_lambert2008_is_lambert72_shifted_by_500_km():
    x72, y72 = geo.from_wgs84(50.8275, 3.2649, geo.LAMBERT72)
    x08, y08 = geo.from_wgs84(50.8275, 3.2649, geo.LAMBERT2008)
    assert abs((x08 - x72) - 500_000) < 20 and abs((y08 - y72) - 500_000) < 20


def test_distance_between_kortrijk_and_menen_town_halls():
    assert 9_000 < geo.distance_m(50.8275, 3.2649, 50.7949, 3.1236) < 11_000


def test_vendored_boundaries_equal_the_shared_source():
    source = json.loads(shared_path("data", "geo", "belgium-municipalities.geojson").read_text())
    by_nis = {str(f["properties"]["nis"]): f for f in source["features"]}
    for feature in json.loads(BOUNDARIES.read_text())["features"]:
        original = by_nis[feature["properties"]["nis"]]
        assert feature["geometry"] == original["geometry"]
        assert feature["properties"]["population"] == original["properties"]["population"]
        assert feature["properties"]["name_fr"] == original["properties"]["name_fr"]


def test_batch_lookup_agrees_with_single_lookups(region):
    points = [(50.8275, 3.2649), (51.40, 2.60), (50.7949, 3.1236), (float("nan"), 3.0), (95, 3)]
    found = geo.municipalities_at(points)
    assert [loc.nis_code for loc in found] == ["34022", None, "34027", None, None]
    assert found == [geo.municipality_at(lat, lon) for lat, lon in points]
    assert geo.municipalities_at([]) == []
