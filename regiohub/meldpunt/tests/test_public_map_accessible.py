"""In a real browser: the public map of open reports meets WCAG 2.1 AA (axe-core) on a desk
screen (1280 px) and a phone (375 px) with its map drawn and a report opened, is usable by
keyboard, and without JavaScript is a list with filters that works."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from regiohub.core.testing import axe_violations, chromium_page
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.views import public_map

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    # No tiles from the internet in tests: the map draws the municipal boundaries only.
    pytest.mark.usefixtures("no_tiles"),
]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
MARKERS = ".public-map-report, .public-map-cluster"


@pytest.fixture
def no_tiles():
    public_map.forget()
    with override_settings(MAP_TILE_URL=""):
        yield
    public_map.forget()


def reports() -> dict[str, str]:
    kortrijk = file_report(address="Burgemeester Vandenbogaerdelaan-Zuidwestkant 45")
    file_report(code="street-light", where=(KORTRIJK_CENTRE[0] + 0.003, KORTRIJK_CENTRE[1]))
    file_report(code="noise", where=(KORTRIJK_CENTRE[0] - 0.004, KORTRIJK_CENTRE[1] + 0.002))
    menen = file_report(where=MENEN_CENTRE, address="Rijselstraat 3")
    return {"KOR": kortrijk.reference, "MEN": menen.reference}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_map_and_its_list_are_accessible_on_a_desk_and_a_phone(
    live_server, categories, language
):
    reports()
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": language, "url": live_server.url}]
        )
        for width, height in ((1280, 900), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(live_server.url + "/melden/kaart/")
            page.locator("[data-public-map]").wait_for(state="visible")
            page.locator(".leaflet-overlay-pane path").nth(12).wait_for(state="attached")
            page.locator(MARKERS).first.wait_for(state="attached")
            where = f"{language} at {width} px"
            assert page.locator("[data-public-map-status]").inner_text() != "", where
            assert axe_violations(page) == [], where
            if width < 400:
                assert page.evaluate(OVERFLOW) <= 0, where
            # Open a report on the map: it is accessible too.
            page.locator(".public-map-report").first.focus()
            page.keyboard.press("Enter")
            page.locator(".public-map-popup").wait_for(state="visible")
            page.wait_for_timeout(400)  # Leaflet fades a popup in
            assert axe_violations(page) == [], where + ", a report opened"


def test_the_map_is_usable_by_keyboard(live_server, categories):
    reports()
    with chromium_page() as page:
        page.goto(live_server.url + "/melden/kaart/?municipality=KOR")
        page.locator(".public-map-report").first.wait_for(state="attached")
        # The reports on the map take focus with Tab, in the order the page gives them.
        page.focus("[data-public-map-canvas]")
        for _ in range(8):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.className")
            if "public-map-report" in focused:
                break
        assert "public-map-report" in page.evaluate("document.activeElement.className")
        label = page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert "Kortrijk" in label
        # Enter opens it and moves focus into it; Escape closes it and focus returns.
        page.keyboard.press("Enter")
        page.locator(".public-map-popup").wait_for(state="visible")
        assert page.evaluate("document.activeElement.className") == "public-map-popup"
        page.keyboard.press("Tab")
        assert "same_as=" in page.evaluate("document.activeElement.getAttribute('href')")
        page.keyboard.press("Escape")
        page.locator(".public-map-popup").wait_for(state="detached")
        assert "public-map-report" in page.evaluate("document.activeElement.className")
        # The arrow keys move the map (and the reports are read again for the new view).
        before = page.evaluate("document.querySelector('.leaflet-map-pane').style.transform")
        page.focus("[data-public-map-canvas]")
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(400)
        after = page.evaluate("document.querySelector('.leaflet-map-pane').style.transform")
        assert before != after


def test_without_javascript_the_page_is_a_list_with_filters(live_server, categories):
    shown = reports()
    with chromium_page(width=375, height=740, javascript=False) as page:
        page.goto(live_server.url + "/melden/kaart/")
        assert page.locator("[data-public-map]").is_hidden()
        listed = page.locator(".public-report-list").inner_text()
        assert shown["KOR"] in listed and shown["MEN"] in listed
        page.select_option("#id_municipality", "MEN")
        page.click("button[type=submit] >> nth=-1")
        page.wait_for_url(re.compile(r"municipality=MEN"))
        listed = page.locator(".public-report-list").inner_text()
        assert shown["MEN"] in listed and shown["KOR"] not in listed
        # "Me too" leads to the report form, set to join that report.
        page.click(".public-report-action a")
        page.wait_for_url(re.compile(r"/melden/\?same_as="))
        assert page.input_value("#id_same_as") == shown["MEN"]
        assert page.is_checked("#subject-pothole")
