"""convert: text columns to typed columns, all of them or none.

Every value is checked with vectorised masks. When a mask has hits, only those rows are
looked up to build the error report (at most max_errors of them, in file order); the
table is then not returned, so nothing is ever half-converted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from . import values as v
from .errors import LoadError
from .formulas import formula_mask
from .types import ColumnSpec, ColumnType, ConvertResult, RawTable


@dataclass
class _Problem:
    mask: pa.Array | pa.ChunkedArray | None  # true where the value is wrong; None: none is
    reason: Callable[[], str]  # a translated sentence with %(value)s


def convert(raw: RawTable, schema: list[ColumnSpec], *, max_errors: int = 100) -> ConvertResult:
    """Convert `raw` to a table typed by `schema`, or report why the values do not fit.

    Columns are named by `ColumnSpec.key` and typed int64, float64, bool, date32,
    timestamp("us", "UTC") or string. Local times are Belgian and stored in UTC.
    """
    arrays: list[pa.Array | pa.ChunkedArray] = []
    found: list[tuple[int, int, LoadError]] = []
    total = 0
    for order, spec in enumerate(schema):
        values = raw.table.column(spec.name)
        array, problems = _convert_column(values, spec)
        if not spec.nullable and values.null_count:
            problems.append(_Problem(pc.is_null(values), _empty_reason))
        for problem in problems:
            if problem.mask is None:
                continue
            count = pc.sum(problem.mask).as_py() or 0
            if not count:
                continue
            total += count
            found.extend(_first_errors(raw, values, spec, order, problem, max_errors))
        arrays.append(array)
    if total:
        found.sort(key=lambda item: (item[0], item[1]))
        return ConvertResult(None, [error for *_order, error in found[:max_errors]], total)
    table = pa.table(arrays, names=[spec.key for spec in schema])
    return ConvertResult(table, [], 0)


def _convert_column(values, spec: ColumnSpec):
    kind = spec.type
    if kind in (ColumnType.INTEGER, ColumnType.DECIMAL):
        integer = kind == ColumnType.INTEGER
        array, bad = v.parse_number(values, spec.decimal or ",", integer=integer)
        return array, [_Problem(bad, _integer_reason if integer else _decimal_reason(spec))]
    if kind == ColumnType.BOOLEAN:
        array, bad = v.parse_boolean(values)
        return array, [_Problem(bad, _boolean_reason)]
    if kind in (ColumnType.DATE, ColumnType.TIMESTAMP):
        fast = v.fast_temporal(values)
        if fast is not None and kind == ColumnType.DATE:
            if pc.all(pc.fill_null(pc.equal(pc.cast(pc.hour(fast), pa.int64()), 0), True)).as_py():
                return pc.cast(fast, pa.date32()), []
        elif fast is not None:
            array, nonexistent = v.local_to_utc(fast)
            return array, [_Problem(nonexistent, _nonexistent_reason)]
        temporal = v.Temporal(values)
        if kind == ColumnType.DATE:
            ok = pc.and_(temporal.ok, pc.invert(temporal.has_time))
            array = pc.if_else(ok, temporal.date, pa.scalar(None, pa.date32()))
            return array, [_Problem(v.failed(values, ok), _date_reason)]
        array = temporal.timestamps()
        problems = [
            _Problem(v.failed(values, temporal.ok), _timestamp_reason),
            _Problem(temporal.nonexistent, _nonexistent_reason),
        ]
        return array, problems
    return values, [_Problem(formula_mask(values), _formula_reason)]


def _first_errors(raw, values, spec, order, problem, max_errors):
    mask = problem.mask
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    indices = pc.indices_nonzero(mask).slice(0, max_errors)
    shown = pc.take(values, indices).to_pylist()
    for index, value in zip(indices.to_pylist(), shown, strict=True):
        text = value or ""
        reason = problem.reason() % {"value": text, "first": text[:1].replace("\t", "tab")}
        yield index, order, LoadError(raw.row_number(index), spec.name, text, reason)


def _empty_reason() -> str:
    return _("this column may not be empty")


def _integer_reason() -> str:
    return _("“%(value)s” is not a whole number")


def _decimal_reason(spec: ColumnSpec) -> Callable[[], str]:
    def reason() -> str:
        if spec.decimal == ".":
            return _("“%(value)s” is not a number with a decimal point (such as 1234.56)")
        return _("“%(value)s” is not a number with a decimal comma (such as 1.234,56)")

    return reason


def _boolean_reason() -> str:
    return _("“%(value)s” is not yes or no (ja/nee, true/false, 1/0)")


def _date_reason() -> str:
    return _("“%(value)s” is not a date (such as 31/12/2025)")


def _timestamp_reason() -> str:
    return _("“%(value)s” is not a date and time (such as 31/12/2025 14:00)")


def _nonexistent_reason() -> str:
    return _("“%(value)s” does not exist in Belgian time: the clocks were put forward an hour then")


def _formula_reason() -> str:
    return _(
        "“%(value)s” starts with %(first)s and would be run as a formula in Excel; "
        "remove that character or put a quote (') before it"
    )
