"""Two versions compared: rows added, removed and changed (by key, or whole rows without
one, said so), with the changed columns before and after; as a page, a CSV download and in
the API; for whoever may read the dataset, and nobody else."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pytest
from django.test import Client

from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets import compare, services, storage
from regiohub.datasets.models import DatasetVersion
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload
from regiohub.datasets.views import versions as version_views

pytestmark = pytest.mark.django_db

KEY = ["segment", "uur"]
#: Version 2: one row changed (101 at 15:00: cars and bikes), one removed (102), one added.
CORRECTED_CSV = COUNTS_CSV.replace("987;8", "990;9").replace(
    "102;31/12/2025 14:00;15,25;0;\n", "103;31/12/2025 16:00;1;1;30\n"
)


@pytest.fixture
def counts(region, steward):
    """Kortrijk's internal traffic counts with a key: versions 1 and 2."""
    dataset = make_dataset(region["KOR"], steward)
    for content in (COUNTS_CSV, CORRECTED_CSV):
        load = upload(dataset, steward, content, mode="replace", primary_key=KEY)
        assert load.state == "done", load.message
    return dataset


def summary_of(dataset, old, new):
    old_side = compare.side_of(dataset.versions.get(number=old))
    new_side = compare.side_of(dataset.versions.get(number=new))
    summary = compare.summarize(old_side, new_side)
    return summary, compare.changes(old_side, new_side, summary, limit=100)


def test_rows_are_matched_by_key_with_the_changed_columns_before_and_after(counts):
    summary, found = summary_of(counts, 1, 2)
    assert summary.layout.key == ("segment", "uur")
    assert summary.counts == compare.Counts(added=1, removed=1, changed=1, unchanged=1)
    changed, removed, added = found  # in key order
    assert (changed.change, changed.key["segment"], changed.key["uur"].hour) == ("changed", 101, 15)
    assert [(c.column, c.before, c.after) for c in changed.columns] == [
        ("auto_s", 987.0, 990.0),
        ("fietsers", 8, 9),
    ]
    assert (removed.change, removed.key["segment"], removed.row["auto_s"]) == (
        "removed",
        102,
        15.25,
    )
    assert (added.change, added.key["segment"], added.row["snelheid_km_per_h"]) == (
        "added",
        103,
        30,
    )
    # Backwards: what restoring version 1 would do.
    summary, _found = summary_of(counts, 2, 1)
    assert summary.counts == compare.Counts(added=1, removed=1, changed=1, unchanged=1)


def test_without_a_key_whole_rows_are_compared_and_the_page_says_so(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV, mode="replace")
    upload(dataset, steward, CORRECTED_CSV, mode="replace")
    summary, found = summary_of(dataset, 1, 2)
    assert summary.layout.key == () and summary.layout.whole == compare.NO_KEY
    # The changed row is one removed and one added row; nothing counts as changed.
    assert summary.counts == compare.Counts(added=2, removed=2, changed=0, unchanged=1)
    assert sorted((c.change, c.row["segment"]) for c in found) == [
        ("added", 101),
        ("added", 103),
        ("removed", 101),
        ("removed", 102),
    ]
    page = staff_client(steward).get(f"/data/{dataset.slug}/compare/").content.decode()
    assert "This dataset has no key, so whole rows are compared" in page


def test_a_key_that_is_not_unique_compares_whole_rows(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV, mode="replace", primary_key=KEY)
    first = dataset.current_version
    # Rows added twice before keys were checked: every key twice in version 2.
    table = storage.open_table(dataset.storage_key, first.delta_version).to_pyarrow_table()
    written = storage.write(
        dataset.storage_key, table, mode="append", published=first.delta_version
    )
    DatasetVersion.objects.create(
        dataset=dataset,
        number=2,
        delta_version=written.delta_version,
        schema=first.schema,
        primary_key=KEY,
        row_count=written.row_count,
    )
    summary, _found = summary_of(dataset, 1, 2)
    assert summary.layout.whole == compare.KEY_NOT_UNIQUE
    assert summary.counts == compare.Counts(added=3, removed=0, changed=0, unchanged=3)
    assert "The key is not unique" in compare.how_compared(summary)


