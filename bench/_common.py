"""Shared helpers of the benchmarks: Django set-up on a throwaway database, timing."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SMOKE = bool(os.environ.get("BENCH_SMOKE"))  # noqa: TID251 - the bench's own switch


def setup_django() -> None:
    """Django on a fresh SQLite file (or DATABASE_URL when set), migrated."""
    if "REGIOHUB_DATA_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="regiohub-bench-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["REGIOHUB_DATA_DIR"] = folder
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regiohub.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def latencies_ms(
    func: Callable[[], object], repeat: int, budget_s: float | None = None, minimum: int = 10
) -> list[float]:
    """``repeat`` timings of ``func`` in ms; with ``budget_s``, stop early once that many
    seconds are spent and at least ``minimum`` runs are done (for slow queries)."""
    samples = []
    begun = time.perf_counter()
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
        spent = time.perf_counter() - begun
        if budget_s is not None and len(samples) >= minimum and spent > budget_s:
            break
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):.3f} ms, p99 {percentile(samples, 99):.3f} ms, "
        f"mean {statistics.fmean(samples):.3f} ms"
    )


# --- One run per database ------------------------------------------------------------
# A benchmark that compares SQLite and PostgreSQL runs itself once per database in a child
# process (Django is set up once per process), each on a throwaway database, and the parent
# prints the combined table.

#: The PostgreSQL server the benchmarks create their throwaway databases on.
PG_SERVER_URL = os.environ.get(  # noqa: TID251 - the bench's own switch
    "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"
).rstrip("/")
ENGINES = ("SQLite", "PostgreSQL")


class DatabaseUnavailable(Exception):
    """The database server to benchmark on cannot be reached."""


@contextmanager
def throwaway_database(engine: str) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards: a temp-file SQLite database
    (WAL, as in production) or ``regiohub_bench_<pid>`` on :data:`PG_SERVER_URL`."""
    if engine == "SQLite":
        folder = tempfile.mkdtemp(prefix="regiohub-bench-db-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    name = f"regiohub_bench_{os.getpid()}"
    try:
        with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"{PG_SERVER_URL}: {exc}".strip()) from exc
    try:
        yield f"{PG_SERVER_URL}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def engine_of(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


def run_per_database(script: str) -> dict[str, dict[str, Any]]:
    """Run ``script --database URL --results FILE`` in a child process for each engine,
    with DATABASE_URL and a fresh REGIOHUB_DATA_DIR; return what each child wrote (JSON).

    A child that fails fails the run; an unreachable PostgreSQL server is reported and
    skipped."""
    # Stopped (make, CI, Ctrl-C): still remove the throwaway databases and folders.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, dict[str, Any]] = {}
    for engine in ENGINES:
        try:
            with (
                throwaway_database(engine) as url,
                tempfile.TemporaryDirectory(prefix="regiohub-bench-") as data_dir,
            ):
                out = Path(data_dir) / "results.json"
                env = {**os.environ, "DATABASE_URL": url, "REGIOHUB_DATA_DIR": data_dir}
                command = [sys.executable, script, "--database", url, "--results", str(out)]
                subprocess.run(command, env=env, check=True)  # noqa: S603
                results[engine] = json.loads(out.read_text())
        except DatabaseUnavailable as exc:
            print(f"[{engine}] SKIPPED: database server not reachable ({exc})")
    return results


def child_arguments() -> tuple[str, Path] | None:
    """(database URL, results file) when this process is a per-database child, else None."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    if not args.database:
        return None
    return args.database, args.results


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def region_points(n: int, seed: int = 42) -> list[tuple[float, float, int]]:
    """``n`` random points (lat, lon, organisation id) inside the municipalities of the
    loaded region, as a map would send them (6 decimals). Needs the region loaded."""
    import random

    from shapely.geometry import shape
    from shapely.ops import unary_union

    from regiohub.core import geo
    from regiohub.core.models import Organisation

    boundaries = Organisation.objects.filter(boundary__isnull=False).values_list(
        "boundary", flat=True
    )
    min_lon, min_lat, max_lon, max_lat = unary_union([shape(b) for b in boundaries]).bounds
    rng = random.Random(seed)
    found: list[tuple[float, float, int]] = []
    while len(found) < n:
        batch = [
            (round(rng.uniform(min_lat, max_lat), 6), round(rng.uniform(min_lon, max_lon), 6))
            for _ in range(n)
        ]
        for (lat, lon), where in zip(batch, geo.municipalities_at(batch), strict=True):
            if where.organisation_id is not None:
                found.append((lat, lon, where.organisation_id))
    return found[:n]


# --- The production server, for benchmarks over HTTP ------------------------------------

#: One client address (and one API key) sends everything: lift the per-client limits.
UNLIMITED = {
    "MELDPUNT_FORM_RATE": "100000000/hour",
    "MELDPUNT_OPEN311_RATE": "100000000/hour",
    "MELDPUNT_NEARBY_RATE": "100000000/hour",
    "REGIOHUB_MELDPUNT_OPEN311_READ_RATE": "100000000/hour",
}


def start_server(
    url: str, port: int, log: Path, *, workers: int, threads: int = 4
) -> subprocess.Popen[bytes]:
    """``regiohub serve`` on ``url``'s database, in its own process group (gunicorn's
    master, its workers and collectstatic), its output in ``log``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REGIOHUB_SITE_URL": f"http://127.0.0.1:{port}",
        **UNLIMITED,
    }
    command = [
        sys.executable, "-m", "regiohub.cli", "serve", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def wait_until_up(server: subprocess.Popen[bytes], probe_url: str, log: Path) -> float:
    """Seconds until ``probe_url`` answers 200; raises with the server's log otherwise."""
    import requests

    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        if server.poll() is not None:
            raise RuntimeError(f"regiohub serve stopped:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(probe_url, timeout=5).status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.25)
    raise RuntimeError(f"regiohub serve did not answer in 120 s:\n{log.read_text()[-3000:]}")
