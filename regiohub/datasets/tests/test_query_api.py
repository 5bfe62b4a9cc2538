"""The query API answers only what the caller may see, in JSON, CSV or NDJSON, and says
which parameter is wrong and why."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from regiohub.core.testing import staff_client
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"


@pytest.fixture
def counts(region, steward):
    """Kortrijk's internal traffic counts, version 1."""
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, COUNTS_CSV)
    assert load.state == "done", load.message
    return dataset


def rows_of(response):
    body = response.json()
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


def test_an_internal_dataset_is_out_of_reach_of_menen_and_anonymous(
    counts, menen_analyst, kortrijk_analyst
):
    for client in (Client(), staff_client(menen_analyst)):
        assert client.get(API).json()["results"] == []
        assert client.get(f"{API}{counts.slug}/").status_code == 404
        assert client.get(f"{API}{counts.slug}/rows/").status_code == 404
        assert client.get(f"{API}{counts.slug}/rows/?format=csv").status_code == 404
    kortrijk = staff_client(kortrijk_analyst)
    assert [d["slug"] for d in kortrijk.get(API).json()["results"]] == [counts.slug]
    assert len(rows_of(kortrijk.get(f"{API}{counts.slug}/rows/"))) == 3


def test_region_wide_data_is_for_the_region_and_open_data_for_everyone(counts, menen_analyst):
    counts.access = "region"
    counts.save()
    assert staff_client(menen_analyst).get(f"{API}{counts.slug}/rows/").status_code == 200
    assert Client().get(f"{API}{counts.slug}/rows/").status_code == 404
    counts.access = "open"
    counts.save()
    answer = Client().get(f"{API}{counts.slug}/rows/?segment=101&order=-auto_s")
    assert [r["auto_s"] for r in rows_of(answer)] == [1234.5, 987.0]
    assert answer["X-Dataset-Version"] == "1"


def test_group_bucket_and_paging(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    daily = client.get(f"{API}{counts.slug}/rows/?bucket=uur:day&agg=sum:auto_s,count")
    assert rows_of(daily) == [
        {"uur": "2025-12-31T00:00:00+01:00", "sum_auto_s": 2236.75, "count": 3}
    ]
    first = client.get(f"{API}{counts.slug}/rows/?limit=2&order=uur").json()
    assert len(first["rows"]) == 2 and first["next_url"]
    second = client.get(first["next_url"]).json()
    assert len(second["rows"]) == 1 and second["next_cursor"] is None


def test_csv_and_ndjson_stream_the_answer(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    answer = client.get(f"{API}{counts.slug}/rows/?format=csv&select=segment,auto_s&order=auto_s")
    assert answer["Content-Type"].startswith("text/csv")
    text = b"".join(answer.streaming_content).decode()
    assert text.splitlines() == ["segment,auto_s", "102,15.25", "101,987.0", "101,1234.5"]
    lines = b"".join(
        client.get(f"{API}{counts.slug}/rows/?format=ndjson&segment=102").streaming_content
    ).splitlines()
    assert [json.loads(line)["auto_s"] for line in lines] == [15.25]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ("auto_s=veel", "auto_s"),
        ('segment"; DROP TABLE x; --=1', 'segment"; DROP TABLE x; --'),
        ("segment__like=1", "segment__like"),
        ("select=segment,nope", "select"),
        ("agg=sum:uur", "agg"),
        ("agg=evil(1):auto_s", "agg"),
        ("bucket=uur:fortnight", "bucket"),
        ("limit=100000000", "limit"),
        ("limit=-1", "limit"),
        ("after=%27%20OR%201%3D1", "after"),
        ("order=random()", "order"),
        ("format=xlsx", "format"),
        ("uur__gte=31/12/2025", "uur__gte"),
        ("segment__in=" + ",".join(["1"] * 1001), "segment__in"),
        ("auto_s=1e309", "auto_s"),
        ("auto_s=NaN", "auto_s"),
    ],
)
def test_bad_parameters_are_named_with_the_reason(counts, kortrijk_analyst, params, parameter):
    answer = staff_client(kortrijk_analyst).get(f"{API}{counts.slug}/rows/?{params}")
    assert answer.status_code == 400, answer.content[:300]
    errors = answer.json()["errors"]
    assert errors[0]["parameter"] == parameter
    assert errors[0]["message"]


