"""Which quick chart a dataset's page draws, and the steward's saved default chart.

The chart makes sense to a citizen: a code column (a NIS code) is labelled with the name
column beside it (the municipality's name), and a measure is never summed across years
when the data has a time column: it is shown per period, or for the latest period only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from regiohub.datasets import charts, query

#: The aggregations a steward may choose, with their labels.
AGGREGATIONS = {
    "sum": gettext_lazy("total"),
    "avg": gettext_lazy("average"),
    "count": gettext_lazy("number of rows"),
    "max": gettext_lazy("highest"),
    "min": gettext_lazy("lowest"),
}
NUMBER_TYPES = ("integer", "decimal")
YEAR_WORDS = {"year", "years", "jaar", "jaartal", "annee", "année", "jahr"}
CODE_WORDS = {"code", "cd", "nis", "refnis", "nis5", "niscode", "postcode", "nr", "id"}
TOP = 15
NAME_CHECK_LIMIT = 5000


def _words(column: dict[str, Any]) -> set[str]:
    text = f"{column.get('name', '')} {column['key']}".lower()
    return set(re.split(r"[^0-9a-zà-ÿ]+", text)) - {""}


def time_column(schema: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The column that says when a row is, and how to group on it: ``bucket`` (a date or
    time, grouped per hour/day/week/month) or ``value`` (a year as a number or text)."""
    for column in schema:
        if column.get("role") == "time":
            return column, "bucket" if column["type"] in ("date", "timestamp") else "value"
    for column in schema:
        if column["type"] in ("date", "timestamp"):
            return column, "bucket"
    for column in schema:
        if column["type"] in ("integer", "text") and _words(column) & YEAR_WORDS:
            return column, "value"
    return None, ""


def _varies(column: dict[str, Any], stats: dict[str, Any]) -> bool:
    info = stats.get(column["key"]) or {}
    if "min" not in info or "max" not in info:
        return True  # statistics not computed yet: assume more than one period
    return info["min"] != info["max"]


def measures(schema: list[dict[str, Any]], primary_key: list[str]) -> list[dict[str, Any]]:
    """Number columns worth charting: no identifiers, keys, years or codes; measurements
    (decimals) before counts, which are often whole numbers."""
    time, _kind = time_column(schema)
    found = [
        c
        for c in schema
        if c["type"] in NUMBER_TYPES
        and c.get("role") != "id"
        and c["key"] not in primary_key
        and c is not time
        and not (_words(c) & CODE_WORDS)
    ]
    found.sort(key=lambda c: c["type"] != "decimal")
    return found


def is_code(column: dict[str, Any], stats: dict[str, Any]) -> bool:
    """A text column of codes: named so, or whose frequent values are all digits."""
    if column["type"] != "text":
        return False
    if _words(column) & CODE_WORDS:
        return True
    top = (stats.get(column["key"]) or {}).get("top") or []
    return bool(top) and all(str(value).strip().isdigit() for value, _count in top)


def name_column(
    code: dict[str, Any], schema: list[dict[str, Any]], stats: dict[str, Any], files: list[str]
) -> dict[str, Any] | None:
    """The text column whose values map one to one to the code column's values, nearest
    first, the one in the page's language first (``TX_MUNTY_DESCR_NL`` on a Dutch page)."""
    if not is_code(code, stats):
        return None
    position = {c["key"]: i for i, c in enumerate(schema)}
    language = (get_language() or "")[:2]
    candidates = [
        c for c in schema if c["type"] == "text" and c is not code and not is_code(c, stats)
    ]
    candidates.sort(
        key=lambda c: (language not in _words(c), abs(position[c["key"]] - position[code["key"]]))
    )
    for candidate in candidates:
        params = QueryDict(mutable=True)
        params["group_by"] = f"{code['key']},{candidate['key']}"
        params["agg"] = "count"
        params["limit"] = str(NAME_CHECK_LIMIT)
        answer = query.run(files, schema, query.parse(params, schema))
        if answer.next_cursor:
            continue
        pairs = [(row[0], row[1]) for row in zip(*_columns(answer.table, 2), strict=True)]
        codes = {c for c, _n in pairs}
        names = {n for _c, n in pairs}
        if pairs and len(codes) == len(names) == len(pairs) and None not in names:
            return candidate
    return None


def _columns(table: Any, count: int) -> list[list[Any]]:
    return [table.column(i).to_pylist() for i in range(count)]


def chart_errors(chart: dict[str, str], schema: list[dict[str, Any]]) -> dict[str, str]:
    """What is wrong with a saved chart's settings for this schema, per field."""
    by_key = {c["key"]: c for c in schema}
    errors: dict[str, str] = {}
    x, measure = chart.get("x", ""), chart.get("measure", "")
    aggregation, group = chart.get("aggregation", ""), chart.get("group", "")
    missing = _("The current version has no column “%(column)s”.")
    if not x:
        errors["x"] = _("Choose the column along the chart's axis.")
    elif x not in by_key:
        errors["x"] = missing % {"column": x}
    if aggregation not in AGGREGATIONS:
        errors["aggregation"] = _("Choose one of: %(names)s.") % {
            "names": ", ".join(str(label) for label in AGGREGATIONS.values())
        }
    if measure and measure not in by_key:
        errors["measure"] = missing % {"column": measure}
    elif measure and by_key[measure]["type"] not in NUMBER_TYPES:
        errors["measure"] = _(
            "“%(column)s” is not a number; choose a number column or count the rows."
        ) % {"column": by_key[measure]["name"]}
    elif not measure and aggregation != "count":
        errors["measure"] = _("Choose the number to show, or count the rows.")
    if group and group not in by_key:
        errors["group"] = missing % {"column": group}
    elif group and group == x:
        errors["group"] = _("Group by another column than the one along the axis.")
    return errors


