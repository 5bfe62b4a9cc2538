"""Where is the problem? The contact point's use of the geocoder (``core.geocoding``).

A place is known when a point marks it: tapped on the map, a photo's position or an
address found in the address register, each confirmed by the person filing. Otherwise the
report keeps the address as typed, sits on its municipality's centre and is marked
approximate; nothing is measured from that point (see ``meldpunt.duplicates``).

- On the form, :func:`find_address` turns a typed address into matches for the citizen to
  choose from ("Did you mean …?"), :func:`suggestions` offers them while typing, and
  :func:`describe` names the street and municipality of a tapped point.
- After filing, :func:`place_from_address` (a subscriber of ``ReportFiled``, on the
  ``connectors`` queue: it calls an outside service) places reports filed by address alone
  (phone intake, mail, Open311, no geocoder at the time) when the register knows the address
  without doubt. When the geocoder is down it is retried; when it is not configured
  nothing happens and the report stays approximate, as the page says.

With no geocoder configured (``GEOCODER`` empty) every function answers "off" and the
product behaves as before: typed addresses are kept as text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from regiohub.core import geo, geocoding
from regiohub.core.geocoding import GeocoderUnavailable, Place
from regiohub.core.models import Organisation

log = logging.getLogger(__name__)

#: A match the register is this sure of may place a report without anybody confirming.
SURE = 0.9

FOUND = "found"
NONE = "none"
OFF = "off"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Lookup:
    """The answer to "where is this address": the matches in the region, best first, and
    ``state``: found, none (the register does not know it), off (no geocoder configured)
    or unavailable (the geocoder did not answer)."""

    state: str
    places: list[Place] = field(default_factory=list)

    @property
    def message(self) -> str:
        """What to tell the person who typed the address."""
        return {
            FOUND: "",
            NONE: _(
                "We could not find this address. Check the street name and number, or mark "
                "the place on the map. You can also send the report as it is: then we only "
                "know the municipality and the address as you typed it."
            ),
            OFF: _(
                "Addresses are not looked up on this site: we keep the address as you typed "
                "it, and only know the municipality for sure."
            ),
            UNAVAILABLE: _(
                "The address register did not answer. Mark the place on the map, or send the "
                "report as it is: we keep the address as you typed it."
            ),
        }[self.state]


def available() -> bool:
    return geocoding.configured()


def _inside(place: Place, municipality: Organisation | None) -> bool:
    """Inside the region, and inside ``municipality`` when one was chosen."""
    location = geo.municipality_at(place.latitude, place.longitude)
    if not location.inside:
        return False
    return municipality is None or location.organisation_id == municipality.pk


def _municipality(code: str) -> Organisation | None:
    if not code:
        return None
    return Organisation.objects.filter(kind="municipality", code=code).first()


def find_address(text: str, municipality_code: str = "", *, limit: int = 5) -> Lookup:
    """Matches of a typed address in the region (in the chosen municipality if any)."""
    text = " ".join(text.split())[:300]
    if not geocoding.configured():
        return Lookup(OFF)
    if len(text) < 3:
        return Lookup(NONE)
    municipality = _municipality(municipality_code)
    try:
        found = geocoding.search(
            text, municipality=municipality.name if municipality else "", limit=limit + 3
        )
    except GeocoderUnavailable as error:
        log.warning("geocoder unavailable", extra={"error": str(error)})
        return Lookup(UNAVAILABLE)
    places = [
        place
        for place in found
        if place.precision != "municipality" and _inside(place, municipality)
    ][:limit]
    return Lookup(FOUND if places else NONE, places)


def sure_match(lookup: Lookup) -> Place | None:
    """The one address the register is sure of, or None (several, a street, a weak match)."""
    addresses = [p for p in lookup.places if p.precision == "address" and p.score >= SURE]
    return addresses[0] if len(addresses) == 1 else None


def suggestions(text: str, *, limit: int = 5) -> Lookup:
    """Addresses in the region for a partly typed address (the form's list while typing)."""
    text = " ".join(text.split())[:200]
    if not geocoding.configured():
        return Lookup(OFF)
    if len(text) < 3:
        return Lookup(NONE)
    try:
        found = geocoding.suggest(text, limit=limit + 3)
    except GeocoderUnavailable as error:
        log.warning("geocoder unavailable", extra={"error": str(error)})
        return Lookup(UNAVAILABLE)
    places = [p for p in found if p.precision != "municipality" and _inside(p, None)][:limit]
    return Lookup(FOUND if places else NONE, places)


def describe(latitude: float, longitude: float) -> Place | None:
    """The nearest address to a point, to show the street the citizen tapped (None when
    there is no geocoder, it does not answer, or the point is outside the region)."""
    if not geocoding.configured() or not geo.valid_wgs84(latitude, longitude):
        return None
    try:
        place = geocoding.reverse(latitude, longitude)
    except GeocoderUnavailable as error:
        log.warning("geocoder unavailable", extra={"error": str(error)})
        return None
    return place


def as_json(place: Place) -> dict[str, Any]:
    """A place for the form's script."""
    location = geo.municipality_at(place.latitude, place.longitude)
    return {
        "label": place.label,
        "lat": round(place.latitude, 6),
        "lng": round(place.longitude, 6),
        "register_id": place.register_id,
        "municipality": place.municipality or (location.name or ""),
        "precision": place.precision,
    }


def needs_place(event: Any) -> bool:
    """At filing: is this a report filed by address alone, with a geocoder to ask?"""
    from regiohub.meldpunt.models import Report

    if not geocoding.configured():
        return False
    return (
        Report.objects.filter(pk=event.report_id, location_is_approximate=True)
        .exclude(address="")
        .exists()
    )


def place_from_address(event: Any) -> str:
    """Place a report filed by address alone when the register is sure of the address
    (one match, in the report's municipality). Raises GeocoderUnavailable to be retried."""
    from regiohub.meldpunt import services
    from regiohub.meldpunt.models import PlaceSource, Report

    report = Report.objects.select_related("organisation").filter(pk=event.report_id).first()
    if report is None or not report.location_is_approximate or not report.address.strip():
        return "nothing to place"
    if not geocoding.configured():
        return "no geocoder"
    found = geocoding.search(report.address, municipality=report.organisation.name, limit=5)
    lookup = Lookup(
        FOUND,
        [p for p in found if p.precision != "municipality" and _inside(p, report.organisation)],
    )
    place = sure_match(lookup)
    if place is None:
        return "not sure"
    services.set_place(
        report,
        latitude=place.latitude,
        longitude=place.longitude,
        source=PlaceSource.ADDRESS,
        register_id=place.register_id,
        reason=_("Found in the address register: %(address)s") % {"address": place.label},
    )
    return "placed"


def subscribe() -> None:
    """Connected in ``MeldpuntConfig.connect()``."""
    from regiohub.core import events
    from regiohub.meldpunt.events import ReportFiled

    events.subscribe(
        ReportFiled,
        "meldpunt.places.from_address",
        place_from_address,
        queue="connectors",
        when=needs_place,
    )
