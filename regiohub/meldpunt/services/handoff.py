"""Hand-offs that come back: an external body answers a hand-over (ADR 0038).

A report handed to an external body stays open, with the body, until the body answers
through its private link or its Open311 key:

- **acknowledge**: it has the report (optionally the reporter hears it);
- **reject** ("not ours", with a reason): the report goes back to the municipality's
  routing-uncertain queue and is in progress again; the reporter hears the municipality
  takes it back;
- **resolve** (with a message to the reporter): the report is resolved and the reporter
  gets the body's message.

Staff who take the report back (any status change away from "forwarded") end the
hand-over. Each function is one transaction: it locks the report and the hand-over,
appends history and enqueues its mails in that transaction. The same answer twice changes
nothing (a double click, a retried request); a different answer after the first is refused
with :class:`HandoffClosed`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.models import HistoryEntry
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.handoffs import (  # noqa: F401 - part of this door
    overdue_q,
    overdue_report_ids,
    overdue_reports_q,
)
from regiohub.meldpunt.links import handoff_token, token_hash
from regiohub.meldpunt.models import ExternalBody, Handover, HandoverState, Message, Report
from regiohub.meldpunt.models.handover import ACTIVE_STATES
from regiohub.meldpunt.workflow import Status

MAX_ANSWER = 2000
_TOKEN_LENGTH = 43  # base64url of a SHA-256 HMAC, without padding


class HandoffClosed(Exception):
    """The hand-over was already answered otherwise, or taken back; the message says how,
    for the body."""


@dataclass(frozen=True)
class Outcome:
    """What an answer did: ``changed`` is False when the hand-over already had this very
    answer (nothing was written). ``entry`` records the answer; ``status_entry`` the
    report's status change it made, if any."""

    handover: Handover
    changed: bool
    entry: HistoryEntry | None = None
    status_entry: HistoryEntry | None = None
    message: Message | None = None


# --- Starting: the link and the due date -------------------------------------------------


def start(handover: Handover, body: ExternalBody) -> None:
    """Give a new hand-over to ``body`` its state, private link and acknowledgement due date
    (``body.acknowledge_days`` business days of the municipality's SLA calendar from its
    creation)."""
    from regiohub.meldpunt.services.filing import calendar_for

    handover.state = HandoverState.SENT
    handover.token_salt = secrets.token_hex(16)
    handover.token_hash = token_hash(handoff_token(handover))
    calendar = calendar_for(handover.from_organisation)
    handover.acknowledge_due_at = calendar.add_business_days(
        handover.created_at, body.acknowledge_days
    )


def handover_for_token(token: str, now: datetime | None = None) -> Handover | None:
    """The hand-over this link opens, or None when the token is malformed, wrong or expired
    (``MELDPUNT_HANDOFF_LINK_DAYS`` after the answer): the caller answers 404 for all."""
    if len(token or "") != _TOKEN_LENGTH:
        return None
    handover = (
        Handover.objects.select_related(
            "report__organisation", "report__category", "to_external_body", "from_organisation"
        )
        .filter(token_hash=token_hash(token), to_external_body__isnull=False)
        .first()
    )
    if handover is None:
        return None
    now = now or timezone.now()
    ended = handover.answered_at
    if ended is not None and (now - ended).days >= settings.MELDPUNT_HANDOFF_LINK_DAYS:
        return None
    return handover


def current(report: Report) -> Handover | None:
    """The hand-over to an external body that has ``report`` now, if any."""
    if report.status != Status.FORWARDED:
        return None
    return (
        Handover.objects.filter(
            report=report, to_external_body__isnull=False, state__in=ACTIVE_STATES
        )
        .select_related("to_external_body")
        .order_by("-created_at", "-pk")
        .first()
    )


def body_of(handover: Handover) -> ExternalBody:
    """The external body of a hand-over to one (never a municipality's hand-over here)."""
    body = handover.to_external_body
    if body is None:
        raise ValueError(f"hand-over {handover.pk} is to a municipality")
    return body


