"""Turning an uploaded file into a typed Arrow table, or a precise error report.

    raw = read_raw(path, filename="tellingen.csv")      # text columns + what was detected
    schema = infer_schema(raw)                          # a guess the user may correct
    result = convert(raw, schema)                       # a table, or LoadErrors per cell

File-level problems raise IngestError; see docs/decisions/0015-dataset-ingest.md.
"""

from .convert import convert
from .errors import IngestError, LoadError
from .formulas import safe_for_spreadsheet
from .infer import infer_schema
from .read_excel import list_sheets
from .readers import read_raw
from .types import ColumnSpec, ColumnType, ConvertResult, RawTable, ReadOptions, Role

__all__ = [
    "ColumnSpec",
    "ColumnType",
    "ConvertResult",
    "IngestError",
    "LoadError",
    "RawTable",
    "ReadOptions",
    "Role",
    "convert",
    "infer_schema",
    "list_sheets",
    "read_raw",
    "safe_for_spreadsheet",
]
