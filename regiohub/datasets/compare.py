"""What changed between two versions of a dataset: rows added, removed and changed, with
the changed columns and their values before and after.

Computed by DuckDB over the two versions' Parquet files (the query engine of
``datasets.query``), never by reading both versions into Python: the counts are one
aggregate over a full outer join, a page of changes one sorted, limited select of it, and
the CSV download a stream of record batches.

Rows are matched by the dataset's key columns when it has them (declared by the newer
version, else the older one) and they are unique in both versions. Without such a key,
whole rows are compared: a row that changed shows as one removed and one added row.
Columns present in only one version are named, not compared; a column whose type changed
is compared as text.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.utils.translation import gettext as _

from regiohub.datasets import query, storage
from regiohub.datasets.formats import json_value
from regiohub.datasets.ingest import safe_for_spreadsheet

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
#: Why rows were compared whole (``Layout.whole``).
NO_KEY = "no_key"
KEY_NOT_UNIQUE = "key_not_unique"

_SQL_TYPES = {
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "text": "VARCHAR",
}


@dataclass(frozen=True)
class Side:
    """One version as the comparison reads it: its files, columns (key, type) and key."""

    files: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _kind in self.columns]

    def kind(self, name: str) -> str:
        return dict(self.columns)[name]


def side_of(version: Any) -> Side:
    """A :class:`Side` of a ``DatasetVersion``."""
    return Side(
        files=tuple(storage.files(version.dataset.storage_key, version.delta_version)),
        columns=tuple((c["key"], c["type"]) for c in version.schema),
        primary_key=tuple(version.primary_key or ()),
    )


@dataclass(frozen=True)
class Layout:
    """How two versions are compared."""

    key: tuple[str, ...]  # empty: whole rows
    columns: tuple[str, ...]  # compared columns (in both versions; not the key)
    as_text: frozenset[str]  # compared columns whose type differs: compared as text
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]
    whole: str = ""  # why whole rows are compared: NO_KEY or KEY_NOT_UNIQUE


@dataclass(frozen=True)
class Counts:
    added: int
    removed: int
    changed: int
    unchanged: int

    @property
    def total(self) -> int:
        """Rows listed as changes (a changed row counts once)."""
        return self.added + self.removed + self.changed


@dataclass(frozen=True)
class Summary:
    layout: Layout
    counts: Counts


@dataclass(frozen=True)
class ColumnChange:
    column: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RowChange:
    change: str  # ADDED, REMOVED or CHANGED
    key: dict[str, Any]  # the key columns' values (empty when whole rows are compared)
    row: dict[str, Any] = field(default_factory=dict)  # an added or removed row's values
    columns: list[ColumnChange] = field(default_factory=list)  # a changed row's changes


class CompareError(Exception):
    """A parameter of a comparison that cannot be answered: which one and why."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


# --- What to compare -------------------------------------------------------------------

#: Version and page numbers have at most this many digits (a version number is a
#: 32-bit integer in the database).
_MAX_DIGITS = 9


def _number(raw: Any, parameter: str, message: str) -> int | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS or int(text) < 1:
        raise CompareError(parameter, message % {"value": text[:20].replace("\x00", "")})
    return int(text)


def versions_to_compare(dataset: Any, old: Any, new: Any) -> tuple[Any, Any]:
    """The two ``DatasetVersion``s asked for by number (``new`` defaults to the current
    version, ``old`` to the one before ``new``), or a :class:`CompareError`."""
    not_a_version = _("“%(value)s” is not a version number.")
    new_number = _number(new, "to", not_a_version)
    old_number = _number(old, "from", not_a_version)
    versions = dataset.versions.select_related("dataset")
    if new_number is None:
        newer = versions.order_by("-number").first()
        if newer is None:
            raise CompareError("to", _("This dataset has no rows yet."))
    else:
        newer = versions.filter(number=new_number).first()
        if newer is None:
            raise CompareError("to", _("This dataset has no version %(n)d.") % {"n": new_number})
    if old_number is None:
        older = versions.filter(number__lt=newer.number).order_by("-number").first()
        if older is None:
            raise CompareError(
                "from",
                _("There is no older version to compare version %(n)d with.") % {"n": newer.number},
            )
    else:
        older = versions.filter(number=old_number).first()
        if older is None:
            raise CompareError("from", _("This dataset has no version %(n)d.") % {"n": old_number})
    if older.pk == newer.pk:
        raise CompareError("to", _("Choose two different versions."))
    return older, newer


