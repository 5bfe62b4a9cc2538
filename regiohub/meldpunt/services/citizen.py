"""What the reporter does on the private follow-up page: answer a question, add a photo,
say whether they are satisfied and ask to look at the report again. Nothing here needs a
login; the token is the key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.tasks import enqueue
from regiohub.meldpunt import merges
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import (
    Message,
    MessageKind,
    ReopenRequest,
    Report,
    SatisfactionAnswer,
    SatisfactionOption,
)
from regiohub.meldpunt.models.satisfaction import options_for
from regiohub.meldpunt.services.filing import (
    PhotoContent,
    attach_photos,
    discard_files,
    token_hash,
)
from regiohub.meldpunt.services.handling import _locked, _text, change_status
from regiohub.meldpunt.services.satisfaction import request_reopen
from regiohub.meldpunt.workflow import Status

CITIZEN = history.CITIZEN  # translated when shown, never when stored


def report_for_token(token: str) -> Report | None:
    """The report this follow-up token opens, or None when the token is wrong, erased or
    expired (the caller answers 404 for all three, so nothing leaks)."""
    if not token or len(token) > 100:
        return None
    expired_before = timezone.now() - timedelta(days=settings.MELDPUNT_FOLLOWUP_DAYS)
    report = (
        Report.objects.select_related("organisation", "category", "merged_into")
        .filter(token_hash=token_hash(token), anonymised_at__isnull=True)
        .first()
    )
    if report is None:
        return None
    # A merged report lives as long as the report handled for it: its reporter still
    # hears that report's news, with this link. A resolved report that nobody closes
    # expires from its resolution.
    handled = merges.surviving(report) if report.status == Status.MERGED else report
    finished_at = handled.closed_at or handled.resolved_at
    if finished_at is not None and finished_at < expired_before:
        return None
    return report


def can_reopen(report: Report, now=None) -> bool:
    now = now or timezone.now()
    if report.status not in (Status.RESOLVED, Status.CLOSED) or report.resolved_at is None:
        return False
    return now - report.resolved_at <= timedelta(days=settings.MELDPUNT_REOPEN_DAYS)


def can_answer_satisfaction(report: Report) -> bool:
    """The question waits for an answer: the report is resolved (or closed) and its
    reporter has not answered yet (asked once, answered once)."""
    return (
        report.status in (Status.RESOLVED, Status.CLOSED)
        and report.first_resolved_at is not None
        and report.satisfied is None
    )


def satisfaction_options(report: Report) -> list[SatisfactionOption]:
    """The standard answers this report's municipality offers."""
    return options_for(report.organisation_id)


def photo_slots(report: Report) -> int:
    return max(0, settings.MELDPUNT_MAX_PHOTOS - report.photos.count())


def may_answer(report: Report) -> bool:
    """Whether the follow-up page offers to answer: the report waits for its reporter, or
    it was merged into one that waits (a question there was mailed to this reporter too)."""
    if report.status == Status.WAITING_FOR_REPORTER:
        return True
    if report.status != Status.MERGED:
        return False
    return merges.surviving(report).status == Status.WAITING_FOR_REPORTER


@transaction.atomic
def answer(report: Report, body: str) -> Message:
    """The reporter answers (or adds information). A report waiting for them goes back to
    the handler, and the clock runs again.

    The reporter of a merged report answers the question of the report handled for it:
    the answer stays on their own report (only staff and they see it, it may hold their
    phone number), and the report handled for it goes back to the handler."""
    report = _locked(report)
    body = _text(body, "body")
    handled = report
    if report.status == Status.MERGED and may_answer(report):
        handled = _locked(merges.surviving(report))
    if not handled.is_open:
        raise ValidationError(
            {"body": _("This report is finished; messages can no longer be added.")}
        )
    message = Message.objects.create(report=report, kind=MessageKind.FROM_REPORTER, body=body)
    history.record(
        report,
        Action.REPORTER_ANSWERED,
        actor_label=CITIZEN,
        organisation=report.organisation,
        after={"message": message.pk},
    )
    if handled.pk != report.pk:
        history.record(
            handled,
            Action.REPORTER_ANSWERED,
            actor_label=CITIZEN,
            organisation=handled.organisation,
            after={"message": message.pk, "merged": report.reference},
        )
    if handled.status == Status.WAITING_FOR_REPORTER:
        change_status(handled, Status.IN_PROGRESS, actor=None, actor_label=CITIZEN, notify=False)
    if handled.assignee_id:
        from regiohub.meldpunt.tasks import notify_assignee

        enqueue(notify_assignee, handled.pk, message.pk)
    return message


