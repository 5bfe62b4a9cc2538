"""In a real browser, in Dutch, French and English, on a desk screen and a phone: the
portal's pages meet WCAG 2.1 AA (axe-core) and none scrolls sideways on the phone."""

from __future__ import annotations

import pytest

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.opendata.tests.factories import open_dataset, published, steward, town

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = ((1280, 900), (375, 740))
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_the_portal_is_accessible_on_a_desk_and_a_phone(live_server):
    kortrijk = town("KOR")
    published(kortrijk, licence="CC-BY-NC-4.0")
    published(town("WAR"), "afval", title="Ophaling huisvuil", keywords=["afval"])
    open_dataset(kortrijk, "ontwerp", title="Ontwerp")
    user = steward(kortrijk)
    visitor = ["/open/", "/open/?q=fietsers&publisher=KOR", "/open/?q=niets",
               "/open/verkeerstellingen/", "/open/afval/"]  # fmt: skip
    stewards = ["/staff/open/", "/staff/open/ontwerp/", "/staff/open/verkeerstellingen/"]
    problems: list[str] = []
    with chromium_page() as page:

        def look(paths: list[str]) -> None:
            for language in ("nl", "fr", "en"):
                page.context.add_cookies(
                    [{"name": "regiohub_language", "value": language, "url": live_server.url}]
                )
                for path in paths:
                    page.set_viewport_size({"width": 1280, "height": 900})
                    response = page.goto(live_server.url + path)
                    if response is None or response.status != 200:
                        problems.append(f"{path} [{language}]: {response and response.status}")
                    if page.locator("html").get_attribute("lang") != language:
                        problems.append(f"{path} [{language}]: not in {language}")
                    for width, height in WIDTHS:
                        page.set_viewport_size({"width": width, "height": height})
                        where = f"{path} [{language}, {width} px]"
                        problems.extend(f"{where}: {v}" for v in axe_violations(page))
                        if width < 400 and page.evaluate(OVERFLOW) > 0:
                            problems.append(f"{where}: scrolls sideways")

        look(visitor)
        login_page_as(page, user, live_server.url)
        look(stewards)
    assert problems == [], "\n".join(problems)
