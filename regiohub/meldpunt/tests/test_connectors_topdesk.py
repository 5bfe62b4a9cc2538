"""Reports become TOPdesk incidents; TOPdesk's status is polled back through the workflow."""

from __future__ import annotations

import base64

import pytest
from django.core import mail

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.contrib.connectors.testing import Answer, fake_server
from regiohub.meldpunt.contrib.topdesk.tasks import poll_topdesk
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

INCIDENT_ID = "a1b2c3d4-0000-4000-8000-000000000001"


def connect(organisation, url):
    return ConnectorConfig.objects.create(
        name="TOPdesk Kortrijk",
        organisation=organisation,
        connector="topdesk",  # every category of the municipality
        settings={
            "url": url,
            "username": "regiohub",
            "application_password": "app-pw",
            "call_type": "Melding",
            "category": "Openbaar domein",
            "timeout": 0.5,
        },
    )


def incident(status: str, *, closed: bool = False, modified: str = "1") -> dict:
    return {
        "id": INCIDENT_ID,
        "number": "I 2611 001",
        "processingStatus": {"id": "x", "name": status},
        "closed": closed,
        "modificationDate": f"2026-11-25T10:00:0{modified}.000+0000",
    }


def test_a_report_becomes_an_incident_with_operator_basic_auth(categories):
    with fake_server(Answer(201, incident("Geregistreerd"))) as server:
        connect(categories["KOR"], server.url)
        report = file_report()
        run_tasks()
    (request,) = server.received
    assert (request.method, request.path) == ("POST", "/tpapi/incidents")
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(b"regiohub:app-pw").decode()
    )
    body = request.json()
    assert body["externalNumber"] == report.reference
    assert body["briefDescription"].startswith(report.reference)
    assert len(body["briefDescription"]) <= 80
    assert body["callType"] == {"name": "Melding"}
    assert body["category"] == {"name": "Openbaar domein"}
    assert "burger@example.org" not in request.body.decode()
    delivery = Delivery.objects.get(report=report)
    assert (delivery.state, delivery.external_id) == ("sent", INCIDENT_ID)


def test_wrong_application_password_is_not_sent(categories):
    with fake_server(Answer(401, {})) as server:
        connect(categories["KOR"], server.url)
        report = file_report()
        run_tasks()
    delivery = Delivery.objects.get(report=report)
    assert delivery.state == "failed" and "credentials" in delivery.last_error


def test_polled_status_changes_go_through_the_workflow_once(categories):
    with fake_server(Answer(201, incident("Geregistreerd"))) as server:
        connect(categories["KOR"], server.url)
        report = file_report()
        run_tasks()
        mail.outbox.clear()
        server.answers[:] = [Answer(200, incident("In behandeling"))]
        poll_topdesk.call()
        poll_topdesk.call()  # nothing new
        server.answers[:] = [Answer(200, incident("Afgemeld", closed=True, modified="2"))]
        poll_topdesk.call()
    assert server.received[1].path == f"/tpapi/incidents/id/{INCIDENT_ID}"
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    changes = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
    assert [c.after["status"] for c in changes] == ["in_progress", "resolved"]
    assert {c.actor_label for c in changes} == {"TOPdesk Kortrijk"}
    run_tasks()
    assert len(mail.outbox) == 2
