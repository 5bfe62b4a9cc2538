"""In a real browser, on a desk screen (1280 px) and a phone (375 px): the letters list,
a letter's page (delivered, and failed with its resend form), the failed letters and the
new-letter form showing its errors meet WCAG 2.1 AA (axe-core), and none of them scrolls
sideways on the phone. Screenshots land in /tmp/shots/ for a person to look at."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from regiohub.core.roles import Role
from regiohub.core.testing import axe_violations, chromium_page, login_page_as, run_tasks
from regiohub.core.tests.factories import MembershipFactory
from regiohub.documents import services
from regiohub.documents.delivery import CannotDeliver, record_failure
from regiohub.documents.tests.conftest import ADDRESS, CITIZEN, CITIZEN_PAPER, COMPANY, pdf

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SHOTS = Path(tempfile.gettempdir()) / "shots"


def submit(org, number=CITIZEN, kind="citizen", **extra):
    return services.submit(
        services.Submission(
            organisation=org,
            reference=extra.pop("reference", "OMV-2026-0042"),
            idempotency_key=str(uuid.uuid4()),
            recipient_kind=kind,
            recipient_number=number,
            recipient_name=extra.pop("name", "An Peeters"),
            address_lines=extra.pop("address", ADDRESS),
            subjects=extra.pop("subjects", {"nl": "Beslissing omgevingsvergunning"}),
            files=[("besluit.pdf", pdf(2)), ("plan.pdf", pdf(1))],
        )
    ).letter


def test_the_letters_pages_are_accessible_on_a_desk_and_a_phone(live_server, sender, ebox):
    org = sender.organisation
    handler = MembershipFactory(organisation=org, role=Role.HANDLER).user
    delivered = submit(org)
    submit(org, COMPANY, "enterprise", reference="BEL-2026-117", name="Bouwbedrijf De Muur BV")
    submit(org, CITIZEN_PAPER, reference="GAS-2026-0007")
    long = submit(
        org,
        CITIZEN_PAPER,
        reference="OMGEVINGSVERGUNNING-2026-" + "0" * 40,
        name="Marie-Françoise Vandenberghe-Delacroix",
        subjects={"nl": "Beslissing" + "zonderspaties" * 12, "fr": "Décision"},
    )
    run_tasks()
    record_failure(long.pk, CannotDeliver("De drukpartner weigerde het adres."), final=True)
    pages = {
        "list": "/staff/letters/",
        "letter": f"/staff/letters/{delivered.public_id}/",
        "failed letter": f"/staff/letters/{long.public_id}/",
        "failed": "/staff/letters/failed/",
    }
    SHOTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        login_page_as(page, handler, live_server.url)
        for width, height in ((1280, 900), (375, 740)):
            page.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                page.goto(live_server.url + path)
                shot = SHOTS / f"letters-{name.replace(' ', '-')}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                where = f"{name} at {width} px"
                assert axe_violations(page) == [], where
                if width < 400:
                    assert page.evaluate(OVERFLOW) <= 0, where
            # The new letter, sent with a wrong number and no PDF: its errors on top.
            page.goto(live_server.url + "/staff/letters/new/")
            page.fill("#id_reference", "OMV-2026-0043")
            page.fill("#id_recipient_number", "93.05.18-223.62")
            page.fill("#id_subject_nl", "Beslissing")
            page.click("button.button-large")
            page.wait_for_selector("#form-errors")
            page.screenshot(path=str(SHOTS / f"letters-new-errors-{width}.png"), full_page=True)
            where = f"new letter with errors at {width} px"
            assert page.locator("#form-errors li").count() >= 2, where
            assert axe_violations(page) == [], where
            if width < 400:
                assert page.evaluate(OVERFLOW) <= 0, where
            # Unfolded: writing the letter from a template.
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.screenshot(path=str(SHOTS / f"letters-new-template-{width}.png"), full_page=True)
            assert axe_violations(page) == [], where + ", template unfolded"
            if width < 400:
                assert page.evaluate(OVERFLOW) <= 0, where + ", template unfolded"
        # The summary's link takes the person to the field.
        page.click("#form-errors a[href='#id_recipient_number']")
        assert page.evaluate("document.activeElement.id") == "id_recipient_number"
