"""In a real browser, in Dutch, French and English, on a desk screen (1280 px) and a phone
(375 px): the inbox, the report page (its folded actions unfolded too), incoming mail and
an error page meet WCAG 2.1 AA (axe-core), and none of them scrolls sideways on the phone."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.test import override_settings
from django.utils import timezone

from regiohub.core.testing import axe_violations, chromium_page, login_page_as
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import services, statistics
from regiohub.meldpunt.contrib.mail.intake import receive
from regiohub.meldpunt.models import MessageTemplate
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

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


def long_mail() -> None:
    message = EmailMessage()
    address = "een.zeer.lang.adres.zonder.spaties@voorbeeld-gemeente.example.org"
    message["From"] = f"Wie-Schrijft-Er-Een-Heel-Lang-Adres <{address}>"
    message["Subject"] = "Subject" + "Zonderspaties" * 12
    message["Message-ID"] = "<a11y-1@example.org>"
    message.set_content("https://example.org/" + "lange-link-" * 30 + "\nEr ligt een boom.")
    receive(message.as_bytes())


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_agents_pages_are_accessible_on_a_desk_and_a_phone(live_server, categories, language):
    agent = MembershipFactory(organisation=categories["ZWVL"], agent=True).user
    report = file_report(reporter_name="An Peeters", reporter_phone="056 27 00 00")
    services.send_message(report, "Aan welke kant?", actor=agent, question=True)
    for n in range(10):  # more history than the page shows at once
        services.add_note(report, f"Notitie {n}.", actor=agent)
    other = file_report(code="street-light", description="Lamp kapot.")
    services.change_status(other, Status.IN_PROGRESS, actor=agent)
    MessageTemplate.objects.create(language="nl", title="Ingepland", body="Ingepland.",
                                   status=Status.IN_PROGRESS)  # fmt: skip
    long_mail()
    by_address = services.submit_report(
        category_code="pothole", description="Put.", latitude=None, longitude=None,
        address="Doorniksestraat 45", municipality_code="KOR", channel="phone",
    ).report  # fmt: skip
    # A resolved report whose reporter asks to reopen it, and the statistics counted.
    asked = services.change_status(file_report(), Status.RESOLVED, actor=agent)
    unhappy = next(o for o in citizen.satisfaction_options(asked) if not o.satisfied)
    citizen.answer_satisfaction(asked, unhappy.pk, "Nog steeds een gat.", reopen=True)
    statistics.refresh_months([timezone.localdate()])
    pages = {
        "inbox": "/staff/reports/",
        "reopen requested": f"/staff/reports/{asked.reference}/",
        "statistics": "/staff/reports/statistics/?rows=municipality_category",
        "report": f"/staff/reports/{report.reference}/",
        "mail": "/staff/reports/mail/",
        "not found": "/staff/reports/KOR-1999-000001/",
        "intake": "/staff/reports/new/",
        "place unknown": f"/staff/reports/{by_address.reference}/",
    }
    with chromium_page() as page:
        page.context.add_cookies(
            [{"name": "regiohub_language", "value": language, "url": live_server.url}]
        )
        login_page_as(page, agent, live_server.url)
        for width, height in ((1280, 900), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                page.goto(live_server.url + path)
                assert page.locator("html").get_attribute("lang") == language
                where = f"{name} at {width} px"
                assert axe_violations(page) == [], where
                if width < 400:
                    assert page.evaluate(OVERFLOW) <= 0, where
                if name in ("report", "place unknown"):  # folded actions and history, unfolded
                    page.evaluate(
                        "document.querySelectorAll('details').forEach(d => d.open = true)"
                    )
                    assert axe_violations(page) == [], where + ", unfolded"
                    if width < 400:
                        assert page.evaluate(OVERFLOW) <= 0, where + ", unfolded"
        # The label of the internal note names (and focuses) the note, not the message box.
        page.goto(live_server.url + pages["report"])
        page.click("label[for=note-body]")
        assert page.evaluate("document.activeElement.id") == "note-body"
        # "Select all" ticks every row; the bulk bar comes before the list.
        page.goto(live_server.url + pages["inbox"])
        page.check("[data-select-all]")
        assert page.locator("input[name=reports]:checked").count() == 3
        bar = page.locator(".bulk-actions").bounding_box()
        table = page.locator(".inbox-table").bounding_box()
        assert bar["y"] < table["y"]
