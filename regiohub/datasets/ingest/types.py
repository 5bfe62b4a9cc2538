"""The objects passed between reading, inferring and converting a file."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

from .errors import LoadError


class ColumnType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TEXT = "text"


class Role(StrEnum):
    NONE = ""
    TIME = "time"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    ID = "id"


@dataclass(frozen=True)
class ReadOptions:
    """What the data steward overrides when the detection got it wrong.

    Empty values mean "detect". `decimal` is "," (Belgian, `1.234,56`) or "." (`1,234.56`)
    and applies to every column whose values fit both conventions.
    """

    delimiter: str = ""
    encoding: str = ""
    sheet: str = ""
    decimal: str = ""


@dataclass(frozen=True)
class RawTable:
    """A file read as text: every column a pyarrow string column, null for an empty cell.

    Besides the values it keeps what was detected (format, encoding, delimiter, sheet,
    header row) so the UI can show it, and what is needed to give each record the row
    number the user sees in their file.
    """

    table: pa.Table  # column names exactly as in the file
    format: str  # "csv", "xlsx", "json" or "ndjson"
    encoding: str = ""  # "utf-8", "utf-8-sig", "utf-16", "cp1252"; "" for xlsx
    delimiter: str = ""  # CSV only
    sheet: str = ""  # xlsx only
    header_row: int = 1  # 0 when the file has no header row (JSON)
    decimal: str = ""  # "," or "." when the user chose it, else ""
    first_row: int = 2  # the row number of the first record
    # Row numbers after first_row that hold no record (blank lines, empty Excel rows).
    skipped_rows: tuple[int, ...] = field(default=())

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def row_number(self, index: int) -> int:
        """The row number the user sees for the record at 0-based `index`."""
        return shift_past(self.first_row + index, self.skipped_rows)


def shift_past(row: int, skipped: tuple[int, ...]) -> int:
    """A row number counted without the `skipped` rows, as counted with them."""
    # Every skipped row at or before the row we reached pushes the record one down.
    start = 0
    while True:
        passed = bisect.bisect_right(skipped, row, lo=start)
        if passed == start:
            return row
        row += passed - start
        start = passed


@dataclass
class ColumnSpec:
    """How one column is stored. Inferred by infer_schema, then corrected by the user."""

    name: str  # as in the file
    key: str  # safe identifier, the column name in the stored table
    type: ColumnType = ColumnType.TEXT
    unit: str = ""
    role: Role = Role.NONE
    nullable: bool = True
    decimal: str = ""  # "," or "." for integer and decimal columns


@dataclass(frozen=True)
class ConvertResult:
    """Either a typed table, or the errors that stopped the conversion (never both)."""

    table: pa.Table | None
    errors: list[LoadError]
    total_errors: int  # including those beyond max_errors

    @property
    def ok(self) -> bool:
        return self.table is not None

    @property
    def more_errors(self) -> int:
        """How many errors were found but not listed."""
        return self.total_errors - len(self.errors)