@transaction.atomic
def add_photos(report: Report, photos: Sequence[PhotoContent]) -> int:
    report = _locked(report)
    if not report.is_open:
        raise ValidationError(
            {"photo": _("This report is finished; photos can no longer be added.")}
        )
    if len(photos) > photo_slots(report):
        raise ValidationError(
            {
                "photo": _("A report can have at most %(count)d photos.")
                % {"count": settings.MELDPUNT_MAX_PHOTOS}
            }
        )
    stored = attach_photos(report, photos, by_reporter=True)
    try:
        history.record(
            report,
            Action.PHOTO_ADDED,
            actor_label=CITIZEN,
            organisation=report.organisation,
            after={"photos": [p.pk for p in stored]},
        )
    except Exception:
        discard_files(stored)
        raise
    return len(stored)


@transaction.atomic
def answer_satisfaction(
    report: Report, option: int | str | None, comment: str = "", *, reopen: bool = False
) -> SatisfactionAnswer:
    """The reporter's one answer to "Are you satisfied?": one of the municipality's
    standard answers, a comment, and (when not satisfied) a request to look at the report
    again, which waits for an agent (no automatic reopen).

    Sent twice (a double click, a resent form) it is the one answer; a different second
    answer is refused."""
    report = _locked(report)
    comment = _text(comment, "comment", required=False, limit=2000)
    option_id = str(option or "")
    given = SatisfactionAnswer.objects.filter(report=report).first()
    if given is not None or report.satisfied is not None:
        if (
            given is not None
            and str(given.option_id or "") == option_id
            and given.comment == comment
        ):
            return given
        raise ValidationError(
            {
                "option": _(
                    "You already answered this question. Thank you: your first answer counts."
                )
            }
        )
    if not can_answer_satisfaction(report):
        raise ValidationError({"option": _("We ask this question once your report is resolved.")})
    chosen = next((o for o in satisfaction_options(report) if str(o.pk) == option_id), None)
    if chosen is None:
        raise ValidationError({"option": _("Choose one of the answers.")})
    if reopen:
        if chosen.satisfied:
            raise ValidationError(
                {
                    "reopen": _(
                        "You chose an answer that says you are satisfied. To ask us to look "
                        "again, choose the answer that says what is wrong."
                    )
                }
            )
        if not comment:
            raise ValidationError(
                {"comment": _("Tell us what is still wrong, so we know what to look at.")}
            )
        if not can_reopen(report):
            raise ValidationError(
                {"reopen": _("This report can no longer be reopened. Please file a new report.")}
            )
    now = timezone.now()
    answer = SatisfactionAnswer.objects.create(
        report=report,
        option=chosen,
        text=chosen.display_text,
        satisfied=chosen.satisfied,
        comment=comment,
        answered_at=now,
    )
    report.satisfied = chosen.satisfied
    # Answered on the page without our mail: the page asked.
    report.satisfaction_asked_at = report.satisfaction_asked_at or now
    report.save(update_fields=["satisfied", "satisfaction_asked_at", "updated_at"])
    history.record(
        report,
        Action.SATISFACTION_ANSWERED,
        actor_label=CITIZEN,
        organisation=report.organisation,
        after={"option": chosen.pk, "satisfied": chosen.satisfied},
    )
    if reopen:
        request_reopen(report, comment, field="comment")
    return answer


@transaction.atomic
def reopen(report: Report, reason: str) -> ReopenRequest:
    """The reporter says the problem is still there, within the reopen window: a request
    to reopen, for an agent to decide (ADR 0039), never a reopen by itself."""
    report = _locked(report)
    reason = _text(reason, "reason", limit=2000)
    if not can_reopen(report):
        raise ValidationError(
            {"reason": _("This report can no longer be reopened. Please file a new report.")}
        )
    return request_reopen(report, reason)
