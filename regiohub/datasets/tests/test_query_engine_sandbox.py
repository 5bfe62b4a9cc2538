"""The query engine reads the versions' files and nothing else: DuckDB runs with external
access off and its configuration locked, so no statement reads another file, reaches the
network, writes a file, installs or loads an extension or attaches a database; and nothing
a caller puts in the query API reaches it as SQL."""

from __future__ import annotations

import duckdb
import pytest
from django.test import Client

from regiohub.datasets import query, storage
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"

ESCAPES = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('http://127.0.0.1:1/x.parquet')",
    "SELECT * FROM read_parquet('https://example.org/x.parquet')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "COPY (SELECT 1) TO '/tmp/regiohub-escape.csv'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH '/tmp/regiohub-escape.duckdb' AS other",
    "ATTACH ':memory:' AS other (TYPE sqlite)",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "RESET enable_external_access",
]


@pytest.fixture
def counts(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open")
    assert upload(dataset, steward, COUNTS_CSV).state == "done"
    return dataset


def version_files(dataset) -> list[str]:
    return storage.files(dataset.storage_key, dataset.current_version.delta_version)


@pytest.mark.parametrize("sql", ESCAPES)
def test_no_statement_gets_out_of_the_tables_folder(counts, sql, tmp_path):
    con = query.connection()
    for connection in (con, con.cursor()):
        with pytest.raises(duckdb.Error) as caught:
            connection.execute(sql)
        assert isinstance(caught.value, duckdb.PermissionException | duckdb.InvalidInputException)
        assert "disabled" in str(caught.value) or "locked" in str(caught.value)
    # ... and the versions' own files stay readable.
    rows = con.sql("SELECT count(*) FROM read_parquet(?)", params=[version_files(counts)])
    assert rows.fetchall() == [(3,)]
    assert con.sql("SELECT current_setting('enable_external_access')").fetchall() == [(False,)]


def test_only_the_tables_folder_is_readable_not_its_neighbours(counts, settings, tmp_path):
    neighbour = tmp_path / "tables-elsewhere"
    neighbour.mkdir()
    (neighbour / "x.csv").write_text("a\n1\n")
    outside = [str(neighbour / "x.csv"), str(tmp_path / "tables" / ".." / "tables-elsewhere")]
    con = query.connection()
    for path in outside:
        with pytest.raises(duckdb.PermissionException):
            con.sql("SELECT * FROM read_csv(?)", params=[path]).fetchall()
    assert query.allowed_directories() == [str(tmp_path / "tables") + "/"]


def test_a_new_tables_folder_gets_a_new_connection(counts, settings, tmp_path):
    first = query.connection()
    settings.DATASETS_URI = str(tmp_path / "other-tables")
    second = query.connection()
    assert second is not first
    assert query.connection() is second


def test_downloads_still_work_with_the_engine_locked(counts):
    for fmt in ("csv", "json", "ndjson", "parquet", "xlsx"):
        answer = Client().get(f"/data/{counts.slug}/download/?format={fmt}")
        assert answer.status_code == 200, fmt
        assert b"".join(answer.streaming_content)


@pytest.mark.parametrize(
    "params",
    [
        {"select": "read_csv('/etc/passwd')"},
        {"select": "segment\" FROM read_csv('/etc/passwd') --"},
        {"group_by": "segment) ; INSTALL httpfs; --"},
        {"agg": "sum:(SELECT * FROM read_parquet('http://127.0.0.1:1/x'))"},
        {"agg": "read_csv:segment"},
        {"order": "-read_text('/etc/hostname')"},
        {"bucket": "uur:day'); ATTACH '/tmp/x.duckdb' AS x; --"},
        {"read_csv('/etc/passwd')": "1"},
        {"segment__read_csv": "1"},
        {"segment": "1 OR 1=1"},
        {"segment__in": "101, (SELECT 1)"},
        {"uur__gte": "2025-01-01'); COPY (SELECT 1) TO '/tmp/x.csv'; --"},
        {"limit": "1; INSTALL httpfs"},
        {"after": "'); LOAD httpfs; --"},
        {"version": "1; ATTACH ':memory:'"},
    ],
)
def test_sql_in_any_parameter_is_a_clean_400(counts, params):
    answer = Client().get(f"{API}{counts.slug}/rows/", params)
    assert answer.status_code in (400, 404), answer.content[:300]
    if answer.status_code == 400:
        (error,) = answer.json()["errors"]
        assert error["parameter"] and error["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"auto_s__contains": "%'); COPY (SELECT 1) TO '/tmp/x.csv'; --"},
        {"auto_s__contains": "_"},
        {"auto_s__contains": "x" * 10_000},
        {"auto_s__contains": "\\"},
    ],
)
def test_text_values_are_bound_never_run(counts, params):
    answer = Client().get(f"{API}{counts.slug}/rows/", params)
    assert answer.status_code == 200
    assert answer.json()["rows"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"segment": "9" * 30},
        {"segment": "-" + "9" * 30},
        {"segment": "9" * 5000},
        {"segment__in": ",".join(["1"] * 1001)},
        {"auto_s": "1e999"},
        {"auto_s": "nan"},
        {"uur__gte": "99999-01-01"},
        {"select": "a" * 10_000},
        {"group_by": ",".join(["segment"] * 500)},
        {"agg": ",".join(f"sum:auto_s{i}" for i in range(500))},
        {"order": "-" * 5000},
        {"limit": "9" * 100},
        {"after": "A" * 100_000},
        {"x" * 5000: "1"},
        {"segment\u202e": "1"},
    ],
)
def test_hostile_sizes_and_numbers_are_a_400_not_a_500(counts, params):
    answer = Client().get(f"{API}{counts.slug}/rows/", params)
    assert answer.status_code in (200, 400), answer.content[:300]
    if answer.status_code == 400:
        (error,) = answer.json()["errors"]
        assert len(error["message"]) < 1000 and len(error["parameter"]) <= 100


@pytest.mark.parametrize(
    "params", [{"segment": "1\x00"}, {"select": "segment\x00"}, {"seg\x00ment": "1"}]
)
def test_nul_bytes_are_refused(counts, params):
    answer = Client().get(f"{API}{counts.slug}/rows/", params)
    assert answer.status_code == 400
