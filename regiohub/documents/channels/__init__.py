"""Delivery channels of letters: the "channels" family of :mod:`regiohub.core.plugins`.

A channel is the way a sealed letter leaves the municipality (the eBox, later the paper
partner and others). Each one is a :class:`Channel` registered on :data:`channels`; the
built-in ones register themselves like any plugin would, so the built-in path and the
extension path are the same path.

What every channel answers first is the routing question: can this recipient be reached
through me (:meth:`Channel.recipient_status`)? How a channel then hands a letter over
differs too much (one HTTP call per letter for the eBox, a daily batch for paper) to share
one method yet; each channel documents its own.

The documents module has no models yet: channels take plain dataclasses and give plain
results, so whoever stores letters later decides how they are kept.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.identifiers import (
    enterprise_number,
    mask_national_number,
    national_number,
)
from regiohub.core.plugins import Registry

#: Languages a letter's subject may be written in, in the order one is picked when the
#: recipient's own is not given.
LANGUAGES = ("nl", "fr", "de", "en")


@dataclass(frozen=True)
class Recipient:
    """Who a letter is for: a citizen (national register number) or an enterprise (KBO
    number), and the language they read.

    The number is checked when the recipient is made, so a wrong one is refused before
    anything is sent (:class:`~regiohub.core.identifiers.IdentifierError`, whose message
    never repeats the number), and kept as bare digits. ``repr`` masks a national register
    number: a recipient may end up in a log line or a traceback.
    """

    kind: Literal["citizen", "enterprise"]
    identifier: str
    language: str = "nl"

    def __post_init__(self) -> None:
        if self.kind == "citizen":
            digits = national_number(self.identifier).digits
        elif self.kind == "enterprise":
            digits = enterprise_number(self.identifier).digits
        else:
            raise ValueError(
                _("A recipient is a citizen or an enterprise, not %(kind)r.") % {"kind": self.kind}
            )
        if self.language not in LANGUAGES:
            raise ValueError(
                _("A recipient reads one of %(languages)s, not %(language)r.")
                % {"languages": ", ".join(LANGUAGES), "language": self.language}
            )
        object.__setattr__(self, "identifier", digits)

    @classmethod
    def citizen(cls, ssin: str, language: str = "nl") -> Recipient:
        return cls("citizen", ssin, language)

    @classmethod
    def enterprise(cls, number: str, language: str = "nl") -> Recipient:
        return cls("enterprise", number, language)

    @property
    def shown(self) -> str:
        """The identifier as a page or a log may show it (a national number masked)."""
        if self.kind == "citizen":
            return mask_national_number(self.identifier)
        return self.identifier

    def __repr__(self) -> str:
        return f"Recipient({self.kind}, {self.shown}, {self.language})"

    __str__ = __repr__


@dataclass(frozen=True)
class Reach:
    """Whether a channel can deliver to a recipient, and why (for the letter's history).

    ``code`` is stable, for programs (``consent``, ``no_consent``, ``ebox``,
    ``no_ebox``, ``never_connected``); ``detail`` says the same for people.
    ``exclusively_digital`` means the recipient asked for no paper copies any more.
    """

    can_receive_digitally: bool
    code: str
    detail: str
    exclusively_digital: bool = False


class Channel(abc.ABC):
    """One way a letter leaves the municipality. Subclasses register with
    ``channels.register`` and say their ``name`` (the key configurations store, never
    changed once used), ``label`` and ``settings_form``."""

    name: ClassVar[str] = ""
    label: ClassVar[str | Promise] = ""
    settings_form: ClassVar[type[forms.Form] | None] = None

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)

    @abc.abstractmethod
    def recipient_status(self, recipient: Recipient) -> Reach:
        """Whether this channel can deliver to ``recipient``."""


BUILTIN = ("regiohub.documents.channels.ebox",)

#: The key is ``name``.
channels: Registry[Channel] = Registry(
    "channels",
    base=Channel,  # type: ignore[type-abstract]  # the base is abstract by design
    label=gettext_lazy("Delivery channels"),
    builtin=BUILTIN,
)
