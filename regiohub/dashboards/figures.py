"""A chart as a figure: its rows asked through the other modules' read doors for the viewer
and the filters, its SVG, and the sentence that says what it shows.

The rows come from ``meldpunt.queries`` or ``datasets.queries`` with the viewer as the
user: a chart never shows what its viewer could not read through the same door (the
query API's rules, the inbox's scoping).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.dashboards.charts import render_svg
from regiohub.dashboards.definitions import Chart
from regiohub.dashboards.summaries import summarise
from regiohub.datasets import queries as datasets
from regiohub.meldpunt import queries as meldpunt

#: The longest period a dashboard answers for (the statistics' own limit).
MAX_DAYS = 10 * 366


class FilterError(ValueError):
    """A filter the dashboard cannot apply: ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Filters:
    """What the viewer asked: the period (inclusive) and, optionally, municipalities."""

    start: date
    end: date
    municipalities: tuple[str, ...] = ()

    def organisation_ids(self) -> set[int] | None:
        if not self.municipalities:
            return None
        return set(
            Organisation.objects.filter(code__in=self.municipalities).values_list("pk", flat=True)
        )


def parse_filters(params: Mapping[str, Any], *, today: date) -> Filters:
    """The filters of a dashboard's GET form (``start``, ``end``, ``municipality``
    repeated); by default the twelve months up to today."""
    start = _date(params.get("start"), "start", default=date(today.year - 1, today.month, 1))
    end = _date(params.get("end"), "end", default=today)
    if end < start:
        raise FilterError("end", _("The period ends before it starts."))
    if (end - start).days > MAX_DAYS:
        raise FilterError("start", _("Choose a period of at most ten years."))
    getlist = getattr(params, "getlist", None)
    codes = getlist("municipality") if getlist else params.get("municipality") or []
    codes = [codes] if isinstance(codes, str) else list(codes)
    codes = [c for c in codes if c]
    if codes:
        known = set(
            Organisation.objects.filter(kind="municipality", code__in=codes).values_list(
                "code", flat=True
            )
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise FilterError(
                "municipality",
                _("Unknown municipality “%(code)s”.") % {"code": unknown[0][:20]},
            )
    return Filters(start=start, end=end, municipalities=tuple(sorted(set(codes))))


def _date(value: Any, field: str, *, default: date) -> date:
    if value in (None, ""):
        return default
    try:
        return date.fromisoformat(str(value)[:10]) if len(str(value)) == 10 else _bad(field)
    except ValueError:
        return _bad(field)


def _bad(field: str) -> date:
    raise FilterError(field, _("Give a date such as 2026-03-31."))


def _plain(value: Any) -> Any:
    """A value as a chart's inline data and a CSV cell hold it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 3600, 2)  # hours
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_for(chart: Chart, user: Any, filters: Filters) -> list[dict[str, Any]]:
    """The rows of ``chart`` for ``user`` and ``filters``, with its declared columns."""
    query = chart.query
    if query.meldpunt:
        rows = [dataclasses.asdict(row) for row in _ask_meldpunt(query, user, filters)]
    else:
        _info, table, _cursor = datasets.rows(user, query.dataset, query.params)
        rows = table.to_pylist()
    return [{column: _plain(row.get(column)) for column in chart.columns} for row in rows]


def _ask_meldpunt(query: Any, user: Any, filters: Filters) -> list[Any]:
    params = dict(query.params)
    common = {
        "start": filters.start,
        "end": filters.end,
        "organisation_ids": filters.organisation_ids(),
    }
    if query.meldpunt == "report_counts":
        return meldpunt.report_counts(user, by=params["by"], **common)
    if query.meldpunt == "sla_outcomes":
        return meldpunt.sla_outcomes(user, by=params["by"], **common)
    return meldpunt.statistics(
        user,
        period=params.get("period", "month"),
        rows=params.get("rows", "municipality"),
        **common,
    )


@dataclass(frozen=True)
class Figure:
    chart: Chart
    rows: list[dict[str, Any]]
    svg: str
    summary: str


def figure(chart: Chart, user: Any, filters: Filters, *, language: str) -> Figure:
    """The chart drawn for ``user``: rows, SVG and the sentence under it."""
    rows = rows_for(chart, user, filters)
    label = chart.title.get(language)
    svg = render_svg(chart.spec, language=language, label=label, rows=rows)
    encoding = chart.spec.get("encoding", {})
    x, y = encoding.get("x", {}), encoding.get("y", {})
    summary = summarise(
        rows,
        x=str(x.get("field", "")),
        y=str(y.get("field", "")),
        language=language,
        over_time=x.get("type") == "temporal",
        label="label" if "label" in chart.columns and x.get("type") != "temporal" else "",
    )
    return Figure(chart=chart, rows=rows, svg=svg, summary=summary)
