"""Amounts with their currency and numbers with their unit load as numbers with the unit
kept as the column's unit; yes/no in Dutch, French and English, and ticks ("x" or empty),
load as yes/no; a column name does not repeat its unit."""

from __future__ import annotations

import pyarrow as pa
import pytest

from regiohub.datasets.ingest import ColumnType, convert, infer_schema, read_raw, shown_unit
from regiohub.datasets.ingest.units import split_units
from regiohub.datasets.tests.ingest_files import write


def column_of(tmp_path, header, values):
    """The column `header` of a `;` file with `values`, beside a column of names."""
    rows = [f"rij {number};{value}" for number, value in enumerate(values)]
    path = write(tmp_path, "t.csv", f"Naam;{header}\n" + "\n".join(rows) + "\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    return schema[1], convert(raw, schema)


@pytest.mark.parametrize(
    ("values", "unit", "numbers"),
    [
        (["€ 1.234,56", "€ 12"], "EUR", [1234.56, 12.0]),
        (["1.234,56 EUR", "0,5 eur"], "EUR", [1234.56, 0.5]),
        (["-€ 12,50", "€ -3", "€5"], "EUR", [-12.5, -3.0, 5.0]),
        (["12 %", "7,5%", "0"], "%", [12.0, 7.5, 0.0]),
        (["3,5 km", "12 km"], "km", [3.5, 12.0]),
        (["45 km/u", "50 km/h"], "km/h", [45.0, 50.0]),
        (["120 m²", "80 m2"], "m²", [120.0, 80.0]),
    ],
)
def test_numbers_with_a_unit(tmp_path, values, unit, numbers):
    spec, result = column_of(tmp_path, "Waarde", values)
    assert spec.type in (ColumnType.DECIMAL, ColumnType.INTEGER)
    assert spec.unit == unit
    assert [float(n) for n in result.table.column("waarde").to_pylist()] == numbers


@pytest.mark.parametrize(
    "values",
    [
        ["3 jan", "4 feb"],  # dates, not numbers of a unit
        ["12a", "14b"],  # house numbers
        ["3 km", "200 m"],  # two units
        ["€ 5", "$ 5"],  # two currencies
        ["31/12/2025", "01/01/2026"],
    ],
)
def test_values_that_are_not_numbers_with_a_unit(values):
    assert split_units(pa.array(values))[0] == ""


def test_the_unit_in_the_header_is_kept_and_not_repeated(tmp_path):
    spec, result = column_of(tmp_path, "Bedrag (EUR)", ["€ 1.234,56", "€ 10"])
    assert (spec.name, spec.unit) == ("Bedrag (EUR)", "EUR")
    assert result.table.column("bedrag_eur").to_pylist() == [1234.56, 10.0]
    assert shown_unit("Bedrag (EUR)", "EUR") == ""
    assert shown_unit("Bedrag (€)", "EUR") == ""
    assert shown_unit("Snelheid [km/h]", "km/h") == ""
    assert shown_unit("Bedrag", "EUR") == "EUR"
    assert shown_unit("Aandeel %", "%") == ""


def test_another_currency_in_a_euro_column_suggests_the_fix(tmp_path):
    path = write(tmp_path, "t.csv", "Post;Bedrag\na;€ 5,50\nb;€ 6\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    bad = write(tmp_path, "u.csv", "Post;Bedrag\na;€ 5,50\nb;$ 6\n")
    [error] = convert(read_raw(bad, filename=bad.name), schema).errors
    assert (error.row, error.value) == (3, "$ 6")
    assert error.reason == (
        "“$ 6” is not a number with a decimal comma (such as 1.234,56): remove the currency "
        "sign or unit, or choose Text"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["ja", "neen", "Nee"], [True, False, False]),
        (["oui", "non"], [True, False]),
        (["yes", "no", "YES"], [True, False, True]),
        (["x", "", "X", ""], [True, False, True, False]),
    ],
)
def test_yes_and_no(tmp_path, values, expected):
    _spec, result = column_of(tmp_path, "Actief", values)
    assert result.table.column("actief").to_pylist() == expected


def test_an_x_in_every_row_says_nothing(tmp_path):
    spec, _result = column_of(tmp_path, "Klasse", ["x", "x"])
    assert spec.type == ColumnType.TEXT
