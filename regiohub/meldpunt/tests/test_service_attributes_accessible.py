"""In a real browser: the subjects' extra questions meet WCAG 2.1 AA (axe-core) as the
script shows them (only the chosen subject's) and as they are without it (all, each under
"Only for <subject>"), at desk and phone width; without JavaScript a report is filed with
its answer; the agent intake shows the chosen subject's questions."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.meldpunt.demo import load_attributes
from regiohub.meldpunt.models import Report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_tiles"),
]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def no_tiles():
    with override_settings(MAP_TILE_URL=""):
        yield


@pytest.fixture
def questions(categories):
    load_attributes()
    return categories


def english(page, live_server) -> None:
    page.context.add_cookies([{"name": "regiohub_language", "value": "en", "url": live_server.url}])


def test_the_chosen_subjects_questions_show_and_are_accessible(live_server, questions):
    with chromium_page() as page:
        english(page, live_server)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(live_server.url + "/melden/")
            pothole, light = (
                page.locator("#questions-pothole"),
                page.locator("#questions-street-light"),
            )
            assert pothole.is_hidden() and light.is_hidden()  # no subject chosen yet
            assert page.locator("[data-questions-intro]").is_hidden()
            page.check("#subject-pothole")
            assert pothole.is_visible() and light.is_hidden()
            assert page.locator("#questions-street-light").evaluate("f => f.disabled")
            assert axe_violations(page) == [], width
            page.check("#subject-street-light")
            assert light.is_visible() and pothole.is_hidden()
            assert page.evaluate(OVERFLOW) <= 0, width
        # Sent without the required answer: the error is at the question, still shown.
        page.check("#subject-pothole")
        page.fill("#id_description", "Gat in de weg.")
        # The place as the map writes it when tapped (the map itself is tested elsewhere).
        page.evaluate(
            "document.querySelector('#id_latitude').value = '50.8275';"
            "document.querySelector('#id_longitude').value = '3.2649';"
        )
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        page.wait_for_load_state()
        assert page.locator("#questions-pothole").is_visible()
        assert page.locator("#id_attribute__pothole__road-blocked_error_1").is_visible()
        assert axe_violations(page) == []
        page.click("a[href='#id_attribute__pothole__road-blocked_0']")  # from the summary
        page.check("#id_attribute__pothole__road-blocked_1")
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        page.wait_for_url(re.compile(r"/melding/"))
    assert Report.objects.get().attributes == {"road-blocked": "no"}


def test_without_the_script_every_subjects_questions_show_and_are_accessible(
    live_server, questions
):
    with chromium_page(width=375, height=800) as page:
        english(page, live_server)
        # axe-core needs JavaScript: leave out only the script that hides the questions.
        page.route("**/subject-questions.js", lambda route: route.abort())
        page.goto(live_server.url + "/melden/")
        assert page.locator("#questions-pothole").is_visible()
        assert page.locator("#questions-street-light").is_visible()
        assert page.get_by_text("Only for “Pothole or damaged road”").is_visible()
        assert axe_violations(page) == []
        assert page.evaluate(OVERFLOW) <= 0


def test_without_javascript_a_report_is_filed_with_its_answer(live_server, questions):
    with chromium_page(width=360, height=740, javascript=False) as page:
        english(page, live_server)
        page.goto(live_server.url + "/melden/")
        assert page.locator("#questions-pothole").is_visible()
        page.check("#subject-street-light")
        page.fill("#id_attribute__street-light__lamp-number", "12/345")
        page.fill("#id_description", "Lamp brandt niet.")
        page.fill("#id_address", "Markt 1")
        page.select_option("#id_municipality", "WEV")
        page.click("button[type=submit] >> text=/./ >> nth=-1")
        page.wait_for_url(re.compile(r"/melding/"))
    assert Report.objects.get().attributes == {"lamp-number": "12/345"}


def test_the_intake_shows_the_chosen_subjects_questions(live_server, questions, kortrijk_agent):
    with chromium_page() as page:
        english(page, live_server)
        login_page_as(page, kortrijk_agent, live_server.url)
        page.goto(live_server.url + "/staff/reports/new/")
        assert page.locator("#questions-pothole").is_hidden()
        page.select_option("#id_category", "pothole")
        assert page.locator("#questions-pothole").is_visible()
        assert page.locator("#questions-street-light").is_hidden()
        assert axe_violations(page) == []
