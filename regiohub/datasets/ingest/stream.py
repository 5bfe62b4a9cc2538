"""Reading a file batch by batch, so that a file larger than memory can be loaded
(docs/decisions/0024-streaming-loads.md).

    with open_stream(path, filename="tellingen.csv", options=options) as stream:
        for batch in stream:                # RawTables of about BATCH_ROWS records
            result = convert(batch, schema)  # as for a whole file
        stream.row_number(index)            # the row the steward sees for a loaded record

Every batch has the columns, the text values and the detection (delimiter, encoding,
header rows, sheet) that read_raw gives for the whole file: the header is found in the
first rows as read_csv and read_excel find it, and the rest is read in pieces: CSV by
pyarrow's streaming reader, NDJSON line by line, Parquet by row group, Excel row by row
(openpyxl's read-only mode). A .gz is unpacked and a zip entry read as it goes.

A batch is numbered by *record*, not by row: ``batch.row_number(i)`` is the position of
its i-th record among all records of the file (rows left out included), because a batch
does not know the blank lines around it. ``stream.row_of_record`` turns such a position
into the row number as in the file, and ``stream.row_number`` does so for the position
of a record among those kept (the rows the steward left out skipped). For a CSV the blank
lines (which pyarrow skips) are found by reading the file once more, only when a row
number is asked for or rows are left out.

When a CSV turns out not to be UTF-8 further on, or has a line break in a quoted value
after the first block, the stream raises :class:`ReadAgain`: the caller forgets what it
read and iterates again, and the stream starts over with what it learned.

Excel sheets with cells merged below the header (filled down or kept in their first row,
see layout.py) are read whole, as read_excel reads them: merging needs the whole sheet.
A JSON file (one list) is read whole too; NDJSON is the format for big JSON data.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.utils.translation import gettext as _

from . import archives
from .errors import IngestError
from .layout import Sheet, find_header, header_hint, keep_columns
from .read_csv import _first_rows
from .read_json import _as_text, _invalid, _too_deep, read_json
from .sniff import SAMPLE_BYTES, _binary, detect_delimiter, detect_encoding, detect_format
from .types import Chunk, RawTable, ReadOptions, shift_past

#: Records per batch handed to the caller (about: a CSV batch ends with a block).
BATCH_ROWS = 200_000
#: Bytes pyarrow parses at a time. It parses about thirty blocks ahead on all cores, so
#: this bounds the memory the CSV reader holds.
BLOCK_BYTES = 2 * 1024**2
#: Bytes read from a file at a time.
READ_BYTES = 1024**2
_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")


class ReadAgain(Exception):
    """The file must be read again from its start: forget the batches read so far."""


def estimated_size(path: Path, filename: str) -> int:
    """What the file at ``path`` holds unpacked, about: its size, the sizes a zip declares,
    or for a .gz the size its trailer gives and at least ten times the packed size (the
    trailer counts modulo 4 GiB)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(16)
        try:
            kind = detect_format(head, filename)
        except IngestError:
            return size
        if kind == "gzip" and size >= 18:
            file.seek(-4, io.SEEK_END)
            return max(int.from_bytes(file.read(4), "little"), size * 10)
    if kind == "zip":
        with contextlib.suppress(zipfile.BadZipFile, OSError), zipfile.ZipFile(path) as archive:
            return max(size, sum(info.file_size for info in archive.infolist()))
    return size


def open_stream(
    path: Path, *, filename: str, options: ReadOptions | None = None, batch_rows: int = 0
) -> RawStream:
    """The file at ``path`` as a :class:`RawStream` (use it as a context manager)."""
    return RawStream(Path(path), filename, options or ReadOptions(), batch_rows or BATCH_ROWS)


@dataclass
class _Source:
    kind: str  # "csv", "ndjson", "json", "xlsx" or "parquet"
    name: str  # the file name that tells the format (the entry's, for an archive)
    packed: str  # "", "zip" or "gzip"


