"""How fast are aggregate questions over a big dataset: ours against raw DuckDB and Datasette?

The data: a year (2025) of hourly Telraam-shaped counts for 5,708 road segments,
5,708 x 8,760 = 50,002,080 rows (BENCH_SMOKE=1: 12 segments x 4,200 hours = 50,400 rows,
January to June; BENCH_DATASETS_SEGMENTS overrides the number of segments). Columns:
segment_id, hour (UTC), uptime, heavy, car, bike, pedestrian, night, the car and bike
counts per direction, v85 (empty when hardly any car passed) and direction; a daily
profile per segment with noise, generated vectorised with numpy, segment after segment
(the order of a Telraam export and of the feed). It is published as one dataset version
through ``services.publish`` (mode replace, one Delta table), so every path reads exactly
the Parquet files production reads; the dataset is open, so the API needs no login.

The questions (March holds the switch to summer time, so the days are Belgian days):

* Q1 daily: per segment and day, sum(car), sum(bike), avg(v85), max(v85), count, for 10
  segments of one municipality (consecutive ids) over March 2025 (310 rows);
* Q2 monthly: per month, avg(car), avg(bike), sum(car), count, for one segment over the
  whole year (13 rows: the last UTC hour of 2025 is in January 2026 in Belgium);
* Q3 region week: per day, sum(car), sum(bike), sum(heavy), avg(v85), count, for every
  segment in the last week of March (7 rows, ~960,000 rows read out of 50 million).

Percentiles are left out: SQLite has none.

Each question is asked through (a) our query layer in process,
``query.parse(QueryDict(...), schema)`` + ``query.run(files, schema, q)`` (DuckDB with the
production settings: 2 threads, 1 GB); (b) our HTTP API,
``GET /api/v1/datasets/<slug>/rows/?...`` against ``regiohub serve`` (gunicorn, 2 workers
x 2 threads, anonymous rate lifted), one request after the other, the JSON decoded; (c)
raw DuckDB: the same SQL written by hand (values inlined) over ``read_parquet([<the same
files>])`` in a fresh connection with DuckDB's defaults, the time zone set to Brussels; and
(d) Datasette 0.65.5 (``pip install -e .[bench]``) serving the same rows in a SQLite file
(``hour`` as Belgian local time text ``2025-03-30T03:00+0200``, so a day is
``substr(hour, 1, 10)``; indexes on (segment_id, hour) and on (hour), as a fair Datasette
user would add), its JSON API ``/<db>.json?sql=...&_shape=array``. The SQLite file is
loaded with ``executemany`` in one transaction (journal_mode=OFF, synchronous=OFF); the
time it takes is printed. Before timing, the answers of all four paths are compared
(keys equal, numbers within 1e-9 relative). Each path then runs each question 30 times
(BENCH_SMOKE=1: 5) after one warm-up run, the paths taking turns (one run of each per
round, so a busy moment of a shared machine falls on all of them), fewer when a question
takes over 60 s per path (at least 10 runs). Also timed: ``storage.files`` (opening the
Delta log), which the API does once per request. Printed: p50/p99 per path and question,
the fixed cost of HTTP (ours over HTTP minus ours in process, p50), ours/raw DuckDB and
Datasette/ours. The acceptance size of issue 17 is 10 million rows:
``BENCH_DATASETS_SEGMENTS=1142``.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SMOKE,
    free_port,
    latencies_ms,
    percentile,
    setup_django,
    start_server,
    stop_server,
    table,
    wait_until_up,
)

SEGMENTS = int(
    os.environ.get("BENCH_DATASETS_SEGMENTS")  # noqa: TID251 - the bench's own switch
    or (12 if SMOKE else 5_708)
)
HOURS = 4_200 if SMOKE else 8_760
ROWS = SEGMENTS * HOURS
FIRST_SEGMENT = 9_000_001_000
CHUNK = 2_000_000
SQLITE_BATCH = 200_000
REPEAT = 5 if SMOKE else 30
BUDGET_S = 60.0
SEED = 2026
BRUSSELS = ZoneInfo("Europe/Brussels")
SLUG = "telraam-bench"
API = f"/api/v1/datasets/{SLUG}/rows/"
FLOATS = [
    "uptime", "heavy", "car", "bike", "pedestrian", "night",
    "car_lft", "car_rgt", "bike_lft", "bike_rgt", "v85",
]  # fmt: skip
_TOWN_FROM = 100 if SEGMENTS >= 110 else 0
TOWN = [FIRST_SEGMENT + _TOWN_FROM + i for i in range(min(10, SEGMENTS))]
ONE = FIRST_SEGMENT + SEGMENTS // 2
TOWN_SQL = ", ".join(str(s) for s in TOWN)


# --- The questions, four ways ---------------------------------------------------------------


def questions() -> list[dict[str, Any]]:
    """Per question: API parameters, raw DuckDB SQL, SQLite SQL, and the width of the
    time key (10: a day, 7: a month)."""
    return [
        {
            "name": "Q1 daily, 10 segments, March",
            "params": {
                "segment_id__in": ",".join(str(s) for s in TOWN),
                "hour__gte": "2025-03-01T00:00",
                "hour__lt": "2025-04-01T00:00",
                "bucket": "hour:day",
                "group_by": "segment_id",
                "agg": "sum:car,sum:bike,avg:v85,max:v85,count",
                "limit": "1000",
            },
            "duckdb": (
                "SELECT date_trunc('day', hour) AS hour, segment_id, sum(car), sum(bike), "
                "avg(v85), max(v85), count(*) FROM read_parquet({files}) "
                f"WHERE segment_id IN ({TOWN_SQL}) "
                "AND hour >= TIMESTAMPTZ '2025-03-01 00:00:00+01' "
                "AND hour < TIMESTAMPTZ '2025-04-01 00:00:00+02' "
                "GROUP BY ALL ORDER BY 1, 2"
            ),
            "sqlite": (
                "SELECT substr(hour, 1, 10) AS day, segment_id, sum(car), sum(bike), "
                "avg(v85), max(v85), count(*) FROM telraam "
                f"WHERE segment_id IN ({TOWN_SQL}) "
                "AND hour >= '2025-03-01' AND hour < '2025-04-01' "
                "GROUP BY day, segment_id ORDER BY day, segment_id"
            ),
            "key": 10,
        },
        {
            "name": "Q2 monthly, 1 segment, year",
            "params": {
                "segment_id": str(ONE),
                "bucket": "hour:month",
                "agg": "avg:car,avg:bike,sum:car,count",
                "limit": "1000",
            },
            "duckdb": (
                "SELECT date_trunc('month', hour) AS hour, avg(car), avg(bike), sum(car), "
                f"count(*) FROM read_parquet({{files}}) WHERE segment_id = {ONE} "
                "GROUP BY ALL ORDER BY 1"
            ),
            "sqlite": (
                "SELECT substr(hour, 1, 7) AS month, avg(car), avg(bike), sum(car), count(*) "
                f"FROM telraam WHERE segment_id = {ONE} GROUP BY month ORDER BY month"
            ),
            "key": 7,
        },
        {
            "name": "Q3 daily, all segments, 1 week",
            "params": {
                "hour__gte": "2025-03-24T00:00",
                "hour__lt": "2025-03-31T00:00",
                "bucket": "hour:day",
                "agg": "sum:car,sum:bike,sum:heavy,avg:v85,count",
                "limit": "1000",
            },
            "duckdb": (
                "SELECT date_trunc('day', hour) AS hour, sum(car), sum(bike), sum(heavy), "
                "avg(v85), count(*) FROM read_parquet({files}) "
                "WHERE hour >= TIMESTAMPTZ '2025-03-24 00:00:00+01' "
                "AND hour < TIMESTAMPTZ '2025-03-31 00:00:00+02' "
                "GROUP BY ALL ORDER BY 1"
            ),
            "sqlite": (
                "SELECT substr(hour, 1, 10) AS day, sum(car), sum(bike), sum(heavy), "
                "avg(v85), count(*) FROM telraam "
                "WHERE hour >= '2025-03-24' AND hour < '2025-03-31' "
                "GROUP BY day ORDER BY day"
            ),
            "key": 10,
        },
    ]


def normalised(rows: list[list[Any]], key: int) -> list[tuple[Any, ...]]:
    """Rows with the time key as Belgian local text of ``key`` characters."""
    result = []
    for row in rows:
        moment = row[0]
        if isinstance(moment, str) and "T" in moment:
            moment = datetime.fromisoformat(moment)
        if isinstance(moment, datetime):
            moment = moment.astimezone(BRUSSELS).isoformat()
        result.append((str(moment)[:key], *row[1:]))
    return result


def same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if len(x) != len(y):
            return False
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float | int) and isinstance(v, float | int):
                if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif u != v:
                return False
    return True


# --- The data --------------------------------------------------------------------------------


def generate() -> Any:
    """The hourly table, segment after segment (UTC hours from 2025-01-01)."""
    import numpy as np
    import pyarrow as pa

    from regiohub.datasets.feeds.base import UTC_TIMESTAMP

    rng = np.random.default_rng(SEED)
    start = np.datetime64("2025-01-01T00:00", "us").astype(np.int64)
    batches = []
    for begin in range(0, ROWS, CHUNK):
        index = np.arange(begin, min(ROWS, begin + CHUNK), dtype=np.int64)
        n = len(index)
        segment = index // HOURS
        hour_of_year = index % HOURS
        hour_of_day = (hour_of_year + 1) % 24
        profile = (
            0.15 + np.exp(-((hour_of_day - 8) ** 2) / 4) + np.exp(-((hour_of_day - 17) ** 2) / 6)
        )
        size = 40 + (segment * 7919 % 400)
        car = np.round(profile * size * rng.uniform(0.6, 1.4, n), 1)
        bike = np.round(profile * (size / 5) * rng.uniform(0.3, 1.7, n), 1)
        car_lft = np.round(car * rng.uniform(0.3, 0.7, n), 1)
        bike_lft = np.round(bike * rng.uniform(0.3, 0.7, n), 1)
        v85 = np.round(rng.uniform(25, 75, n), 1)
        columns = {
            "segment_id": pa.array(FIRST_SEGMENT + segment),
            "hour": pa.array(start + hour_of_year * 3_600_000_000, UTC_TIMESTAMP),
            "uptime": pa.array(np.round(rng.uniform(0.5, 1.0, n), 2)),
            "heavy": pa.array(np.round(car / 12 + rng.uniform(0, 2, n), 1)),
            "car": pa.array(car),
            "bike": pa.array(bike),
            "pedestrian": pa.array(np.round(profile * 30 * rng.uniform(0, 1, n), 1)),
            "night": pa.array(np.where((hour_of_day < 6) | (hour_of_day > 21), car / 3, 0.0)),
            "car_lft": pa.array(car_lft),
            "car_rgt": pa.array(car - car_lft),
            "bike_lft": pa.array(bike_lft),
            "bike_rgt": pa.array(bike - bike_lft),
            "v85": pa.array(v85, mask=car < 0.5),
            "direction": pa.array(1 + segment % 2),
        }
        batches.append(pa.record_batch(list(columns.values()), names=list(columns)))
    return pa.Table.from_batches(batches)


def publish(rows: Any) -> tuple[Any, list[str], list[dict[str, Any]]]:
    """The rows as version 1 of an open dataset of Kortrijk: (version, files, schema)."""
    from django.db import transaction

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.datasets import services, storage

    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", name="Kortrijk"
    )
    dataset = services.create_dataset(
        None, owner=kortrijk, slug=SLUG, title="Telraam (bench)", theme="TRAN", access="open"
    )
    schema = services.schema_from_arrow(
        rows.schema, time_column="hour", primary_key=("segment_id", "hour")
    )
    with transaction.atomic():
        version = services.publish(
            dataset,
            rows,
            mode="replace",
            schema=schema,
            primary_key=["segment_id", "hour"],
            actor_label="bench",
            summary=f"{rows.num_rows} generated rows",
        )
    assert version.row_count == ROWS, version.row_count
    return version, storage.files(dataset.storage_key, version.delta_version), schema


def load_sqlite(rows: Any, path: Path) -> None:
    """The same rows in a SQLite file, as a Datasette user would load them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    columns = ", ".join(f"{name} REAL" for name in FLOATS)
    con.execute(
        f"CREATE TABLE telraam (segment_id INTEGER NOT NULL, hour TEXT NOT NULL, {columns}, "
        "direction INTEGER)"
    )
    names = rows.column_names
    insert = f"INSERT INTO telraam ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    con.execute("BEGIN")
    for batch in rows.to_batches(max_chunksize=SQLITE_BATCH):
        local = batch.column("hour").cast(pa.timestamp("us", "Europe/Brussels"))
        values = []
        for name in names:
            column = batch.column(name)
            if name == "hour":
                values.append(pc.strftime(local, "%Y-%m-%dT%H:%M%z").to_pylist())
            elif column.null_count:
                values.append(column.to_pylist())
            else:
                values.append(column.to_numpy().tolist())
        con.executemany(insert, zip(*values, strict=True))
    con.execute("COMMIT")
    con.execute("CREATE INDEX telraam_segment_hour ON telraam (segment_id, hour)")
    con.execute("CREATE INDEX telraam_hour ON telraam (hour)")
    con.execute("ANALYZE")
    con.close()


