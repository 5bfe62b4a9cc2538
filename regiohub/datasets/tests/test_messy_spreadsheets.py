"""The spreadsheets municipalities really send load as the tables they mean: title rows
skipped, header rows joined, merged cells filled, total rows left out, real Excel numbers
beside Belgian text numbers, amounts with their currency and unit, "neen" and ticks."""

from __future__ import annotations

import pytest

from regiohub.datasets.ingest import (
    ReadOptions,
    convert,
    find_totals,
    infer_schema,
    read_raw,
    without_totals,
)
from regiohub.datasets.tests.messy_sheets import CORPUS, MessySheet


def read_as_a_load_does(sheet: MessySheet, tmp_path):
    """Read, type, find the total rows and type again without them (services.inspect);
    then read again leaving them out, and convert (services.execute)."""
    path = sheet.build(tmp_path)
    raw = read_raw(path, filename=sheet.filename, options=ReadOptions(**sheet.options))
    totals = find_totals(raw, infer_schema(raw))
    _raw, schema = without_totals(raw, infer_schema(raw), totals)
    left_out = ReadOptions(**sheet.options, exclude_rows=tuple(total.row for total in totals))
    raw = read_raw(path, filename=sheet.filename, options=left_out)
    return totals, schema, convert(raw, schema)


@pytest.mark.parametrize("sheet", CORPUS, ids=[sheet.name for sheet in CORPUS])
def test_a_messy_spreadsheet_loads_as_the_table_it_means(sheet, tmp_path):
    totals, schema, result = read_as_a_load_does(sheet, tmp_path)
    assert tuple(total.row for total in totals) == sheet.total_rows
    assert result.ok, result.errors
    assert result.table.to_pylist() == sheet.expected
    units = {spec.key: spec.unit for spec in schema if spec.unit}
    assert units == sheet.units
