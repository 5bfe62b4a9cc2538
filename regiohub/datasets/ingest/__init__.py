"""Turning an uploaded file into a typed Arrow table, or a precise error report.

    raw = read_raw(path, filename="tellingen.csv")      # text columns + what was detected
    schema = infer_schema(raw)                          # a guess the user may correct
    totals = find_totals(raw, schema)                   # total rows, offered for leaving out
    result = convert(raw, schema)                       # a table, or LoadErrors per cell

A file larger than memory is read in batches (open_stream, survey) and its typed rows
written to a staged file (StageWriter); see docs/decisions/0024-streaming-loads.md.

File-level problems raise IngestError; see docs/decisions/0015-dataset-ingest.md.
"""

from .convert import DoubledHour, convert
from .errors import IngestError, LoadError
from .formulas import safe_for_spreadsheet
from .infer import infer_schema
from .notes import describe as describe_note
from .overview import Survey, survey
from .read_excel import list_sheets
from .readers import read_raw
from .staging import INDEX, StagedRows, StageWriter, new_folder
from .stream import RawStream, ReadAgain, estimated_size, open_stream
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
    "INDEX",
    "ColumnSpec",
    "ColumnType",
    "ConvertResult",
    "DoubledHour",
    "IngestError",
    "LoadError",
    "RawStream",
    "RawTable",
    "ReadAgain",
    "ReadNote",
    "ReadOptions",
    "Role",
    "StageWriter",
    "StagedRows",
    "Survey",
    "TotalRow",
    "convert",
    "describe_note",
    "estimated_size",
    "find_totals",
    "infer_schema",
    "list_sheets",
    "new_folder",
    "open_stream",
    "read_raw",
    "safe_for_spreadsheet",
    "shown_unit",
    "survey",
    "without_totals",
]
