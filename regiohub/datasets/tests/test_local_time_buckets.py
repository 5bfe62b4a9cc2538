"""Days, weeks, months and years are Belgian ones, also around the clock changes, and
a page link after such a bucket leads to the next one (decision 0026: the engine groups
on local wall-clock time and turns the buckets back into moments)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from regiohub.datasets import query

BRUSSELS = ZoneInfo("Europe/Brussels")
SCHEMA = [
    {"key": "hour", "name": "hour", "type": "timestamp"},
    {"key": "car", "name": "car", "type": "integer"},
]


def moments() -> list[datetime]:
    """Every UTC hour of a few days around both clock changes and a new year."""
    found = []
    for first, days in ((datetime(2024, 12, 30), 4), (datetime(2025, 3, 28), 4),
                        (datetime(2025, 10, 24), 5)):  # fmt: skip
        start = first.replace(tzinfo=UTC) - timedelta(hours=2)
        found += [start + timedelta(hours=h) for h in range(days * 24)]
    return found


@pytest.fixture
def files() -> list[str]:
    folder = Path(settings.DATASETS_URI) / "buckets"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "hour": pa.array(moments(), pa.timestamp("us", tz="UTC")),
            "car": pa.array(range(len(moments())), pa.int64()),
        }
    )
    pq.write_table(table, folder / "part.parquet")
    return [str(folder / "part.parquet")]


def start_of(moment: datetime, unit: str) -> datetime:
    local = moment.astimezone(BRUSSELS)
    day = local.date()
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    elif unit == "year":
        day = day.replace(month=1, day=1)
    return datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_buckets_are_belgian(files, unit):
    expected = Counter(start_of(m, unit) for m in moments())
    parsed = query.parse({"bucket": f"hour:{unit}", "agg": "count", "limit": "1000"}, SCHEMA)
    rows = query.run(files, SCHEMA, parsed).table.to_pylist()
    assert [(r["hour"], r["count"]) for r in rows] == sorted(expected.items())
    if unit == "day":
        counts = {r["hour"].date().isoformat(): r["count"] for r in rows}
        assert counts["2025-03-30"] == 23 and counts["2025-10-26"] == 25


def test_a_page_link_after_a_day_leads_to_the_next_day(files):
    params = {"bucket": "hour:day", "agg": "count,min:hour", "limit": "2"}
    days = []
    while True:
        answer = query.run(files, SCHEMA, query.parse(params, SCHEMA))
        days += answer.table.to_pylist()
        if not answer.next_cursor:
            break
        params = {**params, "after": answer.next_cursor}
    assert [d["hour"] for d in days] == sorted({start_of(m, "day") for m in moments()})
    assert all(d["min_hour"] >= d["hour"] for d in days)
