"""In a real browser, a citizen on a phone: the question "Is your report about something on
N43?" meets WCAG 2.1 AA (axe-core) at 1280 and 375 px, is answered by keyboard alone, and
the answer travels with the report."""

from __future__ import annotations

import pytest

from regiohub.core import geo
from regiohub.core.testing import axe_violations, chromium_page
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests import test_routing

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

bodies = test_routing.bodies
kortrijk_rules = test_routing.kortrijk_rules

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _fill(page, lat: float, lon: float) -> None:
    page.check("input[name=category][value=pothole]")
    page.fill("textarea[name=description]", "Diepe put in de rijweg")
    page.evaluate(
        """([lat, lon]) => {
            document.querySelector('input[name=latitude]').value = lat;
            document.querySelector('input[name=longitude]').value = lon;
            document.querySelector('input[name=location_source]').value = 'map';
        }""",
        [str(lat), str(lon)],
    )


def test_the_question_is_accessible_and_answered_by_keyboard(live_server, kortrijk_rules):
    lat, lon = geo.to_wgs84(test_routing.X0, test_routing.Y0 + 4)  # 6 m from the N43 line
    with chromium_page() as page:
        for width, height in ((1280, 900), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(live_server.url + "/melden/")
            _fill(page, lat, lon)
            with page.expect_navigation():
                page.locator("form[data-report-form] button[type=submit]").last.click()
            page.locator("#routing-question").wait_for(state="visible")
            assert "N43" in page.locator("#routing-question legend").inner_text()
            assert axe_violations(page) == [], f"{width} px"
            if width < 400:
                assert page.evaluate(OVERFLOW) <= 0
        # By keyboard: focus the first answer, choose the second with an arrow, send.
        page.focus("input[name=routing_choice] >> nth=0")
        page.keyboard.press("ArrowDown")
        assert page.locator("input[name=routing_choice] >> nth=1").is_checked()
        with page.expect_navigation():
            page.locator("#routing-question button[type=submit]").press("Enter")
        assert "/melding/" in page.url
    report = Report.objects.get()
    assert report.routing_decisions.get().answer == "elsewhere"
    assert report.status == "new"  # somewhere else: the municipality keeps it
