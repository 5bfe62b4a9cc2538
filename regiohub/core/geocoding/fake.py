"""A local fake of Digitaal Vlaanderen's address services, for tests and demonstrations.

It speaks the wire formats :mod:`regiohub.core.geocoding.vlaanderen` reads (see that
module's docstring for the documentation): the basisregisters v2 adresmatch
(``/v2/adresmatch``, JSON-LD with the position as a GML point in Lambert 72) and the
geolocation service's Location v4 (``/geolocation/v4/Location``), over a small table of
real addresses of the region (:data:`ADDRESSES`) at their approximate positions.

In a test::

    with fake_address_register() as register:
        with override_settings(GEOCODER="vlaanderen", GEOCODER_SETTINGS=register.settings()):
            ...
        register.mode = "slow"          # or "none", "error", "normal"
        register.received[-1].header("x-api-key")

By hand, to click through the product with geocoding on::

    python -m regiohub.core.geocoding.fake --port 8765

It does not build on ``regiohub.core.testing``'s server: that module needs Django set up
and pytest, and this one also runs standalone.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from regiohub.core import geo

#: What the fake answers: the table ("normal": "Grote Markt 1" without a municipality
#: matches Kortrijk and Menen), nothing at all ("none"), the table after ``delay`` seconds
#: ("slow"), or HTTP 500 ("error").
MODES = ("normal", "none", "slow", "error")
ADDRESS_NAMESPACE = "https://data.vlaanderen.be/id/adres"
ADDRESS_TYPE = "basisregisters_huisnummer_afgeleidVanObject"
#: The geolocation service's street and municipality types (CRAB-era names; the client
#: reads any type naming "straat" or "gemeente").
STREET_TYPE = "crab_straat"
MUNICIPALITY_TYPE = "crab_gemeente"
GML_POINT = (
    '<gml:Point srsName="https://www.opengis.net/def/crs/EPSG/0/31370"'
    ' xmlns:gml="http://www.opengis.net/gml/3.2"><gml:pos>{x:.2f} {y:.2f}</gml:pos></gml:Point>'
)
REVERSE_RADIUS_M = 1000


@dataclass(frozen=True)
class FakeAddress:
    """One address of the fake register. The addresses and positions are real (the
    position approximately: on the square or the street, not the exact building); the
    object ids are the fake's own."""

    street: str
    house_number: str
    postcode: str
    municipality: str
    nis_code: str
    latitude: float
    longitude: float
    object_id: int
    street_id: int

    @property
    def label(self) -> str:
        return f"{self.street} {self.house_number}, {self.postcode} {self.municipality}"

    @property
    def uri(self) -> str:
        return f"{ADDRESS_NAMESPACE}/{self.object_id}"


