"""Reports per district as a map: a choropleth drawn on the server as SVG, fast enough to
draw every frame of a timelapse.

The districts' shapes are read once per process (:func:`shapes`, a ``core.snapshot``
rebuilt when a district or an organisation is saved), projected to Belgian Lambert 72 and
simplified as one coverage (neighbours keep their shared border: no slivers between
districts), and written as SVG path data once. A frame is then string joining: no
geometry and no vl-convert (20-45 ms a chart), about a millisecond for the region's 116
districts. Colours come from one hue, in classes (:func:`bins_for`) fixed across all frames
of a timelapse so that a colour means the same count in every frame; districts with no
reports and districts whose count is suppressed look different from every class (white;
a grey hatch). Colour never carries a number alone: each district's ``<title>``, the
legend and the table beside the map (:meth:`Timelapse.table`) give the numbers.

The page's script recolours a rendered map frame by frame from :func:`frames_json`,
through each district's ``data-code``, without asking the server again.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import shapely
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from shapely.geometry import shape

from regiohub.core import geo
from regiohub.core.models import District, Organisation
from regiohub.core.snapshot import Snapshot
from regiohub.dashboards.summaries import number
from regiohub.meldpunt.queries import DistrictCount

__all__ = [
    "CLASS_FILLS",
    "DistrictShape",
    "Shapes",
    "TableRow",
    "Timelapse",
    "bins_for",
    "changed",
    "frames_json",
    "render_map",
    "reset",
    "shapes",
    "timelapse",
]

#: Coverage simplification (Visvalingam-Whyatt): drops corners whose triangle is smaller
#: than about this many metres squared, which removes about as much as a 20 m
#: Douglas-Peucker does (~40 % of the points), while keeping shared borders shared. A
#: region-wide map draws ~80 m per pixel.
SIMPLIFY_M = 60
#: Without a valid coverage (overlapping districts): each district on its own, 20 m.
SIMPLIFY_ALONE_M = 20
#: Path coordinates are whole decametres: short path data, ten times finer than a pixel.
UNIT_M = 10
#: The map's width in SVG units (CSS pixels at natural size); its height follows the
#: shape, at most 1.25 times the width (a municipality zoomed in).
WIDTH = 480
MAX_HEIGHT = 600
MARGIN = 8
#: Five classes of one hue (ColorBrewer "Blues" of six without its lightest), darker is
#: more. The lightest still differs from white ("no reports") and from the hatch.
CLASS_FILLS = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NO_REPORTS_FILL = "#ffffff"
SUPPRESSED_FILL = "#e6e6e6"
HATCH_STROKE = "#595959"
DISTRICT_STROKE = "#767676"  # 4.5:1 on white: a district's edge is seen on every fill
MUNICIPALITY_STROKE = "#1a1a1a"
TEXT_FILL = "#1a1a1a"
FONT_SIZE = 13
LEGEND_ROW = 22
LEGEND_COLUMNS = 1  # one column: a French or long label keeps its room on a phone


# --- Shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictShape:
    """One district as drawn: SVG path data in decametres (x east, y south), and its box
    ``(min x, min y, max x, max y)`` in the same units."""

    code: str
    name: str
    municipality: str
    path: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Shapes:
    """Every district with a boundary, by code (sorted), the outline of each municipality
    (the union of its districts) by organisation code, and the box of the whole region."""

    districts: dict[str, DistrictShape]
    municipalities: dict[str, str]
    box: tuple[int, int, int, int]

    @property
    def view_box(self) -> str:
        """The region's SVG ``viewBox`` in path units."""
        x0, y0, x1, y1 = self.box
        return f"{x0} {y0} {x1 - x0} {y1 - y0}"

    def box_of(self, codes: Iterable[str]) -> tuple[int, int, int, int]:
        boxes = np.array([self.districts[c].box for c in codes])
        return (
            int(boxes[:, 0].min()),
            int(boxes[:, 1].min()),
            int(boxes[:, 2].max()),
            int(boxes[:, 3].max()),
        )


