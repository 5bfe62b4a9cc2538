"""Reports go to a municipality's back office by signed webhook; status comes back."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks, staff_client
from regiohub.meldpunt.contrib.connectors.base import sign
from regiohub.meldpunt.contrib.connectors.services import replay
from regiohub.meldpunt.contrib.connectors.tasks import PUSH_MAX_ATTEMPTS
from regiohub.meldpunt.contrib.connectors.testing import Answer, fake_server
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.services import forward_to_municipality
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

SECRET = "shared-secret-for-tests"


def connect(organisation, url, **settings):
    return ConnectorConfig.objects.create(
        name=f"Back office {organisation.code}",
        organisation=organisation,
        category_code="pothole",
        connector="webhook",
        settings={"url": url, "secret": SECRET, "timeout": 0.5, **settings},
    )


def retries_due() -> None:
    """Let the back-off pass."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def callback(client, config, body, *, event_id="evt-1", secret=SECRET):
    raw = json.dumps(body).encode()
    return client.post(
        f"/meldpunt/connectors/{config.pk}/callback/",
        raw,
        content_type="application/json",
        headers={"X-Regiohub-Signature": sign(secret, raw), "X-Regiohub-Event-Id": event_id},
    )


def test_a_filed_report_is_pushed_signed_and_without_personal_data(categories):
    with fake_server(Answer(201, {"id": "BO-1"})) as server:
        config = connect(categories["KOR"], server.url)
        report = file_report(reporter_name="Jan Peeters")
        run_tasks()
    delivery = Delivery.objects.get(report=report)
    assert (delivery.state, delivery.external_id, delivery.attempts) == ("sent", "BO-1", 1)
    (request,) = server.received
    assert request.headers["X-Regiohub-Signature"] == sign(SECRET, request.body)
    assert request.headers["X-Regiohub-Event-Id"] == f"regiohub-delivery-{delivery.pk}"
    data = request.json()
    assert data["reference"] == report.reference
    assert data["category"] == "pothole"
    assert data["municipality_nis"] == config.organisation.nis_code
    assert "reporter" not in data and "burger@example.org" not in request.body.decode()


def test_contact_details_only_with_consent_and_the_setting(categories):
    with fake_server(Answer(201, {"id": "BO-1"})) as server:
        connect(categories["KOR"], server.url, include_contact=True)
        file_report()
        run_tasks()
    assert server.received[0].json()["reporter"]["email"] == "burger@example.org"


def test_a_category_without_connector_stays_with_regiohub(categories):
    connect(categories["KOR"], "http://127.0.0.1:9/")  # for potholes only
    file_report(code="street-light")
    assert not Delivery.objects.exists()


def test_a_report_handed_to_another_municipality_goes_to_its_back_office(
    categories, kortrijk_agent
):
    with fake_server(Answer(201, {"id": "MEN-7"})) as server:
        menen = connect(categories["MEN"], server.url)
        report = file_report()  # Kortrijk has no connector
        assert not Delivery.objects.exists()
        forward_to_municipality(
            report, categories["MEN"], reason="Grensstraat", actor=kortrijk_agent
        )
        run_tasks()
    delivery = Delivery.objects.get(report=report)
    assert (delivery.config, delivery.state, delivery.external_id) == (menen, "sent", "MEN-7")


def test_timeout_fails_then_the_retry_succeeds(categories):
    with fake_server(Answer(201, {"id": "slow"}, delay=2), Answer(201, {"id": "BO-2"})) as server:
        connect(categories["KOR"], server.url, timeout=0.2)
        report = file_report()
        run_tasks()
        delivery = Delivery.objects.get(report=report)
        assert delivery.state == DeliveryState.FAILED
        assert delivery.last_error == "timeout after 0.2s"
        retries_due()
        run_tasks()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.external_id, delivery.attempts) == ("sent", "BO-2", 2)


def test_server_error_then_success_on_retry(categories):
    with fake_server(
        Answer(500, {"error": "burger@example.org"}), Answer(200, {"id": "BO-3"})
    ) as s:
        connect(categories["KOR"], s.url)
        report = file_report()
        run_tasks()
        delivery = Delivery.objects.get(report=report)
        assert (delivery.state, delivery.last_error) == ("failed", "HTTP 500")  # no body
        retries_due()
        run_tasks()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.external_id) == ("sent", "BO-3")
    assert len(s.received) == 2  # both tries carry the same event id
    assert len({r.headers["X-Regiohub-Event-Id"] for r in s.received}) == 1


