"""Parsing and routing of incoming mail (see the package docstring)."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from regiohub.meldpunt.models import InboundAttachment, InboundMail, InboundMailState, Report
from regiohub.meldpunt.photos import ProcessedPhoto, process_photo
from regiohub.meldpunt.services import citizen

REFERENCE = re.compile(r"\b([A-Z]{3}-[0-9]{4}-[0-9]{6})\b")
MAX_PHOTOS = 3
#: Real mail nests a few levels (mixed > alternative > related, a forwarded message);
#: deeper parts and parts beyond the count are skipped, with a note on the mail.
MAX_DEPTH = 10
MAX_PARTS = 100
#: More multipart containers than this and only the headers are parsed: the parser
#: recurses per level, and a mail nested thousands deep would exhaust the stack.
MAX_CONTAINERS = 100
_CONTAINER = re.compile(rb"content-type:\s*multipart/", re.IGNORECASE)
#: Lone surrogates cannot be encoded for the database.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Quoted history below a reply: keep only what the reporter wrote now.
QUOTE_START = re.compile(
    r"^(>|On .* wrote:|Op .* schreef .*:|Le .* a écrit ?:|-{2,} ?Original|Van: |From: )",
    re.MULTILINE,
)


def clean(text: str) -> str:
    """``text`` as any text column can hold it: no NUL, no lone surrogate."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _decoded(part: EmailMessage, notes: list[str]) -> str:
    """The part's text; a character set Python does not know (``unknown-8bit``,
    ``x-user-defined``, a typo) is read as UTF-8, else Windows-1252, replacing what does
    not fit."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("windows-1252", errors="replace")
        charset = clean(str(part.get_param("charset", "") or ""))[:40]
        notes.append(
            _("The text is in a character set that could not be read (%(charset)s); it was "
              "read as well as possible: check the original message.") % {"charset": charset}
        )  # fmt: skip
        return text


def _text_of(message: EmailMessage, notes: list[str]) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _decoded(part, notes)
    if part.get_content_type() == "text/html":
        content = strip_tags(content)
    return clean(content).strip()


def _count(parts: list) -> int:
    """How many parts these are, their own parts included."""
    total, stack = 0, list(parts)
    while stack:
        part = stack.pop()
        total += 1
        if part.is_multipart() and isinstance(part.get_payload(), list):
            stack.extend(part.get_payload())
    return total


def _prune(message: EmailMessage) -> int:
    """Cut the tree of parts to ``MAX_DEPTH`` levels and ``MAX_PARTS`` parts, the outer
    levels first (that is where the text is); return how many parts were cut."""
    queue: deque[tuple[EmailMessage, int]] = deque([(message, 0)])
    seen = skipped = 0
    while queue:
        part, depth = queue.popleft()
        seen += 1
        children = part.get_payload() if part.is_multipart() else None
        if not isinstance(children, list):
            continue
        room = 0 if depth + 1 >= MAX_DEPTH else max(0, MAX_PARTS - seen - len(queue))
        if len(children) > room:
            skipped += _count(children[room:])
            part.set_payload(children[:room])
        queue.extend((child, depth + 1) for child in children[:room])
    return skipped


def parse(raw: bytes, notes: list[str]) -> tuple[EmailMessage, bool]:
    """The message, and whether its parts were read (not only its headers)."""
    parser = BytesParser(policy=policy.default)
    if len(_CONTAINER.findall(raw)) <= MAX_CONTAINERS:
        try:
            message = parser.parsebytes(raw)
        except RecursionError:
            pass
        else:
            skipped = _prune(message)  # type: ignore[arg-type]
            if skipped:
                notes.append(
                    _("The mail is nested too deeply or has too many parts: %(count)d parts "
                      "were skipped; check the original message.") % {"count": skipped}
                )  # fmt: skip
            return message, True  # type: ignore[return-value]
    notes.append(
        _("The mail is nested too deeply or has too many parts: only its sender and "
          "subject were read; check the original message.")
    )  # fmt: skip
    return parser.parsebytes(raw, headersonly=True), False  # type: ignore[return-value]


def _fresh_part(text: str) -> str:
    match = QUOTE_START.search(text)
    return (text[: match.start()] if match else text).strip()


def receive(raw: bytes) -> InboundMail:
    """Store one incoming mail (once per Message-ID) and thread or queue it. Text it
    cannot read fully is read as well as possible, with a note and the original kept."""
    notes: list[str] = []
    message, complete = parse(raw, notes)
    name, address = parseaddr(clean(str(message.get("From", ""))))
    address = address.strip().lower()
    if not address or "@" not in address:
        raise ValidationError({"from": "The mail has no usable sender address."})
    message_id = _message_id(message, raw)
    existing = InboundMail.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing  # the mail service retried: nothing new
    subject = clean(str(message.get("Subject", "")))[:300]
    body = _text_of(message, notes)[:20000] if complete else ""
    try:
        with transaction.atomic():
            mail = InboundMail.objects.create(
                message_id=message_id,
                from_address=address[:254],
                from_name=clean(name)[:200],
                subject=subject,
                body=body,
                intake_note="\n".join(notes),
            )
            if notes:
                mail.original.save("mail.eml", ContentFile(raw), save=True)
            if complete:
                _store_photos(mail, message)
            _thread(mail)
    except IntegrityError:  # the same mail delivered twice at the same moment
        return InboundMail.objects.get(message_id=message_id)
    return mail


def _message_id(message: EmailMessage, raw: bytes) -> str:
    return clean(str(message.get("Message-ID", ""))).strip()[:300] or (
        "sha256:" + hashlib.sha256(raw).hexdigest()
    )


def receive_unreadable(raw: bytes) -> InboundMail:
    """Keep a mail that :func:`receive` failed on for an agent: its original message, the
    sender and subject when those can be read, and a note. Once per Message-ID."""
    address = name = subject = ""
    message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        name, address = parseaddr(clean(str(headers.get("From", ""))))
        subject = clean(str(headers.get("Subject", "")))[:300]
        message_id = _message_id(headers, raw)  # type: ignore[arg-type]
    except Exception:  # noqa: S110 - the headers are a courtesy here
        pass
    existing = InboundMail.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        mail = InboundMail.objects.create(
            message_id=message_id,
            from_address=clean(address).strip().lower()[:254],
            from_name=clean(name)[:200],
            subject=subject,
            intake_note=_("This mail could not be read: open the original message."),
        )
        mail.original.save("mail.eml", ContentFile(raw), save=True)
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
