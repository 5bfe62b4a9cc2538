"""The public map of open reports: what the public may see of a report, and the questions
the map and its list ask (views/public_map.py serves them, ADR 0035).

Shown, and nothing else: the reference, the subject, the street without its house number,
the municipality, the status, the day it was filed, and the place. Never the description
or any other free text, photos, anything about the reporter or the handling, or a house
number. Only open reports whose place is known, of subjects on the map
(``Category.is_public_on_map``). A subject with ``map_generalise_m`` shows, instead of the
place, the centre of the Lambert 72 grid square of that many metres the place lies in, and
no street; its clusters are counted from those centres too, so that no answer says more
about the place than the square.

The subjects and municipalities, and the places of the open reports on the map, are read
at most every ``MELDPUNT_MAP_CACHE_SECONDS`` per process (:func:`catalogue`,
:func:`points`); the views keep whole answers as long.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from regiohub.core import geo
from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt.models import Category, Report
from regiohub.meldpunt.models.report import MAP_STATUSES
from regiohub.meldpunt.workflow import Status

#: The page cap of the JSON: a view with more reports is answered with clusters.
MAX_POINTS = 500
#: Clusters across a view at most (columns and rows): at most 22 x 22 = 484 clusters.
MAX_CELLS = 22
#: A cluster cell is this many screen pixels wide at the view's zoom.
CELL_PX = 64
#: The list: reports per page, and how deep it pages before asking for a filter.
PAGE_SIZE = 25
MAX_PAGE = 100
#: On a web map a degree of latitude looks 1/cos(latitude) times as long as a degree of
#: longitude: at the region's latitude this makes square cells.
LAT_PER_LON = math.cos(math.radians(50.8))

#: The partial index ``report_open_map`` spelled as its own condition: SQLite uses a
#: partial index only for a query that repeats its terms, constants included.
OPEN_KNOWN_SQL = (
    'NOT "meldpunt_report"."location_is_approximate" AND "meldpunt_report"."status" IN ('
    + ", ".join(f"'{status}'" for status in MAP_STATUSES)
    + ")"
)
if not all(re.fullmatch(r"[a-z_]+", status) for status in MAP_STATUSES):  # pragma: no cover
    raise RuntimeError("a status that cannot be written into SQL as it is")

_REFERENCE = re.compile(r"[A-Z]{3}-[0-9]{4}-[0-9]{6}", re.ASCII)


def cache_seconds() -> int:
    return max(0, int(settings.MELDPUNT_MAP_CACHE_SECONDS))


# --- The street of an address -------------------------------------------------------------

#: Words a Flemish street name ends with, and French ones it starts with. An address whose
#: parts do not look like a street (free text such as "at Jan's, next to the bakery") shows
#: no street at all.
_STREET_ENDINGS = (
    "straat", "straatje", "laan", "weg", "wegel", "plein", "pleintje", "markt", "dreef",
    "kaai", "kade", "lei", "dijk", "pad", "hof", "park", "singel", "baan", "ring", "vest",
    "wal", "gracht", "veld", "berg", "hoek", "kouter", "akker", "meers", "dries", "wijk",
    "erf", "plaats", "poort", "brug", "dam", "oever", "reke", "gang", "steeg", "hoeve",
)  # fmt: skip
_STREET_STARTS = frozenset({
    "rue", "avenue", "place", "chaussée", "boulevard", "chemin", "drève", "quai", "allée",
    "impasse", "clos", "square", "sentier", "ruelle", "route",
})  # fmt: skip
_PARTICLES = frozenset({
    "de", "den", "der", "des", "het", "ten", "ter", "van", "von", "'t", "la", "le", "les",
    "du", "d'", "l'", "sur", "aux",
})  # fmt: skip
_NUMBER_WORDS = frozenset({"nr", "nr.", "no", "no.", "n°", "nummer"})
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


def street_of(address: str) -> str:
    """The street of ``address`` without house number, box or postcode ("Kerkstraat" for
    "Kerkstraat 12A bus 3, 8500 Kortrijk"), or "" when no part of it looks like a street
    name. People type the address: anything else in it is never shown."""
    for part in address.split(",")[:3]:
        words = re.split(r"\d", part, maxsplit=1)[0].split()
        while words and words[-1].lower() in _NUMBER_WORDS:
            words.pop()
        if not 1 <= len(words) <= 6 or len(" ".join(words)) > 60:
            continue
        if not all(_WORD.fullmatch(w) and (w[0].isupper() or w.lower() in _PARTICLES)
                   for w in words):  # fmt: skip
            continue
        last, first = words[-1].lower(), words[0].lower()
        if last.endswith(_STREET_ENDINGS) or (
            first in _STREET_STARTS and len(words) > 1 and last not in _PARTICLES
        ):
            return " ".join(words)
    return ""


def generalise(latitudes: Any, longitudes: Any, metres: float) -> tuple[np.ndarray, np.ndarray]:
    """The centres of the Lambert 72 grid squares of ``metres`` that the points lie in
    (arrays in, arrays out; 6 decimals, as a map sends them)."""
    x, y = geo.from_wgs84(np.asarray(latitudes, float), np.asarray(longitudes, float))
    x = (np.floor(np.asarray(x) / metres) + 0.5) * metres
    y = (np.floor(np.asarray(y) / metres) + 0.5) * metres
    lat, lon = geo.to_wgs84(x, y)
    return np.round(np.asarray(lat), 6), np.round(np.asarray(lon), 6)


# --- Subjects and municipalities -----------------------------------------------------------


def _language() -> str:
    return (get_language() or "nl")[:2]


@dataclass(frozen=True)
class Subject:
    """A category on the map."""

    id: int
    code: str
    names: dict[str, str]  # by language; "nl" always filled in
    metres: int  # 0: the place as reported
    active: bool

    @property
    def name(self) -> str:
        return self.names.get(_language()) or self.names["nl"]


@dataclass(frozen=True)
class Municipality:
    id: int
    code: str
    names: dict[str, str]

    @property
    def name(self) -> str:
        return self.names.get(_language()) or self.names["nl"]


@dataclass(frozen=True)
class Catalogue:
    """The subjects on the map and the municipalities, as read at ``read_at``."""

    subjects: dict[int, Subject]
    municipalities: dict[int, Municipality]
    read_at: float

    def subject_ids(self, code: str = "") -> list[int]:
        return sorted(pk for pk, s in self.subjects.items() if not code or s.code == code)

    def municipality_id(self, code: str) -> int | None:
        return next((pk for pk, m in self.municipalities.items() if m.code == code), None)

    def subject_choices(self) -> list[tuple[str, str]]:
        """One choice per subject code, in the wording of its first municipality."""
        names: dict[str, str] = {}
        for subject in self.subjects.values():
            names.setdefault(subject.code, subject.name)
        return sorted(names.items(), key=lambda item: item[1].lower())

    def municipality_choices(self) -> list[tuple[str, str]]:
        found = [(m.code, m.name) for m in self.municipalities.values()]
        return sorted(found, key=lambda item: item[1].lower())


_catalogue: Catalogue | None = None
_lock = threading.Lock()


def catalogue() -> Catalogue:
    """The subjects on the map and the municipalities, read again when older than
    ``MELDPUNT_MAP_CACHE_SECONDS`` (a category taken off the map disappears within it)."""
    global _catalogue
    kept = _catalogue
    if kept is not None and time.monotonic() - kept.read_at < cache_seconds():
        return kept
    subjects = {
        pk: Subject(pk, code, {"nl": nl, "fr": fr, "en": en}, metres, active)
        for pk, code, nl, fr, en, metres, active in Category.objects.filter(is_public_on_map=True)
        .order_by("organisation__name", "pk")
        .values_list("pk", "code", "name", "name_fr", "name_en", "map_generalise_m", "is_active")
    }
    municipalities = {
        pk: Municipality(pk, code, {"nl": nl, "fr": fr})
        for pk, code, nl, fr in Organisation.objects.filter(
            kind=OrganisationKind.MUNICIPALITY
        ).values_list("pk", "code", "name", "name_fr")
    }
    fresh = Catalogue(subjects, municipalities, time.monotonic())
    with _lock:
        _catalogue = fresh
    return fresh


def forget() -> None:
    """Read the subjects and municipalities again at the next question."""
    global _catalogue, _points
    with _lock:
        _catalogue = None
        _points = None


# --- Reports as the public sees them --------------------------------------------------------


def open_on_map(subject_ids: list[int]) -> QuerySet[Report]:
    """Open reports with a known place, of the given subjects (on the map)."""
    return (
        Report.objects.filter(category_id__in=subject_ids)
        .extra(where=[OPEN_KNOWN_SQL])  # noqa: S610 - constants only, see OPEN_KNOWN_SQL
        .order_by()
    )


def placed_on_map(subject_ids: list[int]) -> QuerySet[Report]:
    """Every report with a known place, of the given subjects, whatever became of it
    (open, resolved, closed, forwarded), but not the duplicates merged into another and
    the cancelled ones: what counts per district and period on a public map over time."""
    from regiohub.meldpunt.workflow import Status

    return (
        Report.objects.filter(category_id__in=subject_ids, location_is_approximate=False)
        .exclude(status__in=[Status.MERGED, Status.CANCELLED])
        .order_by()
    )


def _age(reported: date, today: date) -> str:
    days = (today - reported).days
    if days <= 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}


@dataclass(frozen=True)
class PublicReport:
    """One open report as the public sees it: everything the map and the list show."""

    reference: str
    subject_code: str
    subject: str
    street: str
    municipality: str
    status: str
    status_label: str
    reported: date
    reported_label: str
    age: str
    latitude: float
    longitude: float
    blurred: bool
    can_join: bool

    @property
    def place(self) -> str:
        """The street and municipality, or the municipality alone."""
        if not self.street:
            return self.municipality
        return _("%(street)s, %(municipality)s") % {
            "street": self.street,
            "municipality": self.municipality,
        }

    @property
    def me_too_url(self) -> str:
        """The report form, set to join this report ("me too")."""
        return f"{reverse('meldpunt:report')}?{urlencode({'same_as': self.reference})}"

    def feature(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [self.longitude, self.latitude]},
            "properties": {
                "reference": self.reference,
                "subject": self.subject,
                "street": self.street,
                "municipality": self.municipality,
                "place": self.place,
                "status": self.status,
                "status_label": self.status_label,
                "reported": self.reported.isoformat(),
                "reported_label": self.reported_label,
                "age": self.age,
                "blurred": self.blurred,
                "me_too": self.me_too_url if self.can_join else None,
            },
        }


#: The columns a public report is made of: nothing else is read.
ROW = ("reference", "latitude", "longitude", "address", "status", "created_at",
       "category_id", "organisation_id")  # fmt: skip


def public_reports(rows: list[tuple[Any, ...]], known: Catalogue) -> list[PublicReport]:
    """:data:`ROW` tuples as the public may see them: blurred places moved to the centre
    of their square (one projection per size of square), streets without numbers."""
    places = [(row[1], row[2]) for row in rows]
    by_metres: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        if metres := known.subjects[row[6]].metres:
            by_metres.setdefault(metres, []).append(i)
    for metres, indexes in by_metres.items():
        lats, lons = generalise([rows[i][1] for i in indexes], [rows[i][2] for i in indexes],
                                metres)  # fmt: skip
        for i, lat, lon in zip(indexes, lats.tolist(), lons.tolist(), strict=True):
            places[i] = (lat, lon)
    now = timezone.now()
    today = timezone.localdate(now)
    join_since = now - timedelta(days=settings.MELDPUNT_DUPLICATE_DAYS)
    # Words that many reports share are made once per answer, not once per report.
    statuses: dict[str, str] = {}
    days: dict[date, tuple[str, str]] = {}
    found = []
    for (reference, _lat, _lon, address, status, created, subject_id, org_id), place in zip(
        rows, places, strict=True
    ):
        subject = known.subjects[subject_id]
        municipality = known.municipalities.get(org_id)
        reported = timezone.localdate(created)
        if reported not in days:
            days[reported] = (date_format(reported, "j F Y"), _age(reported, today))
        if status not in statuses:
            statuses[status] = str(Status(status).label)
        found.append(
            PublicReport(
                reference=reference,
                subject_code=subject.code,
                subject=subject.name,
                street="" if subject.metres else street_of(address),
                municipality=municipality.name if municipality else "",
                status=status,
                status_label=statuses[status],
                reported=reported,
                reported_label=days[reported][0],
                age=days[reported][1],
                latitude=round(place[0], 6),
                longitude=round(place[1], 6),
                blurred=bool(subject.metres),
                # "Me too" merges into the report only within the duplicate period.
                can_join=subject.active and created >= join_since,
            )
        )
    return found


# --- The list -------------------------------------------------------------------------------


def list_page(*, municipality: str = "", category: str = "", page: int = 1) -> Page:
    """One page of the list, newest first (its ``object_list``: :class:`PublicReport`);
    beyond the last page, the last page."""
    known = catalogue()
    found = open_on_map(known.subject_ids(category))
    if municipality:
        found = found.filter(organisation_id=known.municipality_id(municipality))
    # Counted region-wide through report_open_map (an always-true range lets SQLite use it:
    # otherwise it reads every open report's row), per municipality through its index on
    # (organisation, status); paged through report_open_recent.
    count = (found if municipality else found.filter(latitude__range=(-90, 90))).count()
    result = Paginator(range(count), PAGE_SIZE).get_page(page)
    first = (result.number - 1) * PAGE_SIZE
    rows = found.order_by("-created_at", "-id").values_list(*ROW)[first : first + PAGE_SIZE]
    result.object_list = public_reports(list(rows), known)
    return result


def joinable(reference: str) -> PublicReport | None:
    """The report ``reference`` as the map shows it, when a citizen may still say "me
    too" to it from the map; else None (not on the map, finished, or too old to join)."""
    if not _REFERENCE.fullmatch(reference or ""):
        return None
    known = catalogue()
    rows = list(open_on_map(known.subject_ids()).filter(reference=reference).values_list(*ROW))
    shown = public_reports(rows, known)
    return shown[0] if shown and shown[0].can_join else None


