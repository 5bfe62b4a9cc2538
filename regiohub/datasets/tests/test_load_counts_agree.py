"""The load page, the version table, the API's version resource and the history report the
same numbers for every version: rows added, updated, unchanged and removed, for every mode
(replace, append, upsert, and a feed's upsert). They are computed once when the version is
published (``datasets.changes``) and stored on it; and they count what comparing the
version with the one before (``datasets.compare``) counts."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import needs_shared, run_tasks, staff_client
from regiohub.datasets.models import Dataset, DatasetVersion, Feed, Load
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.telraam_months import KEY, as_csv, corrected, month_rows

pytestmark = pytest.mark.django_db

COUNTS = ("added", "updated", "unchanged", "removed")


def load_through_the_page(client, dataset: Dataset, content: str, mode: str, key: list[str]):
    """Upload, confirm with ``mode`` and ``key`` and load, as on the pages; the load."""
    answer = client.post(
        f"/staff/data/{dataset.slug}/upload/",
        {"file": SimpleUploadedFile("rows.csv", content.encode())},
    )
    load = Load.objects.get(pk=int(answer["Location"].rstrip("/").rsplit("/", 1)[1]))
    run_tasks()
    load.refresh_from_db()
    form = {"mode": mode}
    for i, column in enumerate(load.schema):
        if column["key"] in key:
            form[f"pk_{i}"] = "1"
    assert (
        client.post(f"/staff/data/{dataset.slug}/loads/{load.pk}/confirm/", form).status_code == 302
    )
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", (load.message, load.errors[:3])
    return load


def on_the_load_page(client, load: Load) -> dict[str, int]:
    page = client.get(f"/staff/data/{load.dataset.slug}/loads/{load.pk}/").content.decode()
    found = re.search(
        r"Loaded: version (\d+) — (\d+) rows added, (\d+) updated, (\d+) unchanged, "
        r"(\d+) removed\.",
        html.unescape(page),
    )
    assert found, page[:3000]
    assert int(found[1]) == load.version.number
    return dict(zip(COUNTS, map(int, found.groups()[1:]), strict=True))


def in_the_version_table(client, dataset: Dataset, number: int) -> dict[str, int]:
    page = client.get(f"/data/{dataset.slug}/").content.decode()
    table = page.split('id="versions-heading"')[1].split("</table>")[0]
    headers = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells and cells[0] == str(number):
            return {name: int(cells[headers.index(name.capitalize())]) for name in COUNTS}
    raise AssertionError(f"version {number} is not in the table")


def in_the_api(client, dataset: Dataset, number: int) -> dict[str, int]:
    answer = client.get(f"/api/v1/datasets/{dataset.slug}/versions/{number}/")
    assert answer.status_code == 200, answer.content[:300]
    body = answer.json()
    assert body["number"] == number
    listed = client.get(f"/api/v1/datasets/{dataset.slug}/").json()["versions"]
    assert next(v for v in listed if v["number"] == number) == body
    return {name: body[f"rows_{name}"] for name in COUNTS}


def in_the_history(dataset: Dataset, number: int) -> dict[str, int]:
    entry = next(
        e
        for e in HistoryEntry.objects.for_object(dataset).filter(action="dataset.version_published")
        if e.after["version"] == number
    )
    return {name: entry.after[name] for name in COUNTS}


def compared(dataset: Dataset, number: int) -> dict[str, int]:
    """What comparing the version with the one before counts."""
    from regiohub.datasets import compare

    old = dataset.versions.get(number=number - 1)
    new = dataset.versions.get(number=number)
    counts = compare.summarize(compare.side_of(old), compare.side_of(new)).counts
    return {
        "added": counts.added,
        "updated": counts.changed,
        "unchanged": counts.unchanged,
        "removed": counts.removed,
    }


def stored(version: DatasetVersion) -> dict[str, int]:
    return {name: getattr(version, f"rows_{name}") for name in COUNTS}


def everywhere_the_same(client, load: Load, expected: dict[str, int]) -> None:
    version = load.version
    dataset = load.dataset
    assert stored(version) == expected
    assert on_the_load_page(client, load) == expected
    assert in_the_version_table(client, dataset, version.number) == expected
    assert in_the_api(client, dataset, version.number) == expected
    assert in_the_history(dataset, version.number) == expected
    # added + updated + unchanged is the version; updated + unchanged + removed the one before
    assert version.row_count == expected["added"] + expected["updated"] + expected["unchanged"]
    if version.number > 1:
        before = dataset.versions.get(number=version.number - 1).row_count
        assert before == expected["updated"] + expected["unchanged"] + expected["removed"]
        assert compared(dataset, version.number) == expected


@needs_shared("data", "telraam")
def test_every_mode_on_a_keyed_telraam_dataset(region, steward):
    client = staff_client(steward)
    dataset = make_dataset(region["KOR"], steward, slug="telraam-9000008311")
    september, october = month_rows("2025-09"), month_rows("2025-10")
    early = [r for r in october if r["hour"].day < 20]
    late = [r for r in october if r["hour"].day >= 20]

    first = load_through_the_page(client, dataset, as_csv(september), "replace", KEY)
    everywhere_the_same(client, first, dict(zip(COUNTS, (len(september), 0, 0, 0), strict=True)))

    added = load_through_the_page(client, dataset, as_csv(early), "append", KEY)
    everywhere_the_same(
        client, added, dict(zip(COUNTS, (len(early), 0, len(september), 0), strict=True))
    )

    def fix(row: dict) -> dict | None:
        if row["hour"].day == 3:
            row["bike"] = (row["bike"] or 0.0) + 2.0
            return row
        return None

    fixed = corrected(october, fix)
    third = sum(1 for r in october if r["hour"].day == 3)
    upserted = load_through_the_page(client, dataset, as_csv(fixed), "upsert", KEY)
    before = len(september) + len(early)
    everywhere_the_same(
        client,
        upserted,
        dict(zip(COUNTS, (len(late), third, before - third, 0), strict=True)),
    )

    replaced = load_through_the_page(client, dataset, as_csv(october), "replace", KEY)
    everywhere_the_same(
        client,
        replaced,
        dict(zip(COUNTS, (0, third, len(october) - third, len(september)), strict=True)),
    )


def test_every_mode_on_a_dataset_without_a_key(region, steward):
    """Without a key whole rows are compared: a changed row is one removed and one added."""
    client = staff_client(steward)
    dataset = make_dataset(region["KOR"], steward, slug="zonder-sleutel")
    header = "gemeente;jaar;inwoners\n"
    first = load_through_the_page(
        client, dataset, header + "Kortrijk;2024;80000\nMenen;2024;34000\n", "replace", []
    )
    everywhere_the_same(client, first, {"added": 2, "updated": 0, "unchanged": 0, "removed": 0})
    appended = load_through_the_page(
        client, dataset, header + "Kortrijk;2024;80000\n", "append", []
    )
    everywhere_the_same(client, appended, {"added": 1, "updated": 0, "unchanged": 2, "removed": 0})
    replaced = load_through_the_page(
        client, dataset, header + "Kortrijk;2024;80000\nMenen;2024;34100\nWevelgem;2024;31000\n",
        "replace", [],
    )  # fmt: skip
    # Kortrijk stays (once: the copy added twice is gone), Menen changed: removed and added.
    everywhere_the_same(client, replaced, {"added": 2, "updated": 0, "unchanged": 1, "removed": 2})


@needs_shared("data", "telraam")
def test_a_feed_version_reports_the_same_counts(region, steward):
    from datetime import UTC, datetime

    from regiohub.datasets import services
    from regiohub.datasets.tests.fake_telraam import fake_telraam

    client = staff_client(steward)
    dataset = make_dataset(region["KOR"], steward, slug="telraam-feed")
    with fake_telraam() as telraam:
        feed = Feed.objects.create(
            dataset=dataset,
            kind="telraam",
            settings={
                "api_key": telraam.api_key,
                "segment_ids": [9000008311],
                "start": "2025-09-01T00:00:00Z",
                "base_url": telraam.url,
                "timeout": 2,
            },
        )
        written = services.run_feed(feed, until=datetime(2025, 10, 1, tzinfo=UTC))
    version = dataset.current_version
    expected = {"added": written, "updated": 0, "unchanged": 0, "removed": 0}
    assert stored(version) == expected and written > 500
    assert in_the_version_table(client, dataset, version.number) == expected
    assert in_the_api(client, dataset, version.number) == expected
    assert in_the_history(dataset, version.number) == expected
