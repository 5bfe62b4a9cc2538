"""The one line under a chart that says what it shows, made from its data: the highest and
lowest value and, over time, the trend. For everyone who does not read the picture: a
screen reader, a hurried alderman, a phone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

#: A change smaller than this share of the first value is "stable".
STABLE = 0.05


def number(value: float, language: str) -> str:
    """``1.234,5`` / ``1 234,5`` / ``1,234.5``: at most one decimal, grouped."""
    with translation.override(language):
        rounded = round(float(value), 1)
        places = 0 if rounded == int(rounded) else 1
        return formats.number_format(rounded, places, use_l10n=True, force_grouping=True)


def _when(value: Any, language: str, by_day: bool = False) -> str:
    day = value
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date):
        with translation.override(language):
            return formats.date_format(day, "j F Y" if by_day else "F Y")
    return str(value)


def summarise(
    rows: Sequence[dict[str, Any]],
    *,
    x: str,
    y: str,
    language: str,
    over_time: bool = False,
    label: str = "",
    unit: str = "",
    percent: bool = False,
    today: date | None = None,
) -> str:
    """One sentence about ``rows``: the highest and lowest ``y`` (named by ``label``, else
    ``x``), and for a chart ``over_time`` whether ``y`` (summed per ``x``) rose, fell or
    stayed within 5 % from the first to the last period. ``unit`` names a category that
    is a number ("Hour 17" rather than "17"); ``percent``: the values are shares (0.25 is
    "25 %"). A last period that is not over yet (the month or day holding ``today``) is
    left out of the trend: half a month is not a fall."""
    show = (lambda v: share(v, language)) if percent else (lambda v: number(v, language))
    with translation.override(language):
        values = [
            (row.get(label or x), row.get(x), float(row[y]))
            for row in rows
            if isinstance(row.get(y), int | float) and not isinstance(row.get(y), bool)
        ]
        if not values:
            return _("No data for this selection.")
        by_day = over_time and any(_day_of(v[1]) not in (None, 1) for v in values)

        def name(value: Any) -> str:
            if over_time and not label:
                return _when(value, language, by_day)
            if unit and isinstance(value, int) and not isinstance(value, bool):
                return f"{unit} {value}"
            if unit and isinstance(value, float):
                return f"{unit} {number(value, language)}"
            return str(value)

        if len(values) == 1:
            only = values[0]
            return _("%(name)s: %(value)s.") % {
                "name": name(only[0]),
                "value": show(only[2]),
            }
        high = max(values, key=lambda v: v[2])
        low = min(values, key=lambda v: v[2])
        sentence = _("Highest: %(high)s (%(high_value)s). Lowest: %(low)s (%(low_value)s).") % {
            "high": name(high[0]),
            "high_value": show(high[2]),
            "low": name(low[0]),
            "low_value": show(low[2]),
        }
        if over_time:
            sentence += " " + _trend(values, language, by_day, today)
        return sentence.strip()


def _day_of(value: Any) -> int | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10]).day
        except ValueError:
            return None
    return value.day if isinstance(value, date) else None


def share(value: float, language: str) -> str:
    """0.253 as "25,3 %" (fr: "25,3 %" with a no-break space)."""
    with translation.override(language):
        return _("%(number)s %%") % {"number": number(value * 100, language)}


def _unfinished(period: str, by_day: bool, today: date | None) -> bool:
    try:
        start = date.fromisoformat(period[:10])
    except ValueError:
        return False
    today = today or timezone.localdate()
    if by_day:
        return start >= today
    return (start.year, start.month) >= (today.year, today.month)


def _trend(
    values: list[tuple[Any, Any, float]],
    language: str,
    by_day: bool = False,
    today: date | None = None,
) -> str:
    totals: dict[str, float] = defaultdict(float)
    for _name, when, value in values:
        totals[str(when)] += value
    periods = sorted(totals)
    if periods and _unfinished(periods[-1], by_day, today):
        periods = periods[:-1]
    if len(periods) < 2:
        return ""
    first, last = totals[periods[0]], totals[periods[-1]]
    span = {"first": _when(periods[0], language), "last": _when(periods[-1], language)}
    if first == 0:
        return (
            _("From %(first)s to %(last)s: up from nothing.") % span
            if last > 0
            else _("From %(first)s to %(last)s: no change.") % span
        )
    change = (last - first) / abs(first)
    percent = _("%(number)s %%") % {"number": number(abs(change) * 100, language)}
    if change > STABLE:
        return _("From %(first)s to %(last)s: up by %(percent)s.") % {**span, "percent": percent}
    if change < -STABLE:
        return _("From %(first)s to %(last)s: down by %(percent)s.") % {
            **span,
            "percent": percent,
        }
    return _("From %(first)s to %(last)s: about the same.") % span
