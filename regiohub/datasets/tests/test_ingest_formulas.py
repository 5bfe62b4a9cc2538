import pytest

from regiohub.datasets.ingest import (
    safe_for_spreadsheet,
)
from regiohub.datasets.tests.ingest_files import load, write


@pytest.mark.parametrize(
    "value",
    [
        "=cmd|' /C calc'!A0", "@SUM(A1)", "+A1", "-2+3+cmd|' /C calc'!A0", "=1+1", "\tx",
        "-2+3", "+1-1", "-5 - 10", "-2*3", "-2/4", "-(1)", "+32 470/12", "\r=1", "-A1",
    ],
)  # fmt: skip
def test_formula_injection_is_refused(tmp_path, value):
    path = write(tmp_path, "f.csv", f'naam;n\n"{value}";1\nok;2\n')
    result = load(path)
    assert result.table is None
    [error] = result.errors
    assert (error.row, error.column, error.value) == (2, "naam", value)
    assert "would be run as a formula in Excel" in error.reason
    assert error.reason.startswith(f"“{value}” starts with ")


@pytest.mark.parametrize(
    "value",
    [
        "+32 470 12 34 56", "+32 (0)470 12 34 56", "-", "--", "+1", "gewoon", "-2", "-2,5",
        "-1.234,56", "-0.5", "+3", "-5%",
    ],
)  # fmt: skip
def test_numbers_phone_numbers_and_dashes_are_not_formulas(tmp_path, value):
    path = write(tmp_path, "f.csv", f"naam;n\n{value};1\nok;2\n")
    assert load(path).ok


def test_safe_for_spreadsheet():
    assert safe_for_spreadsheet("=1+1") == "'=1+1"
    assert safe_for_spreadsheet("@x") == "'@x"
    assert safe_for_spreadsheet("-x") == "'-x"
    assert safe_for_spreadsheet("Kortrijk") == "Kortrijk"
