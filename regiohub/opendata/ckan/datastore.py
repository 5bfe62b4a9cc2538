"""CKAN's ``datastore_search`` over the data platform's query door
(``datasets.queries.rows``): a resource's rows, filtered, sorted and paged by offset.

What maps and how:

- ``filters`` ``{"column": value}`` → ``column__eq=value``; a list → ``column__in``; an
  object ``{"gt": ..., "lte": ...}`` (CKAN 2.12's ranges) → those operators. Values are
  converted by the column's type, as the query API does.
- ``fields`` → ``select``; ``sort`` (``"a, b desc"``) → ``order``; the version's own row
  order (file, row) breaks ties, so paging is stable. ``_id`` is the default order.
- ``offset``: the door pages by cursor, not by offset. The rows before the offset are read
  in large steps of the sort columns only, and the cursor at each step is remembered for
  the same question of the same version: a client paging forward reads each row once.
- ``limit``: default 100, at most 32,000 (CKAN's ``rows_max``; larger is lowered, as CKAN
  does); ``0`` answers the fields and the total only.
- ``total`` is counted by the door (``agg=count`` with the same filters). The count's
  version is read for the whole answer: a version published meanwhile does not mix in.
- ``q``/``full_text`` and ``distinct`` are refused (409) with the reason: the door has no
  full-text search over rows, and a ``LIKE`` over every column would be slow and not
  what CKAN's word search answers.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _

from regiohub.datasets import queries as datasets
from regiohub.opendata.ckan import params
from regiohub.opendata.ckan.errors import NotFound, ValidationError, invalid

#: CKAN's defaults: 100 rows, at most 32,000 (``ckan.datastore.search.rows_max``).
DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000
#: CKAN's DataStore types for the data platform's column types.
TYPES = {
    "integer": "int",
    "decimal": "numeric",
    "text": "text",
    "timestamp": "timestamp",
    "date": "date",
    "boolean": "bool",
}
KNOWN = {
    "resource_id",
    "id",
    "q",
    "full_text",
    "plain",
    "filters",
    "language",
    "limit",
    "offset",
    "fields",
    "sort",
    "distinct",
    "include_total",
    "total_estimation_threshold",
    "records_format",
    "include_next_page",
}
RECORD_FORMATS = ("objects", "lists", "csv", "tsv")
RANGE_OPERATORS = {"eq": "eq", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "in": "in"}


class _Cursors:
    """Per process: for a question of one version, the cursor after N rows, so the next
    page of a client paging by offset starts where the last one ended."""

    MAX_QUESTIONS = 256
    MAX_OFFSETS = 64

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.questions: OrderedDict[tuple[Any, ...], dict[int, str]] = OrderedDict()

    def nearest(self, key: tuple[Any, ...], offset: int) -> tuple[int, str]:
        with self.lock:
            known = self.questions.get(key, {})
            if key in self.questions:
                self.questions.move_to_end(key)
            below = [n for n in known if n <= offset]
            if not below:
                return 0, ""
            best = max(below)
            return best, known[best]

    def keep(self, key: tuple[Any, ...], offset: int, cursor: str) -> None:
        if not cursor or offset <= 0:
            return
        with self.lock:
            known = self.questions.setdefault(key, {})
            self.questions.move_to_end(key)
            known[offset] = cursor
            while len(known) > self.MAX_OFFSETS:
                known.pop(min(known))
            while len(self.questions) > self.MAX_QUESTIONS:
                self.questions.popitem(last=False)


_cursors = _Cursors()


def _filters(raw: Any, columns: Mapping[str, dict[str, Any]]) -> dict[str, str] | None:
    """The door's filter parameters for CKAN's ``filters`` (``None``: no row can match,
    an empty list of values)."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("filters", _("Not a JSON object"))
    found: dict[str, str] = {}
    for column, value in raw.items():
        if column not in columns or column.startswith("_"):
            raise invalid("filters", _('invalid value "%(value)s"') % {"value": column[:80]})
        if isinstance(value, dict):
            conditions = value
        else:
            conditions = {"in" if isinstance(value, list) else "eq": value}
        for op, operand in conditions.items():
            if op not in RANGE_OPERATORS:
                raise invalid(
                    "filters", _("Unknown filter operation: %(op)s") % {"op": str(op)[:20]}
                )
            if op != "in" and isinstance(operand, list):
                raise invalid(
                    "filters", _("“%(column)s”: one value, not a list.") % {"column": column}
                )
            texts = [
                _as_text(column, v) for v in (operand if isinstance(operand, list) else [operand])
            ]
            if op != "in":
                found[f"{column}__{op}"] = texts[0]
                continue
            if not texts:
                return None
            if any("," in t for t in texts):
                raise invalid(
                    "filters",
                    _("“%(column)s”: values in a list cannot hold a comma; filter on one value.")
                    % {"column": column},
                )
            found[f"{column}__in"] = ",".join(texts)
    return found


