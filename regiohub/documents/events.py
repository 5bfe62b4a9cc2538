"""What document delivery tells the rest of the platform, and the names of its history.

``Action`` names both the platform history entries (who submitted or resent a letter) and
the steps of each letter's own hash-chained trail (``LetterEvent.action``). Payloads carry
ids and codes, never the recipient's number or address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regiohub.core import events, history

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = ["Action", "LetterDelivered", "LetterFailed", "LetterSent"]


class Action(history.Actions):
    LETTER_RECEIVED = "letter.received"
    LETTER_SIGNED = "letter.signed"
    LETTER_ROUTED = "letter.routed"
    LETTER_PUBLISHED = "letter.published"
    LETTER_PAPER_COPY = "letter.paper_copy"
    LETTER_BATCHED = "letter.batched"
    LETTER_READ = "letter.read"
    LETTER_DELIVERED = "letter.delivered"
    LETTER_RETURNED = "letter.returned"
    LETTER_RETRY = "letter.retry"
    LETTER_FAILED = "letter.failed"
    LETTER_RESENT = "letter.resent"
    LETTER_ADDRESS_CHANGED = "letter.address_changed"
    SENDER_CHANGED = "letter_sender.changed"


@events.declare
@dataclass(frozen=True)
class LetterSent(events.Event):
    """A letter left: published in the eBox or handed to the print partner."""

    name: ClassVar[str] = "documents.letter_sent"
    letter_id: str
    organisation_id: int
    reference: str
    channel: str


@events.declare
@dataclass(frozen=True)
class LetterDelivered(events.Event):
    """A letter reached its recipient: read in the eBox, delivered or returned by post
    (``outcome``: read, delivered, returned)."""

    name: ClassVar[str] = "documents.letter_delivered"
    letter_id: str
    organisation_id: int
    reference: str
    outcome: str


@events.declare
@dataclass(frozen=True)
class LetterFailed(events.Event):
    """A letter could not be sent after its last try: it waits in the dead-letter list."""

    name: ClassVar[str] = "documents.letter_failed"
    letter_id: str
    organisation_id: int
    reference: str
