"""The regional benchmark: one indicator across the region's municipalities, absolute and
per inhabitant, with rank, regional median and total per period, and small counts hidden
so that nobody can work them out again from what is published.

Everything here except :func:`populations_of_region` is pure computation over rows, so
the rules can be attacked in tests without a database.

**What is published, and why it cannot reveal a hidden count.** A council report about
a village of 1,500 people must not show that two households asked for debt counselling.
So for a ``count`` indicator a cell (one municipality in one period) with
``0 < value < threshold`` is hidden: its value, its value per inhabitant (that is the
value divided by a public population) and its rank. That alone is not enough:

- *The total.* Published together with every other cell it gives the hidden one by
  subtraction. We keep the total (the region's figure is what councils ask for) and, as
  statistical offices do, hide one more cell ("complementary suppression"): the smallest
  shown non-zero cell (ties by code). A zero is never taken: it can only be zero. The
  total is then published only if every hidden cell can still take at least two values
  for an attacker who knows the rule *and* which hidden cells are small: a small one
  lies in ``[1, threshold - 1]``, the other between ``threshold`` and the smallest cell
  still shown. With one equation per period the range left to each cell follows from
  those bounds. Otherwise (one municipality; cells that add up to their lowest or
  highest possible sum, such as two under 5 adding up to 2) the total is hidden.
  Why exactly one complementary cell, and not "more until it holds": every choice must
  depend only on which cells are small and on what stays published. Hiding a further
  cell only when the first two pin each other down tells the attacker that they do,
  and the tests found tables where that gave every hidden value back.
- *The regional value per inhabitant* (total / population of the region) is the total in
  other units, so it is published exactly when the total is, and only when every
  municipality of the period has a population (a total over a subset would be a second
  equation).
- *The median* is taken over the cells that are shown only. Over all cells, with 13
  values, the median *is* one of them, and it may be a hidden one. A median of shown
  values can be computed from the table itself and so tells nothing new; the page says
  "median of the municipalities shown".
- *The ranks* are given among the shown cells (1..n without gaps); a gap would say
  where a hidden value lies.
- *The trend* repeats the same per period: each period is suppressed on its own, so a
  period's suppression does not depend on which period the page shows.

Not covered here, and the caller's duty: compute the benchmark over the whole region
and filter the *result* by municipality, never the input (two totals over regions that
differ by one cell give that cell); and do not publish a count beside a second, finer
breakdown of the same count. ``amount`` indicators (euros, such as net taxable income)
are not suppressed: the figures are sums over thousands of households, and Statbel
publishes them per municipality itself.

Values come typed from the query layer: a string in the value column is refused rather
than guessed (is ``1.234`` one thousand or one point two?).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from regiohub.dashboards.definitions import INDICATOR_KINDS, Indicator
from regiohub.dashboards.summaries import number

__all__ = [
    "MIN_THRESHOLD",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkRow",
    "Indicator",
    "Municipality",
    "TrendPoint",
    "as_rows",
    "benchmark",
    "populations_of_region",
    "summary",
]

#: Under 3, a hidden count could only be 1: hiding it would hide nothing.
MIN_THRESHOLD = 3

RankedBy = Literal["per_inhabitant", "value"]


class BenchmarkError(ValueError):
    """Rows the benchmark cannot read: ``row`` (1-based, 0 when no single row) and
    ``column`` say where, the message says what is wrong."""

    def __init__(self, message: str, *, row: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.row = row
        self.column = column


class Municipality(NamedTuple):
    """A municipality as the benchmark names it: its organisation code, its name and its
    population (``None`` when unknown)."""

    code: str
    name: str
    population: int | None


@dataclass(frozen=True)
class BenchmarkRow:
    """One municipality in the chosen period. A ``suppressed`` row shows only its name."""

    municipality: str
    name: str
    period: str
    value: float | None
    per_inhabitant: float | None
    rank: int | None
    suppressed: bool


class TrendPoint(NamedTuple):
    """The region in one period: value per inhabitant of the region, median of the
    municipalities shown, total. ``None`` where publishing it could reveal a hidden cell
    or where it is not known."""

    period: str
    per_inhabitant: float | None
    median: float | None
    total: float | None


@dataclass(frozen=True)
class Benchmark:
    """The benchmark for ``period``: the rows sorted by rank (hidden and unknown last),
    ranked ``per_inhabitant`` when every municipality shown (in any period) has a
    population, else by ``value``; the median of that measure over the rows shown, the
    regional total and per-inhabitant value (``None`` when it would reveal a hidden cell or when a
    municipality's value is unknown), and the same for every period as ``trend``."""

    period: str
    rows: list[BenchmarkRow]
    median: float | None
    total: float | None
    per_inhabitant: float | None
    ranked_by: RankedBy
    per: int
    threshold: int
    kind: str
    trend: list[TrendPoint] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)

    @property
    def suppressed(self) -> int:
        return sum(row.suppressed for row in self.rows)


