"""How many Open311 requests per second does the contact point answer?

For SQLite (temp file, WAL, as in production) and PostgreSQL, each in its own process on a
throwaway database: load a year of reports into the Kortrijk jurisdiction straight into
the table (50,000; BENCH_SMOKE=1: 200), create an API key with
``meldpunt_create_api_client``, start ``regiohub serve`` (gunicorn, 2 workers x 4 threads,
``MELDPUNT_OPEN311_RATE`` lifted: every post comes from one key) and let 4 client threads
(one ``requests.Session`` each) call, one kind after the other:

* ``GET requests.json?jurisdiction_id=34022&start_date=...&end_date=...``: a random 7-day
  window of the past year (with 50,000 reports about 960 results, the cap is 1,000);
* ``GET requests.json?jurisdiction_id=34022&service_request_id=KOR-...``: one report by
  its reference;
* ``POST requests.json`` (form-encoded: api_key, jurisdiction_id, service_code=pothole,
  lat/long inside Kortrijk, description, email): files one report each, answered 200 with
  its service_request_id;
* ``GET servicerequestupdates.json?jurisdiction_id=34022&start_date=...&end_date=...``: a
  random 1-day window of the past year, as an app polls (the reports' history is loaded
  too: a status change when answered, one when finished, and a message to the reporter
  for 40% of them; about 3 updates per report).

Every request is checked (status and body); a single failure fails the run. Each thread
sends one untimed request first (warm-up); throughput is the timed requests over the wall
time from the common start until the last thread is done.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run; BENCH_OPEN311_ROWS overrides the size.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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

ROWS = int(
    os.environ.get("BENCH_OPEN311_ROWS")  # noqa: TID251 - the bench's own switch
    or (200 if SMOKE else 50_000)
)
POSTS = 20 if SMOKE else 600
GET_WINDOWS = 20 if SMOKE else 400
GET_IDS = 20 if SMOKE else 2_000
GET_UPDATES = 20 if SMOKE else 400
WINDOW = timedelta(days=7)
UPDATES_WINDOW = timedelta(days=1)
CLIENT_THREADS = 4
SERVER_WORKERS = 2
SERVER_THREADS = 4
BATCH = 5_000
SEED = 311
KORTRIJK_NIS = "34022"
BRUSSELS = ZoneInfo("Europe/Brussels")
API = "/open311/v2"

# Open reports get rarer with age; the mixes of open and finished states.
OPEN_BY_AGE = [(7, 0.70), (30, 0.35), (90, 0.08), (366, 0.01)]
OPEN_STATES = ["new", "acknowledged", "in_progress", "in_progress", "on_hold", "reopened"]
DONE_STATES = ["closed"] * 8 + ["resolved", "cancelled"]
TEXTS = [
    "Diepe put in de weg ter hoogte van het kruispunt.",
    "Losliggende tegels op het voetpad, gevaarlijk voor ouderen.",
    "De straatlamp brandt niet meer sinds enkele dagen.",
    "Zakken huisvuil achtergelaten aan de glasbol.",
    "Verkeersbord staat scheef na een aanrijding.",
    "Verstopte rioolkolk, water blijft op straat staan.",
    "Kapotte zitbank in het park.",
]
STREETS = ["Grote Markt", "Doorniksestraat", "Leiekaai", "Meensesteenweg", "Stationsplein"]


# --- Loading a year of Kortrijk reports --------------------------------------------------


def kortrijk_points(n: int) -> list[tuple[float, float]]:
    """``n`` points (lat, lon) inside Kortrijk, as a map would send them."""
    from regiohub.core.models import Organisation

    kortrijk = Organisation.objects.get(nis_code=KORTRIJK_NIS).pk
    found: list[tuple[float, float]] = []
    seed = SEED
    while len(found) < n:
        found += [
            (lat, lon) for lat, lon, org in region_points(4 * n, seed=seed) if org == kortrijk
        ]
        seed += 1
    return found[:n]


def load_reports(label: str, n: int) -> list[str]:
    """``n`` valid Kortrijk reports created over the past year, bulk-inserted; return their
    references."""
    from django.db import connection, transaction

    from regiohub.core import geo
    from regiohub.core.models import Organisation
    from regiohub.meldpunt.models import Category, ReferenceSequence, Report

    rng = random.Random(SEED)
    kortrijk = Organisation.objects.get(nis_code=KORTRIJK_NIS)
    categories = list(Category.objects.filter(organisation=kortrijk))
    points = kortrijk_points(min(n, 2_000))
    districts = dict(zip(points, geo.districts_at(points), strict=True))
    now = datetime.now(UTC)
    offsets = sorted(rng.uniform(0, 365 * 86_400) for _ in range(n))
    sequence: dict[int, int] = {}
    references: list[str] = []

    def report(offset: float) -> Report:
        created = now - timedelta(days=365) + timedelta(seconds=offset)
        age = (now - created).total_seconds() / 86_400
        p_open = next(p for days, p in OPEN_BY_AGE if age < days)
        status = rng.choice(OPEN_STATES if rng.random() < p_open else DONE_STATES)
        category = rng.choice(categories)
        year = created.astimezone(BRUSSELS).year
        number = sequence[year] = sequence.get(year, 0) + 1
        reference = f"{kortrijk.code}-{year}-{number:06d}"
        references.append(reference)

        def after(days: float) -> datetime:
            return min(now, created + timedelta(days=days))

        responded = None if status == "new" else after(rng.uniform(0.05, 2.0))
        resolved = after(rng.uniform(0.5, 20)) if status in ("resolved", "closed") else None
        closed = None
        if status in ("closed", "cancelled"):
            closed = min(now, (resolved or responded or created) + timedelta(days=14))
        lat, lon = rng.choice(points)
        contact = rng.random() < 0.7
        return Report(
            reference=reference,
            organisation=kortrijk,
            category=category,
            department_id=category.department_id,
            status=status,
            channel=rng.choice(["web", "web", "phone", "email", "api"]),
            description=f"{rng.choice(TEXTS)} Melding {number}.",
            latitude=lat,
            longitude=lon,
            district_code=districts[(lat, lon)],
            address=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            reporter_email=f"burger{number}@example.org" if contact else "",
            reporter_language="nl",
            consent_at=created if contact else None,
            token_salt=f"{rng.getrandbits(128):032x}",
            token_hash=f"{rng.getrandbits(256):064x}",
            created_at=created,
            updated_at=max(t for t in (created, responded, resolved, closed) if t),
            responded_at=responded,
            resolved_at=resolved,
            closed_at=closed,
            response_due_at=created + timedelta(days=float(category.response_days)),
            resolution_due_at=created + timedelta(days=float(category.resolution_days)),
        )

    started = time.perf_counter()
    with transaction.atomic():
        for first in range(0, n, BATCH):
            Report.objects.bulk_create(
                [report(offset) for offset in offsets[first : first + BATCH]], batch_size=1_000
            )
        # The next filed report continues the numbering, as if these were filed one by one.
        ReferenceSequence.objects.bulk_create(
            ReferenceSequence(organisation=kortrijk, year=year, last_number=last)
            for year, last in sequence.items()
        )
    loaded = time.perf_counter() - started
    assert Report.objects.filter(organisation=kortrijk).count() == n
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM (ANALYZE)")
    print(
        f"[{label}] loaded {n:,} Kortrijk reports of the past year in {loaded:.1f} s "
        f"(bulk_create, {n / loaded:,.0f} rows/s)",
        flush=True,
    )
    return references


def load_history(label: str) -> int:
    """The history of the loaded reports, as the services would have written it: the
    status changes and messages ``GET servicerequestupdates`` reads. Returns the number of
    updates."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from regiohub.core.models import HistoryEntry
    from regiohub.meldpunt.models import Message, Report

    rng = random.Random(SEED + 2)
    report_type = ContentType.objects.get_for_model(Report)
    now = datetime.now(UTC)
    started = time.perf_counter()
    entries: list[HistoryEntry] = []
    messages: list[Message] = []
    places: dict[int, int] = {}

    def change(report: Any, before: str, after: str, at: datetime) -> None:
        entries.append(
            HistoryEntry(
                actor_label="Bench",
                organisation_id=report.organisation_id,
                content_type=report_type,
                object_id=str(report.pk),
                action="report.status_changed",
                before={"status": before},
                after={"status": after},
                at=min(at, now),
            )
        )

    reports = Report.objects.filter(responded_at__isnull=False).only(
        "pk", "organisation_id", "status", "responded_at", "resolved_at", "closed_at"
    )
    with transaction.atomic():
        for report in reports.iterator(chunk_size=5_000):
            change(report, "new", "acknowledged", report.responded_at)
            if report.resolved_at:
                change(report, "acknowledged", "resolved", report.resolved_at)
            if report.status not in ("acknowledged", "resolved"):
                last = "resolved" if report.resolved_at else "acknowledged"
                at = report.closed_at or report.responded_at + timedelta(hours=5)
                change(report, last, report.status, at)
            if rng.random() < 0.4:
                places[report.pk] = report.organisation_id
                messages.append(
                    Message(
                        report_id=report.pk,
                        kind="to_reporter",
                        body="Bedankt voor uw melding. Onze ploeg komt deze week langs.",
                        created_at=min(now, report.responded_at + timedelta(hours=2)),
                    )
                )
        HistoryEntry.objects.bulk_create(entries, batch_size=2_000)
        saved = Message.objects.bulk_create(messages, batch_size=2_000)
        HistoryEntry.objects.bulk_create(
            (
                HistoryEntry(
                    actor_label="Bench",
                    organisation_id=places[message.report_id],
                    content_type=report_type,
                    object_id=str(message.report_id),
                    action="report.message_sent",
                    after={"message": message.pk, "kind": "to_reporter"},
                    at=message.created_at,
                )
                for message in saved
            ),
            batch_size=2_000,
        )
    count = len(entries) + len(saved)
    print(
        f"[{label}] loaded their history: {count:,} updates in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return count


# --- The server --------------------------------------------------------------------------


# --- The clients -------------------------------------------------------------------------

#: One request: given a session, send it and return an error text (None when all is well)
#: and the number of service requests in the answer.
Call = Callable[[Any], tuple[str | None, int]]


def hammer(calls: list[Call]) -> dict[str, Any]:
    """Run ``calls`` from CLIENT_THREADS threads (each its own session, its first call
    untimed); the timed calls' rate, latencies and failures."""
    import requests

    ready = threading.Barrier(CLIENT_THREADS + 1)
    latencies: list[float] = []
    failures: list[str] = []
    results: list[int] = []

    def client(mine: list[Call]) -> None:
        try:
            with requests.Session() as session:
                error, _count = mine[0](session)
                if error:
                    failures.append(error)
                ready.wait(timeout=300)
                for call in mine[1:]:
                    started = time.perf_counter()
                    error, count = call(session)
                    latencies.append((time.perf_counter() - started) * 1000)
                    results.append(count)
                    if error:
                        failures.append(error)
        except Exception as exc:
            failures.append(repr(exc))
            ready.abort()  # nobody waits for this thread at the start line

    threads = [
        threading.Thread(target=client, args=(calls[i::CLIENT_THREADS],))
        for i in range(CLIENT_THREADS)
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: reported
        ready.wait(timeout=300)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    timed = len(calls) - CLIENT_THREADS
    return {
        "rate": timed / elapsed if latencies else 0.0,
        "p50": percentile(latencies, 50) if latencies else 0.0,
        "p99": percentile(latencies, 99) if latencies else 0.0,
        "requests": timed,
        "failures": len(failures),
        "first_failure": failures[0] if failures else "",
        "mean_results": sum(results) / len(results) if results else 0.0,
    }


def _answer(response: Any) -> tuple[str | None, list[dict[str, Any]]]:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]!r}", []
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:300]!r}", []
    if not isinstance(body, list):
        return f"not a list: {response.text[:300]!r}", []
    return None, body


