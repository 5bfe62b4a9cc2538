"""Geocoding: from a typed address to a place on the map, and from a point back to the
nearest address. The "geocoders" family of :mod:`regiohub.core.plugins`.

A geocoder is a plugin: a subclass of :class:`Geocoder` registered with
``geocoders.register``. The one the site uses is named by the ``GEOCODER`` setting, with
``GEOCODER_SETTINGS`` validated by the plugin's ``settings_form``. The default is none:
addresses typed on forms are then kept as text (see
docs/decisions/0021-geocoding-through-the-address-register.md).

Callers use the module-level shortcuts, which ask the configured geocoder::

    from regiohub.core import geocoding

    places = geocoding.search("Grote Markt 1", municipality="Kortrijk")

They return ``[]`` (or ``None``) when no geocoder is configured and raise
:class:`GeocoderUnavailable` when the service fails, so a caller can tell "nothing
matches" from "we could not ask".
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from regiohub.core.plugins import Registry

#: How exact a place is: the address itself, somewhere on the street, or only the
#: municipality.
PRECISIONS = ("address", "street", "municipality")


@dataclass(frozen=True)
class Place:
    """One answer of a geocoder."""

    #: The full address as the register writes it: "Grote Markt 1, 8500 Kortrijk".
    label: str
    #: WGS84.
    latitude: float
    longitude: float
    street: str = ""
    house_number: str = ""
    postcode: str = ""
    municipality: str = ""
    #: The address register's URI ("https://data.vlaanderen.be/id/adres/20470187"); ""
    #: when the place is not an address (a street, a municipality).
    register_id: str = ""
    #: One of :data:`PRECISIONS`.
    precision: str = "address"
    #: 0..1: how well it matches what was typed (1 for reverse lookups).
    score: float = 1.0


class GeocoderUnavailable(Exception):
    """The geocoding service could not answer: a timeout, a refused connection, an HTTP
    error other than "nothing matches", or an answer that cannot be read.

    The message says what failed and where (the service's address, never its key nor
    what was typed): it is for logs and administrators; show people your own words.
    """


class Geocoder(abc.ABC):
    """A geocoding service. Subclasses register themselves with ``geocoders.register``."""

    #: Registry key, named by the ``GEOCODER`` setting; never changes once used.
    name: ClassVar[str] = ""
    #: Shown to administrators (``gettext_lazy``).
    label: ClassVar[Any] = ""
    #: Validates ``GEOCODER_SETTINGS``; secrets (an api key) use a ``PasswordInput``.
    settings_form: ClassVar[type[forms.Form]]

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings: dict[str, Any] = dict(settings)

    @abc.abstractmethod
    def search(self, text: str, *, municipality: str = "", limit: int = 5) -> list[Place]:
        """The places matching a typed address, best first; ``[]`` when nothing matches.

        ``municipality`` is a municipality name ("Kortrijk"), used when the text names
        none.
        """

    @abc.abstractmethod
    def suggest(self, text: str, *, limit: int = 5) -> list[Place]:
        """Places for a partly typed address (while typing), best first."""

    @abc.abstractmethod
    def reverse(self, latitude: float, longitude: float) -> Place | None:
        """The address nearest to a WGS84 point, ``None`` when there is none near."""


geocoders: Registry[Geocoder] = Registry(
    "geocoders",
    base=Geocoder,  # type: ignore[type-abstract]  # the base plugins subclass
    label=gettext_lazy("Geocoders"),
    builtin=("regiohub.core.geocoding.vlaanderen",),
)

register = geocoders.register


def configured() -> bool:
    """Whether the ``GEOCODER`` setting names a geocoder (:func:`active` raises
    ``ImproperlyConfigured`` when it names one that does not exist)."""
    return bool(getattr(settings, "GEOCODER", ""))


def active() -> Geocoder | None:
    """The configured geocoder with its settings, or ``None`` when ``GEOCODER`` is empty.

    Raises ``ImproperlyConfigured`` naming the setting at fault: an unknown plugin, or a
    value of ``GEOCODER_SETTINGS`` its settings form refuses (or does not know).
    """
    name = getattr(settings, "GEOCODER", "")
    if not name:
        return None
    try:
        plugin = geocoders.get(name)
    except KeyError:
        raise ImproperlyConfigured(
            f"GEOCODER={name!r} is not a geocoder (known: {', '.join(geocoders.names())})"
        ) from None
    values = getattr(settings, "GEOCODER_SETTINGS", None) or {}
    if not isinstance(values, Mapping):
        raise ImproperlyConfigured("GEOCODER_SETTINGS must be a JSON object")
    unknown = sorted(set(values) - set(plugin.settings_form.base_fields))
    if unknown:
        known = ", ".join(plugin.settings_form.base_fields)
        raise ImproperlyConfigured(
            f"GEOCODER_SETTINGS: unknown setting {unknown[0]!r} for {name} (known: {known})"
        )
    form = plugin.settings_form(data=dict(values))
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ImproperlyConfigured(f"GEOCODER_SETTINGS[{field!r}]: {' '.join(map(str, messages))}")
    return plugin(form.cleaned_data)


def search(text: str, *, municipality: str = "", limit: int = 5) -> list[Place]:
    """:meth:`Geocoder.search` on the configured geocoder; ``[]`` without one."""
    geocoder = active()
    if geocoder is None:
        return []
    return geocoder.search(text, municipality=municipality, limit=limit)


def suggest(text: str, *, limit: int = 5) -> list[Place]:
    """:meth:`Geocoder.suggest` on the configured geocoder; ``[]`` without one."""
    geocoder = active()
    if geocoder is None:
        return []
    return geocoder.suggest(text, limit=limit)


def reverse(latitude: float, longitude: float) -> Place | None:
    """:meth:`Geocoder.reverse` on the configured geocoder; ``None`` without one."""
    geocoder = active()
    if geocoder is None:
        return None
    return geocoder.reverse(latitude, longitude)