# --- The map: a view's reports or clusters ---------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A view snapped outward to whole cluster cells (degrees)."""

    west: float
    south: float
    east: float
    north: float
    cell_lon: float
    cell_lat: float

    @classmethod
    def of(cls, bbox: tuple[float, float, float, float], zoom: int) -> Grid:
        """Cells of :data:`CELL_PX` pixels at ``zoom``, twice as wide as often as needed
        to keep at most :data:`MAX_CELLS` across the view either way."""
        west, south, east, north = bbox
        cell_lon = 360 / 2**zoom * CELL_PX / 256
        while (east - west) / cell_lon > MAX_CELLS or (north - south) / (
            cell_lon * LAT_PER_LON
        ) > MAX_CELLS:
            cell_lon *= 2
        cell_lat = cell_lon * LAT_PER_LON
        return cls(
            max(-180.0, math.floor(west / cell_lon) * cell_lon),
            max(-90.0, math.floor(south / cell_lat) * cell_lat),
            min(180.0, math.ceil(east / cell_lon) * cell_lon),
            min(90.0, math.ceil(north / cell_lat) * cell_lat),
            cell_lon,
            cell_lat,
        )

    def inside(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        return (
            math.floor((lat - self.south) / self.cell_lat),
            math.floor((lon - self.west) / self.cell_lon),
        )


@dataclass(frozen=True)
class Points:
    """Every open report on the map as arrays: its id, where the map shows it (a blurred
    place at its square's centre), its subject and municipality; read at ``read_at``
    (monotonic) from the reports as they were at ``since`` (database time), fully at
    ``full_at``, for the subjects of ``subjects``."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    subject: np.ndarray
    municipality: np.ndarray
    read_at: float
    since: datetime
    full_at: float
    subjects: tuple[tuple[int, int], ...]


#: Reports changed this long before the last read are read again: a change saved just
#: before a read may commit just after it.
POINTS_MARGIN = timedelta(minutes=2)
#: Read everything again this often (and when more than POINTS_CHANGED_MAX changed): what
#: a change without ``updated_at`` (a hand-made SQL fix) left behind is gone by then.
POINTS_FULL_SECONDS = 600
POINTS_CHANGED_MAX = 5_000

_points: Points | None = None
_POINT_ROW = ("pk", "latitude", "longitude", "category_id", "organisation_id")


def _arrays(rows: list[tuple[Any, ...]], known: Catalogue) -> tuple[np.ndarray, ...]:
    table = np.array(rows, dtype=float).reshape(-1, 5)
    ids, subject, municipality = (table[:, i].astype(np.int64) for i in (0, 3, 4))
    lat, lon = table[:, 1].copy(), table[:, 2].copy()
    metres = np.array([known.subjects[int(pk)].metres or 0 for pk in subject], dtype=float)
    for size in sorted(set(metres.tolist()) - {0.0}):
        blurred = metres == size
        lat[blurred], lon[blurred] = generalise(lat[blurred], lon[blurred], size)
    return ids, lat, lon, subject, municipality


def points(known: Catalogue) -> Points:
    """The map's open reports, kept per process: after the first read (one narrow read of
    the partial index: ~65,000 rows at a million reports) only the reports changed since
    (``updated_at``, indexed) are read again, at most every ``MELDPUNT_MAP_CACHE_SECONDS``.
    Every view is then counted and clustered in memory instead of by a GROUP BY."""
    global _points
    kept = _points
    moment = time.monotonic()
    if kept is not None and moment - kept.read_at < cache_seconds():
        return kept
    subjects = tuple(sorted((pk, s.metres or 0) for pk, s in known.subjects.items()))
    since = timezone.now()
    changed: list[int] = []
    if (
        kept is not None
        and kept.subjects == subjects
        and moment - kept.full_at < (POINTS_FULL_SECONDS)
    ):
        changed = list(
            Report.objects.filter(updated_at__gte=kept.since - POINTS_MARGIN)
            .order_by()
            .values_list("pk", flat=True)[: POINTS_CHANGED_MAX + 1]
        )
    if (
        kept is None
        or kept.subjects != subjects
        or len(changed) > POINTS_CHANGED_MAX
        or (moment - kept.full_at >= POINTS_FULL_SECONDS)
    ):
        rows = list(open_on_map(known.subject_ids()).values_list(*_POINT_ROW))
        fresh = Points(*_arrays(rows, known), moment, since, moment, subjects)
    else:
        rows = list(
            open_on_map(known.subject_ids()).filter(pk__in=changed).values_list(*_POINT_ROW)
        )
        keep = ~np.isin(kept.ids, np.asarray(changed, dtype=np.int64))
        parts = zip(
            (kept.ids, kept.lat, kept.lon, kept.subject, kept.municipality),
            _arrays(rows, known),
            strict=True,
        )
        merged = [np.concatenate([old[keep], new]) for old, new in parts]
        fresh = Points(*merged, moment, since, kept.full_at, subjects)
    with _lock:
        _points = fresh
    return fresh


def answer(
    bbox: tuple[float, float, float, float],
    zoom: int,
    *,
    municipality: str = "",
    category: str = "",
) -> dict[str, Any]:
    """The open reports in the view (WGS84 west, south, east, north) as GeoJSON: each one
    when there are at most :data:`MAX_POINTS`, else clusters on a :class:`Grid`.

    The view is counted and clustered in memory (:func:`points`): a view of few reports
    then reads theirs, as they are now, by id."""
    known = catalogue()
    grid = Grid.of(bbox, zoom)
    found = points(known)
    mask = np.isin(found.subject, known.subject_ids(category))
    if municipality:
        mask &= found.municipality == (known.municipality_id(municipality) or -1)
    mask &= (found.lat >= grid.south) & (found.lat <= grid.north)
    mask &= (found.lon >= grid.west) & (found.lon <= grid.east)
    total = int(np.count_nonzero(mask))
    clustered = total > MAX_POINTS
    if clustered:
        features = _cluster_features(grid, _cells(grid, found.lat[mask], found.lon[mask]))
    elif total:
        rows = list(
            open_on_map(known.subject_ids(category))
            .filter(pk__in=found.ids[mask].tolist())
            .values_list(*ROW)
        )
        shown = [r for r in public_reports(rows, known) if grid.inside(r.latitude, r.longitude)]
        features = [r.feature() for r in shown[:MAX_POINTS]]
    else:
        features = []
    return {
        "type": "FeatureCollection",
        "clustered": clustered,
        "count": total,
        "bbox": [grid.west, grid.south, grid.east, grid.north],
        "features": features,
    }


def _cells(grid: Grid, lat: np.ndarray, lon: np.ndarray) -> dict[tuple[int, int], list[float]]:
    """(count, sum of latitudes, sum of longitudes) per grid cell of the places (in the
    grid: at most MAX_CELLS + 1 cells either way), one ``bincount`` each."""
    cy = np.floor((lat - grid.south) / grid.cell_lat).astype(np.int64)
    cx = np.floor((lon - grid.west) / grid.cell_lon).astype(np.int64)
    width = int(cx.max()) + 1
    key = cy * width + cx
    counts = np.bincount(key)
    lats = np.bincount(key, weights=lat)
    lons = np.bincount(key, weights=lon)
    return {
        divmod(int(k), width): [int(counts[k]), float(lats[k]), float(lons[k])]
        for k in np.flatnonzero(counts)
    }


def _cluster_features(
    grid: Grid, cells: dict[tuple[int, int], list[float]]
) -> list[dict[str, Any]]:
    features = []
    for (cy, cx), (n, sum_lat, sum_lon) in sorted(cells.items()):
        south = grid.south + cy * grid.cell_lat
        west = grid.west + cx * grid.cell_lon
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(sum_lon / n, 6), round(sum_lat / n, 6)],
                },
                "properties": {
                    "cluster": True,
                    "count": int(n),
                    "bounds": [
                        round(west, 6),
                        round(south, 6),
                        round(west + grid.cell_lon, 6),
                        round(south + grid.cell_lat, 6),
                    ],
                },
            }
        )
    return features
