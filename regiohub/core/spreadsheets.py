"""Cells written for spreadsheets (CSV exports of every module)."""

from __future__ import annotations

#: A cell starting with one of these is read as a formula by a spreadsheet (or, for tab and
#: carriage return, hides what follows): "=HYPERLINK(...)", "@SUM(...)", "+32 56 ...".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Excel opened on a Belgian (nl-BE, fr-BE) computer splits a CSV file on semicolons.
DELIMITER = ";"


def spreadsheet_safe(value: str) -> str:
    """``value`` as a spreadsheet shows it, never as a formula: a quote before a cell that
    would start one (OWASP's advice against CSV injection). NUL bytes are dropped."""
    value = value.replace("\x00", "")
    return "'" + value if value.startswith(FORMULA_START) else value