@dataclass
class _Cell:
    code: str
    value: float | None
    population: int | None
    population_seen: bool = False


def benchmark(
    rows: Sequence[Mapping[str, Any]],
    indicator: Indicator,
    *,
    populations: Mapping[str, Municipality],
    period: str | None = None,
    threshold: int,
) -> Benchmark:
    """Compare ``indicator`` across the municipalities of ``populations`` (keyed by NIS
    code and by organisation code, see :func:`populations_of_region`) for ``period``
    (the latest when ``None``).

    Rows naming a municipality outside ``populations`` are left out (a national file
    gives a regional benchmark); several rows of one municipality and period are added
    up. A missing value (``None``, NaN) leaves that municipality unknown and the regional
    total of that period unpublished: a total without it would be read as the region's.
    """
    _check(indicator, threshold)
    if not rows:
        raise BenchmarkError(_("There are no rows to compare."))
    cells, names = _cells(rows, indicator, populations)
    periods = sorted(cells)
    if period is None:
        period = periods[-1]
    period = str(period)
    if period not in cells:
        raise BenchmarkError(
            _("There is no data for the period “%(period)s”; there is for %(periods)s.")
            % {"period": period[:40], "periods": ", ".join(periods)},
            column=indicator.period,
        )
    count = indicator.kind == "count"
    hidden = {
        when: (_suppress(list(by_code.values()), threshold) if count else (set(), True))
        for when, by_code in cells.items()
    }
    ranked_by: RankedBy = "per_inhabitant"
    for when, by_code in cells.items():
        for cell in by_code.values():
            shown = cell.value is not None and cell.code not in hidden[when][0]
            if shown and cell.population is None:
                ranked_by = "value"

    def measure(cell: _Cell) -> float | None:
        if cell.value is None:
            return None
        if cell.population is None:
            return None if ranked_by == "per_inhabitant" else cell.value
        per_inhabitant = cell.value / cell.population * indicator.per
        return per_inhabitant if ranked_by == "per_inhabitant" else cell.value

    trend: list[TrendPoint] = []
    chosen: list[BenchmarkRow] = []
    for when in periods:
        by_code = cells[when]
        suppressed, total_published = hidden[when]
        complete = all(cell.value is not None for cell in by_code.values())
        total = (
            math.fsum(cell.value for cell in by_code.values() if cell.value is not None)
            if complete and total_published
            else None
        )
        people = [cell.population for cell in by_code.values()]
        regional = (
            total / sum(people) * indicator.per
            if total is not None and all(people) and sum(people) > 0  # type: ignore[arg-type]
            else None
        )
        shown = {
            code: measure(cell)
            for code, cell in by_code.items()
            if code not in suppressed and measure(cell) is not None
        }
        median = statistics.median(shown.values()) if shown else None
        trend.append(TrendPoint(when, regional, median, total))
        if when != period:
            continue
        ranks = _competition_ranks(shown)
        for code, cell in by_code.items():
            hide = code in suppressed
            chosen.append(
                BenchmarkRow(
                    municipality=code,
                    name=names[code],
                    period=when,
                    value=None if hide else cell.value,
                    per_inhabitant=(
                        None
                        if hide or cell.value is None or cell.population is None
                        else cell.value / cell.population * indicator.per
                    ),
                    rank=ranks.get(code),
                    suppressed=hide,
                )
            )
    chosen.sort(key=lambda row: (row.rank is None, row.rank or 0, row.name, row.municipality))
    point = next(p for p in trend if p.period == period)
    return Benchmark(
        period=period,
        rows=chosen,
        median=point.median,
        total=point.total,
        per_inhabitant=point.per_inhabitant,
        ranked_by=ranked_by,
        per=indicator.per,
        threshold=threshold,
        kind=indicator.kind,
        trend=trend,
        periods=periods,
    )


