"""The objects passed between reading, inferring and converting a file."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
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
    #: The row the header is on, as numbered in the file (0: find it). Title rows above
    #: it are skipped; header rows right below it that complete it are joined.
    header_row: int = 0
    #: Rows (numbered as in the file) that hold no record to load: the total rows the
    #: steward left out, and rows they chose to leave out.
    exclude_rows: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Stored options come back from JSON as a list of numbers.
        object.__setattr__(self, "header_row", int(self.header_row or 0))
        object.__setattr__(self, "exclude_rows", tuple(sorted({int(r) for r in self.exclude_rows})))


@dataclass(frozen=True)
class ReadNote:
    """Something the reader did to the sheet that the steward should know about.

    `kind` is one of NOTE_KINDS; `where` names the cells, rows or columns (``B4:B9``,
    ``3–4``, ``A``); `example` is a value that shows it (a joined column name). The
    sentence is written when the note is shown (ingest.notes.describe), in the reader's
    language.
    """

    kind: str
    where: str = ""
    example: str = ""


NOTE_KINDS = (
    "title_rows",  # rows above the header were skipped
    "header_joined",  # several header rows make the names
    "merged_header",  # a merged header cell gave its name to each column below it
    "merged_down",  # a merged cell in the rows was filled down
    "merged_first",  # a merged number was kept in its first row only
    "empty_columns",  # empty columns without a name were left out
)


@dataclass(frozen=True)
class TotalRow:
    """A row that looks like a total or subtotal, not a record: offered for leaving out.

    `row` is the row number as in the file, `label` the text that says so ("Totaal"), or
    "" when the row was found because its numbers are the sums of the rows above it.
    """

    row: int
    label: str
    values: tuple[str | None, ...]


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
    # Every row of the header (several when header rows were joined); header_row is the first.
    header_rows: tuple[int, ...] = field(default=())
    notes: tuple[ReadNote, ...] = field(default=())
    # Excel cells that hold a real number, per column: float64, null where the cell held
    # text or nothing. They are numbers whatever the decimal convention of the text cells.
    native: dict[str, pa.Array] = field(default_factory=dict)
    # A unit per column read from the cells' number formats (`0%`, `€ #,##0.00`).
    unit_hints: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def row_number(self, index: int) -> int:
        """The row number the user sees for the record at 0-based `index`."""
        return shift_past(self.first_row + index, self.skipped_rows)

    def index_of(self, row: int) -> int | None:
        """The 0-based index of the record on row `row` as in the file, None if none is."""
        if row < self.first_row or row in set(self.skipped_rows):
            return None
        index = row - self.first_row - bisect.bisect_left(self.skipped_rows, row)
        return index if 0 <= index < self.num_rows else None

    def without_rows(self, rows: Iterable[int]) -> RawTable:
        """The same table without the records on `rows` (numbered as in the file); the
        other records keep their row numbers."""
        indices = sorted({i for row in rows if (i := self.index_of(row)) is not None})
        if not indices:
            return self
        keep = np.ones(self.num_rows, dtype=bool)
        keep[indices] = False
        mask = pa.array(keep)
        gone = {self.row_number(index) for index in indices}
        return replace(
            self,
            table=self.table.filter(mask),
            skipped_rows=tuple(sorted(set(self.skipped_rows) | gone)),
            native={name: values.filter(mask) for name, values in self.native.items()},
        )


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


@dataclass
class Chunk:
    """Records a reader read in one piece, for stream.py: text columns named as in the
    file, the file row of each record when the reader knows it (Excel, NDJSON), and the
    real Excel numbers (see RawTable.native)."""

    table: pa.Table
    rows: list[int] | None = None
    native: dict[str, pa.Array] = field(default_factory=dict)


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
