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

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from regiohub.core.models import Organisation
from regiohub.core.spreadsheets import DELIMITER, spreadsheet_safe
from regiohub.dashboards.charts import render_svg
from regiohub.dashboards.definitions import Chart, DefaultPeriod, evaluate
from regiohub.dashboards.summaries import number, summarise
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
    #: The period a map shows (its first day); ``None``: the last one.
    frame: date | None = None
    #: The contact point's subjects (codes) and channels; empty: all of them.
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def organisation_ids(self) -> set[int] | None:
        if not self.municipalities:
            return None
        return set(
            Organisation.objects.filter(code__in=self.municipalities).values_list("pk", flat=True)
        )

    def nis_codes(self) -> list[str]:
        return sorted(
            Organisation.objects.filter(code__in=self.municipalities)
            .exclude(nis_code="")
            .values_list("nis_code", flat=True)
        )

    def key(self) -> str:
        """One text per selection: part of a cached figure's key."""
        return (
            f"{self.start.isoformat()}/{self.end.isoformat()}/{','.join(self.municipalities)}"
            f"/{self.frame.isoformat() if self.frame else ''}"
            f"/{','.join(self.categories)}/{','.join(self.channels)}"
        )

    def query(self) -> dict[str, Any]:
        """As the dashboard's GET form writes it (for links that keep the selection)."""
        params: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.municipalities:
            params["municipality"] = list(self.municipalities)
        if self.frame:
            params["frame"] = self.frame.isoformat()
        if self.categories:
            params["category"] = list(self.categories)
        if self.channels:
            params["channel"] = list(self.channels)
        return params

    def narrowing(self) -> dict[str, Any]:
        """The contact point's own narrowing of these filters (its read functions' keys)."""
        return {
            "organisation_ids": self.organisation_ids(),
            "category_codes": set(self.categories) or None,
            "channels": set(self.channels) or None,
        }


