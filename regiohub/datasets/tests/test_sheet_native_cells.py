"""Real Excel numbers and dates win over text rules: 850.5 typed in Excel is a number,
whatever the decimal convention of the text cells beside it ("1.234,5"), which still
follow the Belgian rules; a percentage is loaded as shown."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook

from regiohub.datasets.ingest import ColumnType, convert, infer_schema, read_raw


def sheet_with(tmp_path, header, values, number_format=None):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for value in values:
        sheet.append(list(value) if isinstance(value, tuple) else [value])
    if number_format:
        for row in sheet.iter_rows(min_row=2):
            row[0].number_format = number_format
    path = tmp_path / "cellen.xlsx"
    book.save(path)
    return path


def loaded(path):
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    return schema, convert(raw, schema)


def test_a_real_number_beside_belgian_text_numbers(tmp_path):
    path = sheet_with(tmp_path, ["Bedrag"], [850.5, "1.234,5", "12,25", 3, "2.000"])
    schema, result = loaded(path)
    assert (schema[0].type, schema[0].decimal) == (ColumnType.DECIMAL, ",")
    assert result.table.column("bedrag").to_pylist() == [850.5, 1234.5, 12.25, 3.0, 2000.0]


def test_real_numbers_beside_text_numbers_with_a_decimal_point(tmp_path):
    path = sheet_with(tmp_path, ["Bedrag"], [850.5, "1,234.5", "12.25"])
    schema, result = loaded(path)
    assert schema[0].decimal == "."
    assert result.table.column("bedrag").to_pylist() == [850.5, 1234.5, 12.25]


def test_only_real_numbers(tmp_path):
    schema, result = loaded(sheet_with(tmp_path, ["Aantal", "Gemiddelde"], [(3, 0.5), (4, 2)]))
    assert [spec.type for spec in schema] == [ColumnType.INTEGER, ColumnType.DECIMAL]
    assert result.table.to_pylist() == [
        {"aantal": 3, "gemiddelde": 0.5},
        {"aantal": 4, "gemiddelde": 2.0},
    ]


def test_a_real_fraction_in_a_whole_number_column_is_named(tmp_path):
    path = sheet_with(tmp_path, ["Aantal"], [3, 850.5])
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    schema[0].type, schema[0].decimal = ColumnType.INTEGER, ","
    errors = convert(raw, schema).errors
    assert [(error.row, error.value) for error in errors] == [(3, "850.5")]


def test_real_dates_beside_belgian_text_dates(tmp_path):
    path = sheet_with(tmp_path, ["Datum"], [dt.datetime(2025, 1, 31), "28/02/2025"])
    schema, result = loaded(path)
    assert schema[0].type == ColumnType.DATE
    assert result.table.column("datum").to_pylist() == [dt.date(2025, 1, 31), dt.date(2025, 2, 28)]


def test_real_numbers_beside_words_are_text(tmp_path):
    schema, result = loaded(sheet_with(tmp_path, ["Opmerking"], [5, "geen", 7.5]))
    assert schema[0].type == ColumnType.TEXT
    assert result.table.column("opmerking").to_pylist() == ["5", "geen", "7.5"]


def test_a_percentage_is_loaded_as_shown_with_its_unit(tmp_path):
    path = sheet_with(tmp_path, ["Aandeel"], [0.125, 0.07, "12,5 %"], number_format="0.0%")
    schema, result = loaded(path)
    assert (schema[0].type, schema[0].unit) == (ColumnType.DECIMAL, "%")
    assert result.table.column("aandeel").to_pylist() == [12.5, 7.0, 12.5]


def test_a_euro_format_gives_the_unit(tmp_path):
    path = sheet_with(tmp_path, ["Bedrag"], [12.5, 100], number_format='"€ "#,##0.00')
    schema, _result = loaded(path)
    assert schema[0].unit == "EUR"