def latest_to(report: Report, body: ExternalBody) -> Handover | None:
    """The last hand-over of ``report`` to ``body``, in any state (an answer to an older one
    is refused by the answer's own service, with the reason)."""
    return (
        Handover.objects.filter(report=report, to_external_body=body)
        .order_by("-created_at", "-pk")
        .first()
    )


# --- Overdue -----------------------------------------------------------------------------


# --- Answers -----------------------------------------------------------------------------


def _text(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError(
            {field: _("The text contains a NUL character, which is not allowed.")}
        )
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > MAX_ANSWER:
        raise ValidationError(
            {field: _("Keep it under %(limit)d characters.") % {"limit": MAX_ANSWER}}
        )
    return value


def _locked(handover: Handover) -> tuple[Handover, Report]:
    """The hand-over and its report, locked (report first, as every service does)."""
    report = (
        Report.objects.select_for_update()
        .select_related("category", "organisation", "department")
        .get(pk=handover.report_id)
    )
    locked = (
        Handover.objects.select_for_update(of=("self",))
        .select_related("to_external_body", "from_organisation")
        .get(pk=handover.pk)
    )
    return locked, report


def _date(moment: datetime | None) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y H:i") if moment else ""


def _closed(handover: Handover, report: Report) -> HandoffClosed:
    """Why the body can no longer answer this hand-over, in words for the body."""
    when = _date(handover.answered_at)
    if handover.state == HandoverState.REJECTED:
        return HandoffClosed(_("You already sent this report back on %(date)s.") % {"date": when})
    if handover.state == HandoverState.RESOLVED:
        return HandoffClosed(_("You already resolved this report on %(date)s.") % {"date": when})
    return HandoffClosed(
        _("%(municipality)s took this report back on %(date)s; nothing more is needed from you.")
        % {"municipality": handover.from_organisation.display_name, "date": when}
    )


def _answerable(handover: Handover, report: Report) -> None:
    if handover.state not in ACTIVE_STATES or report.status != Status.FORWARDED:
        raise _closed(handover, report)


def _record(
    handover: Handover,
    report: Report,
    action: str,
    actor_label: str,
    previous: str,
    reason: str = "",
) -> HistoryEntry:
    return history.record(
        report,
        action,
        actor_label=actor_label,
        organisation=report.organisation,
        before={"handover": handover.pk, "state": previous},
        after={"handover": handover.pk, "state": handover.state},
        reason=reason,
    )


@transaction.atomic
def acknowledge(handover: Handover, *, actor_label: str, note: str = "") -> Outcome:
    """The body has the report and will handle it. A second acknowledgement changes
    nothing."""
    note = _text(note, "note", required=False)
    handover, report = _locked(handover)
    if handover.state == HandoverState.ACKNOWLEDGED:
        return Outcome(handover, changed=False)
    _answerable(handover, report)
    body, previous = body_of(handover), handover.state
    handover.state = HandoverState.ACKNOWLEDGED
    handover.acknowledged_at = timezone.now()
    handover.acknowledgement = note
    handover.answered_by = actor_label[:200]
    handover.save(update_fields=["state", "acknowledged_at", "acknowledgement", "answered_by"])
    entry = _record(handover, report, Action.HANDOVER_ACKNOWLEDGED, actor_label, previous, note)
    message = None
    if body.tell_reporter_when_acknowledged:
        message = _tell_reporter(
            report,
            lambda: (
                _("%(body)s received your report and will handle it.") % {"body": body.display_name}
            ),
        )
    return Outcome(handover, changed=True, entry=entry, message=message)


@transaction.atomic
def reject(handover: Handover, reason: str, *, actor_label: str) -> Outcome:
    """Not the body's to handle: the report goes back to the municipality, in progress and
    in its routing-uncertain queue with the reason; the reporter hears it. The same
    rejection again changes nothing."""
    from regiohub.meldpunt.services import routing
    from regiohub.meldpunt.services.handling import change_status

    reason = _text(reason, "reason", required=True)
    handover, report = _locked(handover)
    if handover.state == HandoverState.REJECTED:
        return Outcome(handover, changed=False)
    _answerable(handover, report)
    body, previous = body_of(handover), handover.state
    _answered(handover, HandoverState.REJECTED, reason, actor_label)
    # The reason is kept on the hand-over and in the routing trace (the next entry).
    entry = _record(handover, report, Action.HANDOVER_REJECTED, actor_label, previous)
    report = change_status(
        report,
        Status.IN_PROGRESS,
        actor=None,
        actor_label=actor_label,
        notify=False,  # the message below says more than "in progress"
        _by_service=True,
    )
    status_entry = _last_status_entry(report)
    routing.back_to_triage(report, reason, body.name)
    message = _tell_reporter(
        report,
        lambda: (
            _(
                "%(body)s let us know your report is not theirs to handle. %(municipality)s "
                "takes it back and will see who should handle it."
            )
            % {"body": body.display_name, "municipality": report.organisation.display_name}
        ),
    )
    return Outcome(handover, changed=True, entry=entry, status_entry=status_entry, message=message)


@transaction.atomic
def resolve(
    handover: Handover, message: str, *, actor_label: str, record_message: bool = True
) -> Outcome:
    """The body solved the problem: the report is resolved and the reporter gets the body's
    message. The same resolution again changes nothing.

    ``record_message=False`` when the caller records the message in an entry of its own
    (an Open311 update stands for its status change and its text together).
    """
    from regiohub.meldpunt.services.handling import change_status

    text = _text(message, "message", required=True)
    handover, report = _locked(handover)
    if handover.state == HandoverState.RESOLVED:
        return Outcome(handover, changed=False)
    _answerable(handover, report)
    body, previous = body_of(handover), handover.state
    _answered(handover, HandoverState.RESOLVED, text, actor_label)
    entry = _record(handover, report, Action.HANDOVER_RESOLVED, actor_label, previous)
    report = change_status(
        report,
        Status.RESOLVED,
        actor=None,
        actor_label=actor_label,
        notify=False,  # the body's message is the news
        _by_service=True,
    )
    status_entry = _last_status_entry(report)
    sent = _tell_reporter(
        report,
        lambda: (
            _("%(body)s let us know the problem is solved. Their message:")
            % {"body": body.display_name}
            + "\n\n"
            + text
        ),
    )
    if sent is not None and record_message:
        history.record(
            report,
            Action.MESSAGE_SENT,
            actor_label=actor_label,
            organisation=report.organisation,
            after={"message": sent.pk, "kind": sent.kind},
        )
    return Outcome(handover, changed=True, entry=entry, status_entry=status_entry, message=sent)


def end_by_staff(report: Report, *, actor: Any, actor_label: str | None = None) -> None:
    """The municipality took ``report`` back from the body (a status change away from
    "forwarded"): its open hand-over ends, and the body's link says so. Inside the
    caller's transaction, report locked."""
    now = timezone.now()
    for handover in Handover.objects.select_for_update().filter(
        report=report, to_external_body__isnull=False, state__in=ACTIVE_STATES
    ):
        previous = handover.state
        handover.state = HandoverState.ENDED
        handover.answered_at = now
        handover.save(update_fields=["state", "answered_at"])
        history.record(
            report,
            Action.HANDOVER_ENDED,
            actor=actor,
            actor_label=actor_label,
            organisation=report.organisation,
            before={"handover": handover.pk, "state": previous},
            after={"handover": handover.pk, "state": handover.state},
        )


def _answered(handover: Handover, state: str, text: str, actor_label: str) -> None:
    handover.state = state
    handover.answered_at = timezone.now()
    handover.answer = text
    handover.answered_by = actor_label[:200]
    handover.save(update_fields=["state", "answered_at", "answer", "answered_by"])


def _last_status_entry(report: Report) -> HistoryEntry | None:
    return (
        HistoryEntry.objects.for_object(report)
        .filter(action=Action.STATUS_CHANGED)
        .order_by("-at", "-pk")
        .first()
    )


def _tell_reporter(report: Report, text: Any) -> Message | None:
    """A message to the reporter (follow-up page and one mail per recipient, merged
    reporters included), written in the reporter's language: ``text`` is called inside it."""
    from regiohub.meldpunt.services.handling import _system_message

    with translation.override(report.reporter_language):
        return _system_message(report, text())
