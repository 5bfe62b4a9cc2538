"""Questions asked of one dataset version: filters, columns, groups with aggregates, time
buckets, order, keyset paging and a time limit, answered by DuckDB over the version's
Parquet files.

A query is parsed from request parameters (Datasette's ``column__op=value`` style) into a
:class:`Query` that names only columns of the version's schema and operators and functions
from the lists below; the SQL is built from those names (quoted) with every value bound as
a parameter. Nothing the user typed becomes SQL text.

Every output column has its own name: a group keeps its column's name, an aggregate is
called ``count``, ``sum_car``, ... and, when that name is taken by a group (a column called
``count``) or an earlier aggregate, ``count_1`` (``_2``, ...), as DuckDB names a repeated
CSV header.

DuckDB itself runs with external access off (:func:`connection`): it reads only files
under ``REGIOHUB_DATASETS_URI``, installs and loads no extension, attaches no database and
cannot change that, whatever SQL reaches it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import math
import os
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from django.conf import settings
from django.utils.translation import gettext as _

# A page of an answer is small: the extra copy of Arrow output from execute() costs
# less than the second binding of sql() (see :func:`_execute`).
warnings.filterwarnings(
    "ignore", message="Arrow output on a DB-API result makes an extra copy", category=UserWarning
)

#: Operators a filter may use: ``column__op=value`` (``column=value`` is ``eq``).
OPERATORS = {
    "eq": "=",
    "ne": "<>",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "in": "IN",
    "contains": "ILIKE",
    "isnull": "IS NULL",
}
AGGREGATES = {
    "count": "count({})",
    "count_distinct": "count(DISTINCT {})",
    "sum": "sum({})",
    "avg": "avg({})",
    "min": "min({})",
    "max": "max({})",
    "median": "quantile_cont({}, 0.5)",
    "p90": "quantile_cont({}, 0.9)",
    "p95": "quantile_cont({}, 0.95)",
    "p99": "quantile_cont({}, 0.99)",
}
NUMERIC_ONLY = {"sum", "avg", "median", "p90", "p95", "p99"}
BUCKETS = ("hour", "day", "week", "month", "year", "hour_of_day", "weekday")
#: Buckets that come round again: the hour of the day (0-23) and the ISO weekday (1 =
#: Monday ... 7 = Sunday), in Belgian wall-clock time; the answer holds the number.
CYCLES = ("hour_of_day", "weekday")
TIME_ZONE = "Europe/Brussels"
#: Parameters that are not filters.
RESERVED = {"select", "group_by", "agg", "bucket", "order", "limit", "after", "format", "version"}
MAX_IN = 1000
DEFAULT_LIMIT = 100


class QueryError(Exception):
    """A parameter that cannot be answered: which one and why (translated)."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter[:100]  # a filter's name is what the caller typed
        self.message = message
        super().__init__(f"{parameter}: {message}")


class QueryTimeout(Exception):
    pass


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class Aggregate:
    function: str
    column: str | None  # None: count(*)

    @property
    def alias(self) -> str:
        return self.function if self.column is None else f"{self.function}_{self.column}"


@dataclass
class Query:
    select: list[str] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    bucket: tuple[str, str] | None = None  # (time column, unit)
    aggregates: list[Aggregate] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (output column, descending)
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, ...] | None = None

    @property
    def is_aggregate(self) -> bool:
        return bool(self.aggregates or self.group_by or self.bucket)


# --- Parsing -------------------------------------------------------------------------------


