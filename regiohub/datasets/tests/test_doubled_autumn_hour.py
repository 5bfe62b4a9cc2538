"""The night summer time ends, Belgian clocks go from 03:00 back to 02:00: a file of local
times has "27/10/2024 02:00" twice, first summer time (CEST), then winter time (CET). The
first time a row has such a time it is read as summer time, the next time as winter time,
counted per group of the dataset's other key columns (a segment), so that files sorted by
segment and by hour both load with their key (segment, hour) and four consecutive hours;
also when the two rows fall into different batches of a big file. Times with an offset
are what they say; a time in the hour skipped in spring is refused, as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from regiohub.datasets import query, storage
from regiohub.datasets.ingest import stream
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db

NIGHT = ["27/10/2024 01:00", "27/10/2024 02:00", "27/10/2024 02:00", "27/10/2024 03:00"]
UTC_HOURS = [datetime(2024, 10, 26, 23, tzinfo=UTC)] + [
    datetime(2024, 10, 27, hour, tzinfo=UTC) for hour in (0, 1, 2)
]
SEGMENTS = ["9000001", "9000002", "9000003"]
KEY = ["segment_id", "hour"]


CARS = [10.0, 17.0, 24.0, 31.0]  # no row is the sum of rows above it (a total row)


def segment_major() -> str:
    lines = [f"{s};{hour};{CARS[n]}" for s in SEGMENTS for n, hour in enumerate(NIGHT)]
    return "segment_id;hour;car\n" + "\n".join(lines) + "\n"


def hour_major() -> str:
    lines = [f"{s};{hour};{CARS[n]}" for n, hour in enumerate(NIGHT) for s in SEGMENTS]
    return "segment_id;hour;car\n" + "\n".join(lines) + "\n"


def hours_per_segment(dataset) -> dict[int, list[tuple[datetime, float]]]:
    version = dataset.current_version
    files = storage.files(dataset.storage_key, version.delta_version)
    parsed = query.parse(QueryDict("limit=100&order=segment_id,hour"), version.schema)
    found: dict[int, list[tuple[datetime, float]]] = {}
    for row in query.run(files, version.schema, parsed).table.to_pylist():
        found.setdefault(row["segment_id"], []).append((row["hour"].astimezone(UTC), row["car"]))
    return found


@pytest.fixture(params=["whole", "batches"])
def read(request, settings, monkeypatch):
    """The file read whole, or in batches of two rows (the two 02:00 rows of a segment in
    different batches)."""
    if request.param == "batches":
        settings.DATASETS_STREAM_MB = 0
        monkeypatch.setattr(stream, "BATCH_ROWS", 2)
        monkeypatch.setattr(stream, "BLOCK_BYTES", 32)
    return request.param


@pytest.mark.parametrize("content", [segment_major(), hour_major()], ids=["by-segment", "by-hour"])
def test_the_doubled_hour_is_summer_time_then_winter_time_per_segment(
    region, steward, read, content
):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, content, mode="replace", primary_key=KEY)
    assert load.state == "done", (load.message, load.errors)
    assert load.version.row_count == 12
    found = hours_per_segment(dataset)
    for segment in SEGMENTS:
        # 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET: four consecutive hours, in file order.
        assert found[int(segment)] == list(zip(UTC_HOURS, CARS, strict=True))


def test_without_a_key_the_whole_column_counts(region, steward, read):
    dataset = make_dataset(region["KOR"], steward)
    content = "hour;car\n" + "".join(f"{hour};{CARS[n]}\n" for n, hour in enumerate(NIGHT))
    load = upload(dataset, steward, content, mode="replace")
    assert load.state == "done", load.message
    version = dataset.current_version
    files = storage.files(dataset.storage_key, version.delta_version)
    parsed = query.parse(QueryDict("order=car"), version.schema)
    rows = query.run(files, version.schema, parsed).table.to_pylist()
    assert [row["hour"].astimezone(UTC) for row in rows] == UTC_HOURS


def test_times_with_an_offset_are_what_they_say(region, steward, read):
    dataset = make_dataset(region["KOR"], steward)
    content = (
        "segment_id;hour;car\n"
        "1;2024-10-27T02:00:00+02:00;10\n"
        "1;2024-10-27T02:00:00+01:00;17\n"
        "2;2024-10-27T01:00:00Z;24\n"
        "2;2024-10-27T00:00:00Z;41\n"
    )
    load = upload(dataset, steward, content, mode="replace", primary_key=KEY)
    assert load.state == "done", (load.message, load.errors)
    found = hours_per_segment(dataset)
    assert [hour for hour, _car in found[1]] == UTC_HOURS[1:3]
    assert [hour for hour, _car in found[2]] == UTC_HOURS[1:3]


def test_a_time_in_the_hour_skipped_in_spring_is_refused(region, steward, read):
    dataset = make_dataset(region["KOR"], steward)
    content = (
        "segment_id;hour;car\n1;31/03/2024 01:30;1\n1;31/03/2024 02:30;2\n1;31/03/2024 03:30;3\n"
    )
    load = upload(dataset, steward, content, mode="replace", primary_key=KEY)
    assert load.state == "failed"
    assert [(e["row"], e["column"], e["value"]) for e in load.errors] == [
        (3, "hour", "31/03/2024 02:30")
    ]
    assert "does not exist in Belgian time" in load.errors[0]["reason"]
    assert dataset.versions.count() == 0
