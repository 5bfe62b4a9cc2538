"""Geocoding through the Flemish address register: real HTTP against the local fake, which
speaks adresmatch v2 and geolocation Location v4 (regiohub/core/geocoding/fake.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import translation

from regiohub.core import geo, geocoding
from regiohub.core.geocoding import Geocoder, GeocoderUnavailable, Place, geocoders
from regiohub.core.geocoding.fake import ADDRESSES, FakeAddressRegister, fake_address_register
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import UserFactory

GROTE_MARKT_KORTRIJK, DOORNIKSESTRAAT, _, GROTE_MARKT_MENEN, _, KERKSTRAAT = ADDRESSES


@pytest.fixture
def register() -> Iterator[FakeAddressRegister]:
    with fake_address_register() as fake:
        yield fake


@pytest.fixture
def vlaanderen(register: FakeAddressRegister) -> Iterator[FakeAddressRegister]:
    """The "vlaanderen" geocoder configured against the fake."""
    with override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=register.settings()):
        yield register


def metres(place: Place, lat: float, lon: float) -> float:
    return geo.distance_m(place.latitude, place.longitude, lat, lon)


def test_a_typed_address_is_found_at_its_position(vlaanderen):
    [place] = geocoding.search("Grote Markt 1", municipality="Kortrijk")

    assert place.label == "Grote Markt 1, 8500 Kortrijk"
    assert (place.street, place.house_number, place.postcode, place.municipality) == (
        "Grote Markt",
        "1",
        "8500",
        "Kortrijk",
    )
    # the register sends Lambert 72 (a GML point): back in WGS84 within a metre
    assert metres(place, GROTE_MARKT_KORTRIJK.latitude, GROTE_MARKT_KORTRIJK.longitude) < 1
    assert place.register_id == GROTE_MARKT_KORTRIJK.uri
    assert (place.precision, place.score) == ("address", 1.0)
    request = vlaanderen.received[-1]
    assert request.path == "/v2/adresmatch"
    assert request.query == {
        "gemeentenaam": "Kortrijk",
        "straatnaam": "Grote Markt",
        "huisnummer": "1",
    }
    assert request.header("Accept") == "application/ld+json"


def test_the_municipality_and_postcode_typed_in_the_text_are_used(vlaanderen):
    [place] = geocoding.search("Doorniksestraat 45, 8500 Kortrijk", municipality="Menen")

    assert place.label == "Doorniksestraat 45, 8500 Kortrijk"
    assert metres(place, DOORNIKSESTRAAT.latitude, DOORNIKSESTRAAT.longitude) < 1
    assert vlaanderen.received[-1].query == {
        "gemeentenaam": "Kortrijk",
        "postcode": "8500",
        "straatnaam": "Doorniksestraat",
        "huisnummer": "45",
    }


def test_an_address_without_municipality_can_match_several(vlaanderen):
    places = geocoding.search("Grote Markt 1")

    assert {place.label for place in places} == {
        "Grote Markt 1, 8500 Kortrijk",
        "Grote Markt 1, 8930 Menen",
    }
    assert all(place.precision == "address" and place.score == 1.0 for place in places)
    # adresmatch needs a municipality or postcode: the geolocation service searched instead
    assert vlaanderen.received[-1].path == "/geolocation/v4/Location"
    assert geocoding.search("Grote Markt 1", limit=1) == places[:1]


def test_a_street_without_that_house_number_is_placed_on_the_street(vlaanderen):
    [place] = geocoding.search("Kerkstraat 99", municipality="Zwevegem")

    assert (place.precision, place.register_id) == ("street", "")
    assert (place.street, place.municipality) == ("Kerkstraat", "Zwevegem")
    assert metres(place, KERKSTRAAT.latitude, KERKSTRAAT.longitude) < 50
    assert place.score < 1


def test_a_postcode_of_another_municipality_makes_the_matches_uncertain(vlaanderen):
    places = geocoding.search("Grote Markt 1, 8930 Kortrijk")

    assert {place.municipality for place in places} == {"Kortrijk", "Menen"}
    assert all(place.score <= 0.5 for place in places)


def test_nothing_matches(vlaanderen):
    assert geocoding.search("Nergensstraat 1", municipality="Kortrijk") == []
    # the register refuses the query (400 validation problem): nothing matches either
    assert geocoding.search("Grote Markt 1", municipality="K" * 41) == []
    assert vlaanderen.received[-1].path == "/v2/adresmatch"

    vlaanderen.mode = "none"
    assert geocoding.search("Grote Markt 1", municipality="Kortrijk") == []
    assert geocoding.search("Grote Markt 1") == []
    assert geocoding.suggest("Doorniks") == []
    assert geocoding.reverse(GROTE_MARKT_KORTRIJK.latitude, GROTE_MARKT_KORTRIJK.longitude) is None


def test_a_slow_service_is_unavailable_after_the_timeout(register):
    register.mode, register.delay = "slow", 1.5
    settings = register.settings(timeout_seconds=0.3)
    with override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=settings):
        started = time.monotonic()
        with pytest.raises(GeocoderUnavailable, match=r"did not answer within 0\.3 s") as caught:
            geocoding.search("Grote Markt 1", municipality="Kortrijk")
        assert time.monotonic() - started < 1.2
        with pytest.raises(GeocoderUnavailable):
            geocoding.suggest("Doorniks")
    assert register.url in str(caught.value)
    assert "Grote Markt" not in str(caught.value)  # what was typed stays out of logs


def test_a_failing_service_is_unavailable(vlaanderen):
    vlaanderen.mode = "error"

    with pytest.raises(GeocoderUnavailable, match="address register answered HTTP 500"):
        geocoding.search("Grote Markt 1", municipality="Kortrijk")
    with pytest.raises(GeocoderUnavailable, match="geolocation service answered HTTP 500"):
        geocoding.reverse(GROTE_MARKT_KORTRIJK.latitude, GROTE_MARKT_KORTRIJK.longitude)


def test_a_service_that_is_not_there_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = {"basisregisters_url": url, "geolocation_url": url, "timeout_seconds": 1}
    with (
        override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=settings),
        pytest.raises(GeocoderUnavailable, match="could not connect"),
    ):
        geocoding.search("Grote Markt 1", municipality="Kortrijk")


def test_the_api_key_is_sent_to_the_register_only_when_configured(register):
    with override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=register.settings()):
        geocoding.search("Grote Markt 1", municipality="Kortrijk")
    assert register.received[-1].header("x-api-key") is None

    keyed = register.settings(api_key="s3cret-key")
    with override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=keyed):
        geocoding.search("Grote Markt 1", municipality="Kortrijk")
        assert register.received[-1].header("x-api-key") == "s3cret-key"
        geocoding.suggest("Doorniks")  # the geolocation service takes no key
        assert register.received[-1].header("x-api-key") is None

        register.mode = "error"
        with pytest.raises(GeocoderUnavailable) as caught:
            geocoding.search("Grote Markt 1", municipality="Kortrijk")
        assert "s3cret" not in str(caught.value)
        assert "s3cret" not in repr(geocoding.active())


def test_suggestions_while_typing(vlaanderen):
    places = geocoding.suggest("Doorniks")

    address = next(place for place in places if place.precision == "address")
    assert address.label == "Doorniksestraat 45, 8500 Kortrijk"
    assert address.register_id == DOORNIKSESTRAAT.uri
    assert metres(address, DOORNIKSESTRAAT.latitude, DOORNIKSESTRAAT.longitude) < 1
    assert address.score == 1.0  # what was typed so far matches the start
    assert vlaanderen.received[-1].query == {"q": "Doorniks", "c": "5"}
    assert geocoding.suggest("D") == []  # the service needs two characters


def test_the_address_nearest_to_a_point(vlaanderen):
    ten_metres_north = GROTE_MARKT_KORTRIJK.latitude + 10 / 111_320
    assert geo.distance_m(
        ten_metres_north,
        GROTE_MARKT_KORTRIJK.longitude,
        GROTE_MARKT_KORTRIJK.latitude,
        GROTE_MARKT_KORTRIJK.longitude,
    ) == pytest.approx(10, abs=0.5)

    place = geocoding.reverse(ten_metres_north, GROTE_MARKT_KORTRIJK.longitude)

    assert place is not None
    assert (place.label, place.precision, place.score) == (
        "Grote Markt 1, 8500 Kortrijk",
        "address",
        1.0,
    )
    lat, lon = map(float, vlaanderen.received[-1].query["latlon"].split(","))
    assert (lat, lon) == pytest.approx((ten_metres_north, GROTE_MARKT_KORTRIJK.longitude))
    assert geocoding.reverse(51.40, 2.60) is None  # the North Sea: no address within 1 km


def test_without_a_geocoder_nothing_is_sent_anywhere():
    with override_settings(GEOCODER="", GEOCODER_SETTINGS={}):
        assert geocoding.configured() is False
        assert geocoding.active() is None
        assert geocoding.search("Grote Markt 1", municipality="Kortrijk") == []
        assert geocoding.suggest("Doorniks") == []
        assert geocoding.reverse(50.828, 3.2649) is None


@pytest.mark.parametrize(
    ("name", "values", "named"),
    [
        ("vlaanderen", {"timeout_seconds": "soon"}, "'timeout_seconds'"),
        ("vlaanderen", {"timeout_seconds": 0}, "'timeout_seconds'"),
        ("vlaanderen", {"basisregisters_url": "not a url"}, "'basisregisters_url'"),
        ("vlaanderen", {"apikey": "typo"}, "'apikey'"),
        ("nominatim", {}, "GEOCODER='nominatim'"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name, values, named):
    with override_settings(GEOCODER=name, GEOCODER_SETTINGS=values):
        assert geocoding.configured() is True
        with pytest.raises(ImproperlyConfigured, match=named):
            geocoding.active()


def test_the_registry_refuses_a_second_geocoder_with_the_same_name():
    geocoders.get("vlaanderen")

    class Impostor(Geocoder):
        name: ClassVar[str] = "vlaanderen"
        label: ClassVar[str] = "Impostor"
        settings_form = forms.Form

        def search(self, text: str, *, municipality: str = "", limit: int = 5) -> list[Place]:
            return []

        def suggest(self, text: str, *, limit: int = 5) -> list[Place]:
            return []

        def reverse(self, latitude: float, longitude: float) -> Place | None:
            return None

    with pytest.raises(TypeError, match="'vlaanderen' is taken"):
        geocoders.register(Impostor)
    assert geocoders.get("vlaanderen").__name__ == "Vlaanderen"


@pytest.mark.django_db
def test_the_admin_lists_the_geocoders_family():
    admin = staff_client(UserFactory(superuser=True))

    with translation.override("en"):
        text = admin.get("/admin/plugins/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'id="geocoders"' in text
    assert "<code>vlaanderen</code>" in text
    assert "<code>api_key</code>" in text and "<code>timeout_seconds</code>" in text


@pytest.mark.django_db
def test_the_fake_addresses_lie_in_their_municipality(region):
    for address in ADDRESSES:
        location = geo.municipality_at(address.latitude, address.longitude)
        assert (location.name, location.nis_code) == (address.municipality, address.nis_code)
