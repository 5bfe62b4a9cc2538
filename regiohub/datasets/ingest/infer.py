"""infer_schema: a first guess at each column's type, unit and role, for the user to correct.

Types are tried from the strictest to the loosest on a sample of up to SAMPLE_SIZE
non-empty values per column: boolean, integer, decimal, date, timestamp, else text.

The decimal convention is decided per column from its values. `1234,56` and `1.234,5`
can only be Belgian (decimal comma), `1234.56` and `1,234.5` only international (decimal
point). A column whose values fit both (`1.234`, `12.500`: every separator followed by
exactly three digits) takes the convention of the file: the one the user chose, else
the one most unambiguous columns of the file use, else a comma when the delimiter is
`;`, a point when it is `,`, and the Belgian comma when nothing tells.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from . import values as v
from .columns import (
    ID_TOKENS,
    LATITUDE_NAMES,
    LONGITUDE_NAMES,
    guess_unit,
    is_code_name,
    make_keys,
    tokens,
)
from .types import ColumnSpec, ColumnType, RawTable, Role

SAMPLE_SIZE = 10_000


def infer_schema(raw: RawTable) -> list[ColumnSpec]:
    """One ColumnSpec per column of `raw`, in file order."""
    keys = make_keys(raw.columns)
    samples = {name: _sample(raw.table.column(name)) for name in raw.columns}
    conventions = {name: _conventions(sample) for name, sample in samples.items()}
    file_decimal = _file_decimal(raw, conventions.values())

    specs = []
    for name, key in zip(raw.columns, keys, strict=True):
        column = raw.table.column(name)
        spec = ColumnSpec(name=name, key=key, unit=guess_unit(name))
        spec.nullable = column.null_count > 0
        _infer_type(spec, samples[name], conventions[name], file_decimal)
        specs.append(spec)
    _assign_roles(specs, samples)
    return specs


def _sample(column: pa.ChunkedArray) -> pa.Array:
    present = []
    count = 0
    for chunk in column.chunks:
        chunk = chunk.drop_null()
        present.append(chunk.slice(0, SAMPLE_SIZE - count))
        count += len(present[-1])
        if count >= SAMPLE_SIZE:
            break
    if not present:
        return pa.array([], pa.string())
    return pc.utf8_trim_whitespace(pa.concat_arrays(present))


def _conventions(sample: pa.Array) -> set[str]:
    """The decimal conventions ("," and/or ".") under which every value is a number."""
    if len(sample) == 0:
        return set()
    return {
        decimal
        for decimal, pattern in v.NUMBER_PATTERNS.items()
        if pc.all(v.matches(sample, pattern)).as_py()
    }


def _file_decimal(raw: RawTable, conventions) -> str:
    if raw.decimal:
        return raw.decimal
    votes = Counter(next(iter(found)) for found in conventions if len(found) == 1)
    if votes:
        return votes.most_common(1)[0][0] if votes[","] != votes["."] else ","
    if raw.delimiter == ",":
        return "."
    return ","


def _infer_type(spec: ColumnSpec, sample: pa.Array, conventions: set[str], file_decimal: str):
    if len(sample) == 0:
        return  # only empty cells: text
    if _is_boolean(sample):
        spec.type = ColumnType.BOOLEAN
        return
    if conventions:
        if pc.any(v.is_leading_zero_code(sample)).as_py() or is_code_name(spec.key):
            return  # identifiers such as NIS codes and postal codes stay text
        decimal = file_decimal if len(conventions) == 2 else next(iter(conventions))
        fraction = pc.any(v.matches(sample, v.FRACTION_PATTERNS[decimal])).as_py()
        if fraction:
            spec.type, spec.decimal = ColumnType.DECIMAL, decimal
            return
        _number, bad = v.parse_number(sample, decimal, integer=True)
        if bad is None or not pc.any(bad).as_py():
            spec.type, spec.decimal = ColumnType.INTEGER, decimal
        return  # numbers too long for an integer stay text
    temporal = v.Temporal(sample)
    if pc.all(temporal.ok).as_py():
        has_time = pc.any(temporal.has_time).as_py()
        spec.type = ColumnType.TIMESTAMP if has_time else ColumnType.DATE


def _is_boolean(sample: pa.Array) -> bool:
    _result, bad = v.parse_boolean(sample)
    if pc.any(bad).as_py():
        return False
    lower = pc.utf8_lower(sample)
    return not pc.all(pc.is_in(lower, value_set=pa.array(["0", "1"]))).as_py()


def _assign_roles(specs: list[ColumnSpec], samples: dict[str, pa.Array]) -> None:
    for spec in specs:
        if spec.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            spec.role = Role.TIME
            break
    for spec in specs:
        if spec.role:
            continue
        words = tokens(spec.key)
        if spec.type in (ColumnType.DECIMAL, ColumnType.INTEGER):
            if words & LATITUDE_NAMES and _within(samples[spec.name], spec, 90):
                spec.role = Role.LATITUDE
            elif words & LONGITUDE_NAMES and _within(samples[spec.name], spec, 180):
                spec.role = Role.LONGITUDE
        if not spec.role and (words & ID_TOKENS or spec.key.endswith("_id")):
            spec.role = Role.ID


def _within(sample: pa.Array, spec: ColumnSpec, limit: float) -> bool:
    numbers, _bad = v.parse_number(sample, spec.decimal, integer=False)
    extremes = pc.min_max(numbers).as_py()
    return extremes["min"] is not None and -limit <= extremes["min"] <= extremes["max"] <= limit
