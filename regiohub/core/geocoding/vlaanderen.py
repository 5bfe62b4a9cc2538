"""The Flemish address register (Digitaal Vlaanderen) as a geocoder.

Two public services of Digitaal Vlaanderen, both on the address register's data:

- **search**: the basisregisters v2 *adresmatch* read endpoint,
  ``GET {basisregisters_url}/v2/adresmatch`` with ``gemeentenaam``, ``postcode``,
  ``straatnaam``, ``huisnummer`` and ``busnummer``
  (``Accept: application/ld+json``; an api key, optional for read endpoints, goes in the
  ``x-api-key`` header). It needs a street and a municipality name or postcode (else 400,
  validation codes 15 and 16). The answer is ``{"adresMatches": [...], "warnings":
  [{"code", "message"}]}``, at most 10 matches best first, each with ``identificator.id``
  (the address URI), ``gemeente.gemeentenaam.geografischeNaam.spelling``,
  ``postinfo.objectId`` (the postcode), ``straatnaam.straatnaam.geografischeNaam.spelling``,
  ``huisnummer``, ``busnummer``, ``volledigAdres.geografischeNaam.spelling``,
  ``adresPositie.geometrie.gml`` (a GML 3.2 point in Lambert 72, EPSG:31370) and ``score``
  (0..100). A match on the municipality or the street only has no ``identificator`` and no
  ``adresPositie``: it is skipped, and when the street matched but no address did, the
  street's position comes from the geolocation service (precision "street").
  Warnings 4, 5, 6, 8 and 9 say the register could not use the postcode, NIS code or
  municipality that was given: the matches ignore part of what was typed, so their score
  is capped at 0.5.
- **suggest** and **reverse**, and **search** when the text names no municipality or
  postcode: the geolocation service, ``GET {geolocation_url}/v4/Location?q=&c=`` and
  ``?latlon=lat,lon&c=1`` (``c`` at most 5; no key). The answer is ``{"LocationResult":
  [{"Municipality", "Zipcode", "Thoroughfarename", "Housenumber", "ID",
  "FormattedAddress", "Location": {"Lat_WGS84", "Lon_WGS84", "X_Lambert72",
  "Y_Lambert72"}, "LocationType", "BoundingBox": {"LowerLeft", "UpperRight"}}]}``.
  ``LocationType`` tells the precision: ``basisregisters_huisnummer_*`` (formerly
  ``crab_huisnummer_*``) is an address, ``crab_straat`` a street, ``crab_gemeente`` a
  municipality; any type naming "huisnummer", "straat" or "gemeente" is read that way.
  Reverse finds nothing beyond 1,000 m. Only ``basisregisters_huisnummer_*`` results get a
  ``register_id`` (``https://data.vlaanderen.be/id/adres/{ID}``).

Errors: a timeout, a refused connection, HTTP 5xx, 401/403/406/429 and other 4xx, or an
answer that is not the JSON described raise :class:`GeocoderUnavailable`; 404 and a 400
validation problem (``type`` ``urn:be.vlaanderen.basisregisters.api:validation`` or a
``validationErrors`` member: the register refuses the query) mean nothing matches. Neither
the key nor what was typed (personal data) is logged or put in an error message.

Documentation used:

- https://docs.basisregisters.vlaanderen.be/docs/api-documentation.html (adresmatch v2)
- https://www.vlaanderen.be/digitaal-vlaanderen/onze-diensten-en-platformen/gebouwen-en-adressenregister/adressen-opzoeken
- https://github.com/Informatievlaanderen/address-registry (src/AddressRegistry.Api.Oslo/
  AddressMatch/V2: the response contract, request validator and warnings)
- https://github.com/Informatievlaanderen/base-registries-content (api key, known errors:
  the 400 validation problem)
- https://geo.api.vlaanderen.be/Geolocation and
  https://geo.api.vlaanderen.be/geolocation/Help/Api/GET-geolocation-Location_q_latlon_xy_type_c
  (Location, LocationResult, reverse within 1,000 m, c at most 5)
- https://feedback.informatievlaanderen.be/t/geolocation-service-goed-gebruik/252
  (Location may answer a street or municipality: check LocationType)
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

import regiohub
from regiohub.core import geo
from regiohub.core.geocoding import Geocoder, GeocoderUnavailable, Place, register

log = structlog.get_logger(__name__)

DEFAULT_BASISREGISTERS_URL = "https://api.basisregisters.vlaanderen.be"
DEFAULT_GEOLOCATION_URL = "https://geo.api.vlaanderen.be/geolocation"
DEFAULT_TIMEOUT = 3.0
ADDRESS_URI = "https://data.vlaanderen.be/id/adres/"
#: The geolocation service answers at most this many results.
GEOLOCATION_MAX = 5
#: adresmatch warnings about a postcode, NIS code or municipality it could not use.
UNCERTAIN_WARNINGS = frozenset({"4", "5", "6", "8", "9"})
UNCERTAIN_SCORE = 0.5


class VlaanderenSettings(forms.Form):
    """``GEOCODER_SETTINGS`` of the "vlaanderen" geocoder; every field is optional."""

    basisregisters_url = forms.URLField(
        assume_scheme="https",
        label=gettext_lazy("Base registers API"),
        required=False,
        help_text=format_lazy(
            gettext_lazy("Address matching. Empty: {url}"), url=DEFAULT_BASISREGISTERS_URL
        ),
    )
    geolocation_url = forms.URLField(
        assume_scheme="https",
        label=gettext_lazy("Geolocation service"),
        required=False,
        help_text=format_lazy(
            gettext_lazy("Suggestions and reverse lookups. Empty: {url}"),
            url=DEFAULT_GEOLOCATION_URL,
        ),
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        required=False,
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Optional: allows more requests to the base registers."),
    )
    timeout_seconds = forms.FloatField(
        label=gettext_lazy("Timeout (seconds)"),
        required=False,
        min_value=0.1,
        max_value=30,
        help_text=gettext_lazy("Leave empty for 3 seconds."),
    )


@dataclass(frozen=True)
class TypedAddress:
    """A typed address taken apart (every part may be empty)."""

    street: str = ""
    house_number: str = ""
    box: str = ""
    postcode: str = ""
    municipality: str = ""


_BOX_WORDS = r"(?:bus|bte|boîte|box|b)"
_BOX = re.compile(rf"(?:\s+{_BOX_WORDS}\.?\s*|\s*/\s*)(?P<box>[0-9A-Za-z.]+)$", re.IGNORECASE)
_NUMBER = re.compile(
    r"^(?P<street>.*?\D)\s*(?P<number>\d+(?:\s?[A-Za-z](?![A-Za-z]))?(?:-\d+[A-Za-z]?)?)$"
)
#: "Doorniksestraat 45 8500 Kortrijk", "Grote Markt 1 Kortrijk": the place after the number.
_TRAILING_PLACE = re.compile(
    rf"^(?P<rest>.*?\d[0-9A-Za-z]*(?:(?:\s+{_BOX_WORDS}\.?\s*|\s*/\s*)[0-9A-Za-z]+)?)"
    rf"\s+(?:(?P<postcode>[1-9]\d{{3}})\b\s*)?(?!{_BOX_WORDS}\b)(?P<name>[^\W\d_][\w'.\- ]+)?$",
    re.IGNORECASE,
)
_PLACE = re.compile(r"^(?P<postcode>[1-9]\d{3})?\s*(?P<name>.*)$")
_GML_POS = re.compile(r"<(?:\w+:)?pos>\s*(?P<x>[-\d.]+)\s+(?P<y>[-\d.]+)\s*</(?:\w+:)?pos>")
_GML_EPSG = re.compile(r'srsName="[^"]*?(?P<epsg>\d+)"')


def parse_address(text: str) -> TypedAddress:
    """Take a typed address apart: "Grote Markt 1", "grote markt 1 bus 2", "Kerkstraat 12A",
    "Doorniksestraat 45, 8500 Kortrijk", "Doorniksestraat 45 8500 Kortrijk"."""
    text = " ".join(text.split())
    street_part, _, place = text.partition(",")
    street_part, place = street_part.strip(), place.replace(",", " ").strip()
    postcode = name = ""
    if place:
        match = _PLACE.match(place)
        if match:
            postcode, name = match["postcode"] or "", match["name"].strip()
    else:
        match = _TRAILING_PLACE.match(street_part)
        if match and (match["postcode"] or match["name"]):
            street_part = match["rest"].strip()
            postcode, name = match["postcode"] or "", (match["name"] or "").strip()
    if re.fullmatch(r"[1-9]\d{3}", street_part) and not postcode:
        return TypedAddress(postcode=street_part, municipality=name)
    box = ""
    match = _BOX.search(street_part)
    if match and re.search(r"\d[A-Za-z]?$", street_part[: match.start()].strip()):
        box, street_part = match["box"], street_part[: match.start()].strip()
    match = _NUMBER.match(street_part)
    if match:
        street, number = match["street"].strip(), match["number"].replace(" ", "").upper()
    else:
        street, number = street_part, ""
    return TypedAddress(street, number, box, postcode, name)


@register
class Vlaanderen(Geocoder):
    """Digitaal Vlaanderen: adresmatch for typed addresses, geolocation for the rest."""

    name = "vlaanderen"
    label = gettext_lazy("Flemish address register (Digitaal Vlaanderen)")
    settings_form = VlaanderenSettings

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.basisregisters_url = str(
            self.settings.get("basisregisters_url") or DEFAULT_BASISREGISTERS_URL
        ).rstrip("/")
        self.geolocation_url = str(
            self.settings.get("geolocation_url") or DEFAULT_GEOLOCATION_URL
        ).rstrip("/")
        self.api_key = str(self.settings.get("api_key") or "")
        self.timeout = float(self.settings.get("timeout_seconds") or DEFAULT_TIMEOUT)

    def __repr__(self) -> str:  # never the key
        return f"<Vlaanderen {self.basisregisters_url} {self.geolocation_url}>"

    # --- the three questions --------------------------------------------------------------

    def search(self, text: str, *, municipality: str = "", limit: int = 5) -> list[Place]:
        if limit < 1 or not text.strip():
            return []
        typed = parse_address(text)
        name = typed.municipality or municipality.strip()
        if not typed.street or not (name or typed.postcode):
            # adresmatch needs a street and a municipality or postcode: the geolocation
            # service searches the text over all of Flanders instead.
            places = self._locations({"q": text.strip()}, limit)
            return _best_first([_scored(place, text) for place in places], limit)
        params = {
            "gemeentenaam": name,
            "postcode": typed.postcode,
            "straatnaam": typed.street,
            "huisnummer": typed.house_number,
            "busnummer": typed.box,
        }
        body = self._adresmatch({key: value for key, value in params.items() if value})
        if body is None:
            return []
        matches = body["adresMatches"]
        cap = 1.0 if _certain(body.get("warnings")) else UNCERTAIN_SCORE
        places = [place for match in matches if (place := _match_place(match, cap)) is not None]
        if places:
            return _best_first(places, limit)
        return self._street_of(matches, cap, limit)

    def suggest(self, text: str, *, limit: int = 5) -> list[Place]:
        if limit < 1 or len(text.strip()) < 2:  # the service needs two characters
            return []
        places = self._locations({"q": text.strip()}, limit)
        return [_scored(place, text, partial=True) for place in places]

    def reverse(self, latitude: float, longitude: float) -> Place | None:
        if not geo.valid_wgs84(latitude, longitude):
            return None
        places = self._locations({"latlon": f"{latitude:.7f},{longitude:.7f}"}, 1)
        return places[0] if places else None

    # --- the two services -----------------------------------------------------------------

    def _adresmatch(self, params: dict[str, str]) -> dict[str, Any] | None:
        headers = {"Accept": "application/ld+json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        body = self._get(
            f"{self.basisregisters_url}/v2/adresmatch", params, headers, "the address register"
        )
        if body is None:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("adresMatches", []), list):
            raise GeocoderUnavailable(
                f"the address register answered an unexpected document"
                f" ({_where(self.basisregisters_url)})"
            )
        body.setdefault("adresMatches", [])
        return body

    def _locations(self, params: dict[str, str], limit: int) -> list[Place]:
        params = {**params, "c": str(max(1, min(limit, GEOLOCATION_MAX)))}
        body = self._get(
            f"{self.geolocation_url}/v4/Location",
            params,
            {"Accept": "application/json"},
            "the geolocation service",
        )
        if body is None:
            return []
        results = body.get("LocationResult") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise GeocoderUnavailable(
                f"the geolocation service answered an unexpected document"
                f" ({_where(self.geolocation_url)})"
            )
        return [place for result in results if (place := _location_place(result)) is not None]

    def _street_of(self, matches: list[Any], cap: float, limit: int) -> list[Place]:
        """The street adresmatch found when it found no address: placed by the geolocation
        service, precision "street"."""
        for match in matches:
            street = _spelling(match, "straatnaam", "straatnaam")
            if not street:
                continue
            municipality = _spelling(match, "gemeente", "gemeentenaam")
            postcode = str((match.get("postinfo") or {}).get("objectId") or "")
            query = _label(street, "", postcode, municipality)
            score = min(cap, _number(match.get("score"), 0) / 100)
            return [
                Place(
                    label=place.label,
                    latitude=place.latitude,
                    longitude=place.longitude,
                    street=place.street or street,
                    postcode=place.postcode or postcode,
                    municipality=place.municipality or municipality,
                    precision="street",
                    score=score,
                )
                for place in self._locations({"q": query}, 1)
                if place.precision != "municipality"
            ][:limit]
        return []

    def _get(
        self, url: str, params: dict[str, str], headers: dict[str, str], service: str
    ) -> Any | None:
        """The JSON answer; ``None`` when the service says nothing matches (404, or a 400
        validation problem)."""
        where = _where(url)
        headers = {"User-Agent": f"regiohub/{regiohub.__version__}", **headers}
        # ``from None`` everywhere: the chained exception would carry the URL, and with it
        # what was typed.
        try:
            response = requests.get(url, params=params, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            log.warning("geocoder.timeout", service=service, where=where, seconds=self.timeout)
            raise GeocoderUnavailable(
                f"{service} did not answer within {self.timeout:g} s ({where})"
            ) from None
        except requests.ConnectionError:
            log.warning("geocoder.unreachable", service=service, where=where)
            raise GeocoderUnavailable(f"could not connect to {service} ({where})") from None
        except requests.RequestException as exc:
            log.warning("geocoder.failed", service=service, where=where, error=type(exc).__name__)
            raise GeocoderUnavailable(
                f"asking {service} failed: {type(exc).__name__} ({where})"
            ) from None
        status = response.status_code
        if status == 404 or (status == 400 and _validation_problem(response)):
            log.info("geocoder.refused", service=service, where=where, status=status)
            return None
        if status >= 400:
            log.warning("geocoder.http_error", service=service, where=where, status=status)
            raise GeocoderUnavailable(f"{service} answered HTTP {status} ({where})")
        try:
            return response.json()
        except ValueError:
            log.warning("geocoder.not_json", service=service, where=where)
            raise GeocoderUnavailable(
                f"{service} answered something that is not JSON ({where})"
            ) from None


# --- reading the answers ------------------------------------------------------------------


def _match_place(match: Any, cap: float) -> Place | None:
    """An adresmatch match as a place; ``None`` for a match without a position (a street
    or a municipality) or with a position we cannot read."""
    if not isinstance(match, dict):
        return None
    position = _position(match.get("adresPositie"))
    if position is None:
        return None
    register_id = str((match.get("identificator") or {}).get("id") or "")
    house_number = str(match.get("huisnummer") or "")
    street = _spelling(match, "straatnaam", "straatnaam")
    municipality = _spelling(match, "gemeente", "gemeentenaam")
    postcode = str((match.get("postinfo") or {}).get("objectId") or "")
    label = _spelling(match, "volledigAdres") or _label(
        street, house_number, postcode, municipality
    )
    return Place(
        label=label,
        latitude=position[0],
        longitude=position[1],
        street=street,
        house_number=house_number,
        postcode=postcode,
        municipality=municipality,
        register_id=register_id,
        precision="address" if register_id and house_number else "street",
        score=min(cap, max(0.0, min(1.0, _number(match.get("score"), 0) / 100))),
    )


def _position(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of an ``adresPositie``: a GML point in Lambert 72 (or 2008)."""
    gml = ((value or {}).get("geometrie") or {}).get("gml") if isinstance(value, dict) else None
    if not isinstance(gml, str):
        return None
    pos = _GML_POS.search(gml)
    if pos is None:
        return None
    epsg = _GML_EPSG.search(gml)
    crs = f"EPSG:{epsg['epsg']}" if epsg else geo.LAMBERT72
    if crs not in (geo.LAMBERT72, geo.LAMBERT2008):
        log.warning("geocoder.unknown_crs", crs=crs)
        return None
    lat, lon = geo.to_wgs84(float(pos["x"]), float(pos["y"]), crs)
    return round(lat, 7), round(lon, 7)


