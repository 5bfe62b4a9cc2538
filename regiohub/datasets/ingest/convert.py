"""convert: text columns to typed columns, all of them or none.

Every value is checked with vectorised masks. When a mask has hits, only those rows are
looked up to build the error report (at most max_errors of them, in file order); the
table is then not returned, so nothing is ever half-converted.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from . import units
from . import values as v
from .errors import LoadError
from .formulas import formula_mask
from .totals import TOTAL_WORD
from .types import ColumnSpec, ColumnType, ConvertResult, RawTable
from .units import strip_unit


@dataclass
class _Problem:
    mask: pa.Array | pa.ChunkedArray | None  # true where the value is wrong; None: none is
    reason: Callable[[], str]  # a translated sentence with %(value)s
    hint: Callable[[str], str] | None = None  # the likely fix for a value, or ""


#: Batches of at least this many rows convert their columns in parallel threads.
PARALLEL_ROWS = 50_000
_threads: ThreadPoolExecutor | None = None
_threads_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _threads
    with _threads_lock:
        if _threads is None:
            workers = max(2, min(4, os.cpu_count() or 2))
            _threads = ThreadPoolExecutor(workers, thread_name_prefix="convert")
        return _threads


def _forget_pool() -> None:
    """A forked child starts without the parent's threads."""
    global _threads, _threads_lock
    _threads, _threads_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


@dataclass
class DoubledHour:
    """The local times of the hour that occurs twice (the night the clocks go back) seen
    so far in a file, per timestamp column and group of key columns: the first time a
    group has one it is summer time, the next time winter time.

    A group is the values of the dataset's other key columns (a segment), so a file sorted
    by segment and one sorted by hour both come out right; without key columns the whole
    column is one group. One instance is passed to every batch of a file read in batches.
    """

    seen: dict[tuple[str, tuple, int], int] = field(default_factory=dict)

    def later(self, raw: RawTable, spec: ColumnSpec, groups: list[ColumnSpec]):
        """The ``Later`` function of one column of one batch (see values.local_to_utc)."""

        def decide(positions: np.ndarray, local: np.ndarray) -> np.ndarray:
            indices = pa.array(positions)
            keys = [pc.take(raw.table.column(other.name), indices).to_pylist() for other in groups]
            winter = np.zeros(len(positions), bool)
            for place, moment in enumerate(local.tolist()):
                group = tuple((column[place] or "").strip() for column in keys)
                seen = (spec.name, group, moment)
                count = self.seen.get(seen, 0)
                winter[place] = count > 0
                self.seen[seen] = count + 1
            return winter

        return decide


def convert(
    raw: RawTable,
    schema: list[ColumnSpec],
    *,
    max_errors: int = 100,
    key: Sequence[str] = (),
    doubled: DoubledHour | None = None,
) -> ConvertResult:
    """Convert `raw` to a table typed by `schema`, or report why the values do not fit.

    Columns are named by `ColumnSpec.key` and typed int64, float64, bool, date32,
    timestamp("us", "UTC") or string. Local times are Belgian and stored in UTC; `key`
    (column keys) and `doubled` say how the doubled autumn hour is read (DoubledHour).
    """
    arrays: list[pa.Array | pa.ChunkedArray] = []
    found: list[tuple[int, int, LoadError]] = []
    total = 0
    doubled = doubled if doubled is not None else DoubledHour()

    def column(spec: ColumnSpec):
        values = raw.table.column(spec.name)
        groups = [other for other in schema if other.key in key and other.key != spec.key]
        later = doubled.later(raw, spec, groups)
        return _convert_column(values, spec, raw.native.get(spec.name), later)

    # The columns of a big batch side by side: Arrow's kernels let go of the GIL.
    if raw.num_rows >= PARALLEL_ROWS and len(schema) > 1:
        converted = list(_pool().map(column, schema))
    else:
        converted = [column(spec) for spec in schema]
    for order, (spec, (array, problems)) in enumerate(zip(schema, converted, strict=True)):
        values = raw.table.column(spec.name)
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


