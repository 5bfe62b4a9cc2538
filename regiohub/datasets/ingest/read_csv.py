"""Reading delimited text (CSV, TSV, TXT) into string columns with pyarrow's CSV reader.

pyarrow parses on all cores and never turns a value into anything but text here; typing
the values is done afterwards (infer.py, convert.py). The header is read by us, so its
names can be checked and reported before pyarrow sees the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re

import pyarrow as pa
import pyarrow.csv as pa_csv
from django.utils.translation import gettext as _

from .columns import check_column_names
from .errors import IngestError
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
    header = next(csv.reader(io.StringIO(text_sample.lstrip("\r\n")), delimiter=delimiter))
    names = check_column_names(header)
    header_row = 1 + _leading_blank_lines(text_sample)
    quoted = '"' in text_sample

    table = _parse(data, delimiter, len(names), header_row, quoted)
    if table.num_rows == 0:
        raise IngestError(_("The file has a header row but no data rows."))
    table = table.rename_columns(names)
    return RawTable(
        table=table,
        format="csv",
        encoding="utf-8" if encoding == "utf8" else encoding,
        delimiter=delimiter,
        header_row=header_row,
        decimal=options.decimal,
        first_row=header_row + 1,
        skipped_rows=_blank_lines(data, header_row),
    )


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


def _leading_blank_lines(text: str) -> int:
    count = 0
    for line in text.splitlines():
        if line.strip():
            break
        count += 1
    return count


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
