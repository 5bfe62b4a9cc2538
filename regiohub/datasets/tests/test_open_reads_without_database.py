"""An anonymous question about open data costs the database nothing once the dataset is
known to the process, and what it keeps in memory never shows anonymous callers a dataset
that is not open (ADR 0026)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pyarrow as pa
import pytest
from django.test import Client

from regiohub.core.testing import staff_client
from regiohub.datasets.formats import json_rows, json_value
from regiohub.datasets.models import Dataset
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"


@pytest.fixture
def counts(region, steward):
    """Kortrijk's traffic counts, version 1, open to everybody."""
    dataset = make_dataset(region["KOR"], steward, access="open")
    load = upload(dataset, steward, COUNTS_CSV)
    assert load.state == "done", load.message
    return dataset


def test_an_open_question_after_the_first_costs_no_query(counts, django_assert_num_queries):
    client = Client()
    url = f"{API}{counts.slug}/rows/?bucket=uur:day&agg=sum:auto_s,count"
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get(url)
        other = client.get(f"{API}{counts.slug}/rows/?segment=101&order=-auto_s")
    assert again.json() == first.json()
    assert [row[2] for row in other.json()["rows"]] == [1234.5, 987.0]
    assert "sessionid" not in again.cookies and "csrftoken" not in again.cookies


def test_a_dataset_made_internal_or_regional_is_out_of_reach_at_once(counts, menen_analyst):
    anonymous = Client()
    url = f"{API}{counts.slug}/rows/"
    assert anonymous.get(url).status_code == 200  # now kept in memory
    for access in ("internal", "region"):
        counts.access = access
        counts.save()
        assert anonymous.get(url).status_code == 404
        assert anonymous.get(f"{url}?version=1").status_code == 404
        assert anonymous.get(f"{url}?format=csv").status_code == 404
    assert staff_client(menen_analyst).get(url).status_code == 200  # region-wide
    counts.access = "open"
    counts.save()
    assert anonymous.get(url).status_code == 200


def test_a_dataset_that_was_never_open_is_never_kept(region, steward, django_assert_num_queries):
    internal = make_dataset(region["KOR"], steward)  # internal
    assert upload(internal, steward, COUNTS_CSV).state == "done"
    anonymous = Client()
    for _ in range(2):
        assert anonymous.get(f"{API}{internal.slug}/rows/").status_code == 404
    with django_assert_num_queries(1):  # asked of the database again, every time
        assert anonymous.get(f"{API}{internal.slug}/rows/").status_code == 404


def test_a_change_made_elsewhere_is_seen_once_the_memory_expires(counts, settings, monkeypatch):
    """Another process (the worker, another web process) changes the dataset: no signal
    reaches this one, which keeps what it read for DATASETS_OPEN_CACHE_SECONDS."""
    from regiohub.datasets import queries

    now = [1000.0]
    monkeypatch.setattr(queries, "time", SimpleNamespace(monotonic=lambda: now[0]))
    settings.DATASETS_OPEN_CACHE_SECONDS = 2
    anonymous = Client()
    url = f"{API}{counts.slug}/rows/"
    assert anonymous.get(url).status_code == 200
    Dataset.objects.filter(pk=counts.pk).update(access="internal")  # no signal
    now[0] += 1.9
    assert anonymous.get(url).status_code == 200  # at most this late
    now[0] += 0.2
    assert anonymous.get(url).status_code == 404
    settings.DATASETS_OPEN_CACHE_SECONDS = 0  # never kept: the database every time
    Dataset.objects.filter(pk=counts.pk).update(access="open")
    assert anonymous.get(url).status_code == 200
    Dataset.objects.filter(pk=counts.pk).update(access="internal")
    assert anonymous.get(url).status_code == 404


def test_what_was_read_while_a_change_was_saved_is_not_kept(counts, monkeypatch):
    """Another thread saves a change while this one reads the dataset: what this one read
    may be the old state, so it is used once and not kept."""
    from regiohub.datasets import queries

    real = queries.datasets_for

    def read_during_a_change(user):
        queries.forget_open_datasets()  # the other thread's save
        return real(user)

    monkeypatch.setattr(queries, "datasets_for", read_during_a_change)
    assert queries.open_dataset(counts.slug).slug == counts.slug
    assert queries._open_datasets.dataset(counts.slug) is None
    monkeypatch.setattr(queries, "datasets_for", real)
    queries.open_dataset(counts.slug)
    assert queries._open_datasets.dataset(counts.slug) is not None


def test_a_new_version_is_answered_at_once_and_older_ones_stay(counts, steward):
    anonymous = Client()
    url = f"{API}{counts.slug}/rows/"
    assert anonymous.get(url)["X-Dataset-Version"] == "1"
    assert upload(counts, steward, COUNTS_CSV).state == "done"
    latest = anonymous.get(url)
    assert latest["X-Dataset-Version"] == "2" and len(latest.json()["rows"]) == 6
    assert len(anonymous.get(f"{url}?version=1").json()["rows"]) == 3
    assert len(anonymous.get(f"{url}?version=1").json()["rows"]) == 3  # kept
    assert anonymous.get(f"{url}?version=9").status_code == 404
    assert anonymous.get(f"{url}?version=x").status_code == 404


def test_a_dataset_without_rows_says_so(region, steward):
    empty = make_dataset(region["KOR"], steward, access="open")
    answer = Client().get(f"{API}{empty.slug}/rows/")
    assert answer.status_code == 404


def test_rows_are_written_column_by_column_as_value_by_value():
    brussels = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    table = pa.table(
        {
            "moment": pa.array(
                [brussels, brussels, None, datetime(2025, 3, 30, 1, 0, 0, 5, tzinfo=UTC)],
                pa.timestamp("us", "Europe/Brussels"),
            ),
            "plain": pa.array([datetime(2025, 1, 1, 12, 30)] * 3 + [None], pa.timestamp("ms")),
            "day": pa.array([date(2025, 1, 1), None, date(2025, 1, 2), date(2025, 1, 1)]),
            "number": pa.array([1.5, math.nan, None, -0.0]),
            "whole": pa.array([1, None, 3, 4], pa.int64()),
            "text": pa.array(["a", "é", None, ""]),
            "money": pa.array([Decimal("1.10"), None, Decimal("0"), Decimal("-2.5")]),
            "flag": pa.array([True, False, None, True]),
        }
    )
    table = pa.concat_tables([table.slice(0, 2), table.slice(2)])  # two chunks
    expected = [[json_value(v) for v in row.values()] for row in table.to_pylist()]
    assert [list(row) for row in json_rows(table)] == expected
    assert expected[0][0] == "2025-03-30T03:00:00+02:00"
    assert expected[1][3] is None and expected[3][0] == "2025-03-30T03:00:00.000005+02:00"
    assert json_rows(pa.table({"x": pa.array([], pa.float64())})) == []