def _polygons(geometry: Any) -> list[Any]:
    """The polygons in a geometry (a repaired boundary may also hold lines or points)."""
    if geometry.geom_type == "Polygon":
        return [] if geometry.is_empty else [geometry]
    return [p for part in getattr(geometry, "geoms", ()) for p in _polygons(part)]


def _path(geometry: Any) -> str:
    """SVG path data of a (multi)polygon: each ring an absolute move, then relative lines
    between coordinates rounded first (no drift), closed."""
    parts = []
    for polygon in _polygons(geometry):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.rint(np.asarray(ring.coords)[:-1]).astype(np.int64)
            if len(xy) < 3:
                continue
            steps = np.diff(xy, axis=0)
            steps = steps[(steps != 0).any(axis=1)]
            moves = " ".join(f"{dx} {dy}" for dx, dy in steps.tolist())
            parts.append(f"M{xy[0, 0]} {xy[0, 1]}l{moves}z")
    return "".join(parts)


def _build() -> Shapes:
    rows = list(
        District.objects.filter(boundary__isnull=False)
        .order_by("code")
        .values_list("code", "name", "organisation__code", "boundary")
    )
    if not rows:
        return Shapes({}, {}, (0, 0, 1, 1))

    def to_units(xy: np.ndarray) -> np.ndarray:
        x, y = geo.from_wgs84(xy[:, 1], xy[:, 0])
        # y grows southwards in SVG: north up.
        return np.column_stack([np.asarray(x) / UNIT_M, -np.asarray(y) / UNIT_M])

    metric = np.array([shapely.transform(shape(row[3]), to_units) for row in rows], dtype=object)
    metric = shapely.make_valid(metric)
    if shapely.coverage_is_valid(metric):
        simple = shapely.coverage_simplify(metric, SIMPLIFY_M / UNIT_M)
    else:
        simple = shapely.simplify(metric, SIMPLIFY_ALONE_M / UNIT_M, preserve_topology=True)
    origin = np.floor(shapely.total_bounds(simple)).astype(np.int64)
    simple = shapely.transform(simple, lambda xy: xy - origin[:2])
    districts = {}
    for (code, name, organisation, _boundary), geometry in zip(rows, simple, strict=True):
        x0, y0, x1, y1 = shapely.bounds(geometry)
        districts[code] = DistrictShape(
            code,
            name,
            organisation,
            _path(geometry),
            (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)),
        )
    by_organisation: dict[str, list[Any]] = defaultdict(list)
    for row, geometry in zip(rows, simple, strict=True):
        by_organisation[row[2]].append(geometry)
    outlines = {code: _path(shapely.union_all(parts)) for code, parts in by_organisation.items()}
    x0, y0, x1, y1 = shapely.total_bounds(simple)
    return Shapes(
        districts, outlines, (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    )


_shapes: Snapshot[Shapes] = Snapshot("dashboards.map_shapes", _build, [District, Organisation])


def shapes() -> Shapes:
    """The districts as drawn, built once per process and again after a district or an
    organisation was saved or deleted (in another process: within seconds). Districts
    loaded in bulk (``load_districts``) send no signal: call :func:`changed` after such a
    load, or restart the workers, as for ``core.geo``."""
    return _shapes.get()


def reset() -> None:
    """Build the shapes again at the next map, in this process (tests)."""
    _shapes.reset()


def changed() -> None:
    """After districts changed in bulk: every process builds its shapes again (from the
    commit on, within seconds)."""
    _shapes.changed()


# --- Classes --------------------------------------------------------------------------------

_NICE = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)


