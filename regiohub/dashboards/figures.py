"""A chart as a figure: its rows asked through the other modules' read doors for the viewer
and the filters, its SVG, and the sentence that says what it shows.

The rows come from ``meldpunt.queries`` or ``datasets.queries`` with the viewer as the
user: a chart never shows what its viewer could not read through the same door (the
query API's rules, the inbox's scoping).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.core.spreadsheets import DELIMITER, spreadsheet_safe
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


@dataclass(frozen=True)
class Source:
    """Where a figure's numbers come from, carried with them into every export: the
    dataset (or the contact point), its publisher, licence and attribution, the version
    read and when the numbers were made."""

    name: str
    publisher: str
    licence: str
    licence_url: str
    attribution: str
    version: int | None
    refreshed: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in dataclasses.asdict(self).items()}


def rows_for(chart: Chart, user: Any, filters: Filters) -> tuple[list[dict[str, Any]], Source]:
    """The rows of ``chart`` for ``user`` and ``filters``, with its declared columns, and
    their source."""
    query = chart.query
    if query.meldpunt:
        rows = [dataclasses.asdict(row) for row in _ask_meldpunt(query, user, filters)]
        counted = meldpunt.statistics_counted_at() if query.meldpunt == "statistics" else None
        source = Source(
            name=_("Reports to the contact point"),
            publisher=_("The municipalities of the region"),
            licence="",
            licence_url="",
            attribution="",
            version=None,
            refreshed=counted or timezone.now(),
        )
    else:
        version, table, _cursor = datasets.rows(user, query.dataset, query.params)
        rows = table.to_pylist()
        info = datasets.dataset_info(user, query.dataset)
        source = Source(
            name=info.title if info else query.dataset,
            publisher=info.owner_name if info else "",
            licence=info.licence.label if info else "",
            licence_url=info.licence.uri if info else "",
            attribution=info.licence.attribution if info else "",
            version=version.number,
            refreshed=version.published_at,
        )
    kept = [{column: _plain(row.get(column)) for column in chart.columns} for row in rows]
    return kept, source


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
    source: Source

    def as_json(self) -> str:
        """The data behind the figure, with its source, as a JSON download."""
        return json.dumps(
            {
                "chart": self.chart.slug,
                "source": self.source.as_dict(),
                "columns": list(self.chart.columns),
                "rows": self.rows,
            },
            ensure_ascii=False,
            indent=1,
        )

    def as_csv(self) -> str:
        """The data behind the figure as CSV for a Belgian spreadsheet (semicolons, no
        cell that starts a formula), the source in a last line of its own."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
        writer.writerow([spreadsheet_safe(c) for c in self.chart.columns])
        for row in self.rows:
            writer.writerow(
                [
                    spreadsheet_safe("" if row[c] is None else str(row[c]))
                    for c in self.chart.columns
                ]
            )
        source = self.source
        credit = " · ".join(
            part
            for part in (source.name, source.publisher, source.licence, source.attribution)
            if part
        )
        writer.writerow([spreadsheet_safe(_("Source: %(source)s") % {"source": credit})])
        return out.getvalue()


def figure(chart: Chart, user: Any, filters: Filters, *, language: str) -> Figure:
    """The chart drawn for ``user``: rows, SVG and the sentence under it."""
    rows, source = rows_for(chart, user, filters)
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
    return Figure(chart=chart, rows=rows, svg=svg, summary=summary, source=source)