def default_period(period: DefaultPeriod, today: date) -> tuple[date, date]:
    """The period a dashboard opens on: fixed dates, or the last ``months`` months up to
    today (from the first of the month, so the first month is whole)."""
    if period.start and period.end:
        return period.start, period.end
    months = today.year * 12 + today.month - 1 - period.months
    return date(months // 12, months % 12 + 1, 1), today


def parse_filters(
    params: Mapping[str, Any], *, today: date, period: DefaultPeriod | None = None
) -> Filters:
    """The filters of a dashboard's GET form (``start``, ``end``, ``municipality``
    repeated); by default the dashboard's own period (the twelve months up to today)."""
    getlist = getattr(params, "getlist", None)
    for name in ("start", "end", "frame"):
        if getlist is not None and len(getlist(name)) > 1:
            raise FilterError(name, _("Give one value for “%(name)s”.") % {"name": name})
    first, last = default_period(period or DefaultPeriod(), today)
    start = _date(params.get("start"), "start", default=first)
    end = _date(params.get("end"), "end", default=last)
    if end < start:
        raise FilterError("end", _("The period ends before it starts."))
    if (end - start).days > MAX_DAYS:
        raise FilterError("start", _("Choose a period of at most ten years."))
    codes = _listed(params, "municipality")
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
    frame = _date(params.get("frame"), "frame", default=None) if params.get("frame") else None
    categories = _known(params, "category", lambda: meldpunt.subject_choices(),
                        _("Unknown subject “%(code)s”."))  # fmt: skip
    channels = _known(params, "channel", meldpunt.channel_choices, _("Unknown channel “%(code)s”."))
    return Filters(
        start=start,
        end=end,
        municipalities=tuple(sorted(set(codes))),
        frame=frame,
        categories=categories,
        channels=channels,
    )


MAX_CHOICES = 100


def _listed(params: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    values = getlist(name) if getlist else params.get(name) or []
    values = [values] if isinstance(values, str) else list(values)
    values = [str(v) for v in values if v]
    if len(values) > MAX_CHOICES:
        raise FilterError(name, _("Choose at most %(count)d.") % {"count": MAX_CHOICES})
    return values


def _known(params: Mapping[str, Any], name: str, choices: Any, message: str) -> tuple[str, ...]:
    values = _listed(params, name)
    if not values:
        return ()
    known = {value for value, _label in choices()}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise FilterError(name, message % {"code": unknown[0][:40]})
    return tuple(sorted(set(values)))


def _date(value: Any, field: str, *, default: Any) -> Any:
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
    #: The latest period in the figure's rows ("data until"), when it has one.
    until: date | None = None
    #: The dataset's column labels (its steward's words), for the table's headers.
    labels: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            key: _plain(value) for key, value in dataclasses.asdict(self).items() if key != "labels"
        }


def rows_for(
    chart: Chart, user: Any, filters: Filters, *, public: bool = False
) -> tuple[list[dict[str, Any]], Source]:
    """The rows of ``chart`` for ``user`` and ``filters``, with its declared columns, and
    their source. ``public``: a public dashboard's (the contact point's counts per
    district with the small ones hidden)."""
    query = chart.query
    if query.meldpunt:
        asked = _ask_meldpunt(query, user, filters, public=public)
        rows = [_with_shares(row) for row in asked]
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
    elif query.join:
        rows, source = _joined(chart, user, filters)
    else:
        rows, source = _ask_dataset(query, chart.filter_columns, user, filters)
    kept = [{column: _plain(row.get(column)) for column in chart.columns} for row in rows]
    for name, expression in chart.derive.items():
        for row in kept:
            value = evaluate(expression, row)
            row[name] = None if value is None else round(value, 6)
    return kept, source


def _ask_dataset(
    query: Any, filter_columns: Mapping[str, str], user: Any, filters: Filters
) -> tuple[list[dict[str, Any]], Source]:
    info = datasets.dataset_info(user, query.dataset)
    params = _dataset_params(query.params, filter_columns, info, filters)
    version, table, _cursor = datasets.rows(user, query.dataset, params)
    latest = _data_until(user, query.dataset, version)
    source = Source(
        name=info.title if info else query.dataset,
        publisher=info.owner_name if info else "",
        licence=info.licence.label if info else "",
        licence_url=info.licence.uri if info else "",
        attribution=info.licence.attribution if info else "",
        version=version.number,
        refreshed=version.published_at,
        until=min(latest, filters.end) if latest else None,
        labels={c.key: c.label for c in version.columns if c.label and c.label != c.key},
    )
    return table.to_pylist(), source


_LATEST: dict[tuple[str, int, datetime], date | None] = {}


def forget_versions() -> None:
    """Forget the last days of the versions this process asked (tests)."""
    _LATEST.clear()


def _data_until(user: Any, slug: str, version: Any) -> date | None:
    """The last day a version's time column holds (asked once per version and process)."""
    key = (slug, version.number, version.published_at)
    if key in _LATEST:
        return _LATEST[key]
    column = next((c for c in version.columns if c.role == "time"), None)
    found = None
    if column is not None and column.type in ("date", "timestamp", "integer"):
        try:
            _v, table, _c = datasets.rows(
                user, slug, {"agg": f"max:{column.key}"}, version=version.number
            )
        except (datasets.QueryError, datasets.QueryTimeout):
            table = None
        value = table.to_pylist()[0].get(f"max_{column.key}") if table and table.num_rows else None
        if isinstance(value, datetime):
            found = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        elif isinstance(value, date):
            found = value
        elif isinstance(value, int) and 1000 < value < 10000:
            found = date(value, 12, 31)
    if len(_LATEST) > 1000:
        _LATEST.clear()
    _LATEST[key] = found
    return found


def _join_key(value: Any) -> Any:
    """A value as the rows are matched on it: a moment at a Belgian midnight is that day
    (a month of a timestamp column meets the same month of a date column)."""
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.date() if local.time() == datetime.min.time() else local
    return value


def _joined(chart: Chart, user: Any, filters: Filters) -> tuple[list[dict[str, Any]], Source]:
    """The answers of the joined questions side by side, one row per value of ``on``:
    a question without a row for that value leaves its columns empty."""
    on = chart.query.on
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    sources = []
    for part in chart.query.join:
        rows, source = _ask_dataset(part, part.filter_columns, user, filters)
        sources.append(source)
        for row in rows:
            named = {part.rename.get(k, k): v for k, v in row.items()}
            key = tuple(_join_key(named.get(c)) for c in on)
            target = merged.setdefault(key, dict(zip(on, key, strict=True)))
            target.update({k: v for k, v in named.items() if k not in on})
    first = sources[0]
    source = dataclasses.replace(
        first,
        name=" + ".join(dict.fromkeys(s.name for s in sources)),
        attribution=" · ".join(dict.fromkeys(s.attribution for s in sources if s.attribution)),
        refreshed=max((s.refreshed for s in sources if s.refreshed), default=None),
        until=min((s.until for s in sources if s.until), default=None),
    )
    ordered = sorted(merged.items(), key=lambda item: tuple(str(k) for k in item[0]))
    return [row for _key, row in ordered], source


def _with_shares(row: Any) -> dict[str, Any]:
    """A row of the contact point with the shares it derives (its properties)."""
    found = dataclasses.asdict(row)
    for name, value in vars(type(row)).items():
        if isinstance(value, property):
            found[name] = getattr(row, name)
    return found


#: The most rows a chart reads (a chart of more is not a chart; the query API's own cap).
MAX_ROWS = 5000


def _dataset_params(
    asked: Mapping[str, Any], filter_columns: Mapping[str, str], info: Any, filters: Filters
) -> dict[str, Any]:
    """A question narrowed by the dashboard's filters, through the columns the definition
    names for them (a date, timestamp or year column; a column of NIS codes)."""
    params: dict[str, Any] = {"limit": str(MAX_ROWS), **asked}
    types = {c.key: c.type for c in info.current.columns} if info and info.current else {}
    period = filter_columns.get("period")
    if period:
        if types.get(period) == "integer":  # a year
            params[f"{period}__gte"] = str(filters.start.year)
            params[f"{period}__lte"] = str(filters.end.year)
        elif types.get(period) == "timestamp":
            params[f"{period}__gte"] = filters.start.isoformat()
            params[f"{period}__lt"] = (filters.end + timedelta(days=1)).isoformat()
        else:
            params[f"{period}__gte"] = filters.start.isoformat()
            params[f"{period}__lte"] = filters.end.isoformat()
    municipality = filter_columns.get("municipality")
    if municipality and filters.municipalities:
        params[f"{municipality}__in"] = ",".join(filters.nis_codes()) or "-"
    for key, chosen in (("category", filters.categories), ("channel", filters.channels)):
        column = filter_columns.get(key)
        if column and chosen:
            params[f"{column}__in"] = ",".join(chosen)
    return params


def _ask_meldpunt(query: Any, user: Any, filters: Filters, *, public: bool = False) -> list[Any]:
    params = dict(query.params)
    if query.meldpunt == "district_counts":
        period = params.get("period", "month")
        start, end = whole_periods(filters.start, filters.end, period)
        if public:
            return meldpunt.public_district_counts(
                start=start,
                end=end,
                period=period,
                threshold=int(settings.DASHBOARDS_SUPPRESS_BELOW),
                **filters.narrowing(),
            )
        return meldpunt.district_counts(
            user, start=start, end=end, period=period, **filters.narrowing()
        )
    common = {"start": filters.start, "end": filters.end, **filters.narrowing()}
    if query.meldpunt == "report_counts":
        return meldpunt.report_counts(user, by=params["by"], **common)
    if query.meldpunt == "sla_outcomes":
        return meldpunt.sla_outcomes(user, by=params["by"], **common)
    # The statistics are counted ahead per municipality and subject, not per channel.
    common.pop("channels")
    return meldpunt.statistics(
        user,
        period=params.get("period", "month"),
        rows=params.get("rows", "municipality"),
        **common,
    )


#: Headers of the contact point's columns (a dataset's come from its schema).
MELDPUNT_HEADERS = {
    "key": _lazy("Code"),
    "label": _lazy("Name"),
    "count": _lazy("Reports"),
    "open": _lazy("Still open"),
    "reports": _lazy("Reports"),
    "resolved_on_time": _lazy("Resolved on time"),
    "resolved_late": _lazy("Resolved late"),
    "open_overdue": _lazy("Open, overdue"),
    "open_in_time": _lazy("Open, within time"),
    "period": _lazy("Period"),
    "municipality": _lazy("Municipality"),
    "suppressed": _lazy("Hidden (small number)"),
}


@dataclass(frozen=True)
class Figure:
    chart: Chart
    rows: list[dict[str, Any]]
    svg: str
    summary: str
    source: Source
    #: The table's column headers, in the chart's column order.
    headers: tuple[str, ...] = ()
    #: What a map or benchmark adds (frames to play, the period shown).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The columns of ``rows`` when they are not the query's (a benchmark's table).
    columns: tuple[str, ...] = ()

    @property
    def shown_columns(self) -> tuple[str, ...]:
        return self.columns or self.chart.all_columns

    def as_json(self) -> str:
        """The data behind the figure, with its source, as a JSON download."""
        return json.dumps(
            {
                "chart": self.chart.slug,
                "source": self.source.as_dict(),
                "columns": list(self.shown_columns),
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
        writer.writerow([spreadsheet_safe(c) for c in self.shown_columns])
        for row in self.rows:
            writer.writerow(
                [
                    spreadsheet_safe("" if row[c] is None else str(row[c]))
                    for c in self.shown_columns
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


def headers_for(
    chart: Chart, language: str, labels: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Each column's header: the chart's own axis title for it, else the dataset's column
    label, else the contact point's name for it, else its key."""
    from regiohub.dashboards.charts import localise

    titles: dict[str, str] = {}
    encoding = localise(chart.spec.get("encoding", {}), language)
    for channel in encoding.values():
        if isinstance(channel, dict) and isinstance(channel.get("title"), str):
            titles.setdefault(str(channel.get("field")), channel["title"])
    own = {column: text.get(language) for column, text in chart.headers.items()}
    with translation.override(language):
        return tuple(
            own.get(c) or titles.get(c) or (labels or {}).get(c) or str(MELDPUNT_HEADERS.get(c, c))
            for c in chart.all_columns
        )


def _until(chart: Chart, rows: list[dict[str, Any]]) -> date | None:
    """The latest period in the rows: of the period filter's column, else of a time x."""
    x = chart.spec.get("encoding", {}).get("x", {})
    column = chart.filter_columns.get("period") or (
        x.get("field") if x.get("type") == "temporal" else None
    )
    if chart.query.meldpunt == "district_counts":
        column = "period"
    latest = None
    for row in rows:
        value = row.get(column) if column else None
        if isinstance(value, int) and not isinstance(value, bool) and 1000 < value < 10000:
            value = date(value, 12, 31)
        elif isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                continue
        if isinstance(value, date) and (latest is None or value > latest):
            latest = value
    return latest


def whole_periods(start: date, end: date, period: str) -> tuple[date, date]:
    """``start``..``end`` widened to whole weeks or months: a map's first and last frame
    count their whole period, not the part the filter cut."""
    if period == "week":
        return start - timedelta(days=start.weekday()), end + timedelta(days=6 - end.weekday())
    following = date(end.year + end.month // 12, end.month % 12 + 1, 1)
    return start.replace(day=1), following - timedelta(days=1)


def figure(
    chart: Chart,
    user: Any,
    filters: Filters,
    *,
    language: str,
    public: bool = False,
    map_rows: list[Any] | None = None,
) -> Figure:
    """The chart drawn for ``user``: rows, SVG and the sentence under it. ``map_rows``: a
    map's counts, when the caller keeps them (:func:`map_rows`)."""
    if chart.kind == "map":
        return map_figure(chart, user, filters, language=language, public=public, found=map_rows)
    if chart.kind == "benchmark":
        return benchmark_figure(chart, user, filters, language=language, public=public)
    rows, source = rows_for(chart, user, filters, public=public)
    if source.until is None:
        source = dataclasses.replace(source, until=_until(chart, rows))
    label = chart.title.get(language)
    svg = render_svg(_credited(chart.spec, source), language=language, label=label, rows=rows)
    headers = headers_for(chart, language, source.labels)
    return Figure(
        chart=chart,
        rows=rows,
        svg=svg,
        summary=summary_of(chart, rows, headers, language),
        source=source,
        headers=headers,
    )


def _folded(spec: Mapping[str, Any]) -> list[str]:
    for step in spec.get("transform", []) or []:
        if isinstance(step, Mapping) and isinstance(step.get("fold"), list):
            return [str(c) for c in step["fold"]]
    return []


def summary_of(
    chart: Chart, rows: list[dict[str, Any]], headers: tuple[str, ...], language: str
) -> str:
    """The sentence under a chart: about its value channel (the quantitative one) along
    its other axis; for several series folded into one (cars, bikes…), about the first,
    named."""
    encoding = chart.spec.get("encoding", {})
    along, value = encoding.get("x", {}), encoding.get("y", {})
    if value.get("type") != "quantitative" and along.get("type") == "quantitative":
        along, value = value, along
    header = dict(zip(chart.all_columns, headers, strict=False))
    field = str(value.get("field", ""))
    prefix = ""
    if field not in chart.all_columns:
        series = [c for c in _folded(chart.spec) if c in chart.all_columns]
        if not series:
            return ""
        field = series[0]
        prefix = f"{header.get(field, field)}: "
    category = str(along.get("field", ""))
    if category not in chart.all_columns:
        category = chart.all_columns[0]
    over_time = along.get("type") == "temporal"
    sentence = summarise(
        rows,
        x=category,
        y=field,
        language=language,
        over_time=over_time,
        label="label" if "label" in chart.all_columns and not over_time else "",
        unit=header.get(category, "") if category != "label" else "",
        percent=str(value.get("axis", {}).get("format", "")).endswith("%"),
        today=timezone.localdate(),
    )
    return prefix + sentence


def _credited(spec: dict[str, Any], source: Source) -> dict[str, Any]:
    """The source's attribution and licence written on the chart itself (a PNG in a council
    report keeps them), unless the specification has a title of its own."""
    if "title" in spec or not (source.attribution or source.licence):
        return spec
    words = " · ".join(
        part
        for part in ("© " + source.attribution if source.attribution else "", source.licence)
        if part
    )
    title = {
        "text": words,
        "orient": "bottom",
        "anchor": "end",
        "fontSize": 10,
        "fontWeight": "normal",
        "color": "#555555",
        "offset": 8,
    }
    return {**spec, "title": title}


def map_rows(chart: Chart, user: Any, filters: Filters, *, public: bool = False) -> list[Any]:
    """A map's counts for all its frames (per period, district and municipality)."""
    return list(_ask_meldpunt(chart.query, user, filters, public=public))


def map_figure(
    chart: Chart,
    user: Any,
    filters: Filters,
    *,
    language: str,
    public: bool = False,
    found: list[Any] | None = None,
) -> Figure:
    """Reports per district over time: every frame's counts (the downloads hold them
    all), the frame asked for drawn, the table of that frame beside it."""
    from regiohub.dashboards import maps

    period = chart.query.params.get("period", "month")
    start, end = whole_periods(filters.start, filters.end, period)
    if found is None:
        found = map_rows(chart, user, filters, public=public)
    lapse = maps.timelapse(found, period=period, start=start, end=end)
    current = filters.frame if filters.frame in lapse.periods else lapse.periods[-1]
    previous = lapse.previous(current)
    label = chart.title.get(language)
    with translation.override(language):
        svg = maps.render_map(
            lapse.frame(current),
            label=f"{label}: {_period_name(current, period, language)}",
            legend_title=_("Reports"),
            language=language,
            organisation_codes=set(filters.municipalities) or None,
            bins=lapse.bins or None,
            show_suppressed=lapse.has_suppressed,
            prefix=f"map-{chart.slug}",
        )
        names = {o.code: o.display_name for o in Organisation.objects.filter(kind="municipality")}
        table = [
            {
                **dataclasses.asdict(row),
                "municipality": names.get(row.municipality, row.municipality),
            }
            for row in lapse.table(current, previous)
        ]
        summary = _map_summary(table, current, previous, lapse, period, language)
    rows = [_with_shares(row) for row in found]
    kept = [{column: _plain(row.get(column)) for column in chart.columns} for row in rows]
    source = Source(
        name=_("Reports to the contact point"),
        publisher=_("The municipalities of the region"),
        licence="",
        licence_url="",
        attribution="",
        version=None,
        refreshed=timezone.now(),
        until=min(end, timezone.localdate()),
    )
    frames = [
        {"value": p.isoformat(), "label": _period_name(p, period, language)} for p in lapse.periods
    ]
    return Figure(
        chart=chart,
        rows=kept,
        svg=svg,
        summary=summary,
        source=source,
        headers=headers_for(chart, language),
        extra={
            "frames": frames,
            "current": current.isoformat(),
            "current_label": _period_name(current, period, language),
            "table": table,
            "frames_json": maps.frames_json(lapse, prefix=f"map-{chart.slug}"),
            "public": public,
        },
    )


def _period_name(day: date, period: str, language: str) -> str:
    with translation.override(language):
        if period == "week":
            return _("week of %(day)s") % {"day": formats.date_format(day, "j M Y")}
        return formats.date_format(day, "F Y")


def _map_summary(
    table: list[dict[str, Any]],
    current: date,
    previous: date | None,
    lapse: Any,
    period: str,
    language: str,
) -> str:
    shown = [row for row in table if row["count"] is not None and row["code"]]
    name = _period_name(current, period, language)
    if whole_periods(current, current, period)[1] >= timezone.localdate():
        name = _("%(period)s (so far)") % {"period": name}
    if not shown:
        return _("%(period)s: no district with reports to show.") % {"period": name}
    high = max(shown, key=lambda row: row["count"])
    sentence = _("%(period)s: most reports in %(district)s (%(count)s).") % {
        "period": name,
        "district": high["district"],
        "count": number(high["count"], language),
    }
    if previous is not None:
        now = sum(v for v in lapse.frame(current).values() if v)
        before = sum(v for v in lapse.frame(previous).values() if v)
        sentence += " " + _(
            "In the districts shown: %(now)s reports, %(before)s the period before."
        ) % {"now": number(now, language), "before": number(before, language)}
    return sentence


#: The benchmark's table headers.
BENCHMARK_HEADERS = {
    "municipality": _lazy("Code"),
    "name": _lazy("Municipality"),
    "period": _lazy("Period"),
    "value": _lazy("Value"),
    "per_inhabitant": _lazy("Per inhabitant"),
    "rank": _lazy("Rank"),
    "median": _lazy("Regional median"),
    "suppressed": _lazy("Hidden (small number)"),
}
BENCHMARK_SHOWN = ("name", "value", "per_inhabitant", "rank", "suppressed")


def benchmark_figure(
    chart: Chart, user: Any, filters: Filters, *, language: str, public: bool = False
) -> Figure:
    """The municipalities side by side on the latest period of the selection: absolute
    and per inhabitant, ranked, the regional median and total, the trend; small counts
    hidden so that they cannot be worked out from what is shown (``benchmark``)."""
    from regiohub.dashboards import benchmark

    assert chart.indicator is not None
    # Counted over the whole region, whatever municipalities the viewer chose: two totals
    # over regions that differ by one municipality would give its hidden number away. The
    # choice narrows the table afterwards.
    everywhere = dataclasses.replace(filters, municipalities=(), categories=(), channels=())
    found, source = rows_for(chart, user, everywhere, public=public)
    if source.until is None:
        source = dataclasses.replace(source, until=_until(chart, found))
    result = benchmark.benchmark(
        found,
        chart.indicator,
        populations=benchmark.populations_of_region(),
        threshold=int(settings.DASHBOARDS_SUPPRESS_BELOW),
    )
    rows = benchmark.as_rows(result)
    if filters.municipalities:
        rows = [row for row in rows if row["municipality"] in filters.municipalities]
    per_label = _per_label(chart.indicator.per, language)
    spec = chart.spec or _benchmark_spec(result, per_label, language)
    label = f"{chart.title.get(language)} ({result.period})"
    svg = render_svg(_credited(spec, source), language=language, label=label, rows=rows)
    with translation.override(language):
        headers = tuple(
            per_label if c == "per_inhabitant" else str(BENCHMARK_HEADERS[c])
            for c in BENCHMARK_SHOWN
        )
        trend = [
            {
                "period": point.period,
                "per_inhabitant": point.per_inhabitant,
                "median": point.median,
                "total": point.total,
            }
            for point in result.trend
        ]
    return Figure(
        chart=chart,
        rows=rows,
        svg=svg,
        summary=benchmark.summary(result, language),
        source=source,
        headers=headers,
        columns=BENCHMARK_SHOWN,
        extra={
            "period": result.period,
            "median": result.median,
            "total": result.total,
            "regional_per_inhabitant": result.per_inhabitant,
            "trend": trend,
            "suppressed": sum(1 for row in rows if row["suppressed"]),
        },
    )


def _per_label(per: int, language: str) -> str:
    with translation.override(language):
        if per == 1:
            return _("Per inhabitant")
        return _("Per %(per)s inhabitants") % {"per": number(per, language)}


def _benchmark_spec(result: Any, per_label: str, language: str) -> dict[str, Any]:
    """Bars per municipality, highest first, and the regional median as a rule."""
    field = "per_inhabitant" if result.ranked_by == "per_inhabitant" else "value"
    with translation.override(language):
        title = per_label if field == "per_inhabitant" else _("Value")
        median = _("Regional median")
    return {
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "y": {"field": "name", "type": "nominal", "sort": "-x", "title": None},
                    "x": {"field": field, "type": "quantitative", "title": title},
                },
            },
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#333333"},
                "encoding": {
                    "x": {"aggregate": "max", "field": "median", "type": "quantitative"},
                    "tooltip": {"value": median},
                },
            },
        ]
    }
