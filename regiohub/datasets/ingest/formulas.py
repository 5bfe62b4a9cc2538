"""Formula injection: text that a spreadsheet would run as a formula.

A cell starting with `=`, `@`, a tab or a carriage return is run (or may be run) as a
formula when the data is opened in Excel or LibreOffice: `=cmd|' /C calc'!A0` starts a
program. `+` and `-` start a formula too (`-2+3` is calculated as 1, and the same start
leads to `-2+3+cmd|...`); only a plain signed number (`-2`, `-2,5`, `-1.234,56`, `-5%`),
a phone number written with spaces (`+32 470 12 34 56`, `+32 (0)470 12 34 56`) and
dashes alone (`-` for "none") are data, and those are let through. We refuse the rest at
load time, and exporters prefix text with a quote (safe_for_spreadsheet).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from . import values as v

# RE2 syntax, for pyarrow's vectorised matching.
ALWAYS_FORMULA = r"^[=@\t\r]"
SIGNED = r"^[+-]"
HARMLESS_SIGNED = (
    r"^(?:[+-]+"  # dashes alone
    r"|[+-] ?[.,]?[0-9][0-9 .,]*%?"  # a signed number, also with spaces between digit groups
    r"|\+[0-9]{1,3} ?\(0\)[0-9 ]*)$"  # a phone number: +32 (0)470 12 34 56
)

_STARTS_FORMULA = re.compile(r"^[=+\-@\t\r]")


def formula_mask(values):
    """True where a text value would be run as a formula."""
    signed = v.matches(values, SIGNED)
    harmless = v.matches(values, HARMLESS_SIGNED)
    return pc.or_(v.matches(values, ALWAYS_FORMULA), pc.and_(signed, pc.invert(harmless)))


def formula_headers(names: list[str]) -> list[tuple[int, str]]:
    """The (1-based position, name) of the column headers that would run as a formula:
    refused like cells, so no label of a dataset ever starts a formula (issue 17, 4b)."""
    if not names:
        return []
    mask = formula_mask(pa.array(names, pa.string())).to_pylist()
    return [(i + 1, name) for i, (name, bad) in enumerate(zip(names, mask, strict=True)) if bad]


def safe_for_spreadsheet(text: str) -> str:
    """Text that a spreadsheet shows as it is: a quote before a would-be formula."""
    if _STARTS_FORMULA.match(text):
        return "'" + text
    return text