def bins_for(maximum: int, classes: int = len(CLASS_FILLS)) -> tuple[int, ...]:
    """Upper bounds of equal classes of a round width that hold 1 to ``maximum``: at most
    ``classes`` of them, fewer when there are fewer counts than classes (``(1, 2, 3)`` for
    a maximum of 3; ``(8, 16, 24, 32, 40)`` for 37). Empty when there are no reports."""
    if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 0:
        raise ValueError(f"the highest count is a whole number of at least 0: {maximum!r}")
    if not 1 <= classes <= len(CLASS_FILLS):
        raise ValueError(f"between 1 and {len(CLASS_FILLS)} classes")
    if maximum == 0:
        return ()
    wanted = math.ceil(maximum / classes)
    magnitude = 1
    while True:
        # Whole numbers only: 1.5 and 2.5 count from 15 and 25 up.
        fits = [int(m * magnitude) for m in _NICE if (m * magnitude) % 1 == 0]
        step = next((n for n in fits if n >= wanted), 0)
        if step:
            break
        magnitude *= 10
    return tuple(step * i for i in range(1, classes + 1) if step * (i - 1) < maximum)


def _check_bins(bins: Sequence[int]) -> tuple[int, ...]:
    found = tuple(bins)
    if not 1 <= len(found) <= len(CLASS_FILLS):
        raise ValueError(f"give 1 to {len(CLASS_FILLS)} class bounds, not {len(found)}")
    if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in found):
        raise ValueError(f"class bounds are whole numbers of at least 1: {list(found)}")
    if any(b <= a for a, b in itertools.pairwise(found)):
        raise ValueError(f"class bounds must rise: {list(found)}")
    return found


def _class_of(count: int | None, bins: tuple[int, ...]) -> int:
    """-2 suppressed, -1 no reports, else the index of the class."""
    if count is None:
        return -2
    if count == 0:
        return -1
    for index, upper in enumerate(bins):
        if count <= upper:
            return index
    return len(bins) - 1


def _fill(klass: int, hatch: str) -> str:
    if klass == -2:
        return f"url(#{hatch})"
    if klass == -1:
        return NO_REPORTS_FILL
    return CLASS_FILLS[klass]


def _class_name(klass: int) -> str:
    return {-2: "suppressed", -1: "none"}.get(klass, f"c{klass + 1}")


# --- The map --------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _check_counts(counts: Mapping[str, int | None]) -> None:
    if not isinstance(counts, Mapping):
        raise ValueError("counts are a mapping of district code to count")
    for code, count in counts.items():
        if count is None:
            continue
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(
                f"the count of district {code!r} is not a whole number of at least 0: {count!r}"
            )


def render_map(
    counts: Mapping[str, int | None],
    *,
    label: str,
    legend_title: str,
    language: str,
    organisation_codes: set[str] | None = None,
    bins: Sequence[int] | None = None,
    show_suppressed: bool | None = None,
    prefix: str = "district-map",
) -> str:
    """The districts coloured by ``counts`` (district code -> count; ``None`` suppressed,
    0 or absent: no reports), as an SVG image labelled ``label``, with a legend headed
    ``legend_title`` whose numbers are written the way ``language`` writes them.

    ``bins`` are the classes' upper bounds (:func:`bins_for`); a timelapse passes the same
    ones to every frame, else they follow this frame's highest count. ``organisation_codes``
    draws only those municipalities' districts, zoomed in. ``show_suppressed`` puts "too few
    to show" in the legend (by default: when a count is suppressed; a timelapse whose
    later frames suppress says so from the first). ``prefix`` makes the image's ids unique
    when a page holds more than one map. Codes that are not districts with a shape (the
    unknown bucket ``""``) are not drawn.

    Raises ``ValueError`` for a count that is not a whole number, bad class bounds, an
    unknown language or a municipality without districts."""
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValueError(f"unknown language {language!r}")
    if not label.strip() or not legend_title.strip():
        raise ValueError("a map needs a label and a legend title")
    _check_counts(counts)
    found = shapes()
    if organisation_codes is not None:
        unknown = sorted(set(organisation_codes) - set(found.municipalities))
        if unknown or not organisation_codes:
            raise ValueError(
                "no districts for municipality "
                + (", ".join(unknown) if unknown else "(none given)")
            )
        drawn = [d for d in found.districts.values() if d.municipality in organisation_codes]
        outlines = {c: p for c, p in found.municipalities.items() if c in organisation_codes}
    else:
        drawn = list(found.districts.values())
        outlines = found.municipalities
    shown = {d.code: counts.get(d.code, 0) for d in drawn}
    if bins is None:
        classes = bins_for(max((c for c in shown.values() if c is not None), default=0))
    else:
        classes = _check_bins(bins)
    if show_suppressed is None:
        show_suppressed = any(c is None for c in shown.values())
    if not prefix.replace("-", "").isalnum() or not prefix[0].isalpha():
        raise ValueError(f"an id prefix is letters, digits and hyphens: {prefix!r}")
    hatch = f"{prefix}-hatch"
    with translation.override(language):
        return _svg(
            drawn, outlines, found, shown, classes, show_suppressed, label, legend_title,
            language, hatch,
        )  # fmt: skip


