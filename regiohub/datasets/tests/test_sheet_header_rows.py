"""The header is found below title rows, or on the row the steward names; header rows
that complete each other are joined ("2025" over "Jan" gives "2025 Jan"); empty columns
without a name are left out; a header problem says what is likely wrong."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from regiohub.datasets.ingest import IngestError, ReadOptions, describe_note, read_raw
from regiohub.datasets.tests.ingest_files import write

HINT = "Is there a title above the header? Choose the row the header is on."


def workbook(tmp_path, rows, merges=(), name="blad.xlsx"):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    for merge in merges:
        sheet.merge_cells(merge)
    path = tmp_path / name
    book.save(path)
    return path


def read(path, **options):
    return read_raw(path, filename=path.name, options=ReadOptions(**options))


def test_title_rows_above_the_header_are_skipped_and_said(tmp_path):
    path = workbook(
        tmp_path,
        [
            ["Verkeerstellingen Kortrijk 2025"],
            ["Bron: Telraam", "bewerkt"],
            [],
            ["Segment", "Uur", "Auto's", "Fietsers"],
            [101, "31/12/2025 14:00", 12, 3],
        ],
        merges=["A1:D1"],
    )
    raw = read(path)
    assert raw.columns == ["Segment", "Uur", "Auto's", "Fietsers"]
    assert (raw.header_row, raw.first_row) == (4, 5)
    assert [describe_note(note) for note in raw.notes] == [
        "The header is on row 4; the rows above it (1–2) look like a title and were skipped."
    ]


def test_the_steward_says_which_row_the_header_is_on(tmp_path):
    path = write(tmp_path, "t.csv", "Periode;2025\nGemeente;Inwoners\nKortrijk;77000\n")
    assert read(path).columns == ["Periode", "2025"]  # two cells: taken for the header
    raw = read(path, header_row=2)
    assert raw.columns == ["Gemeente", "Inwoners"]
    assert raw.table.to_pylist() == [{"Gemeente": "Kortrijk", "Inwoners": "77000"}]
    assert raw.row_number(0) == 3
    with pytest.raises(IngestError, match="Row 9 is empty, or the file does not have it"):
        read(path, header_row=9)


def test_a_merged_year_over_months_is_joined_with_them(tmp_path):
    path = workbook(
        tmp_path,
        [
            ["Gemeente", 2025, None, None, 2024, None],
            [None, "Jan", "Feb", "Mrt", "Jan", "Feb"],
            ["Kortrijk", 1, 2, 3, 4, 5],
        ],
        merges=["A1:A2", "B1:D1", "E1:F1"],
    )
    raw = read(path)
    assert raw.columns == ["Gemeente", "2025 Jan", "2025 Feb", "2025 Mrt", "2024 Jan", "2024 Feb"]
    assert raw.header_rows == (1, 2)
    notes = [describe_note(note) for note in raw.notes]
    assert "Rows 1–2 together form the header: their names were joined (“2025 Jan”)." in notes
    assert "Header cells B1:D1, E1:F1 were merged; each column below got the name." in notes


def test_a_group_label_written_once_over_its_columns_is_joined(tmp_path):
    path = write(tmp_path, "t.csv", ";2025;;\nGemeente;Jan;Feb;Mrt\nKortrijk;1;2;3\n")
    assert read(path).columns == ["Gemeente", "2025 Jan", "2025 Feb", "2025 Mrt"]


def test_a_group_row_under_the_header_is_joined(tmp_path):
    path = workbook(
        tmp_path,
        [["Gemeente", "Bevolking", None, None], [None, 2023, 2024, 2025], ["Menen", 1, 2, 3]],
        merges=["B1:D1"],
    )
    assert read(path).columns == ["Gemeente", "Bevolking 2023", "Bevolking 2024", "Bevolking 2025"]


def test_a_data_row_is_never_taken_for_a_header_row(tmp_path):
    path = workbook(
        tmp_path,
        [["Gemeente", "Bevolking", None], ["Kortrijk", 77000, 78000], ["Menen", 1, 2]],
        merges=["B1:C1"],
    )
    raw = read(path)
    assert raw.columns == ["Gemeente", "Bevolking", "Bevolking 2"]
    assert raw.num_rows == 2


def test_empty_leading_columns_are_left_out(tmp_path):
    csv = write(tmp_path, "t.csv", ";;Gemeente;Aantal\n;;Kortrijk;5\n;;Menen;6\n")
    raw = read(csv)
    assert raw.columns == ["Gemeente", "Aantal"]
    assert [describe_note(note) for note in raw.notes] == [
        "Empty columns without a name were left out: 1, 2."
    ]
    xlsx = workbook(tmp_path, [[None, None, "Gemeente", "Aantal"], [None, None, "Menen", 6]])
    raw = read(xlsx)
    assert raw.columns == ["Gemeente", "Aantal"]
    assert describe_note(raw.notes[-1]) == "Empty columns without a name were left out: A, B."


def test_a_column_with_values_but_no_name_asks_about_a_title(tmp_path):
    path = workbook(tmp_path, [["Gemeente", None, "Aantal"], ["Menen", "x", 6]])
    with pytest.raises(IngestError) as caught:
        read(path)
    assert caught.value.message == (
        "Column B has values (from row 2) but no name in the header row. Give every column a "
        "name. " + HINT
    )


def test_a_header_without_rows_asks_about_a_title(tmp_path):
    with pytest.raises(IngestError) as caught:
        read(write(tmp_path, "t.csv", "Titel van het bestand\nGemeente;Aantal\n"))
    assert caught.value.message == "The file has a header row but no data rows. " + HINT


def test_a_title_line_does_not_hide_the_delimiter(tmp_path):
    path = write(
        tmp_path, "t.csv", "Overzicht, opgemaakt op 31/12/2025\nGemeente;Aantal\nKortrijk;1,5\n"
    )
    raw = read(path)
    assert (raw.delimiter, raw.columns) == (";", ["Gemeente", "Aantal"])


def test_a_row_of_units_under_the_header_goes_with_the_names(tmp_path):
    path = write(tmp_path, "t.csv", "Meetpunt;Snelheid;Bedrag\n;km/h;(EUR)\nA;50;12\nB;30;5\n")
    raw = read(path)
    assert raw.columns == ["Meetpunt", "Snelheid (km/h)", "Bedrag (EUR)"]
    assert raw.num_rows == 2
    # A column of "m" and "v" (male, female) is data, not a unit.
    assert read(write(tmp_path, "g.csv", "Geslacht\nm\nv\n")).num_rows == 2