class RawStream:
    """A file read batch by batch; see the module's docstring."""

    def __init__(self, path: Path, filename: str, options: ReadOptions, batch_rows: int) -> None:
        self.path = path
        self.filename = filename
        self.options = options
        self.batch_rows = batch_rows
        #: What was detected, as a RawTable without rows (its notes are complete once
        #: the whole file was read).
        self.info: RawTable | None = None
        #: Records read so far, and kept (not left out) so far.
        self.records = 0
        self.kept = 0
        self._encoding = options.encoding
        self._newlines = False
        self._first_row = 0
        self._skipped: list[int] | None = []  # None: a CSV's blank lines, not looked for
        self._last_row = 0
        self._excluded: list[int] = []  # records left out, by position
        self._exclude = set(options.exclude_rows)
        self._exclude_records: set[int] | None = None
        self._temporary: list[Path] = []
        self._closing: list[io.IOBase] = []
        self._source = self._open_source()

    # --- Use -----------------------------------------------------------------------

    def __enter__(self) -> RawStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for stream in self._closing:
            with contextlib.suppress(Exception):
                stream.close()
        self._closing = []
        for path in self._temporary:
            path.unlink(missing_ok=True)
        self._temporary = []

    def __iter__(self) -> Iterator[RawTable]:
        """The file's records in batches (RawTables numbered by record, see above)."""
        self.records = self.kept = 0
        self._excluded = []
        self._exclude_records = None
        self._last_row = 0
        if self._skipped is not None:
            self._skipped = []
        for item in self._chunks():
            if isinstance(item, RawTable):
                self.info = replace(item, table=item.table.schema.empty_table())
                continue
            batch = self._batch(item)
            if batch.num_rows:
                yield batch

    def row_of_record(self, index: int) -> int:
        """The row number, as in the file, of the record at position ``index`` (0-based,
        every record counted)."""
        return shift_past(self._first_row + index, tuple(self._skipped_rows()))

    def row_number(self, index: int) -> int:
        """The row number, as in the file, of the ``index``-th record kept (0-based)."""
        return self.row_of_record(shift_past(index, tuple(self._excluded)))

    @property
    def skipped_rows(self) -> tuple[int, ...]:
        """Rows after the first record that hold none (blank lines, empty rows)."""
        return tuple(self._skipped_rows())

    @property
    def first_row(self) -> int:
        return self._first_row

    # --- Batches -------------------------------------------------------------------

    def _batch(self, chunk: Chunk) -> RawTable:
        assert self.info is not None
        start = self.records
        count = chunk.table.num_rows
        if chunk.rows is not None:
            self._note_rows(chunk.rows)
        raw = replace(
            self.info, table=chunk.table, first_row=start, skipped_rows=(), native=chunk.native
        )
        self.records += count
        if self._exclude:
            gone = self._left_out(chunk, start)
            if gone:
                raw = raw.without_rows(gone)
                self._excluded.extend(gone)
        self.kept += raw.num_rows
        return raw

    def _note_rows(self, rows: list[int]) -> None:
        """Rows between the records of a reader that numbers them hold no record."""
        assert self._skipped is not None
        if not rows:
            return
        if not self._first_row:
            self._first_row = rows[0]
        elif rows[0] > self._last_row + 1:
            self._skipped.extend(range(self._last_row + 1, rows[0]))
        previous = rows[0]
        for row in rows[1:]:
            if row > previous + 1:
                self._skipped.extend(range(previous + 1, row))
            previous = row
        self._last_row = rows[-1]

    def _left_out(self, chunk: Chunk, start: int) -> list[int]:
        """Positions (among all records) of the chunk's records the steward left out."""
        if chunk.rows is not None:
            return [start + i for i, row in enumerate(chunk.rows) if row in self._exclude]
        if self._exclude_records is None:
            self._exclude_records = {
                index for row in self._exclude if (index := self._record_of_row(row)) is not None
            }
        end = start + chunk.table.num_rows
        return sorted(index for index in self._exclude_records if start <= index < end)

    def _record_of_row(self, row: int) -> int | None:
        skipped = self._skipped_rows()
        if row < self._first_row or row in set(skipped):
            return None
        return row - self._first_row - bisect.bisect_left(skipped, row)

    def _skipped_rows(self) -> list[int]:
        if self._skipped is None:  # a CSV's blank lines: read the file once more
            assert self.info is not None
            with self._utf8() as text:
                self._skipped = _blank_lines(text, self.info.header_rows[-1])
        return self._skipped

    # --- Sources -------------------------------------------------------------------

    def _open_source(self) -> _Source:
        path, filename = self.path, self.filename
        size = path.stat().st_size
        if size == 0:
            raise IngestError(_("The file is empty (0 bytes). Choose the file again."))
        with path.open("rb") as file:
            head = file.read(16)
        kind = detect_format(head, filename)
        if kind not in ("zip", "gzip"):
            limit = archives.max_unpacked_bytes()
            if size > limit:
                raise archives.too_large(limit)
            return _Source(kind, filename, "")
        if kind == "zip":
            name, _size, stream = archives.open_zip_single(path)
        else:
            name = filename[:-3] if filename.lower().endswith(".gz") else filename
            stream = archives.GunzipStream(path)
        with stream:
            inner = stream.read(16)
        if not inner:
            raise IngestError(_("The file inside the archive is empty (0 bytes)."))
        inner_kind = detect_format(inner, name)
        if inner_kind in ("zip", "gzip"):
            raise IngestError(_("The archive holds another archive; upload the data file itself."))
        return _Source(inner_kind, name, kind)

    def _binary(self) -> io.RawIOBase:
        """The file's bytes (unpacked), from the start."""
        if self._source.packed == "zip":
            stream: io.RawIOBase = archives.open_zip_single(self.path)[2]
        elif self._source.packed == "gzip":
            stream = archives.GunzipStream(self.path)
        else:
            stream = self.path.open("rb", buffering=0)  # type: ignore[assignment]
        self._closing.append(stream)
        return stream

    def _file(self) -> Path:
        """A file of the (unpacked) content, for the readers that seek (Excel, Parquet)."""
        if not self._source.packed:
            return self.path
        # Beside the upload, so it goes with it; the archive checks ran on the way.
        with tempfile.NamedTemporaryFile(
            dir=self.path.parent, prefix=".unpacked-", suffix=f".{self._source.kind}", delete=False
        ) as out:
            self._temporary.append(Path(out.name))
            with self._binary() as stream:
                shutil.copyfileobj(stream, out, READ_BYTES)
        return Path(out.name)

    def _utf8(self) -> _Utf8:
        """The (unpacked) text as UTF-8, from the start."""
        binary = self._binary()
        head = _read_at_least(binary, SAMPLE_BYTES + 1)
        if not self._encoding:
            self._encoding = detect_encoding(head)
        text = _Utf8(binary, self._encoding, head)
        self._closing.append(text)
        return text

    def _chunks(self) -> Iterator[RawTable | Chunk]:
        kind = self._source.kind
        if kind == "csv":
            yield from self._csv()
        elif kind == "ndjson":
            yield from self._ndjson()
        elif kind == "json":
            yield from self._json()
        elif kind == "parquet":
            yield from self._parquet()
        else:
            yield from self._excel()

    # --- CSV -----------------------------------------------------------------------

    def _csv(self) -> Iterator[RawTable | Chunk]:
        self._skipped = None  # the blank lines are looked for when needed
        with self._utf8() as text:
            sample = text.peek(SAMPLE_BYTES)
            encoding = self._encoding
            text_sample = sample.decode("utf-8", errors="replace")
            if not text_sample.strip():
                raise IngestError(_("The file is empty."))
            delimiter = self.options.delimiter or detect_delimiter(text_sample)
            sheet = _first_rows(text_sample, delimiter)
            if not sheet.rows:
                raise IngestError(_("The file is empty."))
            header = find_header(sheet, self.options.header_row)
            last_header = header.numbers[-1]
            width = max(len(sheet.rows[i][1]) for i in range(header.first, header.last + 1))
            width = max(width, len(header.names))
            named = [i < len(header.names) and bool(header.names[i]) for i in range(width)]
            positions, names, notes = keep_columns(sheet, header, named, [0] * width)
            newlines = self._newlines or '"' in text_sample
            self._first_row = last_header + 1
            yield RawTable(
                table=pa.table({name: pa.array([], pa.string()) for name in names}),
                format="csv",
                encoding="utf-8" if encoding == "utf8" else encoding,
                delimiter=delimiter,
                header_row=header.numbers[0],
                decimal=self.options.decimal,
                first_row=self._first_row,
                header_rows=header.numbers,
                notes=tuple(header.notes) + tuple(notes),
            )
            generated = [f"c{index}" for index in range(width)]
            unnamed = [index for index in range(width) if index not in set(positions)]
            pending: list[pa.RecordBatch] = []
            count = 0
            try:
                reader = pa_csv.open_csv(
                    text,
                    read_options=pa_csv.ReadOptions(
                        column_names=generated, skip_rows=last_header, block_size=BLOCK_BYTES
                    ),
                    parse_options=pa_csv.ParseOptions(
                        delimiter=delimiter, newlines_in_values=newlines
                    ),
                    convert_options=_strings(generated),
                )
                for batch in reader:
                    pending.append(batch)
                    count += batch.num_rows
                    if count >= self.batch_rows:
                        yield self._csv_chunk(pending, positions, names, unnamed, sheet, header)
                        pending, count = [], 0
                if pending:
                    yield self._csv_chunk(pending, positions, names, unnamed, sheet, header)
            except (pa.ArrowException, OSError) as error:
                if text.error is not None:
                    raise text.error from None
                if not isinstance(error, pa.ArrowInvalid):
                    raise
                problem = str(error)
                raise self._csv_failure(problem, newlines, delimiter, width, last_header) from None
            if text.error is not None:
                raise text.error
        if self.records == 0:
            raise IngestError(
                _("The file has a header row but no data rows.") + " " + header_hint()
            )

    def _csv_chunk(self, batches, positions, names, unnamed, sheet: Sheet, header) -> Chunk:
        table = pa.Table.from_batches(batches)
        for position in unnamed:
            column = table.column(position)
            if column.null_count < len(column):  # values, but no name
                first = pc.indices_nonzero(pc.is_valid(column.combine_chunks()))[0].as_py()
                row = self.row_of_record(self.records + first)
                has_values = [index == position for index in range(table.num_columns)]
                first_value = [row if index == position else 0 for index in range(len(has_values))]
                keep_columns(sheet, header, has_values, first_value)  # raises
        return Chunk(table.select(positions).rename_columns(names))

    def _csv_failure(
        self, problem: str, newlines: bool, delimiter: str, width: int, header_row: int
    ) -> Exception:
        if "UTF8" in problem or "UTF-8" in problem:
            if self.options.encoding:
                return IngestError(
                    _("The file is not in the encoding %(encoding)s.")
                    % {"encoding": self._encoding}
                )
            # The start looked like UTF-8 but further on it is not: Windows-1252 it is.
            self._encoding = "cp1252"
            return ReadAgain()
        if not newlines and '"' in problem:
            self._newlines = True  # a quoted value with a line break further down
            return ReadAgain()
        if "Empty CSV" in problem:
            return IngestError(
                _("The file has a header row but no data rows.") + " " + header_hint()
            )
        if "Expected" in problem and "columns" in problem:
            return self._ragged_row(delimiter, width, header_row)
        return IngestError(
            _("The file could not be read as CSV: %(problem)s") % {"problem": problem}
        )

    def _ragged_row(self, delimiter: str, width: int, header_row: int) -> IngestError:
        """The first row with the wrong number of fields (read once more, only on error).
        pyarrow numbers rows from 1 at the first line, header included, but skips empty
        lines (as read_csv._ragged_row)."""
        found: list[pa_csv.InvalidRow] = []

        def handler(row: pa_csv.InvalidRow) -> str:
            found.append(row)
            return "error"

        generated = [f"c{index}" for index in range(width)]
        with contextlib.suppress(pa.ArrowInvalid), self._utf8() as text:
            reader = pa_csv.open_csv(
                text,
                read_options=pa_csv.ReadOptions(
                    use_threads=False,
                    skip_rows=header_row,
                    column_names=generated,
                    block_size=BLOCK_BYTES,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(generated, pa.string())
                ),
            )
            for _batch in reader:
                if found:
                    break
        if not found or found[0].number is None:
            return IngestError(
                _("Not every row has the %(count)s fields of the header row.") % {"count": width}
            )
        row = found[0]
        with self._utf8() as text:
            blank = tuple(_blank_lines(text, 0))
        return IngestError(
            _(
                "Row %(row)s has %(fields)s fields, but the header row has %(count)s. Check the "
                "delimiters and quotes in that row."
            )
            % {"row": shift_past(row.number, blank), "fields": row.actual_columns, "count": width}
        )

    # --- NDJSON and JSON -----------------------------------------------------------

    def _ndjson(self) -> Iterator[RawTable | Chunk]:
        from .columns import check_column_names

        with self._utf8() as utf8:
            encoding = self._encoding
            lines = io.TextIOWrapper(io.BufferedReader(utf8, READ_BYTES), encoding="utf-8")
            names: dict[str, None] = {}
            records: list[dict] = []
            rows: list[int] = []
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as error:
                    raise _invalid(error, number) from None
                except RecursionError:
                    raise _too_deep(number) from None
                if not isinstance(record, dict):
                    raise IngestError(
                        _(
                            "Line %(line)s is not a JSON object ({…}); every line must hold "
                            "one record."
                        )
                        % {"line": number}
                    )
                new = [name for name in record if name not in names]
                if new:  # a new key: a column for the batches from here on
                    names.update(dict.fromkeys(new))
                    check_column_names(list(names))
                    yield self._ndjson_info(names, encoding)
                records.append(record)
                rows.append(number)
                if len(records) >= self.batch_rows:
                    yield _ndjson_chunk(records, rows, names)
                    records, rows = [], []
            if utf8.error is not None:
                raise utf8.error
            if records:
                yield _ndjson_chunk(records, rows, names)
        if self.records == 0:
            raise IngestError(_("The file is empty."))

    def _ndjson_info(self, names: dict[str, None], encoding: str) -> RawTable:
        return RawTable(
            table=pa.table({name: pa.array([], pa.string()) for name in names}),
            format="ndjson",
            encoding=encoding,
            header_row=0,
            decimal=self.options.decimal,
        )

    def _json(self) -> Iterator[RawTable | Chunk]:
        with self._binary() as binary:
            data = binary.read()
        if self._source.packed and not data:
            raise IngestError(_("The file inside the archive is empty (0 bytes)."))
        raw = read_json(data, self.options)
        del data
        self._first_row = raw.first_row
        self._skipped = list(raw.skipped_rows)
        yield replace(raw, table=raw.table.schema.empty_table())
        yield Chunk(raw.table)

    # --- Parquet and Excel ---------------------------------------------------------

    def _parquet(self) -> Iterator[RawTable | Chunk]:
        from .read_parquet import iter_parquet, open_parquet, to_raw

        file = open_parquet(self._file())
        try:
            info = to_raw(file.schema_arrow.empty_table(), self.options)
            self._first_row = 1
            yield info
            for table in iter_parquet(file, self.batch_rows):
                yield Chunk(table)
        finally:
            file.close()
        if self.records == 0:
            raise IngestError(_("The file has a header row but no data rows."))

    def _excel(self) -> Iterator[RawTable | Chunk]:
        from .read_excel import iter_excel

        yield from iter_excel(self._file(), self.options, self.batch_rows)


