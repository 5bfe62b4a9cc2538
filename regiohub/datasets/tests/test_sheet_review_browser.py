"""In headless Chromium, a data steward loads a municipality's spreadsheet (a title, a
two-row header, merged cells, subtotals): the column review tells what was done to the
sheet, offers the total rows, and passes axe-core in nl, fr and en at 1280 and 375 px;
after a refusal the steward goes back to the review and loads the same file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regiohub.core.testing import axe_violations, chromium_page, login_page_as, run_tasks
from regiohub.datasets import services
from regiohub.datasets.models import Load
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.messy_sheets import population_by_month

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


def test_a_steward_reviews_and_loads_a_messy_spreadsheet(live_server, region, steward, tmp_path):
    dataset = make_dataset(region["KOR"], steward)
    content = population_by_month(tmp_path).read_bytes()
    load = services.start_upload(dataset, steward, SimpleUploadedFile("bevolking.xlsx", content))
    run_tasks()
    url = f"{live_server.url}/staff/data/{dataset.slug}/loads/{load.pk}/"
    with chromium_page() as page:
        login_page_as(page, steward, live_server.url)
        for language in ("nl", "fr", "en"):
            page.context.add_cookies(
                [{"name": "regiohub_language", "value": language, "url": live_server.url}]
            )
            for width in (1280, 375):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(url)
                assert axe_violations(page) == [], (language, width)
        page.set_viewport_size({"width": 1280, "height": 900})
        text = page.locator("main").inner_text()
        assert "Cells B6:B7, B9:B10 were merged; the value was filled down." in text
        assert "Rows 4–5 together form the header" in text
        assert "Subtotaal West" in text and "Eindtotaal" in text
        # The steward turns "Gemeente" into a number by mistake and loads.
        page.select_option("#type_1", "integer")
        page.get_by_role("button", name="Check and load").click()
        page.wait_for_url(url)
        run_tasks()
        page.goto(url)
        assert "Nothing was loaded" in page.locator("main").inner_text()
        assert axe_violations(page) == []
        page.get_by_role("button", name="Back to the column review").click()
        again = Load.objects.exclude(pk=load.pk).get()
        page.wait_for_url(f"**/loads/{again.pk}/")
        assert page.locator("#type_1").input_value() == "integer"
        page.select_option("#type_1", "text")
        page.get_by_role("button", name="Check and load").click()
        page.wait_for_url(f"**/loads/{again.pk}/")
        run_tasks()
        again.refresh_from_db()
        assert again.state == "done", again.message
        assert again.version.row_count == 4
        page.screenshot(path=str(tmp_path / "loaded.png"), full_page=True)
