"""How fast does a whole version download over HTTP, the first time (the file is built in
the request) and from the download cache, against raw DuckDB writing the same file?

The data: Telraam-shaped hourly counts, the generator of bench/datasets_query.py (segment
after segment, a year of hours each, 14 columns: segment_id, hour (UTC), uptime, the
counts per mode and direction, v85 (empty when hardly any car passed), direction),
50,000,000 rows (BENCH_SMOKE=1: 50,000; BENCH_OPENDATA_ROWS overrides). It is generated
chunk by chunk into a staged file (``ingest.StageWriter``, as a big load stages its rows)
and published as version 1 of an open dataset through ``services.publish`` (mode replace),
so memory stays flat and the Parquet files are those production writes.

Then ``regiohub serve`` (gunicorn, 1 worker x 2 threads; the download limit lifted and
``REGIOHUB_DATASETS_DOWNLOAD_CACHE_MB`` large enough to keep both files; a few query API
requests first, not counted, so that the server threads have their DuckDB connection)
and, for CSV and Parquet, ``GET /data/<slug>/download/?format=...&version=1`` twice, read
in 1 MB chunks: the first request builds the file (the rows streamed from DuckDB through
the writers of ``datasets.formats`` into a temporary file, renamed into the cache), the
second is served from the cache. Both answers are checked: the same bytes (SHA-256), the
CSV has a header and one line per row, the Parquet file's footer says ROWS rows and holds
the licence.
Measured per request: seconds, MB/s and rows/s; and the peak memory (VmHWM) of the
server's worker, read from /proc after all downloads (psutil is not needed).

Next to it, in the same run, raw DuckDB in a child process with its defaults (all cores):
``COPY (SELECT * FROM read_parquet([<the version's files>])) TO 'x.csv'`` (HEADER) and
``TO 'x.parquet'``, timed, with the child's peak memory. Printed: a table with ours/raw in
rows/s per request (target: the built download at least 0.7x raw DuckDB), and the peak
memory of both.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run (under a minute).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, free_port, setup_django, start_server, stop_server, table, wait_until_up

ROWS = int(
    os.environ.get("BENCH_OPENDATA_ROWS")  # noqa: TID251 - the bench's own switch
    or (50_000 if SMOKE else 50_000_000)
)
HOURS = 8_760  # 2025, hour by hour
FIRST_SEGMENT = 9_000_001_000
CHUNK = 1_000_000
SEED = 2026
SLUG = "telraam-download-bench"
MB = 1024**2
TARGET = 0.7


def chunks() -> Any:
    """The hourly rows, segment after segment, ``CHUNK`` rows at a time (UTC hours from
    2025-01-01), as bench/datasets_query.py generates them."""
    import numpy as np
    import pyarrow as pa

    from regiohub.datasets.feeds.base import UTC_TIMESTAMP

    rng = np.random.default_rng(SEED)
    start = np.datetime64("2025-01-01T00:00", "us").astype(np.int64)
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
            "v85": pa.array(np.round(rng.uniform(25, 75, n), 1), mask=car < 0.5),
            "direction": pa.array(1 + segment % 2),
        }
        yield pa.table(list(columns.values()), names=list(columns))


def publish(folder: Path) -> tuple[Any, list[str]]:
    """The rows as version 1 of an open dataset of Kortrijk (CC BY-NC, credit to Telraam,
    as the demo's Telraam datasets): (version, its Parquet files)."""
    from django.db import transaction

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.datasets import services, storage
    from regiohub.datasets.ingest import StageWriter

    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", name="Kortrijk"
    )
    dataset = services.create_dataset(
        None,
        owner=kortrijk,
        slug=SLUG,
        title="Telraam (bench)",
        theme="TRAN",
        access="open",
        licence="CC-BY-NC-4.0",
        attribution="Telraam",
    )
    staged_folder = folder / "staged"
    staged_folder.mkdir()
    generated = chunks()
    first = next(generated)
    writer = StageWriter(staged_folder, first.schema)
    writer.write(first)
    for rows in generated:
        writer.write(rows)
    staged = writer.finish()
    schema = services.schema_from_arrow(staged.schema, time_column="hour")
    with transaction.atomic():
        version = services.publish(
            dataset,
            staged,
            mode="replace",
            schema=schema,
            primary_key=[],
            actor_label="bench",
            summary=f"{ROWS} generated rows",
        )
    shutil.rmtree(staged_folder, ignore_errors=True)
    assert version is not None and version.row_count == ROWS, version
    return version, storage.files(dataset.storage_key, version.delta_version)