def test_columns_in_one_version_only_are_named_and_a_new_type_compares_as_text(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(
        dataset, steward, "Code;Aantal;Oud\n1;5;x\n2;6;y\n", mode="replace", primary_key=["code"]
    )
    load = upload(dataset, steward, "Code;Aantal;Nieuw\n1;5;x\n2;zes;y\n", confirm=False)
    columns = [{**c, "type": "text"} if c["key"] == "aantal" else c for c in load.schema]
    services.confirm(load, steward, columns=columns, primary_key=["code"], mode="replace")
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    summary, found = summary_of(dataset, 1, 2)
    assert (summary.layout.only_old, summary.layout.only_new) == (("oud",), ("nieuw",))
    assert summary.layout.as_text == {"aantal"}
    assert summary.counts == compare.Counts(added=0, removed=0, changed=1, unchanged=1)
    assert [(c.column, c.before, c.after) for c in found[0].columns] == [("aantal", 6, "zes")]
    page = staff_client(steward).get(f"/data/{dataset.slug}/compare/").content.decode()
    assert "Columns only in the newer version (not compared): Nieuw" in page
    assert "Columns only in the older version (not compared): Oud" in page


def test_the_page_shows_counts_and_pages_of_changes(counts, kortrijk_analyst, monkeypatch):
    monkeypatch.setattr(version_views, "PAGE_ROWS", 2)
    client = staff_client(kortrijk_analyst)
    page = client.get(f"/data/{counts.slug}/compare/?from=1&to=2").content.decode()
    main = page.split("<main")[1]
    assert '<label for="compare-from">From version</label>' in main
    assert '<label for="compare-to">to version</label>' in main
    assert "<dt>Rows added</dt><dd>1</dd>" in main and "<dt>Rows changed</dt><dd>1</dd>" in main
    assert "<dt>Rows removed</dt><dd>1</dd>" in main and "<dt>Rows unchanged</dt><dd>1</dd>" in main
    assert "Rows are matched by their key: segment, uur." in main
    assert 'tabindex="0" role="region" aria-labelledby="changes-caption"' in main
    assert '<caption id="changes-caption">Changes, page 1 of 2</caption>' in main
    # One line per changed column: cars 987 → 990, bikes 8 → 9; then the removed row.
    table = main.split("<tbody>")[1].split("</tbody>")[0]
    assert "<td>Auto&#x27;s</td><td>987</td><td>990</td>" in table
    assert "<td>Fietsers</td><td>8</td><td>9</td>" in table
    assert "<td>Removed</td><td>102</td>" in table and "103" not in table
    assert 'rel="next"' in main
    second = client.get(f"/data/{counts.slug}/compare/?from=1&to=2&page=2").content.decode()
    assert "<td>Added</td><td>103</td>" in second and 'rel="prev"' in second
    # Without a choice: the current version against the one before it.
    assert (
        "From version 1 to version 2"
        in client.get(f"/data/{counts.slug}/compare/").content.decode()
    )
    # The version table links to what each version changed.
    detail = client.get(f"/data/{counts.slug}/").content.decode()
    assert f'href="/data/{counts.slug}/compare/?to=2"' in detail


def test_the_csv_has_one_line_per_change(counts, kortrijk_analyst):
    answer = staff_client(kortrijk_analyst).get(
        f"/data/{counts.slug}/compare/download/?from=1&to=2"
    )
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == (
        f'attachment; filename="{counts.slug}-v1-v2-changes.csv"'
    )
    lines = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert lines[0] == ["change", "segment", "uur", "column", "before", "after"]
    assert lines[1] == ["changed", "101", "2025-12-31T15:00:00+01:00", "auto_s", "987.0", "990.0"]
    assert lines[2] == ["changed", "101", "2025-12-31T15:00:00+01:00", "fietsers", "8", "9"]
    assert lines[3][:5] == ["removed", "102", "2025-12-31T14:00:00+01:00", "", lines[3][4]]
    assert json.loads(lines[3][4])["auto_s"] == 15.25 and lines[3][5] == ""
    assert lines[4][0] == "added" and json.loads(lines[4][5])["segment"] == 103
    assert len(lines) == 5


def test_formula_like_text_in_the_csv_is_defused(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, "Code;Naam\n1;Kortrijk\n", mode="replace", primary_key=["code"])
    # A text only another tool could have written (uploads refuse formulas).
    version = dataset.current_version
    table = pa.table({"code": [1], "naam": ["=1+1"]})
    services.publish(dataset, table, mode="replace", schema=version.schema, primary_key=["code"])
    assert storage.files(dataset.storage_key, dataset.current_version.delta_version)
    answer = staff_client(steward).get(f"/data/{dataset.slug}/compare/download/")
    lines = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert lines[1] == ["changed", "1", "naam", "Kortrijk", "'=1+1"]


def test_the_api_answers_json_page_by_page(counts, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    first = client.get(f"/api/v1/datasets/{counts.slug}/compare/?from=1&to=2&limit=2").json()
    assert (first["from"], first["to"], first["by_key"], first["key"]) == (1, 2, True, KEY)
    assert first["counts"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert (first["page"], first["pages"], first["previous_url"]) == (1, 2, None)
    assert first["changes"][0] == {
        "change": "changed",
        "key": {"segment": 101, "uur": "2025-12-31T15:00:00+01:00"},
        "row": None,
        "columns": [
            {"column": "auto_s", "before": 987.0, "after": 990.0},
            {"column": "fietsers", "before": 8, "after": 9},
        ],
    }
    assert first["changes"][1]["change"] == "removed"
    second = client.get(first["next_url"]).json()
    assert [c["change"] for c in second["changes"]] == ["added"]
    assert second["changes"][0]["row"]["segment"] == 103 and second["next_url"] is None


MALFORMED = [
    ("from=9&to=2", "from", "has no version 9"),
    ("from=1&to=9", "to", "has no version 9"),
    ("from=2&to=2", "to", "two different versions"),
    ("from=0&to=2", "from", "is not a version number"),
    ("from=-1&to=2", "from", "is not a version number"),
    ("from=abc&to=2", "from", "is not a version number"),
    ("from=99999999999999999999&to=2", "from", "is not a version number"),
    ("from=1&to=2&page=2", "page", "There is no page 2"),
    ("from=1&to=2&page=99999999", "page", "There is no page 99999999"),
    ("from=1&to=2&page=99999999999999999999", "page", "whole number from 1"),
    ("from=1&to=2&page=0", "page", "whole number from 1"),
    ("from=1&to=2&page=1.5", "page", "whole number from 1"),
]


@pytest.mark.parametrize(("params", "parameter", "message"), MALFORMED)
def test_malformed_comparisons_are_refused_with_the_reason(
    counts, kortrijk_analyst, params, parameter, message
):
    client = staff_client(kortrijk_analyst)
    page = client.get(f"/data/{counts.slug}/compare/?{params}")
    assert page.status_code == 400 and message in page.content.decode()
    download = client.get(f"/data/{counts.slug}/compare/download/?{params.split('&page')[0]}")
    if "page" not in params:
        assert download.status_code == 400 and message in download.content.decode()
    api = client.get(f"/api/v1/datasets/{counts.slug}/compare/?{params}")
    assert api.status_code == 400
    [error] = api.json()["errors"]
    assert error["parameter"] == parameter and message in error["message"]


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "99999999999999999999"])
def test_the_api_refuses_a_bad_limit(counts, kortrijk_analyst, limit):
    answer = staff_client(kortrijk_analyst).get(
        f"/api/v1/datasets/{counts.slug}/compare/?limit={limit}"
    )
    assert answer.status_code == 400 and answer.json()["errors"][0]["parameter"] == "limit"


@pytest.mark.parametrize("params", ["from=%00&to=2", "from=1&to=2%001", "page=%00", "limit=%00"])
def test_nul_bytes_are_refused(counts, kortrijk_analyst, params):
    client = staff_client(kortrijk_analyst)
    for url in (
        f"/data/{counts.slug}/compare/?{params}",
        f"/data/{counts.slug}/compare/download/?{params}",
        f"/api/v1/datasets/{counts.slug}/compare/?{params}",
    ):
        assert client.get(url).status_code == 400, url


def test_a_dataset_with_one_version_has_nothing_to_compare(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    client = staff_client(steward)
    assert "nothing to compare" in client.get(f"/data/{dataset.slug}/compare/").content.decode()
    answer = client.get(f"/api/v1/datasets/{dataset.slug}/compare/")
    assert answer.status_code == 400 and answer.json()["errors"][0]["parameter"] == "from"


def test_who_may_not_read_the_dataset_cannot_compare_it(counts, menen_analyst, kortrijk_analyst):
    urls = [
        f"/data/{counts.slug}/compare/?from=1&to=2",
        f"/data/{counts.slug}/compare/download/?from=1&to=2",
        f"/api/v1/datasets/{counts.slug}/compare/?from=1&to=2",
    ]
    for client in (Client(), staff_client(menen_analyst)):
        for url in urls:
            assert client.get(url).status_code == 404, url
    for url in urls:
        assert staff_client(kortrijk_analyst).get(url).status_code == 200, url
    counts.access = "open"
    counts.save()
    for url in urls:
        assert Client().get(url).status_code == 200, url