def _check(indicator: Indicator, threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValueError(_("The suppression threshold must be a whole number."))
    if threshold < MIN_THRESHOLD:
        raise ValueError(
            _("The suppression threshold must be at least %(minimum)s, not %(threshold)s.")
            % {"minimum": MIN_THRESHOLD, "threshold": threshold}
        )
    if indicator.kind not in INDICATOR_KINDS:
        raise ValueError(
            _("An indicator is a count or an amount, not “%(kind)s”.")
            % {"kind": str(indicator.kind)[:40]}
        )
    if isinstance(indicator.per, bool) or not isinstance(indicator.per, int) or indicator.per < 1:
        raise ValueError(
            _("“per” is a whole number of inhabitants, such as 1 or 1000, not %(per)r.")
            % {"per": indicator.per}
        )


def _cells(
    rows: Sequence[Mapping[str, Any]],
    indicator: Indicator,
    populations: Mapping[str, Municipality],
) -> tuple[dict[str, dict[str, _Cell]], dict[str, str]]:
    """The rows added up per period and municipality (organisation code)."""
    cells: dict[str, dict[str, _Cell]] = {}
    names: dict[str, str] = {}
    needed = [indicator.municipality, indicator.period, indicator.value]
    if indicator.population_column:
        needed.append(indicator.population_column)
    for index, row in enumerate(rows, start=1):
        for column in needed:
            if column not in row:
                raise BenchmarkError(
                    _("Row %(row)s has no column “%(column)s”.") % {"row": index, "column": column},
                    row=index,
                    column=column,
                )
        key = row[indicator.municipality]
        if key is None or str(key).strip() == "" or isinstance(key, bool | float):
            raise BenchmarkError(
                _("Row %(row)s, column “%(column)s”: %(value)r does not name a municipality.")
                % {"row": index, "column": indicator.municipality, "value": key},
                row=index,
                column=indicator.municipality,
            )
        municipality = populations.get(str(key).strip())
        if municipality is None:
            continue  # outside the region
        when = _period(row[indicator.period], index, indicator.period)
        value = _number(row[indicator.value], index, indicator.value)
        if value is not None and indicator.kind == "count" and (value < 0 or value % 1):
            raise BenchmarkError(
                _(
                    "Row %(row)s, column “%(column)s”: a count is a whole number of zero or "
                    "more, not %(value)s."
                )
                % {"row": index, "column": indicator.value, "value": row[indicator.value]},
                row=index,
                column=indicator.value,
            )
        cell = cells.setdefault(when, {}).get(municipality.code)
        if cell is None:
            cell = _Cell(municipality.code, 0.0, None)
            cells[when][municipality.code] = cell
            names[municipality.code] = municipality.name
            if not indicator.population_column:
                cell.population = municipality.population or None
        cell.value = None if value is None or cell.value is None else cell.value + value
        if indicator.population_column:
            people = _population(row[indicator.population_column], index, indicator)
            if cell.population_seen and people != cell.population:
                raise BenchmarkError(
                    _(
                        "Row %(row)s, column “%(column)s”: %(municipality)s has two "
                        "populations in %(period)s (%(one)s and %(other)s)."
                    )
                    % {
                        "row": index,
                        "column": indicator.population_column,
                        "municipality": municipality.name,
                        "period": when,
                        "one": cell.population,
                        "other": people,
                    },
                    row=index,
                    column=indicator.population_column,
                )
            cell.population, cell.population_seen = people, True
    if not cells:
        raise BenchmarkError(
            _(
                "No row names a municipality of the region in column “%(column)s” (NIS code "
                "or organisation code)."
            )
            % {"column": indicator.municipality},
            column=indicator.municipality,
        )
    return cells, names


def _number(value: Any, row: int, column: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise BenchmarkError(
                _("Row %(row)s, column “%(column)s”: the value is infinite.")
                % {"row": row, "column": column},
                row=row,
                column=column,
            )
        return float(value)
    raise BenchmarkError(
        _("Row %(row)s, column “%(column)s”: %(value)s is not a number.")
        % {"row": row, "column": column, "value": repr(value)[:40]},
        row=row,
        column=column,
    )


def _population(value: Any, row: int, indicator: Indicator) -> int | None:
    people = _number(value, row, indicator.population_column)
    if people is None or people == 0:
        return None
    if people < 0 or people % 1:
        raise BenchmarkError(
            _("Row %(row)s, column “%(column)s”: a population is a whole number, not %(value)s.")
            % {"row": row, "column": indicator.population_column, "value": value},
            row=row,
            column=indicator.population_column,
        )
    return int(people)


def _period(value: Any, row: int, column: str) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    raise BenchmarkError(
        _("Row %(row)s, column “%(column)s”: %(value)s is not a period.")
        % {"row": row, "column": column, "value": repr(value)[:40]},
        row=row,
        column=column,
    )


def _suppress(cells: list[_Cell], threshold: int) -> tuple[set[str], bool]:
    """The cells of one period to hide, and whether its total may be published.

    The small cells, and with them always the smallest shown non-zero cell; the total
    is published when every hidden cell can still take two values. Each choice depends
    only on which cells are small and on what stays published: hiding a third cell only
    when the first two pin each other down would tell the attacker that they do (4, 5,
    5 and 2 under a threshold of 3, with the 4 and one 5 hidden too, can only be that).
    """
    primary = {c.code for c in cells if c.value is not None and 0 < c.value < threshold}
    if not primary:
        return set(), True
    if any(c.value is None for c in cells):
        return primary, False  # the total is not published anyway
    candidates = sorted(
        (c for c in cells if c.code not in primary and c.value),
        key=lambda c: (c.value, c.code),
    )
    secondary, shown = candidates[:1], candidates[1:]
    hidden = primary | {c.code for c in secondary}
    return hidden, _protected(cells, primary, secondary, shown, threshold)


def _protected(
    cells: list[_Cell],
    primary: set[str],
    secondary: list[_Cell],
    shown: list[_Cell],
    threshold: int,
) -> bool:
    """Whether every hidden cell can still take two values, for an attacker who knows the
    total, every shown cell, which hidden cells are small (``[1, threshold - 1]``) and
    that the others were chosen as the smallest shown: at least ``threshold`` and at most
    each cell still shown (less than it when a tie went to the cell's code)."""
    bounds = [(1.0, threshold - 1.0) for c in cells if c.code in primary]
    for cell in secondary:
        ceiling = min(
            (float(c.value) - (cell.code > c.code) for c in shown),  # type: ignore[arg-type]
            default=math.inf,
        )
        bounds.append((float(threshold), ceiling))
    rest = math.fsum(c.value for c in cells if c.code in primary) + math.fsum(
        c.value  # type: ignore[misc]
        for c in secondary
    )
    for index, (low, high) in enumerate(bounds):
        others = bounds[:index] + bounds[index + 1 :]
        least = max(low, rest - sum(other_high for _l, other_high in others))
        most = min(high, rest - math.fsum(other_low for other_low, _h in others))
        if most - least < 1:
            return False
    return True


def _competition_ranks(measures: Mapping[str, float | None]) -> dict[str, int]:
    """1 for the highest; equal values share a rank and the next one skips (1, 2, 2, 4)."""
    ordered = sorted(((v, code) for code, v in measures.items() if v is not None), reverse=True)
    ranks: dict[str, int] = {}
    for position, (value, code) in enumerate(ordered, start=1):
        previous = ordered[position - 2][0] if position > 1 else None
        ranks[code] = ranks[ordered[position - 2][1]] if previous == value else position
    return ranks


def populations_of_region() -> dict[str, Municipality]:
    """Every municipality of the platform, under its NIS code and under its organisation
    code, so rows keyed either way find it; names in the active language."""
    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind

    found: dict[str, Municipality] = {}
    for organisation in Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY):
        municipality = Municipality(
            organisation.code, organisation.display_name, organisation.population or None
        )
        found[organisation.code] = municipality
        if organisation.nis_code:
            found[organisation.nis_code] = municipality
    return found


def as_rows(result: Benchmark) -> list[dict[str, Any]]:
    """The benchmark as plain rows for the table, the CSV and the Vega-Lite chart
    (``definitions.BENCHMARK_COLUMNS``); the regional median repeated on every row so a
    chart can draw it as a rule."""
    return [
        {
            "municipality": row.municipality,
            "name": row.name,
            "period": row.period,
            "value": row.value,
            "per_inhabitant": row.per_inhabitant,
            "rank": row.rank,
            "median": result.median,
            "suppressed": row.suppressed,
        }
        for row in result.rows
    ]


def summary(result: Benchmark, language: str) -> str:
    """One sentence: highest and lowest municipality shown, the median of those shown,
    and how many are hidden because their numbers are too small."""
    with translation.override(language):
        ranked = [row for row in result.rows if row.rank is not None]

        def amount(value: float) -> str:
            if result.ranked_by == "value":
                return number(value, language)
            if result.per == 1:
                return _("%(number)s per inhabitant") % {"number": number(value, language)}
            return _("%(number)s per %(per)s inhabitants") % {
                "number": number(value, language),
                "per": number(result.per, language),
            }

        def measure(row: BenchmarkRow) -> float:
            chosen = row.per_inhabitant if result.ranked_by == "per_inhabitant" else row.value
            return float(chosen)  # type: ignore[arg-type]

        if not ranked:
            sentence = _("No data for this selection.")
        elif len(ranked) == 1:
            sentence = _("%(name)s: %(value)s.") % {
                "name": ranked[0].name,
                "value": amount(measure(ranked[0])),
            }
        else:
            high, low = ranked[0], ranked[-1]
            sentence = _(
                "Highest: %(high)s (%(high_value)s); lowest: %(low)s (%(low_value)s); "
                "median of the municipalities shown: %(median)s."
            ) % {
                "high": high.name,
                "high_value": amount(measure(high)),
                "low": low.name,
                "low_value": amount(measure(low)),
                "median": amount(result.median),  # type: ignore[arg-type]
            }
        if result.suppressed:
            sentence += " " + ngettext(
                "%(count)s municipality is not shown, so that numbers under %(threshold)s "
                "cannot be worked out.",
                "%(count)s municipalities are not shown, so that numbers under "
                "%(threshold)s cannot be worked out.",
                result.suppressed,
            ) % {"count": result.suppressed, "threshold": result.threshold}
        return sentence