def _as_text(column: str, value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        raise invalid("filters", _("“%(column)s”: give a value.") % {"column": column})
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sort(raw: Any, columns: Mapping[str, Any]) -> list[str]:
    """The door's ``order`` for CKAN's ``sort``; ``_id`` is the version's own order."""
    if raw is None or raw == "":
        return []
    clauses = [c for c in (raw if isinstance(raw, list) else str(raw).split(",")) if str(c).strip()]
    order = []
    for clause in clauses:
        if not isinstance(clause, str):
            raise invalid("sort", _('invalid value "%(value)s"') % {"value": str(clause)[:80]})
        words = clause.split()
        name = words[0].strip('"') if words else ""
        rest = [w.lower() for w in words[1:]]
        direction = rest[0] if rest and rest[0] in ("asc", "desc") else "asc"
        tail = rest[1:] if rest and rest[0] in ("asc", "desc") else rest
        if tail not in ([], ["nulls", "last"]):
            raise invalid("sort", _('invalid value "%(value)s"') % {"value": clause[:80]})
        if name == "_id" and direction == "asc":
            continue
        if name not in columns:
            raise invalid("sort", _('invalid value "%(value)s"') % {"value": clause[:80]})
        order.append(("-" if direction == "desc" else "") + name)
    return order


def _field(column: datasets.Column) -> dict[str, Any]:
    found: dict[str, Any] = {"id": column.key, "type": TYPES.get(column.type, "text")}
    notes = " ".join(
        p for p in (column.description, f"({column.unit})" if column.unit else "") if p
    )
    info = {k: v for k, v in (("label", column.label), ("notes", notes)) if v}
    if column.type == "timestamp":
        info["notes"] = (info.get("notes", "") + " " + _("Times are in UTC.")).strip()
    if info:
        found["info"] = info
    return found


def _value(value: Any) -> Any:
    """A value as CKAN's DataStore writes it in JSON."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    return value


def search(
    user: Any,
    dataset_slug: str,
    resource_id: str,
    data: Mapping[str, Any],
    *,
    path: str,
    query: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """CKAN's answer to ``datastore_search`` for the dataset ``dataset_slug``, read as
    ``user`` may read it. ``path``/``query``: the request's, for the ``_links``."""
    junk = sorted(k for k in data if k not in KNOWN)
    if junk:
        raise invalid("__junk", _("The input field %(name)s was not expected.") % {"name": junk})
    for name in ("q", "full_text"):
        if params.present(data, name):
            raise invalid(
                name,
                _(
                    "Full-text search of the rows is not available here; filter on column "
                    'values with “filters” (e.g. {"street": "Grote Markt"}).'
                ),
            )
    if params.boolean(data, "distinct"):
        raise invalid("distinct", _("Distinct rows are not available here."))
    limit = params.natural(data, "limit", DEFAULT_LIMIT)
    assert limit is not None
    limit = min(limit, MAX_LIMIT, int(settings.DATASETS_QUERY_MAX_ROWS))
    offset = params.integer(data, "offset", 0) or 0
    if offset < 0:
        raise invalid("offset", _('invalid value "%(value)s"') % {"value": offset})
    include_total = params.boolean(data, "include_total", True)
    records_format = params.text(data, "records_format", "objects") or "objects"
    if records_format not in RECORD_FORMATS:
        raise invalid(
            "records_format",
            _("Value must be one of %(values)s") % {"values": ", ".join(RECORD_FORMATS)},
        )
    fields_asked = params.list_of_strings(data, "fields", comma=True)
    filters_raw = params.json_value(data, "filters")

    # The count: the version read for the whole answer, its columns, the total.
    version, counted, _cursor = _ask(user, dataset_slug, {"agg": "count"}, None, resource_id)
    columns = {c.key: c for c in version.columns}
    filters = _filters(filters_raw, {c.key: {"type": c.type} for c in version.columns})
    order = _sort(data.get("sort"), columns)
    for name in fields_asked:
        if name not in columns:
            raise invalid("fields", _('invalid value "%(value)s"') % {"value": name[:80]})
    chosen = list(dict.fromkeys(fields_asked)) or list(columns)
    if filters is None:
        total_rows = 0
    else:
        if filters:
            question = {**filters, "agg": "count"}
            _v, counted, _cursor = _ask(user, dataset_slug, question, version.number, resource_id)
        total_rows = int(counted.column(0)[0].as_py() or 0) if counted.num_rows else 0

    records: Any = "" if records_format in ("csv", "tsv") else []
    if filters is not None and limit > 0 and offset < total_rows and columns:
        key = (dataset_slug, version.number, tuple(sorted(filters.items())), tuple(order))
        narrow = [o.lstrip("-") for o in order] or [next(iter(columns))]
        position, cursor = _walk(
            user, dataset_slug, version.number, filters, order, narrow, key, offset
        )
        if position == offset:
            selected = list(dict.fromkeys([*chosen, *narrow])) if order else chosen
            page = {**filters, "select": ",".join(selected), "limit": str(limit)}
            if order:
                page["order"] = ",".join(order)
            if cursor:
                page["after"] = cursor
            _v, table, next_cursor = _ask(user, dataset_slug, page, version.number, resource_id)
            _cursors.keep(key, offset + table.num_rows, next_cursor)
            records = _records(table.to_pylist(), chosen, records_format)

    answer: dict[str, Any] = {
        **{k: v for k, v in data.items() if k in KNOWN and k not in ("id", "fields", "offset")},
        "resource_id": resource_id,
        "fields": [_field(columns[name]) for name in chosen],
        "records": records,
        "limit": limit,
        "include_total": include_total,
        "records_format": records_format,
        "total_estimation_threshold": None,
        "_links": _links(path, query, offset, limit),
    }
    if "offset" in data:
        answer["offset"] = offset
    if include_total:
        answer["total"] = total_rows
        answer["total_was_estimated"] = False
    return answer


def _ask(
    user: Any, slug: str, question: dict[str, str], version: int | None, resource_id: str
) -> tuple[datasets.VersionInfo, Any, str]:
    """The door's answer, its refusals as CKAN's errors."""
    try:
        return datasets.rows(user, slug, question, version=version)
    except datasets.QueryError as refused:
        raise invalid(_parameter(refused.parameter), refused.message) from None
    except datasets.QueryTimeout:
        raise ValidationError({"query": [_("Search took too long")]}) from None
    except Http404:
        raise NotFound(_('Resource "%(id)s" was not found.') % {"id": resource_id}) from None


def _parameter(name: str) -> str:
    """The CKAN parameter a refused query parameter came from."""
    return {"select": "fields", "order": "sort", "after": "offset", "limit": "limit"}.get(
        name, "filters"
    )


def _walk(
    user: Any,
    slug: str,
    version: int,
    filters: dict[str, str],
    order: list[str],
    narrow: list[str],
    key: tuple[Any, ...],
    offset: int,
) -> tuple[int, str]:
    """The cursor after ``offset`` rows: from the nearest one remembered, reading the rows
    in between in large steps (their sort columns, or the first column, only)."""
    position, cursor = _cursors.nearest(key, offset)
    step_max = max(1, int(settings.DATASETS_QUERY_MAX_ROWS))
    while position < offset:
        step = {
            **filters,
            "select": ",".join(dict.fromkeys(narrow)),
            "limit": str(min(step_max, offset - position)),
        }
        if order:
            step["order"] = ",".join(order)
        if cursor:
            step["after"] = cursor
        _v, table, cursor = _ask(user, slug, step, version, slug)
        if table.num_rows == 0:
            break
        position += table.num_rows
        _cursors.keep(key, position, cursor)
        if not cursor:
            break
    return position, cursor


def _records(rows: list[dict[str, Any]], chosen: list[str], records_format: str) -> Any:
    if records_format == "objects":
        return [{name: _value(row.get(name)) for name in chosen} for row in rows]
    if records_format == "lists":
        return [[_value(row.get(name)) for name in chosen] for row in rows]
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter="\t" if records_format == "tsv" else ",", lineterminator="\n"
    )
    for row in rows:
        writer.writerow([_csv_value(_value(row.get(name))) for name in chosen])
    return out.getvalue()


def _links(path: str, query: Mapping[str, Any] | None, offset: int, limit: int) -> dict[str, str]:
    """CKAN 2.11's ``_links``: this question from the start and its next page."""
    arguments = {k: v for k, v in (query or {}).items() if k != "offset"}
    start = path + ("?" + urlencode(arguments, doseq=True) if arguments else "")
    after = path + "?" + urlencode({**arguments, "offset": offset + limit}, doseq=True)
    links = {"start": start, "next": after}
    if offset - limit > 0:
        links["prev"] = path + "?" + urlencode({**arguments, "offset": offset - limit}, doseq=True)
    return links
