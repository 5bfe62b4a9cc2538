"""The Telraam feed over real HTTP gives the file import's table, resumes, never repeats an hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from django.utils import timezone, translation

from regiohub.datasets.feeds.base import FeedCursor, FeedSettingsError, FeedTemporaryError
from regiohub.datasets.feeds.telraam import DEFAULT_BASE_URL, TelraamFeed, import_telraam_files
from regiohub.datasets.tests.fake_telraam import device_files, fake_telraam, requires_telraam_data

A, B = 9000008311, 9000008322
LAST_HOUR = datetime(2025, 12, 7, 7, tzinfo=UTC)  # the last hour in the files
UNTIL = LAST_HOUR + timedelta(hours=1)  # ... complete from 08:00 on


@pytest.fixture
def telraam():
    with fake_telraam() as server:
        yield server


def feed(server, *segments: int, start: str = "2025-09-01T00:00:00Z") -> TelraamFeed:
    """Without the days fetched again (test_feed_telraam_fetches_recent_days_again.py), so
    the cursor alone decides what is asked."""
    return TelraamFeed(
        {
            "api_key": server.api_key,
            "segment_ids": list(segments),
            "base_url": server.url,
            "start": start,
            "timeout": 0.5,
            "refetch_days": 0,
        }
    )


def run(the_feed, cursor=None, until=UNTIL) -> tuple[pa.Table, FeedCursor | None, int]:
    """Write every batch (here: collect it), then keep its cursor, like the load task."""
    tables, batches = [], 0
    for batch in the_feed.fetch(cursor, until):
        assert batch.table.schema.equals(TelraamFeed.schema)
        tables.append(batch.table)
        cursor = batch.cursor
        batches += 1
    return pa.concat_tables([TelraamFeed.schema.empty_table(), *tables]), cursor, batches


def imported(*devices: int) -> pa.Table:
    return import_telraam_files([p for d in devices for p in device_files(d)])


@requires_telraam_data
@pytest.mark.parametrize("device", [A, B])
def test_the_feed_gives_the_same_table_as_the_file_import(telraam, device):
    table, cursor, _ = run(feed(telraam, device))

    assert table.equals(imported(device))
    assert cursor == FeedCursor({str(device): LAST_HOUR})
    assert telraam.windows == [
        (str(device), "2025-09-01 00:00:00Z", "2025-12-01 00:00:00Z"),
        (str(device), "2025-12-01 00:00:00Z", "2025-12-07 08:00:00Z"),
    ]


@requires_telraam_data
def test_a_second_run_with_the_cursor_adds_nothing(telraam):
    _, cursor, _ = run(feed(telraam, A, B))
    asked = len(telraam.received)

    table, again, batches = run(feed(telraam, A, B), FeedCursor.from_json(cursor.to_json()))

    assert (table.num_rows, batches, again) == (0, 0, cursor)
    assert len(telraam.received) == asked


@requires_telraam_data
def test_an_interrupted_run_resumes_from_the_stored_cursor_without_duplicates(telraam):
    written, stored = [], None
    with pytest.raises(RuntimeError):
        for batch in feed(telraam, A, B).fetch(stored, UNTIL):
            written.append(batch.table)
            stored = json.dumps(batch.cursor.to_json())  # saved with the written batch
            raise RuntimeError("worker killed")
    assert FeedCursor.from_json(json.loads(stored)).get(str(A)) == datetime(
        2025, 11, 30, 23, tzinfo=UTC
    )

    rest, _, _ = run(feed(telraam, A, B), FeedCursor.from_json(json.loads(stored)))

    union = pa.concat_tables([*written, rest])
    assert union.equals(imported(A, B))
    keys = zip(union["segment_id"].to_pylist(), union["hour"].to_pylist(), strict=True)
    assert len(set(keys)) == union.num_rows
    assert telraam.windows[1][1:] == ("2025-12-01 00:00:00Z", "2025-12-07 08:00:00Z")


@requires_telraam_data
def test_a_server_failure_mid_run_keeps_what_was_written(telraam):
    the_feed = feed(telraam, A)
    the_feed.client.max_retries = 0
    batches = the_feed.fetch(None, UNTIL)
    first = next(batches)
    telraam.fail_next(1, "500")
    with pytest.raises(FeedTemporaryError):
        next(batches)

    rest, _, _ = run(feed(telraam, A), first.cursor)

    assert pa.concat_tables([first.table, rest]).equals(imported(A))


@requires_telraam_data
def test_the_hour_in_progress_waits_for_the_next_run(telraam):
    table, cursor, _ = run(feed(telraam, A), until=LAST_HOUR + timedelta(minutes=59))
    assert table["hour"][-1].as_py() == LAST_HOUR - timedelta(hours=1)
    assert cursor.get(str(A)) == LAST_HOUR - timedelta(hours=1)

    later, cursor, _ = run(feed(telraam, A), cursor, until=UNTIL)

    assert later["hour"].to_pylist() == [LAST_HOUR]
    assert cursor.get(str(A)) == LAST_HOUR


@requires_telraam_data
def test_a_seven_month_range_is_asked_in_three_month_windows(telraam):
    table, _, batches = run(
        feed(telraam, A, start="2025-06-01T00:00:00Z"), until=datetime(2026, 1, 1, tzinfo=UTC)
    )

    assert telraam.windows == [
        ("9000008311", "2025-06-01 00:00:00Z", "2025-09-01 00:00:00Z"),
        ("9000008311", "2025-09-01 00:00:00Z", "2025-12-01 00:00:00Z"),
        ("9000008311", "2025-12-01 00:00:00Z", "2026-01-01 00:00:00Z"),
    ]
    assert batches == 3 and table.equals(imported(A))


@requires_telraam_data
def test_a_window_without_counts_still_moves_the_cursor(telraam):
    table, cursor, batches = run(feed(telraam, 1234), until=datetime(2025, 10, 1, tzinfo=UTC))

    assert (table.num_rows, batches) == (0, 1)
    assert cursor.get("1234") == datetime(2025, 9, 30, 23, tzinfo=UTC)


def test_good_settings_are_normalised():
    settings = TelraamFeed.clean_settings(
        {
            "api_key": " k ",
            "segment_ids": "9000008322, 9000008311 9000008322",
            "start": "2025-09-01T10:45:00+02:00",
        }
    )
    assert settings["segment_ids"] == (A, B)
    assert settings["start"] == datetime(2025, 9, 1, 8, tzinfo=UTC)  # the hour it falls in
    assert (
        settings["api_key"],
        settings["base_url"],
        settings["timeout"],
        settings["refetch_days"],
    ) == ("k", DEFAULT_BASE_URL, 30.0, 7)


def test_bad_settings_get_an_error_per_field():
    future = (timezone.now() + timedelta(days=2)).isoformat()
    bad = {"segment_ids": ["9000008311", "Kortrijk-Noord"], "start": future}
    with translation.override("en"), pytest.raises(FeedSettingsError) as caught:
        TelraamFeed(bad)
    with translation.override("nl"), pytest.raises(FeedSettingsError) as in_dutch:
        TelraamFeed(bad)

    errors = caught.value.errors
    assert set(errors) == {"api_key", "segment_ids", "start"}
    assert errors["api_key"] == ["This field is required."]
    assert in_dutch.value.errors["api_key"] == ["Dit veld is verplicht."]
    assert "“Kortrijk-Noord” is not a segment id" in errors["segment_ids"][0]
    assert errors["start"] == ["The start lies in the future."]
    assert "api_key" in str(caught.value)


def test_until_must_be_timezone_aware(telraam):
    with pytest.raises(ValueError, match="timezone-aware"):
        next(feed(telraam, A).fetch(None, datetime(2025, 12, 7)))


def test_the_key_is_not_in_the_feeds_repr(telraam):
    assert telraam.api_key not in repr(feed(telraam, A)) + repr(feed(telraam, A).client)
