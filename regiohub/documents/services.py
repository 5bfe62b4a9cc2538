"""Writes of document delivery: submit a letter, resend a failed one, set up a sender.

Each service is one transaction that stores the letter, starts its tasks (the outbox of
``core.tasks``) and writes the first step of its trail. The sealing and sending happen in
the worker (``documents.delivery``), so a submission answers in milliseconds and a crash
after it loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import structlog
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import access, history
from regiohub.core.identifiers import IdentifierError, enterprise_number, national_number
from regiohub.core.tasks import enqueue
from regiohub.documents import pdfs
from regiohub.documents.events import Action
from regiohub.documents.models import (
    ChannelName,
    Letter,
    LetterFile,
    RecipientKind,
    Sender,
    Status,
)
from regiohub.documents.paper import AddressProblem, check_address
from regiohub.documents.permissions import SEND_LETTERS
from regiohub.documents.trail import append

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "KeyConflict",
    "ResendError",
    "Submission",
    "SubmissionError",
    "Submitted",
    "compose_files",
    "resend",
    "save_sender",
    "submit",
]

log = structlog.get_logger(__name__)

#: Languages a subject may be written in (the eBox's and the print partner's).
SUBJECT_LANGUAGES = ("nl", "fr", "de")
LETTER_LANGUAGES = ("nl", "fr", "de", "en")
MAX_SUBJECT = 400
MAX_REFERENCE = 80
MAX_KEY = 255
MAX_NAME = 200
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")


class SubmissionError(ValueError):
    """What is wrong with a submission, per field (``files``, ``recipient.number`` ...),
    in words for the person or program that sent it. Nothing was stored."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class KeyConflict(ValueError):
    """The idempotency key was used before for a different letter."""

    def __init__(self, letter: Letter) -> None:
        self.letter = letter
        super().__init__(
            _(
                "This idempotency key was used before for another letter (%(reference)s); "
                "choose a new key for a new letter."
            )
            % {"reference": letter.reference}
        )


@dataclass
class Submission:
    """A letter as a back-office system or a staff member hands it in."""

    organisation: Any
    reference: str
    idempotency_key: str
    recipient_kind: str
    recipient_number: str
    subjects: Mapping[str, str]
    files: Sequence[tuple[str, bytes]]
    recipient_name: str = ""
    address_lines: Sequence[str] = ()
    country_code: str = "BE"
    language: str = "nl"
    department: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    letter: Letter
    #: False when the idempotency key named a letter submitted before (nothing new).
    created: bool


def submit(submission: Submission, *, actor: Any = None, actor_label: str = "") -> Submitted:
    """Check ``submission`` whole, store it and start its delivery; or
    :class:`SubmissionError` naming every field at fault, and nothing stored.

    The same idempotency key with the same content returns the letter stored the first
    time (``created`` false); with other content it is :class:`KeyConflict`.
    """
    organisation = submission.organisation
    if actor is not None:
        access.require(actor, SEND_LETTERS, organisation)
    errors, clean = _check(submission)
    if errors:
        raise SubmissionError(errors)
    digest = _content_digest(clean)
    existing = _existing(organisation, clean["idempotency_key"], digest)
    if existing is not None:
        return Submitted(existing, created=False)
    try:
        with transaction.atomic():
            letter = _store(organisation, clean, digest, actor=actor, actor_label=actor_label)
    except IntegrityError:  # the same key submitted at the same moment by another request
        existing = _existing(organisation, clean["idempotency_key"], digest)
        if existing is None:
            raise
        return Submitted(existing, created=False)
    log.info("letter received", letter=str(letter.public_id), files=len(clean["files"]))
    return Submitted(letter, created=True)


def _existing(organisation: Any, key: str, digest: str) -> Letter | None:
    found = Letter.objects.filter(organisation=organisation, idempotency_key=key).first()
    if found is None:
        return None
    if found.content_digest != digest:
        raise KeyConflict(found)
    return found


