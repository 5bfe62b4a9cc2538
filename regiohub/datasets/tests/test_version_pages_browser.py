"""In headless Chromium: comparing and restoring versions passes axe-core's WCAG 2.1 AA
checks (scrollable tables reachable by keyboard) and fits a 360 px phone, without
JavaScript of their own."""

from __future__ import annotations

import pytest

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]

CORRECTED_CSV = COUNTS_CSV.replace("987;8", "990;9").replace(
    "102;31/12/2025 14:00;15,25;0;\n", "103;31/12/2025 16:00;1;1;30\n"
)


def overflow(page):
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_the_version_pages_are_accessible(live_server, region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open")
    for content in (COUNTS_CSV, CORRECTED_CSV):
        upload(dataset, steward, content, mode="replace", primary_key=["segment", "uur"])
    compare_url = f"{live_server.url}/data/{dataset.slug}/compare/?from=1&to=2"
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": "nl", "url": live_server.url}]
        )
        page.goto(compare_url)
        assert page.locator("table caption").count() == 1
        assert axe_violations(page) == []
        login_page_as(page, steward, live_server.url)
        page.goto(f"{live_server.url}/data/{dataset.slug}/")
        assert page.locator("a[href$='/versions/1/restore/']").count() == 1
        assert axe_violations(page) == []
        page.goto(f"{live_server.url}/staff/data/{dataset.slug}/versions/1/restore/")
        assert axe_violations(page) == []
        page.set_viewport_size({"width": 360, "height": 780})
        for url in (compare_url, f"{live_server.url}/data/{dataset.slug}/"):
            page.goto(url)
            assert overflow(page) <= 0, url
        page.goto(f"{live_server.url}/staff/data/{dataset.slug}/versions/1/restore/")
        assert overflow(page) <= 0
        page.fill("#id_reason", "Het bestand van maart was fout")
        page.click("form.report-form button[type=submit]")
        assert page.url.endswith(f"/data/{dataset.slug}/")
    assert dataset.versions.get(number=3).restored_from == 1
