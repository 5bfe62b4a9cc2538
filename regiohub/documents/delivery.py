"""The way a letter goes out, step by step, each step a checkpoint (run by ``tasks``).

:func:`advance` seals, routes and publishes one letter, committing after each step; a
worker killed anywhere resumes at the first step not committed. The only step that
cannot be undone, handing the letter to the eBox, carries the letter's own id as the
eBox's ``Idempotency-Key``: a try whose answer was lost is repeated with the same key and
the eBox answers 409 instead of publishing twice.

Paper letters wait for their municipality's daily batch (:func:`batch_paper`): they are
assigned to a batch in one transaction before its folder is written and handed over, and
the batch id is the print partner's idempotency key, so a batch handed over twice is
taken once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import events
from regiohub.core.secrets import unseal, unseal_fields
from regiohub.core.tasks import PermanentError
from regiohub.documents import paper
from regiohub.documents.channels import Recipient
from regiohub.documents.channels.ebox import (
    Document,
    EboxChannel,
    EboxRefused,
    Publication,
)
from regiohub.documents.events import Action, LetterDelivered, LetterFailed, LetterSent
from regiohub.documents.models import (
    ChannelName,
    KeySource,
    Letter,
    LetterFile,
    PaperBatch,
    RecipientKind,
    Sender,
    Status,
)
from regiohub.documents.signing import Sealer, SealError
from regiohub.documents.trail import append

log = structlog.get_logger(__name__)


class CannotDeliver(PermanentError):
    """Trying again will not help (no eBox and no address, a refused publication, a seal
    that cannot be made with this setup): the letter goes to the failed list at once."""


# --- Per-process caches of the costly objects ---------------------------------------------

_lock = threading.Lock()
_sealers: dict[tuple[int, int], Sealer] = {}
_channels: dict[tuple[int, int], EboxChannel | None] = {}


def sealer_for(sender: Sender) -> Sealer:
    """The sender's :class:`Sealer`, made once per process and sender revision (the key
    is loaded once, the timestamp connection kept alive)."""
    key = (sender.pk, sender.revision)
    with _lock:
        found = _sealers.get(key)
    if found is not None:
        return found
    options: dict[str, Any] = {
        "tsa_url": sender.tsa_url,
        "level": sender.level,
        "reason": sender.seal_reason,
        "location": sender.seal_location,
    }
    try:
        if sender.key_source == KeySource.PKCS11:
            sealer = Sealer.from_pkcs11(
                library=sender.token_library,
                token_label=sender.token_label,
                pin=unseal(sender.token_pin),
                key_label=sender.token_key_label,
                **options,
            )
        else:
            data = Path(sender.key_file).read_bytes()
            passphrase = unseal(sender.key_passphrase)
            if sender.level == "B-LT":
                options["validation_context"] = _fetching_context(data, passphrase)
            sealer = Sealer.from_pkcs12(
                data, passphrase.encode() if passphrase else None, **options
            )
    except OSError as error:
        raise CannotDeliver(
            _("The seal's key file cannot be read: %(why)s") % {"why": error.strerror}
        ) from error
    except (SealError, ValueError) as error:
        raise CannotDeliver(str(error)) from error
    with _lock:
        for stale in [k for k in _sealers if k[0] == sender.pk]:
            del _sealers[stale]
        _sealers[key] = sealer
    return sealer


def _fetching_context(p12: bytes, passphrase: str) -> Any:
    """For B-LT: trust the seal's own root and fetch the revocation data online."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
    from pyhanko_certvalidator import ValidationContext

    _key, _certificate, chain = pkcs12.load_key_and_certificates(
        p12, passphrase.encode() if passphrase else None
    )
    certs = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in chain or []]
    roots = [c for c in certs if c.self_signed == "maybe" or c.subject == c.issuer]
    return ValidationContext(
        trust_roots=roots or certs[-1:],
        other_certs=certs,
        allow_fetching=True,
        revocation_mode="soft-fail",
    )


def ebox_channel(sender: Sender) -> EboxChannel | None:
    """The sender's eBox channel, or ``None`` when it sends on paper only."""
    key = (sender.pk, sender.revision)
    with _lock:
        if key in _channels:
            return _channels[key]
    settings_ = sender.ebox_settings or {}
    channel = EboxChannel(unseal_fields(settings_, ("private_key",))) if settings_ else None
    with _lock:
        for stale in [k for k in _channels if k[0] == sender.pk]:
            del _channels[stale]
        _channels[key] = channel
    return channel


def forget_caches() -> None:
    """Drop the cached sealers and channels (tests, a changed key file)."""
    with _lock:
        _sealers.clear()
        _channels.clear()


def recipient_of(kind: str, number: str, language: str) -> Recipient:
    # The eBox takes nl, fr, de (en letters are announced in Dutch).
    lang = language if language in ("nl", "fr", "de") else "nl"
    return Recipient(kind, number, lang)  # type: ignore[arg-type]


# --- One letter ----------------------------------------------------------------------


def advance(letter_id: int) -> str:
    """Take the letter as far as it can go now; its status after."""
    letter = Letter.objects.select_related("organisation").get(pk=letter_id)
    if letter.failed_at is not None:
        return Status.FAILED
    sender = Sender.objects.get(organisation_id=letter.organisation_id)
    if letter.signed_at is None:
        seal(letter, sender)
    if letter.routed_at is None:
        route(letter, sender)
    if letter.channel == ChannelName.EBOX and letter.published_at is None:
        publish(letter, sender)
    return letter.status


def _files(letter: Letter) -> list[LetterFile]:
    return list(LetterFile.objects.filter(letter=letter).order_by("position"))


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def seal(letter: Letter, sender: Sender) -> None:
    """Seal every file. A try whose commit was lost seals again (nothing left the
    building yet); each try writes its own files, and only the try that commits is
    referenced, so two workers on one letter never mix their seals."""
    import hashlib
    import uuid

    from regiohub.documents.services import letter_folder, store_file

    sealer = sealer_for(sender)
    files = _files(letter)
    base = letter_folder(letter)
    attempt = uuid.uuid4().hex[:8]
    for item in files:
        data = _read(item.original)
        if hashlib.sha256(data).hexdigest() != item.original_sha256:
            raise CannotDeliver(
                _("The stored file %(file)s is not the one received (its SHA-256 differs).")
                % {"file": item.filename}
            )
        sealed = sealer.seal(data)
        item.signed = store_file(f"{base}/{item.position}-sealed-{attempt}.pdf", sealed.data)
        item.signed_sha256 = sealed.sha256
        item.signed_size = len(sealed.data)
    now = timezone.now()
    with transaction.atomic():
        won = Letter.objects.filter(pk=letter.pk, signed_at__isnull=True).update(
            signed_at=now, status=Status.SIGNED
        )
        if won:
            LetterFile.objects.bulk_update(files, ["signed", "signed_sha256", "signed_size"])
            append(
                letter,
                Action.LETTER_SIGNED,
                Status.SIGNED,
                detail={
                    "level": sealer.level,
                    "files": [
                        {
                            "file": f.filename,
                            "sha256_received": f.original_sha256,
                            "sha256_sealed": f.signed_sha256,
                        }
                        for f in files
                    ],
                },
            )
    if not won:  # another worker sealed it meanwhile: its files count, ours go
        for item in files:
            default_storage.delete(item.signed)
    letter.refresh_from_db()


def route(letter: Letter, sender: Sender) -> None:
    """eBox when the recipient reads it, else paper (which needs an address)."""
    channel = ebox_channel(sender)
    choice, reason, detail = ChannelName.PAPER, "no_ebox_channel", ""
    if channel is not None:
        reach = channel.recipient_status(
            recipient_of(letter.recipient_kind, letter.recipient_number, letter.language)
        )  # EboxUnavailable: the task tries again later
        reason, detail = reach.code, reach.detail
        if reach.can_receive_digitally:
            choice = ChannelName.EBOX
    if choice == ChannelName.PAPER and not letter.address_lines:
        raise CannotDeliver(
            _("The recipient has no eBox and the letter has no postal address (%(why)s).")
            % {"why": detail or reason}
        )
    with transaction.atomic():
        won = Letter.objects.filter(pk=letter.pk, routed_at__isnull=True).update(
            channel=choice,
            route_reason=reason[:40],
            routed_at=timezone.now(),
            status=Status.ROUTED,
        )
        if won:
            append(
                letter,
                Action.LETTER_ROUTED,
                Status.ROUTED,
                detail={"channel": choice, "reason": reason},
            )
    letter.refresh_from_db()


def idempotency_key(letter: Letter) -> str:
    """The eBox's key for this letter: the same on every try, unique per letter."""
    return f"regiohub-letter-{letter.public_id}"


def publish(letter: Letter, sender: Sender) -> None:
    channel = ebox_channel(sender)
    if channel is None:
        raise CannotDeliver(_("The municipality no longer sends letters to the eBox."))
    files = _files(letter)
    documents = [Document(item.filename, _read(item.signed)) for item in files]
    for item, document in zip(files, documents, strict=True):
        if document.sha256 != item.signed_sha256:
            raise CannotDeliver(
                _("The sealed file %(file)s is not the one sealed (its SHA-256 differs).")
                % {"file": item.filename}
            )
    try:
        published = channel.publish(
            Publication(
                recipient=recipient_of(
                    letter.recipient_kind, letter.recipient_number, letter.language
                ),
                subjects={
                    k: v for k, v in (letter.subjects or {}).items() if k in ("nl", "fr", "de")
                },
                documents=documents,
            ),
            idempotency_key=idempotency_key(letter),
        )
    except EboxRefused as refusal:
        raise CannotDeliver(
            _("The eBox refused the letter: %(why)s") % {"why": refusal.reason}
        ) from refusal
    sent = list(published.sha256) or [d.sha256 for d in documents]
    # A 409 means an earlier try's answer was lost, and NO_DIGITAL_USER with it: a citizen
    # who may never have opened the eBox gets the paper copy rather than nothing (the
    # consent asked when routing does not tell; enterprises are routed on their last
    # connection already).
    unsure = published.duplicate and letter.recipient_kind == RecipientKind.CITIZEN
    paper_copy = bool((published.no_digital_user or unsure) and letter.address_lines)
    message_id = (published.message_id or "")[:100]
    with transaction.atomic():
        won = Letter.objects.filter(pk=letter.pk, published_at__isnull=True).update(
            published_at=timezone.now(),
            status=Status.PUBLISHED,
            ebox_message_id=message_id,
            paper_copy=letter.paper_copy or paper_copy,
            attempts=0,
            last_error="",
        )
        if won:
            for item, digest in zip(files, sent, strict=False):
                item.delivered_sha256 = digest
            LetterFile.objects.bulk_update(files, ["delivered_sha256"])
            append(
                letter,
                Action.LETTER_PUBLISHED,
                Status.PUBLISHED,
                detail={
                    "message_id": message_id,
                    "duplicate": published.duplicate,
                    "language": published.language,
                    "sha256_delivered": sent,
                    "same_as_sealed": sent == [f.signed_sha256 for f in files],
                },
            )
            if paper_copy:
                append(
                    letter,
                    Action.LETTER_PAPER_COPY,
                    Status.PUBLISHED,
                    detail={
                        "reason": "no_digital_user" if published.no_digital_user else "answer_lost"
                    },
                )
            events.publish(
                LetterSent(str(letter.public_id), letter.organisation_id, letter.reference, "ebox")
            )
    letter.refresh_from_db()


def record_failure(letter_id: int, error: BaseException, *, final: bool) -> None:
    """Keep why a try failed; after the last one the letter joins the failed list."""
    message = _error_text(error)
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if letter.failed_at is not None:
            return
        letter.last_error = message[:500]
        if final:
            letter.failed_at = timezone.now()
            letter.status = Status.FAILED
        letter.save(update_fields=["last_error", "failed_at", "status"])
        append(
            letter,
            Action.LETTER_FAILED if final else Action.LETTER_RETRY,
            letter.status,
            detail={"error": message[:500], "attempt": letter.attempts},
        )
        if final:
            events.publish(
                LetterFailed(str(letter.public_id), letter.organisation_id, letter.reference)
            )
    log.log(
        40 if final else 30,
        "letter not sent",
        letter=str(letter.public_id),
        attempt=letter.attempts,
        final=final,
        error=type(error).__name__,
    )


def _error_text(error: BaseException) -> str:
    """Our own wording of a failure (never a response body: it could hold the number)."""
    from regiohub.core.redact import redact

    if isinstance(error, (CannotDeliver, SealError, paper.PaperProblem, paper.PartnerError)):
        text = str(error)
    else:
        text = _("%(kind)s (will be tried again)") % {"kind": type(error).__name__}
    return redact(text)


# --- Paper ---------------------------------------------------------------------------


def waiting_for_paper(organisation_id: int) -> Any:
    """Letters of the municipality that should go on paper and are in no batch yet."""
    return Letter.objects.filter(
        organisation_id=organisation_id, paper_batch__isnull=True, failed_at__isnull=True
    ).filter(
        Q(channel=ChannelName.PAPER, routed_at__isnull=False)
        | Q(channel=ChannelName.EBOX, paper_copy=True, published_at__isnull=False)
    )


def batch_paper(organisation_id: int, *, day: date | None = None, limit: int = 5000) -> list[str]:
    """Put the municipality's waiting paper letters in a batch and hand every batch not
    handed over yet to the print partner; the ids of the batches handed over."""
    sender = Sender.objects.select_related("organisation").get(organisation_id=organisation_id)
    day = day or timezone.localdate()
    with transaction.atomic():
        Sender.objects.select_for_update().filter(pk=sender.pk).first()  # one batcher at a time
        waiting = list(waiting_for_paper(organisation_id).order_by("pk")[:limit])
        if waiting:
            sequence = (
                PaperBatch.objects.filter(
                    organisation_id=organisation_id, partner=sender.paper_partner, day=day
                ).aggregate(top=Max("sequence"))["top"]
                or 0
            ) + 1
            nis = sender.organisation.nis_code or "00000"
            batch = PaperBatch.objects.create(
                organisation_id=organisation_id,
                partner=sender.paper_partner,
                day=day,
                sequence=sequence,
                batch_id=paper.batch_id(sender.paper_partner, nis, day, sequence),
            )
            Letter.objects.filter(pk__in=[letter.pk for letter in waiting]).update(
                paper_batch=batch
            )
    handed = []
    for batch in PaperBatch.objects.filter(
        organisation_id=organisation_id, state=PaperBatch.State.OPEN
    ).order_by("pk"):
        hand_over(batch, sender)
        handed.append(batch.batch_id)
    return handed


def paper_letter(letter: Letter, sender: Sender) -> paper.PaperLetter:
    files = _files(letter)
    return paper.PaperLetter(
        letter_id=str(letter.public_id),
        idempotency_key=str(letter.public_id),
        reference=letter.reference,
        dated=timezone.localdate(letter.created_at),
        address_lines=[letter.recipient_name, *letter.address_lines],
        return_address_lines=sender.return_lines,
        documents=[_read(item.signed) for item in files],
        language=letter.language,
        country_code=letter.country_code,
    )


def hand_over(batch: PaperBatch, sender: Sender) -> None:
    """Write the batch's folder (again, identically, after a crash) and upload it."""
    letters = list(batch.letters.order_by("pk"))
    if not letters:
        PaperBatch.objects.filter(pk=batch.pk).update(
            state=PaperBatch.State.FAILED, last_error="empty"
        )
        return
    built = paper.build_batch(
        Path(settings.DOCUMENTS_PAPER_DIR),
        batch.partner,
        sender.organisation.nis_code or "00000",
        batch.day,
        [paper_letter(letter, sender) for letter in letters],
        batch.sequence,
        municipality_name=sender.organisation.name,
        municipality_kbo=sender.enterprise_number,
    )
    client = paper.PartnerClient(sender.paper_url)
    uploaded = client.upload(built)
    digests = {
        entry["letterId"]: [d["sha256"] for d in entry["documents"]]
        for entry in built.manifest["letters"]
    }
    now = timezone.now()
    with transaction.atomic():
        won = PaperBatch.objects.filter(pk=batch.pk, state=PaperBatch.State.OPEN).update(
            state=PaperBatch.State.UPLOADED, uploaded_at=now, last_error=""
        )
        for letter in letters if won else ():  # another worker recorded it meanwhile
            files = _files(letter)
            sent = digests.get(str(letter.public_id), [])
            for item, digest in zip(files, sent, strict=False):
                if not item.delivered_sha256:
                    item.delivered_sha256 = digest
            LetterFile.objects.bulk_update(files, ["delivered_sha256"])
            copy = letter.channel == ChannelName.EBOX
            status = letter.status if copy else Status.BATCHED
            Letter.objects.filter(pk=letter.pk).update(batched_at=now, status=status)
            letter.status = status
            append(
                letter,
                Action.LETTER_BATCHED,
                status,
                detail={
                    "batch": built.batch_id,
                    "paper_copy": copy,
                    "duplicate": uploaded.duplicate,
                    "sha256_delivered": sent,
                    "same_as_sealed": sent == [f.signed_sha256 for f in files],
                },
            )
            if not copy:
                events.publish(
                    LetterSent(
                        str(letter.public_id), letter.organisation_id, letter.reference, "paper"
                    )
                )


# --- What happened after ---------------------------------------------------------------


