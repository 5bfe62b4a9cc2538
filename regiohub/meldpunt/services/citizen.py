"""What the reporter does on the private follow-up page: answer a question, add a photo,
rate the handling and ask to reopen. Nothing here needs a login; the token is the key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.tasks import enqueue
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import Message, MessageKind, Report
from regiohub.meldpunt.services.filing import (
    PhotoContent,
    attach_photos,
    discard_files,
    token_hash,
)
from regiohub.meldpunt.services.handling import _locked, _text, change_status
from regiohub.meldpunt.workflow import Status

CITIZEN = history.CITIZEN  # translated when shown, never when stored


def report_for_token(token: str) -> Report | None:
    """The report this follow-up token opens, or None when the token is wrong, erased or
    expired (the caller answers 404 for all three, so nothing leaks)."""
    if not token or len(token) > 100:
        return None
    expired_before = timezone.now() - timedelta(days=settings.MELDPUNT_FOLLOWUP_DAYS)
    return (
        Report.objects.select_related("organisation", "category", "merged_into")
        .filter(token_hash=token_hash(token), anonymised_at__isnull=True)
        # A resolved report that nobody closes expires from its resolution.
        .alias(finished_at=Coalesce("closed_at", "resolved_at"))
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=expired_before))
        .first()
    )


def can_reopen(report: Report, now=None) -> bool:
    now = now or timezone.now()
    if report.status not in (Status.RESOLVED, Status.CLOSED) or report.resolved_at is None:
        return False
    return now - report.resolved_at <= timedelta(days=settings.MELDPUNT_REOPEN_DAYS)


def can_rate(report: Report) -> bool:
    return report.status in (Status.RESOLVED, Status.CLOSED) and report.rated_at is None


def photo_slots(report: Report) -> int:
    return max(0, settings.MELDPUNT_MAX_PHOTOS - report.photos.count())


@transaction.atomic
def answer(report: Report, body: str) -> Message:
    """The reporter answers (or adds information). A report waiting for them goes back to
    the handler, and the clock runs again."""
    report = _locked(report)
    body = _text(body, "body")
    if not report.is_open:
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
    if report.status == Status.WAITING_FOR_REPORTER:
        change_status(report, Status.IN_PROGRESS, actor=None, actor_label=CITIZEN, notify=False)
    if report.assignee_id:
        from regiohub.meldpunt.tasks import notify_assignee

        enqueue(notify_assignee, report.pk, message.pk)
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
def rate(report: Report, rating: int | str, comment: str = "") -> Report:
    report = _locked(report)
    if not can_rate(report):
        raise ValidationError({"rating": _("This report cannot be rated (any more).")})
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ValidationError({"rating": _("Choose from 1 to 5 stars.")})
    report.rating = value
    report.rating_comment = _text(comment, "comment", required=False, limit=2000)
    report.rated_at = timezone.now()
    report.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
    history.record(
        report,
        Action.RATED,
        actor_label=CITIZEN,
        organisation=report.organisation,
        after={"rating": value},
    )
    return report


@transaction.atomic
def reopen(report: Report, reason: str) -> Report:
    """The reporter says the problem is still there, within the reopen window."""
    report = _locked(report)
    reason = _text(reason, "reason", limit=2000)
    if not can_reopen(report):
        raise ValidationError(
            {"reason": _("This report can no longer be reopened. Please file a new report.")}
        )
    Message.objects.create(report=report, kind=MessageKind.FROM_REPORTER, body=reason)
    return change_status(report, Status.REOPENED, actor=None, actor_label=CITIZEN, reason=reason)
