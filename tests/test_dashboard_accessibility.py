"""In a real browser, on a desk screen (1280 px) and a phone (375 px): every shipped
dashboard with the demo region's data, the map over time (also after moving its player),
a chart alone, the filter form showing a mistake, and the embed view meet WCAG 2.1 AA
(axe-core), and none of them scrolls sideways on the phone (wide tables scroll inside
their own region).

The demo region is loaded once for the module, as ``regiohub demo`` loads it (reports,
the real Telraam and Statbel files, the demo exports, the shipped dashboards)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from regiohub.core.models import User
from regiohub.core.testing import axe_violations, chromium_page, login_page_as, shared_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.needs_shared,
    pytest.mark.django_db(transaction=True),
]

WIDTHS = ((1280, 900), (375, 740))
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
PUBLIC = ["mobiliteit", "inkomens", "meldingen-per-wijk"]
INTERNAL = ["meldpunt", "dienstverlening", "ict"]


def visits() -> list[tuple[str, str, bool]]:
    """(name, address, as staff)."""
    found = [("list", "/dashboards/", False), ("list staff", "/dashboards/", True)]
    found += [(slug, f"/dashboards/{slug}/", False) for slug in PUBLIC]
    found += [(slug, f"/dashboards/{slug}/", True) for slug in INTERNAL]
    found += [
        (f"{slug} embedded", f"/dashboards/{slug}/?embed=1&lang=nl", False) for slug in PUBLIC
    ]
    found += [
        ("one chart", "/dashboards/mobiliteit/per-uur-van-de-dag/", False),
        ("a mistake", "/dashboards/mobiliteit/?start=2025-12-01&end=2025-09-01", False),
        ("french", "/dashboards/inkomens/?embed=1&lang=fr", False),
    ]
    return found


def test_every_dashboard_page_is_accessible_on_a_desk_and_a_phone(live_server, settings):
    shared_path("data", "telraam")  # the demo's real files (skips outside CI when absent)
    settings.DASHBOARDS_SUPPRESS_BELOW = 3
    call_command("demo", verbosity=0, stdout=_Quiet())
    staff = User.objects.get(email="regio@demo.regiohub.localhost")
    problems: dict[str, Any] = {}
    for width, height in WIDTHS:
        with chromium_page(width, height) as page:
            login_page_as(page, staff, live_server.url)
            staff_cookies = page.context.cookies()
            for name, path, as_staff in visits():
                if as_staff:
                    page.context.add_cookies(staff_cookies)
                else:
                    page.context.clear_cookies()
                response = page.goto(live_server.url + path)
                status = response.status if response else 0
                expected = 400 if name == "a mistake" else 200
                label = f"{name} @ {width}px"
                if status != expected:
                    problems[label] = f"status {status}"
                    continue
                if page.locator(".figure-problem").count():
                    problems[label] = page.locator(".figure-problem").all_inner_texts()
                violations = axe_violations(page)
                if violations:
                    problems[label] = violations
                if width < 600 and page.evaluate(OVERFLOW) > 1:
                    problems[label + " (scrolls sideways)"] = page.evaluate(OVERFLOW)
            # The map's player: move it, play and pause; the page stays accessible.
            page.context.clear_cookies()
            page.goto(live_server.url + "/dashboards/meldingen-per-wijk/")
            slider = page.locator("form.map-player input[type=range]")
            assert slider.count() == 1, "the player has no slider with JavaScript on"
            slider.focus()
            page.keyboard.press("ArrowLeft")
            assert page.locator("form.map-player output").inner_text()
            page.locator("form.map-player button[aria-pressed]").click()
            page.locator("form.map-player button[aria-pressed]").click()
            violations = axe_violations(page)
            if violations:
                problems[f"map after playing @ {width}px"] = violations
    assert not problems, problems


class _Quiet:
    def write(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass
