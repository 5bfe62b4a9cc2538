"""Reads of document delivery, always scoped to the organisations the person may see.

Pages, the API and other modules read letters only through these functions; a letter of
another municipality is simply not found (``Letter.DoesNotExist``), never "forbidden",
so its existence does not leak either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet

from regiohub.core import access
from regiohub.documents.models import Letter, LetterEvent, LetterFile, PaperBatch, Sender, Status
from regiohub.documents.permissions import SEND_LETTERS, VIEW_LETTERS
from regiohub.documents.trail import ChainVerdict, verify

__all__ = [
    "ChainVerdict",
    "Overview",
    "dead_letters",
    "file_bytes",
    "letter_for",
    "letters_for",
    "may_send",
    "overview",
    "sender_of",
    "sending_organisations",
    "trail_of",
    "verify_trail",
]


def letters_for(user: Any) -> QuerySet[Letter]:
    """Every letter ``user`` may see, newest first."""
    return access.scope(
        Letter.objects.select_related("organisation"), user, capability=VIEW_LETTERS
    ).order_by("-created_at", "-pk")


def letter_for(user: Any, public_id: str | uuid.UUID) -> Letter:
    """One letter by its public id, or ``Letter.DoesNotExist`` (also for one out of
    reach, and for a malformed id)."""
    try:
        key = uuid.UUID(str(public_id))
    except (ValueError, TypeError, AttributeError):
        raise Letter.DoesNotExist from None
    return letters_for(user).get(public_id=key)


def dead_letters(user: Any) -> QuerySet[Letter]:
    """The failed letters ``user`` may see: the list staff work through and resend."""
    return letters_for(user).filter(failed_at__isnull=False).order_by("-failed_at")


def trail_of(letter: Letter) -> list[LetterEvent]:
    return list(letter.events.order_by("sequence"))


def verify_trail(letter: Letter) -> ChainVerdict:
    return verify(letter)


def file_bytes(
    user: Any, public_id: str, position: int, *, sealed: bool = True
) -> tuple[LetterFile, bytes]:
    """A file of a letter the user may see (the sealed one when it exists)."""
    letter = letter_for(user, public_id)
    item = LetterFile.objects.get(letter=letter, position=position)
    name = item.signed if sealed and item.signed else item.original
    with default_storage.open(name, "rb") as handle:
        return item, handle.read()


def may_send(user: Any, organisation: Any = None) -> bool:
    """Whether ``user`` may submit or resend letters (for ``organisation``, or any)."""
    ids = access.organisation_ids(user, SEND_LETTERS)
    if organisation is None:
        return bool(ids)
    return getattr(organisation, "pk", organisation) in ids


def sending_organisations(user: Any) -> QuerySet[Any]:
    """The organisations set up to send whose letters ``user`` may submit."""
    from regiohub.core.models import Organisation

    ids = access.organisation_ids(user, SEND_LETTERS)
    return Organisation.objects.filter(pk__in=ids, letter_sender__isnull=False).order_by("name")


def sender_of(organisation: Any) -> Sender | None:
    return Sender.objects.filter(organisation=organisation).first()


@dataclass(frozen=True)
class Overview:
    """Counts per status of the letters a person may see, and open paper batches."""

    by_status: dict[str, int]
    failed: int
    waiting_for_paper: int
    open_batches: int


def overview(user: Any) -> Overview:
    letters = letters_for(user)
    by_status = dict(
        letters.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    waiting = (
        letters.filter(paper_batch__isnull=True, failed_at__isnull=True)
        .filter(Q(channel="paper", routed_at__isnull=False) | Q(paper_copy=True))
        .count()
    )
    batches = access.scope(
        PaperBatch.objects.filter(state=PaperBatch.State.OPEN), user, capability=VIEW_LETTERS
    ).count()
    return Overview(by_status, by_status.get(Status.FAILED, 0), waiting, batches)