# --- Main ------------------------------------------------------------------------------------


def stats(label: str, samples: list[float]) -> dict[str, float]:
    result = {
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "runs": len(samples),
    }
    print(
        f"  {label}: p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms "
        f"({result['runs']} runs)",
        flush=True,
    )
    return result


def timed(label: str, func: Callable[[], object]) -> dict[str, float]:
    func()  # warm-up, not counted
    return stats(label, latencies_ms(func, REPEAT, budget_s=BUDGET_S, minimum=min(10, REPEAT)))


def timed_side_by_side(paths: dict[str, Callable[[], object]]) -> dict[str, dict[str, float]]:
    """Each path once per round, in turn, so that a busy moment of the machine falls on
    all of them alike; a round is stopped early as in :func:`timed` (budget per path)."""
    for func in paths.values():
        func()  # warm-up, not counted
    samples: dict[str, list[float]] = {name: [] for name in paths}
    begun = time.perf_counter()
    for done in range(1, REPEAT + 1):
        for name, func in paths.items():
            started = time.perf_counter()
            func()
            samples[name].append((time.perf_counter() - started) * 1000)
        spent = time.perf_counter() - begun
        if done >= min(10, REPEAT) and spent > BUDGET_S * len(paths):
            break
    return {name: stats(name, found) for name, found in samples.items()}


