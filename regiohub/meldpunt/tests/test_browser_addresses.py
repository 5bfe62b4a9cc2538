"""In a real browser, with the address register (a local fake speaking its wire format):
a citizen on a phone without JavaScript types an address and confirms the match; with
JavaScript the matches are offered while typing and the chosen one is marked on the map.
Every page on the way meets WCAG 2.1 AA (axe-core), in nl, fr and en."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from regiohub.core.geocoding.fake import ADDRESSES, fake_address_register
from regiohub.core.testing import axe_violations, chromium_page
from regiohub.meldpunt.models import Report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

DOORNIKSESTRAAT = next(a for a in ADDRESSES if a.street == "Doorniksestraat")


@pytest.fixture
def register():
    with (
        fake_address_register() as fake,
        override_settings(
            GEOCODER="vlaanderen", GEOCODER_SETTINGS=fake.settings(), MAP_TILE_URL=""
        ),
    ):
        yield fake


def file_by_address(page, base_url: str, language: str) -> None:
    """Fill the form as a citizen who types the address, and send it."""
    page.context.add_cookies([{"name": "regiohub_language", "value": language, "url": base_url}])
    page.goto(base_url + "/melden/")
    page.check("#subject-street-light")
    page.fill("#id_description", "De straatlamp brandt niet meer.")
    page.fill("#id_address", "Doorniksestraat 45")
    page.select_option("#id_municipality", "KOR")
    page.click("button.button-large[type=submit]")


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_without_javascript_a_typed_address_is_confirmed(
    live_server, categories, register, language
):
    with chromium_page(375, 800, javascript=False) as page:
        file_by_address(page, live_server.url, language)
        # The second step: nothing filed yet, the register's match offered.
        question = page.locator("#place-question")
        assert question.is_visible()
        assert DOORNIKSESTRAAT.label in question.inner_text()
        assert not Report.objects.exists()
        page.get_by_label(DOORNIKSESTRAAT.label).check()
        question.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r"/melding/"))
        assert "Doorniksestraat 45" in page.content()
    report = Report.objects.get()
    assert report.location_source == "address"
    assert report.address_register_id == DOORNIKSESTRAAT.uri
    assert not report.location_is_approximate
    # axe-core itself needs JavaScript: the same step with it on, at phone width.
    with chromium_page(375, 800) as page:
        file_by_address(page, live_server.url, language)
        page.locator("#place-question").wait_for()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        assert axe_violations(page) == []


def test_with_javascript_matches_are_offered_while_typing(live_server, categories, register):
    with chromium_page(375, 800) as page:
        page.goto(live_server.url + "/melden/")
        page.locator("[data-location-map]").wait_for(state="visible")
        page.fill("#id_address", "Doorniksestraat 4")
        page.type("#id_address", "5")
        suggestion = page.locator("[data-address-suggestions] button", has_text="45")
        suggestion.wait_for()
        assert axe_violations(page) == []
        suggestion.click()
        assert page.input_value("#id_location_source") == "address"
        assert abs(float(page.input_value("#id_latitude")) - DOORNIKSESTRAAT.latitude) < 1e-4
        assert page.input_value("#id_municipality") == "KOR"
        # Tapping the map instead names the street that was tapped.
        canvas = page.locator("[data-location-map-canvas]")
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
        box = canvas.bounding_box()
        canvas.click(position={"x": box["width"] / 2 + 3, "y": box["height"] / 2})
        assert page.input_value("#id_location_source") == "map"
        page.locator("[data-location-map-messages]", has_text="Doorniksestraat").wait_for()
        assert axe_violations(page) == []
