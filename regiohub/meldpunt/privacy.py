"""The reporter's personal data: erasure after the retention period, and the rights of
access and erasure of one person (GDPR articles 15 and 17).

Anonymising a report erases the reporter's name, e-mail, phone and consent, and the salt
and hash of the follow-up link (so the link stops working). The report itself stays for
the municipality's records and statistics; messages keep their text, photos stay.

Which reports expire: a finished report (see ``workflow.FINISHED``) whose retention clock
started more than ``MELDPUNT_RETENTION_MONTHS`` ago. The clock starts at ``closed_at``;
a finished report that was never closed (resolved but not closed, cancelled, merged)
has no such date, so its clock starts at ``resolved_at`` when it has one, else
at ``updated_at`` - the last change, which for these states is the one that finished it
(a later edit only makes the report expire later, never earlier). An open report never
expires, however old.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import gettext_noop

from regiohub.core import events, history
from regiohub.meldpunt.events import Action, ReportAnonymised
from regiohub.meldpunt.models import InboundMail, Message, Report, SatisfactionAnswer
from regiohub.meldpunt.models.conversation import PUBLIC_KINDS, MessageKind
from regiohub.meldpunt.workflow import FINISHED, Status

#: Fields that are erased (emptied) when a report is anonymised.
PERSONAL_FIELDS = [
    "reporter_name",
    "reporter_email",
    "reporter_phone",
    "consent_at",
    "token_salt",
    "token_hash",
    "client_key",
]
#: Shortest phone number (in digits, without country or trunk prefix) that is matched.
MIN_PHONE_DIGITS = 8


#: The reason the history gives when a report is anonymised at the end of its retention.
RETENTION_ENDED = history.translated_when_shown(
    gettext_noop("retention period ended"),
    stored_before=["bewaartermijn verstreken", "délai de conservation écoulé"],
)


class PersonNotGiven(ValueError):
    """Neither an e-mail address nor a usable phone number was given."""


# --- Anonymising ----------------------------------------------------------------------


@transaction.atomic
def anonymise(report: Report, reason: str, *, actor_label: str | None = None) -> Report:
    """Erase the reporter's personal data from ``report`` and record that in its history.

    The history entry names the erased fields, never their values.
    """
    name = report.reporter_name.strip()
    if len(name) >= 3:
        # Templated messages greet the reporter by name ("Beste {name}"): blank it there too.
        for message in Message.objects.filter(report=report, body__contains=name):
            Message.objects.filter(pk=message.pk).update(body=message.body.replace(name, "[…]"))
    report.reporter_name = ""
    report.reporter_email = ""
    report.reporter_phone = ""
    report.consent_at = None
    report.token_salt = ""
    report.token_hash = None
    report.client_key = None
    report.anonymised_at = timezone.now()
    report.save(update_fields=[*PERSONAL_FIELDS, "anonymised_at", "updated_at"])
    history.record(
        report,
        Action.ANONYMISED,
        actor_label=actor_label,
        organisation=report.organisation_id,
        after={"erased": PERSONAL_FIELDS},
        reason=reason,
    )
    events.publish(ReportAnonymised(report_id=report.pk, organisation_id=report.organisation_id))
    return report


def months_before(moment: datetime, months: int) -> datetime:
    """The same local wall-clock time ``months`` calendar months before ``moment`` (the
    day clamped to the end of a shorter month: 31 May - 3 months = 28/29 February)."""
    local = timezone.localtime(moment)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def expired_reports(now: datetime | None = None) -> QuerySet[Report]:
    """Reports whose retention period ended and that still hold personal data (see the
    module docstring for when the period starts)."""
    cutoff = months_before(now or timezone.now(), settings.MELDPUNT_RETENTION_MONTHS)
    return (
        Report.objects.filter(status__in=FINISHED, anonymised_at__isnull=True)
        .alias(retention_from=Coalesce("closed_at", "resolved_at", "updated_at"))
        .filter(retention_from__lt=cutoff)
    )


# --- One person's reports -------------------------------------------------------------


def normalise_phone(phone: str) -> str:
    """The digits of a phone number without the international or trunk prefix, so that
    ``+32 470 12 34 56``, ``0032470123456`` and ``0470/12.34.56`` compare equal."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("32"):
        digits = digits[2:]
    return digits.lstrip("0")


def _check_person(email: str | None, phone: str | None) -> tuple[str, str]:
    email = (email or "").strip()
    phone_digits = normalise_phone(phone or "")
    if phone and len(phone_digits) < MIN_PHONE_DIGITS:
        raise PersonNotGiven(_("“%(phone)s” is not a complete phone number.") % {"phone": phone})
    if not email and not phone_digits:
        raise PersonNotGiven(_("Give the person's e-mail address, phone number or both."))
    return email, phone_digits


def find_reports(email: str | None = None, phone: str | None = None) -> QuerySet[Report]:
    """The reports filed by the person with this e-mail address (any case) or this phone
    number (compared on its digits), oldest first."""
    email, phone_digits = _check_person(email, phone)
    pks: set[int] = set()
    if email:
        pks.update(Report.objects.filter(reporter_email__iexact=email).values_list("pk", flat=True))
    if phone_digits:
        candidates = Report.objects.exclude(reporter_phone="").values_list("pk", "reporter_phone")
        pks.update(
            pk for pk, stored in candidates.iterator() if normalise_phone(stored) == phone_digits
        )
    return Report.objects.filter(pk__in=pks).order_by("created_at", "pk")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _export_report(report: Report) -> dict[str, Any]:
    with translation.override(report.reporter_language):
        return _export_report_fields(report)