def test_bad_credentials_back_off_then_dead_and_replay_sends_again(categories):
    with fake_server(Answer(401, {})) as server:
        connect(categories["KOR"], server.url)
        report = file_report()
        run_tasks()
        run_tasks()  # no retry storm: the next try waits for its back-off
        assert len(server.received) == 1
        delivery = Delivery.objects.get(report=report)
        assert delivery.state == DeliveryState.FAILED
        assert "credentials" in delivery.last_error
        for _ in range(PUSH_MAX_ATTEMPTS):
            retries_due()
            run_tasks()
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("dead", PUSH_MAX_ATTEMPTS)
        assert len(server.received) == PUSH_MAX_ATTEMPTS
        server.answers[:] = [Answer(201, {"id": "BO-4"})]
        assert replay(Delivery.objects.filter(state=DeliveryState.DEAD)) == 1
        run_tasks()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.external_id, delivery.attempts) == ("sent", "BO-4", 1)
    assert delivery.replayed_at is not None


@pytest.fixture
def sent(categories):
    """A Kortrijk report delivered to Kortrijk's back office as BO-9."""
    with fake_server(Answer(201, {"id": "BO-9"})) as server:
        config = connect(categories["KOR"], server.url)
        report = file_report()
        run_tasks()
    mail.outbox.clear()
    return config, report


def test_callback_goes_through_the_workflow_and_mails_the_reporter(client, sent):
    config, report = sent
    response = callback(client, config, {"external_id": "BO-9", "status": "in_progress"})
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    entry = HistoryEntry.objects.for_object(report).get(action="report.status_changed")
    assert entry.actor_label == config.name
    run_tasks()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["burger@example.org"]


def test_a_duplicate_callback_changes_nothing(client, sent):
    config, report = sent
    body = {"external_id": "BO-9", "status": "in_progress"}
    assert callback(client, config, body).status_code == 200
    assert callback(client, config, body).status_code == 200
    changes = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
    assert changes.count() == 1


def test_a_bad_signature_is_refused(client, sent):
    config, report = sent
    body = {"external_id": "BO-9", "status": "resolved"}
    assert callback(client, config, body, secret="wrong").status_code == 401
    report.refresh_from_db()
    assert report.status == Status.NEW


def test_a_flood_of_callbacks_is_cut_off_per_connector(client, sent):
    config, report = sent
    body = {"external_id": "BO-9", "status": "in_progress"}
    cache.clear()
    with override_settings(MELDPUNT_CALLBACK_RATE="2/hour"):
        assert callback(client, config, body, secret="forged").status_code == 401
        assert callback(client, config, body, event_id="evt-2").status_code == 200
        refused = callback(client, config, body, event_id="evt-3")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    changes = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
    assert changes.count() == 1


def test_an_illegal_transition_is_recorded_not_a_500(client, sent):
    config, report = sent
    response = callback(client, config, {"external_id": "BO-9", "status": "closed"})
    assert response.status_code == 409
    report.refresh_from_db()
    assert report.status == Status.NEW
    assert "new -> closed refused" in Delivery.objects.get(report=report).last_error


def test_a_kortrijk_callback_cannot_touch_a_menen_report(client, categories):
    with fake_server(Answer(201, {"id": "MEN-1"})) as server:
        connect(categories["MEN"], server.url)
        kortrijk = connect(categories["KOR"], server.url)
        menen_report = file_report(where=MENEN_CENTRE)
        run_tasks()
    assert menen_report.organisation.code == "MEN"
    response = callback(client, kortrijk, {"external_id": "MEN-1", "status": "resolved"})
    assert response.status_code == 404
    menen_report.refresh_from_db()
    assert menen_report.status == Status.NEW


def test_the_dead_letter_list_is_in_the_admin_with_a_replay_action(sent, superuser):
    config, report = sent
    delivery = Delivery.objects.get(report=report)
    Delivery.objects.filter(pk=delivery.pk).update(state="dead", last_error="HTTP 500")
    admin = staff_client(superuser)
    page = admin.get("/admin/meldpunt/delivery/?state__exact=dead")
    assert page.status_code == 200 and "HTTP 500" in page.text
    with fake_server(Answer(201, {"id": "BO-10"})) as server:
        ConnectorConfig.objects.filter(pk=config.pk).update(
            settings={**config.settings, "url": server.url}
        )
        response = admin.post(
            "/admin/meldpunt/delivery/",
            {"action": "replay_deliveries", "_selected_action": [delivery.pk]},
        )
        assert response.status_code == 302
        run_tasks()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.external_id) == ("sent", "BO-10")
