"""The inbox's search box finds what a caller names: a reference (whole, in lower case, or
only its year and number) finds the report whatever the filters say, and a whole one opens
it; an e-mail address or phone number (written any way) lists that reporter's reports in
every status - only for staff who may see the reporter's contact details, and never beyond
the municipalities the agent handles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from regiohub.core.models import Department
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import inbox, queries, services
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

INBOX = "/staff/reports/"
EMAIL = "an.peeters@example.org"
PHONE = "056 27 00 00"


def browser(user):
    client = staff_client(user)
    client.cookies["regiohub_language"] = "en"
    return client


def listed(response) -> list[str]:
    assert response.status_code == 200
    return sorted(report.reference for report, _sla in response.context["rows"])


def report_url(report: Report) -> str:
    return reverse("meldpunt:staff-report", args=[report.reference])


def handler(organisation, department_name: str):
    department = Department.objects.get(organisation=organisation, name=department_name)
    return MembershipFactory(
        organisation=organisation, role=Role.HANDLER, department=department
    ).user


@pytest.fixture
def an(categories, kortrijk_agent):
    """An Peeters' reports in Kortrijk: one new (roads), one resolved (mobility), one
    cancelled; a neighbour's report; and one An filed in Menen."""
    new = file_report(reporter_email=EMAIL, reporter_phone=PHONE, description="Gat.")
    resolved = file_report(
        code="traffic-sign", reporter_email="An.Peeters@Example.org", description="Bord om."
    )
    services.change_status(resolved, Status.RESOLVED, actor=kortrijk_agent)
    cancelled = file_report(reporter_email="", reporter_phone="+32 (0)56/27.00.00")
    services.change_status(cancelled, Status.CANCELLED, actor=kortrijk_agent, reason="Dubbel")
    neighbour = file_report(reporter_email="buur@example.org", reporter_phone="056 27 00 01")
    menen = file_report(where=MENEN_CENTRE, reporter_email=EMAIL, reporter_phone=PHONE)
    return {
        "new": new,
        "resolved": resolved,
        "cancelled": cancelled,
        "neighbour": neighbour,
        "menen": menen,
    }


def refs(*reports: Report) -> list[str]:
    return sorted(r.reference for r in reports)


# --- References ---------------------------------------------------------------------------


FILTERS = "&status=open&sla=overdue&category=noise&assignee=me&channel=phone&sort=oldest"


def test_a_reference_finds_the_report_whatever_the_filters_say(an, kortrijk_agent):
    client = browser(kortrijk_agent)
    resolved = an["resolved"]
    year_and_number = resolved.reference.split("-", 1)[1]  # 2026-000002
    for text in (year_and_number, year_and_number.lstrip("0"), resolved.reference[:-1].lower()):
        response = client.get(INBOX + f"?q={text}{FILTERS}")
        assert resolved.reference in listed(response), text
    response = client.get(INBOX + f"?q={year_and_number}{FILTERS}")
    assert "the other filters are not applied" in response.content.decode()
    # "2026-2" is 2026-000002, not every number starting with 2.
    number = int(resolved.reference[-6:])
    assert listed(client.get(INBOX + f"?q={resolved.reference[4:9]}{number}")) == [
        resolved.reference
    ]


def test_a_whole_reference_opens_the_report_in_any_case(an, kortrijk_agent):
    client = browser(kortrijk_agent)
    cancelled = an["cancelled"]
    for text in (cancelled.reference, cancelled.reference.lower(), f" {cancelled.reference} "):
        response = client.get(INBOX, {"q": text, "status": "open", "sla": "overdue"})
        assert response.status_code == 302, text
        assert response["Location"] == report_url(cancelled)


def test_a_reference_search_never_leaves_the_agents_municipalities(an, kortrijk_agent):
    client = browser(kortrijk_agent)
    menen = an["menen"]
    response = client.get(INBOX, {"q": menen.reference})
    assert listed(response) == []  # no redirect, no row
    assert response.context["page"].count == 0
    # Its year and number are those of a Kortrijk report too: only that one is found.
    same_number = Report.objects.get(reference="KOR" + menen.reference[3:])
    assert listed(client.get(INBOX, {"q": menen.reference[4:]})) == [same_number.reference]


def test_words_still_search_within_the_filters(an, kortrijk_agent):
    client = browser(kortrijk_agent)
    assert listed(client.get(INBOX, {"q": "bord"})) == []  # resolved: not open
    assert listed(client.get(INBOX, {"q": "bord", "status": "all"})) == [an["resolved"].reference]