def test_a_contains_filter_is_text_not_a_pattern(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    assert rows_of(client.get(f"{API}{counts.slug}/rows/?segment__contains=10")) != []
    assert rows_of(client.get(f"{API}{counts.slug}/rows/?segment__contains=%25")) == []


def test_older_versions_stay_queryable(counts, steward, kortrijk_analyst):
    upload(counts, steward, COUNTS_CSV)
    client = staff_client(kortrijk_analyst)
    assert len(rows_of(client.get(f"{API}{counts.slug}/rows/"))) == 6
    assert len(rows_of(client.get(f"{API}{counts.slug}/rows/?version=1"))) == 3
    assert client.get(f"{API}{counts.slug}/rows/?version=9").status_code == 404
    assert client.get(f"{API}{counts.slug}/rows/?version=x").status_code == 404
    detail = client.get(f"{API}{counts.slug}/").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1]


def test_a_repeated_question_is_answered_from_the_cache_and_a_new_version_is_not(
    counts, steward, kortrijk_analyst, settings
):
    from regiohub.datasets import query

    query._answers.clear()
    client = staff_client(kortrijk_analyst)
    url = f"{API}{counts.slug}/rows/?group_by=segment&agg=count"
    first = client.get(url).json()
    assert len(query._answers.entries) == 1
    assert client.get(url).json() == first
    assert len(query._answers.entries) == 1
    upload(counts, steward, COUNTS_CSV)  # version 2: other files, another question
    second = client.get(url).json()
    assert second["version"] == 2 and second["rows"] != first["rows"]
    assert len(query._answers.entries) == 2
    settings.DATASETS_QUERY_CACHE = 0
    query._answers.clear()
    client.get(url)
    assert len(query._answers.entries) == 0


def test_the_query_api_is_described_in_the_openapi_schema(db):
    schema = Client().get("/api/schema/").content.decode()
    assert "/api/v1/datasets/{slug}/rows/" in schema
    for parameter in ("bucket", "group_by", "agg", "after", "format"):
        assert f"name: {parameter}" in schema


@pytest.mark.parametrize("order", ["snelheid_km_per_h", "-snelheid_km_per_h", "fietsers"])
def test_paging_one_row_at_a_time_visits_every_row_once_nulls_included(
    counts, kortrijk_analyst, order
):
    client = staff_client(kortrijk_analyst)
    url = f"{API}{counts.slug}/rows/?limit=1&order={order}"
    seen = []
    while url:
        page = client.get(url).json()
        seen += page["rows"]
        url = page["next_url"]
    assert len(seen) == 3
    everything = client.get(f"{API}{counts.slug}/rows/").json()["rows"]
    assert sorted(map(str, seen)) == sorted(map(str, everything))
    speeds = [row[4] for row in seen]
    if order.startswith("snelheid"):
        assert speeds[-1] is None  # NULLs last, in both directions


def test_a_total_without_groups_is_one_row(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    answer = client.get(f"{API}{counts.slug}/rows/?agg=count,sum:fietsers")
    assert rows_of(answer) == [{"count": 3, "sum_fietsers": 20}]
    csv_text = b"".join(
        client.get(f"{API}{counts.slug}/rows/?agg=count&format=csv").streaming_content
    )
    assert csv_text.decode().splitlines() == ["count", "3"]
    twice = client.get(f"{API}{counts.slug}/rows/?agg=count:segment,count:segment")
    assert twice.status_code == 400 and twice.json()["errors"][0]["parameter"] == "agg"


def test_page_links_keep_repeated_filters(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    first = client.get(
        f"{API}{counts.slug}/rows/?segment__ne=998&segment__ne=999&limit=1&order=uur"
    ).json()
    assert "segment__ne=998" in first["next_url"] and "segment__ne=999" in first["next_url"]


@pytest.mark.parametrize(
    "cursor", ['[{"x":1},2]', "[[1],2]", '[1,"x"]', '["a","b","c"]', '{"t": 1}']
)
def test_a_forged_page_link_is_a_400_not_a_500(counts, kortrijk_analyst, cursor):
    import base64

    token = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    client = staff_client(kortrijk_analyst)
    for url in (
        f"{API}{counts.slug}/rows/?group_by=segment&agg=count&after={token}",
        f"{API}{counts.slug}/rows/?order=auto_s&after={token}",
    ):
        answer = client.get(url)
        assert answer.status_code in (200, 400), (url, answer.content[:200])
        if answer.status_code == 400:
            assert answer.json()["errors"][0]["parameter"] == "after"


def test_who_loaded_a_version_is_shown_only_to_those_who_manage_it(
    counts, steward, kortrijk_analyst
):
    counts.access = "open"
    counts.save()
    anonymous = Client().get(f"{API}{counts.slug}/").json()
    assert {v["loaded_by"] for v in anonymous["versions"]} == {"Kortrijk"}
    assert str(steward) not in Client().get(f"/data/{counts.slug}/").content.decode()
    managed = staff_client(steward).get(f"{API}{counts.slug}/").json()
    assert managed["versions"][0]["loaded_by"] == str(steward)