def automatic(
    schema: list[dict[str, Any]], primary_key: list[str], stats: dict[str, Any], measure: str = ""
) -> dict[str, str] | None:
    """The chart drawn when the steward chose none: per period when there is a time
    column with more than one period, else the largest totals per text value."""
    numbers = measures(schema, primary_key)
    if not numbers:
        return None
    chosen = next((c for c in numbers if c["key"] == measure), numbers[0])
    time, _kind = time_column(schema)
    if time is not None and _varies(time, stats):
        return {"x": time["key"], "measure": chosen["key"], "aggregation": "sum", "group": ""}
    texts = [c for c in schema if c["type"] == "text" and c is not time]
    if not texts:
        return None
    return {"x": texts[0]["key"], "measure": chosen["key"], "aggregation": "sum", "group": ""}


def build(
    schema: list[dict[str, Any]],
    stats: dict[str, Any],
    files: list[str],
    chart: dict[str, str],
) -> charts.Chart:
    """Draw a chart from valid settings (see :func:`chart_errors`)."""
    by_key = {c["key"]: c for c in schema}
    x = by_key[chart["x"]]
    aggregation = chart["aggregation"]
    measure = by_key.get(chart.get("measure") or "")
    group = by_key.get(chart.get("group") or "")
    time, kind = time_column(schema)
    params = QueryDict(mutable=True)
    counted = aggregation == "count" or measure is None
    params["agg"] = "count" if counted else f"{aggregation}:{measure['key']}"
    y_label = _("Number of rows") if counted else measure["name"]
    how = str(AGGREGATIONS[aggregation])
    labels: list[dict[str, Any]] = []
    period = ""
    name = None
    along_time = time is not None and x is time
    if along_time and kind == "bucket":
        unit = charts.bucket_for(_span_days(stats.get(x["key"]) or {}))
        params["bucket"] = f"{x['key']}:{unit}"
        x_name = _unit_name(unit)
    else:
        unit = ""
        labels = [x]
        if name := name_column(x, schema, stats, files):
            labels.append(name)
        x_name = x["name"]
        if time is not None and not along_time and aggregation == "sum":
            # Never a sum across years: the latest period only.
            period = _latest(time, kind, stats, files, schema, params)
    if group is not None:
        labels.append(group)
    if labels:
        params["group_by"] = ",".join(c["key"] for c in labels)
    params["limit"] = "2000" if along_time else str(TOP)
    asked = query.parse(params, schema)
    # By position, whatever the aggregate's output name.
    outputs = query.output_columns(asked, schema)
    asked.order = [(outputs[0], False)] if along_time else [(outputs[-1], True)]
    table = query.run(files, schema, asked).table
    shown = _columns(table, table.num_columns)
    values = shown[-1]
    if unit:
        texts = [charts.label(v, unit) for v in shown[0]]
    else:
        texts = [_text(v) for v in shown[1 if name is not None else 0]]
    if group is not None:
        texts = [f"{t} · {_text(g)}" for t, g in zip(texts, shown[-2], strict=True)]
    points = list(zip(texts, values, strict=True))
    line = along_time and group is None and len(points) > 2
    if along_time:
        title = (
            _("%(measure)s per %(unit)s (total)") % {"measure": y_label, "unit": x_name}
            if aggregation == "sum"
            else _("%(measure)s per %(x)s (%(aggregation)s)")
            % {"measure": y_label, "x": x_name, "aggregation": how}
        )
    elif period:
        title = _("%(measure)s per %(x)s in %(period)s (%(aggregation)s, largest 15)") % {
            "measure": y_label,
            "x": x_name,
            "period": period,
            "aggregation": how,
        }
    else:
        title = _("%(measure)s per %(x)s (%(aggregation)s, largest 15)") % {
            "measure": y_label,
            "x": x_name,
            "aggregation": how,
        }
    axis = name["name"] if name is not None else x["name"]
    return charts.Chart("line" if line else "bar", title, axis, y_label, points)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _latest(
    time: dict[str, Any],
    kind: str,
    stats: dict[str, Any],
    files: list[str],
    schema: list[dict[str, Any]],
    params: QueryDict,
) -> str:
    """Filter ``params`` to the latest period of the time column; its label."""
    latest = (stats.get(time["key"]) or {}).get("max")
    if latest in (None, ""):
        asked = QueryDict(mutable=True)
        asked["agg"] = f"max:{time['key']}"
        answer = query.run(files, schema, query.parse(asked, schema))
        latest = answer.table.column(0).to_pylist()[0]
    if latest in (None, ""):
        return ""
    if kind == "bucket":
        year = str(latest)[:4]
        params[f"{time['key']}__gte"] = f"{year}-01-01"
        return year
    params[f"{time['key']}__eq"] = str(latest)
    return str(latest)


def _span_days(info: dict[str, Any]) -> float:
    try:
        first = datetime.fromisoformat(str(info.get("min"))[:19])
        last = datetime.fromisoformat(str(info.get("max"))[:19])
    except ValueError:
        return 365
    return (last - first).total_seconds() / 86_400


def _unit_name(unit: str) -> str:
    return {
        "hour": _("hour"),
        "day": _("day"),
        "week": _("week"),
        "month": _("month"),
        "year": _("year"),
    }[unit]
