"""How many reports per second can the contact point take in?

For SQLite (temp file, WAL, as in production) and PostgreSQL, each in its own process on a
throwaway database:

* through the service layer, ``submit_report`` (channel web, with an e-mail address so the
  acknowledgement task is queued, no photos), one report per transaction;
* the same with the demo region's routing rules and asset layers loaded ("routing on",
  issue 19's target: 500 reports/s per core);
* the raw baseline, measured in the same run: ``Report(...).save()`` of equivalent rows
  (no routing, reference sequence, validation, history or task);
* through HTTP: ``regiohub serve`` (gunicorn, 2 workers) and a few client threads posting
  the public form at /melden/ (each thread GETs the form once for the CSRF cookie and
  token, then POSTs one new report after another; only the POSTs are timed).

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENGINES,
    SMOKE,
    child_arguments,
    engine_of,
    free_port,
    percentile,
    region_points,
    run_per_database,
    setup_django,
    start_server,
    stop_server,
    table,
    wait_until_up,
)

N = 20 if SMOKE else 2_000
POSTS = 5 if SMOKE else 400
CLIENT_THREADS = 4
SERVER_WORKERS = 2

DESCRIPTIONS = [
    "Diepe put in het fietspad, gevaarlijk bij regen.",
    "De straatlamp aan de hoek brandt al een week niet meer.",
    "Zakken afval achtergelaten naast de glasbol.",
    "Verkeersbord staat scheef na een aanrijding.",
    "Vraag over de ophaling van grofvuil in onze straat.",
]
STREETS = ["Grote Markt", "Doorniksestraat", "Kerkstraat", "Stationsplein", "Meensesteenweg"]


def _form_inputs(n: int, seed: int) -> list[dict[str, object]]:
    """What ``n`` citizens fill in: a point in the region, a subject, their e-mail."""
    from regiohub.meldpunt.demo import CATEGORIES

    codes = [row[0] for row in CATEGORIES]
    points = region_points(n, seed=seed)
    return [
        {
            "category": codes[i % len(codes)],
            "description": f"{DESCRIPTIONS[i % len(DESCRIPTIONS)]} (#{seed}-{i})",
            "latitude": lat,
            "longitude": lon,
            "organisation_id": org,
            "address": f"{STREETS[i % len(STREETS)]} {1 + i % 150}",
            "reporter_name": f"Burger {i}",
            "reporter_email": f"burger{seed}-{i}@example.org",
        }
        for i, (lat, lon, org) in enumerate(points)
    ]


def bench_service(label: str) -> float:
    from django_tasks_db.models import DBTaskResult

    from regiohub.core import geo
    from regiohub.meldpunt.models import Channel, Report
    from regiohub.meldpunt.services.filing import submit_report

    inputs = _form_inputs(N + 1, seed=1)
    geo.municipality_at(50.8275, 3.2649)  # the boundaries are prepared once per process

    def submit(row: dict[str, object]) -> None:
        submit_report(
            category_code=row["category"],
            description=row["description"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            address=row["address"],
            channel=Channel.WEB,
            reporter_name=row["reporter_name"],
            reporter_email=row["reporter_email"],
            language="nl",
            consent=True,
            client_key=secrets.token_urlsafe(24),  # the form always sends one
        )

    submit(inputs[0])  # warm-up: first queries, caches, translations
    reports, tasks = Report.objects.count(), DBTaskResult.objects.count()
    started = time.perf_counter()
    for row in inputs[1:]:
        submit(row)
    elapsed = time.perf_counter() - started
    assert Report.objects.count() - reports == N, "not every report was filed"
    # At least the acknowledgements (hand-overs queue their own mails on top).
    assert DBTaskResult.objects.count() - tasks >= N, "not every acknowledgement was queued"
    rate = N / elapsed
    print(
        f"[{label}] submit_report (service): {rate:,.0f} reports/s "
        f"({N:,} reports in {elapsed:.2f} s, {elapsed / N * 1000:.2f} ms each; "
        f"{N:,} ack tasks queued)"
    )
    return rate


def bench_raw(label: str) -> float:
    from django.utils import timezone

    from regiohub.meldpunt.models import Category, Report

    inputs = _form_inputs(N, seed=2)
    categories = {
        (c.organisation_id, c.code): c for c in Category.objects.select_related("department")
    }
    started = time.perf_counter()
    for i, row in enumerate(inputs):
        category = categories[(row["organisation_id"], row["category"])]
        now = timezone.now()
        Report(
            reference=f"RAW-{i:06d}",
            organisation_id=row["organisation_id"],
            category=category,
            department_id=category.department_id,
            channel="web",
            description=row["description"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            address=row["address"],
            reporter_name=row["reporter_name"],
            reporter_email=row["reporter_email"],
            reporter_language="nl",
            consent_at=now,
            token_salt=secrets.token_hex(16),
            token_hash=secrets.token_hex(32),
            client_key=secrets.token_urlsafe(24),
            created_at=now,
            response_due_at=now + timedelta(days=float(category.response_days)),
            resolution_due_at=now + timedelta(days=float(category.resolution_days)),
        ).save()
    elapsed = time.perf_counter() - started
    rate = N / elapsed
    print(
        f"[{label}] raw Report(...).save(): {rate:,.0f} reports/s "
        f"({N:,} rows in {elapsed:.2f} s, {elapsed / N * 1000:.2f} ms each)"
    )
    return rate


# --- HTTP ------------------------------------------------------------------------------


def _client(
    base: str,
    rows: list[dict[str, object]],
    ready: threading.Barrier,
    latencies: list[float],
    failures: list[str],
) -> None:
    """One citizen's browser: GET the form once, then POST ``rows`` one after another
    (the first one untimed, to warm up a server thread)."""
    import requests

    def post(session: requests.Session, token: str, row: dict[str, object]) -> float:
        fields = {
            "csrfmiddlewaretoken": token,
            "client_key": secrets.token_urlsafe(24),
            "category": row["category"],
            "description": row["description"],
            "latitude": str(row["latitude"]),
            "longitude": str(row["longitude"]),
            "address": row["address"],
            "municipality": "",
            "reporter_name": row["reporter_name"],
            "reporter_email": row["reporter_email"],
            "reporter_phone": "",
            "consent": "on",
        }
        # multipart/form-data, as the browser sends this form (it has a file field)
        files = {key: (None, str(value)) for key, value in fields.items()}
        started = time.perf_counter()
        response = session.post(f"{base}/melden/", files=files, allow_redirects=False, timeout=60)
        if response.status_code == 200 and 'class="place-question"' in response.text:
            # A point near a municipal border or an asset: the form asks before sending.
            # The citizen takes the first answer and sends again: one filing, two posts.
            for name, value in re.findall(
                r'type="hidden" name="(\w+)" value="([^"]*)"', response.text
            ):
                files[name] = (None, value)
            questions = re.findall(r'type="radio" name="(\w+_choice)"', response.text)
            for name in dict.fromkeys(questions):
                first = re.search(
                    rf'type="radio" name="{name}" id="[^"]*" value="([^"]*)"', response.text
                )
                files[name] = (None, first.group(1) if first else "")
            response = session.post(
                f"{base}/melden/", files=files, allow_redirects=False, timeout=60
            )
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 302 or "/melding/" not in response.headers.get("Location", ""):
            # The form's own words say why (the error summary), not the page's head.
            said = re.findall(r'<li[^>]*>\s*<a href="#[^"]*">([^<]+)</a>', response.text)
            failures.append(f"HTTP {response.status_code}: {said or response.text[:300]!r}")
        # The "thank you" message waits in a cookie for the page we do not follow.
        session.cookies.set("messages", None)
        return took

    try:
        with requests.Session() as session:
            form = session.get(f"{base}/melden/", timeout=30)
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            if found is None:
                raise RuntimeError(f"no CSRF token in the form (HTTP {form.status_code})")
            post(session, found.group(1), rows[0])
            ready.wait(timeout=300)
            for row in rows[1:]:
                latencies.append(post(session, found.group(1), row))
    except Exception as exc:
        failures.append(repr(exc))
        ready.abort()  # nobody waits for this thread at the start line


def bench_http(label: str, url: str, data_dir: Path) -> dict[str, float]:
    from django.db import connections

    from regiohub.meldpunt.models import Report

    inputs = _form_inputs(POSTS + CLIENT_THREADS, seed=3)  # one warm-up post per thread
    before = Report.objects.count()
    connections.close_all()  # SQLite: no open connection of ours next to the server's
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    server = start_server(url, port, log, workers=SERVER_WORKERS)
    try:
        boot = wait_until_up(server, f"{base}/melden/", log)
        ready = threading.Barrier(CLIENT_THREADS + 1)
        latencies: list[float] = []
        failures: list[str] = []
        threads = [
            threading.Thread(
                target=_client,
                args=(base, inputs[i::CLIENT_THREADS], ready, latencies, failures),
            )
            for i in range(CLIENT_THREADS)
        ]
        for thread in threads:
            thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: see below
            ready.wait(timeout=300)
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        stop_server(server)
    if failures:
        raise RuntimeError(
            f"{len(failures)} of {len(inputs)} posts failed, first: {failures[0]}\n"
            f"server log:\n{log.read_text()[-3000:]}"
        )
    created = Report.objects.count() - before
    assert created == len(inputs), f"{created} reports created by {len(inputs)} posts"
    assert len(latencies) == POSTS
    result = {
        "rate": POSTS / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }
    print(
        f"[{label}] HTTP POST /melden/ (regiohub serve, {SERVER_WORKERS} workers x 4 threads; "
        f"{CLIENT_THREADS} client threads): {result['rate']:,.1f} requests/s, "
        f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms "
        f"({POSTS} posts, all 302 and filed; server up in {boot:.1f} s)"
    )
    return result


def child(url: str, results: Path) -> None:
    import json

    setup_django()
    from django.db import connection

    from regiohub.core.demo.region import load_region
    from regiohub.meldpunt.demo import load_categories

    label = engine_of(url)
    load_region()
    load_categories()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
        print(f"[{label}] journal_mode={mode}, file {connection.settings_dict['NAME']}")
    else:
        version = f"{connection.pg_version // 10000}.{connection.pg_version % 10000}"
        print(f"[{label}] server {version}, database {connection.settings_dict['NAME']}")
    service = bench_service(label)
    raw = bench_raw(label)
    print(
        f"[{label}] service/raw ratio: {service / raw:.2f} "
        f"(a filed report costs {raw / service:.1f}x a bare row)"
    )
    http = bench_http(label, url, Path(os.environ["REGIOHUB_DATA_DIR"]))
    # Routing on: the demo region's owners, layers and rules (a fifth of the reports are
    # then handed over to an external body at once, as in the region).
    from regiohub.meldpunt.demo.reports import load_reference_data
    from regiohub.meldpunt.demo.routing import load_routing

    load_reference_data()
    load_routing()
    routed = bench_service(f"{label}, routing on")
    results.write_text(json.dumps({"service": service, "raw": raw, "http": http, "routed": routed}))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"Reports filed per second (N={N:,} service and raw, {POSTS} HTTP posts)")
    results = run_per_database(__file__)
    engines = [e for e in ENGINES if e in results]
    rows = [
        ["submit_report (reports/s)", *(f"{results[e]['service']:,.0f}" for e in engines)],
        [
            "submit_report, routing on (reports/s)",
            *(f"{results[e]['routed']:,.0f}" for e in engines),
        ],
        ["raw Report.save() (reports/s)", *(f"{results[e]['raw']:,.0f}" for e in engines)],
        [
            "service/raw ratio",
            *(f"{results[e]['service'] / results[e]['raw']:.2f}" for e in engines),
        ],
        [
            "HTTP POST /melden/ (requests/s)",
            *(f"{results[e]['http']['rate']:,.1f}" for e in engines),
        ],
        ["HTTP POST p50 (ms)", *(f"{results[e]['http']['p50']:.1f}" for e in engines)],
        ["HTTP POST p99 (ms)", *(f"{results[e]['http']['p99']:.1f}" for e in engines)],
    ]
    print()
    print(table(["", *engines], rows))


if __name__ == "__main__":
    main()
