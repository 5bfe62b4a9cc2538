"""Business rules of the contact point: filing a report and moving it through its workflow.

Each public function is one transaction: it locks what it changes, appends history and
enqueues its mails in that same transaction (see core.tasks).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import geo, history
from regiohub.core.models import Organisation
from regiohub.core.tasks import enqueue
from regiohub.meldpunt import workflow
from regiohub.meldpunt.models import Category, ClosingDay, ReferenceSequence, Report, SlaPause
from regiohub.meldpunt.models.report import Channel
from regiohub.meldpunt.sla import Calendar
from regiohub.meldpunt.workflow import Status

TRACKED_FIELDS = ["status", "department", "assignee", "organisation", "category"]


@dataclass(frozen=True)
class Submitted:
    report: Report
    token: str  # the private follow-up token; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_for(organisation: Organisation) -> Calendar:
    days = ClosingDay.objects.filter(organisation=organisation).values_list("date", flat=True)
    return Calendar(closing_days=frozenset(days))


def _next_reference(organisation: Organisation, year: int) -> str:
    ReferenceSequence.objects.get_or_create(organisation=organisation, year=year)
    sequence = ReferenceSequence.objects.select_for_update().get(
        organisation=organisation, year=year
    )
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{organisation.code}-{year}-{sequence.last_number:06d}"


def _pauses(report: Report) -> list[tuple[datetime, datetime | None]]:
    if report.pk is None:
        return []
    return [(p.started_at, p.ended_at) for p in report.sla_pauses.all()]


def update_due_dates(report: Report) -> None:
    """Recompute the response and resolution due dates from the category's SLA."""
    calendar = calendar_for(report.organisation)
    pauses = _pauses(report)
    report.response_due_at = calendar.add_business_days(
        report.created_at, float(report.category.response_days), pauses
    )
    report.resolution_due_at = calendar.add_business_days(
        report.created_at, float(report.category.resolution_days), pauses
    )


def locate(latitude: float, longitude: float) -> Organisation:
    """The municipality of the region where the point lies, or a ValidationError for the
    citizen saying what to do instead."""
    if not geo.valid_wgs84(latitude, longitude):
        raise ValidationError(
            {"location": _("This location is not valid. Pick the place on the map again.")}
        )
    location = geo.municipality_at(latitude, longitude)
    if not location.inside:
        raise ValidationError(
            {
                "location": _(
                    "This place is outside the municipalities of this contact point. "
                    "Please contact the municipality where the problem is, or for a "
                    "motorway or regional road, the Flemish roads agency (Agentschap "
                    "Wegen en Verkeer)."
                )
            }
        )
    return Organisation.objects.get(pk=location.organisation_id)


@transaction.atomic
def submit_report(
    *,
    category_code: str,
    description: str,
    latitude: float,
    longitude: float,
    channel: Channel | str,
    address: str = "",
    reporter_name: str = "",
    reporter_email: str = "",
    reporter_phone: str = "",
    language: str = "nl",
    consent: bool = False,
    actor: Any = None,
) -> Submitted:
    """File a report: the location decides the municipality, the category its department."""
    organisation = locate(latitude, longitude)
    category = (
        Category.objects.filter(organisation=organisation, code=category_code, is_active=True)
        .select_related("department")
        .first()
    )
    if category is None:
        raise ValidationError(
            {
                "category": _(
                    "%(municipality)s does not handle this subject through the contact "
                    "point. Choose another subject or call the municipality."
                )
                % {"municipality": organisation.display_name}
            }
        )
    description = description.strip()
    if not description:
        raise ValidationError({"description": _("Describe the problem or your question.")})
    if not (reporter_email or reporter_phone) and not category.allow_anonymous:
        raise ValidationError(
            {
                "reporter_email": _(
                    "For this subject we need an e-mail address or a phone number to contact you."
                )
            }
        )
    if (reporter_email or reporter_phone or reporter_name) and not consent:
        raise ValidationError(
            {"consent": _("Accept the privacy notice, or leave your contact details empty.")}
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    report = Report(
        reference=_next_reference(organisation, timezone.localdate(now).year),
        organisation=organisation,
        category=category,
        department=category.department,
        channel=channel,
        description=description,
        latitude=latitude,
        longitude=longitude,
        address=address.strip(),
        reporter_name=reporter_name.strip(),
        reporter_email=reporter_email.strip().lower(),
        reporter_phone=reporter_phone.strip(),
        reporter_language=language if language in ("nl", "fr", "en") else "nl",
        consent_at=now if consent else None,
        token_hash=token_hash(token),
        created_at=now,
    )
    # Field rules (lengths, e-mail syntax, channel) with Django's translated messages.
    report.full_clean(validate_unique=False, validate_constraints=False)
    update_due_dates(report)
    report.save()
    history.record(
        report,
        "report.created",
        actor=actor,
        actor_label=None if actor else _("citizen"),
        organisation=organisation,
        after=history.snapshot(report, [*TRACKED_FIELDS, "channel"]),
    )
    if report.reporter_email:
        from regiohub.meldpunt.tasks import send_acknowledgement

        enqueue(send_acknowledgement, report.pk)
    return Submitted(report=report, token=token)


@transaction.atomic
def change_status(
    report: Report,
    target: Status | str,
    *,
    actor: Any,
    reason: str = "",
    actor_label: str | None = None,
) -> Report:
    """Move ``report`` to ``target`` if the workflow allows it; record and notify."""
    report = (
        Report.objects.select_for_update()
        .select_related("category", "organisation")
        .get(pk=report.pk)
    )
    target = Status(target)
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

    report.status = target
    update_due_dates(report)
    report.save()
    entry = history.record(
        report,
        "report.status_changed",
        actor=actor,
        actor_label=actor_label,
        organisation=report.organisation,
        before=before,
        after=history.snapshot(report, TRACKED_FIELDS),
        reason=reason,
    )
    if report.reporter_email:
        from regiohub.meldpunt.tasks import send_status_update

        enqueue(send_status_update, report.pk, entry.pk)
    return report