def _ndjson_chunk(records: list[dict], rows: list[int], names: dict[str, None]) -> Chunk:
    columns = [
        pa.array([_as_text(record.get(name)) for record in records], pa.string()) for name in names
    ]
    return Chunk(pa.table(columns, names=list(names)), rows=list(rows))


def _strings(names: list[str]) -> pa_csv.ConvertOptions:
    return pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )


def _read_at_least(stream: io.RawIOBase, size: int) -> bytes:
    parts, count = [], 0
    while count < size:
        part = stream.read(size - count)
        if not part:
            break
        parts.append(part)
        count += len(part)
    return b"".join(parts)


class _Utf8(io.RawIOBase):
    """A text file's bytes as UTF-8, read piece by piece: a byte order mark left out,
    other encodings transcoded, and a file with NUL bytes refused (as read_csv does).

    An IngestError found while pyarrow reads on its own threads is kept in ``error`` (and
    raised): pyarrow reports it as its own error.
    """

    def __init__(self, source: io.RawIOBase, encoding: str, head: bytes) -> None:
        self._source = source
        self._head = head
        self._bom = encoding == "utf-8-sig"
        utf8 = encoding in ("utf-8", "utf8", "ascii", "utf-8-sig")
        self._decoder = None if utf8 else codecs.getincrementaldecoder(encoding)()
        self._out = bytearray()
        self._eof = False
        self._started = False
        self.error: IngestError | None = None

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        self._fill(size)
        return bytes(self._out[:size])

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while not self._eof:
                self._fill(len(self._out) + READ_BYTES)
            size = len(self._out)
        self._fill(size)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()

    def _fill(self, size: int) -> None:
        try:
            while len(self._out) < size and not self._eof:
                self._more()
        except IngestError as error:
            self.error = error
            raise

    def _more(self) -> None:
        if self._head:
            chunk, self._head = self._head, b""
        else:
            chunk = self._source.read(READ_BYTES)
        if not chunk:
            self._eof = True
            if self._decoder is not None:
                self._out += self._decode(b"", final=True)
            return
        if not self._started:
            self._started = True
            if self._bom and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        data = self._decode(chunk) if self._decoder is not None else chunk
        if b"\x00" in data:
            raise _binary()
        self._out += data

    def _decode(self, chunk: bytes, final: bool = False) -> bytes:
        assert self._decoder is not None
        try:
            return self._decoder.decode(chunk, final).encode("utf-8")
        except (UnicodeDecodeError, LookupError):
            raise _binary() from None


def _blank_lines(text: io.RawIOBase, after: int) -> list[int]:
    """Line numbers of the empty lines after line ``after`` (pyarrow skips them), read in
    pieces (as read_csv._blank_lines reads the whole text)."""
    lines: list[int] = []
    newlines, carry = 0, b""
    while chunk := text.read(READ_BYTES):
        data = carry + chunk
        if b"\n\n" in data or b"\n\r\n" in data:
            count, position = newlines, 0
            for match in _BLANK_LINE.finditer(data):
                count += data.count(b"\n", position, match.start() + 1)
                position = match.start() + 1
                if count + 1 > after:
                    lines.append(count + 1)
        # A line break at the very end may start an empty line in the next piece.
        carry = data[-2:] if data.endswith(b"\n\r") else data[-1:] if data.endswith(b"\n") else b""
        newlines += data.count(b"\n") - carry.count(b"\n")
    return lines


__all__ = ["BATCH_ROWS", "RawStream", "ReadAgain", "estimated_size", "open_stream"]
