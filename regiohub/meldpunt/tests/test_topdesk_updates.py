"""regiohub stays the front office: its messages to the reporter and the status changes made
in regiohub reach the TOPdesk incident as actions, exactly once, even when the task runs
again (after it finished, or after a worker died between TOPdesk's answer and the commit)."""

from __future__ import annotations

import pytest
from django.utils import translation

from regiohub.core.models import HistoryEntry, IdempotencyKey
from regiohub.core.testing import run_tasks
from regiohub.meldpunt import services
from regiohub.meldpunt.contrib.connectors.base import ConnectorAction, ConnectorError
from regiohub.meldpunt.contrib.connectors.tasks import push_report
from regiohub.meldpunt.contrib.topdesk import fake as topdesk
from regiohub.meldpunt.contrib.topdesk.fake import fake_topdesk, settings_for
from regiohub.meldpunt.contrib.topdesk.tasks import poll_topdesk, push_topdesk_update
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import ConnectorConfig, Delivery
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """The actions are written in the site's language; these tests read English."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def connect(organisation, fake, **settings) -> ConnectorConfig:
    return ConnectorConfig.objects.create(
        name="TOPdesk Kortrijk",
        organisation=organisation,
        connector="topdesk",
        settings=settings_for(fake, **settings),
    )


def sent_report(categories, fake, **settings):
    connect(categories["KOR"], fake, **settings)
    report = file_report()
    run_tasks()
    assert Delivery.objects.get(report=report).state == "sent"
    return report


def test_a_status_change_arrives_as_one_action_with_topdesks_processing_status(
    categories, kortrijk_agent
):
    with fake_topdesk() as fake:
        report = sent_report(categories, fake)
        services.change_status(
            report, Status.IN_PROGRESS, actor=kortrijk_agent, reason="Ploeg <3> & co komt"
        )
        run_tasks()
        entry = HistoryEntry.objects.for_object(report).get(action=Action.STATUS_CHANGED)
        delivery = Delivery.objects.get(report=report)
        # The task runs again (a duplicate delivery): the idempotency key stops it.
        assert push_topdesk_update.call(delivery.pk, "status", entry.pk) == "added before"
    incident = fake.only_incident()
    (action,) = incident["actions"]
    assert action["plainText"] == (
        f"Status in regiohub: In progress\nPloeg <3> & co komt\n[regiohub:status:{entry.pk}]"
    )
    assert "&lt;3&gt; &amp; co" in action["memoText"]
    assert action["invisibleForCaller"] is True  # regiohub told the reporter already
    assert incident["processingStatus"]["name"] == "In behandeling"
    assert fake.counts["action"] == 1


def test_a_public_message_arrives_once_even_after_a_worker_died_before_its_commit(
    categories, kortrijk_agent
):
    with fake_topdesk() as fake:
        report = sent_report(categories, fake)
        message = services.send_message(report, "We komen morgen.\nGroet", actor=kortrijk_agent)
        run_tasks()
        delivery = Delivery.objects.get(report=report)
        # TOPdesk took the action but the worker died before storing its key: the retry
        # finds its marker in the incident's actions and adds nothing.
        IdempotencyKey.objects.filter(key__startswith="topdesk-update:").delete()
        assert push_topdesk_update.call(delivery.pk, "message", message.pk) == "was there"
        assert push_topdesk_update.call(delivery.pk, "message", message.pk) == "added before"
    (action,) = fake.only_incident()["actions"]
    assert action["plainText"] == (
        "Message to the reporter (sent by regiohub)\nWe komen morgen.\nGroet\n"
        f"[regiohub:message:{message.pk}]"
    )
    assert fake.counts["action"] == 1


def test_a_question_and_its_status_are_two_actions_notes_and_answers_none(
    categories, kortrijk_agent
):
    with fake_topdesk() as fake:
        report = sent_report(categories, fake)
        services.add_note(report, "Intern: ploeg B", actor=kortrijk_agent)
        services.send_message(report, "Welk huisnummer?", actor=kortrijk_agent, question=True)
        run_tasks()
    texts = [a["plainText"] for a in fake.only_incident()["actions"]]
    assert len(texts) == 2
    assert any(t.startswith("Question to the reporter (sent by regiohub)") for t in texts)
    assert any(t.startswith("Status in regiohub: Waiting for the reporter") for t in texts)
    assert not any("Intern" in t for t in texts)


def test_what_topdesk_changed_itself_is_not_sent_back(categories):
    with fake_topdesk() as fake:
        report = sent_report(categories, fake)
        fake.set_processing_status(fake.only_incident()["id"], "In behandeling")
        poll_topdesk.call()
        run_tasks()
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    assert fake.counts["action"] == 0


def test_with_push_updates_off_nothing_goes_back(categories, kortrijk_agent):
    with fake_topdesk() as fake:
        report = sent_report(categories, fake, push_updates=False)
        services.send_message(report, "We komen morgen.", actor=kortrijk_agent)
        services.change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
        run_tasks()
    assert fake.counts["action"] == 0


def test_a_refused_update_is_kept_on_the_delivery_with_topdesks_reason(categories, kortrijk_agent):
    """A status map naming a processing status this TOPdesk does not have."""
    with fake_topdesk() as fake:
        report = sent_report(categories, fake, status_map={"Opgelost": "resolved"})
        services.change_status(report, Status.RESOLVED, actor=kortrijk_agent, reason="Hersteld")
        run_tasks()
    reason = topdesk.UNKNOWN.format(field="processingStatus", key="name", value="Opgelost")
    delivery = Delivery.objects.get(report=report)
    assert (delivery.state, delivery.last_error) == ("sent", f"HTTP 400: {reason}")
    (entry,) = HistoryEntry.objects.for_object(delivery)
    assert entry.action == ConnectorAction.DELIVERY_REFUSED and entry.reason == reason
    assert entry.after["refused"] == "update"
    assert fake.counts["action"] == 0


def test_an_update_waits_for_its_incident(categories, kortrijk_agent):
    with fake_topdesk() as fake:
        config = connect(categories["KOR"], fake)
        report = file_report()
        delivery = Delivery.objects.create(report=report, config=config)  # not pushed yet
        message = services.send_message(report, "Bericht", actor=kortrijk_agent)
        with pytest.raises(ConnectorError, match="the incident is not made yet"):
            push_topdesk_update.call(delivery.pk, "message", message.pk)
        assert push_report.call(delivery.pk) == "sent"
        assert push_topdesk_update.call(delivery.pk, "message", message.pk) == "added"
    assert fake.counts["incident"] == 1 and fake.counts["action"] == 1
