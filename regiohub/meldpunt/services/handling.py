"""Handling a report: status, assignment, notes, messages, hand-overs, merge and split.

Each public function is one transaction: it locks the report, checks the rules, appends
history and enqueues its mails in that same transaction (see core.tasks).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from regiohub.core import access, events, history
from regiohub.core.models import Department, Organisation, User
from regiohub.core.tasks import enqueue
from regiohub.meldpunt import merges, workflow
from regiohub.meldpunt.events import (
    Action,
    ReportAssigned,
    ReportFiled,
    ReportHandedOver,
    ReportMerged,
    ReportStatusChanged,
)
from regiohub.meldpunt.models import (
    Category,
    ExternalBody,
    Handover,
    Message,
    MessageKind,
    MessageTemplate,
    Report,
    SlaPause,
)
from regiohub.meldpunt.permissions import HANDLE_REPORTS
from regiohub.meldpunt.services import satisfaction
from regiohub.meldpunt.services.filing import (
    TRACKED_FIELDS,
    _next_reference,
    followup_token,
    token_hash,
    update_due_dates,
)
from regiohub.meldpunt.workflow import Status

MAX_TEXT = 5000


def _locked(report: Report, actor: Any = None) -> Report:
    """The report, locked and read again. With a staff ``actor``, check again that they
    handle its municipality: the view's check may predate a hand-over that just committed."""
    locked = (
        Report.objects.select_for_update()
        .select_related("category", "organisation", "department")
        .get(pk=report.pk)
    )
    if getattr(actor, "is_authenticated", False) and not _may_handle(actor, locked.organisation_id):
        raise PermissionDenied
    return locked