def get_window(base: str, start: datetime) -> Call:
    params = {
        "jurisdiction_id": KORTRIJK_NIS,
        "start_date": start.isoformat(timespec="seconds"),
        "end_date": (start + WINDOW).isoformat(timespec="seconds"),
    }

    def call(session: Any) -> tuple[str | None, int]:
        error, items = _answer(session.get(f"{base}{API}/requests.json", params=params, timeout=60))
        if error is None and any("service_request_id" not in item for item in items):
            error = f"an item without service_request_id: {items[:1]!r}"
        return error, len(items)

    return call


def get_id(base: str, reference: str) -> Call:
    params = {"jurisdiction_id": KORTRIJK_NIS, "service_request_id": reference}

    def call(session: Any) -> tuple[str | None, int]:
        error, items = _answer(session.get(f"{base}{API}/requests.json", params=params, timeout=60))
        found = [item.get("service_request_id") for item in items]
        if error is None and found != [reference]:
            error = f"service_request_id={reference} found {found!r}"
        return error, len(items)

    return call


def get_updates(base: str, start: datetime) -> Call:
    params = {
        "jurisdiction_id": KORTRIJK_NIS,
        "start_date": start.isoformat(timespec="seconds"),
        "end_date": (start + UPDATES_WINDOW).isoformat(timespec="seconds"),
    }
    url = f"{base}{API}/servicerequestupdates.json"

    def call(session: Any) -> tuple[str | None, int]:
        error, items = _answer(session.get(url, params=params, timeout=60))
        if error is None and any(
            not str(item.get("update_id", "")).startswith("h") for item in items
        ):
            error = f"an item without update_id: {items[:1]!r}"
        return error, len(items)

    return call