def _svg(
    drawn: list[DistrictShape],
    outlines: Mapping[str, str],
    found: Shapes,
    shown: dict[str, int | None],
    bins: tuple[int, ...],
    show_suppressed: bool,
    label: str,
    legend_title: str,
    language: str,
    hatch: str,
) -> str:
    if drawn:
        x0, y0, x1, y1 = found.box_of(d.code for d in drawn)
    else:
        x0, y0, x1, y1 = 0, 0, 1, 1
    scale = min((WIDTH - 2 * MARGIN) / max(1, x1 - x0), (MAX_HEIGHT - 2 * MARGIN) / max(1, y1 - y0))
    map_width, map_height = (x1 - x0) * scale, (y1 - y0) * scale
    dx = MARGIN + (WIDTH - 2 * MARGIN - map_width) / 2 - x0 * scale
    dy = MARGIN - y0 * scale
    legend = _legend(bins, show_suppressed, language, f"{hatch}-key")
    top = math.ceil(map_height + 2 * MARGIN)
    legend_rows = math.ceil(len(legend) / LEGEND_COLUMNS)
    height = top + (legend_rows + 1) * LEGEND_ROW + MARGIN
    # The map's hatch is drawn in its group's (scaled) units, the legend's in pixels: the
    # same 6 px stripes in both.
    size = 6 / scale
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{_e(label)}" '
        f'class="district-map" font-family="system-ui, sans-serif" font-size="{FONT_SIZE}">',
        f"<title>{_e(label)}</title><defs>",
        _hatch(hatch, size),
        _hatch(f"{hatch}-key", 6),
        "</defs>",
        f'<g transform="matrix({scale:.6f} 0 0 {scale:.6f} {dx:.2f} {dy:.2f})" '
        f'stroke="{DISTRICT_STROKE}" stroke-width="{0.6 / scale:.3f}" stroke-linejoin="round" '
        'fill-rule="evenodd">',
    ]
    write = parts.append
    too_few = _("%(district)s: too few reports to show")
    nothing = _("%(district)s: no reports")
    some = _("%(district)s: %(count)s")
    numbers: dict[int, str] = {}
    for district in drawn:
        count = shown[district.code]
        klass = _class_of(count, bins)
        if count is None:
            title = too_few % {"district": district.name}
        elif count == 0:
            title = nothing % {"district": district.name}
        else:
            if count not in numbers:
                numbers[count] = number(count, language)
            title = some % {"district": district.name, "count": numbers[count]}
        write(
            f'<path d="{district.path}" data-code="{_e(district.code)}" '
            f'class="{_class_name(klass)}" fill="{_fill(klass, hatch)}">'
            f"<title>{_e(title)}</title></path>"
        )
    write(
        f'<g fill="none" stroke="{MUNICIPALITY_STROKE}" stroke-width="{1.6 / scale:.3f}" '
        'pointer-events="none" class="municipalities">'
    )
    for code, path in sorted(outlines.items()):
        write(f'<path d="{path}" data-municipality="{_e(code)}"/>')
    write("</g></g>")
    write(
        f'<text x="{MARGIN}" y="{top + 12}" font-weight="bold" fill="{TEXT_FILL}">'
        f"{_e(legend_title)}</text>"
    )
    for index, (fill, text) in enumerate(legend):
        column, row = divmod(index, legend_rows)  # down the first column, then the next
        x = MARGIN + column * (WIDTH - 2 * MARGIN) / LEGEND_COLUMNS
        y = top + LEGEND_ROW * (row + 1)
        write(
            f'<g class="legend-item"><rect x="{x:.0f}" y="{y}" width="18" height="14" '
            f'fill="{fill}" stroke="{DISTRICT_STROKE}"/>'
            f'<text x="{x + 26:.0f}" y="{y + 12}" fill="{TEXT_FILL}">{_e(text)}</text></g>'
        )
    write("</svg>")
    return "".join(parts)


