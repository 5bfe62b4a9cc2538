"""A dashboard as the data team writes it: ``<slug>.yaml``, read and checked here.

One reader for files and the admin, so both refuse the same mistakes and a dashboard can
go from one to the other and back unchanged (:func:`to_yaml` writes what :func:`parse`
reads). This module checks the *shape*: every text in nl/fr/en, a known audience, unique
charts, a query the platform can ask (a dataset's query-API parameters, or one of the
contact point's read functions), a Vega-Lite specification that loads nothing and names
only fields its query returns. Whether the dataset and its columns exist is asked of the
data platform when the dashboard is saved (a later slice).

Example::

    slug: mobiliteit
    title: {nl: Mobiliteit, fr: Mobilité, en: Mobility}
    description: {nl: …, fr: …, en: …}
    audience: public
    charts:
      - slug: per-uur
        title: {nl: Verkeer per uur, fr: Trafic par heure, en: Traffic per hour}
        caption: {nl: …, fr: …, en: …}
        query:
          dataset: telraam-9000008311
          params: {group_by: hour, agg: "sum:bike,sum:car"}
        columns: [hour, bike, car]
        spec: {mark: bar, encoding: {x: {field: hour, type: ordinal}, …}}
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from django.utils.translation import gettext as _

from regiohub.dashboards.charts import ChartError, refuse_fetches, spec_fields
from regiohub.meldpunt.queries import GROUPS, ReportCount, SlaOutcome, StatisticsRow

LANGUAGES = ("nl", "fr", "en")
AUDIENCES = ("public", "internal")
#: The contact point's read functions a chart may ask (``meldpunt.queries``).
MELDPUNT_QUESTIONS = {
    "report_counts": ("by", "start", "end"),
    "sla_outcomes": ("by", "start", "end"),
    "statistics": ("rows", "period", "start", "end"),
    "district_counts": ("period",),
}


def _fields(row: type) -> tuple[str, ...]:
    """A row's fields and the shares it derives from them (its properties)."""
    shares = tuple(name for name, value in vars(row).items() if isinstance(value, property))
    return tuple(f.name for f in dataclasses.fields(row)) + shares


