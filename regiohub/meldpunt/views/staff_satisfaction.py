"""The reporter's satisfaction and request to reopen on the report page: the agent reads
the answer, and reopens (a status change) or declines with a message (ADR 0039)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from regiohub.core.auth.decorators import staff_required
from regiohub.meldpunt.models import Report, SatisfactionAnswer
from regiohub.meldpunt.services import satisfaction
from regiohub.meldpunt.views.staff import ReportPageForm, _act
from regiohub.meldpunt.workflow import Status, allowed


class ReopenForm(ReportPageForm):
    """Reopen at the reporter's request: the status form's fields, with its own ids."""

    id_prefix = "reopen"

    status = forms.CharField(widget=forms.HiddenInput, initial=Status.REOPENED)
    reason = forms.CharField(
        label=gettext_lazy("Reason (sent to the reporter)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DeclineForm(ReportPageForm):
    id_prefix = "decline"

    body = forms.CharField(
        label=gettext_lazy("Why not (sent to the reporter)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def satisfaction_context(report: Report) -> dict[str, Any]:
    """The reporter's answer and the request to reopen that waits, for the report page."""
    answer = (
        SatisfactionAnswer.objects.filter(report=report).select_related("option").first()
        if report.satisfied is not None
        else None
    )
    waiting = satisfaction.pending_request(report) if report.reopen_requested_at else None
    return {
        "satisfaction_answer": answer,
        "reopen_request": waiting,
        "reopen_form": ReopenForm(initial={"status": Status.REOPENED})
        if waiting is not None and allowed(report.status, Status.REOPENED)
        else None,
        "decline_form": DeclineForm() if waiting is not None else None,
    }


@staff_required
@require_POST
def report_decline_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request, reference, "decline_form", lambda report, data: DeclineForm(data),
        lambda report, data: satisfaction.decline_reopen(report, data["body"], actor=request.user),
        _("The request to reopen is declined; the reporter was told why."),
    )  # fmt: skip
