"""Reports become TOPdesk incidents; TOPdesk's status is polled back through the workflow.

Against the strict fake TOPdesk (``contrib/topdesk/fake.py``), which refuses what the real
one refuses."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.contrib.topdesk.fake import DEFAULT_PERSON_EMAIL, fake_topdesk, settings_for
from regiohub.meldpunt.contrib.topdesk.tasks import poll_topdesk
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


def connect(organisation, fake, **settings):
    return ConnectorConfig.objects.create(
        name="TOPdesk Kortrijk",
        organisation=organisation,
        connector="topdesk",  # every category of the municipality
        settings=settings_for(fake, **settings),
    )


def test_a_report_becomes_an_incident_with_operator_basic_auth(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake)
        report = file_report()
        run_tasks()
    lookup, create = fake.received
    assert lookup.method == "GET" and urlsplit(lookup.path).path == "/tas/api/incidents"
    assert parse_qs(urlsplit(lookup.path).query)["query"] == [
        f'externalNumber=="{report.reference}"'
    ]  # a retry finds the incident its lost answer made
    assert (create.method, create.path) == ("POST", "/tas/api/incidents")
    assert (
        create.headers["Authorization"] == "Basic " + base64.b64encode(b"regiohub:app-pw").decode()
    )
    body = create.json()
    assert body["externalNumber"] == report.reference
    assert body["briefDescription"].startswith(report.reference)
    assert body["callType"] == {"name": "Melding"}
    assert body["category"] == {"name": "Openbaar domein"}
    assert body["callerLookup"] == {"email": DEFAULT_PERSON_EMAIL}
    assert "burger@example.org" not in create.body.decode()  # include_contact is off
    incident = fake.only_incident()
    assert fake.counts["incident"] == 1 and fake.counts["refused"] == 0
    delivery = Delivery.objects.get(report=report)
    assert (delivery.state, delivery.external_id) == ("sent", incident["id"])


def test_wrong_application_password_is_not_sent(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, application_password="wrong")
        report = file_report()
        run_tasks()
    delivery = Delivery.objects.get(report=report)
    assert delivery.state == "failed" and "credentials" in delivery.last_error
    assert fake.incidents == {}


def test_polled_status_changes_go_through_the_workflow_once(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake)
        report = file_report()
        run_tasks()
        mail.outbox.clear()
        incident = fake.only_incident()
        fake.set_processing_status(incident["id"], "In behandeling")
        poll_topdesk.call()
        poll_topdesk.call()  # nothing new
        fake.set_processing_status(incident["id"], "Afgemeld")
        poll_topdesk.call()
        run_tasks()
    assert fake.received[-1].path == f"/tas/api/incidents/id/{incident['id']}"
    report.refresh_from_db()
    assert report.status == Status.RESOLVED
    changes = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
    assert [c.after["status"] for c in changes] == ["in_progress", "resolved"]
    assert {c.actor_label for c in changes} == {"TOPdesk Kortrijk"}
    assert len(mail.outbox) == 2
    # What TOPdesk itself changed is not added back to it as an action.
    assert fake.counts["action"] == 0
