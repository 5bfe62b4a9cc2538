"""Each letter's trail: append-only, hash-chained, verifiable by anyone holding the rows.

A row's ``digest`` is SHA-256 over the previous row's digest and the row's own content
(:func:`regiohub.documents.models.chain_digest`). Rows are appended under a lock on the
letter, so two workers never write the same sequence number; the unique constraint on
``(letter, sequence)`` would refuse it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from regiohub.documents.models import GENESIS, Letter, LetterEvent, chain_digest


def append(
    letter: Letter,
    action: str,
    status: str,
    *,
    actor: str = "",
    detail: dict[str, Any] | None = None,
) -> LetterEvent:
    """Add one step to ``letter``'s trail (inside the caller's transaction)."""
    with transaction.atomic():
        last = (
            LetterEvent.objects.filter(letter=letter)
            .order_by("-sequence")
            .values_list("sequence", "digest")
            .first()
        )
        sequence, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event = LetterEvent(
            letter=letter,
            sequence=sequence,
            at=timezone.now(),
            status=status,
            action=str(action),
            actor=(actor or "system")[:200],
            detail=detail or {},
            previous=previous,
        )
        # Stored as JSON comes back (so the digest is computed over what is read later).
        event.detail = _roundtrip(event.detail)
        event.digest = chain_digest(previous, event.content())
        event.save(force_insert=True)
        return event


def _roundtrip(value: Any) -> Any:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@dataclass(frozen=True)
class ChainVerdict:
    """Whether a letter's trail is whole; ``broken_at`` is the first sequence that does
    not follow from the one before."""

    intact: bool
    length: int
    broken_at: int | None = None
    head: str = ""


def verify(letter: Letter) -> ChainVerdict:
    """Recompute every digest of ``letter``'s trail from the stored rows."""
    previous = GENESIS
    expected_sequence = 1
    count = 0
    for event in (
        LetterEvent.objects.filter(letter=letter).select_related("letter").order_by("sequence")
    ):
        count += 1
        if (
            event.sequence != expected_sequence
            or event.previous != previous
            or chain_digest(previous, event.content()) != event.digest
        ):
            return ChainVerdict(False, count, broken_at=event.sequence, head=previous)
        previous = event.digest
        expected_sequence += 1
    return ChainVerdict(True, count, head=previous)