def _text(value: str, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationError({field: _("Keep it under %(limit)d characters.") % {"limit": limit}})
    return value


@transaction.atomic
def change_status(
    report: Report,
    target: Status | str,
    *,
    actor: Any,
    reason: str = "",
    actor_label: str | None = None,
    notify: bool = True,
    _by_service: bool = False,
) -> Report:
    """Move ``report`` to ``target`` if the workflow allows it; record and notify.

    "Merged" and "forwarded" need more than a status (the report merged into, the body
    handed to): only :func:`merge` and :func:`forward_to_external_body` set them.
    """
    report = _locked(report, actor)
    target = Status(target)
    if target in (Status.MERGED, Status.FORWARDED) and not _by_service:
        raise workflow.TransitionNotAllowed(
            report.status,
            target,
            _("Use “Duplicate?” to merge a report and “Hand over” to forward it."),
        )
    if target == Status.WAITING_FOR_REPORTER and not report.token_hash:
        raise workflow.TransitionNotAllowed(
            report.status,
            target,
            _("The reporter can no longer be reached for this report; nobody could answer."),
        )
    workflow.check(report.status, target, reason=reason)
    before = history.snapshot(report, TRACKED_FIELDS)
    now = timezone.now()
    previous = Status(report.status)

    if previous in workflow.SLA_PAUSED and target not in workflow.SLA_PAUSED:
        SlaPause.objects.filter(report=report, ended_at__isnull=True).update(ended_at=now)
    if target in workflow.SLA_PAUSED and previous not in workflow.SLA_PAUSED:
        SlaPause.objects.create(report=report, started_at=now)
    if previous in workflow.UNANSWERED and report.responded_at is None:
        report.responded_at = now
    if target == Status.RESOLVED:
        report.resolved_at = now
    elif target == Status.CLOSED:
        report.closed_at = now
    elif target == Status.REOPENED:
        report.resolved_at = None
        report.closed_at = None
        report.rating = None
        report.rating_comment = ""
        report.rated_at = None
    elif target in (Status.CANCELLED, Status.MERGED):
        report.closed_at = now
    if target in workflow.OPEN:
        # Reopened, with an external body (ADR 0038), or back in our hands: not closed.
        report.closed_at = None
    if previous in workflow.WITH_EXTERNAL_BODY and not _by_service:
        # Staff take the report back from the body: its hand-over ends (the body's answers
        # move the report through their own service).
        from regiohub.meldpunt.services.handoff import end_by_staff

        end_by_staff(report, actor=actor, actor_label=actor_label)

    # Asked once after resolution; reopens and requests to reopen counted (ADR 0039).
    asking = satisfaction.on_status_change(report, target, actor, now)
    report.status = target
    update_due_dates(report)
    report.save()
    entry = history.record(
        report,
        Action.STATUS_CHANGED,
        actor=actor,
        actor_label=actor_label,
        organisation=report.organisation,
        before=before,
        after=history.snapshot(report, TRACKED_FIELDS),
        reason=reason.strip(),
    )
    events.publish(
        ReportStatusChanged(
            report_id=report.pk,
            organisation_id=report.organisation_id,
            status_before=previous.value,
            status_after=target.value,
            history_entry_id=entry.pk,
        )
    )
    if notify:
        from regiohub.meldpunt.tasks import send_status_update

        # The first resolution's news comes with the satisfaction question, in one mail.
        if report.reporter_email and not asking:
            enqueue(send_status_update, report.pk, entry.pk)
        # Reporters of duplicates merged into this report (directly or through a chain:
        # B into A, then A into C) hear the news too.
        for merged_id in merges.reachable_ids(report.pk):
            enqueue(send_status_update, merged_id, entry.pk)
    return report


def _may_handle(user: User, organisation: Organisation | int) -> bool:
    return access.can(user, HANDLE_REPORTS, organisation)


@transaction.atomic
def assign(
    report: Report,
    *,
    actor: Any,
    department: Department | None = None,
    assignee: User | None = None,
    clear_assignee: bool = False,
) -> Report:
    """Give the report to a department of its municipality and/or a person who handles
    reports there."""
    report = _locked(report, actor)
    before = history.snapshot(report, TRACKED_FIELDS)
    if department is not None:
        if department.organisation_id != report.organisation_id:
            raise ValidationError(
                {
                    "department": _("Choose a department of %(municipality)s.")
                    % {"municipality": report.organisation.display_name}
                }
            )
        report.department = department
    if assignee is not None:
        if not assignee.is_active or not _may_handle(assignee, report.organisation_id):
            raise ValidationError(
                {
                    "assignee": _("%(person)s does not handle reports of %(municipality)s.")
                    % {"person": assignee, "municipality": report.organisation.display_name}
                }
            )
        report.assignee = assignee
    elif clear_assignee:
        report.assignee = None
    after = history.snapshot(report, TRACKED_FIELDS)
    if after == before:
        return report
    report.save()
    history.record(
        report,
        Action.ASSIGNED,
        actor=actor,
        organisation=report.organisation,
        before=before,
        after=after,
    )
    events.publish(
        ReportAssigned(
            report_id=report.pk,
            organisation_id=report.organisation_id,
            department_id=report.department_id,
            assignee_id=report.assignee_id,
        )
    )
    return report


@transaction.atomic
def add_note(report: Report, body: str, *, actor: Any) -> Message:
    """An internal note: seen by staff only, never by the reporter."""
    report = _locked(report, actor)
    body = _text(body, "body")
    message = Message.objects.create(report=report, kind=MessageKind.NOTE, body=body, author=actor)
    history.record(
        report,
        Action.NOTE_ADDED,
        actor=actor,
        organisation=report.organisation,
        after={"message": message.pk},
    )
    return message


#: The reason of the status change a question makes (for staff, in their language).
QUESTION_ASKED = history.translated_when_shown(
    gettext_noop("Question to the reporter"),
    stored_before=["Vraag aan de melder", "Question à l’auteur du signalement"],
)

PLACEHOLDERS = ("reference", "category", "municipality", "status", "address", "name", "date")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render_template(
    template: MessageTemplate | str, report: Report, *, with_name: bool = True
) -> str:
    """Fill the placeholders of a message template for ``report``, in the template's
    language. Unknown placeholders stay as they are (no code runs: plain substitution).

    ``with_name=False`` greets neutrally: for staff who may not see the reporter's details.
    """
    body = template.body if isinstance(template, MessageTemplate) else template
    language = (
        template.language if isinstance(template, MessageTemplate) else report.reporter_language
    )
    with translation.override(language):
        values = {
            "reference": report.reference,
            "category": report.category.display_name,
            "municipality": report.organisation.display_name,
            "status": str(Status(report.status).label),
            "address": report.address or _("the place you marked on the map"),
            "name": (report.reporter_name if with_name else "") or _("Madam, Sir"),
            "date": formats.date_format(timezone.localtime(report.created_at), "j F Y"),
        }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def templates_for(report: Report) -> list[MessageTemplate]:
    """Templates offered for ``report``, whatever its status (an agent may answer a new
    report with an "in progress" text): in the reporter's language, of its municipality or
    region-wide. Those for its current status first, then those for any status, then those
    for other statuses; within each, the municipality's own first."""
    candidates = MessageTemplate.objects.filter(
        Q(organisation=report.organisation_id) | Q(organisation__isnull=True),
        is_active=True,
        language=report.reporter_language,
    )

    def rank(template: MessageTemplate) -> tuple[int, bool, str]:
        fit = 0 if template.status == report.status else 1 if template.status == "" else 2
        return (fit, template.organisation_id is None, template.title)

    return sorted(candidates, key=rank)


@transaction.atomic
def send_message(report: Report, body: str, *, actor: Any, question: bool = False) -> Message:
    """A message to the reporter, shown on the follow-up page and mailed when we have an
    address. A question also waits for the reporter (the SLA clock pauses)."""
    report = _locked(report, actor)
    body = _text(body, "body")
    if report.anonymised_at:
        raise ValidationError(
            {
                "body": _(
                    "The reporter's contact details have been erased; no message can reach them."
                )
            }
        )
    kind = MessageKind.QUESTION if question else MessageKind.TO_REPORTER
    message = Message.objects.create(report=report, kind=kind, body=body, author=actor)
    history.record(
        report,
        Action.MESSAGE_SENT,
        actor=actor,
        organisation=report.organisation,
        after={"message": message.pk, "kind": kind},
    )
    if question and report.status != Status.WAITING_FOR_REPORTER:
        change_status(
            report, Status.WAITING_FOR_REPORTER, actor=actor, reason=QUESTION_ASKED, notify=False
        )
    _mail_message(report, message)
    return message


def _mail_message(report: Report, message: Message) -> None:
    """Mail ``message`` to the reporter of ``report`` and to the reporters of the reports
    merged into it (see ``meldpunt.merges``): one task per recipient, in this transaction,
    so one mail server refusing one address delays nobody else."""
    from regiohub.meldpunt.tasks import send_message_mail

    if report.reporter_email:
        enqueue(send_message_mail, message.pk)
    for merged_id in merges.reachable_ids(report.pk):
        enqueue(send_message_mail, message.pk, merged_id)


def _system_message(report: Report, text: str) -> Message | None:
    """Tell the reporter (follow-up page and mail) about a hand-over they did not ask for."""
    if report.anonymised_at:
        return None
    message = Message.objects.create(report=report, kind=MessageKind.TO_REPORTER, body=text)
    _mail_message(report, message)
    return message


@transaction.atomic
def forward_to_municipality(
    report: Report, organisation: Organisation, *, reason: str, actor: Any
) -> Report:
    """Hand the report to another municipality of the region (the place was on the other
    side of the border, or it is theirs to handle). It keeps its reference."""
    report = _locked(report, actor)
    reason = _text(reason, "reason", limit=2000)
    if organisation.pk == report.organisation_id or organisation.kind != "municipality":
        raise ValidationError({"organisation": _("Choose another municipality of the region.")})
    if not report.is_open:
        raise ValidationError(
            {"organisation": _("Only an open report can be handed to another municipality.")}
        )
    if report.status in workflow.WITH_EXTERNAL_BODY:
        raise ValidationError(
            {
                "organisation": _(
                    "An external body has this report: take it back first (change its "
                    "status to in progress)."
                )
            }
        )
    category = Category.objects.filter(
        organisation=organisation, code=report.category.code, is_active=True
    ).first()
    if category is None:
        raise ValidationError(
            {
                "organisation": _("%(municipality)s has no category “%(category)s”.")
                % {
                    "municipality": organisation.display_name,
                    "category": report.category.display_name,
                }
            }
        )
    before = history.snapshot(report, TRACKED_FIELDS)
    handover = Handover.objects.create(
        report=report,
        from_organisation=report.organisation,
        to_organisation=organisation,
        reason=reason,
        by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    report.organisation = organisation
    report.category = category
    report.department = category.department
    report.assignee = None
    update_due_dates(report)
    report.save()
    history.record(
        report,
        Action.HANDED_OVER,
        actor=actor,
        organisation=organisation,
        before=before,
        after={**history.snapshot(report, TRACKED_FIELDS), "handover": handover.pk},
        reason=reason,
    )
    events.publish(
        ReportHandedOver(
            report_id=report.pk,
            from_organisation_id=handover.from_organisation_id,
            to_organisation_id=organisation.pk,
            external_body_id=None,
            handover_id=handover.pk,
        )
    )
    with translation.override(report.reporter_language):
        _system_message(
            report,
            _("Your report is now handled by %(municipality)s. You can keep following it here.")
            % {"municipality": organisation.display_name},
        )
    return report


@transaction.atomic
def forward_to_external_body(
    report: Report, body: ExternalBody, *, reason: str, actor: Any
) -> Handover:
    """Hand the report to the body that owns the asset; they get it by mail, with photos
    and a private link to acknowledge it, send it back or resolve it (ADR 0038). The report
    stays open, with the body, until it answers. The reporter is told who handles it now."""
    from regiohub.meldpunt.services import handoff

    report = _locked(report, actor)
    reason = _text(reason, "reason", limit=2000)
    if not body.is_active:
        raise ValidationError({"external_body": _("This organisation takes no hand-overs.")})
    if report.status in workflow.WITH_EXTERNAL_BODY:
        raise ValidationError(
            {
                "external_body": _(
                    "An external body has this report: take it back first (change its "
                    "status to in progress)."
                )
            }
        )
    handover = Handover(
        report=report,
        from_organisation=report.organisation,
        to_external_body=body,
        reason=reason,
        by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    handoff.start(handover, body)
    handover.save()
    change_status(
        report, Status.FORWARDED, actor=actor, reason=reason, notify=False, _by_service=True
    )
    events.publish(
        ReportHandedOver(
            report_id=report.pk,
            from_organisation_id=handover.from_organisation_id,
            to_organisation_id=None,
            external_body_id=body.pk,
            handover_id=handover.pk,
        )
    )
    with translation.override(report.reporter_language):
        _system_message(
            report,
            _(
                "Your report is about something %(body)s looks after. We handed it to "
                "them; they will deal with it further."
            )
            % {"body": body.display_name},
        )
    from regiohub.meldpunt.tasks import send_handover_mail

    enqueue(send_handover_mail, handover.pk)
    return handover


@transaction.atomic
def merge(
    report: Report, into: Report, *, actor: Any, reason: str = "", notify: bool = True
) -> Report:
    """``report`` is a duplicate of ``into``: it becomes "merged" and points there; its
    reporter is told, and ``into``'s history shows what came in."""
    if report.pk == into.pk:
        raise ValidationError({"into": _("A report cannot be merged into itself.")})
    # Lock both in id order, so two opposite merges at once cannot deadlock.
    list(Report.objects.select_for_update().filter(pk__in=[report.pk, into.pk]).order_by("pk"))
    report = _locked(report, actor)
    into = _locked(into, actor)
    if into.status == Status.MERGED or not into.is_open:
        raise ValidationError(
            {
                "into": _("Merge into an open report; %(reference)s is finished.")
                % {"reference": into.reference}
            }
        )
    if into.organisation_id != report.organisation_id:
        raise ValidationError(
            {"into": _("Both reports must belong to the same municipality. Hand one over first.")}
        )
    reason = reason.strip() or _("Same problem as %(reference)s") % {"reference": into.reference}
    report = change_status(
        report, Status.MERGED, actor=actor, reason=reason, notify=notify, _by_service=True
    )
    Report.objects.filter(pk=report.pk).update(merged_into=into)
    report.merged_into = into
    history.record(
        into,
        Action.MERGE_RECEIVED,
        actor=actor,
        organisation=into.organisation,
        after={"merged": report.reference},
        reason=reason,
    )
    events.publish(
        ReportMerged(report_id=report.pk, into_id=into.pk, organisation_id=into.organisation_id)
    )
    return report


@transaction.atomic
def split(report: Report, *, category_code: str, description: str, actor: Any) -> Report:
    """A report that holds two problems: the second becomes a report of its own, with the
    same place and reporter, its own reference and follow-up link."""
    original = _locked(report, actor)
    if not original.is_open:
        raise ValidationError(
            {"category": _("Reopen the report first; a finished report cannot be split.")}
        )
    description = _text(description, "description")
    category = (
        Category.objects.filter(
            organisation=original.organisation, code=category_code, is_active=True
        )
        .select_related("department")
        .first()
    )
    if category is None:
        raise ValidationError({"category": _("Choose a category of this municipality.")})
    now = timezone.now()
    new = Report(
        reference=_next_reference(original.organisation, timezone.localdate(now).year),
        organisation=original.organisation,
        category=category,
        department=category.department,
        channel=original.channel,
        description=description,
        latitude=original.latitude,
        longitude=original.longitude,
        address=original.address,
        location_is_approximate=original.location_is_approximate,
        district_code=original.district_code,
        reporter_name=original.reporter_name,
        reporter_email=original.reporter_email,
        reporter_phone=original.reporter_phone,
        reporter_language=original.reporter_language,
        consent_at=original.consent_at,
        token_salt=secrets.token_hex(16) if not original.anonymised_at else "",
        anonymised_at=original.anonymised_at,
        split_from=original,
        created_at=now,
    )
    token = followup_token(new)
    new.token_hash = token_hash(token) if token else None
    update_due_dates(new)
    new.save()
    history.record(
        new,
        Action.REPORT_CREATED,
        actor=actor,
        organisation=new.organisation,
        after={
            **history.snapshot(new, [*TRACKED_FIELDS, "channel"]),
            "split_from": original.reference,
        },
    )
    history.record(
        original,
        Action.SPLIT,
        actor=actor,
        organisation=original.organisation,
        after={"new": new.reference},
    )
    events.publish(
        ReportFiled(
            report_id=new.pk,
            reference=new.reference,
            organisation_id=new.organisation_id,
            category_code=category.code,
            channel=new.channel,
            split_from_id=original.pk,
        )
    )
    if new.reporter_email:
        from regiohub.meldpunt.tasks import send_acknowledgement

        enqueue(send_acknowledgement, new.pk)
    return new