def _store(
    organisation: Any, clean: dict[str, Any], digest: str, *, actor: Any, actor_label: str
) -> Letter:
    from regiohub.documents.tasks import deliver_letter

    letter = Letter.objects.create(
        organisation=organisation,
        department=clean["department"],
        reference=clean["reference"],
        idempotency_key=clean["idempotency_key"],
        content_digest=digest,
        recipient_kind=clean["recipient_kind"],
        recipient_number=clean["recipient_number"],
        recipient_name=clean["recipient_name"],
        address_lines=clean["address_lines"],
        country_code=clean["country_code"],
        language=clean["language"],
        subjects=clean["subjects"],
        created_by=(actor_label or (str(actor) if actor is not None else ""))[:200],
    )
    base = letter_folder(letter)
    received = []
    files = []
    for position, checked in enumerate(clean["files"], start=1):
        sha256 = hashlib.sha256(checked.data).hexdigest()
        name = store_file(f"{base}/{position}-received.pdf", checked.data)
        files.append(
            LetterFile(
                letter=letter,
                position=position,
                filename=checked.name,
                original=name,
                original_sha256=sha256,
                original_size=len(checked.data),
            )
        )
        received.append({"file": checked.name, "sha256": sha256, "pages": checked.pages})
    LetterFile.objects.bulk_create(files)
    append(
        letter,
        Action.LETTER_RECEIVED,
        Status.RECEIVED,
        actor=letter.created_by,
        detail={"files": received, "reference": letter.reference},
    )
    if actor is not None:
        history.record(
            letter,
            Action.LETTER_RECEIVED,
            actor=actor,
            actor_label=actor_label or None,
            organisation=organisation,
            after={"reference": letter.reference, "files": len(files)},
        )
    enqueue(deliver_letter, letter.pk)
    return letter


def letter_folder(letter: Letter) -> str:
    """Where a letter's files live in the file storage (no personal data in the path)."""
    return f"letters/{letter.organisation_id}/{letter.created_at:%Y/%m}/{letter.public_id}"


