"""In headless Chromium: a dataset's page passes axe-core in nl, fr and en at 1280 and
375 px, scrollable tables included (``scrollable-region-focusable``): every scrolling
table wrapper can be reached by keyboard and is named after its table."""

from __future__ import annotations

import pytest

from regiohub.core.testing import axe_violations, chromium_page
from regiohub.datasets.tests.test_quick_chart_choices import statbel_dataset, statbel_lines

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


def scroll_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "rule", "values": ["scrollable-region-focusable"]}}
    results = Axe().run(page, options=options)
    return [str(n["target"]) for v in results.response["violations"] for n in v["nodes"]]


def test_the_dataset_page_is_accessible_by_keyboard_in_every_language(live_server, region, steward):
    dataset = statbel_dataset(region, steward, statbel_lines())  # 45 columns: it scrolls
    url = live_server.url + f"/data/{dataset.slug}/"
    with chromium_page() as page:
        for language in ("nl", "fr", "en"):
            page.context.add_cookies(
                [{"name": "regiohub_language", "value": language, "url": live_server.url}]
            )
            for width, height in ((1280, 900), (375, 780)):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(url)
                assert page.locator("html").get_attribute("lang") == language
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                wrappers = page.locator(".table-wrap")
                assert wrappers.count() >= 4
                for i in range(wrappers.count()):
                    wrapper = wrappers.nth(i)
                    assert wrapper.get_attribute("tabindex") == "0"
                    assert wrapper.get_attribute("role") == "region"
                    assert wrapper.get_attribute("aria-label")
                assert scroll_violations(page) == [], (language, width)
                assert axe_violations(page) == [], (language, width)
