"""Which hand-overs are overdue: a read the inbox, the report page and the daily digest share
(the answers themselves are in ``services.handoff``)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from regiohub.meldpunt.models import Handover, HandoverState
from regiohub.meldpunt.workflow import Status


def overdue_q(now: datetime | None = None) -> Q:
    """Hand-overs sent and not acknowledged by their due date (on :class:`Handover`)."""
    return Q(
        state=HandoverState.SENT,
        acknowledge_due_at__lt=now or timezone.now(),
        report__status=Status.FORWARDED,
    )


def overdue_reports_q(now: datetime | None = None) -> Q:
    """Reports with an overdue hand-over (on :class:`Report`: the inbox filter)."""
    waiting = Handover.objects.filter(overdue_q(now), report=OuterRef("pk"))
    return Q(status=Status.FORWARDED) & Q(Exists(waiting))


def overdue_report_ids(report_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of ``report_ids`` have an overdue hand-over (one query, for a page of rows)."""
    if not report_ids:
        return set()
    return set(
        Handover.objects.filter(overdue_q(now), report_id__in=report_ids).values_list(
            "report_id", flat=True
        )
    )
