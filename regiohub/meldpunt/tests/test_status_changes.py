"""Status changes go through the workflow, are recorded, pause the SLA and notify."""

from __future__ import annotations

import pytest
from django.core import mail

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status, TransitionNotAllowed

pytestmark = pytest.mark.django_db


def test_a_full_life_is_recorded_in_history(categories, kortrijk_agent):
    report = file_report()
    for target, reason in [
        (Status.ACKNOWLEDGED, ""),
        (Status.IN_PROGRESS, ""),
        (Status.WAITING_FOR_REPORTER, "Aan welke kant van de straat?"),
        (Status.IN_PROGRESS, ""),
        (Status.RESOLVED, ""),
        (Status.CLOSED, ""),
        (Status.REOPENED, "Het gat is er opnieuw."),
    ]:
        report = change_status(report, target, actor=kortrijk_agent, reason=reason)
        assert report.status == target
    entries = HistoryEntry.objects.for_object(report).filter(action="report.status_changed")
    assert [e.after["status"] for e in entries] == [
        "acknowledged", "in_progress", "waiting_for_reporter", "in_progress", "resolved",
        "closed", "reopened",
    ]  # fmt: skip
    assert entries[2].reason == "Aan welke kant van de straat?"
    assert report.responded_at is not None
    assert report.resolved_at is None and report.closed_at is None  # reopened


def test_illegal_transition_is_refused_and_changes_nothing(categories, kortrijk_agent):
    report = file_report()
    with pytest.raises(TransitionNotAllowed):
        change_status(report, Status.CLOSED, actor=kortrijk_agent)
    report.refresh_from_db()
    assert report.status == Status.NEW
    assert (
        not HistoryEntry.objects.for_object(report).filter(action="report.status_changed").exists()
    )


def test_waiting_for_the_reporter_pauses_the_sla_clock(categories, kortrijk_agent):
    report = file_report()
    due_before = report.resolution_due_at
    report = change_status(
        report, Status.WAITING_FOR_REPORTER, actor=kortrijk_agent, reason="Foto graag"
    )
    assert report.sla_pauses.get().ended_at is None
    assert report.resolution_due_at is None  # unknown while the clock stands still
    report = change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    assert report.sla_pauses.get().ended_at is not None
    assert report.resolution_due_at >= due_before


def test_each_status_change_is_mailed_once_to_the_reporter(categories, kortrijk_agent):
    report = file_report()
    change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    run_tasks()
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 3  # acknowledgement + two changes
    assert any("Opgelost" in s or "Resolved" in s for s in subjects)
    run_tasks()
    assert len(mail.outbox) == 3
