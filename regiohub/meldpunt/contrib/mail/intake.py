"""Parsing and routing of incoming mail (see the package docstring)."""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.html import strip_tags

from regiohub.meldpunt.models import InboundAttachment, InboundMail, InboundMailState, Report
from regiohub.meldpunt.photos import ProcessedPhoto, process_photo
from regiohub.meldpunt.services import citizen

REFERENCE = re.compile(r"\b([A-Z]{3}-[0-9]{4}-[0-9]{6})\b")
MAX_PHOTOS = 3
#: Quoted history below a reply: keep only what the reporter wrote now.
QUOTE_START = re.compile(
    r"^(>|On .* wrote:|Op .* schreef .*:|Le .* a écrit ?:|-{2,} ?Original|Van: |From: )",
    re.MULTILINE,
)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = strip_tags(content)
    return content.replace("\x00", "").strip()


def _fresh_part(text: str) -> str:
    match = QUOTE_START.search(text)
    return (text[: match.start()] if match else text).strip()


def receive(raw: bytes) -> InboundMail:
    """Store one incoming mail (once per Message-ID) and thread or queue it."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    name, address = parseaddr(str(message.get("From", "")))
    address = address.strip().lower()
    if not address or "@" not in address:
        raise ValidationError({"from": "The mail has no usable sender address."})
    message_id = str(message.get("Message-ID", "")).strip()[:300] or (
        "sha256:" + hashlib.sha256(raw).hexdigest()
    )
    existing = InboundMail.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing  # the mail service retried: nothing new
    subject = str(message.get("Subject", "")).replace("\x00", "")[:300]
    body = _text_of(message)[:20000]
    try:
        with transaction.atomic():
            mail = InboundMail.objects.create(
                message_id=message_id,
                from_address=address[:254],
                from_name=name.replace("\x00", "")[:200],
                subject=subject,
                body=body,
            )
            _store_photos(mail, message)
            _thread(mail)
    except IntegrityError:  # the same mail delivered twice at the same moment
        return InboundMail.objects.get(message_id=message_id)
    return mail


def _store_photos(mail: InboundMail, message: EmailMessage) -> None:
    stored = 0
    for part in message.iter_attachments():
        if stored >= MAX_PHOTOS or part.get_content_maintype() != "image":
            continue
        try:
            photo = process_photo(ContentFile(part.get_content()), name=part.get_filename() or "")
        except (ValidationError, TypeError, KeyError):
            continue  # not a usable photo: the agent still sees the mail
        attachment = InboundAttachment(
            mail=mail, width=photo.width, height=photo.height, sha256=photo.sha256
        )
        attachment.file.save("photo.jpg", ContentFile(photo.content), save=True)
        stored += 1


def _thread(mail: InboundMail) -> None:
    """A reply from the reporter of the report named in the subject goes onto it."""
    match = REFERENCE.search(mail.subject.upper())
    if not match:
        return
    report = Report.objects.filter(
        reference=match.group(1), reporter_email__iexact=mail.from_address
    ).first()
    if report is None or report.anonymised_at:
        return
    text = _fresh_part(mail.body) or mail.subject
    if report.is_open:
        citizen.answer(report, text[:5000])
    else:
        # A finished report takes no answers; the agent decides (reopen or new report).
        mail.report = report
        mail.save(update_fields=["report"])
        return
    if mail.attachments.exists() and report.is_open and citizen.photo_slots(report):
        from regiohub.meldpunt.services import attach_photos

        attach_photos(report, _as_photos(mail)[: citizen.photo_slots(report)], by_reporter=True)
    mail.report = report
    mail.state = InboundMailState.THREADED
    mail.save(update_fields=["report", "state"])


def _as_photos(mail: InboundMail) -> list[ProcessedPhoto]:
    """The mail's stored photos, in the shape ``attach_photos`` takes."""
    photos = []
    for attachment in mail.attachments.all():
        with attachment.file.open("rb") as handle:
            content = handle.read()
        photos.append(
            ProcessedPhoto(
                content=content,
                content_type="image/jpeg",
                width=attachment.width,
                height=attachment.height,
                sha256=attachment.sha256,
            )
        )
    return photos
