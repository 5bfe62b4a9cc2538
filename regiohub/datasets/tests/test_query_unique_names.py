"""Every column of an answer has its own name, also when an aggregate's name is a column's
name (``group_by=count&agg=count``): the aggregate becomes ``count_1`` (``_2``, ...), the
same in JSON, CSV and NDJSON, so no value is lost and no CSV is malformed."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from regiohub.datasets.query import AGGREGATES
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"
#: A column named like each aggregate, and like each aggregate of ``x``.
NAMES = [*AGGREGATES, *(f"{function}_x" for function in AGGREGATES), "count_1", "distinct_x"]
#: (x, every other column, the last column); no row is the sum of those above it.
ROWS = [[10, 5, 5], [20, 5, 5], [35, 7, 7], [47, 7, 7]]


@pytest.fixture
def named_like_aggregates(region, steward):
    header = ";".join(["x", *NAMES])
    lines = [";".join([str(x), *([str(a)] * (len(NAMES) - 1)), str(b)]) for x, a, b in ROWS]
    dataset = make_dataset(region["KOR"], steward, access="open", slug="namen")
    load = upload(dataset, steward, "\n".join([header, *lines]) + "\n")
    assert load.state == "done", load.message
    assert [c["key"] for c in dataset.current_version.schema] == ["x", *NAMES]
    return dataset


def answers(dataset, params: str) -> tuple[list[str], list[list]]:
    """The answer as JSON, checked against the CSV and NDJSON of the same question."""
    client = Client()
    body = client.get(f"{API}{dataset.slug}/rows/?{params}").json()
    columns, rows = body["columns"], body["rows"]
    assert len(set(columns)) == len(columns), columns
    assert all(len(row) == len(columns) for row in rows)
    text = b"".join(client.get(f"{API}{dataset.slug}/rows/?{params}&format=csv").streaming_content)
    table = list(csv.reader(io.StringIO(text.decode())))
    assert table[0] == columns
    assert all(len(line) == len(columns) for line in table[1:])
    assert len(table) - 1 == len(rows)
    lines = b"".join(
        client.get(f"{API}{dataset.slug}/rows/?{params}&format=ndjson").streaming_content
    ).splitlines()
    assert [list(json.loads(line)) for line in lines] == [columns] * len(rows)
    assert [list(json.loads(line).values()) for line in lines] == rows
    return columns, rows


def test_count_grouped_by_a_column_called_count(named_like_aggregates):
    columns, rows = answers(named_like_aggregates, "group_by=count&agg=count")
    assert columns == ["count", "count_1"]
    assert rows == [[5, 2], [7, 2]]


def test_the_suffix_skips_names_that_are_taken(named_like_aggregates):
    columns, rows = answers(named_like_aggregates, "group_by=count,count_1&agg=count")
    assert columns == ["count", "count_1", "count_2"]
    assert rows == [[5, 5, 2], [7, 7, 2]]


@pytest.mark.parametrize("function", [f for f in AGGREGATES])
def test_every_aggregate_beside_a_column_with_its_name(named_like_aggregates, function):
    clash = f"{function}_x"
    columns, rows = answers(named_like_aggregates, f"group_by={clash}&agg={function}:x")
    assert columns == [clash, f"{clash}_1"]
    assert [row[0] for row in rows] == [5, 7] and all(row[1] is not None for row in rows)
    # A column named like the function alone does not clash with ``function_x``.
    columns, _rows = answers(named_like_aggregates, f"group_by={function}&agg={function}:x")
    assert columns == [function, clash]


def test_all_aggregates_at_once_over_all_their_namesakes(named_like_aggregates):
    groups = ",".join(f"{function}_x" for function in AGGREGATES)
    aggregates = ",".join(["count", *(f"{function}:x" for function in AGGREGATES)])
    columns, rows = answers(named_like_aggregates, f"group_by={groups}&agg={aggregates}")
    expected = [f"{f}_x" for f in AGGREGATES]
    assert columns == [*expected, "count", *(f"{name}_1" for name in expected)]
    assert len(rows) == 2


def test_two_aggregates_with_the_same_alias(named_like_aggregates):
    columns, _rows = answers(named_like_aggregates, "agg=count:distinct_x,count_distinct:x")
    assert columns == ["count_distinct_x", "count_distinct_x_1"]


def test_sorting_and_paging_use_the_unique_names(named_like_aggregates):
    columns, rows = answers(named_like_aggregates, "group_by=x&agg=count&order=-x&limit=2")
    assert columns == ["x", "count"] and [r[0] for r in rows] == [47, 35]
    _columns, rows = answers(named_like_aggregates, "group_by=count&agg=sum:x&order=-sum_x")
    assert rows == [[7, 82], [5, 30]]
    _columns, rows = answers(named_like_aggregates, "group_by=count&agg=count&order=-count")
    assert rows == [[7, 2], [5, 2]]
    columns, rows = answers(named_like_aggregates, "group_by=count,x&agg=count&order=-count_1,x")
    assert columns == ["count", "x", "count_1"] and [r[1] for r in rows] == [10, 20, 35, 47]
    first = Client().get(
        f"{API}{named_like_aggregates.slug}/rows/?group_by=count&agg=count&limit=1"
    )
    second = Client().get(first.json()["next_url"]).json()
    assert first.json()["rows"] + second["rows"] == [[5, 2], [7, 2]]


@pytest.mark.parametrize(("parameter", "value"), [("select", "x,count,x"), ("group_by", "x,x")])
def test_a_column_asked_twice_is_named(named_like_aggregates, parameter, value):
    answer = Client().get(f"{API}{named_like_aggregates.slug}/rows/", {parameter: value})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"parameter": parameter, "message": "x is asked twice."}]
