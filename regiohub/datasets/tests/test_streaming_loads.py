"""A file larger than REGIOHUB_DATASETS_STREAM_MB is read, converted and checked batch by
batch and staged on disk (docs/decisions/0024-streaming-loads.md): it loads exactly as
the same file read whole (the version, its rows, the counts, the rows named in errors and
in a dry run), nothing is published unless every batch is valid, and the staged files
are gone when the load ends however it ends.

Here the threshold is 0 (every file streams) and batches hold a few rows, so that small
files cross many batches."""

from __future__ import annotations

import io
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from regiohub.core.testing import run_tasks
from regiohub.datasets import services, storage
from regiohub.datasets.ingest import overview, stream
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db

KEY = ["id"]
CSV = (
    "Tellingen per segment\n"
    "\n"
    "Bron: Kortrijk\n"
    "id;naam;waarde;datum\n"
    + "".join(
        f"{i};naam {i};{i},5;0{1 + i % 9}/01/2025 1{i % 10}:00\n" + ("\n" if i % 4 == 0 else "")
        for i in range(1, 15)
    )
)  # fmt: skip
ROWS = 14


@pytest.fixture
def streaming(settings, monkeypatch):
    """Every file streams, in batches of three records (CSV: blocks of 64 bytes)."""

    def on() -> None:
        settings.DATASETS_STREAM_MB = 0

    def off() -> None:
        settings.DATASETS_STREAM_MB = 10_000

    monkeypatch.setattr(stream, "BATCH_ROWS", 3)
    monkeypatch.setattr(stream, "BLOCK_BYTES", 64)
    on()
    return on, off


def version_rows(dataset) -> list[dict]:
    """Every row of the current version, in a fixed order."""
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    rows = table.select([column["key"] for column in version.schema]).to_pylist()
    return sorted(rows, key=lambda row: tuple(str(value) for value in row.values()))


def summary(load) -> dict:
    version = load.version
    return {
        "state": load.state,
        "rows_total": load.rows_total,
        "schema": load.schema,
        "detected": load.detected,
        "preview": load.preview,
        "counts": (
            version.row_count,
            version.rows_added,
            version.rows_updated,
            version.rows_unchanged,
            version.rows_removed,
        )
        if version
        else None,
        "errors": load.errors,
        "message": load.message,
    }


def both(region, steward, streaming, files, **kwargs) -> tuple[list, list]:
    """Load ``files`` (content, name, mode) one after the other into a dataset read whole
    and one read in batches: the summaries of the loads and the rows of each dataset."""
    on, off = streaming
    results = []
    for slug, switch in (("heel", off), ("stroom", on)):
        switch()
        dataset = make_dataset(region["KOR"], steward, slug=slug)
        loads = [
            summary(upload(dataset, steward, content, name=name, mode=mode, **kwargs))
            for content, name, mode in files
        ]
        results.append((loads, version_rows(dataset) if dataset.current_version else []))
    return results[0], results[1]


def parquet_bytes() -> bytes:
    table = pa.table(
        {
            "id": list(range(1, ROWS + 1)),
            "naam": [f"naam {i}" for i in range(1, ROWS + 1)],
            "waarde": [i + 0.5 for i in range(1, ROWS + 1)],
            "aanwezig": [i % 2 == 0 for i in range(1, ROWS + 1)],
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Tellingen"])
    sheet.append([])
    sheet.append(["id", "naam", "aandeel"])
    for i in range(1, ROWS + 1):
        sheet.append([i, f"naam {i}", i / 100])
        sheet.cell(row=sheet.max_row, column=3).number_format = "0%"
        if i % 5 == 0:
            sheet.append([])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


NDJSON = (
    "".join(
        f'{{"id": {i}, "naam": "naam {i}", "waarde": {i}.25}}\n' + ("\n" if i % 3 == 0 else "")
        for i in range(1, ROWS + 1)
    )
    + '{"id": 99, "extra": "later"}\n'
)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (CSV, "tellingen.csv"),
        (NDJSON, "tellingen.ndjson"),
        (parquet_bytes(), "tellingen.parquet"),
        (xlsx_bytes(), "tellingen.xlsx"),
        (CSV.encode("cp1252"), "tellingen.csv"),
    ],
)
def test_a_file_read_in_batches_loads_as_the_same_file_read_whole(
    region, steward, streaming, content, name
):
    whole, batches = both(region, steward, streaming, [(content, name, "replace")])
    assert whole[0][0]["state"] == "done", whole[0][0]["message"]
    assert batches == whole


