"""Total and subtotal rows are found, by their label or by their sums, and can be left
out; the rows around them keep the numbers they have in the file."""

from __future__ import annotations

import pytest

from regiohub.datasets.ingest import (
    ColumnType,
    ReadOptions,
    convert,
    find_totals,
    infer_schema,
    read_raw,
)
from regiohub.datasets.tests.ingest_files import write


def totals_of(tmp_path, text):
    path = write(tmp_path, "t.csv", text)
    raw = read_raw(path, filename=path.name)
    return [(total.row, total.label) for total in find_totals(raw, infer_schema(raw))]


@pytest.mark.parametrize(
    "label",
    ["Totaal", "TOTAAL:", "Total", "Subtotaal", "Sub-totaal", "Sous-total", "Eindtotaal",
     "Algemeen totaal", "Grand total", "Total général", "Totaal Kortrijk"],
)  # fmt: skip
def test_a_row_labelled_as_a_total_is_found(tmp_path, label):
    text = f"Gemeente;Aantal\nKortrijk;5\nMenen;7\n{label};99\n"
    assert totals_of(tmp_path, text) == [(4, label)]


@pytest.mark.parametrize("label", ["Totaalbedrag", "Totalement", "Subsidie", "Stotaal"])
def test_words_that_only_look_like_total_are_data(tmp_path, label):
    assert totals_of(tmp_path, f"Omschrijving;Aantal\n{label};5\nAnders;7\n") == []


def test_a_row_of_sums_without_a_label_is_found(tmp_path):
    text = "Gemeente;Fietsers\nKortrijk;10\nMenen;5\nWevelgem;6\n;21\n"
    assert totals_of(tmp_path, text) == [(5, "")]


def test_subtotals_and_a_grand_total_without_labels(tmp_path):
    text = "Straat;Auto's;Fietsers\na;1;10\nb;2;20\n;3;30\nc;4;40\nd;5;50\n;9;90\n;12;120\n"
    assert totals_of(tmp_path, text) == [(4, ""), (7, ""), (8, "")]


def test_a_data_row_that_happens_to_add_up_is_not_a_total(tmp_path):
    # 3 = 1 + 2, and 5 = 2 + 3: but the rows have a label and only two numbers.
    assert totals_of(tmp_path, "Naam;A;B\nx;1;2\ny;2;3\nz;3;5\n") == []


def test_years_and_codes_are_not_summed(tmp_path):
    # The total of 2025 keeps its year: only "Aantal" has to add up.
    text = "Jaar;NIS;Aantal\n2025;34022;5\n2025;34027;6\n2025;;11\n"
    assert totals_of(tmp_path, text) == [(4, "")]


def test_a_total_in_a_year_column_does_not_make_it_text(tmp_path):
    path = write(tmp_path, "t.csv", "Jaar;Aantal\n2024;5\n2025;6\nTotaal;11\n")
    raw = read_raw(path, filename=path.name)
    totals = find_totals(raw, infer_schema(raw))
    assert [total.row for total in totals] == [4]
    raw = raw.without_rows(total.row for total in totals)
    schema = infer_schema(raw)
    assert schema[0].type == ColumnType.INTEGER
    assert convert(raw, schema).table.to_pylist() == [
        {"jaar": 2024, "aantal": 5},
        {"jaar": 2025, "aantal": 6},
    ]


def test_left_out_rows_keep_the_row_numbers_of_the_others(tmp_path):
    path = write(tmp_path, "t.csv", "n;x\n1;a\n\nTotaal;b\n2;c\nzes;d\n")
    raw = read_raw(path, filename=path.name, options=ReadOptions(exclude_rows=(4,)))
    assert raw.table.column("n").to_pylist() == ["1", "2", "zes"]
    schema = infer_schema(raw)
    schema[0].type = ColumnType.INTEGER
    assert [(error.row, error.value) for error in convert(raw, schema).errors] == [(6, "zes")]


def test_a_total_that_is_loaded_after_all_says_what_it_probably_is(tmp_path):
    path = write(tmp_path, "t.csv", "Jaar;Aantal\n2024;5\n2025;6\n")
    schema = infer_schema(read_raw(path, filename=path.name))
    bad = write(tmp_path, "u.csv", "Jaar;Aantal\n2024;5\n2025;6\nTotaal;11\n")
    errors = convert(read_raw(bad, filename=bad.name), schema).errors
    assert errors[0].reason == (
        "“Totaal” is not a whole number: is this a total row? Leave it out on the column review"
    )
