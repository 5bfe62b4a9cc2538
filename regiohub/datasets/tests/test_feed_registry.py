"""Feeds are plugins found by kind; cursors and windows behave the same for every feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from regiohub.datasets.feeds import registry
from regiohub.datasets.feeds.base import UTC_TIMESTAMP, Feed, FeedCursor
from regiohub.datasets.feeds.telraam import TelraamFeed
from regiohub.datasets.feeds.timewindows import add_months, floor_hour, month_windows


def test_the_telraam_feed_is_registered():
    assert registry.get("telraam") is TelraamFeed
    assert TelraamFeed in registry.all_feeds()
    assert ("telraam", "Telraam traffic counts") in registry.choices()
    with pytest.raises(KeyError):
        registry.get("no-such-feed")


def test_a_feed_must_name_columns_of_its_schema():
    class Broken(Feed):
        kind = "broken"
        schema = pa.schema([("counter", pa.string()), ("hour", UTC_TIMESTAMP)])
        primary_key = ("counter", "time")
        time_column = "hour"

        def fetch(self, cursor, until):
            yield from ()

    with pytest.raises(TypeError, match="schema columns"):
        registry.register(Broken)
    Broken.kind = "telraam"
    Broken.primary_key = ("counter", "hour")
    with pytest.raises(TypeError, match="taken by TelraamFeed"):
        registry.register(Broken)
    assert registry.get("telraam") is TelraamFeed


def test_a_cursor_survives_json_and_only_moves_forward_by_copy():
    cursor = FeedCursor().advanced("7", datetime(2025, 10, 1, 3, tzinfo=UTC))
    moved = cursor.advanced("8", datetime(2025, 10, 1, 4, tzinfo=UTC))

    assert cursor.to_json() == {"7": "2025-10-01T03:00:00+00:00"}
    assert FeedCursor.from_json(moved.to_json()) == moved
    assert FeedCursor.from_json(None) == FeedCursor()
    with pytest.raises(ValueError, match="timezone-aware"):
        cursor.advanced("7", datetime(2025, 10, 1))


def test_windows_are_calendar_months_clamped_to_the_month_end():
    start = datetime(2025, 8, 31, 5, tzinfo=UTC)
    assert add_months(start, 3) == datetime(2025, 11, 30, 5, tzinfo=UTC)
    assert add_months(datetime(2025, 11, 15, tzinfo=UTC), 3) == datetime(2026, 2, 15, tzinfo=UTC)
    assert list(month_windows(start, datetime(2026, 1, 2, tzinfo=UTC), 3)) == [
        (start, datetime(2025, 11, 30, 5, tzinfo=UTC)),
        (datetime(2025, 11, 30, 5, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)),
    ]
    assert list(month_windows(start, start, 3)) == []
    assert floor_hour(datetime(2025, 10, 26, 2, 59, 59, tzinfo=UTC)).hour == 2