def peak_mb(pid: int) -> float:
    """VmHWM (the peak resident memory) of process ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def group_members(group: int) -> list[int]:
    """The processes of process group ``group`` (the server's master and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # after ")": state, ppid, pgrp
            found.append(int(entry.name))
    return found


def fetch(session: Any, address: str, keep: Path | None) -> dict[str, Any]:
    """One download, read in 1 MB chunks: seconds, bytes, SHA-256 and line count; the body
    written to ``keep`` when given."""
    digest = hashlib.sha256()
    size = lines = 0
    started = time.perf_counter()
    with session.get(address, stream=True, timeout=3600) as response:
        response.raise_for_status()
        out = keep.open("wb") if keep else None
        try:
            for chunk in response.iter_content(MB):
                digest.update(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
                if out:
                    out.write(chunk)
        finally:
            if out:
                out.close()
        headers = dict(response.headers)
    return {
        "seconds": time.perf_counter() - started,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "lines": lines,
        "headers": headers,
    }


RAW = """
import json, sys, time
from pathlib import Path
import duckdb
files, target, kind = json.loads(sys.argv[1])
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
options = "(HEADER)" if kind == "csv" else "(FORMAT parquet)"
con.execute(f"COPY (SELECT * FROM read_parquet({files!r})) TO '{target}' {options}")
seconds = time.perf_counter() - started
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "bytes": Path(target).stat().st_size, "peak_mb": peak}))
"""


def raw_duckdb(files: list[str], target: Path, kind: str) -> dict[str, Any]:
    """Raw DuckDB's COPY of the same files, in a child process (its own peak memory)."""
    plain = [f.removeprefix("file://") for f in files]
    command = [sys.executable, "-c", RAW, json.dumps([plain, str(target), kind])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"raw DuckDB failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    target.unlink(missing_ok=True)
    return result


def main() -> None:
    import pyarrow.parquet as pq
    import requests

    folder = Path(tempfile.mkdtemp(prefix="regiohub-bench-download-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "data").mkdir()
    url = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["REGIOHUB_DATA_DIR"] = str(folder / "data")
    os.environ["REGIOHUB_DATASETS_URI"] = str(folder / "tables")
    os.environ["DATABASE_URL"] = url
    os.environ["REGIOHUB_DATASETS_DOWNLOAD_RATE"] = "100000000/hour"  # one client
    os.environ["REGIOHUB_DATASETS_DOWNLOAD_CACHE_MB"] = str(1024 * 1024)  # keep both files

    print(f"Downloads of a whole version of {ROWS:,} hourly Telraam rows, CSV and Parquet")
    setup_django()
    from django.db import connections

    started = time.perf_counter()
    _version, files = publish(folder)
    size = sum(Path(f.removeprefix("file://")).stat().st_size for f in files)
    print(
        f"generated and published through services.publish in "
        f"{time.perf_counter() - started:.1f} s: {len(files)} Parquet files, {size / MB:,.1f} MB",
        flush=True,
    )
    connections.close_all()  # SQLite: no open connection of ours next to the server's

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    server = start_server(url, port, log, workers=1, threads=2)
    results: dict[str, dict[str, Any]] = {}
    try:
        boot = wait_until_up(server, f"{base}/api/v1/datasets/{SLUG}/", log)
        print(f"regiohub serve up in {boot:.1f} s", flush=True)
        session = requests.Session()
        for _ in range(4):  # warm-up, not counted: each server thread's DuckDB connection
            session.get(f"{base}/api/v1/datasets/{SLUG}/rows/?limit=1", timeout=60)
        for fmt in ("csv", "parquet"):
            address = f"{base}/data/{SLUG}/download/?format={fmt}&version=1"
            keep = folder / f"ours.{fmt}" if fmt == "parquet" else None
            first = fetch(session, address, keep)
            second = fetch(session, address, None)
            assert first["sha256"] == second["sha256"], f"{fmt}: the cached file differs"
            assert first["headers"]["ETag"] == second["headers"]["ETag"]
            assert 'rel="license"' in first["headers"].get("Link", ""), first["headers"]
            if fmt == "csv":
                assert first["lines"] == ROWS + 1, first["lines"]
            else:
                assert keep is not None
                footer = pq.read_metadata(keep)
                assert footer.num_rows == ROWS, footer.num_rows
                assert footer.metadata[b"licence"] == b"CC-BY-NC-4.0"
                keep.unlink()
            results[fmt] = {"built": first, "cached": second}
            print(
                f"{fmt}: built in {first['seconds']:.2f} s, from the cache in "
                f"{second['seconds']:.2f} s ({first['bytes'] / MB:,.1f} MB, same bytes)",
                flush=True,
            )
        workers = [pid for pid in group_members(server.pid) if pid != server.pid]
        server_peak = max((peak_mb(pid) for pid in workers), default=0.0)
        kept = list((folder / "data" / "downloads").rglob("v1-*"))
    finally:
        stop_server(server)

    raw = {fmt: raw_duckdb(files, folder / f"raw.{fmt}", fmt) for fmt in ("csv", "parquet")}
    rows = []
    ratios = {}
    for fmt in ("csv", "parquet"):
        reference = ROWS / raw[fmt]["seconds"]
        for label, said in (("built", "first request (built)"), ("cached", "second (cached)")):
            found = results[fmt][label]
            speed = ROWS / found["seconds"]
            ratios[(fmt, label)] = speed / reference
            rows.append(
                [
                    f"ours {fmt.upper()}, {said}",
                    f"{found['seconds']:.2f}",
                    f"{found['bytes'] / MB:,.1f}",
                    f"{found['bytes'] / MB / found['seconds']:,.0f}",
                    f"{speed:,.0f}",
                    f"{ratios[(fmt, label)]:.2f}x",
                ]
            )
        rows.append(
            [
                f"raw DuckDB COPY TO {fmt.upper()}",
                f"{raw[fmt]['seconds']:.2f}",
                f"{raw[fmt]['bytes'] / MB:,.1f}",
                f"{raw[fmt]['bytes'] / MB / raw[fmt]['seconds']:,.0f}",
                f"{reference:,.0f}",
                "1.00x",
            ]
        )
    print()
    print(f"{ROWS:,} rows over HTTP (regiohub serve, 1 worker x 2 threads) and raw DuckDB")
    print(table(["path", "seconds", "MB", "MB/s", "rows/s", "vs raw DuckDB"], rows))
    print()
    print(f"files kept in the download cache: {len(kept)}")
    print(
        f"peak memory: server worker {server_peak:,.0f} MB (VmHWM, Django included); raw "
        f"DuckDB {raw['csv']['peak_mb']:,.0f} MB (CSV), {raw['parquet']['peak_mb']:,.0f} MB "
        "(Parquet)"
    )
    if SMOKE:
        print("(smoke size: fixed costs weigh on the first request; judge ratios at full size)")
    for fmt in ("csv", "parquet"):
        ratio = ratios[(fmt, "built")]
        verdict = "meets" if ratio >= TARGET else "below"
        print(
            f"{fmt.upper()} built on the first request: {ratio:.2f}x raw DuckDB "
            f"({verdict} the {TARGET}x target); from the cache: {ratios[(fmt, 'cached')]:.2f}x"
        )


if __name__ == "__main__":
    main()