#: Checked against the municipal boundaries by core/tests/test_geocoding.py. Harelbeke's
#: central square is the Marktplein (it has no Grote Markt); Menen's town hall is Grote
#: Markt 1-8.
ADDRESSES: tuple[FakeAddress, ...] = (
    FakeAddress("Grote Markt", "1", "8500", "Kortrijk", "34022", 50.8280, 3.2649, 9900001, 99001),
    FakeAddress(
        "Doorniksestraat", "45", "8500", "Kortrijk", "34022", 50.8258, 3.2664, 9900002, 99002
    ),
    FakeAddress("Marktplein", "1", "8530", "Harelbeke", "34013", 50.8557, 3.3093, 9900003, 99003),
    FakeAddress("Grote Markt", "1", "8930", "Menen", "34027", 50.7966, 3.1222, 9900004, 99004),
    FakeAddress("Stationsstraat", "2", "8790", "Waregem", "34040", 50.8880, 3.4268, 9900005, 99005),
    FakeAddress("Kerkstraat", "12", "8550", "Zwevegem", "34042", 50.8117, 3.3375, 9900006, 99006),
)


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        """A header's value, whatever its case; ``None`` when it was not sent."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class FakeAddressRegister:
    """The running fake: its address, what it answers, and what it received."""

    url: str
    mode: str = "normal"
    #: How long "slow" waits before answering (seconds).
    delay: float = 2.0
    received: list[FakeRequest] = field(default_factory=list)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """``GEOCODER_SETTINGS`` pointing the "vlaanderen" geocoder at this fake."""
        return {
            "basisregisters_url": self.url,
            "geolocation_url": f"{self.url}/geolocation",
            **extra,
        }


@contextmanager
def fake_address_register(
    mode: str = "normal", *, delay: float = 2.0, host: str = "127.0.0.1", port: int = 0
) -> Iterator[FakeAddressRegister]:
    """Serve the fake on ``host`` (a free port unless ``port`` is given) for the block."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    state = FakeAddressRegister(f"http://{host}:{server.server_port}", mode=mode, delay=delay)
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state: FakeAddressRegister = self.server.state  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        state.received.append(FakeRequest("GET", parts.path, query, dict(self.headers)))
        if state.mode == "slow":
            time.sleep(state.delay)
        if parts.path.rstrip("/").lower() == "/v2/adresmatch":
            self._adresmatch(state, query)
        elif parts.path.rstrip("/").lower() == "/geolocation/v4/location":
            self._location(state, query)
        else:
            self._send(404, _problem(404, "Onbestaande resource.", state.url), "problem")

    def _adresmatch(self, state: FakeAddressRegister, query: dict[str, str]) -> None:
        if state.mode == "error":
            self._send(
                500, _problem(500, "Er heeft zich een fout voorgedaan!", state.url), "problem"
            )
        elif "application/ld+json" not in (self.headers.get("Accept") or ""):
            self._send(
                406, _problem(406, "Ongeldig formaat in de Accept header.", state.url), "problem"
            )
        elif errors := _adresmatch_errors(query):
            self._send(400, _validation_problem(errors, state.url), "problem")
        elif state.mode == "none":
            self._send(200, _adresmatch_body([], []), "ld")
        else:
            matches, warnings = adresmatch(query, state.url)
            self._send(200, _adresmatch_body(matches, warnings), "ld")

    def _location(self, state: FakeAddressRegister, query: dict[str, str]) -> None:
        if state.mode == "error":
            self._send(500, {"Message": "An error has occurred."})
            return
        try:
            count = int(query.get("c") or 1)
        except ValueError:
            count = 0
        if not 1 <= count <= 5:
            self._send(400, {"Message": "The request is invalid."})
        elif state.mode == "none":
            self._send(200, {"LocationResult": []})
        elif "latlon" in query or "xy" in query:
            point = _point(query)
            if point is None:
                self._send(400, {"Message": "The request is invalid."})
            else:
                self._send(200, {"LocationResult": nearest(*point)[:count]})
        elif len((query.get("q") or "").strip()) < 2:
            self._send(400, {"Message": "The request is invalid."})
        else:
            self._send(200, {"LocationResult": locations(query["q"])[:count]})

    def _send(self, status: int, body: Any, kind: str = "json") -> None:
        content_type = {
            "ld": "application/ld+json; charset=utf-8",
            "problem": "application/problem+json; charset=utf-8",
        }.get(kind, "application/json; charset=utf-8")
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout)
            pass

    def log_message(self, *args: Any) -> None:
        pass


# --- adresmatch ---------------------------------------------------------------------------


_MAX_LENGTHS = {
    "Niscode": 5,
    "Postcode": 4,
    "Straatnaam": 80,
    "Huisnummer": 40,
    "Busnummer": 40,
    "Gemeentenaam": 40,
}


