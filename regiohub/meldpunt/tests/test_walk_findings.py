"""What a walk through the hand-off link (on a phone) and the inbox queues (an agent) ran
into: a dead link that only said "page not found", errors that opened at the top of a long
page, a long answer that pushed the page sideways, queues that a second filter silently
dropped, uncertain reports that looked like any other, a "due soon" badge beside a date two
weeks away, and an empty "()" on the report page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from regiohub.core.testing import staff_client
from regiohub.meldpunt import services
from regiohub.meldpunt.links import handoff_token
from regiohub.meldpunt.models import ExternalBody, Handover, Report
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[2] / "static" / "regiohub" / "css" / "site.css"
DEAD = "This link does not work (any more)"


@pytest.fixture
def awv(categories):
    return ExternalBody.objects.create(
        code="awv", name="Agentschap Wegen en Verkeer", email="meldingen@awv.example.org"
    )


@pytest.fixture
def handed(awv):
    """A report the rules handed to AWV (no agent did: ``by`` is empty); (report, path)."""
    report = file_report(description="Put in de N43.")
    handover = services.forward_to_external_body(report, awv, reason="Gewestweg N43.", actor=None)
    return Report.objects.get(pk=report.pk), f"/overdracht/{handoff_token(handover)}/"


def english() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def agent(user) -> Client:
    browser = staff_client(user)
    browser.cookies["regiohub_language"] = "en"
    return browser


# --- The hand-off link --------------------------------------------------------------------


@pytest.mark.parametrize("token", ["A" * 43, "short", "x" * 5000])
def test_a_wrong_link_says_it_does_not_work_and_what_to_do(handed, token):
    report, _path = handed
    for response in (
        english().get(f"/overdracht/{token}/"),
        english().post(f"/overdracht/{token}/", {"action": "acknowledge"}),
    ):
        assert response.status_code == 404
        page = response.content.decode()
        assert DEAD in page and "ask the municipality that handed it over" in page
        assert report.reference not in page and report.description not in page
        assert "no-store" in response["Cache-Control"]
        assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_an_expired_link_gets_the_same_page_as_a_wrong_one(handed, settings):
    report, path = handed
    settings.MELDPUNT_HANDOFF_LINK_DAYS = 30
    assert english().post(path, {"action": "resolve", "resolve-message": "Gedicht."}).status_code
    Handover.objects.filter(report=report).update(answered_at=timezone.now() - timedelta(days=31))
    response = english().get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert DEAD in page and "30 days after your answer" in page
    assert report.reference not in page and "Gedicht." not in page


def test_the_answer_forms_open_the_page_at_their_errors(handed):
    _report, path = handed
    page = english().get(path).content.decode()
    assert page.count('action="#form-errors"') == 3  # acknowledge, resolve, reject
    assert 'id="form-errors"' not in page
    refused = english().post(path, {"action": "reject", "reject-reason": " "})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert html.count('id="form-errors"') == 1
    # The summary is in the form that was sent, not in another one.
    assert html.index('id="h-reject"') < html.index('id="form-errors"')


def test_answers_and_descriptions_without_spaces_wrap_on_a_phone():
    css = CSS.read_text(encoding="utf-8")
    wraps = re.findall(r"([^{}]*)\{[^}]*overflow-wrap:\s*anywhere", css)
    assert any("blockquote" in selectors for selectors in wraps)  # the body's answer
    assert any(".routing-trace li" in selectors for selectors in wraps)  # its reason, to staff
    assert re.search(r"\.form-errors\s*\{[^}]*scroll-margin-top", css)


# --- The inbox queues ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "label"),
    [
        ("routing", "uncertain", "Routing uncertain"),
        ("handover", "overdue", "Hand-over overdue"),
        ("reopen", "requested", "Reopen requested"),
    ],
)
def test_a_queue_stays_on_when_another_filter_changes(
    categories, kortrijk_agent, param, value, label
):
    inbox = agent(kortrijk_agent)
    page = inbox.get(f"/staff/reports/?{param}={value}").content.decode()
    form = page[page.index('<form method="get" class="filters"') :]
    form = form[: form.index("</form>")]
    box = re.search(
        rf'<input type="checkbox" id="f-{param}" name="{param}" value="{value}"[^>]*>', form
    )
    assert box and "checked" in box.group(0)
    assert f'<label for="f-{param}">{label}</label>' in form
    assert f'href="?{param}={value}" aria-current="true"' in page
    # Off when the queue is not chosen.
    plain = inbox.get("/staff/reports/").content.decode()
    assert f'id="f-{param}"' not in plain and "aria-current" not in plain


def test_uncertain_reports_stand_out_in_the_inbox_and_link_to_the_owner_form(
    handed, kortrijk_agent
):
    report, path = handed
    english().post(path, {"action": "reject", "reject-reason": "Gemeenteweg."})
    report.refresh_from_db()
    assert report.routing_state == "uncertain" and report.is_open
    inbox = agent(kortrijk_agent)
    rows = inbox.get("/staff/reports/").content.decode()
    assert '<strong class="badge badge-soon">Routing uncertain</strong>' in rows
    detail = inbox.get(f"/staff/reports/{report.reference}/").content.decode()
    assert '<a class="badge badge-soon" href="#act-owner">Routing uncertain</a>' in detail
    assert 'id="act-owner" open' in detail
    owner = f'action="/staff/reports/{report.reference}/owner/#form-errors"'
    assert owner in detail
    # An owner decided empty: the page opens at the owner form's errors.
    refused = inbox.post(f"/staff/reports/{report.reference}/owner/", {"note": ""})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert html.count('id="form-errors"') == 1
    assert html.index('id="act-owner"') < html.index('id="form-errors"')


def test_a_certain_report_has_no_uncertain_badge(handed, kortrijk_agent):
    report, _path = handed
    rows = agent(kortrijk_agent).get("/staff/reports/").content.decode()
    assert report.reference in rows
    assert 'badge-soon">Routing uncertain' not in rows


def test_the_hand_over_line_has_no_empty_brackets_and_gives_the_bodys_address(
    handed, awv, kortrijk_agent
):
    report, _path = handed
    page = agent(kortrijk_agent).get(f"/staff/reports/{report.reference}/").content.decode()
    assert f"{awv.display_name} ()" not in page
    assert f'<a href="mailto:{awv.email}">{awv.email}</a>' in page
    # A hand-over by an agent still names them.
    other = file_report(description="Tweede put.")
    services.forward_to_external_body(other, awv, reason="N50", actor=kortrijk_agent)
    page = agent(kortrijk_agent).get(f"/staff/reports/{other.reference}/").content.decode()
    assert f"{awv.display_name} ({kortrijk_agent})" in page


def test_a_declined_reopen_without_a_reason_opens_at_its_error(categories, kortrijk_agent):
    report = file_report(description="Lawaai.", code="noise")
    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    citizen.reopen(Report.objects.get(pk=report.pk), "Het lawaai is er nog.")
    inbox = agent(kortrijk_agent)
    detail = inbox.get(f"/staff/reports/{report.reference}/").content.decode()
    decline = f"/staff/reports/{report.reference}/reopen-request/decline/"
    assert f'action="{decline}#form-errors"' in detail
    assert f'action="/staff/reports/{report.reference}/status/#form-errors"' in detail
    refused = inbox.post(decline, {"body": ""})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert html.count('id="form-errors"') == 1
    assert html.index('id="h-reopen-request"') < html.index('id="form-errors"')


def test_the_inbox_date_is_the_deadline_its_badge_is_about(categories, kortrijk_agent):
    report = file_report(description="Nieuw en nog niet beantwoord.")
    assert report.status == Status.NEW
    assert report.response_due_at < report.resolution_due_at

    def shown(due) -> str:
        return timezone.localtime(due).strftime("%d/%m %H:%M")

    inbox = agent(kortrijk_agent)
    rows = inbox.get("/staff/reports/").content.decode()
    assert f'title="Response due">{shown(report.response_due_at)}</time>' in rows
    services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    report.refresh_from_db()
    rows = inbox.get("/staff/reports/").content.decode()
    assert f'title="Resolution due">{shown(report.resolution_due_at)}</time>' in rows
    assert 'title="Response due"' not in rows