def _hatch(pattern_id: str, size: float) -> str:
    return (
        f'<pattern id="{pattern_id}" width="{size:.3f}" height="{size:.3f}" '
        f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="{size:.3f}" height="{size:.3f}" fill="{SUPPRESSED_FILL}"/>'
        f'<line x1="0" y1="0" x2="0" y2="{size:.3f}" stroke="{HATCH_STROKE}" '
        f'stroke-width="{size / 3:.3f}"/></pattern>'
    )


def _legend(
    bins: tuple[int, ...], show_suppressed: bool, language: str, hatch: str
) -> list[tuple[str, str]]:
    """The legend's (fill, words) items: no reports, each class, and suppressed."""
    items = [(NO_REPORTS_FILL, _("No reports"))]
    lower = 1
    for index, upper in enumerate(bins):
        if lower == upper:
            words = number(upper, language)
        else:
            words = _("%(lower)s to %(upper)s") % {
                "lower": number(lower, language),
                "upper": number(upper, language),
            }
        items.append((CLASS_FILLS[index], words))
        lower = upper + 1
    if show_suppressed:
        items.append((f"url(#{hatch})", _("Too few reports to show")))
    return items


# --- A timelapse ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    """One line of the table beside a frame: a district (``""``: unknown) of a
    municipality, its count (``None``: suppressed) and the change since the previous
    period (``None``: suppressed then or now, or no previous period)."""

    code: str
    district: str
    municipality: str
    count: int | None
    change: int | None


Period = Literal["week", "month"]


def _next(day: date, period: Period) -> date:
    if period == "week":
        return date.fromordinal(day.toordinal() + 7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _start_of(day: date, period: Period) -> date:
    if period == "week":
        return date.fromordinal(day.toordinal() - day.weekday())
    return day.replace(day=1)


class Timelapse:
    """The frames of a reports map over time, from :class:`DistrictCount` cells."""

    def __init__(self, periods: list[date], cells: Mapping[tuple[date, str, str], int | None],
                 names: Mapping[str, str]) -> None:  # fmt: skip
        self.periods = periods
        self._cells = dict(cells)
        self._names = dict(names)
        self._pairs = sorted(
            {(key, municipality) for _period, key, municipality in self._cells},
            key=lambda pair: (pair[0] == "", self._names.get(pair[0], ""), pair),
        )
        self.codes = sorted({key for key, _municipality in self._pairs})
        self._frames = {period: self._frame(period) for period in periods}
        drawn = [
            count
            for frame in self._frames.values()
            for code, count in frame.items()
            if code and count is not None
        ]
        #: The classes of every frame: from the highest count of any district in any frame.
        self.bins = bins_for(max(drawn, default=0))

    def _frame(self, period: date) -> dict[str, int | None]:
        frame: dict[str, int | None] = dict.fromkeys(self.codes, 0)
        for key, municipality in self._pairs:
            count = self._cells.get((period, key, municipality), 0)
            total = frame[key]
            # A district with any suppressed cell shows as suppressed: its sum would
            # reveal the suppressed cell next to the published ones.
            frame[key] = None if count is None or total is None else total + count
        return frame

    def _check(self, period: date) -> None:
        if period not in self._frames:
            raise ValueError(
                f"no frame for {period.isoformat()}: the frames are "
                + (f"{self.periods[0]} to {self.periods[-1]}" if self.periods else "none")
            )

    def frame(self, period: date) -> dict[str, int | None]:
        """Count per district code in ``period`` (0: none; ``None``: suppressed)."""
        self._check(period)
        return dict(self._frames[period])

    @property
    def has_suppressed(self) -> bool:
        return any(count is None for count in self._cells.values())

    def previous(self, period: date) -> date | None:
        """The period before ``period``, or ``None`` for the first."""
        self._check(period)
        index = self.periods.index(period)
        return self.periods[index - 1] if index else None

    def table(self, period: date, previous: date | None) -> list[TableRow]:
        """The frame as rows per district and municipality (every one counted in any
        frame), by district name, the unknown district last; ``change`` against
        ``previous`` (:meth:`previous` for the period before)."""
        self._check(period)
        if previous is not None:
            self._check(previous)
        rows = []
        for key, municipality in self._pairs:
            count = self._cells.get((period, key, municipality), 0)
            before = None if previous is None else self._cells.get((previous, key, municipality), 0)
            change = None if count is None or before is None else count - before
            rows.append(TableRow(key, self._names.get(key, key), municipality, count, change))
        return rows


def timelapse(
    rows: Sequence[DistrictCount],
    *,
    period: Period | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Timelapse:
    """The frames of ``rows`` (from ``meldpunt.queries.district_counts`` or
    ``public_district_counts``). With ``period``, every week or month from the one holding
    ``start`` (else the first row's) to the one holding ``end`` (else the last row's) is a
    frame, also those without reports; without it, only the periods of the rows.

    Raises ``ValueError`` for a row that does not start a ``period``, a row outside
    ``start``..``end``, or the same cell twice."""
    if period is not None and period not in ("week", "month"):
        raise ValueError(f"frames per week or per month, not per {period!r}")
    cells: dict[tuple[date, str, str], int | None] = {}
    names: dict[str, str] = {}
    for row in rows:
        cell = (row.period, row.key, row.municipality)
        if cell in cells:
            raise ValueError(f"the cell {row.period} {row.key!r} {row.municipality} comes twice")
        if period is not None and _start_of(row.period, period) != row.period:
            raise ValueError(f"{row.period} does not start a {period}")
        cells[cell] = None if row.suppressed else row.count
        names.setdefault(row.key, row.label)
    seen = sorted({cell[0] for cell in cells})
    if period is None:
        return Timelapse(seen, cells, names)
    if start is not None and end is not None and end < start:
        raise ValueError("the period ends before it starts")
    first = _start_of(start, period) if start else (seen[0] if seen else None)
    last = _start_of(end, period) if end else (seen[-1] if seen else None)
    first, last = first or last, last or first
    if first is None or last is None:
        return Timelapse([], cells, names)
    outside = [day for day in seen if not first <= day <= last]
    if outside:
        raise ValueError(f"rows for {outside[0]} lie outside {first} to {last}")
    periods = []
    day = first
    while day <= last:
        periods.append(day)
        day = _next(day, period)
    return Timelapse(periods, cells, names)


def _in_order(frame: Mapping[str, int | None], codes: list[str]) -> list[int | None]:
    return [frame[code] for code in codes]


def frames_json(lapse: Timelapse, prefix: str = "district-map") -> str:
    """Every frame as JSON for the page's script: the ``periods`` (ISO dates), the district
    ``codes``, per period the counts in the order of ``codes`` (``null``: suppressed),
    the class ``bins`` and their ``fills``. Safe inside ``<script type="application/json">``
    (``<``, ``>`` and ``&`` escaped, as Django's ``json_script``)."""
    data = {
        "periods": [p.isoformat() for p in lapse.periods],
        "codes": lapse.codes,
        "bins": list(lapse.bins),
        "fills": list(CLASS_FILLS[: len(lapse.bins)]),
        "empty": NO_REPORTS_FILL,
        "hatch": f"url(#{prefix}-hatch)",
        "frames": [_in_order(lapse.frame(p), lapse.codes) for p in lapse.periods],
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
