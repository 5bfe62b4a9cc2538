"""Reading delimited text (CSV, TSV, TXT) into string columns with pyarrow's CSV reader.

pyarrow parses on all cores and never turns a value into anything but text here; typing
the values is done afterwards (infer.py, convert.py). The header is found by us in the
first rows (title rows above it skipped, header rows joined: layout.py), so its names can
be checked and reported before pyarrow reads the rest; empty columns without a name are
left out after.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.utils.translation import gettext as _

from .errors import IngestError
from .layout import (
    HEADER_SEARCH_ROWS,
    MAX_HEADER_ROWS,
    Sheet,
    find_header,
    header_hint,
    keep_columns,
)
from .sniff import SAMPLE_BYTES, decode, detect_delimiter, detect_encoding
from .types import RawTable, ReadOptions, shift_past

# A newline followed by an empty line (pyarrow skips empty lines, we count them).
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


def read_csv(data: bytes, options: ReadOptions) -> RawTable:
    encoding = options.encoding or detect_encoding(data)
    utf8 = _as_utf8(data, encoding)
    if b"\x00" in utf8:
        raise IngestError(
            _(
                "This file is not a text file we can read: it contains binary data or uses "
                "an unknown character encoding. Save it as CSV (UTF-8) or Excel and try again."
            )
        )
    try:
        return _read(utf8, encoding, options)
    except _NotUtf8:
        if options.encoding:
            raise IngestError(
                _("The file is not in the encoding %(encoding)s.") % {"encoding": encoding}
            ) from None
        # The start looked like UTF-8 but further on it is not: Windows-1252 it is.
        return _read(_as_utf8(data, "cp1252"), "cp1252", options)


class _NotUtf8(Exception):
    pass


def _as_utf8(data: bytes, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if encoding in ("utf-8", "utf8", "ascii"):
        return data
    return decode(data, encoding).encode("utf-8")


def _read(data: bytes, encoding: str, options: ReadOptions) -> RawTable:
    text_sample = data[:SAMPLE_BYTES].decode("utf-8", errors="replace")
    if not text_sample.strip():
        raise IngestError(_("The file is empty."))
    delimiter = options.delimiter or detect_delimiter(text_sample)
    sheet = _first_rows(text_sample, delimiter)
    if not sheet.rows:
        raise IngestError(_("The file is empty."))
    header = find_header(sheet, options.header_row)
    last_header = header.numbers[-1]
    width = max(len(sheet.rows[index][1]) for index in range(header.first, header.last + 1))
    width = max(width, len(header.names))
    quoted = '"' in text_sample

    table = _parse(data, delimiter, width, last_header, quoted)
    if table.num_rows == 0:
        raise IngestError(_("The file has a header row but no data rows.") + " " + header_hint())
    skipped = _blank_lines(data, last_header)
    first_row = last_header + 1
    has_values = [table.column(i).null_count < table.num_rows for i in range(width)]
    named = [i < len(header.names) and bool(header.names[i]) for i in range(width)]
    first_value_row = [  # only needed to name a column with values but no name
        shift_past(first_row + _first_valid(table.column(i)), skipped)
        if has_values[i] and not named[i]
        else 0
        for i in range(width)
    ]
    positions, names, notes = keep_columns(sheet, header, has_values, first_value_row)
    table = table.select(positions).rename_columns(names)
    return RawTable(
        table=table,
        format="csv",
        encoding="utf-8" if encoding == "utf8" else encoding,
        delimiter=delimiter,
        header_row=header.numbers[0],
        decimal=options.decimal,
        first_row=first_row,
        skipped_rows=skipped,
        header_rows=header.numbers,
        notes=tuple(header.notes) + tuple(notes),
    )


def _first_rows(text: str, delimiter: str) -> Sheet:
    """The first rows of the file as cells, numbered by their first line, for finding the
    header (blank lines are counted, not kept)."""
    rows: list[tuple[int, list[str | None]]] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    wanted = HEADER_SEARCH_ROWS + 2 * MAX_HEADER_ROWS + 20
    line = 0
    with contextlib.suppress(csv.Error):
        for fields in reader:
            number, line = line + 1, reader.line_num
            cells = [field if field.strip() else None for field in fields]
            if any(cell is not None for cell in cells):
                rows.append((number, cells))
                if len(rows) >= wanted:
                    break
    return Sheet(rows=rows)


def _first_valid(column: pa.ChunkedArray) -> int:
    return pc.indices_nonzero(pc.is_valid(column.combine_chunks()))[0].as_py()


def _parse(data: bytes, delimiter: str, width: int, header_row: int, quoted: bool) -> pa.Table:
    generated = [f"c{index}" for index in range(width)]
    read_options = pa_csv.ReadOptions(
        column_names=generated, skip_rows=header_row, block_size=16 * 1024**2
    )
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(generated, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )

    def parse(newlines_in_values: bool) -> pa.Table:
        parse_options = pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=newlines_in_values
        )
        return pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    try:
        return parse(quoted)
    except pa.ArrowInvalid as error:
        text = str(error)
        if "UTF8" in text or "UTF-8" in text:
            raise _NotUtf8 from None
        if not quoted and '"' in text:
            # A quoted value with a line break further down the file.
            try:
                return parse(True)
            except pa.ArrowInvalid:
                pass
        if "Expected" in text and "columns" in text:
            raise _ragged_row(data, delimiter, width, header_row, quoted) from None
        raise IngestError(
            _("The file could not be read as CSV: %(problem)s") % {"problem": text}
        ) from None


def _ragged_row(
    data: bytes, delimiter: str, width: int, header_row: int, quoted: bool
) -> IngestError:
    """Find the first row with the wrong number of fields (single-threaded, only on error).

    pyarrow numbers rows from 1 at the first line, header included, but skips empty lines.
    """
    found = []

    def handler(row: pa_csv.InvalidRow) -> str:
        found.append(row)
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(
                use_threads=False,
                skip_rows=header_row,
                column_names=[f"c{index}" for index in range(width)],
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"c{index}": pa.string() for index in range(width)}
            ),
        )
    if not found or found[0].number is None:
        return IngestError(
            _("Not every row has the %(count)s fields of the header row.") % {"count": width}
        )
    row = found[0]
    return IngestError(
        _(
            "Row %(row)s has %(fields)s fields, but the header row has %(count)s. Check the "
            "delimiters and quotes in that row."
        )
        % {
            "row": shift_past(row.number, _blank_lines(data, 0)),
            "fields": row.actual_columns,
            "count": width,
        }
    )


def _blank_lines(data: bytes, header_row: int) -> tuple[int, ...]:
    """Line numbers of the empty lines after the header (pyarrow skips them)."""
    if b"\n\n" not in data and b"\n\r\n" not in data:
        return ()
    lines: list[int] = []
    newlines, position = 0, 0
    for match in _BLANK_LINE.finditer(data):
        newlines += data.count(b"\n", position, match.start() + 1)
        position = match.start() + 1
        line = newlines + 1
        if line > header_row:
            lines.append(line)
    return tuple(lines)
