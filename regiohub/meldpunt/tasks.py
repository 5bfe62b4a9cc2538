"""Mails to the reporter. Each is sent once (idempotent by key) and retried when the mail
server fails."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regiohub.core.mail import headers_for
from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import once, task
from regiohub.meldpunt.links import followup_url, handoff_url
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


@task(queue_name="mail")
def send_satisfaction_question(report_id: int) -> str:
    """Tell the reporter their report is resolved and ask, once, whether they are
    satisfied: the answers are on their follow-up page (ADR 0039). This mail is the news
    of the first resolution: no status mail goes with it."""
    report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email or report.anonymised_at or not report.token_hash:
        return "no address"
    if report.satisfied is not None:
        return "already answered"
    key = f"meldpunt.satisfaction:{report_id}"
    with once(key) as first, translation.override(report.reporter_language):
        if first:
            _send(
                report,
                key,
                _("Your report %(reference)s: %(status)s. Are you satisfied?")
                % {"reference": report.reference, "status": Status.RESOLVED.label},
                "meldpunt/mail/satisfaction.txt",
                {},
            )
            return "sent"
    return "already sent"


#: How often the statistics are counted again, and how far back a run looks for changed
#: reports (more than the interval: a run that starts late or a slow transaction that
#: commits late is still seen). The nightly run looks back two days (ADR 0039).
STATISTICS_MINUTES = 5
STATISTICS_NIGHTLY_LOOKBACK = timedelta(days=2)


@task()
def refresh_statistics() -> int:
    """Count again the months whose reports changed since the last count, and any never
    counted."""
    from regiohub.meldpunt import statistics

    return statistics.refresh_due()


@task()
def refresh_statistics_nightly() -> int:
    """The same, looking at least two days back: a report changed without ``updated_at``
    moving (there is none in regiohub; a hand-made SQL fix) still gets counted."""
    from regiohub.meldpunt import statistics

    return statistics.refresh_due(lookback=STATISTICS_NIGHTLY_LOOKBACK)


def greets(text: str) -> bool:
    """Whether a message opens with its own salutation ("Beste An Peeters,", "Madame,
    Monsieur,"): a short first line ending in a comma. The mail around it then greets no
    more, so the reporter is greeted once."""
    first = text.strip().split("\n", 1)[0].strip()
    return first.endswith(",") and len(first) <= 60


@task(queue_name="mail")
def send_message_mail(message_id: int, report_id: int | None = None) -> str:
    """Mail a message or question from staff to the reporter.

    With ``report_id``: to the reporter of that report instead, one merged into the
    message's report (directly or through a chain), in their language, with their own
    reference and follow-up link.
    """
    message = Message.objects.select_related("report__organisation", "report__category").get(
        pk=message_id
    )
    report = message.report
    via = ""
    if report_id is not None and report_id != report.pk:
        via = report.reference
        report = Report.objects.select_related("organisation", "category").get(pk=report_id)
    if not report.reporter_email or report.anonymised_at or not message.is_public:
        return "no address"
    key = f"meldpunt.message:{message_id}" + (f":{report.pk}" if via else "")
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
                {"message": message, "message_greets": greets(message.body), "via": via},
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
    """Send a report to the external body that owns the asset, with its photos and the
    body's private link to acknowledge, send back or resolve it (ADR 0038).

    The reporter's contact details go along only when they consented.
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
                        "handoff_url": handoff_url(handover),
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