#: What each of those returns per row: the columns a chart may name.
MELDPUNT_COLUMNS = {
    "report_counts": _fields(ReportCount),
    "sla_outcomes": _fields(SlaOutcome),
    "statistics": _fields(StatisticsRow),
    "district_counts": ("period", "key", "label", "municipality", "count", "suppressed"),
}
#: What a chart is: a Vega-Lite chart, the districts' map over time, or the 13
#: municipalities side by side (``dashboards.benchmark``).
KINDS = ("chart", "map", "benchmark")
#: The filters a dashboard may offer on its form.
FILTERS = ("period", "municipality", "category", "channel")
#: A benchmark's rows, as its chart and table name them (``benchmark.as_rows``).
BENCHMARK_COLUMNS = (
    "municipality", "name", "period", "value", "per_inhabitant", "rank", "median", "suppressed"
)  # fmt: skip
INDICATOR_KINDS = ("count", "amount")
PER_INHABITANTS = (1, 100, 1000, 10000)
#: The data platform's query-API parameters a chart may pass (``datasets.queries.rows``):
#: these, and filters written as the API writes them (``column`` or ``column__op``); the
#: data platform's own parser checks them against the dataset when the dashboard is saved.
DATASET_PARAMS = frozenset({"select", "group_by", "agg", "bucket", "order", "limit"})
#: Paging, format and version are the dashboard's to choose, not a chart's.
DASHBOARD_PARAMS = frozenset({"after", "format", "version"})
FILTER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(?:__[a-z]{1,12})?$")
MAX_BYTES = 256 * 1024
MAX_CHARTS = 40
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class DefinitionError(ValueError):
    """Everything wrong with a definition, each problem naming where it is."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Text:
    nl: str
    fr: str
    en: str

    def get(self, language: str) -> str:
        return getattr(self, language, "") or self.nl

    def as_dict(self) -> dict[str, str]:
        return {"nl": self.nl, "fr": self.fr, "en": self.en}


@dataclass(frozen=True)
class Query:
    """``dataset`` with query-API ``params``, or ``meldpunt`` naming a read function, or
    ``join``: the answers of two to four dataset questions side by side, one row per value
    of the ``match`` columns (not "on": YAML reads a bare ``on`` as true), each question's
    columns renamed first (``rename``) and narrowed by the dashboard's filters through its
    own ``filter_columns``."""

    dataset: str = ""
    meldpunt: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    join: tuple[Query, ...] = ()
    on: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    filter_columns: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        if self.join:
            return {"join": [part.as_dict() for part in self.join], "match": list(self.on)}
        source = {"dataset": self.dataset} if self.dataset else {"meldpunt": self.meldpunt}
        data: dict[str, Any] = {**source, "params": self.params}
        if self.rename:
            data["rename"] = dict(self.rename)
        if self.filter_columns:
            data["filter_columns"] = dict(self.filter_columns)
        return data

    def datasets(self) -> list[str]:
        """The datasets this question reads."""
        if self.join:
            return [part.dataset for part in self.join]
        return [self.dataset] if self.dataset else []


@dataclass(frozen=True)
class Indicator:
    """What a benchmark compares: ``value`` per ``municipality`` (NIS code or organisation
    code) and ``period``; a ``count`` is suppressed under the threshold, an ``amount``
    (euros) is not; per ``per`` inhabitants, from ``population_column`` when the rows
    carry that year's population, else the organisation's."""

    municipality: str
    period: str
    value: str
    kind: str = "count"
    per: int = 1
    population_column: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "municipality": self.municipality,
            "period": self.period,
            "value": self.value,
            "kind": self.kind,
            "per": self.per,
        }
        if self.population_column:
            data["population_column"] = self.population_column
        return data


@dataclass(frozen=True)
class Chart:
    slug: str
    title: Text
    caption: Text
    query: Query
    columns: tuple[str, ...]
    spec: dict[str, Any]
    kind: str = "chart"
    #: Which of the query's columns the dashboard's filters narrow: ``period`` (a date
    #: column) and ``municipality`` (a column of NIS codes).
    filter_columns: dict[str, str] = field(default_factory=dict)
    indicator: Indicator | None = None
    #: The table's column headers in nl/fr/en, where the column's key does not say it.
    headers: dict[str, Text] = field(default_factory=dict)
    #: Columns computed from the others, in order: ``{share: "e_loket / (balie + e_loket)"}``
    #: (numbers, columns, + - * / and brackets; a division by zero gives no value).
    derive: dict[str, str] = field(default_factory=dict)

    @property
    def all_columns(self) -> tuple[str, ...]:
        """The query's columns and the derived ones: what the table and downloads hold."""
        return self.columns + tuple(self.derive)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"slug": self.slug}
        if self.kind != "chart":
            data["kind"] = self.kind
        data.update(
            {
                "title": self.title.as_dict(),
                "caption": self.caption.as_dict(),
                "query": self.query.as_dict(),
                "columns": list(self.columns),
            }
        )
        if self.filter_columns:
            data["filter_columns"] = dict(self.filter_columns)
        if self.indicator is not None:
            data["indicator"] = self.indicator.as_dict()
        if self.derive:
            data["derive"] = dict(self.derive)
        if self.headers:
            data["headers"] = {key: text.as_dict() for key, text in self.headers.items()}
        if self.spec:
            data["spec"] = self.spec
        return data


