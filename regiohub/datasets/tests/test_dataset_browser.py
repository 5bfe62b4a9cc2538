"""In headless Chromium: the data pages pass axe-core's WCAG 2.1 AA checks on a desktop,
and fit a 360 px phone (they use no JavaScript of their own; axe-core needs it)."""

from __future__ import annotations

import pytest

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


def test_the_data_pages_are_accessible(live_server, region, steward, tmp_path):
    dataset = make_dataset(region["KOR"], steward, access="open", attribution="Telraam")
    upload(dataset, steward, COUNTS_CSV)
    pending = upload(dataset, steward, COUNTS_CSV, confirm=False)
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": "nl", "url": live_server.url}]
        )
        page.goto(live_server.url + "/data/")
        assert axe_violations(page) == []
        page.goto(live_server.url + f"/data/{dataset.slug}/")
        assert page.locator("svg.chart").count() == 1
        assert axe_violations(page) == []
        page.screenshot(path=str(tmp_path / "dataset.png"), full_page=True)
        page.set_viewport_size({"width": 360, "height": 780})
        page.goto(live_server.url + f"/data/{dataset.slug}/")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(  # what sticks out (tables scroll inside their wrapper)
            "[...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > 361 && !e.closest('.table-wrap'))"
            ".map(e => e.tagName + '.' + e.className).slice(0, 12).join(' ')"
        )
        assert overflow <= 0, wide
        page.set_viewport_size({"width": 1280, "height": 900})
        login_page_as(page, steward, live_server.url)
        page.goto(live_server.url + f"/staff/data/{dataset.slug}/loads/{pending.pk}/")
        assert axe_violations(page) == []
        page.goto(live_server.url + f"/staff/data/{dataset.slug}/upload/")
        assert axe_violations(page) == []
        page.goto(live_server.url + f"/staff/data/{dataset.slug}/feed/")
        assert axe_violations(page) == []
        page.goto(live_server.url + f"/staff/data/{dataset.slug}/edit/")
        assert axe_violations(page) == []
