"""Reading one sheet of an Excel workbook (.xlsx) into string columns.

Excel gives typed values; they are written as text the way infer.py reads them back:
numbers with a decimal point, dates as ISO 8601, booleans as true/false. Formulas give
their last calculated value; a formula without one is refused with its cells named (see
xlsx_checks.py, which also refuses XML with a DOCTYPE before openpyxl reads it). Real
numbers are also kept as numbers (RawTable.native): they are numbers whatever the
decimal convention of the text cells beside them; a percentage format (`0%`) gives the
number as shown (12 for 0.12) and the unit %. Title rows, header rows to join, merged
cells and empty columns: see layout.py. Empty rows are skipped but keep their row
number, so errors name the row the user sees in Excel.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree.ElementTree import ParseError

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import load_workbook

from .archives import check_zip
from .columns import MAX_COLUMNS
from .errors import IngestError
from .layout import (
    HEADER_SEARCH_ROWS,
    MAX_HEADER_ROWS,
    Merge,
    Sheet,
    fill_merged_rows,
    find_header,
    header_hint,
    keep_columns,
)
from .types import Chunk, RawTable, ReadOptions
from .xlsx_checks import check_xml_parts, formulas_without_value, merged_ranges

#: What openpyxl raises, while it reads a sheet lazily, for a damaged workbook.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ParseError, KeyError, ValueError, TypeError)


def list_sheets(path: Path) -> list[str]:
    """The names of the sheets in an .xlsx file, in workbook order."""
    workbook = _open(path)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def read_excel(path: Path, options: ReadOptions) -> RawTable:
    workbook = _open(path)
    try:
        sheet, name = _sheet(workbook, options)
        units: dict[int, Counter] = {}
        try:
            rows = list(_rows(sheet, units))
        except _DAMAGED:
            raise _damaged(name) from None
        _check_formulas(path, sheet, name)
        merges = _merges(path, sheet)
    finally:
        workbook.close()
    return _to_raw(rows, merges, units, name, options)


def iter_excel(path: Path, options: ReadOptions, batch_rows: int) -> Iterator[RawTable | Chunk]:
    """One sheet row by row, for stream.py: a RawTable without rows (what was detected),
    then Chunks of ``batch_rows`` records, then the RawTable again with every note and
    unit. The header is found in the first rows, as for a CSV; a sheet with cells merged
    below the header is read whole (filling them needs the whole sheet)."""
    workbook = _open(path)
    try:
        sheet, name = _sheet(workbook, options)
        _check_formulas(path, sheet, name)
        merges = _merges(path, sheet)
        units: dict[int, Counter] = {}
        rows = _rows(sheet, units)
        wanted = max(HEADER_SEARCH_ROWS, options.header_row) + 2 * MAX_HEADER_ROWS + 20
        try:
            first = list(itertools.islice(rows, wanted))
            if not first:
                raise IngestError(_("The sheet “%(sheet)s” is empty.") % {"sheet": name})
            grid = Sheet(
                rows=[(row.number, row.texts) for row in first],
                kinds=[row.kinds for row in first],
                merges=merges,
                letters=True,
            )
            header = find_header(grid, options.header_row)
            last_header = grid.rows[header.last][0]
            if any(m.top > last_header and m.bottom != m.top for m in merges):
                raw = _to_raw(first + list(rows), merges, units, name, options)
                yield replace(raw, table=raw.table.schema.empty_table())
                yield Chunk(raw.table, [raw.row_number(i) for i in range(raw.num_rows)], raw.native)
                return
            yield from _stream_rows(
                itertools.chain(first[header.last + 1 :], rows),
                grid,
                header,
                units,
                name,
                options,
                batch_rows,
            )
        except _DAMAGED:
            raise _damaged(name) from None
    finally:
        workbook.close()


def _stream_rows(records, grid, header, units, name, options, batch_rows):
    width = len(header.names)
    named = [bool(header.names[i]) for i in range(width)]
    positions, names, notes = keep_columns(grid, header, named, [0] * width)
    info = RawTable(
        table=pa.table({column: pa.array([], pa.string()) for column in names}),
        format="xlsx",
        sheet=name,
        header_row=header.numbers[0],
        decimal=options.decimal,
        header_rows=header.numbers,
        notes=tuple(header.notes) + tuple(notes),
    )
    yield info
    kept = set(positions)
    present = [0] * len(positions)  # real numbers per column, for the units
    count = 0
    batch: list[_Row] = []
    for row in records:
        if len(row.texts) > MAX_COLUMNS:
            raise IngestError(
                _("The file has %(count)s columns; we accept at most %(maximum)s.")
                % {"count": len(row.texts), "maximum": MAX_COLUMNS}
            )
        for position, value in enumerate(row.texts):
            if value is not None and position not in kept:  # values, but no name
                has_values = [index == position for index in range(len(row.texts))]
                keep_columns(grid, header, has_values, [row.number] * len(row.texts))  # raises
        batch.append(row)
        count += 1
        if len(batch) >= batch_rows:
            yield _chunk(batch, positions, names, present)
            yield replace(info, unit_hints=_hints(units, positions, names, present))
            batch = []
    if batch:
        yield _chunk(batch, positions, names, present)
    if not count:
        raise IngestError(_("The file has a header row but no data rows.") + " " + header_hint())
    yield replace(info, unit_hints=_hints(units, positions, names, present))


def _hints(units: dict[int, Counter], positions, names, present) -> dict[str, str]:
    """The unit of each column most of whose real numbers have it (as _to_raw finds it)."""
    hints = {}
    for index, (position, column) in enumerate(zip(positions, names, strict=True)):
        counted = units.get(position)
        if counted and present[index]:
            unit, times = counted.most_common(1)[0]
            if times * 2 > present[index]:
                hints[column] = unit
    return hints


def _chunk(batch: list[_Row], positions: list[int], names: list[str], present: list[int]) -> Chunk:
    columns, native = [], {}
    for index, (position, name) in enumerate(zip(positions, names, strict=True)):
        columns.append(
            pa.array(
                [row.texts[position] if position < len(row.texts) else None for row in batch],
                pa.string(),
            )
        )
        numbers = [
            row.numbers[position]
            if row.numbers is not None and position < len(row.numbers)
            else None
            for row in batch
        ]
        found = sum(1 for value in numbers if value is not None)
        if found:
            native[name] = pa.array(numbers, pa.float64())
            present[index] += found
    return Chunk(pa.table(columns, names=names), [row.number for row in batch], native)


def _sheet(workbook, options: ReadOptions):
    sheets = list(workbook.sheetnames)
    name = options.sheet or sheets[0]
    if name not in sheets:
        raise IngestError(
            _("The workbook has no sheet “%(sheet)s”. Its sheets are: %(sheets)s.")
            % {"sheet": name, "sheets": ", ".join(f"“{sheet}”" for sheet in sheets)}
        )
    return workbook[name], name


def _damaged(name: str) -> IngestError:
    return IngestError(
        _("This file is not a valid Excel (.xlsx) file: the sheet “%(sheet)s” is damaged.")
        % {"sheet": name}
    )


def _merges(path: Path, sheet) -> list[Merge]:
    part = getattr(sheet, "_worksheet_path", None)
    if not part:
        return []
    try:
        refs = merged_ranges(path, part)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError(_("This file is not a valid Excel (.xlsx) file.")) from None
    return [merge for ref in refs if (merge := Merge.parse(ref)) is not None]


def _check_formulas(path: Path, sheet, name: str) -> None:
    part = getattr(sheet, "_worksheet_path", None)  # openpyxl's read-only sheet knows it
    if not part:
        return
    try:
        cells, count = formulas_without_value(path, part)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError(_("This file is not a valid Excel (.xlsx) file.")) from None
    if count:
        more = count - len(cells)
        raise IngestError(
            ngettext(
                "%(count)d cell of the sheet “%(sheet)s” holds a formula without a calculated "
                "value (%(cells)s%(more)s): the program that wrote the file did not "
                "calculate it, so it would load as empty. Open the file in Excel or "
                "LibreOffice and save it again, or paste the values instead of the formulas.",
                "%(count)d cells of the sheet “%(sheet)s” hold a formula without a calculated "
                "value (%(cells)s%(more)s): the program that wrote the file did not "
                "calculate them, so they would load as empty. Open the file in Excel or "
                "LibreOffice and save it again, or paste the values instead of the formulas.",
                count,
            )
            % {
                "count": count,
                "sheet": name,
                "cells": ", ".join(cells),
                "more": _(" and %(n)d more") % {"n": more} if more > 0 else "",
            }
        )


def _open(path: Path):
    check_zip(path)
    check_xml_parts(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise IngestError(_("This file is not a valid Excel (.xlsx) file.")) from None


@dataclass
class _Row:
    number: int
    texts: list[str | None]
    kinds: str  # a letter per cell: "n" number, "d" date, "b" yes/no, "s" text, " " empty
    numbers: list[float | None] | None  # the real numbers, when the row has any


def _rows(sheet, units: dict[int, Counter]) -> Iterator[_Row]:
    """Every non-empty row, with what Excel held in each cell; `units` counts the units
    that number formats give per column (`0%`, `€ #,##0.00`)."""
    formats: dict[object, str] = {}  # the unit of each cell style's number format
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        texts: list[str | None] = []
        kinds: list[str] = []
        numbers: list[float | None] | None = None
        for position, cell in enumerate(cells):
            text, kind, native, unit = _read_cell(cell, formats)
            texts.append(text)
            kinds.append(kind)
            if native is not None:
                if numbers is None:
                    numbers = [None] * position
                numbers.append(native)
                if unit:
                    units.setdefault(position, Counter())[unit] += 1
            elif numbers is not None:
                numbers.append(None)
        while texts and texts[-1] is None:
            texts.pop()
            kinds.pop()
        if texts:
            if numbers is not None:
                del numbers[len(texts) :]
            yield _Row(number, texts, "".join(kinds), numbers)


def _read_cell(cell, formats: dict[object, str]) -> tuple[str | None, str, float | None, str]:
    """(text, kind, number, unit): a cell as the text infer.py reads back, what Excel held
    in it, the number when it is a real number, and the unit its number format shows."""
    value = cell.value
    if value is None:
        return None, " ", None, ""
    if isinstance(value, bool):
        return ("true" if value else "false"), "b", None, ""
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) >= 2**53:
            return str(value), "s", None, ""  # beyond a float: read as text
        number = float(value)
        style = getattr(cell, "_style_id", None)
        unit = formats.get(style) if style is not None else None
        if unit is None:
            unit = formats[style] = _format_unit(str(getattr(cell, "number_format", "") or ""))
        if unit == "%":
            number = round(number * 100, 10)  # 0.12 shown as 12 %
        text = str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
        return text, "n", number, unit
    if isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
        return text, "d", None, ""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat(), "d", None, ""
    text = str(value)
    return (text, "s", None, "") if text.strip() else (None, " ", None, "")


def _format_unit(form: str) -> str:
    """The unit a number format shows: "%" for `0%`, "EUR" for `€ #,##0.00`, else ""."""
    if "%" in form.replace("\\%", ""):
        return "%"
    if "€" in form or "EUR" in form.upper():
        return "EUR"
    return ""


def _to_raw(
    rows: list[_Row], merges: list[Merge], units: dict[int, Counter], sheet: str, options
) -> RawTable:
    if not rows:
        raise IngestError(_("The sheet “%(sheet)s” is empty.") % {"sheet": sheet})
    width = max(len(row.texts) for row in rows)
    if width > MAX_COLUMNS:
        raise IngestError(
            _("The file has %(count)s columns; we accept at most %(maximum)s.")
            % {"count": width, "maximum": MAX_COLUMNS}
        )
    grid = Sheet(
        rows=[(row.number, row.texts) for row in rows],
        kinds=[row.kinds for row in rows],
        merges=merges,
        letters=True,
    )
    header = find_header(grid, options.header_row)
    natives = [row.numbers for row in rows]
    notes = list(header.notes) + fill_merged_rows(grid, header, natives)
    start = header.last + 1
    records = grid.rows[start:]
    if not records:
        raise IngestError(_("The file has a header row but no data rows.") + " " + header_hint())
    width = max(width, len(header.names))
    has_values = [False] * width
    first_value_row = [0] * width
    for number, cells in records:
        for position, value in enumerate(cells):
            if value is not None and not has_values[position]:
                has_values[position] = True
                first_value_row[position] = number
    positions, names, column_notes = keep_columns(grid, header, has_values, first_value_row)
    notes += column_notes

    columns, native, hints = [], {}, {}
    for position, name in zip(positions, names, strict=True):
        columns.append(
            pa.array(
                [cells[position] if position < len(cells) else None for _n, cells in records],
                pa.string(),
            )
        )
        numbers = [
            row[position] if row is not None and position < len(row) else None
            for row in natives[start:]
        ]
        present = sum(1 for value in numbers if value is not None)
        if present:
            native[name] = pa.array(numbers, pa.float64())
            counted = units.get(position)
            if counted:
                unit, count = counted.most_common(1)[0]
                if count * 2 > present:
                    hints[name] = unit
    numbers_seen = [number for number, _cells in records]
    present_rows = set(numbers_seen)
    skipped = tuple(
        number
        for number in range(numbers_seen[0], numbers_seen[-1] + 1)
        if number not in present_rows
    )
    return RawTable(
        table=pa.table(columns, names=names),
        format="xlsx",
        sheet=sheet,
        header_row=header.numbers[0],
        decimal=options.decimal,
        first_row=numbers_seen[0],
        skipped_rows=skipped,
        header_rows=header.numbers,
        notes=tuple(notes),
        native=native,
        unit_hints=hints,
    )