def main() -> None:
    import duckdb
    import requests

    try:
        import datasette
    except ImportError:
        raise SystemExit("Datasette is missing: pip install -e '.[bench]'") from None

    folder = Path(tempfile.mkdtemp(prefix="regiohub-bench-datasets-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "data").mkdir()
    url = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["REGIOHUB_DATA_DIR"] = str(folder / "data")
    os.environ["REGIOHUB_DATASETS_URI"] = str(folder / "tables")
    os.environ["DATABASE_URL"] = url
    os.environ["REGIOHUB_API_ANON_RATE"] = "100000000/hour"  # one client sends everything
    # The comparisons run every question afresh; the answer cache gets its own server.
    os.environ["REGIOHUB_DATASETS_QUERY_CACHE"] = "0"

    print(
        f"Aggregates over {ROWS:,} hourly rows ({SEGMENTS:,} segments x {HOURS:,} hours): "
        f"ours, raw DuckDB and Datasette {datasette.__version__}",
        flush=True,
    )
    setup_django()
    from django.db import connections
    from django.http import QueryDict

    from regiohub.datasets import query, storage

    started = time.perf_counter()
    rows = generate()
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    version, files, schema = publish(rows)
    size = sum(Path(f.removeprefix("file://")).stat().st_size for f in files)
    print(
        f"published as one version through services.publish in "
        f"{time.perf_counter() - started:.1f} s: {len(files)} Parquet files, "
        f"{size / 1024**2:,.0f} MB",
        flush=True,
    )
    sqlite_path = folder / "telraam.db"
    started = time.perf_counter()
    load_sqlite(rows, sqlite_path)
    print(
        f"SQLite for Datasette loaded and indexed in {time.perf_counter() - started:.1f} s: "
        f"{sqlite_path.stat().st_size / 1024**2:,.0f} MB",
        flush=True,
    )
    del rows
    storage_key = version.dataset.storage_key
    connections.close_all()  # SQLite: no open connection of ours next to the server's

    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'Europe/Brussels'")
    files_sql = query.files_literal(files)

    def ours(params: dict[str, str]) -> list[list[Any]]:
        parsed = query.parse(QueryDict(urlencode(params)), schema)
        answer = query.run(files, schema, parsed)
        return [list(r.values()) for r in answer.table.to_pylist()]

    def raw_duckdb(sql: str) -> list[list[Any]]:
        table_ = raw.sql(sql.format(files=files_sql)).to_arrow_table()
        return [list(r.values()) for r in table_.to_pylist()]

    session = requests.Session()
    port, dport, cport = free_port(), free_port(), free_port()
    base, dbase = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dport}"
    cbase = f"http://127.0.0.1:{cport}"

    def http(params: dict[str, str], server_base: str = base) -> list[list[Any]]:
        response = session.get(server_base + API, params=params, timeout=600)
        response.raise_for_status()
        return response.json()["rows"]

    def datasette_rows(sql: str) -> list[list[Any]]:
        response = session.get(
            f"{dbase}/telraam.json", params={"sql": sql, "_shape": "array"}, timeout=600
        )
        response.raise_for_status()
        return [list(r.values()) for r in response.json()]

    log = folder / "server.log"
    dlog = folder / "datasette.log"
    server = start_server(url, port, log, workers=2, threads=2)
    cached_server = None
    command = [
        sys.executable, "-m", "datasette", "serve", str(sqlite_path),
        "--host", "127.0.0.1", "--port", str(dport),
        "--setting", "sql_time_limit_ms", "600000",
        "--setting", "max_returned_rows", "100000",
    ]  # fmt: skip
    with dlog.open("wb") as out:
        dserver = subprocess.Popen(  # noqa: S603
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        boot = wait_until_up(server, f"{base}/api/v1/datasets/{SLUG}/", log)
        # The second server only once the first has collected the static files.
        os.environ["REGIOHUB_DATASETS_QUERY_CACHE"] = "256"  # the default
        cached_server = start_server(url, cport, folder / "cached.log", workers=2, threads=2)
        dboot = wait_until_up(dserver, f"{dbase}/-/versions.json", dlog)
        wait_until_up(cached_server, f"{cbase}/api/v1/datasets/{SLUG}/", folder / "cached.log")
        print(f"regiohub serve up in {boot:.1f} s, datasette in {dboot:.1f} s", flush=True)

        for q in questions():
            paths: dict[str, Callable[[], list[list[Any]]]] = {
                "ours in-process": lambda q=q: ours(q["params"]),
                "ours HTTP API": lambda q=q: http(q["params"]),
                "raw DuckDB": lambda q=q: raw_duckdb(q["duckdb"]),
                "Datasette": lambda q=q: datasette_rows(q["sqlite"]),
                # The same question again: answered from the server's answer cache.
                "ours HTTP, repeated": lambda q=q: http(q["params"], cbase),
            }
            answers = {name: normalised(func(), q["key"]) for name, func in paths.items()}
            reference = answers["raw DuckDB"]
            assert reference, f"{q['name']}: no rows"
            for name, found in answers.items():
                assert same(found, reference), (
                    f"{q['name']}: {name} answers differently from raw DuckDB:\n"
                    f"{found[:3]}\nvs\n{reference[:3]}"
                )
            print(
                f"{q['name']}: {len(reference)} rows, all paths agree (first: {reference[0]})",
                flush=True,
            )
            results[q["name"]] = timed_side_by_side(paths)
        files_ms = timed(
            "storage.files (Delta log, once per API request)",
            lambda: storage.files(storage_key, version.delta_version),
        )
    finally:
        stop_server(server)
        if cached_server is not None:
            stop_server(cached_server)
        stop_server(dserver)

    print()
    print(
        f"{ROWS:,} rows; latency in ms (p50 / p99); "
        f"storage.files p50 {files_ms['p50']:.1f} ms is inside the HTTP figures"
    )
    lines = []
    for name, paths_ in results.items():
        r = paths_
        lines.append(
            [
                name,
                *(
                    f"{r[p]['p50']:.1f} / {r[p]['p99']:.1f}"
                    for p in (
                        "ours in-process",
                        "ours HTTP API",
                        "raw DuckDB",
                        "Datasette",
                        "ours HTTP, repeated",
                    )
                ),
                f"{r['ours HTTP API']['p50'] - r['ours in-process']['p50']:.1f}",
                f"{r['ours in-process']['p50'] / r['raw DuckDB']['p50']:.2f}x",
                f"{r['ours HTTP API']['p50'] / r['raw DuckDB']['p50']:.2f}x",
                f"{r['Datasette']['p50'] / r['ours HTTP API']['p50']:.2f}x",
                f"{r['Datasette']['p50'] / r['ours in-process']['p50']:.1f}x",
                f"{r['Datasette']['p50'] / r['ours HTTP, repeated']['p50']:.1f}x",
            ]
        )
    print(
        table(
            [
                "question",
                "ours in-process",
                "ours HTTP",
                "raw DuckDB",
                "Datasette HTTP",
                "ours HTTP repeated",
                "HTTP fixed cost",
                "in-proc/raw",
                "HTTP/raw",
                "Datasette/HTTP",
                "Datasette/in-proc",
                "Datasette/repeated",
            ],
            lines,
        )
    )
    print(
        "ratios on p50; 'HTTP fixed cost' = ours HTTP p50 - ours in-process p50 (ms): what "
        "the web stack adds to a question. Targets: ours within 1.5x of raw DuckDB, a fixed "
        "cost under 2 ms, ours over HTTP at least as fast as Datasette on every question "
        "(Datasette/HTTP >= 1.0x) and 10x faster on the scan (Q3). 'repeated' = the same "
        "question again, answered from the answer cache (REGIOHUB_DATASETS_QUERY_CACHE; "
        "versions never change); every other column asks afresh. The paths of a question "
        "take turns, one run each per round."
    )


if __name__ == "__main__":
    main()