def _columns(schema: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {column["key"]: column for column in schema}


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _known(columns: Mapping[str, Any], name: str, parameter: str) -> str:
    if name not in columns:
        raise QueryError(
            parameter,
            _("There is no column “%(column)s”. Columns: %(columns)s.")
            % {"column": name[:80], "columns": ", ".join(columns)},
        )
    return name


def coerce(value: str, column: dict[str, Any], parameter: str) -> Any:
    """``value`` as the column's type, or a QueryError naming the parameter."""
    kind = column["type"]
    text = value.strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "decimal":
            number = float(Decimal(text.replace(",", ".")))
            if not math.isfinite(number):
                raise ValueError(text)
            return number
        if kind == "boolean":
            lowered = text.lower()
            if lowered in {"true", "1", "ja", "yes", "oui"}:
                return True
            if lowered in {"false", "0", "nee", "no", "non"}:
                return False
            raise ValueError(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "timestamp":
            moment = datetime.fromisoformat(text.replace(" ", "T") if "T" not in text else text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(TIME_ZONE))
            return moment
    except (ValueError, InvalidOperation, OverflowError):
        expected = {
            "integer": _("a whole number"),
            "decimal": _("a number"),
            "boolean": _("true or false"),
            "date": _("a date such as 2025-12-31"),
            "timestamp": _("a date and time such as 2025-12-31T14:00"),
        }[kind]
        raise QueryError(
            parameter,
            _("“%(value)s” is not %(expected)s.") % {"value": text[:80], "expected": expected},
        ) from None
    return value


def parse(params: Mapping[str, Any], schema: list[dict[str, Any]]) -> Query:
    """A :class:`Query` from request parameters (a QueryDict or a plain dict)."""
    columns = _columns(schema)
    query = Query()

    def get(name: str) -> str:
        value = params.get(name, "")
        return str(value).strip() if value is not None else ""

    for parameter, chosen in (("select", query.select), ("group_by", query.group_by)):
        for name in _names(get(parameter)):
            if _known(columns, name, parameter) in chosen:
                raise QueryError(parameter, _("%(name)s is asked twice.") % {"name": name})
            chosen.append(name)
    if bucket := get("bucket"):
        column, _sep, unit = bucket.partition(":")
        _known(columns, column, "bucket")
        if columns[column]["type"] not in ("timestamp", "date"):
            raise QueryError(
                "bucket", _("“%(column)s” is not a date or time.") % {"column": column}
            )
        if unit == "hour_of_day" and columns[column]["type"] != "timestamp":
            raise QueryError(
                "bucket", _("“%(column)s” holds days, not times of day.") % {"column": column}
            )
        if unit not in BUCKETS:
            raise QueryError(
                "bucket",
                _("The bucket must be one of %(units)s, e.g. bucket=%(column)s:day.")
                % {"units": ", ".join(BUCKETS), "column": column},
            )
        query.bucket = (column, unit)
    for spec in _names(get("agg")):
        function, _sep, column = spec.partition(":")
        if function not in AGGREGATES:
            raise QueryError(
                "agg",
                _("Unknown aggregate “%(name)s”; use one of %(names)s.")
                % {"name": function[:40], "names": ", ".join(AGGREGATES)},
            )
        if column:
            _known(columns, column, "agg")
            if function in NUMERIC_ONLY and columns[column]["type"] not in ("integer", "decimal"):
                raise QueryError(
                    "agg",
                    _("%(function)s needs a number column; “%(column)s” is not one.")
                    % {"function": function, "column": column},
                )
        elif function != "count":
            raise QueryError(
                "agg",
                _("%(function)s needs a column, e.g. %(function)s:car.") % {"function": function},
            )
        aggregate = Aggregate(function, column or None)
        if aggregate in query.aggregates:
            raise QueryError(
                "agg", _("%(name)s is asked twice.") % {"name": f"{function}:{column}".rstrip(":")}
            )
        query.aggregates.append(aggregate)
    if query.bucket and not query.aggregates:
        query.aggregates.append(Aggregate("count", None))
    if query.group_by and not query.aggregates:
        query.aggregates.append(Aggregate("count", None))

    for key in params:
        if key in RESERVED or key.startswith("_"):
            continue
        column, _sep, op = key.partition("__")
        op = op or "eq"
        _known(columns, column, key)
        if op not in OPERATORS:
            raise QueryError(
                key,
                _("Unknown operator “%(op)s”; use one of %(ops)s.")
                % {"op": op[:20], "ops": ", ".join(OPERATORS)},
            )
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        for raw in values:
            raw = str(raw)
            if op == "in":
                parts = [p for p in raw.split(",") if p.strip()]
                if not parts or len(parts) > MAX_IN:
                    raise QueryError(
                        key,
                        _("Give between 1 and %(max)d values, comma-separated.") % {"max": MAX_IN},
                    )
                value: Any = [coerce(p, columns[column], key) for p in parts]
            elif op == "contains":
                value = raw.strip()[:200]
            elif op == "isnull":
                value = coerce(raw, {"type": "boolean"}, key)
            else:
                value = coerce(raw, columns[column], key)
            query.filters.append(Filter(column, op, value))

    outputs = output_columns(query, schema)
    for spec in _names(get("order")):
        descending = spec.startswith("-")
        name = spec.lstrip("-")
        if name not in outputs:
            raise QueryError(
                "order",
                _("Cannot sort on “%(column)s”; the answer has %(columns)s.")
                % {"column": name[:80], "columns": ", ".join(outputs)},
            )
        query.order.append((name, descending))

    if limit := get("limit"):
        try:
            query.limit = int(limit)
        except ValueError:
            raise QueryError("limit", _("The limit must be a whole number.")) from None
        if not 1 <= query.limit <= settings.DATASETS_QUERY_MAX_ROWS:
            raise QueryError(
                "limit",
                _("The limit must be between 1 and %(max)d.")
                % {"max": settings.DATASETS_QUERY_MAX_ROWS},
            )
    if after := get("after"):
        query.after = decode_cursor(after)
    return query


def _groups(query: Query) -> list[str]:
    """The group columns of an aggregate answer, in order: the bucket's column first."""
    groups = list(query.group_by)
    if query.bucket:
        groups = [query.bucket[0], *[g for g in groups if g != query.bucket[0]]]
    return groups


def aggregate_names(query: Query) -> list[str]:
    """The output name of each aggregate: its alias, or ``alias_1`` (``_2``, ...) when a
    group or an earlier aggregate has that name already."""
    taken = set(_groups(query))
    names = []
    for aggregate in query.aggregates:
        name, number = aggregate.alias, 0
        while name in taken:
            number += 1
            name = f"{aggregate.alias}_{number}"
        taken.add(name)
        names.append(name)
    return names


def output_columns(query: Query, schema: list[dict[str, Any]]) -> list[str]:
    """The answer's column names, in order; never twice the same."""
    if query.is_aggregate:
        return _groups(query) + aggregate_names(query)
    return query.select or [c["key"] for c in schema]


# --- Cursors ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"t": value.isoformat()}
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        text = value["t"]
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value


def encode_cursor(values: tuple[Any, ...]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(text[:2000] + "=" * (-len(text[:2000]) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or not all(
            v is None
            or isinstance(v, str | int | float | bool)
            or (isinstance(v, dict) and set(v) == {"t"} and isinstance(v["t"], str))
            for v in values
        ):
            raise ValueError
        return tuple(_unplain(v) for v in values)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise QueryError("after", _("This page link is not valid (any more).")) from None


# --- SQL -------------------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def files_literal(files: list[str]) -> str:
    """The version's file list as a SQL list literal, for the statements DuckDB cannot
    prepare (views, SUMMARIZE). The paths come from the table log, never from a user."""
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _bucket_expression(
    column: str, unit: str, kind: str, offsets: list[tuple[int, int]] | None = None
) -> str:
    if unit in CYCLES:
        moment = _wall_clock(quote(column), offsets) if kind == "timestamp" else quote(column)
        part = "hour" if unit == "hour_of_day" else "isodow"
        return f"CAST(extract('{part}' FROM {moment}) AS INTEGER)"
    if _local_bucket(unit, kind):
        # Belgian wall-clock time (a TIMESTAMP without zone), truncated without a
        # calendar; :func:`plan` turns each bucket back into its moment after grouping.
        local = _wall_clock(quote(column), offsets)
        return f"date_trunc('{unit}', {local})"  # unit is one of BUCKETS
    expression = f"date_trunc('{unit}', {quote(column)})"  # unit is one of BUCKETS
    return expression if kind == "timestamp" else f"CAST({expression} AS DATE)"


#: The longest stretch of time over which the offsets are spelled out (about two clock
#: changes a year); a longer one takes DuckDB's conversion.
OFFSET_MAX_DAYS = 3_660
_WEEK = 7 * 86_400
_SINCE = 220_924_800  # 1977-01-01: since then the clocks change twice a year, months apart


def _wall_clock(column: str, offsets: list[tuple[int, int]] | None) -> str:
    """``column`` (a moment) as Belgian wall-clock time.

    With the UTC offsets that hold over the moments a question reads (``offsets``, from
    :func:`local_offsets`), each moment moves by a constant: integer arithmetic, where
    DuckDB's time-zone conversion costs ~150 ns a row (a third of a year's grouping for
    one segment, a quarter of a week's scan for all; decision 0026). Without them,
    DuckDB's conversion."""
    if not offsets:
        return f"timezone('{TIME_ZONE}', {column})"
    micros = f"epoch_us({column})"
    shift = str(offsets[0][1] * 1_000_000)
    if len(offsets) > 1:
        steps = " ".join(
            f"WHEN {micros} < {start * 1_000_000} THEN {before * 1_000_000}"
            for (start, _offset), (_start, before) in zip(offsets[1:], offsets, strict=False)
        )
        shift = f"CASE {steps} ELSE {offsets[-1][1] * 1_000_000} END"
    return f"make_timestamp({micros} + {shift})"


def _utc_offset(seconds: int) -> int:
    moment = datetime.fromtimestamp(seconds, ZoneInfo(TIME_ZONE))
    return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]


@functools.lru_cache(maxsize=256)
def _changes_in(year: int) -> tuple[tuple[int, int], ...]:
    """The clock changes of ``year`` (UTC): (first second of the new offset, offset)."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[tuple[int, int]] = []
    offset = _utc_offset(start)
    step = start
    while step < end:
        following = min(step + _WEEK, end)
        if _utc_offset(following) != offset:
            low, high = step, following  # one change a week at most (since 1977)
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _utc_offset(middle) == offset else (low, middle)
            offset = _utc_offset(high)
            found.append((high, offset))
        step = following
    return tuple(found)


def _year(seconds: int) -> int:
    return datetime.fromtimestamp(seconds, UTC).year


def local_offsets(
    query: Query, column: str, bounds: tuple[datetime, datetime] | None = None
) -> list[tuple[int, int]] | None:
    """The UTC offsets of Belgian time over the moments of ``column`` a question reads,
    as (from second, offset in seconds) in order: between the bounds of ``query``'s
    filters on the column and the data's own ``bounds`` (the smallest and largest value
    the files hold). ``None`` when the range stays open, is longer than
    ``OFFSET_MAX_DAYS`` or starts before 1977."""
    low, high = bounds or (None, None)
    for item in query.filters:
        values = item.value if isinstance(item.value, list) else [item.value]
        if item.column != column or not values or item.op not in OFFSET_OPERATORS:
            continue
        if not all(isinstance(v, datetime) for v in values):
            return None
        if item.op in ("eq", "in", "gt", "gte"):
            low = min(values) if low is None else max(low, min(values))
        if item.op in ("eq", "in", "lt", "lte"):
            high = max(values) if high is None else min(high, max(values))
    if low is None or high is None:
        return None
    try:
        first, last = math.floor(low.timestamp()), math.ceil(high.timestamp())
    except (OverflowError, ValueError, OSError):
        return None
    if first < _SINCE or last - first > OFFSET_MAX_DAYS * 86_400:
        return None
    offsets = [(first, _utc_offset(first))]
    for year in range(_year(first), _year(max(first, last)) + 1):
        offsets += [change for change in _changes_in(year) if first < change[0] <= last]
    return offsets


#: The filters that bound a column's range.
OFFSET_OPERATORS = frozenset({"eq", "in", "gt", "gte", "lt", "lte"})


def data_bounds(files: list[str], column: str) -> tuple[datetime, datetime] | None:
    """The smallest and largest moment in ``column`` of the version made of ``files``,
    from the Parquet statistics (read once per version and process); ``None`` when a
    part of the column has no statistics a moment can be read from."""
    return _data_bounds(tuple(files), column)


@functools.lru_cache(maxsize=1024)
def _data_bounds(files: tuple[str, ...], column: str) -> tuple[datetime, datetime] | None:
    con = connection().cursor()
    try:
        low, high, unknown = con.execute(
            "SELECT min(TRY_CAST(stats_min_value AS TIMESTAMPTZ)), "
            "max(TRY_CAST(stats_max_value AS TIMESTAMPTZ)), "
            "count(*) FILTER (WHERE coalesce(stats_null_count, -1) <> num_values AND ("
            "  TRY_CAST(stats_min_value AS TIMESTAMPTZ) IS NULL"
            "  OR TRY_CAST(stats_max_value AS TIMESTAMPTZ) IS NULL"
            "  OR NOT suffix(stats_min_value, '+00') OR NOT suffix(stats_max_value, '+00'))) "
            "FROM parquet_metadata(?) WHERE path_in_schema = ?",
            [list(files), column],
        ).fetchone() or (None, None, 1)
    except (duckdb.Error, OSError):
        return None
    finally:
        con.close()
    if unknown or low is None or high is None:
        return None
    return low, high


def _local_bucket(unit: str, kind: str) -> bool:
    """Whether a bucket of a timestamp column is grouped on Belgian wall-clock time.

    A day, week, month or year begins at a local midnight, which is one moment (the
    clocks change at 2 or 3 o'clock): grouping on the truncated local time and turning
    the groups back into moments gives the buckets ``date_trunc`` gives on the moments
    (DuckDB's calendar, per row), at a fraction of the cost: 1 ms of 4 on a year of one
    segment, 6 ms on a week of all (decision 0026). Not an hour: the autumn's two 2
    o'clocks are one local hour but two buckets.
    """
    return kind == "timestamp" and unit not in ("hour", *CYCLES)


@dataclass
class Plan:
    sql: str
    parameters: list[Any]
    columns: list[str]
    order_keys: list[str]  # the output columns the keyset cursor holds, in order


def plan(
    query: Query,
    schema: list[dict[str, Any]],
    source: str = "data",
    bounds: tuple[datetime, datetime] | None = None,
) -> Plan:
    """The SQL of ``query`` over the relation ``source``, with its parameters;
    ``bounds``: the smallest and largest moment of the bucket's column in the data
    (:func:`data_bounds`), when known."""
    columns = _columns(schema)
    parameters: list[Any] = []
    where: list[str] = []
    for item in query.filters:
        name = quote(item.column)
        if item.op == "in":
            where.append(f"{name} IN ({', '.join('?' * len(item.value))})")
            parameters.extend(item.value)
        elif item.op == "contains":
            where.append(f"CAST({name} AS VARCHAR) ILIKE ? ESCAPE '\\'")
            escaped = item.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parameters.append(f"%{escaped}%")
        elif item.op == "isnull":
            where.append(f"{name} IS {'' if item.value else 'NOT '}NULL")
        else:
            where.append(f"{name} {OPERATORS[item.op]} ?")
            parameters.append(item.value)

    if query.is_aggregate:
        select: list[str] = []
        groups: list[str] = []
        outputs: list[str] = []
        if query.bucket:
            column, unit = query.bucket
            kind = columns[column]["type"]
            local = _local_bucket(unit, kind) or (unit in CYCLES and kind == "timestamp")
            offsets = local_offsets(query, column, bounds) if local else None
            expression = _bucket_expression(column, unit, kind, offsets)
            select.append(f"{expression} AS {quote(column)}")
            groups.append(expression)
            outputs.append(column)
        for column in query.group_by:
            if query.bucket and column == query.bucket[0]:
                continue
            select.append(quote(column))
            groups.append(quote(column))
            outputs.append(column)
        for aggregate, name in zip(query.aggregates, aggregate_names(query), strict=True):
            target = "*" if aggregate.column is None else quote(aggregate.column)
            expression = AGGREGATES[aggregate.function].format(target)
            if aggregate.function == "sum" and columns[aggregate.column]["type"] == "integer":
                expression = f"CAST({expression} AS BIGINT)"  # not a 128-bit decimal
            select.append(f"{expression} AS {quote(name)}")
            outputs.append(name)
        keys = outputs[: len(groups)]
        inner = f"SELECT {', '.join(select)} FROM {source}"  # noqa: S608 - names checked, quoted
        if where:
            inner += f" WHERE {' AND '.join(where)}"
        if groups:
            inner += f" GROUP BY {', '.join(groups)}"
        if query.bucket and _local_bucket(query.bucket[1], columns[query.bucket[0]]["type"]):
            # The groups' local times back to moments (TIMESTAMPTZ), in place.
            bucket = quote(query.bucket[0])
            inner = (
                f"SELECT * REPLACE (timezone('{TIME_ZONE}', {bucket}) AS {bucket}) "  # noqa: S608
                f"FROM ({inner}) AS b"
            )
        order = list(query.order) or [(k, False) for k in keys]
        for key in keys:  # groups are unique: they make the order (and cursor) total
            if key not in {name for name, _d in order}:
                order.append((key, False))
        return _paged(inner, parameters, outputs, order, query)

    outputs = query.select or [c["key"] for c in schema]
    # Every row has a stable identity within a version: its file and row number.
    # Names checked against the schema and quoted; values are bound.
    columns = ", ".join(quote(c) for c in outputs)
    inner = f"SELECT {columns}, parse_filename(__file) AS __file, file_row_number AS __row "
    inner += f"FROM {source}"
    if where:
        inner += f" WHERE {' AND '.join(where)}"
    order = [*query.order, ("__file", False), ("__row", False)]
    return _paged(inner, parameters, outputs, order, query)


def _paged(
    inner: str,
    parameters: list[Any],
    outputs: list[str],
    order: list[tuple[str, bool]],
    query: Query,
) -> Plan:
    keys = [name for name, _d in order]
    sql = f"SELECT * FROM ({inner}) AS q"  # noqa: S608 - built above from checked names
    if query.after is not None:
        if not order or len(query.after) != len(order):
            raise QueryError("after", _("This page link belongs to another question."))
        # (a, b) after (x, y) in mixed directions: a > x OR (a = x AND b > y) ...; NULLs
        # sort last either way, so they come after every value and nothing comes after
        # NULL but more NULLs (decided by the next column).
        clauses = []
        for i, (name, descending) in enumerate(order):
            if query.after[i] is None:
                continue
            equal = [f"{quote(n)} IS NOT DISTINCT FROM ?" for n, _d in order[:i]]
            compare = f"({quote(name)} {'<' if descending else '>'} ? OR {quote(name)} IS NULL)"
            clauses.append("(" + " AND ".join([*equal, compare]) + ")")
            parameters = [*parameters, *query.after[:i], query.after[i]]
        sql += " WHERE " + (" OR ".join(clauses) if clauses else "false")
    if order:
        sql += " ORDER BY " + ", ".join(
            f"{quote(name)} {'DESC' if descending else 'ASC'} NULLS LAST"
            for name, descending in order
        )
    sql += f" LIMIT {int(query.limit) + 1}"
    return Plan(sql=sql, parameters=parameters, columns=outputs, order_keys=keys)


# --- Running ---------------------------------------------------------------------------

_local = threading.local()

#: Answers up to this many rows are kept for the next identical question.
CACHE_MAX_ROWS = 10_000


class _AnswerCache:
    """A small LRU of answers, per process, shared by its threads; sized by
    ``REGIOHUB_DATASETS_QUERY_CACHE`` (0 switches it off)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, str], Answer] = OrderedDict()

    def get(self, key: tuple[str, str]) -> Answer | None:
        with self.lock:
            answer = self.entries.get(key)
            if answer is not None:
                self.entries.move_to_end(key)
            return answer

    def put(self, key: tuple[str, str], answer: Answer) -> None:
        size = int(settings.DATASETS_QUERY_CACHE)
        if size <= 0:
            return
        with self.lock:
            self.entries[key] = answer
            self.entries.move_to_end(key)
            while len(self.entries) > size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_answers = _AnswerCache()


def allowed_directories() -> list[str]:
    """The folders DuckDB may read: the dataset tables (``REGIOHUB_DATASETS_URI``), as
    written and with links resolved, each ending in ``/`` so no sibling folder matches."""
    base = str(settings.DATASETS_URI).rstrip("/")
    if "://" in base:
        return [base + "/"]
    found = {os.path.abspath(base), os.path.realpath(base)}
    return sorted(str(Path(folder)) + "/" for folder in found)


def connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection (in memory; it only ever reads Parquet files).

    External access is off and the configuration locked: the connection reads files under
    :func:`allowed_directories` only (the versions' Parquet files), cannot reach the
    network, another file, an extension or another database, and no statement can turn
    that back on. It is made again when the settings it was made with change.

    Sorts and groups larger than its memory limit spill into a folder of its own under
    ``REGIOHUB_DATA_DIR/tmp`` (DuckDB makes it when it needs it and removes it when the
    connection closes).
    """
    key = (
        tuple(allowed_directories()),
        int(settings.DATASETS_DUCKDB_THREADS),
        str(settings.DATASETS_DUCKDB_MEMORY),
        str(Path(settings.DATA_DIR) / "tmp"),
    )
    con = getattr(_local, "connection", None)
    if con is None or getattr(_local, "connection_key", None) != key:
        spill = Path(key[3])
        spill.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(
            config={
                "threads": key[1],
                "memory_limit": key[2],
                "temp_directory": str(spill / f"duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"),
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        con.execute(f"SET TimeZone = '{TIME_ZONE}'")
        # A version's files never change: read each file's footer once, not on every
        # question (and twice per question: to bind it and to run it).
        con.execute("SET parquet_metadata_cache = true")
        # In this order: the folders first (they cannot change once access is off).
        con.execute("SET allowed_directories = ?", [list(key[0])])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        _local.connection = con
        _local.connection_key = key
    return con


def write_parquet(files: list[str], columns: list[str], target: Path) -> None:
    """The ``columns`` of the version made of ``files`` as one Parquet file at ``target``
    (a download). The rows stream through Arrow: the engine itself writes no file."""
    import pyarrow.parquet as pq

    con = connection().cursor()
    try:
        names = ", ".join(quote(c) for c in columns)
        result = con.sql(f"SELECT {names} FROM read_parquet(?)", params=[files])  # noqa: S608 - schema keys, quoted
        reader = result.to_arrow_reader(122_880)
        with pq.ParquetWriter(target, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    finally:
        con.close()


@dataclass(frozen=True)
class Answer:
    table: pa.Table
    columns: list[str]
    next_cursor: str = ""


#: Column names the engine adds to a row (its identity within a version); no dataset
#: column may take them.
RESERVED_COLUMNS = frozenset({"__file", "file_row_number"})


def _source(files: list[str], query: Query) -> tuple[str, list[Any]]:
    if query.is_aggregate:
        return "read_parquet(?)", [files]
    return "read_parquet(?, filename = '__file', file_row_number = true)", [files]


class Deadline:
    """Interrupts the connection's running query after ``seconds``; never later, when the
    connection may already run the next question."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self.fired = False
        self.active = True
        self.lock = threading.Lock()
        self.con = con
        self.seconds = seconds
        self.due = 0.0

    def _fire(self) -> None:
        with self.lock:
            if self.active:
                self.fired = True
                self.con.interrupt()

    def __enter__(self) -> Deadline:
        self.due = time.monotonic() + self.seconds
        _watchdog.watch(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.active = False
        _watchdog.forget(self)


class _Watchdog:
    """One thread per process fires the deadlines that pass. (A timer thread per query
    cost a thread start each time: 0.1 ms, and milliseconds on a busy machine, as
    ``Thread.start`` waits until the new thread runs.)"""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.deadlines: dict[int, Deadline] = {}
        self.thread: threading.Thread | None = None
        self.wakes_at = math.inf  # when the thread wakes up next by itself

    def watch(self, deadline: Deadline) -> None:
        with self.condition:
            self.deadlines[id(deadline)] = deadline
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="query-deadlines")
                self.thread.daemon = True
                self.thread.start()
            elif deadline.due < self.wakes_at:
                self.condition.notify()

    def forget(self, deadline: Deadline) -> None:
        with self.condition:
            self.deadlines.pop(id(deadline), None)

    def _run(self) -> None:
        with self.condition:
            while True:
                now = time.monotonic()
                for key, deadline in list(self.deadlines.items()):
                    if deadline.due <= now:
                        del self.deadlines[key]
                        # A connection closed meanwhile has nothing to stop; the
                        # watchdog goes on for the others.
                        with contextlib.suppress(Exception):
                            deadline._fire()
                self.wakes_at = min((d.due for d in self.deadlines.values()), default=math.inf)
                self.condition.wait(None if self.wakes_at == math.inf else self.wakes_at - now)


_watchdog = _Watchdog()


def _new_watchdog() -> None:
    """A forked child starts without the parent's thread, and its locks may be held."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog)


def interrupted(exc: BaseException, deadline: Deadline) -> bool:
    """DuckDB reports an interrupt as its own error, or through Arrow as an OSError."""
    return (
        deadline.fired
        or isinstance(exc, duckdb.InterruptException)
        or (isinstance(exc, OSError) and "INTERRUPT" in str(exc))
    )


def _bucket_bounds(
    files: list[str], schema: list[dict[str, Any]], query: Query
) -> tuple[datetime, datetime] | None:
    if query.bucket is None:
        return None
    column, unit = query.bucket
    if not _local_bucket(unit, _columns(schema)[column]["type"]):
        return None
    return data_bounds(files, column)


def run(
    files: list[str],
    schema: list[dict[str, Any]],
    query: Query,
    *,
    seconds: float | None = None,
) -> Answer:
    """One page of the answer to ``query`` over the version made of ``files``."""
    if not files:
        empty = pa.table({name: pa.array([], pa.null()) for name in output_columns(query, schema)})
        return Answer(table=empty, columns=empty.column_names)
    source, source_parameters = _source(files, query)
    built = plan(query, schema, source="data", bounds=_bucket_bounds(files, schema, query))
    sql = f"WITH data AS (SELECT * FROM {source}) {built.sql}"  # noqa: S608 - see plan()
    parameters = [*source_parameters, *built.parameters]
    # A version never changes, and its files name it: the same question over the same
    # files has the same answer (dashboards ask the same questions all day).
    key = (sql, repr(parameters))
    cached = _answers.get(key)
    if cached is not None:
        return cached
    answer = _execute(sql, parameters, built, query, seconds)
    if answer.table.num_rows <= CACHE_MAX_ROWS:
        _answers.put(key, answer)
    return answer


def _execute(
    sql: str, parameters: list[Any], built: Plan, query: Query, seconds: float | None
) -> Answer:
    con = connection()
    limit = seconds or float(settings.DATASETS_QUERY_SECONDS)
    with Deadline(con, limit) as deadline:
        try:
            # execute() binds the statement once; sql() makes a relation first and binds
            # it again to run it (0.5 ms of a 3 ms question). The copy DuckDB warns
            # about is of one page of an answer.
            table = con.execute(sql, parameters).to_arrow_table()
        except (duckdb.Error, OSError) as exc:
            if interrupted(exc, deadline):
                raise QueryTimeout from None
            if query.after is not None and isinstance(exc, duckdb.ConversionException):
                raise QueryError("after", _("This page link is not valid (any more).")) from None
            raise
    next_cursor = ""
    if table.num_rows > query.limit:
        table = table.slice(0, query.limit)
        last = table.slice(query.limit - 1, 1).to_pylist()[0]
        next_cursor = encode_cursor(tuple(last[key] for key in built.order_keys))
    table = table.select(built.columns)
    return Answer(table=table, columns=built.columns, next_cursor=next_cursor)


def stream(
    files: list[str],
    schema: list[dict[str, Any]],
    query: Query,
    *,
    seconds: float | None = None,
    batch_rows: int = 50_000,
) -> Iterator[pa.RecordBatch]:
    """The whole answer (up to ``query.limit`` rows) in record batches, for downloads."""
    if not files:
        return
    source, source_parameters = _source(files, query)
    built = plan(query, schema, source="data", bounds=_bucket_bounds(files, schema, query))
    con = connection().cursor()  # its own cursor: a long download does not block others
    sql = f"WITH data AS (SELECT * FROM {source}) {built.sql}"  # noqa: S608 - see plan()
    remaining = query.limit
    # The limit is for the database's work on each batch, not for the time the client
    # takes to read what was already sent.
    limit = seconds or float(settings.DATASETS_QUERY_SECONDS) * 6
    try:
        with Deadline(con, limit) as deadline:
            try:
                result = con.sql(sql, params=[*source_parameters, *built.parameters])
                reader = result.to_arrow_reader(batch_rows)
            except (duckdb.Error, OSError) as exc:
                if interrupted(exc, deadline):
                    raise QueryTimeout from None
                raise
        while remaining > 0:
            with Deadline(con, limit) as deadline:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (duckdb.Error, OSError) as exc:
                    if interrupted(exc, deadline):
                        raise QueryTimeout from None
                    raise
            batch = batch.slice(0, remaining)
            remaining -= batch.num_rows
            yield pa.RecordBatch.from_arrays(
                [batch.column(name) for name in built.columns], names=built.columns
            )
    finally:
        con.close()
