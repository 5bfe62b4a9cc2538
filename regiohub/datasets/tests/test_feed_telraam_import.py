"""The real Telraam files import into the normalised table, values and nulls intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from regiohub.datasets.feeds.base import UTC_TIMESTAMP, FeedDataError
from regiohub.datasets.feeds.telraam import (
    SPEED_5_COLUMNS,
    SPEED_10_COLUMNS,
    TelraamFeed,
    import_telraam_file,
    import_telraam_files,
    telraam_rows_to_table,
)
from regiohub.datasets.tests.fake_telraam import TELRAAM_DIR, device_files, requires_telraam_data

DEVICES = ("9000008311", "9000008322")


def file_rows(device: str) -> list[dict]:
    return [row for path in device_files(device) for row in json.loads(path.read_bytes())["data"]]


def test_the_histograms_are_named_by_their_bins():
    assert SPEED_10_COLUMNS[0] == "car_speed_0_10" and SPEED_10_COLUMNS[-1] == "car_speed_70_plus"
    assert len(SPEED_10_COLUMNS) == 8 and "car_speed_60_70" in SPEED_10_COLUMNS
    assert SPEED_5_COLUMNS[0] == "car_speed5_0_5" and SPEED_5_COLUMNS[-1] == "car_speed5_120_plus"
    assert len(SPEED_5_COLUMNS) == 25 and "car_speed5_115_120" in SPEED_5_COLUMNS


@requires_telraam_data
@pytest.mark.parametrize("device", DEVICES)
def test_every_hour_of_a_device_is_imported_once(device):
    rows = file_rows(device)
    expected = {
        d["id"]: d["totalDataPoints"]
        for d in json.loads((TELRAAM_DIR / "devices.json").read_text())
    }

    table = import_telraam_files(device_files(device))

    assert table.schema.equals(TelraamFeed.schema)
    assert table.num_rows == len(rows) == expected[device]  # 2165 and 1591, no duplicates
    assert table["hour"].type == UTC_TIMESTAMP
    assert table.column("segment_id").unique().to_pylist() == [int(device)]
    hours = table["hour"].to_pylist()
    assert hours == sorted(set(hours))


@requires_telraam_data
@pytest.mark.parametrize("device", DEVICES)
def test_values_nulls_and_histograms_are_kept(device):
    rows = file_rows(device)
    by_hour = {r["hour"]: r for r in import_telraam_files(device_files(device)).to_pylist()}
    busiest = max(rows, key=lambda r: r["car"])
    with_speed = next(r for r in rows if r["v85"] is not None)
    without_speed = next(r for r in rows if r["v85"] is None)
    for source in (busiest, with_speed, without_speed, rows[0], rows[-1]):
        row = by_hour[datetime.fromisoformat(source["date"])]
        assert row["segment_id"] == source["segment_id"]
        assert row["hour"].tzinfo is not None and row["hour"].utcoffset().total_seconds() == 0
        for name in ("uptime", "car", "heavy_lft", "bike_rgt", "pedestrian", "night", "v85"):
            assert row[name] == source[name]
        assert (row["direction"], row["timezone"]) == (source["direction"], source["timezone"])
        assert [row[c] for c in SPEED_10_COLUMNS] == source["car_speed_hist_0to70plus"]
        assert [row[c] for c in SPEED_5_COLUMNS] == source["car_speed_hist_0to120plus"]
    assert by_hour[datetime.fromisoformat(without_speed["date"])]["v85"] is None  # not 0
    assert by_hour[datetime.fromisoformat(rows[0]["date"])]["night"] is None


@requires_telraam_data
def test_one_monthly_file_imports_its_own_rows():
    path = device_files("9000008322")[2]
    document = json.loads(path.read_bytes())

    table = import_telraam_file(path)

    assert table.num_rows == len(document["data"])
    first = datetime.fromisoformat(document["data"][0]["date"])
    assert table["hour"][0].as_py() == first


def hourly(hour: int, car: float | None = 1.0, segment: int = 7) -> dict:
    return {
        "instance_id": -1,
        "segment_id": segment,
        "date": f"2025-10-01T{hour:02d}:00:00.000Z",
        "interval": "hourly",
        "car": car,
        "car_speed_hist_0to70plus": None,
        "car_speed_hist_0to120plus": [0] * 25,
    }


def test_rows_are_sorted_and_deduplicated_the_last_one_winning():
    table = telraam_rows_to_table(
        [hourly(3, segment=8), hourly(2, car=1), hourly(1), hourly(2, car=5.5)]
    )
    assert [(r["segment_id"], r["hour"].hour, r["car"]) for r in table.to_pylist()] == [
        (7, 1, 1.0),
        (7, 2, 5.5),
        (8, 3, 1.0),
    ]
    assert table["hour"][0].as_py() == datetime(2025, 10, 1, 1, tzinfo=UTC)
    assert table["car_speed_0_10"].null_count == 3  # a missing histogram is null, not 0
    assert table["car_speed5_0_5"].to_pylist() == [0.0, 0.0, 0.0]


def test_no_rows_give_an_empty_table_with_the_schema():
    table = telraam_rows_to_table([])
    assert table.num_rows == 0 and table.schema.equals(TelraamFeed.schema)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": "daily"}, "not hourly"),
        ({"date": "yesterday"}, "not an ISO date-time"),
        ({"segment_id": "abc"}, "segment_id"),
        ({"car": "12"}, "car"),
        ({"car_speed_hist_0to70plus": [1, 2]}, "8 bins"),
    ],
)
def test_unreadable_rows_name_the_row_and_the_field(change, message):
    with pytest.raises(FeedDataError, match=message) as caught:
        telraam_rows_to_table([hourly(1), {**hourly(2), **change}])
    assert "row 2" in str(caught.value)


def test_a_file_that_is_not_telraam_json_is_refused(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text('{"device_id": "1", "days": []}')
    with pytest.raises(FeedDataError, match=r"a\.json is not valid JSON"):
        import_telraam_file(tmp_path / "a.json")
    with pytest.raises(FeedDataError, match="no 'data' list"):
        import_telraam_file(tmp_path / "b.json")
    assert pa.types.is_timestamp(TelraamFeed.schema.field("hour").type)
