"""A key is a promise: a dataset with key columns never holds two rows with the same key.
Adding rows whose key is there is refused, naming the rows; the next load of a keyed
dataset offers "add and update by key"; an upsert of a corrected month updates instead of
adding, and collapses duplicates loaded before keys were checked (and says so).

Tried on a real Telraam device's hourly counts (``shared/data/telraam``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import needs_shared, staff_client
from regiohub.datasets import query, services, storage
from regiohub.datasets.feeds.telraam import TelraamFeed, telraam_rows_to_table
from regiohub.datasets.models import DatasetVersion
from regiohub.datasets.tests.factories import make_dataset, upload
from regiohub.datasets.tests.fake_telraam import device_files
from regiohub.datasets.tests.telraam_months import (
    KEY,
    as_csv,
    corrected,
    month_rows,
    total,
)

pytestmark = [pytest.mark.django_db, needs_shared("data", "telraam")]


def ask(dataset, params: str, version=None) -> list[dict]:
    version = version or dataset.current_version
    parsed = query.parse(QueryDict(params), version.schema)
    files = storage.files(dataset.storage_key, version.delta_version)
    return query.run(files, version.schema, parsed).table.to_pylist()


def car_total(dataset) -> float:
    return ask(dataset, "agg=sum:car")[0]["sum_car"]


def most_rows_per_key(dataset) -> int:
    found = ask(dataset, "group_by=segment_id,hour&agg=count&order=-count&limit=1")
    return found[0]["count"]


def before_day(rows, day: int) -> list[dict]:
    return [r for r in rows if r["hour"] < datetime(2025, 10, day, tzinfo=UTC)]


def day_ten_plus_one(row: dict) -> dict | None:
    """A late correction: every hour of 10 October counted one car more."""
    if row["hour"].day == 10:
        row["car"] = (row["car"] or 0.0) + 1.0
        return row
    return None


@pytest.fixture
def telraam(region, steward):
    """September and October up to the 25th of a real device, loaded with its key."""
    dataset = make_dataset(region["KOR"], steward, slug="telraam-9000008311")
    september, october = month_rows("2025-09"), month_rows("2025-10")
    first = upload(
        dataset, steward, as_csv(september + before_day(october, 26)), mode="replace",
        primary_key=KEY,
    )  # fmt: skip
    assert first.state == "done", (first.message, first.errors[:3])
    return dataset, september, october


def test_adding_rows_whose_key_is_there_is_refused_naming_the_rows(telraam, steward):
    dataset, _september, october = telraam
    before = car_total(dataset)
    fixed = corrected(october, day_ten_plus_one)
    load = upload(dataset, steward, as_csv(fixed), mode="append", primary_key=KEY)
    assert load.state == "failed"
    known = len(before_day(october, 26))
    assert load.error_count == known
    assert len(load.errors) == 100  # the first hundred are named
    first = load.errors[0]
    # Row 2 is the first data row; the key as a Belgian reads it (02:00 in Brussels).
    assert (first["row"], first["column"], first["value"]) == (
        2, "segment_id, hour", "9000008311, 01/10/2025 02:00"
    )  # fmt: skip
    assert "Version 1 already has a row with this key" in first["reason"]
    assert f"{known} rows have a key that version 1 already holds" in load.message
    assert "update rows with a known key" in load.message  # what to choose instead
    assert dataset.versions.count() == 1
    assert car_total(dataset) == pytest.approx(before)
    refused = HistoryEntry.objects.for_object(load).get(action="load.failed")
    assert refused.after["errors"] == known


def test_new_rows_of_a_keyed_dataset_are_added(telraam, steward):
    dataset, september, october = telraam
    rest = [r for r in october if r["hour"].day >= 26]
    load = upload(dataset, steward, as_csv(rest), mode="append", primary_key=KEY)
    assert load.state == "done", load.message
    version = load.version
    assert (version.rows_added, version.rows_updated, version.rows_removed) == (len(rest), 0, 0)
    assert version.row_count == len(september) + len(october)
    assert car_total(dataset) == pytest.approx(total(september) + total(october))


@pytest.mark.parametrize(
    ("content", "row", "reason"),
    [
        ("id;naam\n1;a\n2;b\n1;c\n", 4, "An earlier row has this key too"),
        ("id;naam\n1;a\n;b\n3;c\n", 3, "no value in the key column"),
    ],
)
def test_a_key_twice_or_empty_in_the_file_is_refused(region, steward, content, row, reason):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, content, mode="replace", primary_key=["id"])
    assert load.state == "failed"
    assert [(e["row"], e["column"]) for e in load.errors] == [(row, "id")]
    assert reason in load.errors[0]["reason"]
    assert dataset.versions.count() == 0


def test_the_next_load_of_a_keyed_dataset_offers_add_and_update_by_key(region, steward):
    keyed = make_dataset(region["KOR"], steward, slug="met-sleutel")
    plain = make_dataset(region["KOR"], steward, slug="zonder-sleutel")
    empty = make_dataset(region["KOR"], steward, slug="leeg")
    upload(keyed, steward, "id;naam\n1;a\n", mode="replace", primary_key=["id"])
    upload(plain, steward, "id;naam\n1;a\n", mode="replace")
    client = staff_client(steward)
    for dataset, mode in ((keyed, "upsert"), (plain, "append"), (empty, "replace")):
        assert services.default_mode(dataset) == mode
        load = upload(dataset, steward, "id;naam\n2;b\n", confirm=False)
        page = client.get(f"/staff/data/{dataset.slug}/loads/{load.pk}/").content.decode()
        checked = re.findall(r'<input type="radio" name="mode" value="(\w+)"[^>]*checked', page)
        assert checked == [mode]
    page = client.get(f"/staff/data/{keyed.slug}/loads/{keyed.loads.first().pk}/").content.decode()
    assert "The key of this dataset is id" in page


def test_the_key_stays_when_rows_are_added_or_updated(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, "id;naam\n1;a\n", mode="replace", primary_key=["id"])
    load = upload(dataset, steward, "id;naam\n1;b\n", confirm=False)
    for mode, key in (("append", []), ("upsert", ["naam"])):
        with pytest.raises(ValidationError, match="The key of this dataset is id"):
            services.confirm(load, steward, columns=load.schema, primary_key=key, mode=mode)
    replaced = services.confirm(load, steward, columns=load.schema, primary_key=[], mode="replace")
    assert replaced.state == "queued"


def test_an_upsert_of_a_corrected_month_updates_and_adds_and_counts_once(telraam, steward):
    dataset, september, october = telraam
    fixed = corrected(october, day_ten_plus_one)
    load = upload(dataset, steward, as_csv(fixed), mode="upsert", primary_key=KEY)
    assert load.state == "done", load.message
    version = load.version
    day_ten = sum(1 for r in october if r["hour"].day == 10)
    late = sum(1 for r in october if r["hour"].day >= 26)
    previous = len(september) + len(october) - late
    assert (version.rows_added, version.rows_updated) == (late, day_ten)
    assert (version.rows_unchanged, version.rows_removed) == (previous - day_ten, 0)
    assert version.row_count == len(september) + len(october)
    assert most_rows_per_key(dataset) == 1
    assert car_total(dataset) == pytest.approx(total(september) + total(fixed))


def legacy_append(dataset, rows: pa.Table) -> DatasetVersion:
    """What "add the rows" did before keys were checked: the rows appended as they were,
    the version keeping its key."""
    current = dataset.current_version
    written = storage.write(
        dataset.storage_key, rows, mode="append", published=current.delta_version
    )
    return DatasetVersion.objects.create(
        dataset=dataset,
        number=current.number + 1,
        delta_version=written.delta_version,
        schema=current.schema,
        primary_key=current.primary_key,
        row_count=written.row_count,
        rows_added=rows.num_rows,
    )


def published_october(dataset) -> pa.Table:
    """October as the dataset holds it, with the correction of 10 October."""
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    october = [r for r in table.to_pylist() if r["hour"].month == 10]
    return pa.Table.from_pylist(corrected(october, day_ten_plus_one), schema=table.schema)


def test_duplicates_from_before_are_found_and_an_upsert_removes_them(telraam, steward):
    dataset, september, october = telraam
    again = published_october(dataset)
    legacy_append(dataset, again)  # the corrected month added a second time
    doubled = car_total(dataset)
    assert most_rows_per_key(dataset) == 2
    assert doubled > total(september) + total(october) * 1.5  # counted twice

    november = month_rows("2025-11")
    refused = upload(dataset, steward, as_csv(november[:5]), mode="append", primary_key=KEY)
    assert refused.state == "failed"
    assert f"Version 2 holds {again.num_rows} rows whose key another row has too" in (
        refused.message
    )
    assert "segment_id 9000008311, hour 01/10/2025 02:00" in refused.message

    fixed = corrected(before_day(october, 26), day_ten_plus_one)
    load = upload(dataset, steward, as_csv(fixed), mode="upsert", primary_key=KEY)
    assert load.state == "done", load.message
    version = load.version
    distinct = len(september) + len(fixed)
    assert (version.rows_added, version.rows_updated) == (0, 0)
    assert (version.rows_unchanged, version.rows_removed) == (distinct, again.num_rows)
    assert version.row_count == distinct
    assert f"{again.num_rows} rows removed whose key another row had too" in version.summary
    entry = HistoryEntry.objects.for_object(dataset).filter(action="dataset.version_published")
    assert entry.latest("at").after["repeated_keys_removed"] == again.num_rows
    assert most_rows_per_key(dataset) == 1
    assert car_total(dataset) == pytest.approx(total(september) + total(fixed))


def test_an_upsert_of_another_month_keeps_the_row_loaded_last(telraam, steward):
    dataset, _september, october = telraam
    again = published_october(dataset)
    legacy_append(dataset, again)
    november = month_rows("2025-11")
    load = upload(dataset, steward, as_csv(november), mode="upsert", primary_key=KEY)
    assert load.state == "done", load.message
    version = load.version
    assert (version.rows_added, version.rows_removed) == (len(november), again.num_rows)
    assert most_rows_per_key(dataset) == 1
    tenth = ask(dataset, "hour__gte=2025-10-10T00:00:00Z&hour__lt=2025-10-11T00:00:00Z&agg=sum:car")
    expected = sum((r["car"] or 0.0) + 1.0 for r in october if r["hour"].day == 10)
    assert tenth[0]["sum_car"] == pytest.approx(expected)  # the corrected rows stayed


def test_a_feed_batch_that_changes_nothing_makes_no_version(region, steward):
    """A feed fetching hours again (to catch corrections) publishes only what changed."""
    dataset = make_dataset(region["KOR"], steward, slug="telraam-feed")
    schema = services.schema_from_arrow(
        TelraamFeed.schema, time_column="hour", primary_key=TelraamFeed.primary_key
    )
    rows = json.loads(device_files("9000008311")[1].read_bytes())["data"]
    table = telraam_rows_to_table(rows)
    with transaction.atomic():
        first = services.publish(
            dataset, table, mode="upsert", schema=schema, primary_key=list(KEY), if_changed=True
        )
        again = services.publish(
            dataset, table, mode="upsert", schema=schema, primary_key=list(KEY), if_changed=True
        )
    assert first is not None and again is None
    assert (first.rows_added, dataset.versions.count()) == (table.num_rows, 1)