def store_file(name: str, data: bytes) -> str:
    """Write ``data`` under ``name``, replacing a file a crashed try left there."""
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def _check(submission: Submission) -> tuple[dict[str, list[str]], dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    organisation = submission.organisation
    if not Sender.objects.filter(organisation=organisation).exists():
        fail(
            "organisation",
            _("%(organisation)s is not set up to send letters yet (no seal or channels).")
            % {"organisation": organisation},
        )
    clean["reference"] = _text(submission.reference, "reference", MAX_REFERENCE, fail)
    clean["department"] = _text(submission.department, "department", MAX_NAME, fail, required=False)
    key = submission.idempotency_key if isinstance(submission.idempotency_key, str) else ""
    if not key or len(key) > MAX_KEY or not _PRINTABLE_ASCII.match(key):
        fail(
            "idempotency_key",
            _("An idempotency key is 1 to 255 printable ASCII characters (a UUID, say)."),
        )
    clean["idempotency_key"] = key
    kind = submission.recipient_kind
    number = submission.recipient_number if isinstance(submission.recipient_number, str) else ""
    clean["recipient_kind"] = kind
    clean["recipient_number"] = ""
    if kind == RecipientKind.CITIZEN:
        try:
            clean["recipient_number"] = national_number(number).digits
        except IdentifierError as error:
            fail("recipient.number", str(error))
    elif kind == RecipientKind.ENTERPRISE:
        try:
            clean["recipient_number"] = enterprise_number(number).digits
        except IdentifierError as error:
            fail("recipient.number", str(error))
    else:
        fail("recipient.kind", _("The recipient is a citizen or an enterprise."))
    language = submission.language if submission.language in LETTER_LANGUAGES else None
    if language is None:
        fail("language", _("The letter's language is nl, fr, de or en."))
    clean["language"] = language or "nl"
    clean["subjects"] = _subjects(submission.subjects, fail)
    country = (
        (submission.country_code or "BE").upper()
        if isinstance(submission.country_code, str)
        else ""
    )
    if not re.fullmatch(r"[A-Z]{2}", country):
        fail("address.country", _("The country is a two-letter ISO code, such as BE or FR."))
    clean["country_code"] = country or "BE"
    clean["recipient_name"] = _text(
        submission.recipient_name, "recipient.name", MAX_NAME, fail, required=False
    )
    lines = [str(line).strip() for line in (submission.address_lines or []) if str(line).strip()]
    clean["address_lines"] = lines
    if lines:
        if not clean["recipient_name"]:
            fail("recipient.name", _("A letter on paper needs the recipient's name."))
        else:
            try:
                check_address(
                    [clean["recipient_name"], *lines],
                    country_code=clean["country_code"],
                    what=_("The address"),
                )
            except AddressProblem as problem:
                fail("address", str(problem))
    try:
        files = [(_filename(name), data) for name, data in submission.files]
        clean["files"] = pdfs.check_letter(files)
    except pdfs.PdfProblem as problem:
        fail("files", str(problem))
        clean["files"] = []
    except (TypeError, ValueError):
        fail("files", _("Each file is a name and the bytes of a PDF."))
        clean["files"] = []
    if not errors and not lines:
        problem = _needs_address(organisation, clean)
        if problem:
            fail("address", problem)
    return errors, clean


def _needs_address(organisation: Any, clean: dict[str, Any]) -> str:
    """Why a letter without an address cannot be sent, or ``""``: only a recipient the
    eBox reaches can do without one. When the eBox cannot be asked right now, the letter
    is taken and the question asked again when it is routed."""
    from regiohub.documents.channels.ebox import EboxUnavailable
    from regiohub.documents.delivery import ebox_channel, recipient_of

    sender = Sender.objects.get(organisation=organisation)
    channel = ebox_channel(sender)
    if channel is None:
        return _(
            "%(organisation)s sends no letters to the eBox: give the recipient's name and "
            "postal address."
        ) % {"organisation": organisation}
    try:
        reach = channel.recipient_status(
            recipient_of(clean["recipient_kind"], clean["recipient_number"], clean["language"])
        )
    except EboxUnavailable:
        return ""
    except Exception as error:  # the eBox refused the question: say so, store nothing
        return _("The eBox could not be asked about this recipient: %(why)s") % {"why": error}
    if reach.can_receive_digitally:
        return ""
    return _(
        "This recipient has no eBox (%(why)s): give their name and postal address so the "
        "letter can go on paper."
    ) % {"why": reach.detail}


def _text(value: Any, name: str, limit: int, fail: Any, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not isinstance(value, str) and value not in (None, ""):
        fail(name, _("This is text."))
        return ""
    if required and not text:
        fail(name, _("This is required."))
    elif len(text) > limit:
        fail(
            name,
            _("At most %(limit)d characters; this has %(count)d.")
            % {"limit": limit, "count": len(text)},
        )
    elif _CONTROL.search(text):
        fail(name, _("This holds a control character (a NUL byte or similar)."))
    return text


def _subjects(value: Any, fail: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        fail("subject", _("The subject is given per language: nl, fr, de."))
        return {}
    unknown = sorted(str(key) for key in value if key not in SUBJECT_LANGUAGES)
    if unknown:
        fail(
            "subject",
            _("Subjects are in nl, fr or de, not %(languages)s.")
            % {"languages": ", ".join(unknown)[:100]},
        )
    subjects: dict[str, str] = {}
    for lang in SUBJECT_LANGUAGES:
        text = value.get(lang)
        if text in (None, ""):
            continue
        subjects[lang] = _text(text, f"subject.{lang}", MAX_SUBJECT, fail)
    if not any(subjects.values()) and not unknown:
        fail("subject", _("A letter needs a subject in at least one of nl, fr, de."))
    return {lang: text for lang, text in subjects.items() if text}


def _filename(name: Any) -> str:
    text = str(name or "").strip()
    text = _FILENAME_BAD.sub("_", text)[:200] or "letter.pdf"
    return text if text.lower().endswith(".pdf") else text + ".pdf"


def _content_digest(clean: dict[str, Any]) -> str:
    """SHA-256 over everything that makes the letter what it is."""
    content = {
        key: clean[key]
        for key in (
            "reference",
            "department",
            "recipient_kind",
            "recipient_number",
            "recipient_name",
            "address_lines",
            "country_code",
            "language",
            "subjects",
        )
    }
    content["files"] = [
        [checked.name, hashlib.sha256(checked.data).hexdigest()] for checked in clean["files"]
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# --- Failed letters ------------------------------------------------------------------


class ResendError(ValueError):
    """Why a letter cannot be sent again."""


@transaction.atomic
def resend(
    letter: Letter,
    *,
    actor: Any,
    recipient_name: str | None = None,
    address_lines: Sequence[str] | None = None,
) -> Letter:
    """Try a failed letter again from where it stopped, with a fresh count of tries,
    optionally with a corrected name and address. Nothing already done is done again: a
    sealed letter is not sealed again, a published one not published again."""
    from regiohub.documents.tasks import deliver_letter

    access.require(actor, SEND_LETTERS, letter.organisation)
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    if letter.failed_at is None:
        raise ResendError(_("Only a failed letter can be sent again; this one is not failed."))
    changes: dict[str, Any] = {}
    if address_lines is not None:
        name = (recipient_name or letter.recipient_name or "").strip()
        lines = [str(line).strip() for line in address_lines if str(line).strip()]
        try:
            check_address([name, *lines], country_code=letter.country_code)
        except AddressProblem as problem:
            raise ResendError(str(problem)) from None
        if _CONTROL.search(name) or len(name) > MAX_NAME or not name:
            raise ResendError(_("The recipient's name is 1 to 200 characters of text."))
        changes = {"recipient_name": name, "address_lines": lines}
        letter.recipient_name = name
        letter.address_lines = lines
        if letter.channel == ChannelName.PAPER or not letter.channel:
            # A letter that failed for want of an address is routed again.
            letter.routed_at = None
            letter.channel = ""
    letter.failed_at = None
    letter.attempts = 0
    letter.last_error = ""
    letter.status = _status_before_failure(letter)
    letter.save()
    if changes:
        append(
            letter,
            Action.LETTER_ADDRESS_CHANGED,
            letter.status,
            actor=str(actor),
            detail={"address_lines": len(changes["address_lines"])},
        )
    append(letter, Action.LETTER_RESENT, letter.status, actor=str(actor))
    history.record(
        letter,
        Action.LETTER_RESENT,
        actor=actor,
        organisation=letter.organisation_id,
        after={"reference": letter.reference, "address_changed": bool(changes)},
    )
    enqueue(deliver_letter, letter.pk)
    return letter


def _status_before_failure(letter: Letter) -> str:
    if letter.batched_at:
        return Status.BATCHED
    if letter.published_at:
        return Status.PUBLISHED
    if letter.routed_at:
        return Status.ROUTED
    if letter.signed_at:
        return Status.SIGNED
    return Status.RECEIVED


# --- Senders -------------------------------------------------------------------------


@transaction.atomic
def save_sender(sender: Sender, *, actor: Any) -> Sender:
    """Store a municipality's sender setup (seal, channels, paper rule) and say so in
    the history; the workers pick the new revision up at their next letter."""
    access.require(actor, SEND_LETTERS, sender.organisation)
    created = sender.pk is None
    sender.save()
    history.record(
        sender,
        Action.SENDER_CHANGED,
        actor=actor,
        organisation=sender.organisation_id,
        after={"created": created, "revision": sender.revision, "level": sender.level},
    )
    return sender


# --- Letters composed from a template ---------------------------------------------------


def compose_files(
    template: Any,
    *,
    variables: Mapping[str, str],
    recipient_name: str,
    address_lines: Sequence[str],
    subject: str,
    reference: str,
    language: str,
    filename: str = "",
    dated: date | None = None,
) -> list[tuple[str, bytes]]:
    """The letter written from ``template`` (a :class:`~.models.LetterTemplate`) as the
    one PDF of a submission; :class:`SubmissionError` on ``template``/``variables`` when
    it cannot be written (a missing variable, a character no font has).

    ``dated`` is the letter's date (default today). The PDF's creation time is the start
    of that day, so the same letter written again is the same bytes: a submission sent
    again with its idempotency key is recognised, not refused as other content."""
    from regiohub.documents.compose import ComposeError, Letterhead, render

    organisation = template.organisation
    sender = Sender.objects.filter(organisation=organisation).first()
    letterhead = Letterhead(
        name=organisation.name,
        department=template.department,
        address_lines=tuple(sender.return_lines[1:] if sender else ()),
        phone=organisation.phone,
        email=organisation.email,
        website=organisation.website,
        enterprise_number=sender.enterprise_number if sender else "",
        logo=bytes(template.logo) or None,
    )
    recipient = [line for line in (recipient_name, *address_lines) if line]
    day = dated or timezone.localdate()
    try:
        data = render(
            template.source,
            variables={str(k): str(v) for k, v in variables.items()},
            letterhead=letterhead,
            recipient_lines=recipient,
            subject=subject,
            reference=reference,
            dated=day,
            created=timezone.make_aware(datetime.combine(day, time.min)),
            language=language if language in LETTER_LANGUAGES else "nl",
        )
    except ComposeError as error:
        field = "variables" if getattr(error, "variable", None) else "template"
        raise SubmissionError({field: [str(error.message)]}) from None
    name = filename or f"{_safe_stem(reference)}.pdf"
    return [(name, data)]


def _safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "brief"
