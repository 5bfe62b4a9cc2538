"""Taking in an incoming mail: an agent files the report the mail asks for.

The report, the mail's photos on it and the mail marked converted are one transaction, with
the mail row locked first: a failure anywhere leaves the mail waiting (and no report), and
two agents (or one double click) cannot turn the same mail into two reports.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.meldpunt.contrib.mail.intake import _as_photos
from regiohub.meldpunt.models import InboundMail, InboundMailState, Photo
from regiohub.meldpunt.services import filing
from regiohub.meldpunt.services.citizen import photo_slots


def ensure_waiting(mail: InboundMail) -> None:
    """Raise a ValidationError for the agent (under ``mail``) when ``mail`` can no longer
    be taken in: it became a report already, or it was threaded or set aside."""
    if mail.state == InboundMailState.NEW:
        return
    if mail.state == InboundMailState.CONVERTED:
        report = mail.report
        message = (
            _("This mail was already taken in as report %(reference)s.")
            % {"reference": report.reference}
            if report is not None
            else _("This mail was already taken in as a report.")
        )
        raise ValidationError({"mail": ValidationError(message, code="converted")})
    raise ValidationError(
        {
            "mail": ValidationError(
                _("This mail is no longer waiting to be taken in (%(state)s).")
                % {"state": mail.get_state_display()},
                code="not_waiting",
            )
        }
    )


def take_in(mail_id: int, *, actor: Any, **report: Any) -> filing.Submitted:
    """File the report an agent made of the incoming mail ``mail_id``, with the mail's
    photos (as far as there is room), and mark the mail converted into it.

    ``report`` holds the keyword arguments of :func:`filing.submit_report`. Raises a
    ValidationError when the mail is no longer waiting (:func:`ensure_waiting`) or the
    report is refused; nothing is then written.
    """
    started = timezone.now()
    with transaction.atomic():
        # No select_related: FOR UPDATE may not reach the nullable side of an outer join.
        mail = InboundMail.objects.select_for_update().get(pk=mail_id)
        ensure_waiting(mail)
        submitted = filing.submit_report(**report, actor=actor)
        new = submitted.report
        # Files are not part of the transaction: remove the ones written here if it fails.
        # (A form sent twice returns its earlier report, whose photos are not ours to remove.)
        written: list[Photo] = list(new.photos.all()) if new.created_at >= started else []
        try:
            photos = _as_photos(mail)[: photo_slots(new)]
            if photos:
                written += filing.attach_photos(new, photos, by_reporter=True, actor=actor)
            mail.state = InboundMailState.CONVERTED
            mail.report = new
            mail.save(update_fields=["state", "report"])
        except Exception:
            filing.discard_files(written)
            raise
    return submitted
