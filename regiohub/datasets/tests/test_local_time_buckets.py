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


# --- Bounded questions: the offsets are constants (decision 0026) -------------------------

BOUNDS = [
    ("2025-03-28T00:00", "2025-04-01T00:00"),  # the spring change
    ("2025-10-24T00:00", "2025-10-29T00:00"),  # the autumn change, its doubled hour
    ("2024-12-29T00:00", "2025-10-30T00:00"),  # the new year and both changes
    ("2025-03-30T02:00+01:00", "2025-03-30T04:00+02:00"),  # across the change itself
    ("2025-03-29T00:00", "2025-03-30T00:00"),  # one side only
]


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
@pytest.mark.parametrize(("low", "high"), BOUNDS)
def test_bounded_buckets_are_belgian(files, unit, low, high):
    first, last = (query.coerce(v, SCHEMA[0], "hour") for v in (low, high))
    inside = [m for m in moments() if first <= m < last]
    expected = Counter(start_of(m, unit) for m in inside)
    params = {"hour__gte": low, "hour__lt": high, "bucket": f"hour:{unit}", "agg": "count"}
    parsed = query.parse(params, SCHEMA)
    assert query.local_offsets(parsed, "hour")  # the constant path is taken
    rows = query.run(files, SCHEMA, parsed).table.to_pylist()
    assert [(r["hour"], r["count"]) for r in rows] == sorted(expected.items())


def test_offsets_are_the_clock_changes():
    parsed = query.parse({"hour__gte": "2025-01-01", "hour__lte": "2025-12-31"}, SCHEMA)
    assert query.local_offsets(parsed, "hour") == [
        (int(datetime(2024, 12, 31, 23, tzinfo=UTC).timestamp()), 3600),
        (int(datetime(2025, 3, 30, 1, tzinfo=UTC).timestamp()), 7200),
        (int(datetime(2025, 10, 26, 1, tzinfo=UTC).timestamp()), 3600),
    ]
    a_moment = query.parse({"hour": "2025-07-01T12:00"}, SCHEMA)
    assert query.local_offsets(a_moment, "hour") == [
        (int(datetime(2025, 7, 1, 10, tzinfo=UTC).timestamp()), 7200)
    ]


@pytest.mark.parametrize(
    "params",
    [
        {},  # no bounds: DuckDB's conversion
        {"hour__gte": "2025-01-01"},  # one bound
        {"hour__gte": "2000-01-01", "hour__lt": "2025-01-01"},  # 25 years
        {"hour__gte": "1970-01-01", "hour__lt": "1970-02-01"},  # before 1977
        {"hour__gte": "0001-01-01T00:00+14:00", "hour__lt": "9999-12-31T23:59-12:00"},
    ],
)
def test_open_or_long_ranges_use_the_conversion(files, params):
    parsed = query.parse({**params, "bucket": "hour:day", "agg": "count"}, SCHEMA)
    assert query.local_offsets(parsed, "hour") is None
    query.run(files, SCHEMA, parsed)  # and still answers


def test_the_data_bounds_come_from_the_statistics(files):
    assert query.data_bounds(files, "hour") == (min(moments()), max(moments()))
    parsed = query.parse({"bucket": "hour:day", "agg": "count"}, SCHEMA)
    bounds = query.data_bounds(files, "hour")
    assert len(query.local_offsets(parsed, "hour", bounds)) == 3  # the year's two changes


def test_without_statistics_the_conversion_answers(files):
    folder = Path(files[0]).parent
    table = pq.read_table(files[0])
    pq.write_table(table, folder / "bare.parquet", write_statistics=False)
    bare = [str(folder / "bare.parquet")]
    assert query.data_bounds(bare, "hour") is None
    parsed = query.parse({"bucket": "hour:month", "agg": "count"}, SCHEMA)
    rows = query.run(bare, SCHEMA, parsed).table.to_pylist()
    expected = Counter(start_of(m, "month") for m in moments())
    assert [(r["hour"], r["count"]) for r in rows] == sorted(expected.items())


# --- Buckets that come round again: hour of the day, weekday (dashboards' profiles) -----


@pytest.mark.parametrize(("low", "high"), [(None, None), *BOUNDS[:3]])
@pytest.mark.parametrize("unit", ["hour_of_day", "weekday"])
def test_cycles_are_belgian_wall_clock(files, unit, low, high):
    def moment(text: str) -> datetime:  # a time without offset is Belgian
        found = datetime.fromisoformat(text)
        return found if found.tzinfo else found.replace(tzinfo=BRUSSELS)

    chosen = [m for m in moments() if low is None or moment(low) <= m < moment(high)]
    local = [m.astimezone(BRUSSELS) for m in chosen]
    expected = Counter(t.hour if unit == "hour_of_day" else t.isoweekday() for t in local)
    params = {"bucket": f"hour:{unit}", "agg": "count", "limit": "1000"}
    if low:
        params |= {"hour__gte": low, "hour__lt": high}
    rows = query.run(files, SCHEMA, query.parse(params, SCHEMA)).table.to_pylist()
    assert {r["hour"]: r["count"] for r in rows} == dict(expected)
    if unit == "hour_of_day" and low is None:
        # The autumn's doubled 2 o'clock counts twice, the spring's missing one not at all.
        assert set(range(24)) == {r["hour"] for r in rows}


def test_a_date_has_no_hour_of_the_day():
    schema = [{"key": "day", "name": "day", "type": "date"}]
    with pytest.raises(query.QueryError) as refused:
        query.parse({"bucket": "day:hour_of_day"}, schema)
    assert refused.value.parameter == "bucket"
    assert query.parse({"bucket": "day:weekday"}, schema).bucket == ("day", "weekday")
