"""Districts (wijken): the level below the municipality, and which one a point is in."""

from __future__ import annotations

import pytest

from regiohub.core import geo
from regiohub.core.demo.region import DISTRICTS, load_region
from regiohub.core.models import District
from regiohub.core.testing import shared_path

pytestmark = pytest.mark.django_db

KORTRIJK_CENTRE = (50.8275, 3.2649)


def test_a_point_in_kortrijk_centre_is_in_a_kortrijk_district(region):
    code = geo.district_at(*KORTRIJK_CENTRE)
    assert code.startswith("34022W")
    district = District.objects.get(code=code)
    assert district.organisation == region["KOR"]
    assert "Kortrijk" in district.name


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (51.40, 2.60),  # the North Sea
        (50.8467, 4.3522),  # Brussels: Belgian, but not in the region
        (50.6292, 3.0573),  # Lille, France
        (float("nan"), 3.0),
        (91, 3.0),
    ],
)
def test_a_point_outside_every_district_has_no_district(region, lat, lon):
    assert geo.district_at(lat, lon) == ""


def test_load_region_loads_the_116_districts_and_is_idempotent(region):
    assert District.objects.count() == 116
    codes = set(District.objects.values_list("code", flat=True))
    # Each district belongs to the municipality of its NIS code.
    for code, nis in District.objects.values_list("code", "organisation__nis_code"):
        assert code[:5] == nis
    assert District.objects.filter(organisation=region["SPI"]).count() == 2

    District.objects.filter(code="34022W08").update(name="Verkeerd")
    counts = load_region()
    assert counts["districts"] == 116
    assert District.objects.count() == 116
    assert set(District.objects.values_list("code", flat=True)) == codes
    assert District.objects.get(code="34022W08").name == "Kortrijk Centrum (Kortrijk)"


def test_the_lookup_follows_a_changed_or_deleted_district(region):
    code = geo.district_at(*KORTRIJK_CENTRE)
    district = District.objects.get(code=code)
    district.boundary = None
    district.save()
    assert geo.district_at(*KORTRIJK_CENTRE) == ""
    district.delete()
    load_region()  # bulk queries: the loader rebuilds the lookup itself
    assert geo.district_at(*KORTRIJK_CENTRE) == code


def test_batch_lookup_agrees_with_single_lookups(region):
    points = [
        KORTRIJK_CENTRE,
        (51.40, 2.60),
        (50.7949, 3.1236),
        (float("nan"), 3.0),
        (95, 3),
        (50.8830, 3.4270),
    ]
    found = geo.districts_at(points)
    assert found == [geo.district_at(lat, lon) for lat, lon in points]
    assert [code[:5] for code in found] == ["34022", "", "34027", "", "", "34040"]
    assert geo.districts_at([]) == []


def test_vendored_districts_equal_the_shared_source():
    source = shared_path("data", "geo", "districts", "zwvl-districts.geojson")
    assert DISTRICTS.read_bytes() == source.read_bytes()
