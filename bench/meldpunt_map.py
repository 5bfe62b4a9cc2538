"""How fast does the public map answer a view, on a year of reports?

For SQLite (temp file, WAL) and PostgreSQL, each in its own process on a throwaway
database: load a year of reports (1,000,000; BENCH_SMOKE=1: 2,000; BENCH_MAP_ROWS overrides)
with the inbox benchmark's generator (about 5.6% still open, the demo subjects, noise blurred
to 100 m squares, questions and waste collection not on the map), then time, without the
answer cache:

* ``answer()`` for random views: a 1280 x 800 pixel map at a random zoom (11-18) centred
  on a random point of the region, the JSON's own work (the bbox queries, blurring,
  clustering) -- the issue's "bbox query p99 < 100 ms on PostgreSQL";
* the same for the whole region (zoom 10, always clusters) and a street (zoom 18);
* ``GET /melden/kaart/meldingen.json`` through the test Client with the cache off (random
  views) and on (one view again), the first page of the list, and the list of one
  municipality.

A query whose p99 is over 100 ms gets its slowest statement explained.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import gc
import json
import math
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENGINES,
    SMOKE,
    child_arguments,
    engine_of,
    latencies_ms,
    percentile,
    region_points,
    run_per_database,
    setup_django,
    table,
)

ROWS = int(
    os.environ.get("BENCH_MAP_ROWS")  # noqa: TID251 - the bench's own switch
    or (2_000 if SMOKE else 1_000_000)
)
REPEAT = 5 if SMOKE else 300
BUDGET_S = 30.0
SLOW_MS = 100.0
SEED = 2035
WIDTH_PX, HEIGHT_PX = 1280, 800


def load(label: str, n: int, now: datetime | None = None) -> None:
    """The inbox benchmark's year of reports, written straight into the table; columns
    that generator does not know (added since) get their model default. The year ends
    ``now`` (default: this moment)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from meldpunt_inbox import _people, _rows

    from regiohub.meldpunt.models import ReferenceSequence, Report

    fields = Report._meta.concrete_fields
    columns = [f.column for f in fields]
    defaults = {
        f.column: json.dumps(v) if isinstance(v := f.get_default(), dict | list) else v
        for f in fields
    }
    sequence: dict[tuple[int, int], int] = {}
    started = time.perf_counter()
    sqlite = connection.vendor == "sqlite"
    batches = _rows(n, now or datetime.now(UTC), _people(), sequence)

    def values(row: dict[str, Any]) -> list[Any]:
        return [row[c] if c in row else defaults[c] for c in columns]

    with transaction.atomic(), connection.cursor() as cursor:
        if sqlite:
            cursor.execute("PRAGMA cache_size=-262144")
            insert = (
                f"INSERT INTO meldpunt_report ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            raw = connection.connection.cursor()
            for batch in batches:
                raw.executemany(
                    insert,
                    [
                        tuple(
                            str(v.replace(tzinfo=None)) if isinstance(v, datetime) else v
                            for v in values(row)
                        )
                        for row in batch
                    ],
                )
        else:
            with cursor.cursor.copy(
                f"COPY meldpunt_report ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row(values(row))
            for statement in connection.ops.sequence_reset_sql(no_style(), [Report]):
                cursor.execute(statement)
        ReferenceSequence.objects.bulk_create(
            ReferenceSequence(organisation_id=org, year=year, last_number=last)
            for (org, year), last in sequence.items()
        )
    loaded = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if sqlite else "VACUUM (ANALYZE)")
    connection.close()
    print(f"[{label}] loaded {n:,} reports in {loaded:.1f} s", flush=True)


def view(lat: float, lon: float, zoom: int) -> tuple[tuple[float, float, float, float], int]:
    """The bbox of a WIDTH_PX x HEIGHT_PX web map centred on (lat, lon) at ``zoom``."""
    degrees_per_px = 360 / 256 / 2**zoom
    half_w = WIDTH_PX / 2 * degrees_per_px
    half_h = HEIGHT_PX / 2 * degrees_per_px * math.cos(math.radians(lat))
    bbox = (round(lon - half_w, 5), round(lat - half_h, 5), round(lon + half_w, 5),
            round(lat + half_h, 5))  # fmt: skip
    return bbox, zoom


def explain(label: str, run: Any) -> None:
    """EXPLAIN the slowest statement of one more ``run()``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    statements = [q for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    if not statements:
        return
    slowest = max(statements, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {slowest['sql']}")
            lines = [str(row[3]) for row in cursor.fetchall()]
        else:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
            lines = [row[0] for row in cursor.fetchall()]
    print(f"    slowest ({float(slowest['time']) * 1000:.0f} ms): {slowest['sql'][:600]}")
    print("\n".join(f"    | {line}" for line in lines), flush=True)


def child(url: str, results_path: Path) -> None:
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    setup_django()
    from django.core.management import call_command
    from django.test import Client, override_settings

    from regiohub.core.demo.region import load_region
    from regiohub.meldpunt import public_map
    from regiohub.meldpunt.demo import load_categories
    from regiohub.meldpunt.views import public_map as map_views

    label = engine_of(url)
    load_region()
    load_categories()
    load(label, ROWS)
    on_map = public_map.open_on_map(public_map.catalogue().subject_ids()).count()
    print(f"[{label}] {on_map:,} reports on the public map", flush=True)

    rng = random.Random(SEED)
    centres = region_points(500, seed=SEED)
    views = [view(lat, lon, rng.randint(11, 18)) for lat, lon, _org in centres]
    results: dict[str, dict[str, float]] = {}

    def record(name: str, run: Any, note: str = "") -> None:
        gc.collect()
        samples = latencies_ms(run, REPEAT, budget_s=BUDGET_S)
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        results[name] = {"p50": p50, "p99": p99, "runs": len(samples)}
        print(f"[{label}] {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(samples)} runs{note})",
              flush=True)  # fmt: skip
        if p99 > SLOW_MS:
            explain(label, run)

    turn = iter(range(10**9))

    def random_view() -> dict[str, Any]:
        bbox, zoom = views[next(turn) % len(views)]
        return public_map.answer(bbox, zoom)

    sizes = [len(public_map.answer(*v)["features"]) for v in views[:50]]
    clustered = sum(public_map.answer(*v)["clustered"] for v in views[:50])
    record(
        "answer(), random 1280x800 view, zoom 11-18",
        random_view,
        f"; features median {sorted(sizes)[len(sizes) // 2]}, max {max(sizes)}, "
        f"{clustered} of 50 clustered",
    )
    region = view(50.80, 3.25, 10)
    whole = public_map.answer(*region)
    record(
        "answer(), the whole region (zoom 10)",
        lambda: public_map.answer(*region),
        f"; {len(whole['features'])} clusters of {whole['count']:,} reports",
    )
    street = view(50.8275, 3.2649, 18)
    record(
        "answer(), Kortrijk centre (zoom 18)",
        lambda: public_map.answer(*street),
        f"; {public_map.answer(*street)['count']} reports",
    )
    record(
        "answer(), the region, one subject (pothole)",
        lambda: public_map.answer(*region, category="pothole"),
    )

    client = Client()

    def http(bbox: tuple[float, ...], zoom: int) -> None:
        response = client.get(
            "/melden/kaart/meldingen.json",
            {"bbox": ",".join(str(v) for v in bbox), "zoom": str(zoom)},
        )
        assert response.status_code == 200, response.content[:300]
        json.loads(response.content)

    with override_settings(MELDPUNT_MAP_CACHE_SECONDS=0):
        record(
            "HTTP GET meldingen.json, random view, no cache (test Client)",
            lambda: http(*views[next(turn) % len(views)]),
        )
    map_views.forget()
    http(*region)
    record("HTTP GET meldingen.json, the region again (kept answer)", lambda: http(*region))

    call_command("collectstatic", interactive=False, verbosity=0)  # the page's manifest

    def page(params: dict[str, str]) -> None:
        response = client.get("/melden/kaart/", params)
        assert response.status_code == 200, response.status_code

    record("HTTP GET /melden/kaart/ (list, first page)", lambda: page({}))
    record("HTTP GET /melden/kaart/?municipality=MEN&page=3", lambda: page(
        {"municipality": "MEN", "page": "3"}))  # fmt: skip
    results_path.write_text(json.dumps(results))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"Public map on {ROWS:,} reports, {REPEAT} runs per question (budget {BUDGET_S:.0f} s)")
    results = run_per_database(__file__)
    engines = [e for e in ENGINES if e in results]
    names = list(next(iter(results.values()))) if results else []
    rows = [
        [name, *(f"{results[e][name]['p50']:.1f} / {results[e][name]['p99']:.1f}"
                 if name in results[e] else "-" for e in engines)]
        for name in names
    ]  # fmt: skip
    print()
    print(table(["p50 / p99 (ms)", *engines], rows))
    target = "answer(), random 1280x800 view, zoom 11-18"
    if "PostgreSQL" in results and target in results["PostgreSQL"]:
        p99 = results["PostgreSQL"][target]["p99"]
        verdict = "met" if p99 < SLOW_MS else "NOT met"
        print(
            f"target p99 < {SLOW_MS:.0f} ms on PostgreSQL (random views): {verdict} ({p99:.1f} ms)"
        )


if __name__ == "__main__":
    main()