def test_the_columns_of_a_big_file_are_guessed_from_its_first_rows_and_totals_found_in_all(
    region, steward, streaming, monkeypatch
):
    """Past the first rows, a total row is still found by its label, an empty cell still
    makes a column one that may be empty, and every row is counted."""
    monkeypatch.setattr(overview, "HEAD_ROWS", 4)
    content = CSV.replace("14;naam 14;14,5;", "14;;14,5;") + "Totaal;;105;\n"
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, content, confirm=False)
    assert load.state == "review", load.message
    assert load.rows_total == ROWS
    assert [total["row"] for total in load.detected["totals"]] == [22]
    assert load.options["exclude_rows"] == [22]
    columns = {column["key"]: column for column in load.schema}
    assert columns["naam"]["nullable"] and not columns["waarde"]["nullable"]
    assert (columns["id"]["type"], columns["waarde"]["type"]) == ("integer", "decimal")
    services.confirm(load, steward, columns=load.schema, primary_key=KEY, mode="replace")
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", (load.message, load.errors)
    assert load.version.row_count == ROWS


def test_a_bad_cell_in_the_last_batch_publishes_nothing_and_names_its_row(
    region, steward, streaming
):
    dataset = make_dataset(region["KOR"], steward)
    first = upload(dataset, steward, CSV, mode="replace", primary_key=KEY)
    assert first.state == "done", first.message
    before = version_rows(dataset)
    # Line 21 of the file: three lines above the header, blank lines after ids 4, 8, 12.
    bad = CSV.replace("14;naam 14;14,5;", "14;naam 14;veertien;")
    load = upload(dataset, steward, bad, mode="replace", primary_key=KEY)
    assert load.state == "failed"
    assert load.error_count == 1
    error = load.errors[0]
    assert (error["row"], error["column"], error["value"]) == (21, "waarde", "veertien")
    assert bad.splitlines()[20].startswith("14;")
    assert dataset.versions.count() == 1
    assert version_rows(dataset) == before
    assert not list(services.uploads_dir().rglob(".staging-*"))


def test_errors_in_many_batches_are_all_counted_and_the_first_named_in_file_order(
    region, steward, streaming
):
    dataset = make_dataset(region["KOR"], steward)
    lines = ["id;waarde"] + [f"{i};{'x' if i % 2 else i}" for i in range(1, 301)]
    schema_file = "id;waarde\n1;2\n"
    upload(dataset, steward, schema_file, mode="replace")
    load = upload(dataset, steward, "\n".join(lines) + "\n", confirm=False)
    columns = [dict(column, type="integer") for column in dataset.current_version.schema]
    services.confirm(load, steward, columns=columns, primary_key=[], mode="replace")
    run_tasks()
    load.refresh_from_db()
    assert load.state == "failed"
    assert load.error_count == 150
    assert [error["row"] for error in load.errors] == list(range(2, 201, 2))[:100]


def test_a_key_repeated_in_a_later_batch_is_refused_naming_both_rows(region, steward, streaming):
    dataset = make_dataset(region["KOR"], steward)
    repeated = CSV + "3;nog eens drie;3,5;01/01/2025 10:00\n"  # line 22
    load = upload(dataset, steward, repeated, mode="replace", primary_key=KEY)
    assert load.state == "failed"
    assert [(e["row"], e["column"], e["value"]) for e in load.errors] == [(22, "id", "3")]
    reason = load.errors[0]["reason"]
    assert "An earlier row has this key too" in reason and "row 7." in reason  # 3 is on line 7
    assert dataset.versions.count() == 0
    assert not list(services.uploads_dir().rglob(".staging-*"))


def test_a_key_repeated_in_order_and_an_empty_key_are_refused(region, steward, streaming):
    dataset = make_dataset(region["KOR"], steward)
    ordered = "id;naam\n1;a\n2;b\n2;c\n3;d\n4;e\n"
    load = upload(dataset, steward, ordered, mode="replace", primary_key=KEY)
    assert [(e["row"], e["value"]) for e in load.errors] == [(4, "2")]
    assert "row 3." in load.errors[0]["reason"]
    empty = "id;naam\n1;a\n2;b\n3;c\n4;d\n;e\n"
    load = upload(dataset, steward, empty, mode="replace", primary_key=KEY)
    assert [(e["row"], e["column"]) for e in load.errors] == [(6, "id")]
    assert "no value in the key column" in load.errors[0]["reason"]


def later(start: int, stop: int, change: int = 0) -> str:
    return "id;naam;waarde\n" + "".join(
        f"{i};naam {i};{i + (change if i % 2 else 0)}\n" for i in range(start, stop)
    )


@pytest.mark.parametrize(
    ("mode", "key"),
    [("upsert", KEY), ("replace", KEY), ("append", KEY), ("append", []), ("replace", [])],
)
def test_every_mode_counts_as_for_a_file_read_whole(region, steward, streaming, mode, key):
    first = (later(1, 12), "a.csv", "replace")
    second = (later(6, 20, change=10) if mode != "append" or not key else later(12, 20), "b.csv")
    whole, batches = both(
        region, steward, streaming, [first, (*second, mode)], primary_key=key or None
    )
    assert [load["state"] for load in whole[0]] == ["done", "done"], whole[0][1]["message"]
    assert batches == whole


