"""The form's second step: "Where exactly?" when the place was typed, not marked.

Without JavaScript (or when the citizen just typed), a report form arrives with an address
and a municipality but no point. Before filing, the address is looked up in the address
register (``meldpunt.places``) and the citizen chooses among what was found ("Did you mean
Grote Markt 1, 8500 Kortrijk?"), or keeps the address as typed. A photo with a position
offers that position too ("the place where your photo was taken"). Nothing is filed, and
no position is kept, before the citizen chooses.

Each offered place travels in the form as a signed value, so the second post needs no
second lookup and cannot be pointed anywhere else. With no geocoder configured, nothing is
asked unless a photo offers its position: the report is filed with the address as typed,
as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.utils.translation import gettext as _

from regiohub.core import geo
from regiohub.meldpunt import pending, places
from regiohub.meldpunt.models import PlaceSource

TYPED = "typed"
_SALT = "regiohub.meldpunt.place-choice"


@dataclass(frozen=True)
class Option:
    value: str  # signed, or TYPED
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Chosen:
    """Where the report goes: a point (with how it was found) or the address as typed."""

    latitude: float | None
    longitude: float | None
    source: str = ""
    register_id: str = ""
    address: str = ""


@dataclass(frozen=True)
class Question:
    """The second step to show: the options, and a note on why it is asked."""

    options: list[Option]
    message: str
    address: str
    error: str = ""


def _sign(latitude: float, longitude: float, source: str, register_id: str, label: str) -> str:
    return signing.dumps(
        {"lat": round(latitude, 6), "lng": round(longitude, 6), "src": source,
         "id": register_id, "label": label[:300]},
        salt=_SALT,
        compress=True,
    )  # fmt: skip


def _unsign(value: str) -> Chosen | None:
    try:
        data = signing.loads(value, salt=_SALT, max_age=6 * 3600)
        latitude, longitude = float(data["lat"]), float(data["lng"])
        source = str(data["src"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if source not in (PlaceSource.ADDRESS, PlaceSource.PHOTO) or not geo.valid_wgs84(
        latitude, longitude
    ):
        return None
    return Chosen(latitude, longitude, source, str(data.get("id", "")), str(data.get("label", "")))


def decide(form: Any, data: dict[str, Any]) -> Chosen | Question:
    """What to do with a valid report form: file it at a place, or ask first."""
    latitude, longitude = data.get("latitude"), data.get("longitude")
    address = data.get("address", "")
    if latitude is not None and longitude is not None:
        source = data.get("location_source") or PlaceSource.MAP
        register_id = data.get("address_register_id", "") if source == PlaceSource.ADDRESS else ""
        return Chosen(latitude, longitude, source, register_id, address)
    choice = data.get("place_choice", "")
    same_address = " ".join(address.split()) == " ".join(data.get("place_checked", "").split())
    if choice == TYPED and same_address:
        return Chosen(None, None, address=address)
    if choice and choice != TYPED:
        chosen = _unsign(choice)
        if chosen is not None:
            # A chosen address in the register's wording (what the citizen chose); for a
            # photo's position, the address as typed, else the street near it.
            if chosen.source == PlaceSource.ADDRESS:
                kept = chosen.address or address
            else:
                kept = address or chosen.address
            return Chosen(chosen.latitude, chosen.longitude, chosen.source,
                          chosen.register_id, kept)  # fmt: skip
    question = _question(data, address)
    if isinstance(question, Question) and not choice and same_address and address:
        # Asked already, and sent again without a choice.
        return Question(
            question.options,
            question.message,
            address,
            _("Choose one of the places below, or change the address."),
        )
    return question


def _question(data: dict[str, Any], address: str) -> Chosen | Question:
    options: list[Option] = []
    for photo in data.get("photos") or ():
        position = getattr(photo, "position", None)
        if not position or not geo.municipality_at(*position).inside:
            continue
        near = places.describe(*position)
        where = near.label if near else geo.municipality_at(*position).name or ""
        options.append(
            Option(
                _sign(position[0], position[1], PlaceSource.PHOTO, "", ""),
                _("The place where your photo was taken"),
                _("near %(place)s") % {"place": where} if where else "",
            )
        )
        break  # one photo's position is enough to offer
    lookup = places.Lookup(places.OFF)
    if address and data.get("municipality"):
        lookup = places.find_address(address, data["municipality"])
        for place in lookup.places:
            options.append(
                Option(
                    _sign(place.latitude, place.longitude, PlaceSource.ADDRESS,
                          place.register_id, place.label),
                    place.label,
                    "" if place.precision == "address"
                    else _("the street, not the exact address"),
                )
            )  # fmt: skip
    if not options and lookup.state == places.OFF:
        return Chosen(None, None, address=address)  # no geocoder: as before
    if address and data.get("municipality"):
        options.append(Option(TYPED, _("None of these: send it with the address as I typed it")))
    if lookup.state == places.FOUND:
        message = _("Did you mean one of these places? Choose the right one.")
    elif options and lookup.state == places.OFF:
        message = _("Your photo tells where it was taken. Is that the place of the problem?")
    else:
        message = lookup.message
    return Question(options, message, address)


def ask(form: Any, question: Question, photos: list[Any]) -> None:
    """Prepare ``form`` to show the question: keep the photos and the address asked about."""
    data = form.data.copy()
    data["place_checked"] = question.address
    data["place_choice"] = ""
    if photos:
        data["photo_stash"] = pending.keep(photos)
    form.data = data
    form.place_question = question


def photos_of(data: dict[str, Any]) -> list[Any]:
    """The photos sent now, else the ones kept from the first step."""
    return list(data.get("photos") or ()) or pending.take(data.get("photo_stash", ""))
