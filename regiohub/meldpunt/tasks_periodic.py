"""Daily work of the contact point, enqueued by the worker's scheduler (see
``meldpunt.schedule``): the departments' digest of due and overdue reports, and the
erasure of personal data after the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from regiohub.core.mail import headers_for
from regiohub.core.models import Department, User
from regiohub.core.roles import Role
from regiohub.core.tasks import enqueue, once, task
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.privacy import RETENTION_ENDED, anonymise, expired_reports
from regiohub.meldpunt.workflow import FINISHED, SLA_PAUSED, UNANSWERED

RETENTION_BATCH = 500


# --- Daily digest ---------------------------------------------------------------------


def digest_horizon(day: date) -> datetime:
    """The end of the day after ``day`` (local time): reports due before it are listed."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=2), time.min))


def due_reports(before: datetime) -> QuerySet[Report]:
    """Open reports whose SLA clock runs and whose first due date is before ``before``.

    The first due date is the response due date while the report is unanswered and the
    resolution due date always, as in :func:`meldpunt.models.sla_state`. Reports waiting
    for the reporter (clock paused) and finished reports are never due.
    """
    return (
        Report.objects.exclude(status__in=FINISHED)
        .exclude(status__in=SLA_PAUSED)
        .filter(
            Q(resolution_due_at__lt=before) | Q(status__in=UNANSWERED, response_due_at__lt=before)
        )
    )


def first_due(report: Report) -> datetime | None:
    due = [report.resolution_due_at]
    if report.status in UNANSWERED:
        due.append(report.response_due_at)
    known = [d for d in due if d is not None]
    return min(known) if known else None


def digest_recipients(department: Department) -> list[User]:
    """Active members of ``department`` with an e-mail address; when it has none, the
    administrators of its organisation."""
    people = User.objects.filter(is_active=True).exclude(email="")
    members = people.filter(memberships__department=department).distinct()
    if not members.exists():
        members = people.filter(
            memberships__organisation_id=department.organisation_id,
            memberships__role=Role.ADMIN,
        ).distinct()
    return list(members.order_by("pk"))


@dataclass(frozen=True)
class DigestItem:
    report: Report
    due: datetime
    url: str


def digest_items(
    department_id: int, day: date, now: datetime
) -> tuple[list[DigestItem], list[DigestItem]]:
    """(overdue, due soon) items of one department's digest, each sorted by due date."""
    reports = (
        due_reports(digest_horizon(day))
        .filter(department_id=department_id)
        .select_related("category", "organisation")
    )
    items = []
    for report in reports:
        due = first_due(report)
        if due is None:
            continue
        url = settings.SITE_URL.rstrip("/") + reverse(
            "meldpunt:staff-report", args=[report.reference]
        )
        items.append(DigestItem(report=report, due=timezone.localtime(due), url=url))
    items.sort(key=lambda item: (item.due, item.report.reference))
    overdue = [item for item in items if item.due < now]
    soon = [item for item in items if item.due >= now]
    return overdue, soon


@dataclass(frozen=True)
class HandoverItem:
    report: Report
    body: str
    due: datetime
    url: str


def overdue_handovers(department_id: int, now: datetime) -> list[HandoverItem]:
    """Reports of the department handed to an external body that has not acknowledged them
    by their due date (ADR 0038), oldest due first."""
    from regiohub.meldpunt.handoffs import overdue_q
    from regiohub.meldpunt.models import Handover

    handovers = (
        Handover.objects.filter(overdue_q(now), report__department_id=department_id)
        .select_related("report__category", "report__organisation", "to_external_body")
        .order_by("acknowledge_due_at", "pk")
    )
    return [
        HandoverItem(
            report=handover.report,
            body=handover.to_external_body.display_name,
            due=timezone.localtime(handover.acknowledge_due_at),
            url=settings.SITE_URL.rstrip("/")
            + reverse("meldpunt:staff-report", args=[handover.report.reference]),
        )
        for handover in handovers
    ]


@task(queue_name="mail")
def send_department_digest(department_id: int, date_iso: str) -> str:
    """Mail the members of one department the reports that are overdue or due by the end
    of tomorrow, each in the member's own language. Sent once per department and day."""
    department = Department.objects.select_related("organisation").get(pk=department_id)
    day = date.fromisoformat(date_iso)
    overdue, soon = digest_items(department_id, day, timezone.now())
    handovers = overdue_handovers(department_id, timezone.now())
    if not overdue and not soon and not handovers:
        return "nothing due"
    recipients = digest_recipients(department)
    if not recipients:
        return "no recipients"
    key = f"meldpunt.digest:{department_id}:{date_iso}"
    with once(key) as first:
        if not first:
            return "already sent"
        messages = []
        for user in recipients:
            with translation.override(user.language):
                context = {
                    "department": department,
                    "municipality": department.organisation.display_name,
                    "day": day,
                    "overdue": overdue,
                    "soon": soon,
                    "handovers": handovers,
                    "user": user,
                    "REGION_NAME": settings.REGION_NAME,
                }
                subject = _("%(department)s: %(overdue)d overdue, %(soon)d due soon (%(date)s)") % {
                    "department": department.display_name,
                    "overdue": len(overdue),
                    "soon": len(soon),
                    "date": formats.date_format(day, "SHORT_DATE_FORMAT"),
                }
                body = render_to_string("meldpunt/mail/digest.txt", context)
            messages.append(
                EmailMessage(
                    subject=subject,
                    body=body,
                    to=[user.email],
                    headers=headers_for(f"{key}:{user.pk}"),
                )
            )
        get_connection().send_messages(messages)
    return f"sent to {len(recipients)}"


@task(queue_name="default")
def send_daily_digests() -> int:
    """Start one digest per department that has reports due by the end of tomorrow or
    overdue; how many were started."""
    from regiohub.meldpunt.handoffs import overdue_q
    from regiohub.meldpunt.models import Handover

    today = timezone.localdate()
    department_ids = sorted(
        set(
            due_reports(digest_horizon(today))
            .order_by()
            .values_list("department_id", flat=True)
            .distinct()
        )
        | set(
            Handover.objects.filter(overdue_q())
            .order_by()
            .values_list("report__department_id", flat=True)
            .distinct()
        )
    )
    for department_id in department_ids:
        enqueue(send_department_digest, department_id, today.isoformat())
    return len(department_ids)


# --- Retention ------------------------------------------------------------------------


@task(queue_name="default")
def anonymise_expired_reports() -> int:
    """Erase the reporter's personal data from the reports whose retention period ended;
    how many reports were anonymised.

    Only finished reports expire. The period runs from ``closed_at``; a finished report
    that was never closed (resolved, cancelled, merged) counts from
    ``resolved_at``, else from ``updated_at`` (see :mod:`meldpunt.privacy`).

    Works in batches of 500, one transaction each; rows another process holds are skipped
    (``SKIP LOCKED`` where the database has it) and picked up on a later run.
    """
    reason = RETENTION_ENDED
    total = 0
    while True:
        with transaction.atomic():
            batch_query = expired_reports().order_by("pk")
            if connection.features.has_select_for_update_skip_locked:
                batch_query = batch_query.select_for_update(skip_locked=True)
            batch = list(batch_query[:RETENTION_BATCH])
            for report in batch:
                anonymise(report, reason)
        total += len(batch)
        if len(batch) < RETENTION_BATCH:
            return total


# --- Photos waiting for the form's second step -------------------------------------------


@task(queue_name="default")
def sweep_pending_photos() -> int:
    """Remove the photos of report forms that were never sent (see ``meldpunt.pending``)."""
    from regiohub.meldpunt import pending

    return pending.sweep()