@dataclass(frozen=True)
class DefaultPeriod:
    """The period a dashboard opens on: the last ``months`` up to today, or fixed dates
    (data that stopped in the past, such as Statbel's 2005-2013)."""

    months: int = 12
    start: date | None = None
    end: date | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.start and self.end:
            return {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return {"months": self.months}


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: Text
    description: Text
    audience: str
    organisations: tuple[str, ...]
    charts: tuple[Chart, ...]
    filters: tuple[str, ...] = ("period",)
    period: DefaultPeriod = DefaultPeriod()
    #: A text shown above the charts (demo data, a known gap), in nl/fr/en.
    notice: Text | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "slug": self.slug,
            "title": self.title.as_dict(),
            "description": self.description.as_dict(),
        }
        if self.notice is not None:
            data["notice"] = self.notice.as_dict()
        data["audience"] = self.audience
        if self.organisations:
            data["organisations"] = list(self.organisations)
        data["filters"] = list(self.filters)
        data["period"] = self.period.as_dict()
        data["charts"] = [chart.as_dict() for chart in self.charts]
        return data

    def datasets(self) -> list[str]:
        """The datasets its charts read, each once."""
        return sorted({slug for c in self.charts for slug in c.query.datasets()})


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a few lines of them expand to gigabytes once
    written out (the "billion laughs"), and a dashboard never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def parse(text: str | bytes, *, name: str = "") -> Dashboard:
    """The dashboard ``text`` describes, or a :class:`DefinitionError` listing every
    problem (each says which chart and which key). ``name`` is the file name, if any: its
    stem must be the slug."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise DefinitionError([_too_big()])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DefinitionError(
                [_("The file is not UTF-8 text (byte %(at)d).") % {"at": error.start}]
            ) from error
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise DefinitionError([_too_big()])
    if "\x00" in text:
        raise DefinitionError([_("The definition contains a NUL character.")])
    try:
        data = yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader without aliases
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = (
            _("line %(line)d, column %(column)d")
            % {"line": mark.line + 1, "column": mark.column + 1}
            if mark is not None
            else ""
        )
        problem = getattr(error, "problem", None) or str(error)
        raise DefinitionError(
            [_("This is not valid YAML (%(where)s): %(problem)s") % {"where": where,
                                                                    "problem": problem}]
        ) from error  # fmt: skip
    return _checked(data, name)


def _too_big() -> str:
    return _("A dashboard definition may be at most %(kb)d KB.") % {"kb": MAX_BYTES // 1024}


def to_yaml(dashboard: Dashboard) -> str:
    """The definition as a file: :func:`parse` of it gives ``dashboard`` back."""
    return yaml.safe_dump(
        dashboard.as_dict(), allow_unicode=True, sort_keys=False, default_flow_style=False
    )


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.found.append(f"{where}: {message}" if where else message)


def _checked(data: Any, name: str) -> Dashboard:
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise DefinitionError([_("A dashboard definition is a mapping of keys (slug, title, …).")])
    known = {
        "slug", "title", "description", "notice", "audience", "organisations", "filters",
        "period", "charts",
    }  # fmt: skip
    for key in sorted(set(map(str, data)) - known):
        problems.add("", _("unknown key “%(key)s”") % {"key": key})
    slug = _slug(data.get("slug"), "slug", problems)
    stem = name.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml") if name else ""
    if stem and slug and stem != slug:
        problems.add("slug", _("the file is called “%(name)s” but its slug is “%(slug)s”")
                     % {"name": stem, "slug": slug})  # fmt: skip
    title = _text(data.get("title"), "title", problems)
    description = _text(data.get("description"), "description", problems)
    notice = _text(data["notice"], "notice", problems) if "notice" in data else None
    filters = _filters(data.get("filters", ["period"]), problems)
    period = _period(data.get("period"), problems)
    audience = data.get("audience")
    if audience not in AUDIENCES:
        problems.add("audience", _("say “public” or “internal”"))
    organisations = data.get("organisations") or []
    if not isinstance(organisations, list) or not all(
        isinstance(code, str) and code for code in organisations
    ):
        problems.add("organisations", _("a list of organisation codes, such as [KOR, MEN]"))
        organisations = []
    if audience == "internal" and not organisations:
        problems.add("organisations", _("an internal dashboard names who may see it"))
    charts_data = data.get("charts")
    charts: list[Chart] = []
    if not isinstance(charts_data, list) or not charts_data:
        problems.add("charts", _("a dashboard has at least one chart"))
    elif len(charts_data) > MAX_CHARTS:
        problems.add("charts", _("at most %(count)d charts") % {"count": MAX_CHARTS})
    else:
        seen: set[str] = set()
        for index, item in enumerate(charts_data, start=1):
            chart = _chart(item, index, problems)
            if chart is None:
                continue
            if chart.slug in seen:
                problems.add(_where(index, chart.slug), _("another chart has this slug"))
            seen.add(chart.slug)
            charts.append(chart)
    if problems.found:
        raise DefinitionError(problems.found)
    return Dashboard(
        slug=slug,
        title=title,
        description=description,
        audience=str(audience),
        organisations=tuple(organisations),
        charts=tuple(charts),
        filters=filters,
        period=period,
        notice=notice,
    )


def _filters(value: Any, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(item in FILTERS for item in value):
        problems.add("filters", _("a list of %(names)s") % {"names": ", ".join(FILTERS)})
        return ("period",)
    return tuple(dict.fromkeys(value))


def _period(value: Any, problems: _Problems) -> DefaultPeriod:
    if value is None:
        return DefaultPeriod()
    said = _(
        '{"months": 12} (the last twelve months) or {"start": "2005-01-01", "end": "2013-12-31"}'
    )
    if not isinstance(value, Mapping) or set(map(str, value)) - {"months", "start", "end"}:
        problems.add("period", said)
        return DefaultPeriod()
    if "months" in value:
        months = value["months"]
        if set(value) != {"months"} or not isinstance(months, int) or not 1 <= months <= 120:
            problems.add("period", said)
            return DefaultPeriod()
        return DefaultPeriod(months=months)
    try:
        start, end = (
            value[key] if isinstance(value[key], date) else date.fromisoformat(str(value[key]))
            for key in ("start", "end")
        )
    except (KeyError, ValueError):
        problems.add("period", said)
        return DefaultPeriod()
    if end < start:
        problems.add("period", _("the period ends before it starts"))
        return DefaultPeriod()
    return DefaultPeriod(start=start, end=end)


def _where(index: int, slug: str = "", key: str = "") -> str:
    place = (
        _("chart %(number)d (“%(slug)s”)") % {"number": index, "slug": slug}
        if slug
        else (_("chart %(number)d") % {"number": index})
    )
    return f"{place}, {key}" if key else place


def _slug(value: Any, where: str, problems: _Problems) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        problems.add(where, _("lower-case letters, digits and dashes, such as “mobiliteit”"))
        return ""
    return value


def _text(value: Any, where: str, problems: _Problems) -> Text:
    if not isinstance(value, Mapping):
        problems.add(where, _("a text in nl, fr and en: {nl: …, fr: …, en: …}"))
        return Text("", "", "")
    texts = {}
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            problems.add(where, _("the text in “%(language)s” is missing") % {"language": language})
            text = ""
        texts[language] = text.strip()
    for key in sorted(set(map(str, value)) - set(LANGUAGES)):
        problems.add(where, _("unknown language “%(key)s”") % {"key": key})
    return Text(**texts)


def _chart(item: Any, index: int, problems: _Problems) -> Chart | None:
    if not isinstance(item, Mapping):
        problems.add(_where(index), _("a chart is a mapping of keys (slug, title, …)"))
        return None
    slug = item.get("slug") if isinstance(item.get("slug"), str) else ""
    start = len(problems.found)
    known = {
        "slug", "kind", "title", "caption", "query", "columns", "filter_columns", "indicator",
        "derive", "headers", "spec",
    }  # fmt: skip
    for key in sorted(set(map(str, item)) - known):
        problems.add(_where(index, slug), _("unknown key “%(key)s”") % {"key": key})
    _slug(item.get("slug"), _where(index, slug, "slug"), problems)
    kind = item.get("kind", "chart")
    if kind not in KINDS:
        problems.add(
            _where(index, slug, "kind"), _("one of %(names)s") % {"names": ", ".join(KINDS)}
        )
        kind = "chart"
    title = _text(item.get("title"), _where(index, slug, "title"), problems)
    caption = _text(item.get("caption"), _where(index, slug, "caption"), problems)
    query = _query(item.get("query"), _where(index, slug, "query"), problems)
    columns = item.get("columns")
    if kind == "map":
        if query.meldpunt != "district_counts":
            problems.add(_where(index, slug, "query"),
                         _("a map shows the contact point's district_counts"))  # fmt: skip
        if "spec" in item:
            problems.add(_where(index, slug, "spec"), _("a map draws itself: leave out spec"))
        columns = columns or list(MELDPUNT_COLUMNS["district_counts"])
    if (
        not isinstance(columns, list)
        or not columns
        or not all(isinstance(c, str) and FIELD.match(c) for c in columns)
    ):
        problems.add(_where(index, slug, "columns"),
                     _("the columns the query returns, such as [month, reports]"))  # fmt: skip
        columns = []
    if query.meldpunt and columns:
        returned = MELDPUNT_COLUMNS[query.meldpunt]
        if set(columns) - set(returned):
            said = _("%(question)s returns %(columns)s") % {
                "question": query.meldpunt,
                "columns": ", ".join(returned),
            }
            problems.add(_where(index, slug, "columns"), said)
    filter_columns = _filter_columns(
        item.get("filter_columns"), query, columns, _where(index, slug, "filter_columns"), problems
    )
    indicator = None
    if kind == "benchmark":
        indicator = _indicator(item.get("indicator"), query, columns,
                               _where(index, slug, "indicator"), problems)  # fmt: skip
    elif "indicator" in item:
        problems.add(_where(index, slug, "indicator"), _("only a benchmark has an indicator"))
    derive = _derive(item.get("derive"), columns, _where(index, slug, "derive"), problems)
    columns_and_derived = [*columns, *derive] if isinstance(columns, list) else []
    headers = {}
    raw_headers = item.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        problems.add(_where(index, slug, "headers"), _("a header in nl, fr and en per column"))
    else:
        for column, text in raw_headers.items():
            if columns_and_derived and column not in columns_and_derived:
                said = _("“%(column)s” is not among the columns") % {"column": column}
                problems.add(_where(index, slug, "headers"), said)
            headers[str(column)] = _text(text, _where(index, slug, f"headers, {column}"), problems)
    spec = item.get("spec")
    if kind != "chart" and spec is None:
        spec = {}
    elif not isinstance(spec, Mapping) or not spec:
        problems.add(_where(index, slug, "spec"), _("a Vega-Lite specification (mark, encoding)"))
        spec = {}
    else:
        spec = dict(spec)
        if "data" in spec or "datasets" in spec:
            problems.add(_where(index, slug, "spec"),
                         _("no data in the specification: the query gives them"))  # fmt: skip
        try:
            refuse_fetches(spec)
        except ChartError as error:
            problems.add(_where(index, slug, "spec"), str(error))
        returned = set(BENCHMARK_COLUMNS) if kind == "benchmark" else set(columns_and_derived)
        returned |= derived_fields(spec)
        unknown = sorted(spec_fields(spec) - returned) if columns else []
        if unknown:
            problems.add(_where(index, slug, "spec"),
                         _("fields the query does not return: %(fields)s")
                         % {"fields": ", ".join(unknown)})  # fmt: skip
    if len(problems.found) > start:
        return None
    return Chart(
        str(slug),
        title,
        caption,
        query,
        tuple(columns),
        spec,
        kind,
        filter_columns,
        indicator,
        headers,
        derive,
    )


def _filter_columns(
    value: Any, query: Query, columns: Any, where: str, problems: _Problems
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or set(map(str, value)) - set(FILTERS):
        problems.add(
            where,
            _('the column each filter narrows: {"period": "datum", "municipality": "nis_code"}'),
        )
        return {}
    if not query.dataset:
        problems.add(where, _("only a question of one dataset takes filter_columns here"))
        return {}
    found = {}
    for key, column in value.items():
        if not isinstance(column, str) or not FIELD.match(column):
            problems.add(where, _("“%(key)s” names a column") % {"key": key})
            continue
        found[str(key)] = column
    return found


def _indicator(
    value: Any, query: Query, columns: Any, where: str, problems: _Problems
) -> Indicator | None:
    said = _(
        '{"municipality": column, "period": column, "value": column, "kind": "count" or "amount"}'
    )
    if not isinstance(value, Mapping):
        problems.add(where, said)
        return None
    known = {"municipality", "period", "value", "kind", "per", "population_column"}
    for key in sorted(set(map(str, value)) - known):
        problems.add(where, _("unknown key “%(key)s”") % {"key": key})
    if not query.dataset:
        problems.add(where, _("a benchmark compares a dataset's column"))
    named = {}
    for key in ("municipality", "period", "value", "population_column"):
        column = value.get(key, "")
        if key == "population_column" and not column:
            named[key] = ""
            continue
        if not isinstance(column, str) or not FIELD.match(column):
            problems.add(where, said)
            return None
        if isinstance(columns, list) and columns and column not in columns:
            problems.add(where, _("“%(column)s” is not among the columns") % {"column": column})
        named[key] = column
    kind = value.get("kind", "count")
    if kind not in INDICATOR_KINDS:
        problems.add(where, _("kind is count (suppressed when small) or amount"))
        return None
    per = value.get("per", 1)
    if per not in PER_INHABITANTS:
        problems.add(where, _("per is one of %(values)s inhabitants")
                     % {"values": ", ".join(map(str, PER_INHABITANTS))})  # fmt: skip
        return None
    return Indicator(kind=kind, per=per, **named)


def derived_fields(spec: Mapping[str, Any]) -> set[str]:
    """Fields a specification's transforms make (``fold``, ``calculate``, ``aggregate``…
    name them with ``as``): an encoding may name them besides the query's columns."""
    found: set[str] = set()

    def names(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            for item in value:
                names(item)

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for step in node.get("transform", []) or []:
                if not isinstance(step, Mapping):
                    continue
                names(step.get("as"))
                for key in ("aggregate", "window", "joinaggregate"):
                    for item in step.get(key, []) or []:
                        if isinstance(item, Mapping):
                            names(item.get("as"))
            for key in ("layer", "hconcat", "vconcat", "concat"):
                for part in node.get(key, []) or []:
                    walk(part)

    walk(spec)
    return found


def _query(value: Any, where: str, problems: _Problems, *, part: bool = False) -> Query:
    if not isinstance(value, Mapping):
        problems.add(where, _("a dataset with its parameters, or a question of the contact point"))
        return Query()
    if "join" in value and not part:
        return _join(value, where, problems)
    known = {"dataset", "meldpunt", "params"} | ({"rename", "filter_columns"} if part else set())
    for key in sorted(set(map(str, value)) - known):
        problems.add(where, _("unknown key “%(key)s”") % {"key": key})
    params = value.get("params") or {}
    if not isinstance(params, Mapping):
        problems.add(where, _("params is a mapping of parameters"))
        params = {}
    dataset, question = value.get("dataset"), value.get("meldpunt")
    if bool(dataset) == bool(question):
        problems.add(where, _("name either a dataset or a question of the contact point"))
        return Query()
    if dataset:
        if not isinstance(dataset, str) or not SLUG.match(dataset):
            problems.add(where, _("the dataset is named by its slug"))
        for key in sorted(set(map(str, params)) - DATASET_PARAMS):
            if key in DASHBOARD_PARAMS:
                said = _("“%(key)s” is the dashboard's to set, not a chart's") % {"key": key}
                problems.add(where, said)
            elif not FILTER_KEY.match(key):
                problems.add(where, _("unknown parameter “%(key)s”") % {"key": key})
        if not part:
            return Query(dataset=str(dataset), params=dict(params))
        return Query(
            dataset=str(dataset),
            params=dict(params),
            rename=_names_map(value.get("rename"), where, "rename", problems),
            filter_columns=_names_map(
                value.get("filter_columns"), where, "filter_columns", problems, keys=FILTERS
            ),
        )
    if part:
        problems.add(where, _("a joined question asks a dataset"))
        return Query()
    if question not in MELDPUNT_QUESTIONS:
        problems.add(where, _("the contact point answers %(names)s")
                     % {"names": ", ".join(sorted(MELDPUNT_QUESTIONS))})  # fmt: skip
        return Query()
    for key in sorted(set(map(str, params)) - set(MELDPUNT_QUESTIONS[question])):
        problems.add(where, _("unknown parameter “%(key)s”") % {"key": key})
    if question == "district_counts" and params.get("period", "month") not in ("week", "month"):
        problems.add(where, _("period is week or month"))
    if "by" in MELDPUNT_QUESTIONS[question] and params.get("by") not in GROUPS:
        problems.add(where, _("by is one of %(names)s") % {"names": ", ".join(GROUPS)})
    return Query(meldpunt=str(question), params=dict(params))


MAX_JOIN = 4


def _join(value: Mapping[str, Any], where: str, problems: _Problems) -> Query:
    for key in sorted(set(map(str, value)) - {"join", "match"}):
        problems.add(where, _("unknown key “%(key)s”") % {"key": key})
    parts_data = value.get("join")
    if not isinstance(parts_data, list) or not 2 <= len(parts_data) <= MAX_JOIN:
        problems.add(where, _("join lists two to %(max)d dataset questions") % {"max": MAX_JOIN})
        return Query()
    parts = tuple(
        _query(item, f"{where}, join {number}", problems, part=True)
        for number, item in enumerate(parts_data, start=1)
    )
    on = value.get("match")
    if (
        not isinstance(on, list)
        or not on
        or not all(isinstance(c, str) and FIELD.match(c) for c in on)
    ):
        problems.add(
            where, _("match names the columns the rows are matched on, such as [month, nis_code]")
        )
        on = []
    return Query(join=parts, on=tuple(on))


def _names_map(
    value: Any, where: str, key: str, problems: _Problems, *, keys: tuple[str, ...] = ()
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and FIELD.match(v) and (not keys or k in keys)
        for k, v in value.items()
    ):
        problems.add(f"{where}, {key}", _("a mapping of column names"))
        return {}
    return dict(value)


_ARITHMETIC = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
               ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant)  # fmt: skip