def _location_place(result: Any) -> Place | None:
    """A geolocation ``LocationResult`` item as a place."""
    if not isinstance(result, dict):
        return None
    location = result.get("Location") or {}
    lat, lon = _number(location.get("Lat_WGS84")), _number(location.get("Lon_WGS84"))
    if lat is None or lon is None or not geo.valid_wgs84(lat, lon):
        return None
    kind = str(result.get("LocationType") or "").lower()
    if "huisnummer" in kind:
        precision = "address"
    elif "straat" in kind:
        precision = "street"
    else:
        precision = "municipality"
    identifier = result.get("ID")
    register_id = (
        f"{ADDRESS_URI}{identifier}"
        if precision == "address" and kind.startswith("basisregisters_") and identifier
        else ""
    )
    street = str(result.get("Thoroughfarename") or "")
    house_number = str(result.get("Housenumber") or "")
    postcode = str(result.get("Zipcode") or "")
    municipality = str(result.get("Municipality") or "")
    return Place(
        label=str(result.get("FormattedAddress") or "")
        or _label(street, house_number, postcode, municipality),
        latitude=round(lat, 7),
        longitude=round(lon, 7),
        street=street,
        house_number=house_number,
        postcode=postcode,
        municipality=municipality,
        register_id=register_id,
        precision=precision,
    )


