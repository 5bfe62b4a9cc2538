"""An external body answers its hand-overs through Open311 (POST servicerequestupdates with a
key linked to the body, ADR 0038): acknowledged, resolved or not theirs, once, and only for
the reports handed over to it; anything else is refused in the spec's error format."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt import services
from regiohub.meldpunt.models import ApiClient, ExternalBody, Handover, HandoverState, Report
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.tests.test_open311 import BASE, KORTRIJK, data, errors_json, errors_xml
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

URL = f"{BASE}/servicerequestupdates"
REPORTER = "burger@example.org"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def awv(categories):
    return ExternalBody.objects.create(code="awv", name="AWV", email="awv@example.org")


@pytest.fixture
def fluvius(categories):
    return ExternalBody.objects.create(code="fluvius", name="Fluvius", email="f@example.org")


@pytest.fixture
def awv_key(awv):
    client, key = ApiClient.create_with_key(name="AWV-meldingensysteem")
    client.external_body = awv
    client.save()
    return key


def hand(body, kortrijk_agent, **kwargs) -> Report:
    report = file_report(**kwargs)
    services.forward_to_external_body(report, body, reason="Gewestweg", actor=kortrijk_agent)
    return Report.objects.get(pk=report.pk)


def post(client, report, key, fmt="json", **params):
    fields = {
        "api_key": key,
        "jurisdiction_id": KORTRIJK,
        "service_request_id": report.reference,
        "update_id": "awv-1",
        "status": "INVESTIGATING",
        "updated_datetime": "2026-10-25T02:30:00+01:00",
        "description": "",
        **params,
    }
    return client.post(f"{URL}.{fmt}", fields)


def test_the_body_acknowledges_then_resolves_its_hand_over_and_the_reporter_hears_it(
    client, awv, awv_key, kortrijk_agent, mailoutbox
):
    report = hand(awv, kortrijk_agent)
    run_tasks()
    mailoutbox.clear()
    (first,) = data(post(client, report, awv_key, description="Ploeg gepland."))
    handover = Handover.objects.get(report=report)
    assert handover.state == HandoverState.ACKNOWLEDGED
    assert handover.acknowledgement == "Ploeg gepland."
    (second,) = data(
        post(
            client,
            report,
            awv_key,
            update_id="awv-2",
            status="FIXED",
            description="Het gat is gedicht.",
        )
    )
    assert first["update_id"] != second["update_id"]
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    handover.refresh_from_db()
    assert handover.state == HandoverState.RESOLVED and handover.answer == "Het gat is gedicht."
    recorded = HistoryEntry.objects.for_object(report).filter(action="report.updated_through_api")
    assert [e.after["handover"] for e in recorded] == [handover.pk, handover.pk]
    run_tasks()
    told = [m for m in mailoutbox if REPORTER in m.to and "Het gat is gedicht." in m.body]
    assert len(told) == 1
    # The update is public, once, with the body's text.
    updates = data(client.get(f"{URL}.json", {"jurisdiction_id": KORTRIJK}))
    fixed = [u for u in updates if u["update_id"] == second["update_id"]]
    assert len(fixed) == 1 and fixed[0]["status"] == "FIXED"
    assert "Het gat is gedicht." in fixed[0]["description"]
    assert sum("Het gat is gedicht." in (u["description"] or "") for u in updates) == 1


def test_not_ours_sends_the_report_back_to_triage(client, awv, awv_key, kortrijk_agent):
    report = hand(awv, kortrijk_agent)
    post(
        client,
        report,
        awv_key,
        status="NOT_COUNCILS_RESPONSIBILITY",
        description="Gemeenteweg, niet de N43.",
    )
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    assert report.routing_state == "uncertain"
    assert Handover.objects.get(report=report).state == HandoverState.REJECTED


def test_the_body_may_only_touch_reports_handed_over_to_it(
    client, awv, fluvius, awv_key, kortrijk_agent
):
    theirs = hand(fluvius, kortrijk_agent)
    never = file_report()
    for report in (theirs, never):
        (error,) = errors_json(post(client, report, awv_key, status="FIXED", description="x"), 403)
        assert "not handed over to AWV" in error
        report.refresh_from_db()
        assert report.status in (Status.FORWARDED, Status.NEW)
    assert Handover.objects.get(report=theirs).state == HandoverState.SENT
    # A report it had, taken back by the municipality: refused with the reason.
    taken = hand(awv, kortrijk_agent)
    services.change_status(taken, Status.IN_PROGRESS, actor=kortrijk_agent)
    (error,) = errors_json(
        post(client, taken, awv_key, update_id="awv-9", status="FIXED", description="x"), 409
    )
    assert "took this report back" in error
    assert Report.objects.get(pk=taken.pk).status == Status.IN_PROGRESS


def test_a_second_answer_is_refused_and_a_repeated_update_id_too(
    client, awv, awv_key, kortrijk_agent
):
    report = hand(awv, kortrijk_agent)
    fixed = {"status": "FIXED", "description": "Gedicht."}
    data(post(client, report, awv_key, **fixed))
    (repeat,) = errors_json(post(client, report, awv_key, **fixed), 409)
    assert "already received" in repeat
    (same,) = errors_json(post(client, report, awv_key, update_id="awv-2", **fixed), 409)
    assert "already has this answer" in same
    (other,) = errors_json(
        post(
            client,
            report,
            awv_key,
            update_id="awv-3",
            status="NOT_COUNCILS_RESPONSIBILITY",
            description="Toch niet van ons.",
        ),
        409,
    )
    assert "already resolved" in other
    assert Report.objects.get(pk=report.pk).status == Status.RESOLVED
    assert (
        HistoryEntry.objects.for_object(report).filter(action="report.handover_resolved").count()
        == 1
    )


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"status": "FIXED", "description": ""}, "This field is required."),
        ({"status": "NOT_COUNCILS_RESPONSIBILITY", "description": "  "}, "required"),
        ({"status": "DUPLICATE"}, "post INVESTIGATING"),
        ({"status": "REOPEN"}, "post INVESTIGATING"),
        ({"status": "FIXED", "description": "x" * 2001}, "2000"),
        ({"status": "BOGUS"}, "is not one of"),
    ],
)
def test_wrong_answers_are_refused_and_change_nothing(
    client, awv, awv_key, kortrijk_agent, params, error
):
    report = hand(awv, kortrijk_agent)
    messages = errors_xml(post(client, report, awv_key, fmt="xml", **params), 400)
    assert any(error in m for m in messages), messages
    assert Report.objects.get(pk=report.pk).status == Status.FORWARDED
    assert Handover.objects.get(report=report).state == HandoverState.SENT


def test_nul_in_an_update_is_refused(client, awv, awv_key, kortrijk_agent):
    report = hand(awv, kortrijk_agent)
    response = post(client, report, awv_key, status="FIXED", description="Gedicht\x00")
    errors_json(response, 400)
    assert Report.objects.get(pk=report.pk).status == Status.FORWARDED


def test_a_municipality_key_is_not_a_body_key(client, categories, awv, kortrijk_agent):
    """A key without a body posts as the municipality's app did before: it may close the
    report (and so ends the hand-over), never answer for the body."""
    report = hand(awv, kortrijk_agent)
    key = ApiClient.create_with_key(name="Kortrijk-app", organisation=categories["KOR"])[1]
    data(post(Client(), report, key, status="FIXED", description="Door ons gedicht."))
    assert Handover.objects.get(report=report).state == HandoverState.ENDED
    assert Report.objects.get(pk=report.pk).status == Status.RESOLVED
