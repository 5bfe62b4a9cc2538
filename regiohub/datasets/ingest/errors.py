"""What goes wrong when a file is loaded: the whole file (IngestError) or one cell (LoadError)."""

from __future__ import annotations

from dataclasses import dataclass


class IngestError(Exception):
    """The file as a whole cannot be loaded (empty, damaged, ragged, a zip bomb, ...).

    `message` is a translated sentence for the data steward; it names the row, column or
    sheet when there is one to name.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LoadError:
    """One cell that does not fit the schema.

    `row` is the row number as the user sees it in their file: the header is row 1 of a
    CSV or Excel sheet, so the first data row is row 2; for JSON and NDJSON it is the
    1-based record number. `column` is the column name as in the file.
    """

    row: int
    column: str
    value: str
    reason: str
