"""Duplicate suggestions: which other reports are probably about the same problem.

A candidate must be recent (``MELDPUNT_DUPLICATE_DAYS``), of the same municipality and of
the same or a related subject. Among those, a score in [0, 1] weighs how near, how close in
time, how similar the subject and how similar the words are. ``bench/meldpunt_duplicates.py``
measures the precision and recall of :data:`THRESHOLD` on a generated set with known
duplicates.

"How near" is measured only between two points that mark the place (the map, a confirmed
photo position, an address found in the register): within ``MELDPUNT_DUPLICATE_RADIUS_M``.
A report filed by address alone sits on its municipality's centre, and a distance from that
point means nothing (two such reports were once "0 m apart" and merged though they were
streets apart). When a place is not known, the typed addresses are compared instead when
both reports have one (a clearly different address rules the pair out); otherwise the
place is "unknown", and the other signals must carry the suggestion on their own, against
the stricter :data:`THRESHOLD_PLACE_UNKNOWN`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from regiohub.core import geo
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.workflow import Status

#: Subjects that are often reported under one another's name.
RELATED: dict[str, frozenset[str]] = {
    "illegal-dumping": frozenset({"waste-collection"}),
    "waste-collection": frozenset({"illegal-dumping"}),
    "pothole": frozenset({"traffic-sign"}),
    "traffic-sign": frozenset({"pothole"}),
}

#: Suggestions at or above this score are shown as likely duplicates.
THRESHOLD = 0.65

#: Without a known place, the time, subject and words (rescaled to [0, 1]) must reach this.
THRESHOLD_PLACE_UNKNOWN = 0.85

#: Two typed addresses less alike than this (trigrams, see :func:`text_similarity`) are
#: different places: "Grote Markt 1" and "Doorniksestraat 45", "Kerkstraat 12" and "14".
ADDRESS_DIFFERENT = 0.3

WEIGHTS = {"distance": 0.35, "time": 0.15, "subject": 0.2, "text": 0.3}


class PlaceSignal:
    """How the places of two reports were compared."""

    DISTANCE = "distance"  # both points mark the place: metres apart
    ADDRESS = "address"  # at least one is approximate; both have a typed address
    UNKNOWN = "unknown"  # nothing to compare: the place plays no part in the score


#: Reports in these states can still take a duplicate (a resolved one may be reopened).
TARGET_STATES = [s for s in Status if s not in (Status.MERGED, Status.CANCELLED)]

_STOPWORDS = frozenset(
    """de het een en of in op aan van voor met bij naar is zijn er al nog niet geen dat die
    deze dit ook maar dan als om te tot uit over onder door al we ik u mijn ons onze hier
    daar wel heel erg the a an and or of to in on at is are le la les un une des et ou du
    au aux est sont pas""".split()  # noqa: SIM905 - a word list reads best as text
)


@dataclass(frozen=True)
class Suggestion:
    report: Report
    score: float
    distance_m: float | None  # None unless both places are known (place == "distance")
    hours_apart: float
    same_subject: bool
    text_similarity: float
    place: str = PlaceSignal.DISTANCE
    address_similarity: float | None = None

    @property
    def place_unknown(self) -> bool:
        return self.place == PlaceSignal.UNKNOWN


def words(text: str) -> frozenset[str]:
    """Meaningful words, lower case, accents folded; short Dutch compounds stay whole."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return frozenset(
        w for w in re.findall(r"[a-z0-9]+", folded) if len(w) > 2 and w not in _STOPWORDS
    )


