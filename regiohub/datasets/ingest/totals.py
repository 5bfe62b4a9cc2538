"""Total and subtotal rows: found, so the steward can leave them out instead of loading
them as data (a total loaded as a row counts everything twice).

A row is a total when a text cell says so ("Totaal", "Total", "Subtotaal", "Sous-total",
"Eindtotaal", "Algemeen totaal", "Grand total", ...), or when its numbers are the sums of
the rows above it: since the previous total, or since the first row. A row found by its
sums has no label of its own, or at least three columns that add up, so that a row that
happens to add up (1, 2, 3) is not taken for a total. Sums are looked for in files up to
SUM_ROWS rows (the spreadsheets people make by hand); labels in every file.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from .columns import is_code_name, to_key, tokens
from .layout import KEY_WORDS
from .types import ColumnSpec, ColumnType, RawTable, Role, TotalRow

#: What a total row's label starts with, in Dutch, French and English (RE2 and Python).
TOTAL_PATTERN = (
    r"(?i)^\s*(?:(?:sub|eind|grand|algemeen)[\s-]*)?tota(?:al|le|l)\b"
    r"|^\s*sous[\s-]*tota(?:l|ux)\b"
    r"|^\s*(?:som|somme|sum)\s*:?\s*$"
)
TOTAL_WORD = re.compile(TOTAL_PATTERN)
SUM_ROWS = 100_000
#: Total rows reported, at most.
MAX_TOTALS = 1000
_MEASURES = (ColumnType.INTEGER, ColumnType.DECIMAL)


def find_totals(raw: RawTable, schema: list[ColumnSpec]) -> list[TotalRow]:
    """The rows of `raw` that look like totals, in file order."""
    labels = _labelled(raw, schema)
    found = dict(labels)
    if raw.num_rows <= SUM_ROWS:
        for index in _sums(raw, schema, set(labels)):
            found.setdefault(index, "")
    rows = []
    for index in sorted(found)[:MAX_TOTALS]:
        values = tuple(raw.table.slice(index, 1).to_pylist()[0].values())
        rows.append(TotalRow(raw.row_number(index), found[index], values))
    return rows


def _labelled(raw: RawTable, schema: list[ColumnSpec]) -> dict[int, str]:
    labels: dict[int, str] = {}
    for spec in schema:
        if spec.type != ColumnType.TEXT:
            continue
        column = raw.table.column(spec.name)
        # Anchored at the start: RE2 gives up on most values after a character or two.
        mask = pc.fill_null(pc.match_substring_regex(column, TOTAL_PATTERN), False)
        if not pc.any(mask).as_py():
            continue
        mask = mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
        indices = pc.indices_nonzero(mask)
        for index, text in zip(
            indices.to_pylist(), pc.take(column, indices).to_pylist(), strict=True
        ):
            labels.setdefault(index, " ".join(text.split()))
    return labels


def _is_measure(spec: ColumnSpec) -> bool:
    return (
        spec.type in _MEASURES
        and spec.role in (Role.NONE, "")
        and not is_code_name(spec.key)
        and not tokens(to_key(spec.name)) & KEY_WORDS
    )


def _sums(raw: RawTable, schema: list[ColumnSpec], labelled: set[int]) -> list[int]:
    from .convert import parse_numbers

    measures = [spec for spec in schema if _is_measure(spec)]
    if not measures or raw.num_rows < 3:
        return []
    columns = []
    for spec in measures:
        numbers, _bad = parse_numbers(
            raw.table.column(spec.name),
            spec,
            spec.type == ColumnType.INTEGER,
            raw.native.get(spec.name),
        )
        columns.append(numbers.to_pylist())
    texts = [
        raw.table.column(spec.name).to_pylist() for spec in schema if spec.type == ColumnType.TEXT
    ]
    width = len(columns)
    found = []
    block, block_rows = [0.0] * width, 0
    grand, grand_rows = [0.0] * width, 0
    for index in range(raw.num_rows):
        if index in labelled:
            block, block_rows = [0.0] * width, 0
            continue
        row = [column[index] for column in columns]
        present = [(m, value) for m, value in enumerate(row) if value is not None]
        if present and any(value for _m, value in present):
            labelled_row = any(column[index] is not None for column in texts)
            adds_up = (
                block_rows >= 2 and all(_close(value, block[m]) for m, value in present)
            ) or (
                grand_rows > max(block_rows, 1)
                and all(_close(value, grand[m]) for m, value in present)
            )
            if adds_up and (not labelled_row or len(present) >= 3):
                found.append(index)
                block, block_rows = [0.0] * width, 0
                continue
        for m, value in present:
            block[m] += value
            grand[m] += value
        block_rows += 1
        grand_rows += 1
    return found


def _close(value: float, total: float) -> bool:
    return abs(value - total) <= 1e-6 * max(1.0, abs(total))


def without_totals(
    raw: RawTable, schema: list[ColumnSpec], totals: list[TotalRow]
) -> tuple[RawTable, list[ColumnSpec]]:
    """`raw` without the total rows, and its columns typed without them ("Totaal" in a
    year column); a column stays one that may be empty when a total row left it empty,
    so that the steward can keep that row."""
    from .infer import infer_schema

    raw = raw.without_rows(total.row for total in totals)
    may_be_empty = {spec.name for spec in schema if spec.nullable}
    typed = infer_schema(raw)
    for spec in typed:
        spec.nullable = spec.nullable or spec.name in may_be_empty
    return raw, typed
