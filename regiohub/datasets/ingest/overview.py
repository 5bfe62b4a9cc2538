"""What a big file holds, read batch by batch (the inspect step of a load that streams):
its first rows, the columns guessed from them, its total rows and how many rows it has.

Gives what read_raw + infer_schema + find_totals + without_totals give for a whole file:
the columns are guessed from the first HEAD_ROWS rows (infer_schema itself looks at the
first 10,000 values of a column), whether a column may be empty is counted over every row,
and total rows are found by their label in every row. Totals found by their sums are only
looked for in files of up to SUM_ROWS rows, as for a whole file: such a file is read whole
here too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .infer import infer_schema
from .stream import RawStream, ReadAgain, open_stream
from .totals import (
    MAX_TOTALS,
    SUM_ROWS,
    TOTAL_PATTERN,
    _labelled,
    find_totals,
    without_totals,
)
from .types import ColumnSpec, ColumnType, RawTable, ReadOptions, TotalRow

#: Rows read before the columns are guessed.
HEAD_ROWS = SUM_ROWS


@dataclass(frozen=True)
class Survey:
    raw: RawTable  # the first rows (at most HEAD_ROWS), without the total rows found
    schema: list[ColumnSpec]
    totals: list[TotalRow]
    rows: int  # records in the file, total rows left out


def survey(
    path: Path, *, filename: str, options: ReadOptions | None = None, batch_rows: int = 0
) -> Survey:
    """Read the file at ``path`` batch by batch; see the module's docstring."""
    options = replace(options or ReadOptions(), exclude_rows=())
    with open_stream(path, filename=filename, options=options, batch_rows=batch_rows) as stream:
        for _attempt in range(3):
            try:
                return _survey(stream)
            except ReadAgain:
                continue
    raise AssertionError("read again more than twice")  # pragma: no cover


def _survey(stream: RawStream) -> Survey:
    head: list[RawTable] = []
    head_rows = 0
    schema: list[ColumnSpec] | None = None
    nulls: dict[str, int] = {}
    labels: list[tuple[int, str, tuple]] = []  # (record, label, values)
    for batch in stream:
        if schema is None:
            head.append(batch)
            head_rows += batch.num_rows
            if head_rows <= HEAD_ROWS:
                continue
            schema = infer_schema(_joined(head, stream))
            for earlier in head[:-1]:
                _count(earlier, schema, nulls, labels)
        _count(batch, schema, nulls, labels)
    whole = _joined(head, stream)
    if schema is None:  # a small file: exactly as read_raw and inspect read it whole
        whole = _numbered(whole, stream)
        schema = infer_schema(whole)
        totals = find_totals(whole, schema)
        raw = whole
        if totals:
            raw, schema = without_totals(whole, schema, totals)
        return Survey(raw, schema, totals, raw.num_rows)
    totals = [
        TotalRow(stream.row_of_record(record), label, values)
        for record, label, values in labels[:MAX_TOTALS]
    ]
    if set(whole.columns) != {spec.name for spec in schema}:  # NDJSON keys seen later
        schema = infer_schema(whole)
    raw = whole
    if totals:
        raw = _numbered(whole, stream)
        in_head = [total for total in totals if raw.index_of(total.row) is not None]
        raw, schema = without_totals(raw, schema, in_head)
    for spec in schema:
        spec.nullable = nulls.get(spec.name, 0) > 0
    return Survey(raw, schema, totals, stream.records - len(totals))


def _joined(head: list[RawTable], stream: RawStream) -> RawTable:
    """The first batches as one RawTable (numbered by record, as the batches are)."""
    assert stream.info is not None
    names = stream.info.columns
    tables = [_with_columns(batch.table, names) for batch in head]
    table = pa.concat_tables(tables) if tables else stream.info.table
    native: dict[str, pa.Array] = {}
    for name in names:
        if any(name in batch.native for batch in head):
            parts = [
                batch.native.get(name, pa.nulls(batch.num_rows, pa.float64())) for batch in head
            ]
            native[name] = pa.concat_arrays(parts)
    return replace(stream.info, table=table, first_row=0, skipped_rows=(), native=native)


def _with_columns(table: pa.Table, names: list[str]) -> pa.Table:
    """The table with every column of the file (an NDJSON key first seen later is empty)."""
    columns = [
        table.column(name) if name in table.column_names else pa.nulls(table.num_rows, pa.string())
        for name in names
    ]
    return pa.table(columns, names=names)


def _numbered(raw: RawTable, stream: RawStream) -> RawTable:
    """The first rows numbered as in the file."""
    return replace(raw, first_row=stream.first_row, skipped_rows=stream.skipped_rows)


def _count(
    batch: RawTable,
    schema: list[ColumnSpec],
    nulls: dict[str, int],
    labels: list[tuple[int, str, tuple]],
) -> None:
    for name in batch.columns:
        nulls[name] = nulls.get(name, 0) + batch.table.column(name).null_count
    if len(labels) >= MAX_TOTALS:
        return
    present = [spec for spec in schema if spec.name in batch.columns]
    found = _labelled(batch, present)
    for spec in present:  # a label in a column of numbers or dates ("Totaal" under "Jaar")
        if spec.type != ColumnType.TEXT:
            for index, label in _labelled_among(batch.table.column(spec.name)):
                found.setdefault(index, label)
    for index, label in sorted(found.items()):
        values = tuple(batch.table.slice(index, 1).to_pylist()[0].values())
        labels.append((batch.row_number(index), label, values))


def _labelled_among(column: pa.ChunkedArray) -> list[tuple[int, str]]:
    """The total labels in a column of numbers or dates: only values that start with
    something other than a digit or a sign are looked at (a look at their first byte)."""
    found = []
    offset = 0
    for chunk in column.chunks:
        candidates = _not_numeric(chunk)
        if candidates is None:
            candidates = np.arange(len(chunk))
        if len(candidates):
            values = pc.take(chunk, pa.array(candidates))
            mask = pc.fill_null(pc.match_substring_regex(values, TOTAL_PATTERN), False)
            hits = pc.indices_nonzero(mask).to_numpy()
            texts = pc.take(values, pa.array(hits)).to_pylist()
            for hit, text in zip(hits.tolist(), texts, strict=True):
                found.append((offset + int(candidates[hit]), " ".join(text.split())))
        offset += len(chunk)
    return found


def _not_numeric(chunk: pa.Array) -> np.ndarray | None:
    """Positions of the values that do not start with a digit, a sign or a decimal mark;
    None when the array is not a plain string array."""
    if chunk.type != pa.string() or not len(chunk):
        return None if chunk.type != pa.string() else np.empty(0, np.int64)
    _validity, offsets, data = chunk.buffers()
    if data is None:
        return np.empty(0, np.int64)
    starts = np.frombuffer(offsets, np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
    lengths = np.diff(starts)
    bytes_ = np.frombuffer(data, np.uint8)
    present = lengths > 0
    first = np.zeros(len(chunk), np.uint8)
    first[present] = bytes_[starts[:-1][present]]
    numeric = ((first >= 0x30) & (first <= 0x39)) | np.isin(first, np.frombuffer(b"+-.,", np.uint8))
    return np.flatnonzero(present & ~numeric)
