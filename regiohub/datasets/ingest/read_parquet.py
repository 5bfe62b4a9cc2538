"""Reading Parquet into string columns, as every other format is read.

A Parquet file says what its columns are, but a load still goes through the same steps as
a CSV (infer, review, convert), so that the steward sees and may correct the columns and
every check (empty keys, formulas, the doubled autumn hour) is the same. The values are
written as text the way infer.py reads them back: numbers with a decimal point (the
column's convention is the point), dates as ISO 8601, times in UTC with a `Z` when the
file stores them in UTC and as local Belgian times when it does not, booleans as
true/false, nested values as JSON. Row numbers are record numbers, starting at 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from .columns import check_column_names
from .errors import IngestError
from .types import RawTable, ReadOptions

#: What a damaged or unreadable Parquet file raises while it is read.
_DAMAGED = (pa.ArrowException, OSError, ValueError)


def read_parquet(path: Path, options: ReadOptions) -> RawTable:
    file = open_parquet(path)
    try:
        table = file.read()
    except _DAMAGED:
        raise damaged() from None
    finally:
        file.close()
    if table.num_rows == 0:
        raise IngestError(_("The file has a header row but no data rows."))
    return to_raw(table, options)


def open_parquet(path: Path) -> pq.ParquetFile:
    try:
        file = pq.ParquetFile(path)
    except _DAMAGED:
        raise damaged() from None
    check_column_names(file.schema_arrow.names)
    return file


def iter_parquet(file: pq.ParquetFile, batch_rows: int) -> Iterator[pa.Table]:
    """The file's records as text columns, ``batch_rows`` at a time."""
    try:
        for batch in file.iter_batches(batch_size=batch_rows):
            yield as_text(pa.Table.from_batches([batch]))
    except _DAMAGED:
        raise damaged() from None


def to_raw(table: pa.Table, options: ReadOptions) -> RawTable:
    return RawTable(
        table=as_text(table),
        format="parquet",
        header_row=0,
        decimal=options.decimal or ".",
        first_row=1,
    )


def damaged() -> IngestError:
    return IngestError(_("This file is not a valid Parquet file, or it is damaged."))


def as_text(table: pa.Table) -> pa.Table:
    names = check_column_names(table.column_names)
    columns = [_text(table.column(index)) for index in range(table.num_columns)]
    return pa.table(columns, names=names)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column.cast(pa.string())
        blank = pc.equal(pc.utf8_trim_whitespace(text), "")
        return pc.if_else(blank, pa.scalar(None, pa.string()), text)
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "true", "false")
    if pa.types.is_timestamp(kind):
        if _whole_seconds(column):  # no fraction of a second to write
            column = column.cast(pa.timestamp("s", kind.tz))
        if kind.tz is None:  # local time
            return pc.strftime(column, "%Y-%m-%dT%H:%M:%S")
        utc = column.cast(pa.timestamp(column.type.unit, "UTC"))
        return pc.strftime(utc, "%Y-%m-%dT%H:%M:%SZ")
    if (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_date(kind)
        or pa.types.is_time(kind)
    ):
        return column.cast(pa.string())
    # Nested values, binary and what else a Parquet file may hold: as JSON text.
    return pa.array([_json(value) for value in column.to_pylist()], pa.string())


def _whole_seconds(column: pa.ChunkedArray) -> bool:
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[column.type.unit]
    if per_second == 1:
        return True
    numbers = column.cast(pa.int64())
    whole = pc.multiply(pc.divide(numbers, per_second), per_second)  # divide truncates
    return not pc.any(pc.not_equal(numbers, whole)).as_py()


def _json(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