def _adresmatch_errors(query: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    """The register's request validation (codes as in AddressMatchRequestValidator)."""
    errors: dict[str, list[dict[str, str]]] = {}
    postcode = query.get("postcode", "")
    if postcode and not postcode.isdigit():
        errors["Postcode"] = [{"code": "11", "reason": "'Postcode' hoort numeriek te zijn."}]
    if not any(query.get(name) for name in ("gemeentenaam", "niscode", "postcode")):
        errors.setdefault("", []).append(
            {
                "code": "15",
                "reason": "Gelieve minstens één van de volgende velden op te geven:"
                " 'Gemeentenaam', 'Niscode', 'Postcode'.",
            }
        )
    if not query.get("straatnaam"):
        errors.setdefault("", []).append(
            {"code": "16", "reason": "Gelieve het veld 'Straatnaam' mee te geven."}
        )
    for name, longest in _MAX_LENGTHS.items():
        value = query.get(name.lower(), "")
        if len(value) > longest:
            errors.setdefault(name, []).append(
                {
                    "code": "18",
                    "reason": f"'{name}' mag maximaal {longest} karakters lang zijn."
                    f" U gaf {len(value)} karakters op.",
                }
            )
    return errors


def adresmatch(query: dict[str, str], base_url: str) -> tuple[list[dict[str, Any]], list[dict]]:
    """The matches and warnings the register would give for ``query`` (a valid one)."""
    warnings: list[dict[str, str]] = []
    name, postcode = _normal(query.get("gemeentenaam", "")), query.get("postcode", "")
    by_name = {a.nis_code for a in ADDRESSES if name and _normal(a.municipality) == name}
    by_postcode = {a.nis_code for a in ADDRESSES if postcode and a.postcode == postcode}
    if name and not by_name:
        warnings.append({"code": "6", "message": "Onbekende 'Gemeentenaam'."})
    if postcode and not by_postcode:
        warnings.append({"code": "4", "message": "Onbekende 'Postcode'."})
    if by_name and by_postcode and not by_name & by_postcode:
        warnings.append(
            {
                "code": "8",
                "message": "Geen overeenkomst tussen 'Postcode' en 'Gemeentenaam'/'Niscode'.",
            }
        )
    candidates = [a for a in ADDRESSES if a.nis_code in by_name | by_postcode]
    street = _normal(query.get("straatnaam", ""))
    streets: dict[tuple[str, str], float] = {}
    for address in candidates:
        ratio = _street_ratio(street, _normal(address.street))
        if ratio >= 0.75:
            streets[(address.street, address.nis_code)] = ratio
    if not streets:
        warnings.append({"code": "10", "message": "'Straatnaam' niet interpreteerbaar."})
        seen: dict[str, FakeAddress] = {a.nis_code: a for a in candidates}
        return [_municipality_match(a, base_url, 40.0) for a in seen.values()], warnings
    number = query.get("huisnummer", "").upper()
    found = [
        _address_match(a, base_url, 100 * streets[(a.street, a.nis_code)])
        for a in candidates
        if (a.street, a.nis_code) in streets and number and a.house_number.upper() == number
    ]
    if query.get("busnummer"):  # the table has no box numbers: the house number is closest
        for match in found:
            match["score"] = round(match["score"] * 0.9, 2)
    if not found:
        heads = {(a.street, a.nis_code): a for a in candidates if (a.street, a.nis_code) in streets}
        found = [_street_match(a, base_url, 60 * streets[key]) for key, a in heads.items()]
    found.sort(key=lambda match: -match["score"])
    return found[:10], warnings


def _street_ratio(typed: str, street: str) -> float:
    if typed == street:
        return 1.0
    if len(typed) > 3 and (typed in street or street in typed):
        return 0.9
    return difflib.SequenceMatcher(None, typed, street).ratio()


def _adresmatch_body(matches: list[dict[str, Any]], warnings: list[dict]) -> dict[str, Any]:
    return {
        "@context": "https://docs.basisregisters.vlaanderen.be/context/adresmatch/2023-03-13/adresmatch.jsonld",
        "adresMatches": matches,
        "warnings": warnings,
    }


def _name(spelling: str) -> dict[str, Any]:
    return {"geografischeNaam": {"spelling": spelling, "taal": "nl"}}


def _municipality_match(address: FakeAddress, base_url: str, score: float) -> dict[str, Any]:
    return {
        "@type": "Adres",
        "gemeente": {
            "objectId": address.nis_code,
            "detail": f"{base_url}/v2/gemeenten/{address.nis_code}",
            "gemeentenaam": _name(address.municipality),
        },
        "score": round(score, 2),
        "links": [],
    }


def _street_match(address: FakeAddress, base_url: str, score: float) -> dict[str, Any]:
    match = _municipality_match(address, base_url, score)
    match["straatnaam"] = {
        "objectId": str(address.street_id),
        "detail": f"{base_url}/v2/straatnamen/{address.street_id}",
        "straatnaam": _name(address.street),
    }
    return match


def _address_match(address: FakeAddress, base_url: str, score: float) -> dict[str, Any]:
    x, y = geo.from_wgs84(address.latitude, address.longitude, geo.LAMBERT72)
    object_id = str(address.object_id)
    street = _street_match(address, base_url, score)
    return {
        "@type": "Adres",
        "identificator": {
            "id": address.uri,
            "naamruimte": ADDRESS_NAMESPACE,
            "objectId": object_id,
            "versieId": "2024-03-01T10:00:00+01:00",
        },
        "detail": f"{base_url}/v2/adressen/{object_id}",
        "gemeente": street["gemeente"],
        "postinfo": {
            "objectId": address.postcode,
            "detail": f"{base_url}/v2/postinfo/{address.postcode}",
        },
        "straatnaam": street["straatnaam"],
        "huisnummer": address.house_number,
        "volledigAdres": _name(address.label),
        "adresPositie": {
            "geometrie": {"type": "Point", "gml": GML_POINT.format(x=x, y=y)},
            "positieGeometrieMethode": "aangeduidDoorBeheerder",
            "positieSpecificatie": "gebouweenheid",
        },
        "adresStatus": "inGebruik",
        "officieelToegekend": True,
        "score": round(score, 2),
        "links": [
            {
                "href": f"{base_url}/v2/percelen?adresobjectid={object_id}",
                "rel": "percelen",
                "type": "GET",
            },
            {
                "href": f"{base_url}/v2/gebouweenheden?adresobjectid={object_id}",
                "rel": "gebouweenheden",
                "type": "GET",
            },
        ],
    }


def _problem(status: int, title: str, base_url: str) -> dict[str, Any]:
    return {
        "type": f"urn:be.vlaanderen.basisregisters.api:{status}",
        "title": title,
        "detail": "",
        "status": status,
        "instance": f"{base_url}/v2/foutmeldingen/fake",
    }


def _validation_problem(errors: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "validationErrors": errors,
        "type": "urn:be.vlaanderen.basisregisters.api:validation",
        "title": "Er heeft zich een fout voorgedaan!",
        "detail": "Validatie mislukt!",
        "status": 400,
        "instance": f"{base_url}/v2/foutmeldingen/fake",
    }


# --- geolocation Location v4 --------------------------------------------------------------


def locations(q: str) -> list[dict[str, Any]]:
    """The ``LocationResult`` items for a free text: municipalities, then streets (when no
    house number is typed), then addresses, each whose words the text's words begin."""
    words = _normal(q).split()
    numbered = any(word[0].isdigit() and not re.fullmatch(r"[1-9]\d{3}", word) for word in words)

    def matches(haystack: str) -> bool:
        tokens = haystack.split()
        for position, word in enumerate(words):
            typing = position == len(words) - 1  # the word being typed may be partial
            exact = word in tokens
            prefix = any(token.startswith(word) for token in tokens)
            if not (exact or (prefix and (not word[0].isdigit() or typing))):
                return False
        return True

    results: list[dict[str, Any]] = []
    by_municipality: dict[str, list[FakeAddress]] = {}
    by_street: dict[tuple[str, str], list[FakeAddress]] = {}
    for address in ADDRESSES:
        by_municipality.setdefault(address.municipality, []).append(address)
        by_street.setdefault((address.street, address.municipality), []).append(address)
    for name, group in by_municipality.items():
        if matches(_normal(f"{group[0].postcode} {name}")):
            results.append(_location_result(group, MUNICIPALITY_TYPE))
    if not numbered:
        for group in by_street.values():
            first = group[0]
            if matches(_normal(f"{first.street} {first.postcode} {first.municipality}")):
                results.append(_location_result(group, STREET_TYPE))
    for address in ADDRESSES:
        haystack = (
            f"{address.street} {address.house_number} {address.postcode} {address.municipality}"
        )
        if matches(_normal(haystack)):
            results.append(_location_result([address], ADDRESS_TYPE))
    return results


def nearest(latitude: float, longitude: float) -> list[dict[str, Any]]:
    """The address nearest to a point, within 1,000 m (as the service does)."""
    distances = sorted(
        (geo.distance_m(latitude, longitude, a.latitude, a.longitude), i)
        for i, a in enumerate(ADDRESSES)
    )
    return [
        _location_result([ADDRESSES[i]], ADDRESS_TYPE)
        for distance, i in distances
        if distance <= REVERSE_RADIUS_M
    ]


def _point(query: dict[str, str]) -> tuple[float, float] | None:
    raw = query.get("latlon") or query.get("xy") or ""
    try:
        first, second = (float(part) for part in raw.split(","))
    except ValueError:
        return None
    if "latlon" in query:
        return (first, second) if geo.valid_wgs84(first, second) else None
    return geo.to_wgs84(first, second, geo.LAMBERT72)


def _location(latitude: float, longitude: float) -> dict[str, float]:
    x, y = geo.from_wgs84(latitude, longitude, geo.LAMBERT72)
    return {
        "Lat_WGS84": latitude,
        "Lon_WGS84": longitude,
        "X_Lambert72": round(x, 2),
        "Y_Lambert72": round(y, 2),
    }


def _location_result(group: Sequence[FakeAddress], kind: str) -> dict[str, Any]:
    first = group[0]
    lats = [a.latitude for a in group]
    lons = [a.longitude for a in group]
    if kind == ADDRESS_TYPE:
        street, number, identifier, label = (
            first.street,
            first.house_number,
            first.object_id,
            first.label,
        )
    elif kind == STREET_TYPE:
        street, number, identifier = first.street, None, first.street_id
        label = f"{first.street}, {first.postcode} {first.municipality}"
    else:
        street, number, identifier = None, None, int(first.nis_code)
        label = f"{first.postcode} {first.municipality}"
    return {
        "Municipality": first.municipality,
        "Zipcode": first.postcode,
        "Thoroughfarename": street,
        "Housenumber": number,
        "ID": identifier,
        "FormattedAddress": label,
        "Location": _location(sum(lats) / len(lats), sum(lons) / len(lons)),
        "LocationType": kind,
        "BoundingBox": {
            "LowerLeft": _location(min(lats), min(lons)),
            "UpperRight": _location(max(lats), max(lons)),
        },
    }


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


# --- standalone ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m regiohub.core.geocoding.fake [--port 8765] [--mode normal]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds, for --mode slow")
    args = parser.parse_args(argv)
    with fake_address_register(args.mode, delay=args.delay, host=args.host, port=args.port) as fake:
        settings = json.dumps(fake.settings())
        print(f"Fake Flemish address register on {fake.url} (mode {fake.mode}).")
        print("Point regiohub at it (every process: serve and worker):")
        print("  REGIOHUB_GEOCODER=vlaanderen")
        print(f"  REGIOHUB_GEOCODER_SETTINGS='{settings}'")
        print("Addresses it knows:")
        for address in ADDRESSES:
            print(f"  {address.label}  ({address.latitude}, {address.longitude})")
        print("Ctrl+C stops it.", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