def page_number(raw: Any, summary: Summary, per_page: int) -> int:
    """The page asked for (default 1), or a :class:`CompareError` past the last one."""
    page = _number(raw, "page", _("The page must be a whole number from 1.")) or 1
    pages = page_count(summary, per_page)
    if page > pages:
        raise CompareError(
            "page",
            _("There is no page %(page)d: the changes fill %(pages)d.")
            % {"page": page, "pages": pages},
        )
    return page


def page_count(summary: Summary, per_page: int) -> int:
    listed = summary.counts.total if (summary.layout.key or summary.layout.columns) else 0
    return max(1, math.ceil(listed / per_page))


# --- Planning --------------------------------------------------------------------------


def _key_of(old: Side, new: Side) -> tuple[str, ...]:
    both = set(old.names) & set(new.names)
    for candidate in (new.primary_key, old.primary_key):
        if candidate and all(name in both for name in candidate):
            return tuple(candidate)
    return ()


def layout(old: Side, new: Side, *, key_unique: bool = True) -> Layout:
    key = _key_of(old, new) if key_unique else ()
    common = [name for name in new.names if name in set(old.names)]
    whole = "" if key else (NO_KEY if key_unique else KEY_NOT_UNIQUE)
    return Layout(
        key=key,
        columns=tuple(name for name in common if name not in key),
        as_text=frozenset(n for n in common if old.kind(n) != new.kind(n)),
        only_old=tuple(n for n in old.names if n not in set(new.names)),
        only_new=tuple(n for n in new.names if n not in set(old.names)),
        whole=whole,
    )