def _convert_column(values, spec: ColumnSpec, native: pa.Array | None = None, later=None):
    kind = spec.type
    if kind in (ColumnType.INTEGER, ColumnType.DECIMAL):
        integer = kind == ColumnType.INTEGER
        array, bad = parse_numbers(values, spec, integer, native)
        reason = _integer_reason if integer else _decimal_reason(spec)
        return array, [_Problem(bad, reason, _number_hint(spec))]
    if kind == ColumnType.BOOLEAN:
        array, bad = v.parse_boolean(values)
        if v.only_marks(values):  # ticks: "x" is yes, an empty cell no
            array = pc.fill_null(array, False)
        return array, [_Problem(bad, _boolean_reason, _boolean_hint)]
    if kind in (ColumnType.DATE, ColumnType.TIMESTAMP):
        fast = v.fast_temporal(values)
        if fast is not None and kind == ColumnType.DATE:
            if pc.all(pc.fill_null(pc.equal(pc.cast(pc.hour(fast), pa.int64()), 0), True)).as_py():
                return pc.cast(fast, pa.date32()), []
        elif fast is not None:
            array, nonexistent = v.local_to_utc(fast, later)
            return array, [_Problem(nonexistent, _nonexistent_reason)]
        temporal = v.Temporal(values)
        if kind == ColumnType.DATE:
            ok = pc.and_(temporal.ok, pc.invert(temporal.has_time))
            array = pc.if_else(ok, temporal.date, pa.scalar(None, pa.date32()))
            return array, [_Problem(v.failed(values, ok), _date_reason, _date_hint)]
        array = temporal.timestamps(later)
        problems = [
            _Problem(v.failed(values, temporal.ok), _timestamp_reason, _date_hint),
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
        hint = problem.hint(text) if problem.hint else ""
        if hint:
            reason = f"{reason}: {hint}"
        yield index, order, LoadError(raw.row_number(index), spec.name, text, reason)


def parse_numbers(values, spec: ColumnSpec, integer: bool, native: pa.Array | None = None):
    """(numbers, failed mask or None): the text under the column's decimal convention,
    without its unit (`€ 12,50` in a EUR column), and real Excel numbers as they are."""
    decimal = spec.decimal or ","
    array, bad = v.parse_number(values, decimal, integer=integer)
    if bad is not None and spec.unit and pc.any(bad).as_py():
        stripped = strip_unit(values, spec.unit)
        array, bad = v.parse_number(stripped, decimal, integer=integer)
    if native is None or native.null_count == len(native):
        return array, bad
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    real = pc.is_valid(native)
    if integer:
        whole = pc.and_(pc.equal(pc.floor(native), native), pc.less(pc.abs(native), 2.0**53))
        from_native = pc.cast(pc.if_else(whole, native, pa.scalar(None, pa.float64())), pa.int64())
        not_whole = pc.fill_null(pc.and_(real, pc.invert(whole)), False)
    else:
        from_native, not_whole = native, None
    array = pc.if_else(real, from_native, array)
    if bad is not None:
        if isinstance(bad, pa.ChunkedArray):
            bad = bad.combine_chunks()
        bad = pc.and_(bad, pc.invert(real))
    if not_whole is not None:
        bad = not_whole if bad is None else pc.or_(bad, not_whole)
    return array, bad


_OTHER_DECIMAL = {
    ",": re.compile(r"^[+-]?\d+\.\d{1,2}$|^[+-]?\d{1,3}(?:,\d{3})+\.\d+$"),
    ".": re.compile(r"^[+-]?\d+,\d{1,2}$|^[+-]?\d{1,3}(?:\.\d{3})+,\d+$"),
}


def _number_hint(spec: ColumnSpec) -> Callable[[str], str]:
    def hint(value: str) -> str:
        text = value.strip()
        if TOTAL_WORD.match(text):
            return _("is this a total row? Leave it out on the column review")
        if re.search(units.CURRENCY_OR_UNIT, text):
            return _("remove the currency sign or unit, or choose Text")
        if spec.type == ColumnType.INTEGER and re.fullmatch(r"[+-]?\d{19,}", text):
            return _("numbers this long are codes, choose Text")
        decimal_part = v.FRACTION_PATTERNS[spec.decimal or ","]
        if spec.type == ColumnType.INTEGER and re.search(decimal_part, text):
            return _("choose Number for a column with decimals")
        if _OTHER_DECIMAL[spec.decimal or ","].match(text):
            if (spec.decimal or ",") == ",":
                return _(
                    "this value has a decimal point and the column a decimal comma; "
                    "correct the value or choose the decimal point when you upload"
                )
            return _(
                "this value has a decimal comma and the column a decimal point; "
                "correct the value or choose the decimal comma when you upload"
            )
        return _("correct the value, leave the row out, or choose Text for this column")

    return hint


def _boolean_hint(value: str) -> str:
    return _("write ja or nee (or x for yes and leave the cell empty for no), or choose Text")


def _date_hint(value: str) -> str:
    if TOTAL_WORD.match(value.strip()):
        return _("is this a total row? Leave it out on the column review")
    return _("correct the value, or choose Text for this column")


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
