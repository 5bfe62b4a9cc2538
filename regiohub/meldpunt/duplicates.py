"""Duplicate suggestions: which other reports are probably about the same problem.

A candidate must be near (``MELDPUNT_DUPLICATE_RADIUS_M``), recent
(``MELDPUNT_DUPLICATE_DAYS``), of the same municipality and of the same or a related
subject. Among those, a score in [0, 1] weighs how near, how close in time, how similar
the subject and how similar the words are. ``bench/meldpunt_duplicates.py`` measures the
precision and recall of :data:`THRESHOLD` on a generated set with known duplicates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

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

WEIGHTS = {"distance": 0.35, "time": 0.15, "subject": 0.2, "text": 0.3}

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
    distance_m: float
    hours_apart: float
    same_subject: bool
    text_similarity: float


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


def score(distance_m: float, hours_apart: float, same_subject: bool, similarity: float) -> float:
    radius = settings.MELDPUNT_DUPLICATE_RADIUS_M
    period_h = settings.MELDPUNT_DUPLICATE_DAYS * 24
    near = max(0.0, 1 - distance_m / radius)
    recent = math.exp(-3 * hours_apart / period_h)
    # Texts of real duplicates rarely share more than half their trigrams: scale up.
    text = min(1.0, similarity * 2.5)
    return round(
        WEIGHTS["distance"] * near
        + WEIGHTS["time"] * recent
        + WEIGHTS["subject"] * (1.0 if same_subject else 0.4)
        + WEIGHTS["text"] * text,
        3,
    )


def candidates(report: Report, queryset: QuerySet[Report]) -> QuerySet[Report]:
    """Reports near ``report`` in space and time, of the same or a related subject."""
    period = timedelta(days=settings.MELDPUNT_DUPLICATE_DAYS)
    lat_min, lat_max, lon_min, lon_max = geo.bounding_box(
        report.latitude, report.longitude, settings.MELDPUNT_DUPLICATE_RADIUS_M
    )
    codes = {report.category.code, *RELATED.get(report.category.code, ())}
    return (
        queryset.filter(
            organisation_id=report.organisation_id,
            category__code__in=sorted(codes),
            status__in=TARGET_STATES,
            latitude__range=(lat_min, lat_max),
            longitude__range=(lon_min, lon_max),
            created_at__range=(report.created_at - period, report.created_at + period),
        )
        .exclude(pk=report.pk)
        .select_related("category")
    )


def within_radius(report: Report, queryset: QuerySet[Report]) -> list[tuple[float, Report]]:
    """The candidates that really lie within the radius, nearest first, with their
    distance in metres."""
    found = []
    for other in candidates(report, queryset)[:200]:
        distance = geo.distance_m(
            report.latitude, report.longitude, other.latitude, other.longitude
        )
        if distance <= settings.MELDPUNT_DUPLICATE_RADIUS_M:
            found.append((distance, other))
    found.sort(key=lambda pair: pair[0])
    return found


def suggest(report: Report, queryset: QuerySet[Report], limit: int = 5) -> list[Suggestion]:
    """The likely duplicates of ``report`` among ``queryset`` (scope it to what the user
    may see), best first."""
    found = []
    for distance, other in within_radius(report, queryset):
        hours = abs((report.created_at - other.created_at).total_seconds()) / 3600
        same = other.category.code == report.category.code
        similarity = text_similarity(report.description, other.description)
        value = score(distance, hours, same, similarity)
        if value >= THRESHOLD:
            found.append(Suggestion(other, value, distance, hours, same, round(similarity, 2)))
    found.sort(key=lambda s: -s.score)
    return found[:limit]


def is_duplicate(a: Any, b: Any) -> bool:
    """For the benchmark: would ``b`` be suggested for ``a``? (plain objects with
    latitude, longitude, created_at, code and description)."""
    if a.code != b.code and b.code not in RELATED.get(a.code, ()):
        return False
    distance = geo.distance_m(a.latitude, a.longitude, b.latitude, b.longitude)
    hours = abs((a.created_at - b.created_at).total_seconds()) / 3600
    if distance > settings.MELDPUNT_DUPLICATE_RADIUS_M:
        return False
    if hours > settings.MELDPUNT_DUPLICATE_DAYS * 24:
        return False
    similarity = text_similarity(a.description, b.description)
    return score(distance, hours, a.code == b.code, similarity) >= THRESHOLD