def test_keys_held_twice_are_collapsed_as_for_a_file_read_whole(region, steward, streaming):
    """An upsert into a version that holds a key twice (loaded before keys were checked)
    rewrites the table; for a big load the rows are staged, not held in memory."""
    twice = "id;naam;waarde\n1;a;1\n2;b;2\n2;b;3\n3;c;4\n"
    on, off = streaming
    results = []
    for slug, switch in (("heel", off), ("stroom", on)):
        switch()
        dataset = make_dataset(region["KOR"], steward, slug=slug)
        upload(dataset, steward, twice, mode="append")
        load = upload(dataset, steward, later(2, 9, change=1), mode="upsert", primary_key=KEY)
        results.append((summary(load), version_rows(dataset)))
    assert results[0][0]["counts"][4] == 1  # the second row of key 2 removed
    assert results[1] == results[0]


def test_a_dry_run_reads_in_batches_and_names_the_rows(region, steward, streaming):
    on, off = streaming
    reports = []
    for slug, switch in (("heel", off), ("stroom", on)):
        switch()
        dataset = make_dataset(region["KOR"], steward, slug=slug)
        upload(dataset, steward, later(1, 12), mode="replace", primary_key=KEY)
        load = upload(dataset, steward, "\n" + later(6, 20, change=10), confirm=False)
        services.confirm(
            load, steward, columns=load.schema, primary_key=KEY, mode="upsert", dry_run=True
        )
        run_tasks()
        load.refresh_from_db()
        assert load.state == "review"
        report = dict(load.dry_run)
        report.pop("checked_at")
        reports.append(report)
        assert not list(services.uploads_dir().rglob(".staging-*"))
    assert reports[0]["counts"] == {"added": 8, "updated": 3, "unchanged": 8, "removed": 0}
    # A blank first line, then the header: ids 7, 9 and 11 are on lines 4, 6 and 8.
    assert [row["row"] for row in reports[0]["updated_rows"]] == [4, 6, 8]
    assert reports[1] == reports[0]


def test_the_staged_files_are_gone_after_done_failed_and_cancel(region, steward, streaming):
    dataset = make_dataset(region["KOR"], steward)
    done = upload(dataset, steward, CSV, mode="replace", primary_key=KEY)
    assert done.state == "done"
    failed = upload(dataset, steward, CSV, mode="append", primary_key=KEY)  # keys taken
    assert failed.state == "failed" and failed.error_count == ROWS
    assert (services.uploads_dir() / failed.file).is_file()  # kept to load it again
    assert not list(services.uploads_dir().rglob(".staging-*"))

    more = "id;naam;waarde;datum\n" + "".join(
        f"{i};n;1,5;01/01/2025 10:00\n" for i in range(20, 30)
    )
    load = upload(dataset, steward, more, confirm=False)
    services.confirm(load, steward, columns=load.schema, primary_key=KEY, mode="upsert")
    stage = services._stage

    def stage_then_cancel(*args, **kwargs):
        found = stage(*args, **kwargs)
        assert list(services.uploads_dir().rglob(".staging-*"))
        services.cancel(load, steward)
        return found

    with mock.patch.object(services, "_stage", stage_then_cancel):
        run_tasks()
    load.refresh_from_db()
    assert load.state == "cancelled"
    assert dataset.versions.count() == 1
    assert not list(services.uploads_dir().rglob(".staging-*"))


@pytest.mark.parametrize("late", ["cp1252", "quoted line break"])
def test_a_csv_that_changes_after_its_first_megabyte_is_read_again(
    region, steward, streaming, monkeypatch, late
):
    """The encoding and the quoting are told by the first megabyte; a file that is not
    UTF-8 after all, or has a line break in a quoted value further on, is read again."""
    monkeypatch.setattr(stream, "BATCH_ROWS", 20_000)
    monkeypatch.setattr(stream, "BLOCK_BYTES", 64 * 1024)
    lines = "".join(f"{i};naam {i};{i},5\n" for i in range(1, 70_001))
    if late == "cp1252":
        content = ("id;naam;waarde\n" + lines + "70001;café;1,5\n").encode("cp1252")
    else:
        content = ("id;naam;waarde\n" + lines + '70001;"twee\nregels";1,5\n').encode()
    assert len(content) > 1024**2
    whole, batches = both(region, steward, streaming, [(content, "groot.csv", "replace")])
    assert whole[0][0]["state"] == "done", whole[0][0]["message"]
    assert batches == whole
