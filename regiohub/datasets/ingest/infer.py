"""infer_schema: a first guess at each column's type, unit and role, for the user to correct.

Types are tried from the strictest to the loosest on a sample of up to SAMPLE_SIZE
non-empty values per column: boolean, integer, decimal, date, timestamp, else text.

The decimal convention is decided per column from its values. `1234,56` and `1.234,5`
can only be Belgian (decimal comma), `1234.56` and `1,234.5` only international (decimal
point). A column whose values fit both (`1.234`, `12.500`: every separator followed by
exactly three digits) takes the convention of the file: the one the user chose, else
the one most unambiguous columns of the file use, else a comma when the delimiter is
`;`, a point when it is `,`, and the Belgian comma when nothing tells.

Real Excel numbers (RawTable.native) are numbers whatever the convention of the text
cells beside them: only the text cells decide the convention. Values that carry a known
unit (`€ 1.234,56`, `12 %`, `3,5 km`) are numbers with that unit (units.py). Yes/no words
in Dutch, French and English; a column of `x` ticks and empty cells is yes/no too.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

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
from .errors import IngestError
from .formulas import formula_headers
from .types import ColumnSpec, ColumnType, RawTable, Role
from .units import same_unit, split_units

SAMPLE_SIZE = 10_000


def infer_schema(raw: RawTable) -> list[ColumnSpec]:
    """One ColumnSpec per column of `raw`, in file order.

    Raises IngestError when a header would run as a formula in a spreadsheet."""
    formulas = formula_headers(list(raw.columns))
    if formulas:
        position, name = formulas[0]
        raise IngestError(
            _(
                "The header of column %(column)d, “%(name)s”, starts like a spreadsheet "
                "formula (=, +, -, @), which could run when the data is opened in Excel. "
                "Rename that column in the file and upload it again."
            )
            % {"column": position, "name": name[:80]}
        )
    keys = make_keys(raw.columns)
    samples, value_units = {}, {}
    for name in raw.columns:
        sample = _sample(raw.table.column(name), raw.native.get(name))
        unit, numbers = split_units(sample)
        if unit and guess_unit(name) and not same_unit(unit, guess_unit(name)):
            unit, numbers = "", sample  # "Afstand (km)" over "300 m": not one unit
        samples[name], value_units[name] = numbers, unit
    conventions = {name: _conventions(sample) for name, sample in samples.items()}
    file_decimal = _file_decimal(raw, conventions.values())

    specs = []
    for name, key in zip(raw.columns, keys, strict=True):
        column = raw.table.column(name)
        spec = ColumnSpec(name=name, key=key, unit=guess_unit(name))
        spec.nullable = column.null_count > 0
        native = raw.native.get(name)
        _infer_type(spec, samples[name], conventions[name], file_decimal, native)
        if spec.type in (ColumnType.INTEGER, ColumnType.DECIMAL) and not spec.unit:
            spec.unit = value_units[name] or raw.unit_hints.get(name, "")
        specs.append(spec)
    _assign_roles(specs, samples)
    return specs


def _sample(column: pa.ChunkedArray, native: pa.Array | None = None) -> pa.Array:
    """Up to SAMPLE_SIZE text values of a column (not the real Excel numbers in it)."""
    if native is not None and native.null_count < len(native):
        column = pc.filter(column, pc.is_null(native))
        if isinstance(column, pa.Array):
            column = pa.chunked_array([column])
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


def _infer_type(
    spec: ColumnSpec,
    sample: pa.Array,
    conventions: set[str],
    file_decimal: str,
    native: pa.Array | None = None,
):
    numbers = native.drop_null() if native is not None else pa.array([], pa.float64())
    if len(sample) == 0:
        if len(numbers) and not is_code_name(spec.key):  # real Excel numbers only
            whole = pc.all(pc.equal(pc.floor(numbers), numbers)).as_py()
            whole = whole and pc.max(pc.abs(numbers)).as_py() < 2**53
            spec.type = ColumnType.INTEGER if whole else ColumnType.DECIMAL
            spec.decimal = file_decimal
        return  # else only empty cells: text
    if not len(numbers) and _is_boolean(sample, spec.nullable):
        spec.type = ColumnType.BOOLEAN
        return
    if conventions:
        if pc.any(v.is_leading_zero_code(sample)).as_py() or is_code_name(spec.key):
            return  # identifiers such as NIS codes and postal codes stay text
        decimal = file_decimal if len(conventions) == 2 else next(iter(conventions))
        fraction = pc.any(v.matches(sample, v.FRACTION_PATTERNS[decimal])).as_py()
        if len(numbers):  # real Excel numbers beside numbers written as text
            fraction = fraction or not pc.all(pc.equal(pc.floor(numbers), numbers)).as_py()
        if fraction:
            spec.type, spec.decimal = ColumnType.DECIMAL, decimal
            return
        _number, bad = v.parse_number(sample, decimal, integer=True)
        if bad is None or not pc.any(bad).as_py():
            spec.type, spec.decimal = ColumnType.INTEGER, decimal
        return  # numbers too long for an integer stay text
    if len(numbers):
        return  # real numbers beside text that is no number: text
    temporal = v.Temporal(sample)
    if pc.all(temporal.ok).as_py():
        has_time = pc.any(temporal.has_time).as_py()
        spec.type = ColumnType.TIMESTAMP if has_time else ColumnType.DATE


def _is_boolean(sample: pa.Array, has_empty: bool = True) -> bool:
    _result, bad = v.parse_boolean(sample)
    if pc.any(bad).as_py():
        return False
    if v.only_marks(sample) and not has_empty:
        return False  # "x" in every row says nothing: ticks are "x" or empty
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