def _export_report_fields(report: Report) -> dict[str, Any]:
    messages = [m for m in report.messages.all() if m.kind in PUBLIC_KINDS]
    return {
        "reference": report.reference,
        "municipality": report.organisation.display_name,
        "category": report.category.display_name,
        "status": report.status,
        "status_label": str(Status(report.status).label),
        "channel": report.channel,
        "description": report.description,
        "address": report.address,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "reporter": {
            "name": report.reporter_name,
            "email": report.reporter_email,
            "phone": report.reporter_phone,
            "language": report.reporter_language,
            "privacy_notice_accepted_at": _iso(report.consent_at),
        },
        "dates": {
            "reported_at": _iso(report.created_at),
            "first_response_at": _iso(report.responded_at),
            "resolved_at": _iso(report.resolved_at),
            "closed_at": _iso(report.closed_at),
        },
        "rating": (
            {
                "rating": report.rating,
                "comment": report.rating_comment,
                "rated_at": _iso(report.rated_at),
            }
            if report.rated_at
            else None
        ),
        "satisfaction": _export_satisfaction(report),
        "messages": [
            {
                "direction": "from_reporter"
                if m.kind == MessageKind.FROM_REPORTER
                else "to_reporter",
                "kind": m.kind,
                "written_at": _iso(m.created_at),
                "text": m.body,
            }
            for m in messages
        ],
        "photo_count": report.photos.count(),
    }


def _export_satisfaction(report: Report) -> dict[str, Any] | None:
    """What the reporter answered when asked whether they are satisfied (ADR 0039)."""
    answer = SatisfactionAnswer.objects.filter(report=report).first()
    if answer is None:
        return None
    return {
        "answer": answer.text,
        "satisfied": answer.satisfied,
        "comment": answer.comment,
        "answered_at": _iso(answer.answered_at),
    }


def export_person(email: str | None = None, phone: str | None = None) -> dict[str, Any]:
    """Everything the contact point holds about one reporter (the right of access).

    Internal notes and hand-overs between staff are left out; only the messages the
    reporter wrote and those sent to them are included. Names (municipality, category,
    status) are in the language the reporter used. Raises :class:`PersonNotGiven`
    when neither ``email`` nor ``phone`` is given.
    """
    reports = find_reports(email, phone).select_related("organisation", "category")
    return {
        "exported_at": timezone.now().isoformat(),
        "person": {"email": (email or "").strip(), "phone": (phone or "").strip()},
        "reports": [_export_report(r) for r in reports.prefetch_related("messages")],
    }


@transaction.atomic
def erase_person_references(
    email: str | None = None, phone: str | None = None, *, actor_label: str
) -> list[str]:
    """Anonymise every report of one reporter (the right to erasure); the references of the
    reports that were erased, oldest first."""
    pks = list(find_reports(email, phone).values_list("pk", flat=True))
    reports = Report.objects.select_for_update().filter(pk__in=pks).order_by("created_at", "pk")
    reason = history.ERASURE_REQUEST
    touched = []
    for report in reports:
        anonymise(report, reason, actor_label=actor_label)
        touched.append(report.reference)
    return touched


def erase_person(email: str | None = None, phone: str | None = None, *, actor_label: str) -> int:
    """Anonymise every report of one reporter; how many reports were erased."""
    return len(erase_person_references(email, phone, actor_label=actor_label))


class PrivacyHandler:
    """The contact point's part of ``regiohub privacy`` (see ``core.modules``)."""

    label = _lazy("Contact point")

    def export(self, email: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        reports = export_person(email=email)["reports"]
        if reports:
            data["reports"] = reports
        mails = [
            {
                "received_at": _iso(mail.received_at),
                "from": mail.from_address,
                "name": mail.from_name,
                "subject": mail.subject,
                "text": mail.body,
                "state": mail.state,
                "report": mail.report.reference if mail.report_id else None,
                "attachments": mail.attachments.count(),
            }
            for mail in _mails_of(email).select_related("report")
        ]
        if mails:
            data["mails"] = mails
        return data

    @transaction.atomic
    def erase(self, email: str, *, actor_label: str) -> int:
        """Anonymise the person's reports and delete the mails they sent (with their
        attachments and the kept original): a mail is the person's own words and address,
        and the report it became keeps what the municipality needs."""
        count = erase_person(email=email, actor_label=actor_label)
        files: list[tuple[Any, str]] = []
        mails = list(_mails_of(email).prefetch_related("attachments"))
        for mail in mails:
            files.extend((a.file.storage, a.file.name) for a in mail.attachments.all())
            if mail.original:
                files.append((mail.original.storage, mail.original.name))
            mail.delete()
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])
        return count + len(mails)


def _mails_of(email: str) -> QuerySet[InboundMail]:
    return InboundMail.objects.filter(from_address__iexact=email.strip())
