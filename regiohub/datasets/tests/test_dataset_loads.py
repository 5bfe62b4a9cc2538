"""A data steward uploads a file, checks the columns and publishes a new version; a bad
file is refused with its errors and the current version stays as it was."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from regiohub.core.models import HistoryEntry
from regiohub.datasets import query, services, storage
from regiohub.datasets.models import Load
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


def rows(dataset, version=None, params=""):
    version = version or dataset.current_version
    parsed = query.parse(QueryDict(params or "limit=1000"), version.schema)
    files = storage.files(dataset.storage_key, version.delta_version)
    return query.run(files, version.schema, parsed).table.to_pylist()


def test_an_upload_is_read_reviewed_and_published_as_version_1(
    region, steward, django_capture_on_commit_callbacks
):
    dataset = make_dataset(region["KOR"], steward)
    load = services.start_upload(dataset, steward, SimpleUploadedFile("t.csv", COUNTS_CSV.encode()))
    assert load.state == "inspecting"
    from regiohub.core.testing import run_tasks

    run_tasks()
    load.refresh_from_db()
    assert load.state == "review"
    assert load.detected["delimiter"] == ";"
    types = {c["key"]: c["type"] for c in load.schema}
    assert types["segment"] == "integer" and types["uur"] == "timestamp"
    assert types["auto_s"] == "decimal"
    assert next(c for c in load.schema if c["key"] == "snelheid_km_per_h")["unit"] == "km/h"
    assert load.preview[0][:2] == ["101", "31/12/2025 14:00"]

    services.confirm(load, steward, columns=load.schema, primary_key=[], mode="append")
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    version = dataset.current_version
    assert (version.number, version.row_count, load.version) == (1, 3, version)
    found = rows(dataset, params="order=segment,uur")
    assert found[0]["auto_s"] == 1234.5 and found[2]["auto_s"] == 15.25
    # 14:00 in Brussels (winter) is 13:00 UTC
    assert found[0]["uur"].isoformat().startswith("2025-12-31T14:00:00+01:00")
    assert (
        HistoryEntry.objects.for_object(dataset).filter(action="dataset.version_published").exists()
    )
    assert not any((services.uploads_dir()).rglob("*.csv")), "the upload is removed"


def test_a_text_in_a_number_column_is_refused_and_the_version_stays(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    before = rows(dataset)
    bad = upload(dataset, steward, COUNTS_CSV + "103;01/01/2026 10:00;veel;3;50\n", confirm=False)
    schema = [dict(c) for c in dataset.current_version.schema]
    services.confirm(bad, steward, columns=schema, primary_key=[], mode="append")
    from regiohub.core.testing import run_tasks

    run_tasks()
    bad.refresh_from_db()
    assert bad.state == "failed"
    assert bad.error_count == 1
    error = bad.errors[0]
    assert (error["row"], error["column"], error["value"]) == (5, "Auto's", "veel")
    assert dataset.versions.count() == 1
    assert rows(dataset) == before


@pytest.mark.parametrize(
    ("name", "content", "options", "words"),
    [
        ("leeg.csv", b"", None, "empty"),
        ("kop.csv", b"a;b\n", None, "no data rows"),
        ("rafelig.csv", b"a;b;c\n1;2;3\n4;5\n", None, "row 3 has 2 fields"),
        ("cp1252.csv", "naam;waarde\ncafé;1\n".encode("cp1252"), {"encoding": "utf-8"},
         "not in the encoding utf-8"),
        ("rapport.csv", b"%PDF-1.4\n\x00\x01binary", None, "pdf"),
        ("getal.csv", b"naam;waarde\ny;veel\n", None, "is not a whole number"),
        ("formule.csv", b"naam;waarde\n=cmd|' /C calc'!A0;1\n", None, "formula"),
    ],
)  # fmt: skip
def test_a_malformed_file_names_its_problem_and_leaves_the_version(
    region, steward, name, content, options, words
):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, "naam;waarde\nx;1\n")
    if not content:
        with pytest.raises(ValidationError, match="empty"):
            services.start_upload(dataset, steward, SimpleUploadedFile(name, content))
        assert dataset.versions.count() == 1
        return
    load = upload(dataset, steward, content, name=name, options=options)
    assert load.state == "failed"
    message = (load.message + " " + " ".join(e["reason"] for e in load.errors)).lower()
    assert words in message
    assert dataset.versions.count() == 1
    assert rows(dataset) == [{"naam": "x", "waarde": 1}]


def test_a_utf32_file_is_read(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, "naam;waarde\nx;1\n".encode("utf-32"))
    assert load.state == "done", load.message
    assert rows(dataset) == [{"naam": "x", "waarde": 1}]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, "a;b\n1;2\n")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", b"a;b\n" + b"0" * 200_000_000)
    load = upload(dataset, steward, packed.getvalue(), name="bom.zip")
    assert load.state == "failed"
    assert "zip" in load.message.lower() or "uncompressed" in load.message.lower()
    assert dataset.versions.count() == 1
    assert rows(dataset) == [{"a": 1, "b": 2}]


def test_upsert_updates_known_keys_and_adds_new_rows_and_old_versions_stay(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV, mode="upsert", primary_key=["segment", "uur"])
    second = upload(
        dataset,
        steward,
        "Segment;Uur;Auto's;Fietsers;Snelheid (km/h)\n"
        "101;31/12/2025 14:00;1.300;12;48,5\n"
        "103;31/12/2025 14:00;5;1;30\n",
        mode="upsert",
        primary_key=["segment", "uur"],
    )
    assert second.state == "done", second.message
    version = dataset.current_version
    assert (version.number, version.row_count) == (2, 4)
    assert (version.rows_added, version.rows_updated) == (1, 1)
    first = dataset.versions.get(number=1)
    assert [r["auto_s"] for r in rows(dataset, first, "segment=101&uur=2025-12-31T14:00")] == [
        1234.5
    ]
    assert [r["auto_s"] for r in rows(dataset, version, "segment=101&uur=2025-12-31T14:00")] == [
        1300.0
    ]


def test_a_retried_load_does_not_count_rows_twice(region, steward):
    """The table got the rows but the database transaction failed: the retry starts from
    the published version."""
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    version = dataset.current_version
    orphan = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    storage.write(dataset.storage_key, orphan, mode="append", published=version.delta_version)
    upload(dataset, steward, COUNTS_CSV)
    assert dataset.current_version.row_count == 6
    assert len(rows(dataset)) == 6


def test_another_municipality_cannot_load_into_kortrijk_data(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    menen_steward = member(region["MEN"], "data_steward")
    with pytest.raises(PermissionDenied):
        services.start_upload(dataset, menen_steward, SimpleUploadedFile("t.csv", b"a\n1\n"))
    with pytest.raises(PermissionDenied):
        make_dataset(region["KOR"], menen_steward, slug="andere")
    assert Load.objects.count() == 0


def test_appending_rows_of_another_shape_is_refused(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    other = upload(dataset, steward, "naam;waarde\nx;1\n", confirm=False)
    with pytest.raises(ValidationError) as refused:
        services.confirm(other, steward, columns=other.schema, primary_key=[], mode="append")
    assert "segment" in str(refused.value)
    replaced = services.confirm(
        other, steward, columns=other.schema, primary_key=[], mode="replace"
    )
    assert replaced.state == "queued"


def test_a_key_twice_in_the_file_is_refused_by_row(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(
        dataset,
        steward,
        "id;naam\n1;a\n2;b\n1;c\n",
        mode="upsert",
        primary_key=["id"],
    )
    assert load.state == "failed"
    assert [(e["row"], e["column"], e["value"]) for e in load.errors] == [(4, "id", "1")]
    assert "unique" in load.errors[0]["reason"]
    assert dataset.versions.count() == 0


def test_a_load_run_twice_or_cancelled_while_queued_publishes_at_most_once(region, steward):
    """A stuck task may be requeued while the first run still goes on."""
    from regiohub.core.testing import run_tasks

    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, COUNTS_CSV, confirm=False)
    services.confirm(load, steward, columns=load.schema, primary_key=[], mode="append")
    first = Load.objects.get(pk=load.pk)
    second = Load.objects.get(pk=load.pk)  # a second worker read it at the same time
    services.execute(first)
    services.execute(second)
    assert [(v.number, v.row_count) for v in dataset.versions.all()] == [(1, 3)]
    cancelled = upload(dataset, steward, COUNTS_CSV, confirm=False)
    services.confirm(cancelled, steward, columns=cancelled.schema, primary_key=[], mode="append")
    stale = Load.objects.get(pk=cancelled.pk)
    services.cancel(cancelled, steward)
    services.execute(stale)
    run_tasks()
    stale.refresh_from_db()
    assert stale.state == "cancelled" and dataset.versions.count() == 1
