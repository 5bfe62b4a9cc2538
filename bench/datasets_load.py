"""How fast does a data steward's CSV upload become a dataset version, and does a file
larger than memory load too?

Generates a Telraam-shaped CSV as a Belgian export looks (``;`` delimiter, decimal commas,
``31/12/2025 14:00`` local Belgian times, 14 columns: segment_id, hour, uptime, the counts
per mode and per direction, v85, direction) of 10,000,000 rows (BENCH_SMOKE=1: 20,000;
BENCH_DATASETS_ROWS overrides): one year of hours per segment, segment after segment,
every decimal with a comma (so the first 10,000 values tell the type), v85 empty when no
car passed. The file stays under the 1 GiB upload limit.

Then the real load path, on SQLite (Django's metadata in a throwaway database, the tables
in a temp ``REGIOHUB_DATASETS_URI``), as a data steward of an organisation runs it:
``services.start_upload`` (the file copied into the uploads folder), the ``inspect_load``
task, ``services.confirm`` with the inferred columns and the key (segment_id, hour) (mode
replace) and the ``run_load`` task. The tasks run as the worker runs them, through
``regiohub.core.testing.run_tasks`` (django-tasks' database backend, claimed and run in
this process). The phases inside the tasks are timed by wrapping ``ingest.read_raw``,
``ingest.survey``, ``ingest.infer_schema``, ``ingest.convert``, ``services._stage`` and
``storage.write`` with timers (nothing else changes): a file larger than
``REGIOHUB_DATASETS_STREAM_MB`` (256 MB) is read in batches (ADR 0024): the inspect task
surveys it (``survey``) and the load task reads, converts and checks it batch by batch
into a staged file (``stage``, ``convert`` inside it) before the Delta write; a smaller
file is read whole (``read``, ``infer``, ``convert``). Rows/s per phase and overall, and
the peak memory of the process (VmHWM, else ``ru_maxrss``).

Then the steward's next step: January of every segment uploaded again with a correction
(one car more on the 15th; ISO times, decimal points), loaded by "add and update by key"
(segment_id, hour): rows/s of the load task (read, convert, working out what changes,
the Delta merge of the changed rows), and the counts it published; twice. (The doubled
autumn hour of the local times is read as summer time the first time a segment has it and
winter time the second, so the first load holds every key once and both upserts merge
only the changed rows.)

The floor, in a child process (its own peak memory) on the same file: ``pyarrow.csv`` with
explicit options (delimiter, decimal comma, the timestamp format, the column types), the
local times made UTC, and ``deltalake.write_deltalake``. Printed: ours/raw.

Then a file larger than memory: the same CSV at BENCH_DATASETS_BIG_GB gigabytes (default
5; BENCH_SMOKE=1: 5 MB), generated in the temp folder and removed afterwards, loaded the
same way (keyed, replace) in a child process of its own (so the first phases' peak memory
does not count; ``REGIOHUB_DATASETS_UPLOAD_MB`` raised to let it in), beside raw pyarrow
*streaming* of the same file in another child: ``pyarrow.csv.open_csv`` told everything,
each batch's local times made UTC, the batches written by ``write_deltalake``. Printed:
rows/s of both, ours/raw, and the peak memory (VmHWM) of both. Targets: ours at least
0.5x raw, peak under 1 GB.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run; BENCH_DATASETS_ROWS overrides the size.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, setup_django, table

ROWS = int(
    os.environ.get("BENCH_DATASETS_ROWS")  # noqa: TID251 - the bench's own switch
    or (20_000 if SMOKE else 10_000_000)
)
HOURS = 8_760  # 2025, hour by hour
FIRST_SEGMENT = 9_000_001_000
CHUNK = 1_000_000
SEED = 2026
COLUMNS = [
    "segment_id", "hour", "uptime", "heavy", "car", "bike", "pedestrian", "night",
    "car_lft", "car_rgt", "bike_lft", "bike_rgt", "v85", "direction",
]  # fmt: skip
TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M"
UPLOAD_LIMIT = 1024**3  # DATASETS_UPLOAD_MB (also the most a .zip or .gz unpacks into)
BIG_GB = float(
    os.environ.get("BENCH_DATASETS_BIG_GB")  # noqa: TID251 - the bench's own switch
    or (0.005 if SMOKE else 5)
)
KEY = ["segment_id", "hour"]


def _rss_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM (ru_maxrss survives exec, so a
    child started by a big parent would report the parent's peak), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


# --- The file ---------------------------------------------------------------------------


def _comma(tenths: Any, decimals: int = 1) -> Any:
    """Non-negative integers in units of 10**-decimals as Belgian decimals ("12,3")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    scale = 10**decimals
    whole = pa.array(tenths // scale).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(tenths % scale).cast(pa.string()), decimals, "0")
    return pc.binary_join_element_wise(whole, fraction, ",")


def generate_csv(path: Path, rows: int) -> None:
    """``rows`` hourly Telraam rows, segment after segment, as a Belgian CSV export."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(SEED)
    start = np.datetime64("2025-01-01T00:00", "us").astype(np.int64)
    schema = pa.schema([(name, pa.string()) for name in COLUMNS])
    # The header unquoted, as a spreadsheet writes it (pyarrow would quote it).
    options = pa_csv.WriteOptions(delimiter=";", quoting_style="none", include_header=False)
    with (
        path.open("wb") as out,
        pa_csv.CSVWriter(out, schema, write_options=options) as writer,
    ):
        out.write((";".join(COLUMNS) + "\n").encode())
        for begin in range(0, rows, CHUNK):
            index = np.arange(begin, min(rows, begin + CHUNK), dtype=np.int64)
            n = len(index)
            segment = index // HOURS
            hour_of_year = index % HOURS
            hour_of_day = (hour_of_year + 1) % 24  # about Belgian time
            # A daily profile (two peaks), a size per segment, noise.
            profile = (
                0.15
                + np.exp(-((hour_of_day - 8) ** 2) / 4)
                + np.exp(-((hour_of_day - 17) ** 2) / 6)
            )
            size = 40 + (segment * 7919 % 400)
            car = (profile * size * rng.uniform(0.6, 1.4, n) * 10).astype(np.int64)
            heavy = car // 12 + rng.integers(0, 20, n)
            bike = (profile * (size / 5) * rng.uniform(0.3, 1.7, n) * 10).astype(np.int64)
            pedestrian = (profile * 30 * rng.uniform(0, 1, n) * 10).astype(np.int64)
            night = np.where((hour_of_day < 6) | (hour_of_day > 21), car // 3, 0)
            car_lft = car * rng.integers(30, 70, n) // 100
            bike_lft = bike * rng.integers(30, 70, n) // 100
            uptime = rng.integers(50, 100, n)
            v85 = pa.array(rng.integers(250, 750, n))
            v85_text = pc.if_else(
                pa.array(car < 5), pa.scalar(None, pa.string()), _comma(v85.to_numpy())
            )
            moments = pa.array(start + hour_of_year * 3_600_000_000, pa.timestamp("us", "UTC"))
            local = pc.strftime(
                moments.cast(pa.timestamp("us", "Europe/Brussels")), TIMESTAMP_FORMAT
            )
            batch = pa.record_batch(
                [
                    pa.array(FIRST_SEGMENT + segment).cast(pa.string()),
                    local,
                    _comma(uptime, 2),
                    _comma(heavy),
                    _comma(car),
                    _comma(bike),
                    _comma(pedestrian),
                    _comma(night),
                    _comma(car_lft),
                    _comma(car - car_lft),
                    _comma(bike_lft),
                    _comma(bike - bike_lft),
                    v85_text,
                    pa.array(1 + segment % 2).cast(pa.string()),
                ],
                schema=schema,
            )
            writer.write_batch(batch)


# --- The floor: pyarrow + deltalake, told everything -----------------------------------


def raw_load(csv_path: Path, table_dir: Path) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    from deltalake import write_deltalake

    types = {name: pa.float64() for name in COLUMNS}
    types.update(segment_id=pa.int64(), direction=pa.int64(), hour=pa.timestamp("us"))
    started = time.perf_counter()
    rows = pa_csv.read_csv(
        csv_path,
        read_options=pa_csv.ReadOptions(block_size=16 * 1024**2),
        parse_options=pa_csv.ParseOptions(delimiter=";"),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, decimal_point=",", timestamp_parsers=[TIMESTAMP_FORMAT]
        ),
    )
    local = pc.assume_timezone(
        rows["hour"], "Europe/Brussels", ambiguous="earliest", nonexistent="earliest"
    )
    rows = rows.set_column(1, "hour", local.cast(pa.timestamp("us", "UTC")))
    read = time.perf_counter() - started
    started = time.perf_counter()
    write_deltalake(str(table_dir), rows, mode="overwrite")
    write = time.perf_counter() - started
    return {"rows": rows.num_rows, "read": read, "write": write, "rss_mb": _rss_mb()}


def raw_stream(csv_path: Path, table_dir: Path) -> dict[str, float]:
    """Raw pyarrow streaming: ``open_csv`` (pyarrow's block size) told everything, the
    local times of each batch made UTC, the batches written by ``write_deltalake``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    from deltalake import write_deltalake

    types = {name: pa.float64() for name in COLUMNS}
    types.update(segment_id=pa.int64(), direction=pa.int64(), hour=pa.timestamp("us"))
    started = time.perf_counter()
    reader = pa_csv.open_csv(
        csv_path,
        parse_options=pa_csv.ParseOptions(delimiter=";"),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, decimal_point=",", timestamp_parsers=[TIMESTAMP_FORMAT]
        ),
    )
    position = reader.schema.get_field_index("hour")
    schema = reader.schema.set(position, pa.field("hour", pa.timestamp("us", "UTC")))
    count = 0

    def batches() -> Any:
        nonlocal count
        for batch in reader:
            local = pc.assume_timezone(
                batch["hour"], "Europe/Brussels", ambiguous="earliest", nonexistent="earliest"
            )
            count += batch.num_rows
            yield batch.set_column(position, "hour", local.cast(pa.timestamp("us", "UTC")))

    write_deltalake(
        str(table_dir), pa.RecordBatchReader.from_batches(schema, batches()), mode="overwrite"
    )
    return {"rows": count, "seconds": time.perf_counter() - started, "rss_mb": _rss_mb()}


def child(*arguments: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """This script run with ``arguments`` in a child process (its own peak memory); what
    it printed last, as JSON."""
    out = subprocess.run(  # noqa: S603
        [sys.executable, __file__, *arguments],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_raw(csv_path: Path, folder: Path) -> dict[str, float]:
    """The floor in a child process, so its peak memory is its own."""
    out = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--raw", str(csv_path), str(folder / "raw-table")],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- Ours --------------------------------------------------------------------------------


class Phases:
    """Seconds spent in wrapped functions, per name, in call order."""

    def __init__(self) -> None:
        self.spent: list[tuple[str, float]] = []

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent.append((name, time.perf_counter() - started))

        setattr(owner, attribute, timed)

    def take(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for name, seconds in self.spent:
            found[name] = found.get(name, 0.0) + seconds
        self.spent = []
        return found


def steward() -> tuple[Any, Any]:
    from regiohub.core.models import Membership, Organisation, User
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.core.roles import Role

    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", name="Kortrijk"
    )
    user = User.objects.create_user("steward.kor@bench.example.org", full_name="Data Steward")
    Membership.objects.create(user=user, organisation=kortrijk, role=Role.DATA_STEWARD)
    return kortrijk, user


def our_load(csv_path: Path, rows: int = ROWS) -> dict[str, Any]:
    from django.core.files.uploadedfile import UploadedFile

    from regiohub.core.testing import run_tasks
    from regiohub.datasets import ingest, services, storage
    from regiohub.datasets.tasks import run_load

    phases = Phases()
    phases.wrap(ingest, "read_raw", "read")
    phases.wrap(ingest, "survey", "survey")
    phases.wrap(ingest, "infer_schema", "infer")
    phases.wrap(ingest, "convert", "convert")
    phases.wrap(services, "_stage", "stage")
    phases.wrap(storage, "write", "delta write")

    owner, user = steward()
    dataset = services.create_dataset(
        user, owner=owner, slug="telraam-bench", title="Telraam (bench)", theme="TRAN"
    )
    begun = time.perf_counter()
    with csv_path.open("rb") as file:
        upload = UploadedFile(file, name="telraam.csv", size=csv_path.stat().st_size)
        load = services.start_upload(dataset, user, upload)
    copied = time.perf_counter() - begun

    started = time.perf_counter()
    run_tasks()
    inspect_s = time.perf_counter() - started
    inspect_phases = phases.take()
    load.refresh_from_db()
    assert load.state == "review", f"{load.state}: {load.message}"
    inferred = {c["key"]: c["type"] for c in load.schema}

    started = time.perf_counter()
    services.confirm(load, user, columns=load.schema, primary_key=KEY, mode="replace")
    run_load.call(load.pk)  # what the worker runs: the version is published when it returns
    load_s = time.perf_counter() - started
    load_phases = phases.take()
    overall = time.perf_counter() - begun
    started = time.perf_counter()
    run_tasks()  # the queued copy of run_load (nothing left to do) and the statistics
    stats_s = time.perf_counter() - started
    load.refresh_from_db()
    assert load.state == "done", f"{load.state}: {load.message} {load.errors[:3]}"
    assert load.version.row_count == rows, load.version.row_count
    return {
        "dataset": dataset,
        "user": user,
        "copy": copied,
        "inspect": inspect_s,
        "inspect_phases": inspect_phases,
        "load": load_s,
        "load_phases": load_phases,
        "overall": overall,
        "stats": stats_s,
        "types": inferred,
        "rss_mb": _rss_mb(),
    }


def corrected_month_csv(dataset: Any, path: Path, day: int) -> int:
    """January of every segment as the dataset holds it, one car more on ``day``, as a
    CSV with ISO times in UTC and decimal points; its number of rows."""
    from datetime import UTC, datetime

    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    from regiohub.datasets import storage

    version = dataset.current_version
    january = (
        storage.open_table(dataset.storage_key, version.delta_version)
        .to_pyarrow_dataset()
        .to_table(filter=pc.field("hour") < datetime(2025, 2, 1, tzinfo=UTC))
    )
    corrected = pc.equal(pc.day(january["hour"]), day)
    car = pc.if_else(corrected, pc.add(january["car"], 1.0), january["car"])
    january = january.set_column(january.schema.get_field_index("car"), "car", car)
    hour = pc.strftime(january["hour"], "%Y-%m-%dT%H:%M:%SZ")
    january = january.set_column(1, "hour", hour)
    pa_csv.write_csv(january, path)
    return january.num_rows


def our_upsert(dataset: Any, user: Any, folder: Path, day: int) -> dict[str, Any]:
    """The corrected month, uploaded and loaded by key, timed like the first load."""
    from django.core.files.uploadedfile import UploadedFile

    from regiohub.core.testing import run_tasks
    from regiohub.datasets import changes, ingest, services, storage
    from regiohub.datasets.tasks import run_load

    path = folder / f"january-corrected-{day}.csv"
    rows = corrected_month_csv(dataset, path, day)
    phases = Phases()
    phases.wrap(ingest, "read_raw", "read")
    phases.wrap(ingest, "convert", "convert")
    phases.wrap(changes, "compute", "changes")
    phases.wrap(storage, "write", "delta write")
    with path.open("rb") as file:
        upload = UploadedFile(file, name=path.name, size=path.stat().st_size)
        load = services.start_upload(dataset, user, upload)
    run_tasks()
    load.refresh_from_db()
    assert load.state == "review", f"{load.state}: {load.message}"
    phases.take()
    key = ["segment_id", "hour"]
    started = time.perf_counter()
    services.confirm(load, user, columns=load.schema, primary_key=key, mode="upsert")
    run_load.call(load.pk)
    seconds = time.perf_counter() - started
    spent = phases.take()
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", f"{load.state}: {load.message} {load.errors[:3]}"
    version = load.version
    # The doubled autumn hour was read as summer time, then winter time: every key once.
    assert version.rows_added == 0 and version.rows_removed == 0, version.rows_removed
    assert version.row_count == version.rows_updated + version.rows_unchanged
    return {
        "rows": rows,
        "seconds": seconds,
        "phases": spent,
        "counts": {
            "added": version.rows_added,
            "updated": version.rows_updated,
            "unchanged": version.rows_unchanged,
            "removed": version.rows_removed,
        },
    }


def big_load(csv_path: Path, rows: int) -> dict[str, Any]:
    """The big file through the real path, in this (child) process: Django on its own
    throwaway database and folders (set by the parent)."""
    setup_django()
    found = our_load(csv_path, rows)
    return {
        key: found[key]
        for key in ("copy", "inspect", "inspect_phases", "load", "load_phases", "rss_mb")
    }


def run_big(folder: Path, bytes_per_row: float) -> None:
    """A file of BIG_GB gigabytes: ours and raw pyarrow streaming, each in a child."""
    path = folder / "telraam-big.csv"
    rows = max(1000, int(BIG_GB * 1024**3 / bytes_per_row))
    print(f"\nA file larger than memory: {rows:,} rows (about {BIG_GB:g} GB)", flush=True)
    started = time.perf_counter()
    generate_csv(path, rows)
    size = path.stat().st_size
    print(
        f"generated {size / 1024**2:,.0f} MB in {time.perf_counter() - started:.1f} s", flush=True
    )
    big = folder / "big"
    (big / "data").mkdir(parents=True)
    env = {
        **os.environ,
        "REGIOHUB_DATA_DIR": str(big / "data"),
        "REGIOHUB_DATASETS_URI": str(big / "tables"),
        "DATABASE_URL": f"sqlite:///{big}/bench.sqlite3",
        "REGIOHUB_DATASETS_UPLOAD_MB": str(max(1024, size // 1024**2 + 1)),
        "REGIOHUB_DATASETS_STREAM_MB": "0",  # in batches, also at a smoke test's size
    }
    try:
        ours = child("--big", str(path), str(rows), env=env)
        shutil.rmtree(big / "tables", ignore_errors=True)
        raw = child("--raw-stream", str(path), str(folder / "raw-big-table"))
        shutil.rmtree(folder / "raw-big-table", ignore_errors=True)
    finally:
        path.unlink(missing_ok=True)
    assert raw["rows"] == rows, raw["rows"]
    ins, lod = ours["inspect_phases"], ours["load_phases"]

    def rate(seconds: float) -> str:
        return f"{rows / seconds:,.0f}" if seconds > 0 else "-"

    rest = ours["load"] - lod.get("stage", 0.0) - lod.get("delta write", 0.0)
    print(
        table(
            ["phase", "ours (s)", "ours rows/s", "raw (s)", "raw rows/s", "ours/raw"],
            [
                ["upload (file copied)", f"{ours['copy']:.1f}", rate(ours["copy"]), "", "", ""],
                [
                    "inspect task (survey: every row read)",
                    f"{ours['inspect']:.1f}",
                    rate(ours["inspect"]),
                    "",
                    "",
                    "",
                ],
                [
                    "load task (upload to version)",
                    f"{ours['load']:.1f}",
                    rate(ours["load"]),
                    f"{raw['seconds']:.1f}",
                    rate(raw["seconds"]),
                    f"{raw['seconds'] / ours['load']:.2f}x",
                ],
                [
                    "  read, convert, check, stage",
                    f"{lod.get('stage', 0.0):.1f}",
                    rate(lod.get("stage", 0.0)),
                    "",
                    "",
                    "",
                ],
                [
                    "    of which convert",
                    f"{lod.get('convert', 0.0):.1f}",
                    rate(lod.get("convert", 0.0)),
                    "",
                    "",
                    "",
                ],
                [
                    "  Delta write (from the staged file)",
                    f"{lod.get('delta write', 0.0):.1f}",
                    rate(lod.get("delta write", 0.0)),
                    "",
                    "",
                    "",
                ],
                ["  rest (publish, records)", f"{rest:.1f}", "", "", "", ""],
                [
                    "peak memory (MB, VmHWM)",
                    f"{ours['rss_mb']:,.0f}",
                    "",
                    f"{raw['rss_mb']:,.0f}",
                    "",
                    "",
                ],
            ],
        )
    )
    print(
        f"ours/raw (load task rows/s): {raw['seconds'] / ours['load']:.2f}x (target >= 0.5x); "
        f"peak memory {ours['rss_mb']:,.0f} MB (target < 1,024 MB); "
        f"inspect {ins.get('survey', 0.0):.1f} s"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--raw":
        print(json.dumps(raw_load(Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--raw-stream":
        print(json.dumps(raw_stream(Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--big":
        print(json.dumps(big_load(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    folder = Path(tempfile.mkdtemp(prefix="regiohub-bench-datasets-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["REGIOHUB_DATA_DIR"] = str(folder / "data")
    os.environ["REGIOHUB_DATASETS_URI"] = str(folder / "tables")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    (folder / "data").mkdir()
    csv_path = folder / "telraam.csv"

    print(f"Loading a Telraam-shaped CSV of {ROWS:,} rows ({len(COLUMNS)} columns)", flush=True)
    started = time.perf_counter()
    generate_csv(csv_path, ROWS)
    size = csv_path.stat().st_size
    print(
        f"generated {size / 1024**2:,.0f} MB in {time.perf_counter() - started:.1f} s; "
        f"first lines:\n  " + "\n  ".join(csv_path.open().read(400).splitlines()[:3]),
        flush=True,
    )
    if size > UPLOAD_LIMIT:
        raise SystemExit(f"the file is larger than the 1 GiB upload limit ({size:,} bytes)")

    setup_django()
    ours = our_load(csv_path)
    print(f"inferred types: {ours['types']}", flush=True)
    raw = run_raw(csv_path, folder)

    ins, lod = ours["inspect_phases"], ours["load_phases"]
    raw_total = raw["read"] + raw["write"]

    def rate(seconds: float) -> str:
        return f"{ROWS / seconds:,.0f}" if seconds > 0 else "-"

    if "stage" in lod:  # read in batches (larger than REGIOHUB_DATASETS_STREAM_MB)
        inspect_rows = [
            ["  survey (every row read)", f"{ins['survey']:.2f}", rate(ins["survey"]), "", ""],
        ]
        read = lod["stage"]
        read_rows = [
            ["  read, convert, check, stage", f"{read:.2f}", rate(read), "", ""],
            ["    of which convert", f"{lod['convert']:.2f}", rate(lod["convert"]), "", ""],
        ]
    else:
        inspect_rows = [
            ["  read (CSV to text columns)", f"{ins['read']:.2f}", rate(ins["read"]), "", ""],
            ["  infer schema", f"{ins['infer']:.2f}", rate(ins["infer"]), "", ""],
        ]
        read = lod["read"] + lod["convert"]
        read_rows = [
            ["  read again", f"{lod['read']:.2f}", rate(lod["read"]), "", ""],
            ["  convert (typed, checked)", f"{lod['convert']:.2f}", rate(lod["convert"]), "", ""],
        ]
    rows = [
        ["upload (file copied)", f"{ours['copy']:.2f}", rate(ours["copy"]), "", ""],
        ["inspect task", f"{ours['inspect']:.2f}", rate(ours["inspect"]), "", ""],
        *inspect_rows,
        ["load task", f"{ours['load']:.2f}", rate(ours["load"]), "", ""],
        *read_rows,
        [
            "  read+convert vs raw read",
            f"{read:.2f}",
            rate(read),
            f"{raw['read']:.2f}",
            f"{read / raw['read']:.2f}x",
        ],
        [
            "  Delta write",
            f"{lod['delta write']:.2f}",
            rate(lod["delta write"]),
            f"{raw['write']:.2f}",
            f"{lod['delta write'] / raw['write']:.2f}x",
        ],
        [
            "  rest (publish, records)",
            f"{ours['load'] - read - lod['delta write']:.2f}",
            "",
            "",
            "",
        ],
        [
            "overall (upload to version)",
            f"{ours['overall']:.2f}",
            rate(ours["overall"]),
            f"{raw_total:.2f}",
            f"{ours['overall'] / raw_total:.2f}x",
        ],
        [
            "column statistics (a task after publishing)",
            f"{ours['stats']:.2f}",
            rate(ours["stats"]),
            "",
            "",
        ],
        ["peak memory (MB, VmHWM)", f"{ours['rss_mb']:,.0f}", "", f"{raw['rss_mb']:,.0f}", ""],
    ]
    print()
    print(f"{ROWS:,} rows, {size / 1024**2:,.0f} MB; raw = pyarrow.csv + write_deltalake")
    print(table(["phase", "ours (s)", "ours rows/s", "raw (s)", "ours/raw"], rows))

    for day in (15, 16):
        upsert = our_upsert(ours["dataset"], ours["user"], folder, day)
        month, spent = upsert["rows"], upsert["phases"]

        def per_second(seconds: float, month: int = month) -> str:
            return f"{month / seconds:,.0f}" if seconds > 0 else "-"

        print()
        print(
            f"An upsert of a corrected month (merges the changed rows): {month:,} rows "
            f"(January, every segment) by key into the {ROWS:,}; published {upsert['counts']}"
        )
        print(
            table(
                ["phase", "seconds", "rows/s"],
                [
                    ["load task", f"{upsert['seconds']:.2f}", per_second(upsert["seconds"])],
                    *(
                        [f"  {name}", f"{spent[name]:.2f}", per_second(spent[name])]
                        for name in ("read", "convert", "changes", "delta write")
                        if name in spent
                    ),
                ],
            )
        )

    run_big(folder, size / ROWS)


if __name__ == "__main__":
    main()
