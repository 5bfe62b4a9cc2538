"""Rows as the formats people download them in: CSV and Excel (text a spreadsheet will not
run as a formula), NDJSON and JSON, streamed batch by batch. Shared by the query API and
the downloads of whole versions.

Every text that reaches a spreadsheet gets the same treatment: cells, column headers and
sheet names alike (``safe_for_spreadsheet``, :func:`excel_text`, :func:`sheet_title`). In
Excel, headers are written as explicit string cells, and no text reaches openpyxl starting
with ``=``, so it never turns one into a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from regiohub.datasets.ingest import safe_for_spreadsheet


def json_value(value: Any) -> Any:
    """A value as JSON holds it: dates and times in ISO 8601, NaN as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def json_rows(table: Any) -> list[tuple[Any, ...]]:
    """The rows of an Arrow table, each value as :func:`json_value` makes it, built column
    by column: a date or time is written once per distinct value, not once per row (the
    time key of a grouped answer repeats on every row of its bucket)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: list[list[Any]] = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            encoded = pc.dictionary_encode(column.combine_chunks())
            words = [json_value(v) for v in encoded.dictionary.to_pylist()]
            columns.append([None if i is None else words[i] for i in encoded.indices.to_pylist()])
        else:
            values = column.to_pylist()
            if pa.types.is_floating(kind) and any(v != v for v in values):  # NaN
                values = [json_value(v) for v in values]
            columns.append(values)
    if not columns:
        return [() for _ in range(table.num_rows)]
    return list(zip(*columns, strict=True))


#: Characters XML 1.0 (and so an .xlsx file) cannot hold.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Characters Excel does not allow in a sheet name (and control characters).
_NOT_IN_SHEET_NAME = re.compile(r"[\\*?:/\[\]\x00-\x1f\x7f\ufffe\uffff]")
#: The most characters an Excel cell holds.
EXCEL_MAX_TEXT = 32_767


def excel_text(text: str) -> str:
    """Text for an Excel cell: safe as a spreadsheet's text, without the characters XML
    cannot hold (shown as U+FFFD), at most :data:`EXCEL_MAX_TEXT` characters."""
    return safe_for_spreadsheet(_NOT_IN_XML.sub("\ufffd", text))[:EXCEL_MAX_TEXT]


def sheet_title(text: str, default: str = "data") -> str:
    """A sheet name Excel accepts, that no spreadsheet reads as a formula: without
    ``\\ / * ? : [ ]`` and control characters, not starting or ending with ``'`` (Excel
    refuses that, so a would-be formula gets ``_`` before it instead), at most 31
    characters."""
    title = _NOT_IN_SHEET_NAME.sub("_", text).strip("_ '")
    if safe_for_spreadsheet(title) != title:
        title = "_" + title
    return title[:31].rstrip("'") or default


def csv_stream(columns: list[str], batches: Iterable[Any]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_for_spreadsheet(str(name)) for name in columns])
    for batch in batches:
        for row in batch.to_pylist():
            writer.writerow(
                [
                    safe_for_spreadsheet(v) if isinstance(v, str) else json_value(v)
                    for v in row.values()
                ]
            )
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
    yield out.getvalue().encode()


def _objects(batch: Any) -> list[str]:
    return [
        json.dumps({k: json_value(v) for k, v in row.items()}, ensure_ascii=False)
        for row in batch.to_pylist()
    ]


def ndjson_stream(batches: Iterable[Any]) -> Iterator[bytes]:
    for batch in batches:
        yield "".join(text + "\n" for text in _objects(batch)).encode()


def json_array_stream(batches: Iterable[Any]) -> Iterator[bytes]:
    yield b"["
    first = True
    for batch in batches:
        texts = _objects(batch)
        if texts:
            yield (("" if first else ",") + ",".join(texts)).encode()
            first = False
    yield b"]"


def _excel_text_cell(sheet: Any, text: str) -> Any:
    """Text as an explicit string cell: openpyxl never makes it a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=excel_text(text))
    cell.data_type = "s"
    return cell


def _excel_value(sheet: Any, value: Any) -> Any:
    """A value for an Excel row: text made safe (a plain string is cheaper than a cell,
    and safe text never starts with ``=``, the only start openpyxl makes a formula of;
    should it ever, it becomes an explicit string cell), times without their zone (Excel
    has none; they are the wall-clock time of the column)."""
    if isinstance(value, str):
        text = excel_text(value)
        return _excel_text_cell(sheet, text) if text.startswith("=") else text
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def write_xlsx(target: Path, title: str, header: list[str], batches: Iterable[Any]) -> None:
    """One sheet called ``title`` (see :func:`sheet_title`) with ``header`` and the rows of
    ``batches``, written row by row to ``target``."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title(title))
    sheet.append([_excel_text_cell(sheet, str(name)) for name in header])
    for batch in batches:
        for row in batch.to_pylist():
            sheet.append([_excel_value(sheet, value) for value in row.values()])
    book.save(target)
