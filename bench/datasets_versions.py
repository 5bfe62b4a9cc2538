"""How fast are two versions of a dataset compared, and a version restored?

The data: Telraam-shaped hourly counts (segment_id, hour, car, bike, heavy, v85) of
100,000 rows (BENCH_SMOKE=1: 2,000; BENCH_VERSIONS_ROWS overrides), 50 segments x hours,
published through ``services.publish`` as version 1 of a dataset keyed on
(segment_id, hour). Version 2 is a corrected copy, published the same way (mode replace):
1 % of the rows with other car counts, 0.5 % removed (the last hours of each segment) and
as many new hours added. Versions 3 and 4 are the same rows as versions 1 and 2 without a
key.

Timed, each ``REPEAT`` times after a warm-up, the process cache of comparisons emptied
before every run so each run reads both versions:

* counts by key: ``compare.summarize`` (the key's uniqueness checked in both versions, then
  one full outer join counting added, removed, changed and unchanged rows);
* the first page: ``compare.changes`` (50 changed rows, sorted by key);
* the CSV of every change: ``compare.stream`` + ``compare.csv_stream``, read to the end;
* counts of whole rows (no key): ``compare.summarize`` from version 3 to 4 (EXCEPT ALL);
* raw DuckDB: the counting join written by hand over the same files in a fresh connection
  with DuckDB's defaults (the floor for "counts by key");
* a restore: ``services.restore`` of version 1 (counts, then Delta's restore: no row is
  copied), timed once.

Printed: p50 per step and rows/s = (rows of both versions) / p50; ours/raw for the counts.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, latencies_ms, percentile, setup_django, table

ROWS = int(
    os.environ.get("BENCH_VERSIONS_ROWS")  # noqa: TID251 - the bench's own switch
    or (2_000 if SMOKE else 100_000)
)
SEGMENTS = 50
REPEAT = 2 if SMOKE else 10
SEED = 2026
KEY = ["segment_id", "hour"]


def generate() -> tuple[Any, Any]:
    """(version 1, version 2) as Arrow tables."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(SEED)
    hours = -(-ROWS // SEGMENTS)
    segment = np.repeat(np.arange(9_000_001_000, 9_000_001_000 + SEGMENTS), hours)[:ROWS]
    hour_index = np.tile(np.arange(hours), SEGMENTS)[:ROWS]
    start = np.datetime64("2025-01-01T00:00", "us")
    car = rng.poisson(120, ROWS).astype(np.int64)
    bike = rng.poisson(30, ROWS).astype(np.int64)
    heavy = rng.poisson(8, ROWS).astype(np.int64)
    v85 = np.round(rng.normal(48, 6, ROWS), 1)

    def build(seg: Any, index: Any, cars: Any, bikes: Any, heavies: Any, speeds: Any) -> Any:
        moments = start + index.astype("timedelta64[h]")
        return pa.table(
            {
                "segment_id": pa.array(seg, pa.int64()),
                "hour": pa.array(moments, pa.timestamp("us", tz="UTC")),
                "car": pa.array(cars),
                "bike": pa.array(bikes),
                "heavy": pa.array(heavies),
                "v85": pa.array(speeds),
            }
        )

    first = build(segment, hour_index, car, bike, heavy, v85)
    # Version 2: every 100th row corrected, the last 0.5 % of each segment's hours gone,
    # as many later hours added.
    corrected = car.copy()
    corrected[::100] += 1
    drop = max(1, hours // 200)
    keep = hour_index < hours - drop
    new_segments = np.repeat(np.arange(9_000_001_000, 9_000_001_000 + SEGMENTS), drop)
    new_hours = np.tile(np.arange(hours, hours + drop), SEGMENTS)
    added = len(new_segments)
    second = build(
        np.concatenate([segment[keep], new_segments]),
        np.concatenate([hour_index[keep], new_hours]),
        np.concatenate([corrected[keep], rng.poisson(120, added).astype(np.int64)]),
        np.concatenate([bike[keep], rng.poisson(30, added).astype(np.int64)]),
        np.concatenate([heavy[keep], rng.poisson(8, added).astype(np.int64)]),
        np.concatenate([v85[keep], np.round(rng.normal(48, 6, added), 1)]),
    )
    return first, second


def publish(first: Any, second: Any) -> Any:
    """Versions 1 and 2 (keyed), 3 and 4 (the same rows, no key) of an open dataset of
    Kortrijk."""
    from django.db import transaction

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.datasets import services

    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", name="Kortrijk"
    )
    dataset = services.create_dataset(
        None, owner=kortrijk, slug="versions-bench", title="Versions (bench)", theme="TRAN",
        access="open",
    )  # fmt: skip
    for rows, key in ((first, KEY), (second, KEY), (first, []), (second, [])):
        schema = services.schema_from_arrow(rows.schema, time_column="hour", primary_key=key)
        with transaction.atomic():
            services.publish(
                dataset, rows, mode="replace", schema=schema, primary_key=key, actor_label="bench"
            )
    return dataset


def main() -> None:
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="regiohub-bench-versions-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "data").mkdir()
    os.environ["REGIOHUB_DATA_DIR"] = str(folder / "data")
    os.environ["REGIOHUB_DATASETS_URI"] = str(folder / "tables")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    setup_django()

    from regiohub.datasets import compare, query, services

    first, second = generate()
    print(
        f"Comparing two versions of {first.num_rows:,} and {second.num_rows:,} rows "
        f"(key segment_id + hour)",
        flush=True,
    )
    started = time.perf_counter()
    dataset = publish(first, second)
    print(f"published 4 versions in {time.perf_counter() - started:.1f} s", flush=True)
    one, two, three, four = (compare.side_of(dataset.versions.get(number=n)) for n in (1, 2, 3, 4))
    both = first.num_rows + second.num_rows

    def fresh_summary(old: Any, new: Any) -> Any:
        compare._summaries.entries.clear()
        return compare.summarize(old, new)

    summary = fresh_summary(one, two)
    counts = summary.counts
    print(
        f"version 1 -> 2: {counts.added:,} added, {counts.removed:,} removed, "
        f"{counts.changed:,} changed, {counts.unchanged:,} unchanged",
        flush=True,
    )
    assert summary.layout.key == tuple(KEY) and counts.changed and counts.added
    whole = fresh_summary(three, four)
    assert whole.layout.key == () and whole.counts.added == counts.added + counts.changed

    def first_page() -> None:
        compare.changes(one, two, summary, limit=50)

    def csv_download() -> None:
        for _chunk in compare.csv_stream(summary, compare.stream(one, two, summary)):
            pass

    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'Europe/Brussels'")
    raw_sql = (
        "SELECT count(*) FILTER (WHERE o.segment_id IS NULL), "
        "count(*) FILTER (WHERE n.segment_id IS NULL), "
        "count(*) FILTER (WHERE o.segment_id IS NOT NULL AND n.segment_id IS NOT NULL AND "
        "(o.car <> n.car OR o.bike <> n.bike OR o.heavy <> n.heavy OR o.v85 <> n.v85)) "
        f"FROM read_parquet({query.files_literal(list(one.files))}) AS o "
        f"FULL OUTER JOIN read_parquet({query.files_literal(list(two.files))}) AS n "
        "ON o.segment_id = n.segment_id AND o.hour = n.hour"
    )
    raw_counts = raw.sql(raw_sql).fetchall()[0]
    assert raw_counts == (counts.added, counts.removed, counts.changed), raw_counts

    steps = [
        ("counts by key", lambda: fresh_summary(one, two)),
        ("first page (50 changed rows)", first_page),
        (f"CSV of every change ({counts.total:,} rows)", csv_download),
        ("counts of whole rows (no key)", lambda: fresh_summary(three, four)),
        ("raw DuckDB: counts by key", lambda: raw.sql(raw_sql).fetchall()),
    ]
    results = []
    p50s = {}
    for name, step in steps:
        step()  # warm-up
        samples = latencies_ms(step, REPEAT)
        p50 = percentile(samples, 50)
        p50s[name] = p50
        results.append([name, f"{p50:,.1f}", f"{both / (p50 / 1000):,.0f}"])
    print()
    print(table(["step", "p50 ms", "rows/s (both versions)"], results))
    ratio = p50s["counts by key"] / p50s["raw DuckDB: counts by key"]
    print(f"\ncounts by key, ours / raw DuckDB: {ratio:.2f}x")

    started = time.perf_counter()
    compare._summaries.entries.clear()
    restored = services.restore(
        dataset, _steward(dataset), number=1, reason="bench: the corrected file was wrong"
    )
    print(
        f"restore of version 1 as version {restored.number}: "
        f"{(time.perf_counter() - started) * 1000:,.0f} ms "
        f"({restored.rows_added:,} added, {restored.rows_updated:,} updated, "
        f"{restored.rows_unchanged:,} unchanged, {restored.rows_removed:,} removed)"
    )
    assert restored.row_count == first.num_rows


def _steward(dataset: Any) -> Any:
    from regiohub.core.models import Membership, User
    from regiohub.core.roles import Role

    user = User.objects.create_user("steward@bench.invalid", "bench-password-123456")
    Membership.objects.create(user=user, organisation=dataset.owner, role=Role.DATA_STEWARD)
    return user


if __name__ == "__main__":
    main()
