"""Turning an uploaded file into a typed Arrow table, or a precise error report.

    raw = read_raw(path, filename="tellingen.csv")      # text columns + what was detected
    schema = infer_schema(raw)                          # a guess the user may correct
    totals = find_totals(raw, schema)                   # total rows, offered for leaving out
    result = convert(raw, schema)                       # a table, or LoadErrors per cell

File-level problems raise IngestError; see docs/decisions/0015-dataset-ingest.md.
"""

from .convert import convert
from .errors import IngestError, LoadError
from .formulas import safe_for_spreadsheet
from .infer import infer_schema
from .notes import describe as describe_note
from .read_excel import list_sheets
from .readers import read_raw
from .totals import find_totals, without_totals
from .types import (
    ColumnSpec,
    ColumnType,
    ConvertResult,
    RawTable,
    ReadNote,
    ReadOptions,
    Role,
    TotalRow,
)
from .units import shown_unit

__all__ = [
    "ColumnSpec",
    "ColumnType",
    "ConvertResult",
    "IngestError",
    "LoadError",
    "RawTable",
    "ReadNote",
    "ReadOptions",
    "Role",
    "TotalRow",
    "convert",
    "describe_note",
    "find_totals",
    "infer_schema",
    "list_sheets",
    "read_raw",
    "safe_for_spreadsheet",
    "shown_unit",
    "without_totals",
]
