"""What a load does to a dataset's rows, worked out before anything is written: rows added,
updated, unchanged and removed, the rows that would break the key promise, the first
changed rows, and what to write.

:func:`compute` counts for every mode. ``services.publish`` stores its counts on the new
version, and the load page, the version table, the API, the history and the event all read
them there; a dry run (``services.dry_run``) shows the same counts without writing. The
counts compare the new version with the one before, as ``datasets.compare`` compares two
versions::

    added + updated + unchanged   = the new version's rows
    updated + unchanged + removed = the previous version's rows

A dataset with key columns never holds two rows with the same key (ADR 0022):

- ``append``: a row whose key the current version holds already is a conflict, and so is
  a key the current version holds twice (loaded before keys were checked): the load is
  refused, naming the rows;
- ``upsert``: a row with a known key replaces that row, the others are added; keys the
  current version holds more than once are collapsed to the row loaded last, and the
  rows dropped count as removed;
- ``replace``: the rows loaded are the new version; rows are matched by key to count.

Keys repeated or empty within the rows loaded are refused before this runs
(``services.repeated_keys``). Without key columns rows have no identity: whole rows are
compared (over the columns both versions have), so a changed row is one removed and one
added row.

The previous version is read with DuckDB from its Parquet files (where it can, only the
key columns, and only row groups within the range of the loaded keys); the rows loaded are
registered as an Arrow table, or, for a file loaded in batches, as the staged file they
were written to (``ingest.StagedRows``, read through Arrow: DuckDB itself opens no file
outside the dataset tables). What to write is then staged beside it too, so that no load
holds all its rows in memory. Nothing is written to the dataset here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from regiohub.datasets import query, storage
from regiohub.datasets.formats import json_value
from regiohub.datasets.ingest.staging import INDEX, StagedRows

APPEND = "append"
UPSERT = "upsert"
REPLACE = "replace"
#: Changed rows listed by a dry run, per kind (updated, added, removed).
SAMPLE_ROWS = 20
#: Conflicting rows named when an append is refused (the total is counted).
MAX_CONFLICTS = 100
#: Keys the current version holds more than once, named as examples.
MAX_REPEATED_KEYS = 5

_INDEX = INDEX  # the position of a loaded row (no column may start with "__")
#: Rows loaded: in memory, or staged in a file (a big file loaded in batches).
Rows = pa.Table | StagedRows


@dataclass(frozen=True)
class CellChange:
    column: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RowChange:
    """A row that is added, updated, removed or in conflict: its 0-based position among
    the rows loaded (``None`` for a removed row), its key and, for an updated row, the
    columns that change."""

    index: int | None
    key: dict[str, Any]
    columns: list[CellChange] = field(default_factory=list)


@dataclass
class Changes:
    mode: str
    primary_key: list[str]
    rows: int  # rows loaded
    previous_version: int | None = None
    previous_rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    #: Rows of the previous version whose key another of its rows has too (all but one
    #: per key): an upsert removes them (counted in ``removed``), an append is refused.
    repeated: int = 0
    repeated_keys: list[dict[str, Any]] = field(default_factory=list)
    #: An append's rows whose key the previous version holds (the first few; ``conflict_count``
    #: all of them).
    conflicts: list[RowChange] = field(default_factory=list)
    conflict_count: int = 0
    updated_rows: list[RowChange] = field(default_factory=list)
    added_rows: list[RowChange] = field(default_factory=list)
    removed_rows: list[RowChange] = field(default_factory=list)
    #: What ``storage.write`` is given: a mode ("" when nothing changes) and its rows.
    write_mode: str = ""
    write_rows: Rows | None = None

    @property
    def refused(self) -> bool:
        """The load would break the key promise: nothing may be written."""
        return self.mode == APPEND and bool(self.conflict_count or self.repeated)

    @property
    def row_count(self) -> int:
        """Rows in the version the load makes."""
        return self.added + self.updated + self.unchanged

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
        }

    def report(self, row_number: Callable[[int], int]) -> dict[str, Any]:
        """The changes as JSON (a dry run's answer), with ``row_number(index)`` the row
        number the steward sees in the file."""

        def row(change: RowChange) -> dict[str, Any]:
            item: dict[str, Any] = {"key": _json(change.key)}
            if change.index is not None:
                item["row"] = row_number(change.index)
            if change.columns:
                item["columns"] = [
                    {
                        "column": c.column,
                        "before": json_value(c.before),
                        "after": json_value(c.after),
                    }
                    for c in change.columns
                ]
            return item

        return {
            "mode": self.mode,
            "primary_key": list(self.primary_key),
            "version": self.previous_version,
            "rows": self.rows,
            "counts": self.counts,
            "row_count": self.row_count,
            "repeated": self.repeated,
            "repeated_keys": [_json(k) for k in self.repeated_keys],
            "updated_rows": [row(c) for c in self.updated_rows],
            "added_rows": [row(c) for c in self.added_rows],
            "removed_rows": [row(c) for c in self.removed_rows],
        }


#: Table versions known to hold every key once: those this process wrote with the key (an
#: append is refused and an upsert collapses otherwise). A table version never changes, so
#: the next feed batch need not count the whole table's keys again.
_UNIQUE_KEYS_SIZE = 256
_unique_keys: OrderedDict[tuple[str, int, tuple[str, ...]], bool] = OrderedDict()
_unique_lock = threading.Lock()


def remember_unique(storage_key: str, delta_version: int, primary_key: Sequence[str]) -> None:
    """``delta_version`` of the table holds each ``primary_key`` once (``services.publish``
    wrote it through :func:`compute`)."""
    if not primary_key:
        return
    with _unique_lock:
        _unique_keys[(storage_key, delta_version, tuple(primary_key))] = True
        while len(_unique_keys) > _UNIQUE_KEYS_SIZE:
            _unique_keys.popitem(last=False)


def _known_unique(storage_key: str, delta_version: int, primary_key: Sequence[str]) -> bool:
    with _unique_lock:
        return (storage_key, delta_version, tuple(primary_key)) in _unique_keys


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in values.items()}


def _q(name: str) -> str:
    return query.quote(name)


def compute(
    rows: Rows,
    *,
    mode: str,
    schema: list[dict[str, Any]],
    primary_key: Sequence[str],
    previous: Any | None,
) -> Changes:
    """What loading ``rows`` (typed as ``schema``) with ``mode`` does to the dataset whose
    current version is ``previous`` (a ``DatasetVersion``, or ``None``)."""
    if mode not in (APPEND, UPSERT, REPLACE):
        raise ValueError(f"unknown mode {mode!r}")
    if mode == UPSERT and not primary_key:
        raise ValueError("an upsert needs a primary key")
    found = Changes(
        mode=mode,
        primary_key=list(primary_key),
        rows=rows.num_rows,
        previous_version=previous.number if previous is not None else None,
    )
    files = storage.files(previous.dataset.storage_key, previous.delta_version) if previous else []
    if not files:  # nothing there yet: every row is new
        found.added = rows.num_rows
        found.write_mode, found.write_rows = mode, rows
        return found
    con = query.connection().cursor()  # its own cursor, as a download has
    try:
        _Counter(con, rows, schema, previous, files, found).run()
    finally:
        con.close()
    return found


class _Counter:
    """The queries of one :func:`compute`, on one DuckDB cursor."""

    def __init__(
        self,
        con: Any,
        rows: Rows,
        schema: list[dict[str, Any]],
        previous: Any,
        files: list[str],
        found: Changes,
    ) -> None:
        self.con = con
        self.rows = rows
        self.found = found
        self.previous = previous
        self.files = files
        self._times_registered = False
        self.new_types = {c["key"]: c["type"] for c in schema}
        self.old_types = {c["key"]: c["type"] for c in previous.schema}
        self.staged = isinstance(rows, StagedRows)
        self.names = [name for name in rows.column_names if name in self.new_types]
        keys = list(found.primary_key)
        # Rows are matched by key only when every key column is in both versions with
        # the same type (a replacement may change the columns); else whole rows count.
        usable = all(self.old_types.get(k) == self.new_types.get(k) for k in keys)
        self.keys = keys if usable else []
        common = [n for n in self.names if n in self.old_types]
        self.compared = [n for n in common if n not in self.keys]
        self.as_text = {n for n in common if self.old_types[n] != self.new_types[n]}

    # --- SQL pieces ------------------------------------------------------------------

    def _value(self, alias: str, name: str) -> str:
        expression = f"{alias}.{_q(name)}"
        return f"CAST({expression} AS VARCHAR)" if name in self.as_text else expression

    def _on(self) -> str:
        return " AND ".join(f"o.{_q(k)} = n.{_q(k)}" for k in self.keys)

    def _differs(self, column: str) -> str:
        return f"({self._value('o', column)} IS DISTINCT FROM {self._value('n', column)})"

    def _any_differs(self) -> str:
        return " OR ".join(self._differs(c) for c in self.compared) or "false"

    def _key_list(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + _q(k) for k in self.keys)

    def _in_range(self) -> tuple[str, list[Any]]:
        """A filter on the previous version's key columns: within the range of the loaded
        keys, so DuckDB skips row groups outside it (a corrected month, a feed's hours)."""
        clauses, parameters = [], []
        for key in self.keys:
            if isinstance(self.rows, StagedRows):
                low, high = self.rows.ranges.get(key, (None, None))
            else:
                bounds = pc.min_max(self.rows[key])
                low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if low is None or high is None:
                return "true", []
            clauses.append(f"{_q(key)} BETWEEN ? AND ?")
            parameters += [low, high]
        return " AND ".join(clauses) or "true", parameters

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(parameters)).fetchall()

    # --- Counting --------------------------------------------------------------------

    def run(self) -> None:
        found = self.found
        if isinstance(self.rows, StagedRows):
            self.con.register("new_rows", self.rows.dataset())  # its positions are in it
        else:
            indexed = self.rows.select(self.names).append_column(
                _INDEX, pa.array(range(self.rows.num_rows), pa.int64())
            )
            self.con.register("new_rows", indexed)
        # The paths come from the table log, never from a user (see query.files_literal).
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW old_rows AS SELECT * FROM "  # noqa: S608
            f"read_parquet({query.files_literal(self.files)}, filename = '__file', "
            "file_row_number = true)"
        )
        found.previous_rows = int(self._all("SELECT count(*) FROM old_rows")[0][0])
        if self.keys:
            self._repeated()
        if found.mode == APPEND:
            self._append()
        elif self.keys:
            self._by_key()
        else:
            self._whole_rows()

    def _repeated(self) -> None:
        """Keys the previous version holds more than once (loaded before they were
        checked)."""
        previous = self.previous
        if _known_unique(previous.dataset.storage_key, previous.delta_version, self.keys):
            return
        keys = self._key_list()
        extra = self._all(
            f"SELECT coalesce(sum(n) - count(*), 0) FROM (SELECT count(*) AS n "  # noqa: S608
            f"FROM old_rows GROUP BY {keys} HAVING count(*) > 1) AS r"
        )[0][0]
        self.found.repeated = int(extra)
        if self.found.repeated:
            examples = self._all(
                f"SELECT {keys} FROM old_rows GROUP BY {keys} "  # noqa: S608
                f"HAVING count(*) > 1 ORDER BY {keys} LIMIT {MAX_REPEATED_KEYS}"
            )
            self.found.repeated_keys = [dict(zip(self.keys, r, strict=True)) for r in examples]

    def _kept(self, where: str = "true") -> str:
        """The previous version's rows, one per key: where a key is there more than once,
        the row loaded last (by the time its file was written, then its place in it)."""
        if not self.found.repeated:
            return f"(SELECT * FROM old_rows WHERE {where})"  # noqa: S608
        if not self._times_registered:
            self.con.register("file_times", self._file_times())
            self._times_registered = True
        partition = self._key_list("o")
        return (
            "(SELECT * EXCLUDE (__rank, __written, __place) FROM (SELECT o.*, "  # noqa: S608
            "t.__written, t.__place, row_number() OVER (PARTITION BY "
            f"{partition} ORDER BY t.__written DESC, t.__place DESC, o.file_row_number DESC) "
            "AS __rank FROM old_rows AS o JOIN file_times AS t ON o.__file = t.__file "
            f"WHERE {where}) AS ranked WHERE __rank = 1)"
        )

    def _file_times(self) -> pa.Table:
        table = storage.open_table(self.previous.dataset.storage_key, self.previous.delta_version)
        actions = pa.table(table.get_add_actions(flatten=True)).select(
            ["path", "modification_time"]
        )
        written = {
            str(p): int(t.timestamp() * 1000) if hasattr(t, "timestamp") else int(t or 0)
            for p, t in zip(
                actions["path"].to_pylist(), actions["modification_time"].to_pylist(), strict=True
            )
        }
        times, places = [], []
        for place, uri in enumerate(self.files):
            times.append(next((t for p, t in written.items() if uri.endswith(p)), 0))
            places.append(len(self.files) - place)  # the table lists its newest files first
        return pa.table(
            {
                "__file": pa.array(self.files, pa.string()),
                "__written": pa.array(times, pa.int64()),
                "__place": pa.array(places, pa.int64()),
            }
        )

    def _append(self) -> None:
        found = self.found
        found.added = found.rows
        found.unchanged = found.previous_rows
        if self.keys:
            where, parameters = self._in_range()
            keys = self._key_list("n")
            conflicts = self._all(
                f"SELECT n.{_INDEX}, {keys}, count(*) OVER () FROM new_rows AS n "  # noqa: S608
                f"SEMI JOIN (SELECT {self._key_list()} FROM old_rows WHERE {where}) AS o "
                f"ON {self._on()} ORDER BY n.{_INDEX} LIMIT {MAX_CONFLICTS}",
                parameters,
            )
            found.conflicts = [
                RowChange(index=r[0], key=dict(zip(self.keys, r[1:-1], strict=True)))
                for r in conflicts
            ]
            found.conflict_count = int(conflicts[0][-1]) if conflicts else 0
        if not found.refused:
            found.write_mode, found.write_rows = APPEND, self.rows

    def _by_key(self) -> None:
        """An upsert or a replacement, matched by key."""
        found = self.found
        where, parameters = self._in_range()
        columns = ", ".join(_q(n) for n in [*self.keys, *self.compared])
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE matched AS "  # noqa: S608
            f"SELECT n.{_INDEX}, o.__hit IS NOT NULL AS __known, "
            f"o.__hit IS NOT NULL AND ({self._any_differs()}) AS __differs "
            f"FROM new_rows AS n LEFT JOIN (SELECT {columns}, true AS __hit "
            f"FROM {self._kept(where)} AS k) AS o ON {self._on()}",
            parameters,
        )
        added, updated = self._all(
            "SELECT count(*) FILTER (WHERE NOT __known), count(*) FILTER (WHERE __differs) "
            "FROM matched"
        )[0]
        found.added, found.updated = int(added), int(updated)
        known = found.rows - found.added
        if found.mode == UPSERT:
            found.removed = found.repeated
            found.unchanged = found.previous_rows - found.removed - found.updated
        else:
            found.unchanged = known - found.updated
            found.removed = found.previous_rows - known
        self._samples(where, parameters)
        if found.mode == REPLACE:
            found.write_mode, found.write_rows = REPLACE, self.rows
        elif found.repeated:
            # Rewrite the whole table once: the previous rows, one per key, that the load
            # does not replace, and the loaded rows.
            names = ", ".join(_q(n) for n in self.names)
            whole = self.con.sql(
                f"SELECT {names} FROM {self._kept()} AS o WHERE NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM new_rows AS n WHERE {self._on()}) "
                f"UNION ALL SELECT {names} FROM new_rows"
            )
            found.write_mode, found.write_rows = REPLACE, self._rows_of(whole, "whole")
        elif isinstance(self.rows, StagedRows):
            # Only rows that change go into the merge: staged beside the rows loaded.
            names = ", ".join(f"n.{_q(n)}" for n in self.names)
            changed = self.con.sql(
                f"SELECT {names} FROM new_rows AS n JOIN matched AS m ON "  # noqa: S608
                f"m.{_INDEX} = n.{_INDEX} WHERE NOT m.__known OR m.__differs ORDER BY n.{_INDEX}"
            )
            staged = self._rows_of(changed, "changed")
            if staged.num_rows:
                found.write_mode, found.write_rows = UPSERT, staged
        else:
            # Only rows that change go into the merge.
            changed = self.con.sql(
                f"SELECT {_INDEX} FROM matched WHERE NOT __known OR __differs "  # noqa: S608
                f"ORDER BY {_INDEX}"
            ).to_arrow_table()[_INDEX]
            if len(changed):
                found.write_mode, found.write_rows = UPSERT, self.rows.take(changed)

    def _rows_of(self, relation: Any, name: str) -> Rows:
        """The rows of a query, typed as the rows loaded: in memory, or staged beside the
        staged rows loaded (read in record batches, never all at once)."""
        target = self.rows.select(self.names).schema if isinstance(self.rows, pa.Table) else None
        if target is not None:
            return relation.to_arrow_table().cast(target)
        assert isinstance(self.rows, StagedRows)
        writer = self.rows.writer(name)
        try:
            writer.write_batches(iter(relation.to_arrow_reader(64 * 1024)))
        except BaseException:
            writer.abort()
            raise
        return writer.finish()

    def _samples(self, where: str, parameters: list[Any]) -> None:
        found = self.found
        keys = self._key_list("n")
        before = ", ".join(self._value("o", c) for c in self.compared)
        after = ", ".join(self._value("n", c) for c in self.compared)
        differs = ", ".join(self._differs(c) for c in self.compared)
        if self.compared:
            updated = self._all(
                f"SELECT n.{_INDEX}, {keys}, {before}, {after}, {differs} "  # noqa: S608
                f"FROM new_rows AS n JOIN {self._kept(where)} AS o ON {self._on()} "
                f"WHERE {self._any_differs()} ORDER BY n.{_INDEX} LIMIT {SAMPLE_ROWS}",
                parameters,
            )
            width, k = len(self.compared), len(self.keys)
            for item in updated:
                values = item[1 + k :]
                found.updated_rows.append(
                    RowChange(
                        index=item[0],
                        key=dict(zip(self.keys, item[1 : 1 + k], strict=True)),
                        columns=[
                            CellChange(column=c, before=values[i], after=values[width + i])
                            for i, c in enumerate(self.compared)
                            if values[2 * width + i]
                        ],
                    )
                )
        added = self._all(
            f"SELECT n.{_INDEX}, {keys} FROM new_rows AS n "  # noqa: S608
            f"ANTI JOIN (SELECT {self._key_list()} FROM old_rows WHERE {where}) AS o "
            f"ON {self._on()} ORDER BY n.{_INDEX} LIMIT {SAMPLE_ROWS}",
            parameters,
        )
        found.added_rows = [
            RowChange(index=r[0], key=dict(zip(self.keys, r[1:], strict=True))) for r in added
        ]
        if found.mode == REPLACE:
            removed = self._all(
                f"SELECT {self._key_list('o')} FROM {self._kept()} AS o "  # noqa: S608
                f"ANTI JOIN new_rows AS n ON {self._on()} "
                f"ORDER BY {self._key_list('o')} LIMIT {SAMPLE_ROWS}"
            )
            found.removed_rows = [
                RowChange(index=None, key=dict(zip(self.keys, r, strict=True))) for r in removed
            ]

    def _whole_rows(self) -> None:
        """A replacement without a usable key: whole rows compared, over the columns both
        versions have, as often as they occur (EXCEPT ALL)."""
        found = self.found
        found.write_mode, found.write_rows = REPLACE, self.rows
        common = [n for n in self.names if n in self.old_types]
        if not common:
            found.added, found.removed = found.rows, found.previous_rows
            return
        old = ", ".join(self._value("o", c) for c in common)
        new = ", ".join(self._value("n", c) for c in common)
        old_rows = f"SELECT {old} FROM old_rows AS o"  # noqa: S608 - names from the schema
        new_rows = f"SELECT {new} FROM new_rows AS n"  # noqa: S608
        added, removed = self._all(
            f"SELECT (SELECT count(*) FROM ({new_rows} EXCEPT ALL {old_rows}) AS a), "  # noqa: S608
            f"(SELECT count(*) FROM ({old_rows} EXCEPT ALL {new_rows}) AS r)"
        )[0]
        found.added, found.removed = int(added), int(removed)
        found.unchanged = found.rows - found.added