def _certain(warnings: Any) -> bool:
    """False when adresmatch warns it could not use a postcode or municipality given."""
    codes = {str(w.get("code")) for w in warnings or [] if isinstance(w, dict)}
    if codes:
        log.info("geocoder.adresmatch_warnings", codes=sorted(codes))
    return not codes & UNCERTAIN_WARNINGS


def _validation_problem(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    kind = str(body.get("type") or "")
    return "validation" in kind or "validatie" in kind or "validationErrors" in body


def _spelling(item: dict[str, Any], *path: str) -> str:
    """``item[path...].geografischeNaam.spelling``, or ""."""
    value: Any = item
    for key in (*path, "geografischeNaam", "spelling"):
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if value else ""


def _number(value: Any, default: float | None = None) -> Any:
    return float(value) if isinstance(value, int | float) else default


def _label(street: str, house_number: str, postcode: str, municipality: str) -> str:
    first = f"{street} {house_number}".strip()
    last = f"{postcode} {municipality}".strip()
    return ", ".join(part for part in (first, last) if part)


def _where(url: str) -> str:
    """Where a request went, for messages: scheme and host, no path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _scored(place: Place, typed: str, *, partial: bool = False) -> Place:
    """``place`` with a score for how well it matches ``typed``: the text is compared with
    the same parts of the place's address (all of it while typing: its beginning)."""
    wanted = _normal(typed)
    got = _normal(place.label)
    if partial:
        got = got[: len(wanted)]
    else:
        parts = parse_address(typed)
        if not (parts.postcode or parts.municipality):
            got = _normal(f"{place.street} {place.house_number}") or got
    score = difflib.SequenceMatcher(None, wanted, got).ratio() if wanted else 0.0
    return dataclasses.replace(place, score=round(score, 3))


def _best_first(places: list[Place], limit: int) -> list[Place]:
    """By score, highest first; the service's order among equals."""
    return sorted(places, key=lambda place: -place.score)[:limit]
