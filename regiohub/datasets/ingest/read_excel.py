"""Reading one sheet of an Excel workbook (.xlsx) into string columns.

Excel gives typed values; they are written as text the way infer.py reads them back:
numbers with a decimal point, dates as ISO 8601, booleans as true/false. Formulas give
their last calculated value; a formula without one is refused with its cells named (see
xlsx_checks.py, which also refuses XML with a DOCTYPE before openpyxl reads it). The
header is the first non-empty row; empty rows are skipped but keep their row number, so
errors name the row the user sees in Excel.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError

import pyarrow as pa
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .archives import check_zip
from .columns import MAX_COLUMNS, check_column_names
from .errors import IngestError
from .types import RawTable, ReadOptions
from .xlsx_checks import check_xml_parts, formulas_without_value

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
        sheets = list(workbook.sheetnames)
        name = options.sheet or sheets[0]
        if name not in sheets:
            raise IngestError(
                _("The workbook has no sheet “%(sheet)s”. Its sheets are: %(sheets)s.")
                % {"sheet": name, "sheets": ", ".join(f"“{sheet}”" for sheet in sheets)}
            )
        sheet = workbook[name]
        try:
            rows = list(_rows(sheet))
        except _DAMAGED:
            raise IngestError(
                _("This file is not a valid Excel (.xlsx) file: the sheet “%(sheet)s” is damaged.")
                % {"sheet": name}
            ) from None
        _check_formulas(path, sheet, name)
    finally:
        workbook.close()
    return _to_raw(rows, name, options)


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


def _rows(sheet):
    """(row number, cells as text) for every non-empty row."""
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_as_text(value) for value in values]
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            yield number, cells


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _to_raw(rows: list[tuple[int, list[str | None]]], sheet: str, options: ReadOptions) -> RawTable:
    if not rows:
        raise IngestError(_("The sheet “%(sheet)s” is empty.") % {"sheet": sheet})
    header_row, header = rows[0]
    records = rows[1:]
    width = max(len(cells) for _number, cells in rows)
    if width > MAX_COLUMNS:
        raise IngestError(
            _("The file has %(count)s columns; we accept at most %(maximum)s.")
            % {"count": width, "maximum": MAX_COLUMNS}
        )
    header = header + [None] * (width - len(header))
    _check_unnamed_columns_are_empty(header, records)
    header = header[: _last_named(header)]
    names = check_column_names([cell or "" for cell in header])
    if not records:
        raise IngestError(_("The file has a header row but no data rows."))

    columns = [[] for _name in names]
    for _number, cells in records:
        for position, column in enumerate(columns):
            column.append(cells[position] if position < len(cells) else None)
    numbers = [number for number, _cells in records]
    present = set(numbers)
    skipped = tuple(
        number for number in range(numbers[0], numbers[-1] + 1) if number not in present
    )
    return RawTable(
        table=pa.table([pa.array(column, pa.string()) for column in columns], names=names),
        format="xlsx",
        sheet=sheet,
        header_row=header_row,
        decimal=options.decimal,
        first_row=numbers[0],
        skipped_rows=skipped,
    )


def _last_named(header: list[str | None]) -> int:
    end = len(header)
    while end > 1 and not header[end - 1]:
        end -= 1
    return end


def _check_unnamed_columns_are_empty(header, records) -> None:
    """A column with values but no name is an error; an empty one is dropped."""
    end = _last_named(header)
    for number, cells in records:
        for position in range(end, len(cells)):
            if cells[position] is not None:
                raise IngestError(
                    _(
                        "Column %(column)s has values (from row %(row)s) but no name in the "
                        "header row. Give every column a name."
                    )
                    % {"column": get_column_letter(position + 1), "row": number}
                )