# --- E-mail address and phone number -------------------------------------------------------


def test_an_e_mail_address_lists_the_reporters_reports_in_every_status(an, kortrijk_agent):
    client = browser(kortrijk_agent)
    expected = refs(an["new"], an["resolved"])
    for text in (EMAIL, EMAIL.upper(), f"  {EMAIL} "):
        response = client.get(INBOX, {"q": text, "status": "new", "category": "noise"})
        assert listed(response) == expected, text
    assert "reports in every status" in response.content.decode()


@pytest.mark.parametrize(
    "typed",
    ["056 27 00 00", "056270000", "056/27.00.00", "056-27-00-00", "+32 56 27 00 00",
     "+3256270000", "0032 56 27 00 00", "+32 (0)56 27 00 00"],
)  # fmt: skip
def test_a_phone_number_is_found_however_it_is_written(an, kortrijk_agent, typed):
    response = browser(kortrijk_agent).get(INBOX, {"q": typed, "status": "resolved"})
    assert listed(response) == refs(an["new"], an["cancelled"])


def test_staff_who_may_not_see_contact_details_find_nobody_by_them(an, region):
    # Handles Kortrijk's reports, but of another department: no contact details.
    other = handler(region["KOR"], "Milieu")
    client = browser(other)
    for text in (EMAIL, PHONE):
        response = client.get(INBOX, {"q": text, "status": "all"})
        assert listed(response) == [], text
        assert response.context["page"].count == 0  # not even how many
        html = response.content.decode()
        assert an["new"].reference not in html and an["resolved"].reference not in html
    # They still find the reports themselves by reference.
    assert browser(other).get(INBOX, {"q": an["new"].reference}).status_code == 302


def test_the_department_and_the_assignee_find_the_reports_they_may_see(an, region):
    roads = handler(region["KOR"], "Openbare werken")  # the pothole's department
    assert listed(browser(roads).get(INBOX, {"q": EMAIL})) == [an["new"].reference]
    other = handler(region["KOR"], "Milieu")
    services.assign(an["resolved"], actor=roads, assignee=other)
    assert listed(browser(other).get(INBOX, {"q": EMAIL})) == [an["resolved"].reference]


def test_a_region_agent_finds_the_reporter_in_every_municipality(an, region):
    agent = MembershipFactory(organisation=region["ZWVL"], agent=True).user
    assert listed(browser(agent).get(INBOX, {"q": EMAIL})) == refs(
        an["new"], an["resolved"], an["menen"]
    )


def test_the_search_filter_and_the_report_page_agree_on_who_sees_contact_details(
    an, region, kortrijk_agent, region_admin
):
    roads = handler(region["KOR"], "Openbare werken")
    other = handler(region["KOR"], "Milieu")
    services.assign(an["cancelled"], actor=kortrijk_agent, assignee=other)
    menen_agent = MembershipFactory(organisation=region["MEN"], agent=True).user
    for person in (kortrijk_agent, region_admin, roads, other, menen_agent):
        visible = set(Report.objects.filter(queries.contact_visible_q(person)))
        for report in Report.objects.all():
            assert (report in visible) == queries.can_see_contact(person, report), (person, report)


# --- What the search box holds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("KOR-2026-000123", "reference"), ("kor-2026", "reference"), ("2026-000123", "reference"),
        ("2026-12", "reference"), ("123", "words"), ("gat in de weg", "words"),
        ("a@b.be", "email"), ("an @ b.be", "words"), ("0471 23 45 67", "phone"),
        ("+32 (0)56 27 00 00", "phone"), ("Kerkstraat 12", "words"), ("2026", "words"),
        ("1234567", "words"), ("05/01/2026", "words"), ("2026-01-05", "words"),
        ("5.1.2026", "words"), ("056.27.00.00", "phone"), ("0471/23.45.67", "phone"),
        ("12345678", "words"),
    ],
)  # fmt: skip
def test_what_the_search_box_holds(text, kind):
    assert inbox.search_kind(text) == kind


def test_phone_variants_are_one_number():
    variants = inbox.phone_variants("0471 23 45 67")
    assert {"0471234567", "+32471234567", "0032471234567"} <= variants
    assert inbox.phone_variants("+32 (0)471 23 45 67") == variants
    assert inbox.phone_variants("+33 1 23 45 67 89") == {"+33123456789", "0033123456789"}