def poll(organisation_id: int) -> dict[str, int]:
    """Ask the eBox which letters were read and the print partner what it delivered;
    put unread eBox letters on paper after the municipality's number of days."""
    sender = Sender.objects.get(organisation_id=organisation_id)
    counts = {"read": 0, "delivered": 0, "returned": 0, "paper_copy": 0}
    channel = ebox_channel(sender)
    if channel is not None:
        counts["read"] = _poll_ebox(sender, channel)
    counts["paper_copy"] = _unread_to_paper(sender)
    for batch in PaperBatch.objects.filter(
        organisation_id=organisation_id, state=PaperBatch.State.UPLOADED
    ):
        delivered, returned = _poll_partner(batch, sender)
        counts["delivered"] += delivered
        counts["returned"] += returned
    return counts


def _poll_ebox(sender: Sender, channel: EboxChannel) -> int:
    waiting = Letter.objects.filter(
        organisation_id=sender.organisation_id,
        channel=ChannelName.EBOX,
        published_at__isnull=False,
        read_at__isnull=True,
    ).exclude(ebox_message_id="")
    found = 0
    for chunk in _chunks(
        waiting.only("pk", "recipient_kind", "recipient_number", "language", "ebox_message_id"), 100
    ):
        asked = {
            letter.ebox_message_id: recipient_of(
                letter.recipient_kind, letter.recipient_number, letter.language
            )
            for letter in chunk
        }
        answer = channel.read_status(asked)
        for letter in chunk:
            if answer.get(letter.ebox_message_id):
                _mark(letter, Status.READ, Action.LETTER_READ, "read_at", {})
                found += 1
    return found


def _unread_to_paper(sender: Sender) -> int:
    if sender.paper_after_days is None:
        return 0
    cutoff = timezone.now() - timedelta(days=sender.paper_after_days)
    due = Letter.objects.filter(
        organisation_id=sender.organisation_id,
        channel=ChannelName.EBOX,
        published_at__lt=cutoff,
        read_at__isnull=True,
        paper_copy=False,
        failed_at__isnull=True,
    )
    count = 0
    for letter in due:
        with transaction.atomic():
            if not letter.address_lines:
                continue
            if not Letter.objects.filter(pk=letter.pk, paper_copy=False).update(paper_copy=True):
                continue
            append(
                letter,
                Action.LETTER_PAPER_COPY,
                letter.status,
                detail={"reason": "unread", "days": sender.paper_after_days},
            )
            count += 1
    return count


def _poll_partner(batch: PaperBatch, sender: Sender) -> tuple[int, int]:
    client = paper.PartnerClient(sender.paper_url)
    delivered = returned = 0
    while True:
        found = client.events(batch.batch_id, after=batch.events_after)
        if not found:
            return delivered, returned
        by_id = {
            str(letter.public_id): letter
            for letter in batch.letters.filter(public_id__in=[e.letter_id for e in found])
        }
        with transaction.atomic():
            for event in found:
                letter = by_id.get(event.letter_id)
                if letter is None:
                    continue
                if event.status == paper.PaperStatus.DELIVERED:
                    delivered += _mark(
                        letter,
                        Status.DELIVERED,
                        Action.LETTER_DELIVERED,
                        "delivered_at",
                        {"mail_id": event.mail_id},
                    )
                elif event.status in (paper.PaperStatus.RETURNED, paper.PaperStatus.REJECTED):
                    returned += _mark(
                        letter,
                        Status.RETURNED,
                        Action.LETTER_RETURNED,
                        "returned_at",
                        {"reason": str(event.reason or ""), "partner_status": str(event.status)},
                    )
            batch.events_after = found[-1].seq
            PaperBatch.objects.filter(pk=batch.pk).update(events_after=batch.events_after)


def _mark(letter: Letter, status: str, action: str, stamp: str, detail: dict[str, Any]) -> int:
    """Set a final outcome once (a repeated event changes nothing)."""
    with transaction.atomic():
        changed = Letter.objects.filter(pk=letter.pk, **{f"{stamp}__isnull": True}).update(
            **{stamp: timezone.now()},
            status=status if letter.status != Status.FAILED else letter.status,
        )
        if not changed:
            return 0
        append(letter, action, status, detail=detail)
        outcome = {Status.READ: "read", Status.DELIVERED: "delivered"}.get(status, "returned")
        events.publish(
            LetterDelivered(
                str(letter.public_id), letter.organisation_id, letter.reference, outcome
            )
        )
    return 1


def _chunks(queryset: Any, size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in queryset.iterator(chunk_size=size):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def senders() -> list[int]:
    """The organisations set up to send letters."""
    return list(Sender.objects.values_list("organisation_id", flat=True))


__all__ = ["RecipientKind", "advance", "batch_paper", "poll"]
