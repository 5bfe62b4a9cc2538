"""The inbox's deadline filters pick exactly the reports whose own SLA state says so."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from regiohub.meldpunt.inbox import sla_q
from regiohub.meldpunt.models import Report, SlaState, sla_state
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


def test_every_sla_filter_agrees_with_sla_state(categories):
    now = timezone.now()
    moments = [None, now - timedelta(days=2), now + timedelta(hours=3), now + timedelta(days=5)]
    statuses = [Status.NEW, Status.IN_PROGRESS, Status.WAITING_FOR_REPORTER, Status.CLOSED]
    template = file_report()
    for status, response, resolution in itertools.product(statuses, moments, moments):
        report = Report.objects.get(pk=template.pk)
        report.pk = None
        report.reference = f"{template.reference}-{Report.objects.count()}"
        report.token_hash = None
        report.client_key = None
        report.status = status
        report.response_due_at = response
        report.resolution_due_at = resolution
        report.save()
    Report.objects.filter(pk=template.pk).delete()
    reports = list(Report.objects.all())
    assert len(reports) == 64
    for state in SlaState:
        expected = {r.pk for r in reports if sla_state(r, now) == state}
        found = set(Report.objects.filter(sla_q(state, now)).values_list("pk", flat=True))
        assert found == expected, state
