"""What TOPdesk refuses is shown on the report in TOPdesk's own words: the delivery keeps the
reason, its history records it, the staff report page shows it in a translated sentence.
A refused report is not tried again (it would be refused again): it waits for a replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django.utils import translation

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import FakeHandler, local_server, run_tasks, staff_client
from regiohub.meldpunt.contrib.connectors.base import ConnectorAction, Refused
from regiohub.meldpunt.contrib.connectors.services import record_refusal
from regiohub.meldpunt.contrib.topdesk import fake as topdesk
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskConnector
from regiohub.meldpunt.contrib.topdesk.fake import fake_topdesk, settings_for
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.models.connector import DeliveryState
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@contextmanager
def refusing(status: int, body: bytes) -> Iterator[str]:
    """A back office that knows no incident yet (204) and answers ``body`` to the POST."""

    class Handler(FakeHandler):
        def do_GET(self) -> None:
            self.read_request()
            self.send_bytes(204, b"")

        def do_POST(self) -> None:
            self.read_request()
            self.send_bytes(status, body)

    Handler.received = []
    with local_server(Handler) as url:
        yield url


def connect(organisation, url_or_fake, **settings):
    if isinstance(url_or_fake, str):
        settings = {"url": url_or_fake, "username": "regiohub", "application_password": "pw",
                    "default_caller": topdesk.DEFAULT_PERSON_EMAIL, **settings}  # fmt: skip
    else:
        settings = settings_for(url_or_fake, **settings)
    return ConnectorConfig.objects.create(
        name="TOPdesk Kortrijk", organisation=organisation, connector="topdesk", settings=settings
    )


def report_page(user, report) -> str:
    answer = staff_client(user).get(reverse("meldpunt:staff-report", args=[report.reference]))
    assert answer.status_code == 200
    return answer.content.decode()


def refused_delivery(report) -> Delivery:
    delivery = Delivery.objects.get(report=report)
    assert delivery.state == DeliveryState.DEAD
    assert delivery.attempts == 1  # not tried again: it would be refused again
    return delivery


def test_a_caller_topdesk_does_not_know_is_shown_with_topdesks_reason(categories, kortrijk_agent):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, default_caller="niemand@kortrijk.be")
        report = file_report()
        run_tasks()
    assert fake.counts["refused"] == 1 and fake.incidents == {}
    delivery = refused_delivery(report)
    assert delivery.last_error == f"HTTP 400: {topdesk.PERSON_UNKNOWN}"
    (entry,) = HistoryEntry.objects.for_object(delivery)
    assert entry.action == ConnectorAction.DELIVERY_REFUSED
    assert entry.reason == topdesk.PERSON_UNKNOWN and entry.actor_label == "TOPdesk Kortrijk"
    assert entry.after == {"refused": "report", "http_status": 400, "report": report.pk}
    page = report_page(kortrijk_agent, report)
    assert "TOPdesk Kortrijk did not take this report." in page
    assert f"Last problem with TOPdesk Kortrijk: HTTP 400: {topdesk.PERSON_UNKNOWN}" in page


def test_settings_without_any_caller_are_refused_before_asking_topdesk(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, default_caller=None)  # no caller, no branch
        report = file_report()
        run_tasks()
    assert fake.counts["incident"] == 0 and fake.counts["refused"] == 0
    delivery = refused_delivery(report)
    assert delivery.last_error.startswith("no caller: TOPdesk needs a known person or a branch")


def test_an_unknown_category_is_shown_with_topdesks_reason(categories, kortrijk_agent):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, category_map={"pothole": {"category": "Wegenwerken"}})
        report = file_report()
        run_tasks()
    reason = topdesk.UNKNOWN.format(field="category", key="name", value="Wegenwerken")
    assert refused_delivery(report).last_error == f"HTTP 400: {reason}"
    assert f"Last problem with TOPdesk Kortrijk: HTTP 400: {reason}".replace("'", "&#x27;") in (
        report_page(kortrijk_agent, report)
    )


def test_a_subcategory_of_another_category_is_refused(categories):
    with fake_topdesk() as fake:
        connect(categories["KOR"], fake, subcategory="Sluikstort")  # of "Afval"
        report = file_report()
        run_tasks()
    reason = topdesk.NOT_OF_CATEGORY.format(value="Sluikstort", category="Openbaar domein")
    assert refused_delivery(report).last_error == f"HTTP 400: {reason}"


def test_a_too_long_brief_description_is_refused_and_shown_with_topdesks_reason(
    categories, kortrijk_agent
):
    """The connector cuts it to fit (see test_topdesk_incident); what TOPdesk says when
    a brief description is too long reaches the report page the same way."""
    with fake_topdesk() as fake:
        config = connect(categories["KOR"], fake)
        config.is_active = False  # this test sends the incident itself
        config.save()
        report = file_report()
        delivery = Delivery.objects.create(report=report, config=config)
        connector = TopdeskConnector(config)
        body = connector.incident(report, connector.caller(report))
        body["briefDescription"] = "x" * 81
        with pytest.raises(Refused) as refused:
            connector.call("POST", "/incidents", json=body)
    reason = topdesk.TOO_LONG.format(field="briefDescription", limit=80)
    assert (refused.value.status, refused.value.reason) == (400, reason)
    record_refusal(delivery, refused.value)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("dead", f"HTTP 400: {reason}")
    assert f"Last problem with TOPdesk Kortrijk: HTTP 400: {reason}" in report_page(
        kortrijk_agent, report
    )


def test_a_hostile_reason_is_kept_clean_and_short(categories, kortrijk_agent):
    """NUL and control characters, markup, the reporter's own address and a reason of
    10,000 characters: stored without them, escaped on the page, at most 500 characters
    on the delivery (the history keeps 2,000)."""
    message = "Bad\x00 caller\x1b burger@example.org <script>alert(1)</script> " + "é" * 10_000
    with refusing(400, json.dumps([{"message": message}]).encode()) as url:
        connect(categories["KOR"], url)
        report = file_report()
        run_tasks()
    delivery = refused_delivery(report)
    assert "\x00" not in delivery.last_error and "\x1b" not in delivery.last_error
    assert "burger@example.org" not in delivery.last_error
    assert delivery.last_error.startswith("HTTP 400: Bad  caller  … <script>")
    assert len(delivery.last_error) == 500
    (entry,) = HistoryEntry.objects.for_object(delivery)
    assert len(entry.reason) == 2000 and "burger@example.org" not in entry.reason
    page = report_page(kortrijk_agent, report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body>Bad Request</body></html>", "(no readable reason: 37 bytes"),
        (b"[]", "(no reason given)"),
        (b'{"errors": [{"errorMessage": "Wrong status"}]}', "Wrong status"),
        (b'{"message": "Odd \\u00e9\\u20ac charset"}', "Odd é€ charset"),
    ],
)
def test_odd_refusal_bodies_keep_only_a_reason_we_can_read(categories, body, reason):
    with refusing(400, body) as url:
        connect(categories["KOR"], url)
        report = file_report()
        run_tasks()
    assert refused_delivery(report).last_error.startswith(f"HTTP 400: {reason}")


def test_server_errors_and_rate_limits_are_tried_again_not_refusals(categories):
    with refusing(503, b'[{"message": "maintenance"}]') as url:
        connect(categories["KOR"], url)
        report = file_report()
        run_tasks()
    delivery = Delivery.objects.get(report=report)
    assert (delivery.state, delivery.last_error) == ("failed", "HTTP 503")
    assert not HistoryEntry.objects.for_object(delivery).exists()
