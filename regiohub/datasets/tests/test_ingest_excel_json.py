import datetime as dt
import json
import re

import pytest
from openpyxl import Workbook

from regiohub.datasets.ingest import (
    IngestError,
    ReadOptions,
    convert,
    infer_schema,
    list_sheets,
    read_raw,
)
from regiohub.datasets.tests.ingest_files import load, write


def workbook(tmp_path, sheets: dict[str, list[list]]):
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "werkboek.xlsx"
    book.save(path)
    return path


def test_excel_typed_cells(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Tellingen": [
                ["Datum", "Tijdstip", "Aantal", "Bedrag", "Code", "Actief"],
                [
                    dt.datetime(2025, 12, 31),
                    dt.datetime(2025, 12, 31, 14, 0),
                    5,
                    1.5,
                    "01234",
                    True,
                ],
                [dt.datetime(2025, 6, 1), dt.datetime(2025, 6, 1, 8, 30), 7, 2.25, "00012", False],
            ]
        },
    )
    raw = read_raw(path, filename=path.name)
    assert (raw.format, raw.sheet, raw.header_row) == ("xlsx", "Tellingen", 1)
    types = [spec.type.value for spec in infer_schema(raw)]
    assert types == ["date", "timestamp", "integer", "decimal", "text", "boolean"]
    table = load(path).table
    assert table.column("datum").to_pylist() == [dt.date(2025, 12, 31), dt.date(2025, 6, 1)]
    assert table.column("tijdstip")[0].as_py() == dt.datetime(2025, 12, 31, 13, 0, tzinfo=dt.UTC)
    assert table.column("bedrag").to_pylist() == [1.5, 2.25]
    assert table.column("code").to_pylist() == ["01234", "00012"]


def test_excel_sheet_choice_and_list(tmp_path):
    path = workbook(tmp_path, {"Eerste": [["a"], [1]], "Tweede": [["b"], ["x"]]})
    assert list_sheets(path) == ["Eerste", "Tweede"]
    raw = read_raw(path, filename=path.name, options=ReadOptions(sheet="Tweede"))
    assert raw.columns == ["b"]
    with pytest.raises(IngestError) as caught:
        read_raw(path, filename=path.name, options=ReadOptions(sheet="Derde"))
    assert caught.value.message == (
        "The workbook has no sheet “Derde”. Its sheets are: “Eerste”, “Tweede”."
    )


def test_excel_rows_are_numbered_as_in_excel(tmp_path):
    path = workbook(
        tmp_path, {"Blad": [[], ["titel", None], ["n", None], [1], [], ["x"], [None, None]]}
    )
    raw = read_raw(path, filename=path.name)
    assert raw.header_row == 2
    schema = infer_schema(raw)
    assert raw.columns == ["titel"]
    # The row "n" is the first record; "x" is in Excel row 6.
    schema[0].type = "integer"
    result = convert(raw, schema)
    assert [(error.row, error.value) for error in result.errors] == [(3, "n"), (6, "x")]


def test_excel_value_in_a_column_without_name(tmp_path):
    path = workbook(tmp_path, {"Blad": [["a", None], [1, 2]]})
    with pytest.raises(IngestError, match="Column B has values"):
        read_raw(path, filename=path.name)


def test_excel_formula_text_is_refused_on_convert(tmp_path):
    path = workbook(tmp_path, {"Blad": [["naam"], ["ok"], ["'=cmd|' /C calc'!A0"]]})
    book = Workbook()
    sheet = book.active
    sheet.append(["naam"])
    sheet.append(["ok"])
    sheet["A3"] = "=cmd|' /C calc'!A0"
    sheet["A3"].data_type = "s"
    book.save(path)
    result = load(path)
    assert [(error.row, error.column) for error in result.errors] == [(3, "naam")]


def test_broken_xlsx(tmp_path):
    with pytest.raises(IngestError, match="not a valid Excel"):
        read_raw(write(tmp_path, "kapot.xlsx", b"not a zip"), filename="kapot.xlsx")


def test_json_list_of_objects_with_nested_values(tmp_path):
    records = [
        {"id": 1, "naam": "Kortrijk", "bedrag": 1.5, "tags": ["a"], "geo": {"lat": 50.8}},
        {"id": 2, "naam": "Menen", "actief": True},
    ]
    path = write(tmp_path, "data.json", json.dumps(records))
    raw = read_raw(path, filename=path.name)
    assert raw.columns == ["id", "naam", "bedrag", "tags", "geo", "actief"]
    table = load(path).table
    assert table.column("tags").to_pylist() == ['["a"]', None]
    assert table.column("geo").to_pylist() == ['{"lat":50.8}', None]
    assert table.column("id").to_pylist() == [1, 2]


def test_json_object_with_one_list(tmp_path):
    path = write(tmp_path, "api.json", json.dumps({"meta": {"n": 1}, "data": [{"a": "x"}]}))
    assert load(path).table.to_pylist() == [{"a": "x"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"a": 1},\n {"a": 2,}]', "not valid JSON: Expecting property name"),
        ('{"a": [], "b": []}', "exactly one list of records in it (it has 2)"),
        ('[{"a": 1}, 5]', "Record 2 of the JSON list is not an object"),
        ("[]", "empty list"),
        ('"tekst"', "does not hold a list of records"),
    ],
)
def test_bad_json(tmp_path, content, message):
    with pytest.raises(IngestError, match=re.escape(message)):
        read_raw(write(tmp_path, "x.json", content), filename="x.json")


def test_invalid_json_names_line_and_column(tmp_path):
    with pytest.raises(IngestError) as caught:
        read_raw(write(tmp_path, "x.json", '[\n{"a": 1},\n{"a" 2}\n]'), filename="x.json")
    assert "on line 3, column 6" in caught.value.message


def test_ndjson_records_are_numbered_by_line(tmp_path):
    path = write(tmp_path, "x.ndjson", '{"n": 1}\n\n{"n": "x"}\n')
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    schema[0].type = "integer"
    assert [error.row for error in convert(raw, schema).errors] == [3]


def test_ndjson_line_that_is_not_an_object(tmp_path):
    with pytest.raises(IngestError, match="Line 2 is not a JSON object"):
        read_raw(write(tmp_path, "x.jsonl", '{"n": 1}\n[1]\n'), filename="x.jsonl")