class _Parameters:
    """Numbered parameters ($1, $2, ...) in the order they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _source(side: Side, parameters: _Parameters) -> str:
    """The rows of one version as a relation; a version without files is an empty one."""
    if side.files:
        return f"read_parquet({parameters.add(list(side.files))})"
    columns = ", ".join(
        f"CAST(NULL AS {_SQL_TYPES.get(kind, 'VARCHAR')}) AS {query.quote(name)}"
        for name, kind in side.columns
    )
    return f"(SELECT {columns or '1 AS __none'} WHERE false)"


def _value(alias: str, name: str, plan: Layout) -> str:
    expression = f"{alias}.{query.quote(name)}"
    return f"CAST({expression} AS VARCHAR)" if name in plan.as_text else expression


def _joined(
    old: Side,
    new: Side,
    plan: Layout,
    parameters: _Parameters,
    sources: tuple[str, str] | None = None,
) -> str:
    """The two versions side by side, matched by key: one row per key in either version,
    with ``__in_old``/``__in_new``, the key (``__k<i>``), every old (``__o<i>``) and new
    (``__n<i>``) column, whether each compared column differs (``__d<i>``) and whether
    the row differs at all (``__differs``)."""
    old_source, new_source = sources or (_source(old, parameters), _source(new, parameters))
    select = [
        f"COALESCE({_value('n', k, plan)}, {_value('o', k, plan)}) AS __k{i}"
        for i, k in enumerate(plan.key)
    ]
    select += ["o.__present AS __in_old", "n.__present AS __in_new"]
    select += [f"o.{query.quote(name)} AS __o{i}" for i, name in enumerate(old.names)]
    select += [f"n.{query.quote(name)} AS __n{i}" for i, name in enumerate(new.names)]
    differs = [
        f"({_value('o', c, plan)} IS DISTINCT FROM {_value('n', c, plan)})" for c in plan.columns
    ]
    select += [f"{d} AS __d{i}" for i, d in enumerate(differs)]
    select.append(f"({' OR '.join(differs) or 'false'}) AS __differs")
    on = " AND ".join(
        f"{_value('o', k, plan)} IS NOT DISTINCT FROM {_value('n', k, plan)}" for k in plan.key
    )
    # Names come from the versions' schemas and are quoted; files are bound parameters.
    return (
        f"SELECT {', '.join(select)} "  # noqa: S608
        f"FROM (SELECT *, true AS __present FROM {old_source}) AS o "
        f"FULL OUTER JOIN (SELECT *, true AS __present FROM {new_source}) AS n ON {on}"
    )


def _whole_rows(old: Side, new: Side, plan: Layout, parameters: _Parameters) -> tuple[str, str]:
    """(rows only in the old version, rows only in the new one), as many times as they are
    there more often (EXCEPT ALL), over the columns both versions have."""
    old_source = _source(old, parameters)
    new_source = _source(new, parameters)
    old_columns = ", ".join(f"{_value('o', c, plan)} AS __c{i}" for i, c in enumerate(plan.columns))
    new_columns = ", ".join(f"{_value('n', c, plan)} AS __c{i}" for i, c in enumerate(plan.columns))
    old_rows = f"SELECT {old_columns} FROM {old_source} AS o"  # noqa: S608 - see _joined
    new_rows = f"SELECT {new_columns} FROM {new_source} AS n"  # noqa: S608
    return (
        f"({old_rows} EXCEPT ALL {new_rows})",
        f"({new_rows} EXCEPT ALL {old_rows})",
    )


# --- Running ---------------------------------------------------------------------------


def _seconds(seconds: float | None) -> float:
    return seconds or float(settings.DATASETS_QUERY_SECONDS) * 6


def _table(sql: str, parameters: list[Any], seconds: float | None) -> pa.Table:
    con = query.connection().cursor()  # its own cursor, as a download has
    try:
        with query.Deadline(con, _seconds(seconds)) as deadline:
            try:
                return con.sql(sql, params=parameters).to_arrow_table()
            except (duckdb.Error, OSError) as exc:
                if query.interrupted(exc, deadline):
                    raise query.QueryTimeout from None
                raise
    finally:
        con.close()


def _by_key(old: Side, new: Side, plan: Layout, seconds: float | None) -> Counts | None:
    """The counts of a comparison by key, or ``None`` when the key is not unique where it
    matters: a key that two rows of a version share and the other version has too makes
    the join match a row more than once (a repeated key in rows only one version has
    stays a row added or removed, as it should)."""
    parameters = _Parameters()
    sources = (_source(old, parameters), _source(new, parameters))
    sql = (
        "SELECT count(*) FILTER (WHERE __in_old IS NULL) AS added, "  # noqa: S608
        "count(*) FILTER (WHERE __in_new IS NULL) AS removed, "
        "count(*) FILTER (WHERE __in_old AND __in_new AND __differs) AS changed, "
        "count(*) FILTER (WHERE __in_old AND __in_new AND NOT __differs) AS unchanged, "
        f"(SELECT count(*) FROM {sources[0]} AS o) AS old_rows, "
        f"(SELECT count(*) FROM {sources[1]} AS n) AS new_rows "
        f"FROM ({_joined(old, new, plan, parameters, sources)}) AS j"
    )
    found = {k: int(v) for k, v in _table(sql, parameters.values, seconds).to_pylist()[0].items()}
    matched = found["changed"] + found["unchanged"]
    if (
        found["removed"] + matched != found["old_rows"]
        or found["added"] + matched != found["new_rows"]
    ):
        return None
    return Counts(
        added=found["added"],
        removed=found["removed"],
        changed=found["changed"],
        unchanged=found["unchanged"],
    )


class _Summaries:
    """Summaries already computed in this process: two versions never change."""

    size = 128

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[Side, Side], Summary] = OrderedDict()

    def get(self, key: tuple[Side, Side]) -> Summary | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: tuple[Side, Side], summary: Summary) -> None:
        with self.lock:
            self.entries[key] = summary
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_summaries = _Summaries()


def summarize(old: Side, new: Side, *, seconds: float | None = None) -> Summary:
    """How the versions are compared, and how many rows were added, removed, changed and
    left as they were from ``old`` to ``new``."""
    cached = _summaries.get((old, new))
    if cached is not None:
        return cached
    plan = layout(old, new)
    counts = _by_key(old, new, plan, seconds) if plan.key else None
    if counts is None:
        if plan.key:  # not unique: whole rows
            plan = layout(old, new, key_unique=False)
        counts = _whole(old, new, plan, seconds)
    summary = Summary(layout=plan, counts=counts)
    _summaries.put((old, new), summary)
    return summary


def _whole(old: Side, new: Side, plan: Layout, seconds: float | None) -> Counts:
    """The counts of a comparison of whole rows."""
    parameters = _Parameters()
    if not plan.columns:  # nothing in common: every row of the one gone, of the other new
        sql = (
            f"SELECT (SELECT count(*) FROM {_source(old, parameters)} AS o) AS old_rows, "  # noqa: S608
            f"(SELECT count(*) FROM {_source(new, parameters)} AS n) AS new_rows"
        )
        found = _table(sql, parameters.values, seconds).to_pylist()[0]
        return Counts(
            added=int(found["new_rows"]), removed=int(found["old_rows"]), changed=0, unchanged=0
        )
    removed, added = _whole_rows(old, new, plan, parameters)
    sql = (
        f"SELECT (SELECT count(*) FROM {added} AS a) AS added, "  # noqa: S608
        f"(SELECT count(*) FROM {removed} AS r) AS removed, "
        f"(SELECT count(*) FROM {_source(new, parameters)} AS n) AS new_rows"
    )
    found = _table(sql, parameters.values, seconds).to_pylist()[0]
    return Counts(
        added=int(found["added"]),
        removed=int(found["removed"]),
        changed=0,
        unchanged=int(found["new_rows"]) - int(found["added"]),
    )


def _changes_sql(
    old: Side, new: Side, plan: Layout, parameters: _Parameters, *, limit: int, offset: int
) -> str:
    if plan.key:
        inner = _joined(old, new, plan, parameters)
        # The key orders; the values only break ties of a key repeated in rows that only
        # one version has, so that pages never overlap.
        order = ", ".join(
            [f"__k{i} NULLS LAST" for i in range(len(plan.key))]
            + [f"__o{i} NULLS LAST" for i in range(len(old.names))]
            + [f"__n{i} NULLS LAST" for i in range(len(new.names))]
        )
        sql = (
            f"SELECT * FROM ({inner}) AS j "  # noqa: S608 - see _joined
            f"WHERE __in_old IS NULL OR __in_new IS NULL OR __differs ORDER BY {order}"
        )
    else:
        removed, added = _whole_rows(old, new, plan, parameters)
        order = ", ".join(f"__c{i} NULLS LAST" for i in range(len(plan.columns)))
        sql = (
            f"SELECT * FROM (SELECT '{REMOVED}' AS __change, * FROM {removed} AS r "  # noqa: S608
            f"UNION ALL SELECT '{ADDED}' AS __change, * FROM {added} AS a) AS u "
            f"ORDER BY {order}, __change"
        )
    if limit:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return sql


def _row_changes(table: pa.Table, old: Side, new: Side, plan: Layout) -> list[RowChange]:
    found = []
    old_index = {name: i for i, name in enumerate(old.names)}
    new_index = {name: i for i, name in enumerate(new.names)}
    for item in table.to_pylist():
        if not plan.key:
            found.append(
                RowChange(
                    change=item["__change"],
                    key={},
                    row={c: item[f"__c{i}"] for i, c in enumerate(plan.columns)},
                )
            )
            continue
        key = {k: item[f"__k{i}"] for i, k in enumerate(plan.key)}
        if item["__in_old"] is None:
            row = {c: item[f"__n{i}"] for i, c in enumerate(new.names)}
            found.append(RowChange(change=ADDED, key=key, row=row))
        elif item["__in_new"] is None:
            row = {c: item[f"__o{i}"] for i, c in enumerate(old.names)}
            found.append(RowChange(change=REMOVED, key=key, row=row))
        else:
            columns = [
                ColumnChange(
                    column=c,
                    before=item[f"__o{old_index[c]}"],
                    after=item[f"__n{new_index[c]}"],
                )
                for i, c in enumerate(plan.columns)
                if item[f"__d{i}"]
            ]
            found.append(RowChange(change=CHANGED, key=key, columns=columns))
    return found


def changes(
    old: Side,
    new: Side,
    summary: Summary,
    *,
    offset: int = 0,
    limit: int = 50,
    seconds: float | None = None,
) -> list[RowChange]:
    """One page of changes, by key (or by the rows' values without a key)."""
    plan = summary.layout
    if not plan.key and not plan.columns:
        return []
    parameters = _Parameters()
    sql = _changes_sql(old, new, plan, parameters, limit=max(1, limit), offset=max(0, offset))
    return _row_changes(_table(sql, parameters.values, seconds), old, new, plan)


def stream(
    old: Side,
    new: Side,
    summary: Summary,
    *,
    seconds: float | None = None,
    batch_rows: int = 10_000,
) -> Iterator[list[RowChange]]:
    """Every change, in batches, for a download; each batch read within the time limit."""
    plan = summary.layout
    if not plan.key and not plan.columns:
        return
    parameters = _Parameters()
    sql = _changes_sql(old, new, plan, parameters, limit=0, offset=0)
    con = query.connection().cursor()
    limit = _seconds(seconds)
    try:
        with query.Deadline(con, limit) as deadline:
            try:
                reader = con.sql(sql, params=parameters.values).to_arrow_reader(batch_rows)
            except (duckdb.Error, OSError) as exc:
                if query.interrupted(exc, deadline):
                    raise query.QueryTimeout from None
                raise
        while True:
            with query.Deadline(con, limit) as deadline:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (duckdb.Error, OSError) as exc:
                    if query.interrupted(exc, deadline):
                        raise query.QueryTimeout from None
                    raise
            yield _row_changes(pa.Table.from_batches([batch]), old, new, plan)
    finally:
        con.close()


# --- Words -----------------------------------------------------------------------------


def change_label(change: str) -> str:
    return {ADDED: _("Added"), REMOVED: _("Removed"), CHANGED: _("Changed")}[change]


def how_compared(summary: Summary) -> str:
    """One sentence saying how the rows were matched."""
    plan = summary.layout
    if plan.key:
        return _("Rows are matched by their key: %(key)s.") % {"key": ", ".join(plan.key)}
    if not plan.columns:
        return _(
            "The two versions have no column in common: every row of the one counts as "
            "removed and every row of the other as added."
        )
    if plan.whole == KEY_NOT_UNIQUE:
        return _(
            "The key is not unique in these versions, so whole rows are compared: a row "
            "that changed shows as one removed and one added row."
        )
    return _(
        "This dataset has no key, so whole rows are compared: a row that changed shows as "
        "one removed and one added row."
    )


# --- As a download ---------------------------------------------------------------------


def csv_header(summary: Summary) -> list[str]:
    return ["change", *summary.layout.key, "column", "before", "after"]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_for_spreadsheet(value)
    return json_value(value)


def _row_text(row: dict[str, Any]) -> str:
    return json.dumps({k: json_value(v) for k, v in row.items()}, ensure_ascii=False)


def csv_lines(change: RowChange) -> list[list[Any]]:
    """One line per change: a changed row gives one line per changed column; an added or
    removed row one line with the whole row (as JSON) after or before."""
    key = [_cell(v) for v in change.key.values()]
    if change.change == CHANGED:
        return [
            [change.change, *key, _cell(c.column), _cell(c.before), _cell(c.after)]
            for c in change.columns
        ]
    whole = _cell(_row_text(change.row))
    if change.change == ADDED:
        return [[change.change, *key, "", "", whole]]
    return [[change.change, *key, "", whole, ""]]


def csv_stream(summary: Summary, batches: Iterator[list[RowChange]]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(name) for name in csv_header(summary)])
    for batch in batches:
        for change in batch:
            writer.writerows(csv_lines(change))
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
    yield out.getvalue().encode()
