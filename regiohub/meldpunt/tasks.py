"""Mails to the reporter. Each is sent once (idempotent by key) and retried when the mail
server fails."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import once, task
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.workflow import Status


def _send(report: Report, subject: str, template: str, context: dict) -> None:
    context = {"report": report, "REGION_NAME": settings.REGION_NAME, **context}
    send_mail(
        subject=subject,
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=[report.reporter_email],
    )


@task(queue_name="mail")
def send_acknowledgement(report_id: int) -> str:
    report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email:
        return "no address"
    with once(f"meldpunt.ack:{report_id}") as first, translation.override(report.reporter_language):
        if first:
            _send(
                report,
                _("We received your report %(reference)s") % {"reference": report.reference},
                "meldpunt/mail/acknowledgement.txt",
                {"site_url": settings.SITE_URL},
            )
            return "sent"
    return "already sent"


@task(queue_name="mail")
def send_status_update(report_id: int, history_entry_id: int) -> str:
    """Tell the reporter about one status change (the history entry that recorded it)."""
    report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email:
        return "no address"
    status = HistoryEntry.objects.get(pk=history_entry_id).after["status"]
    with (
        once(f"meldpunt.status:{history_entry_id}") as first,
        translation.override(report.reporter_language),
    ):
        if first:
            _send(
                report,
                _("Your report %(reference)s: %(status)s")
                % {"reference": report.reference, "status": Status(status).label},
                "meldpunt/mail/status_update.txt",
                {"status": Status(status), "site_url": settings.SITE_URL},
            )
            return "sent"
    return "already sent"
