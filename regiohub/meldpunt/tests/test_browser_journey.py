"""In a real browser: a citizen files a report, the agent handles it, the citizen answers.
Every page on the way meets WCAG 2.1 AA (axe-core), with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt.models import Report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    # No tiles from the internet in tests: the map falls back to the boundaries.
    pytest.mark.usefixtures("no_tiles"),
]


@pytest.fixture
def no_tiles():
    with override_settings(MAP_TILE_URL=""):
        yield


def test_citizen_files_with_the_map_and_the_agent_handles_it(live_server, categories):
    # A regional agent: wherever the click lands, the report is theirs to see.
    agent = MembershipFactory(organisation=categories["ZWVL"], agent=True).user
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": "nl", "url": live_server.url}]
        )
        page.goto(live_server.url + "/melden/")
        assert axe_violations(page) == []
        # Sending an empty form shows accessible errors.
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        assert page.locator("#form-errors").is_visible()
        assert axe_violations(page) == []

        page.fill("[data-subject-search]", "lamp")
        assert page.locator("#subject-pothole").is_hidden()
        page.check("#subject-street-light")
        page.fill("#id_description", "De lamp aan de kerk brandt niet.")
        page.locator("[data-location-map]").wait_for(state="visible")
        page.locator(".leaflet-overlay-pane path").nth(12).wait_for(state="attached")
        # A click on the map fills in the coordinates for the citizen.
        canvas = page.locator("[data-location-map-canvas]")
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # let the zoom to the region finish
        box = canvas.bounding_box()
        canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
        assert page.input_value("#id_latitude") != ""
        page.fill("#id_address", "Kerkplein 1")
        page.fill("#id_reporter_email", "burger@example.org")
        page.check("#id_consent")
        page.click("button[type=submit] >> text=/./ >> nth=-1")

        page.wait_for_url(re.compile(r"/melding/"))
        report = Report.objects.get()
        assert report.reference in page.content()
        assert axe_violations(page) == []
        followup_url = page.url

        login_page_as(page, agent, live_server.url)
        page.goto(live_server.url + "/staff/reports/")
        assert axe_violations(page) == []
        page.click(f"text={report.reference}")
        assert axe_violations(page) == []
        page.fill("#h-message ~ form textarea[name=body]", "Aan welke kant van de kerk?")
        page.check("#h-message ~ form input[name=question]")
        page.click("#h-message ~ form button[type=submit]")
        report.refresh_from_db()
        assert report.status == "waiting_for_reporter"

    with chromium_page() as page:  # the citizen, in a fresh browser
        page.goto(followup_url)
        assert "Aan welke kant van de kerk?" in page.content()
        page.fill("textarea[name=body]", "Aan de kant van de school.")
        page.click("form[action$='antwoord/'] button[type=submit]")
        assert "Aan de kant van de school." in page.content()
        assert axe_violations(page) == []
    report.refresh_from_db()
    assert report.status == "in_progress"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_without_javascript_a_report_is_filed_by_address_on_a_phone(
    live_server, categories, language
):
    cookie = [{"name": "regiohub_language", "value": language, "url": live_server.url}]
    with chromium_page(width=360, height=740, javascript=False) as page:
        page.context.add_cookies(cookie)
        page.goto(live_server.url + "/melden/")
        assert page.locator("[data-location-map]").is_hidden()
        page.check("#subject-illegal-dumping")
        page.fill("#id_description", "Zakken afval aan de glasbol.")
        page.fill("#id_address", "Markt 1")
        page.select_option("#id_municipality", "WEV")
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        page.wait_for_url(re.compile(r"/melding/"))
        followup_url = page.url
    report = Report.objects.get()
    assert report.organisation.code == "WEV"
    assert report.location_is_approximate
    assert report.reporter_language == language
    # axe-core itself needs JavaScript: check the same pages at phone width with it on.
    with chromium_page(width=360, height=740) as page:
        page.context.add_cookies(cookie)
        for url in [live_server.url + "/melden/", followup_url]:
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, url
            assert axe_violations(page) == [], url


def test_privacy_notice_is_accessible(live_server, categories):
    with chromium_page() as page:
        page.goto(live_server.url + "/melden/privacy/")
        assert axe_violations(page) == []


def test_the_form_offers_me_too_for_an_open_report_at_the_same_place(live_server, categories):
    from regiohub.meldpunt.tests.factories import file_report

    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": "nl", "url": live_server.url}]
        )
        page.goto(live_server.url + "/melden/")
        page.locator(".leaflet-overlay-pane path").nth(12).wait_for(state="attached")
        canvas = page.locator("[data-location-map-canvas]")
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        box = canvas.bounding_box()
        canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
        point = (float(page.input_value("#id_latitude")), float(page.input_value("#id_longitude")))
        existing = file_report(code="street-light", where=point, description="Lamp kapot")
        page.check("#subject-street-light")
        option = page.locator(f"#same-as-{existing.reference}")
        option.wait_for()
        assert axe_violations(page) == []
        option.check()
        page.fill("#id_description", "De lamp aan de kerk brandt niet.")
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        page.wait_for_url(re.compile(r"/melding/"))
        assert existing.reference in page.content()
    mine = Report.objects.exclude(pk=existing.pk).get()
    assert mine.merged_into_id == existing.pk
