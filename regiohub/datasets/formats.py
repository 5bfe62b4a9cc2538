"""Rows as the formats people download them in: CSV and Excel (text a spreadsheet will not
run as a formula), NDJSON, JSON and GeoJSON, streamed batch by batch, and Parquet; and the
CSVW description of a CSV. Shared by the query API and the downloads of whole versions.

A download's file is written once per version and kept (decision 0028), so the writers
give the same bytes for the same rows: no clock, host or language reaches a file unless
the caller passes it (the Excel file's dates are the version's).

Every text that reaches a spreadsheet gets the same treatment: cells, column headers and
sheet names alike (``safe_for_spreadsheet``, :func:`excel_text`, :func:`sheet_title`). In
Excel, headers are written as explicit string cells, and no text reaches openpyxl starting
with ``=``, so it never turns one into a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping
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


def csv_stream(
    columns: list[str], batches: Iterable[Any], verbatim: Collection[str] = ()
) -> Iterator[bytes]:
    """``columns`` as the header, then the rows of ``batches``: what Python's ``csv`` writer
    makes of each value (after :func:`json_value`, text made safe for spreadsheets, lines
    ending in CRLF), built column by column with Arrow's kernels (:func:`csv_lines`).
    The columns named in ``verbatim`` hold their CSV fields already (see
    :func:`csv_lines`)."""
    out = io.StringIO()
    csv.writer(out).writerow([safe_for_spreadsheet(str(name)) for name in columns])
    yield out.getvalue().encode()
    for batch in batches:
        yield from (csv_lines(part, verbatim) for part in _parts(batch) if part.num_rows)


#: The most bytes of rows turned into CSV at once: an Arrow string array holds at most
#: 2 GB, and text may double in CSV (quotes).
CSV_PART_BYTES = 256 * 1024 * 1024


def _parts(batch: Any) -> Iterator[Any]:
    """``batch`` in halves until each holds at most :data:`CSV_PART_BYTES`."""
    if batch.num_rows > 1 and batch.nbytes > CSV_PART_BYTES:
        half = batch.num_rows // 2
        yield from _parts(batch.slice(0, half))
        yield from _parts(batch.slice(half))
    else:
        yield batch


def csv_lines(batch: Any, verbatim: Collection[str] = ()) -> bytes:
    """The CSV lines of one record batch, byte for byte what ``csv.writer`` writes for
    ``[safe_for_spreadsheet(v) if isinstance(v, str) else json_value(v) for v in row]``
    (the reference, kept in :func:`_csv_lines_by_row` for what the kernels do not cover),
    without a Python call per row (six times faster on a Telraam table; more with
    ``verbatim`` numbers).

    The columns named in ``verbatim`` are text that is the field already, written as it
    is (nulls empty): numbers DuckDB turned into text while it read them (its text of a
    double is Python's ``repr``; a download builds its CSV so, see ``views.browse``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if batch.num_columns == 0:
        return _csv_lines_by_row(batch)
    texts = [
        pc.fill_null(batch.column(i).cast(pa.string()), "")
        if name in verbatim
        else _csv_texts(batch.column(i))
        for i, name in enumerate(batch.schema.names)
    ]
    if len(texts) == 1:  # csv writes a row of one empty field as ""
        texts[0] = pc.if_else(pc.equal(texts[0], ""), '""', texts[0])
    lines = pc.binary_join_element_wise(*texts, ",")
    lines = pc.binary_join_element_wise(lines, "", "\r\n").cast(pa.string())
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # The lines lie one after the other in the array's data buffer: that is the chunk.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2][first:last].to_pybytes()


def _csv_lines_by_row(batch: Any) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in batch.to_pylist():
        writer.writerow(
            [safe_for_spreadsheet(v) if isinstance(v, str) else json_value(v) for v in row.values()]
        )
    return out.getvalue().encode()


#: Text that ``csv`` quotes (QUOTE_MINIMAL: the delimiter, the quote, a line break) and
#: text a spreadsheet would run (``safe_for_spreadsheet``), in RE2 syntax.
_CSV_QUOTED = r'[",\r\n]'
_CSV_FORMULA = r"^[=+\-@\t\r]"


def _csv_field(value: Any) -> str:
    """One value as ``csv.writer`` writes it (the reference of :func:`_csv_texts`)."""
    if isinstance(value, str):
        value = safe_for_spreadsheet(value)
    else:
        value = json_value(value)
        if value is None:
            return ""
        value = str(value)  # repr() for floats: the same in Python 3
    if re.search(_CSV_QUOTED, value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _utc_offset(seconds: int | None) -> str | None:
    """An offset from UTC as ``datetime.isoformat`` writes it: ``+01:00``."""
    if seconds is None:
        return None
    hours, rest = divmod(abs(seconds), 3600)
    text = f"{'-' if seconds < 0 else '+'}{hours:02d}:{rest // 60:02d}"
    return text + (f":{rest % 60:02d}" if rest % 60 else "")


def _csv_texts(column: Any) -> Any:
    """A column's CSV fields, as :func:`_csv_field` writes each value, with the kernels
    where they give the same text and Python for the values where they may not (floats
    Python writes with an exponent, times before 1900, whose offset may have seconds, and
    after 2037)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    python = None  # True where Python writes the value
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        text = column.cast(pa.string())
        text = pc.if_else(
            pc.match_substring_regex(text, _CSV_FORMULA),
            pc.binary_join_element_wise("'", text, ""),
            text,
        )
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(pc.match_substring_regex(text, _CSV_QUOTED), quoted, text)
        return pc.fill_null(text, "")
    if pa.types.is_integer(kind):
        return pc.fill_null(column.cast(pa.string()), "")
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(column, "True", "False"), "")
    if pa.types.is_floating(kind):
        numbers = column.cast(pa.float64())  # a float32 is written as the float it is
        text = numbers.cast(pa.string())
        size = pc.abs(numbers)
        # Python writes 1e-05 and 1e+16 where Arrow writes 0.00001 and 1e16; NaN is empty.
        python = pc.or_(
            pc.or_(pc.invert(pc.is_finite(numbers)), pc.greater_equal(size, 1e16)),
            pc.or_(
                pc.and_(pc.less(size, 1e-4), pc.not_equal(size, 0)),
                pc.match_substring(text, "e"),
            ),
        )
        whole = pc.match_substring_regex(text, r"^-?[0-9]+$")
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    elif pa.types.is_timestamp(kind) and kind.unit == "us":
        # The wall-clock time, then its offset from UTC: strftime's %z costs 20 times more.
        local = pc.local_timestamp(column) if kind.tz else column
        text = pc.utf8_replace_slice(local.cast(pa.string()), 10, 11, "T")
        text = pc.if_else(pc.ends_with(text, ".000000"), pc.utf8_slice_codeunits(text, 0, 19), text)
        if kind.tz:
            seconds = pc.divide(
                pc.subtract(local.cast(pa.int64()), column.cast(pa.int64())), 1_000_000
            )
            offsets = pc.unique(seconds)
            words = pa.array([_utc_offset(v) for v in offsets.to_pylist()], pa.string())
            suffix = pc.take(words, pc.index_in(seconds, offsets))
            text = pc.binary_join_element_wise(text, suffix, "")
        # Arrow's time zone rules are listed up to 2037, Python's go on by the rule.
        year = pc.year(column)
        python = pc.or_(pc.less(year, 1900), pc.greater(year, 2037))
    elif pa.types.is_date32(kind):
        text = column.cast(pa.string())
        python = pc.less(pc.year(column), 1000)
    else:
        return pa.array([_csv_field(v) for v in column.to_pylist()], pa.string())
    python = pc.fill_null(python, False)
    if pc.any(python).as_py():
        values = pc.filter(column, python).to_pylist()
        text = pc.replace_with_mask(
            text, python, pa.array([_csv_field(v) for v in values], pa.string())
        )
    return pc.fill_null(text, "")


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


def _coordinate(value: Any, limit: float) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) and -limit <= number <= limit else None


def geojson_stream(
    batches: Iterable[Any], latitude: str, longitude: str, members: Mapping[str, Any]
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection (RFC 7946), feature by feature: a point per row at
    (``longitude``, ``latitude``), in that order, the other columns as its properties;
    ``members`` (the licence, the attribution) at the top level. A row without a place, or
    with a latitude or longitude outside -90..90 or -180..180, is a feature without a
    geometry (``null``), so the rows stay complete."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    yield (head[:-1] + ', "features": [').encode()
    first = True
    for batch in batches:
        texts = []
        for row in batch.to_pylist():
            lat = _coordinate(row.pop(latitude), 90)
            lon = _coordinate(row.pop(longitude), 180)
            point = None if lat is None or lon is None else [lon, lat]
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": point} if point else None,
                "properties": {key: json_value(value) for key, value in row.items()},
            }
            texts.append(json.dumps(feature, ensure_ascii=False))
        if texts:
            yield (("" if first else ",") + ",".join(texts)).encode()
            first = False
    yield b"]}"


def write_parquet(
    target: Path, schema: Any, batches: Iterable[Any], metadata: Mapping[str, str]
) -> None:
    """One Parquet file at ``target`` with the rows of ``batches`` (of ``schema``) and
    ``metadata`` as the file's key-value metadata (where a licence travels with it)."""
    import pyarrow.parquet as pq

    found = dict(schema.metadata or {})
    found.update({key.encode(): value.encode() for key, value in metadata.items()})
    with pq.ParquetWriter(target, schema.with_metadata(found)) as writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(batch)


#: The W3C CSVW datatype of each column type, as :func:`csv_stream` writes it.
CSVW_TYPES: dict[str, Any] = {
    "integer": "integer",
    "decimal": "double",
    "boolean": {"base": "boolean", "format": "True|False"},
    "date": "date",
    "timestamp": "dateTimeStamp",  # stored aware: written with their offset
    "text": "string",
}


def csvw_metadata(
    *,
    csv_url: str,
    title: str,
    description: str,
    publisher: str,
    licence_uri: str,
    licence_label: str,
    attribution: str,
    page: str,
    version: int,
    modified: datetime,
    columns: list[dict[str, Any]],
    primary_key: list[str],
) -> dict[str, Any]:
    """The W3C CSVW metadata (JSON-LD, "Metadata Vocabulary for Tabular Data") of the CSV
    at ``csv_url``: its title, publisher, licence and columns. A column's ``titles`` hold
    its key (the CSV's header) and its name, so a validator matches them to the header."""
    described: list[dict[str, Any]] = []
    for column in columns:
        titles = [column["key"]]
        if column.get("name") and column["name"] != column["key"]:
            titles.append(column["name"])
        item: dict[str, Any] = {
            "name": column["key"],
            "titles": titles,
            "datatype": CSVW_TYPES.get(column.get("type", ""), "string"),
        }
        if column.get("description"):
            item["dc:description"] = column["description"]
        if column.get("unit"):
            item["schema:unitText"] = column["unit"]
        described.append(item)
    table_schema: dict[str, Any] = {"columns": described}
    if primary_key:
        table_schema["primaryKey"] = list(primary_key)
    document: dict[str, Any] = {
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_url,
        "dc:title": title,
        "dc:publisher": publisher,
        "dc:modified": {"@value": modified.isoformat(), "@type": "xsd:dateTime"},
        "dcat:landingPage": {"@id": page},
        "schema:version": version,
    }
    if description:
        document["dc:description"] = description
    if licence_uri:
        document["dc:license"] = {"@id": licence_uri}
    elif licence_label:
        document["dc:rights"] = licence_label
    if attribution:
        document["schema:creditText"] = attribution
    document["dialect"] = {"header": True, "delimiter": ","}
    document["tableSchema"] = table_schema
    return document


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


class _SteadyZip(zipfile.ZipFile):
    """A zip file whose members are all dated ``moment``: the same workbook written twice
    is the same bytes (``zipfile`` dates each member with the clock, or with the time of
    the file it copies: openpyxl's sheets)."""

    def __init__(self, target: Path, moment: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.moment = moment

    def _member(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.moment)
        info.external_attr = 0o600 << 16
        info.compress_type = self.compression
        info.file_size = size  # tells zipfile whether the member needs ZIP64
        return info

    def writestr(
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: Any, *args: Any, **kwargs: Any
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._member(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        """A file copied in as a member dated ``moment``, 1 MB at a time."""
        import shutil

        source = Path(filename)
        info = self._member(str(arcname or source.name), source.stat().st_size)
        with source.open("rb") as read, self.open(info, "w") as written:
            shutil.copyfileobj(read, written, 1024 * 1024)


def write_xlsx(
    target: Path,
    title: str,
    header: list[str],
    batches: Iterable[Any],
    *,
    about: tuple[str, list[tuple[str, str]]] | None = None,
    moment: datetime | None = None,
) -> None:
    """One sheet called ``title`` (see :func:`sheet_title`) with ``header`` and the rows of
    ``batches``, written row by row to ``target``; with ``about`` (a sheet name and its
    rows of label and text: the licence), a second sheet of text cells. With ``moment``
    (aware), the file is dated then and the same rows give the same bytes."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title(title))
    sheet.append([_excel_text_cell(sheet, str(name)) for name in header])
    for batch in batches:
        for row in batch.to_pylist():
            sheet.append([_excel_value(sheet, value) for value in row.values()])
    if about is not None:
        name, lines = about
        notes = book.create_sheet(title=sheet_title(name, default="about"))
        for label, text in lines:
            notes.append([_excel_text_cell(notes, label), _excel_text_cell(notes, text)])
    if moment is None:
        book.save(target)
        return
    utc = moment.utctimetuple()
    book.properties.created = book.properties.modified = datetime(*utc[:6])
    archive = _SteadyZip(target, (max(1980, utc.tm_year), *utc[1:6]))  # zip: 1980 onwards
    ExcelWriter(book, archive).save()
