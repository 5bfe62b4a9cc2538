"""Merged cells: a label, code or year merged over rows is filled down; a number merged
over rows stays in its first row (else it would be counted twice); a merged header cell
names each column below it; the steward is told where."""

from __future__ import annotations

from openpyxl import Workbook

from regiohub.datasets.ingest import convert, describe_note, infer_schema, read_raw


def merged_workbook(tmp_path, rows, merges):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    for merge in merges:
        sheet.merge_cells(merge)
    path = tmp_path / "samengevoegd.xlsx"
    book.save(path)
    return path


def test_labels_and_years_merged_over_rows_are_filled_down(tmp_path):
    path = merged_workbook(
        tmp_path,
        [
            ["Jaar", "Deelgemeente", "Straat", "Meldingen"],
            [2024, "Heule", "Kerkstraat", 4],
            [None, None, "Molenstraat", 2],
            [None, "Bissegem", "Stationsstraat", 7],
            [2025, "Heule", "Kerkstraat", 1],
        ],
        merges=["A2:A4", "B2:B3"],
    )
    raw = read_raw(path, filename=path.name)
    result = convert(raw, infer_schema(raw))
    assert result.table.select(["jaar", "deelgemeente"]).to_pylist() == [
        {"jaar": 2024, "deelgemeente": "Heule"},
        {"jaar": 2024, "deelgemeente": "Heule"},
        {"jaar": 2024, "deelgemeente": "Bissegem"},
        {"jaar": 2025, "deelgemeente": "Heule"},
    ]
    assert [describe_note(note) for note in raw.notes] == [
        "Cells A2:A4, B2:B3 were merged; the value was filled down."
    ]


def test_a_number_merged_over_rows_is_not_counted_twice(tmp_path):
    path = merged_workbook(
        tmp_path,
        [
            ["Project", "Fase", "Budget"],
            ["Fietspad Leie", "studie", 120000],
            ["Fietspad Leie", "uitvoering", None],
            ["Speelplein", "uitvoering", 40000],
        ],
        merges=["C2:C3"],
    )
    raw = read_raw(path, filename=path.name)
    assert convert(raw, infer_schema(raw)).table.column("budget").to_pylist() == [
        120000,
        None,
        40000,
    ]
    assert [describe_note(note) for note in raw.notes] == [
        "Cells C2:C3 were merged over several rows; the number is kept in the first row only, "
        "so that it is not counted twice."
    ]


def test_a_merged_header_cell_names_each_column_below_it(tmp_path):
    path = merged_workbook(
        tmp_path,
        [["Naam", "Adres", None], ["Jan", "Kerkstraat", 5], ["An", "Markt", 1]],
        merges=["B1:C1"],
    )
    raw = read_raw(path, filename=path.name)
    assert raw.columns == ["Naam", "Adres", "Adres 2"]
    assert describe_note(raw.notes[0]) == (
        "Header cells B1:C1 were merged; each column below got the name."
    )


def test_a_title_merged_over_the_table_is_a_title(tmp_path):
    path = merged_workbook(
        tmp_path,
        [["Meldingen per deelgemeente"], ["Deelgemeente", "Meldingen"], ["Heule", 4]],
        merges=["A1:B1"],
    )
    raw = read_raw(path, filename=path.name)
    assert (raw.columns, raw.header_row) == (["Deelgemeente", "Meldingen"], 2)
