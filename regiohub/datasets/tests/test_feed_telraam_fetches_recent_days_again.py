"""Each Telraam run fetches the last N days again (default 7): corrections and late uploads
become updates and additions by key, never rows counted twice; nothing changed, no version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from regiohub.datasets import services, storage
from regiohub.datasets.feeds.base import FeedCursor, FeedSettingsError
from regiohub.datasets.feeds.telraam import TelraamFeed, telraam_rows_to_table
from regiohub.datasets.models import Feed
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.fake_telraam import fake_telraam, requires_telraam_data

A, B = 9000008311, 9000008322
LAST_HOUR = datetime(2025, 12, 7, 7, tzinfo=UTC)  # the last hour in the files
UNTIL = LAST_HOUR + timedelta(hours=1)
A_MONTH_BEFORE = UNTIL - timedelta(days=30)
WEEK_BEFORE = UNTIL - timedelta(days=7)  # 2025-11-30 08:00, the default days asked again
SETTINGS = {"api_key": "k", "segment_ids": [A], "start": "2025-09-01T00:00:00Z"}


@pytest.fixture
def telraam():
    with fake_telraam() as server:
        yield server


def feed(server, *segments: int, start: str = "2025-09-01T00:00:00Z", **more) -> TelraamFeed:
    settings = {"api_key": server.api_key, "segment_ids": list(segments), "start": start}
    return TelraamFeed({**settings, "base_url": server.url, "timeout": 2, **more})


def fetched(the_feed, cursor, until=UNTIL) -> tuple[pa.Table, FeedCursor]:
    tables = []
    for batch in the_feed.fetch(cursor, until):
        tables.append(batch.table)
        cursor = batch.cursor
    return pa.concat_tables([TelraamFeed.schema.empty_table(), *tables]), cursor


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 12, day, hour, tzinfo=UTC)


# --- which hours a run asks for --------------------------------------------------------------


@requires_telraam_data
def test_a_run_after_the_cursor_asks_the_last_seven_days_again(telraam):
    cursor = FeedCursor({str(A): LAST_HOUR, str(B): LAST_HOUR})

    table, after = fetched(feed(telraam, A, B), cursor)

    assert telraam.windows == [
        (str(A), "2025-11-30 08:00:00Z", "2025-12-07 08:00:00Z"),
        (str(B), "2025-11-30 08:00:00Z", "2025-12-07 08:00:00Z"),
    ]
    assert pc.min(table["hour"]).as_py() == WEEK_BEFORE
    assert after == cursor


@requires_telraam_data
@pytest.mark.parametrize(
    ("days", "windows"),
    [
        (0, []),
        (1, [(str(A), "2025-12-06 08:00:00Z", "2025-12-07 08:00:00Z")]),
        (31, [(str(A), "2025-11-06 08:00:00Z", "2025-12-07 08:00:00Z")]),
    ],
)
def test_the_number_of_days_is_a_setting(telraam, days, windows):
    fetched(feed(telraam, A, refetch_days=days), FeedCursor({str(A): LAST_HOUR}))

    assert telraam.windows == windows


@requires_telraam_data
def test_an_older_cursor_resumes_after_it_and_stays_in_three_month_windows(telraam):
    cursor = FeedCursor({str(A): datetime(2025, 8, 31, 23, tzinfo=UTC)})

    fetched(feed(telraam, A, start="2025-06-01T00:00:00Z"), cursor)

    assert telraam.windows == [
        (str(A), "2025-09-01 00:00:00Z", "2025-12-01 00:00:00Z"),
        (str(A), "2025-12-01 00:00:00Z", "2025-12-07 08:00:00Z"),
    ]


@requires_telraam_data
def test_the_days_again_never_reach_before_the_start(telraam):
    fetched(feed(telraam, A, start="2025-12-05T00:00:00Z"), FeedCursor({str(A): LAST_HOUR}))

    assert telraam.windows == [(str(A), "2025-12-05 00:00:00Z", "2025-12-07 08:00:00Z")]


@requires_telraam_data
def test_the_cursor_never_moves_back(telraam):
    cursor = FeedCursor({str(A): LAST_HOUR})

    _, after = fetched(feed(telraam, A), cursor, until=LAST_HOUR - timedelta(days=2))

    assert telraam.windows == [(str(A), "2025-11-28 07:00:00Z", "2025-12-05 07:00:00Z")]
    assert after == cursor


def test_the_setting_defaults_to_seven_and_is_checked():
    assert TelraamFeed.clean_settings(SETTINGS)["refetch_days"] == 7
    assert TelraamFeed.clean_settings({**SETTINGS, "refetch_days": ""})["refetch_days"] == 7
    assert TelraamFeed.clean_settings({**SETTINGS, "refetch_days": "0"})["refetch_days"] == 0
    assert TelraamFeed.clean_settings({**SETTINGS, "refetch_days": 31})["refetch_days"] == 31
    for bad, message in [
        (32, "less than or equal to 31"),
        (-1, "greater than or equal to 0"),
        ("a week", "Enter a whole number."),
    ]:
        with pytest.raises(FeedSettingsError) as caught:
            TelraamFeed.clean_settings({**SETTINGS, "refetch_days": bad})
        assert list(caught.value.errors) == ["refetch_days"]
        assert message in caught.value.errors["refetch_days"][0]


# --- what a run publishes --------------------------------------------------------------------


def published(dataset) -> pa.Table:
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    return table.sort_by([("segment_id", "ascending"), ("hour", "ascending")])


def counts(version) -> dict[str, int]:
    return {
        "added": version.rows_added,
        "updated": version.rows_updated,
        "unchanged": version.rows_unchanged,
        "removed": version.rows_removed,
    }


@pytest.mark.django_db
@requires_telraam_data
def test_corrections_and_a_late_hour_are_updated_and_added_by_key(region, steward, telraam):
    dataset = make_dataset(region["KOR"], steward, slug="telraam-corrections")
    late = telraam.withhold(A, at(5, 12))  # not uploaded yet at the first run
    feed = Feed.objects.create(
        dataset=dataset,
        kind="telraam",
        settings={
            "api_key": telraam.api_key,
            "segment_ids": [A],
            "start": A_MONTH_BEFORE.isoformat(),
            "base_url": telraam.url,
            "timeout": 2,
        },
    )
    month = len(telraam.rows(A, A_MONTH_BEFORE, UNTIL))
    assert services.run_feed(feed, until=UNTIL) == month > 700

    first = telraam.row(A, at(3, 10))
    telraam.correct(A, at(3, 10), car=first["car"] + 12.0, car_lft=first["car_lft"] + 12.0)
    telraam.correct(A, at(6, 15), bike=telraam.row(A, at(6, 15))["bike"] + 3.5)
    telraam.upload(late)
    written = services.run_feed(Feed.objects.get(pk=feed.pk), until=UNTIL)

    version = dataset.current_version
    assert (version.number, written) == (2, 3)
    # unchanged: every row the version keeps as it was, fetched again or not
    assert counts(version) == {"added": 1, "updated": 2, "unchanged": month - 2, "removed": 0}
    table = published(dataset)
    assert table.num_rows == month + 1
    served = telraam_rows_to_table(telraam.rows(A, A_MONTH_BEFORE, UNTIL))
    assert table.equals(served.cast(table.schema))  # stored columns are all nullable
    for column in ("car", "bike", "heavy", "pedestrian"):
        assert pc.sum(table[column]).as_py() == pytest.approx(
            telraam.totals(A, A_MONTH_BEFORE, UNTIL, column), abs=1e-6
        )

    asked = len(telraam.windows)
    assert services.run_feed(Feed.objects.get(pk=feed.pk), until=UNTIL) == 0
    assert telraam.windows[asked:] == [(str(A), "2025-11-30 08:00:00Z", "2025-12-07 08:00:00Z")]
    assert dataset.versions.count() == 2, "nothing changed: no new version"
    assert published(dataset).equals(table)