def _trigrams(word_set: frozenset[str]) -> frozenset[str]:
    grams: set[str] = set()
    for word in word_set:
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def _numbers(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\d+", text))


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of character trigrams of the meaningful words: robust to Dutch
    compounds and inflection ("fietspad" / "fietspaden", "straatlamp" / "lamp").

    House numbers, pole numbers and bus stops tell problems apart: when both texts name
    numbers and none is shared, the similarity is cut to a quarter."""
    ga, gb = _trigrams(words(a)), _trigrams(words(b))
    if not ga or not gb:
        return 0.0
    similarity = len(ga & gb) / len(ga | gb)
    na, nb = _numbers(a), _numbers(b)
    if na and nb and not (na & nb):
        similarity /= 4
    return similarity


def score(
    distance_m: float | None,
    hours_apart: float,
    same_subject: bool,
    similarity: float,
    *,
    nearness: float | None = None,
) -> float:
    """The score of a pair. The place counts through ``distance_m`` (metres between two
    known places) or ``nearness`` (in [0, 1], from comparing typed addresses); with neither,
    the place is unknown and the other signals are rescaled to [0, 1] (compare with
    :data:`THRESHOLD_PLACE_UNKNOWN`)."""
    radius = settings.MELDPUNT_DUPLICATE_RADIUS_M
    period_h = settings.MELDPUNT_DUPLICATE_DAYS * 24
    recent = math.exp(-3 * hours_apart / period_h)
    # Texts of real duplicates rarely share more than half their trigrams: scale up.
    text = min(1.0, similarity * 2.5)
    rest = (
        WEIGHTS["time"] * recent
        + WEIGHTS["subject"] * (1.0 if same_subject else 0.4)
        + WEIGHTS["text"] * text
    )
    if distance_m is not None:
        nearness = max(0.0, 1 - distance_m / radius)
    if nearness is None:
        return round(rest / (1 - WEIGHTS["distance"]), 3)
    return round(WEIGHTS["distance"] * nearness + rest, 3)


def candidates(report: Report, queryset: QuerySet[Report]) -> QuerySet[Report]:
    """Reports of the same or a related subject, in the same municipality and period, that
    could be in the same place: near ``report``'s point when both places are known, anywhere
    in the municipality when one of them is approximate."""
    period = timedelta(days=settings.MELDPUNT_DUPLICATE_DAYS)
    codes = {report.category.code, *RELATED.get(report.category.code, ())}
    found = queryset.filter(
        organisation_id=report.organisation_id,
        category__code__in=sorted(codes),
        status__in=TARGET_STATES,
        created_at__range=(report.created_at - period, report.created_at + period),
    )
    if report.place_known:
        lat_min, lat_max, lon_min, lon_max = geo.bounding_box(
            report.latitude, report.longitude, settings.MELDPUNT_DUPLICATE_RADIUS_M
        )
        found = found.filter(
            Q(location_is_approximate=True)
            | Q(latitude__range=(lat_min, lat_max), longitude__range=(lon_min, lon_max))
        )
    return found.exclude(pk=report.pk).select_related("category")


def within_radius(report: Report, queryset: QuerySet[Report]) -> list[tuple[float, Report]]:
    """The candidates whose known place really lies within the radius of ``report``'s known
    place, nearest first, with their distance in metres. Empty when ``report``'s place is
    not known: no distance is measured from a municipality's centre."""
    if not report.place_known:
        return []
    found = []
    for other in candidates(report, queryset).filter(location_is_approximate=False)[:200]:
        distance = geo.distance_m(
            report.latitude, report.longitude, other.latitude, other.longitude
        )
        if distance <= settings.MELDPUNT_DUPLICATE_RADIUS_M:
            found.append((distance, other))
    found.sort(key=lambda pair: pair[0])
    return found


def address_similarity(a: str, b: str) -> float:
    """How alike two typed addresses are (0 when either is empty): the words' trigrams,
    and different house numbers make them different places."""
    return text_similarity(a, b) if a.strip() and b.strip() else 0.0


def _place(a: Any, b: Any, a_known: bool, b_known: bool) -> tuple[str, float | None, float] | None:
    """How the places of two reports compare: (signal, metres apart, address similarity),
    or None when they cannot be the same place (too far apart, clearly other addresses)."""
    if a_known and b_known:
        distance = geo.distance_m(a.latitude, a.longitude, b.latitude, b.longitude)
        if distance > settings.MELDPUNT_DUPLICATE_RADIUS_M:
            return None
        return PlaceSignal.DISTANCE, distance, 0.0
    address_a, address_b = getattr(a, "address", ""), getattr(b, "address", "")
    if address_a.strip() and address_b.strip():
        alike = address_similarity(address_a, address_b)
        if alike < ADDRESS_DIFFERENT:
            return None
        return PlaceSignal.ADDRESS, None, alike
    return PlaceSignal.UNKNOWN, None, 0.0


def _score(place: tuple[str, float | None, float], hours: float, same: bool, words: float) -> float:
    signal, distance, alike = place
    if signal == PlaceSignal.ADDRESS:
        return score(None, hours, same, words, nearness=min(1.0, alike * 1.25))
    return score(distance, hours, same, words)


def compare(report: Report, other: Report) -> Suggestion | None:
    """The suggestion ``other`` is for ``report`` (below the threshold too), or None when
    the two cannot be the same problem (too far apart, clearly different addresses)."""
    place = _place(report, other, report.place_known, other.place_known)
    if place is None:
        return None
    hours = abs((report.created_at - other.created_at).total_seconds()) / 3600
    same = other.category.code == report.category.code
    similarity = text_similarity(report.description, other.description)
    signal, distance, alike = place
    return Suggestion(
        other, _score(place, hours, same, similarity), distance, hours, same,
        round(similarity, 2), signal,
        round(alike, 2) if signal == PlaceSignal.ADDRESS else None,
    )  # fmt: skip


def suggest(report: Report, queryset: QuerySet[Report], limit: int = 5) -> list[Suggestion]:
    """The likely duplicates of ``report`` among ``queryset`` (scope it to what the user
    may see), best first."""
    found = []
    for other in candidates(report, queryset).order_by("-created_at")[:200]:
        suggestion = compare(report, other)
        if suggestion is None:
            continue
        bar = THRESHOLD_PLACE_UNKNOWN if suggestion.place_unknown else THRESHOLD
        if suggestion.score >= bar:
            found.append(suggestion)
    # Known places first at equal scores: they are the better evidence.
    found.sort(key=lambda s: (-s.score, s.place_unknown))
    return found[:limit]


def is_duplicate(a: Any, b: Any) -> bool:
    """For the benchmark: would ``b`` be suggested for ``a``? (plain objects with
    latitude, longitude, created_at, code and description; ``approximate`` and ``address``
    when the place may be unknown). The same rules as :func:`suggest`."""
    if a.code != b.code and b.code not in RELATED.get(a.code, ()):
        return False
    hours = abs((a.created_at - b.created_at).total_seconds()) / 3600
    if hours > settings.MELDPUNT_DUPLICATE_DAYS * 24:
        return False
    place = _place(a, b, not getattr(a, "approximate", False), not getattr(b, "approximate", False))
    if place is None:
        return False
    value = _score(place, hours, a.code == b.code, text_similarity(a.description, b.description))
    bar = THRESHOLD_PLACE_UNKNOWN if place[0] == PlaceSignal.UNKNOWN else THRESHOLD
    return value >= bar
