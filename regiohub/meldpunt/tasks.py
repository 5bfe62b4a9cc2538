"""Mails to the reporter. Each is sent once (idempotent by key) and retried when the mail
server fails."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regiohub.core.mail import headers_for
from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import once, task
from regiohub.meldpunt.links import followup_url
from regiohub.meldpunt.models import Handover, Message, MessageKind, Report
from regiohub.meldpunt.workflow import Status


def _send(report: Report, key: str, subject: str, template: str, context: dict) -> None:
    """Mail the reporter; ``key`` is the task's idempotency key (its Message-ID)."""
    context = {
        "report": report,
        "REGION_NAME": settings.REGION_NAME,
        "followup_url": followup_url(report),
        **context,
    }
    EmailMessage(
        subject=subject,
        body=render_to_string(template, context),
        to=[report.reporter_email],
        headers=headers_for(key),
    ).send()


@task(queue_name="mail")
def send_acknowledgement(report_id: int) -> str:
    report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email:
        return "no address"
    key = f"meldpunt.ack:{report_id}"
    with once(key) as first, translation.override(report.reporter_language):
        if first:
            _send(
                report,
                key,
                _("We received your report %(reference)s") % {"reference": report.reference},
                "meldpunt/mail/acknowledgement.txt",
                {},
            )
            return "sent"
    return "already sent"


@task(queue_name="mail")
def send_status_update(report_id: int, history_entry_id: int) -> str:
    """Tell the reporter about one status change (the history entry that recorded it).

    The entry may be about the report this one was merged into: reporters of duplicates
    ("me too") hear what happens to the report that is handled for them.
    """
    report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email:
        return "no address"
    entry = HistoryEntry.objects.get(pk=history_entry_id)
    status = entry.after["status"]
    # Only these reasons are written for the reporter; others (on hold...) are internal.
    reason = entry.reason if status in (Status.CANCELLED, Status.REOPENED) else ""
    via = ""
    if entry.object_id != str(report.pk):
        via = Report.objects.filter(pk=entry.object_id).values_list("reference", flat=True).first()
    key = f"meldpunt.status:{history_entry_id}:{report_id}"
    with once(key) as first, translation.override(report.reporter_language):
        if first:
            _send(
                report,
                key,
                _("Your report %(reference)s: %(status)s")
                % {"reference": report.reference, "status": Status(status).label},
                "meldpunt/mail/status_update.txt",
                {"status": Status(status), "reason": reason, "via": via},
            )
            return "sent"
    return "already sent"


def greets(text: str) -> bool:
    """Whether a message opens with its own salutation ("Beste An Peeters,", "Madame,
    Monsieur,"): a short first line ending in a comma. The mail around it then greets no
    more, so the reporter is greeted once."""
    first = text.strip().split("\n", 1)[0].strip()
    return first.endswith(",") and len(first) <= 60


@task(queue_name="mail")
def send_message_mail(message_id: int) -> str:
    """Mail a message or question from staff to the reporter."""
    message = Message.objects.select_related("report__organisation", "report__category").get(
        pk=message_id
    )
    report = message.report
    if not report.reporter_email or not message.is_public:
        return "no address"
    key = f"meldpunt.message:{message_id}"
    with once(key) as first, translation.override(report.reporter_language):
        if first:
            _send(
                report,
                key,
                _("Your report %(reference)s: a message") % {"reference": report.reference}
                if message.kind != MessageKind.QUESTION
                else _("Your report %(reference)s: we have a question")
                % {"reference": report.reference},
                "meldpunt/mail/message.txt",
                {"message": message, "message_greets": greets(message.body)},
            )
            return "sent"
    return "already sent"


@task(queue_name="mail")
def notify_assignee(report_id: int, message_id: int) -> str:
    """Tell the person handling a report that the reporter wrote back."""
    report = Report.objects.select_related("assignee").get(pk=report_id)
    person = report.assignee
    if person is None or not person.email or not person.is_active:
        return "no assignee"
    key = f"meldpunt.notify_assignee:{message_id}"
    with (
        once(key) as first,
        translation.override(person.language or settings.LANGUAGE_CODE),
    ):
        if first:
            EmailMessage(
                subject=_("%(reference)s: the reporter wrote back")
                % {"reference": report.reference},
                body=render_to_string(
                    "meldpunt/mail/reporter_answered.txt",
                    {
                        "report": report,
                        "url": settings.SITE_URL.rstrip("/")
                        + reverse("meldpunt:staff-report", args=[report.reference]),
                        "REGION_NAME": settings.REGION_NAME,
                    },
                ),
                to=[person.email],
                headers=headers_for(key),
            ).send()
            return "sent"
    return "already sent"


@task(queue_name="mail")
def send_handover_mail(handover_id: int) -> str:
    """Send a report to the external body that owns the asset, with its photos.

    The reporter's contact details go along only when they consented; the body answers
    the contact point, quoting the reference.
    """
    handover = Handover.objects.select_related(
        "report__organisation", "report__category", "to_external_body", "from_organisation"
    ).get(pk=handover_id)
    body = handover.to_external_body
    if body is None:
        return "not an external hand-over"
    report = handover.report
    key = f"meldpunt.handover:{handover_id}"
    with once(key) as first, translation.override("nl"):
        if first:
            mail = EmailMessage(
                subject=_("Report %(reference)s handed over to %(body)s")
                % {"reference": report.reference, "body": body.name},
                body=render_to_string(
                    "meldpunt/mail/handover.txt",
                    {
                        "handover": handover,
                        "report": report,
                        "REGION_NAME": settings.REGION_NAME,
                        "map_url": f"https://www.openstreetmap.org/?mlat={report.latitude:.6f}"
                        f"&mlon={report.longitude:.6f}#map=18/{report.latitude:.6f}/"
                        f"{report.longitude:.6f}",
                    },
                ),
                to=[body.email],
                headers=headers_for(key),
            )
            for number, photo in enumerate(report.photos.all(), start=1):
                with photo.file.open("rb") as handle:
                    mail.attach(f"{report.reference}-{number}.jpg", handle.read(), "image/jpeg")
            mail.send()
            Handover.objects.filter(pk=handover_id).update(sent_at=timezone.now())
            return "sent"
    return "already sent"