def _derive(value: Any, columns: Any, where: str, problems: _Problems) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(where, _('a column per expression: {"share": "e_loket / (desk + e_loket)"}'))
        return {}
    known = set(columns) if isinstance(columns, list) else set()
    found: dict[str, str] = {}
    for name, expression in value.items():
        if not isinstance(name, str) or not FIELD.match(name) or name in known:
            problems.add(
                where, _("“%(name)s” must be a new column name") % {"name": str(name)[:40]}
            )
            continue
        if not isinstance(expression, str) or len(expression) > 500:
            problems.add(where, _("“%(name)s”: an expression of at most 500 characters")
                         % {"name": name})  # fmt: skip
            continue
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError:
            problems.add(where, _("“%(name)s”: this is not arithmetic") % {"name": name})
            continue
        bad = [node for node in ast.walk(tree) if not isinstance(node, _ARITHMETIC)]
        numbers = all(
            isinstance(node.value, int | float) and not isinstance(node.value, bool)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
        )
        if bad or not numbers:
            problems.add(where, _("“%(name)s”: only numbers, columns, + - * / and brackets")
                         % {"name": name})  # fmt: skip
            continue
        unknown = sorted(
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id not in known
        )
        if unknown:
            problems.add(where, _("“%(name)s”: unknown columns %(columns)s")
                         % {"name": name, "columns": ", ".join(unknown)})  # fmt: skip
            continue
        found[name] = expression
        known.add(name)
    return found


def evaluate(expression: str, row: Mapping[str, Any]) -> float | None:
    """A derived column's value for ``row``: ``None`` when a value is missing, not a
    number, or divided by zero (the reader allowed only arithmetic on columns)."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            found = row.get(node.id)
            if isinstance(found, bool) or not isinstance(found, int | float):
                raise _Missing
            return float(found)
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if right == 0:
                raise _Missing
            return left / right
        raise _Missing

    try:
        result = value(_parsed(expression))
    except _Missing:
        return None
    return result if math.isfinite(result) else None


class _Missing(Exception):
    pass


@functools.lru_cache(maxsize=512)
def _parsed(expression: str) -> ast.Expression:
    return ast.parse(expression, mode="eval")
