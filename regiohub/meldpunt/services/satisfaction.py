"""After resolution: the reporter is asked once whether they are satisfied, and may ask to
look at the report again; an agent reopens it or declines with a message (ADR 0039).

``on_status_change`` runs inside ``handling.change_status`` (every way a report is
resolved or reopened passes there: the report page, bulk actions, Open311, connectors,
external bodies); the reporter's own actions are in ``services.citizen``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.tasks import enqueue
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import Message, MessageKind, ReopenDecision, ReopenRequest, Report
from regiohub.meldpunt.workflow import Status

CITIZEN = history.CITIZEN  # translated when shown, never when stored


def on_status_change(report: Report, target: Status, actor: Any, now: datetime) -> bool:
    """Keep the after-resolution facts of ``report`` (locked, about to be saved by the
    caller) and ask the satisfaction question the first time it is resolved; True when the
    question was just sent (its mail carries the news of the resolution too, so the
    reporter gets one mail, not two).

    Asked once: a report resolved again after a reopen is not asked again. Only a reporter
    we can reach is asked (an e-mail address and a working follow-up link); the follow-up
    page shows the question to the others who open it.
    """
    if target == Status.RESOLVED:
        if report.first_resolved_at is None:
            report.first_resolved_at = now
        reachable = report.reporter_email and report.token_hash and not report.anonymised_at
        if reachable and report.satisfaction_asked_at is None and report.satisfied is None:
            from regiohub.meldpunt.tasks import send_satisfaction_question

            report.satisfaction_asked_at = now
            history.record(report, Action.SATISFACTION_ASKED, organisation=report.organisation)
            enqueue(send_satisfaction_question, report.pk)
            return True
    elif target == Status.REOPENED:
        if report.first_resolved_at is not None and report.reopened_at is None:
            report.reopened_at = now
        user = actor if getattr(actor, "is_authenticated", False) else None
        ReopenRequest.objects.filter(report=report, decision=ReopenDecision.PENDING).update(
            decision=ReopenDecision.REOPENED, decided_at=now, decided_by=user
        )
    return False


def pending_request(report: Report) -> ReopenRequest | None:
    return ReopenRequest.objects.filter(report=report, decision=ReopenDecision.PENDING).first()


def request_reopen(report: Report, reason: str, *, field: str = "reason") -> ReopenRequest:
    """Record the reporter's request to look at ``report`` (locked by the caller) again.

    Not a reopen: it waits for an agent (the inbox filter "Reopen requested"). The reason
    becomes a message from the reporter, so it stands in the conversation. The same request
    sent twice (a double click) is the one request; another while one waits is refused."""
    waiting = pending_request(report)
    if waiting is not None:
        if waiting.reason == reason:
            return waiting
        raise ValidationError(
            {
                field: _(
                    "We already have your request to look at this report again. "
                    "We will let you know what we decide."
                )
            }
        )
    now = timezone.now()
    request = ReopenRequest.objects.create(report=report, reason=reason, requested_at=now)
    message = Message.objects.create(
        report=report, kind=MessageKind.FROM_REPORTER, body=reason, created_at=now
    )
    if report.reopen_requested_at is None:
        report.reopen_requested_at = now
        report.save(update_fields=["reopen_requested_at", "updated_at"])
    history.record(
        report,
        Action.REOPEN_REQUESTED,
        actor_label=CITIZEN,
        organisation=report.organisation,
        after={"request": request.pk, "message": message.pk},
    )
    if report.assignee_id:
        from regiohub.meldpunt.tasks import notify_assignee

        enqueue(notify_assignee, report.pk, message.pk)
    return request


@transaction.atomic
def decline_reopen(report: Report, body: str, *, actor: Any) -> ReopenRequest:
    """The agent does not reopen: the request is closed and ``body`` tells the reporter
    why (a message on their follow-up page, mailed when we have their address)."""
    from regiohub.meldpunt.services.handling import _locked, _text, send_message

    report = _locked(report, actor)
    body = _text(body, "body")
    waiting = (
        ReopenRequest.objects.select_for_update()
        .filter(report=report, decision=ReopenDecision.PENDING)
        .first()
    )
    if waiting is None:
        raise ValidationError({"body": _("No request to reopen this report is waiting.")})
    message = None
    if not report.anonymised_at:
        message = send_message(report, body, actor=actor)
    waiting.decision = ReopenDecision.DECLINED
    waiting.decided_at = timezone.now()
    waiting.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    waiting.save(update_fields=["decision", "decided_at", "decided_by"])
    history.record(
        report,
        Action.REOPEN_DECLINED,
        actor=actor,
        organisation=report.organisation,
        after={"request": waiting.pk, "message": message.pk if message else None},
    )
    return waiting