def post(base: str, api_key: str, i: int, lat: float, lon: float) -> Call:
    fields = {
        "api_key": api_key,
        "jurisdiction_id": KORTRIJK_NIS,
        "service_code": "pothole",
        "lat": f"{lat:.6f}",
        "long": f"{lon:.6f}",
        "description": f"{TEXTS[i % len(TEXTS)]} (app, #{i})",
        "email": f"app{i}@example.org",
    }

    def call(session: Any) -> tuple[str | None, int]:
        response = session.post(f"{base}{API}/requests.json", data=fields, timeout=60)
        if response.status_code not in (200, 201):
            return f"HTTP {response.status_code}: {response.text[:300]!r}", 0
        try:
            items = response.json()
        except ValueError:
            return f"not JSON: {response.text[:300]!r}", 0
        if not (isinstance(items, list) and items and items[0].get("service_request_id")):
            return f"no service_request_id: {response.text[:300]!r}", 0
        return None, 1

    return call


# --- One database ------------------------------------------------------------------------


def child(url: str, results_path: Path) -> None:
    setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    from regiohub.core.demo.region import load_region
    from regiohub.core.models import Organisation
    from regiohub.meldpunt.demo import load_categories
    from regiohub.meldpunt.models import Report

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
    references = load_reports(label, ROWS)
    load_history(label)
    out = StringIO()
    call_command(
        "meldpunt_create_api_client",
        name="Bench app",
        organisation="KOR",
        stdout=out,
        stderr=StringIO(),  # the "shown only now" notice
    )
    api_key = out.getvalue().strip()
    kortrijk = Organisation.objects.get(nis_code=KORTRIJK_NIS)
    points = kortrijk_points(POSTS + CLIENT_THREADS)
    before = Report.objects.filter(organisation=kortrijk).count()
    connections.close_all()  # SQLite: no open connection of ours next to the server's

    rng = random.Random(SEED + 1)
    year_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    last_start = 365 * 86_400 - int(WINDOW.total_seconds())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The warm-up requests (one per thread) come on top of the timed ones.
    plan: dict[str, list[Call]] = {
        "GET window": [
            get_window(base, year_ago + timedelta(seconds=rng.randint(0, last_start)))
            for _ in range(GET_WINDOWS + CLIENT_THREADS)
        ],
        "GET id": [get_id(base, rng.choice(references)) for _ in range(GET_IDS + CLIENT_THREADS)],
        "GET updates": [
            get_updates(base, year_ago + timedelta(seconds=rng.randint(0, last_start)))
            for _ in range(GET_UPDATES + CLIENT_THREADS)
        ],
        "POST": [post(base, api_key, i, lat, lon) for i, (lat, lon) in enumerate(points)],
    }
    log = Path(os.environ["REGIOHUB_DATA_DIR"]) / "server.log"
    server = start_server(url, port, log, workers=SERVER_WORKERS, threads=SERVER_THREADS)
    results: dict[str, dict[str, Any]] = {}
    try:
        boot = wait_until_up(server, f"{base}{API}/discovery.json", log)
        print(
            f"[{label}] regiohub serve up in {boot:.1f} s ({SERVER_WORKERS} workers x "
            f"{SERVER_THREADS} threads; {CLIENT_THREADS} client threads)",
            flush=True,
        )
        for name, calls in plan.items():
            result = results[name] = hammer(calls)
            extra = ""
            if name in ("GET window", "GET updates"):
                extra = f", {result['mean_results']:.0f} results per answer on average"
            what = "servicerequestupdates.json" if name == "GET updates" else "requests.json"
            print(
                f"[{label}] {name} {what}: {result['rate']:,.1f} requests/s, "
                f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms "
                f"({result['requests']:,} requests, {result['failures']} failures{extra})",
                flush=True,
            )
    finally:
        stop_server(server)
    failed = {name: r for name, r in results.items() if r["failures"]}
    if failed:
        details = "; ".join(
            f"{n}: {r['failures']}, first {r['first_failure']}" for n, r in failed.items()
        )
        raise RuntimeError(f"failed requests: {details}\nserver log:\n{log.read_text()[-3000:]}")
    filed = Report.objects.filter(organisation=kortrijk).count() - before
    assert filed == len(plan["POST"]), f"{filed} reports filed by {len(plan['POST'])} posts"
    results_path.write_text(json.dumps(results))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(
        f"Open311 requests.json over HTTP on {ROWS:,} Kortrijk reports "
        f"({GET_WINDOWS} window GETs, {GET_IDS} id GETs, {POSTS} POSTs, "
        f"{GET_UPDATES} update GETs)",
        flush=True,
    )
    results = run_per_database(__file__)
    engines = [e for e in ENGINES if e in results]
    rows = []
    for name, what in (
        ("GET window", "GET requests.json (7-day window)"),
        ("GET id", "GET requests.json?service_request_id"),
        ("POST", "POST requests.json"),
        ("GET updates", "GET servicerequestupdates.json (1-day window)"),
    ):
        rows += [
            [f"{what} (requests/s)", *(f"{results[e][name]['rate']:,.1f}" for e in engines)],
            [f"{what} p50 (ms)", *(f"{results[e][name]['p50']:.1f}" for e in engines)],
            [f"{what} p99 (ms)", *(f"{results[e][name]['p99']:.1f}" for e in engines)],
        ]
    rows.append(
        [
            "failed requests",
            *(str(sum(r["failures"] for r in results[e].values())) for e in engines),
        ]
    )
    print()
    print(table(["", *engines], rows))


if __name__ == "__main__":
    main()
