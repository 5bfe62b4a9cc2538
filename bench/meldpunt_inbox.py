"""How fast is the agent's inbox on a year of reports?

For SQLite (temp file, WAL) and PostgreSQL, each in its own process on a throwaway
database: load a year of valid reports (1,000,000; BENCH_SMOKE=1: 2,000) straight into the
table, then time the inbox queries exactly as the view runs them,
``inbox.page(InboxQuery.from_params(QueryDict(...)), user)`` with a fresh access cache
(each request has a fresh user), for a region-wide agent and a Kortrijk agent; also
``nearby()``, an Open311 ``GET requests`` 7-day window of Kortrijk (always the 1,000-result
cap), the whole HTTP inbox page, and the raw baseline measured in the same run: the default
query as one hand-written SQL statement. A query whose p99 is over 100 ms gets its slowest
statement explained (EXPLAIN ANALYZE / EXPLAIN QUERY PLAN).

Then over real HTTP against the production server command (``regiohub serve``: gunicorn,
2 workers x 4 threads, on the same database), one client after the other request: the
agent's inbox page, Open311 ``GET requests.json`` with a random 7-day window and the
form's nearby JSON; the p99 < 100 ms target of issue 4 is about these.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run; BENCH_INBOX_ROWS overrides the size.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENGINES,
    SMOKE,
    child_arguments,
    engine_of,
    free_port,
    latencies_ms,
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
    os.environ.get("BENCH_INBOX_ROWS")  # noqa: TID251 - the bench's own switch
    or (2_000 if SMOKE else 1_000_000)
)
REPEAT = 5 if SMOKE else 200
HTTP_REPEAT = 5 if SMOKE else 300
BUDGET_S = 20.0  # a query slower than this in total stops early (at least 10 runs)
SLOW_MS = 100.0
BATCH = 10_000
SEED = 2026
BRUSSELS = ZoneInfo("Europe/Brussels")
KORTRIJK_CENTRE = (50.8275, 3.2649)

# How likely a report is still open, by its age in days; and the mix of states.
OPEN_BY_AGE = [(7, 0.70), (30, 0.35), (90, 0.08), (366, 0.01)]
OPEN_MIX = {
    "new": 20, "acknowledged": 20, "in_progress": 35,
    "waiting_for_reporter": 10, "on_hold": 7, "reopened": 8,
}  # fmt: skip
DONE_MIX = {"closed": 80, "resolved": 10, "cancelled": 4, "forwarded": 4, "merged": 2}
CHANNELS = {"web": 55, "phone": 20, "email": 10, "desk": 8, "chat": 4, "api": 3}
TEXTS = [
    "Diepe put in de weg ter hoogte van het kruispunt.",
    "Losliggende tegels op het voetpad, gevaarlijk voor ouderen.",
    "Put in het fietspad, fietsers moeten uitwijken naar de rijweg.",
    "De straatlamp brandt niet meer sinds enkele dagen.",
    "Straatlamp flikkert de hele nacht.",
    "Zakken huisvuil achtergelaten aan de glasbol.",
    "Sluikstort van bouwafval langs de landweg.",
    "Lawaai van een bouwwerf voor zeven uur 's morgens.",
    "Muziek tot laat in de nacht bij de zaak op de hoek.",
    "De gft-container is vandaag niet opgehaald.",
    "Wanneer wordt het grofvuil opgehaald in onze wijk?",
    "Verkeersbord staat scheef na een aanrijding.",
    "Verkeersbord onleesbaar door begroeiing.",
    "Vraag over de openingsuren van het recyclagepark.",
    "Overhangende takken boven het fietspad belemmeren de doorgang.",
    "Wegmarkering van het zebrapad is bijna verdwenen.",
    "Verstopte rioolkolk, water blijft op straat staan.",
    "Graffiti op de gevel van het gemeenschapshuis.",
    "Kapotte zitbank in het park.",
    "Onkruid op het voetpad en de parking.",
]
STREETS = [
    "Kerkstraat", "Stationsstraat", "Grote Markt", "Doorniksestraat", "Meensesteenweg",
    "Gentsesteenweg", "Kortrijksestraat", "Molenstraat", "Schoolstraat", "Dorpsplein",
    "Leiekaai", "Bissegemsestraat", "Brugsesteenweg", "Marktplein", "Nieuwstraat",
]  # fmt: skip


def _cumulative(weights: dict[str, int]) -> tuple[list[str], list[int]]:
    total, cum = 0, []
    for weight in weights.values():
        total += weight
        cum.append(total)
    return list(weights), cum


# --- Loading a year of reports ---------------------------------------------------------


def _people() -> dict[str, Any]:
    """The two agents the inbox is timed for, and two handlers per municipality."""
    from regiohub.core.models import Membership, Organisation, User
    from regiohub.core.roles import Role

    def person(email: str, name: str, code: str, role: str) -> Any:
        user = User.objects.create_user(email, full_name=name)
        Membership.objects.create(
            user=user, organisation=Organisation.objects.get(code=code), role=role
        )
        return user

    region = person("agent.regio@bench.example.org", "Regio Agent", "ZWVL", Role.AGENT)
    kortrijk = person("agent.kor@bench.example.org", "Kortrijk Agent", "KOR", Role.AGENT)
    handlers: dict[int, list[int]] = {}
    for org in Organisation.objects.filter(kind="municipality"):
        handlers[org.pk] = [
            person(f"handler{i}.{org.code.lower()}@bench.example.org", f"Handler {i}", org.code,
                   Role.HANDLER).pk
            for i in (1, 2)
        ]  # fmt: skip
    return {"region": region, "kortrijk": kortrijk, "handlers": handlers}


def _rows(
    n: int, now: datetime, people: dict[str, Any], sequence: dict[tuple[int, int], int]
) -> Iterator[list[dict[str, Any]]]:
    """Batches of valid report rows (dicts by column), oldest first, ids from 1; fills
    ``sequence`` with the last reference number per (organisation, year).

    Reads what it needs from the database before returning: while the batches are written
    (COPY), the connection is busy."""
    import numpy as np

    from regiohub.core import geo
    from regiohub.core.models import Organisation
    from regiohub.meldpunt.models import Category

    rng = random.Random(SEED)
    orgs = {o.pk: o for o in Organisation.objects.filter(kind="municipality")}
    org_ids = list(orgs)
    org_cum = []
    total = 0
    for pk in org_ids:
        total += orgs[pk].population or 10_000
        org_cum.append(total)
    categories: dict[int, list[tuple[int, int, float, float]]] = {}
    for c in Category.objects.all():
        categories.setdefault(c.organisation_id, []).append(
            (c.pk, c.department_id, float(c.response_days), float(c.resolution_days))
        )
    located = region_points(10_000, seed=SEED)
    districts = geo.districts_at([(lat, lon) for lat, lon, _org in located])
    points: dict[int, list[tuple[float, float, str]]] = {}
    for (lat, lon, org), district in zip(located, districts, strict=True):
        points.setdefault(org, []).append((lat, lon, district))
    open_states, open_cum = _cumulative(OPEN_MIX)
    done_states, done_cum = _cumulative(DONE_MIX)
    channels, channel_cum = _cumulative(CHANNELS)
    agent_id = people["region"].pk
    agent_share = min(0.3, 3_000 / n)  # "a few thousand" reports are the region agent's
    handlers = people["handlers"]

    start = now - timedelta(days=365)
    offsets = np.sort(np.random.default_rng(SEED).uniform(0, 365 * 86_400, n))

    def batches() -> Iterator[list[dict[str, Any]]]:
        last_of_org: dict[int, int] = {}
        batch = []
        for i, offset in enumerate(offsets.tolist(), start=1):
            created = start + timedelta(seconds=offset)
            age = (now - created).total_seconds() / 86_400
            org = rng.choices(org_ids, cum_weights=org_cum)[0]
            category, department, response_days, resolution_days = rng.choice(categories[org])
            p_open = next(p for days, p in OPEN_BY_AGE if age < days)
            if rng.random() < p_open:
                status = rng.choices(open_states, cum_weights=open_cum)[0]
            else:
                status = rng.choices(done_states, cum_weights=done_cum)[0]
            if status == "merged" and org not in last_of_org:
                status = "closed"
            year = created.astimezone(BRUSSELS).year
            number = sequence[(org, year)] = sequence.get((org, year), 0) + 1

            def after(days: float, created: datetime = created) -> datetime:
                return min(now, created + timedelta(days=days))

            responded = None if status == "new" else after(rng.uniform(0.05, 2.0))
            resolved = closed = rated = None
            rating = None
            if status in ("resolved", "closed"):
                resolved = after(rng.uniform(0.5, resolution_days * 1.5))
            if status in ("closed", "cancelled", "forwarded", "merged"):
                closed = min(now, (resolved or responded or created) + timedelta(days=14))
            if status == "closed" and rng.random() < 0.2:
                rating, rated = rng.randint(1, 5), closed
            assignee = None
            if status != "new":
                if rng.random() < agent_share:
                    assignee = agent_id
                elif rng.random() < 0.9:
                    assignee = rng.choice(handlers[org])
            contact = rng.random() < 0.7
            lat, lon, district = rng.choice(points[org])
            updated = max(t for t in (created, responded, resolved, closed) if t is not None)
            batch.append(
                {
                    "id": i,
                    "reference": f"{orgs[org].code}-{year}-{number:06d}",
                    "organisation_id": org,
                    "category_id": category,
                    "department_id": department,
                    "assignee_id": assignee,
                    "status": status,
                    "channel": rng.choices(channels, cum_weights=channel_cum)[0],
                    "description": f"{rng.choice(TEXTS)} Melding {i}.",
                    "latitude": lat,
                    "longitude": lon,
                    "address": f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
                    if rng.random() < 0.9
                    else "",
                    "location_is_approximate": (approximate := rng.random() < 0.03),
                    "district_code": "" if approximate else district,
                    "location_source": "municipality" if approximate else "map",
                    "address_register_id": "",
                    "reporter_name": f"Burger {i}" if contact and rng.random() < 0.8 else "",
                    "reporter_email": f"burger{i}@example.org" if contact else "",
                    "reporter_phone": "056 27 00 00" if contact and rng.random() < 0.2 else "",
                    "reporter_language": rng.choices(["nl", "fr", "en"], cum_weights=[90, 97, 100])[
                        0
                    ],
                    "consent_at": created if contact else None,
                    "token_salt": f"{rng.getrandbits(128):032x}",
                    "token_hash": f"{rng.getrandbits(256):064x}",
                    "client_key": None,
                    "anonymised_at": None,
                    "rating": rating,
                    "rating_comment": "",
                    "rated_at": rated,
                    "created_at": created,
                    "updated_at": updated,
                    "responded_at": responded,
                    "resolved_at": resolved,
                    "closed_at": closed,
                    "response_due_at": created + timedelta(days=response_days),
                    "resolution_due_at": created + timedelta(days=resolution_days),
                    "merged_into_id": last_of_org[org] if status == "merged" else None,
                    "split_from_id": None,
                }
            )
            last_of_org[org] = i
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    return batches()


def load_reports(label: str, n: int, people: dict[str, Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from regiohub.meldpunt.models import ReferenceSequence, Report

    columns = [f.column for f in Report._meta.concrete_fields]
    # Columns this bench does not set take their model default (later fields of the model).
    defaults = {}
    for f in Report._meta.concrete_fields:
        value = f.get_default()
        defaults[f.column] = json.dumps(value) if isinstance(value, dict | list) else value
    now = datetime.now(UTC)
    sequence: dict[tuple[int, int], int] = {}
    started = time.perf_counter()
    sqlite = connection.vendor == "sqlite"
    batches = _rows(n, now, people, sequence)
    with transaction.atomic(), connection.cursor() as cursor:
        if sqlite:
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MB while loading only
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
                            for v in (row.get(c, defaults[c]) for c in columns)
                        )
                        for row in batch
                    ],
                )
        else:
            copy_sql = f"COPY meldpunt_report ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row([row.get(c, defaults[c]) for c in columns])
            for statement in connection.ops.sequence_reset_sql(no_style(), [Report]):
                cursor.execute(statement)
        ReferenceSequence.objects.bulk_create(
            ReferenceSequence(organisation_id=org, year=year, last_number=last)
            for (org, year), last in sequence.items()
        )
    loaded = time.perf_counter() - started
    assert Report.objects.count() == n
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cursor.execute("VACUUM (ANALYZE)")  # what autovacuum does after a big load
    analysed = time.perf_counter() - started
    connection.close()  # queries start on a fresh connection with production settings
    with connection.cursor() as cursor:
        if sqlite:
            size = Path(connection.settings_dict["NAME"]).stat().st_size
        else:
            cursor.execute("SELECT pg_total_relation_size('meldpunt_report')")
            size = cursor.fetchone()[0]
    print(
        f"[{label}] generated and loaded {n:,} reports in {loaded:.1f} s "
        f"({n / loaded:,.0f} rows/s, {'executemany' if sqlite else 'COPY'}); "
        f"{'ANALYZE' if sqlite else 'VACUUM (ANALYZE)'} {analysed:.1f} s; "
        f"{'database file' if sqlite else 'table with indexes'} {size / 2**20:,.0f} MB",
        flush=True,
    )


# --- Timing ----------------------------------------------------------------------------


def explain(label: str, run: Any) -> None:
    """EXPLAIN the slowest statement of one ``run()``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    statements = captured.captured_queries
    slowest = max(statements, key=lambda q: float(q["time"]))
    total = sum(float(q["time"]) for q in statements)
    short = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", slowest["sql"], count=1)
    print(
        f"    slowest of {len(statements)} statements ({float(slowest['time']) * 1000:.0f} of "
        f"{total * 1000:.0f} ms): {short[:2000]}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {slowest['sql']}")
            lines = [f"{row[1]:>3}>{row[0]:<3} {row[3]}" for row in cursor.fetchall()]
        else:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
            lines = [row[0] for row in cursor.fetchall()]
    print("\n".join(f"    | {line}" for line in lines), flush=True)


def child(url: str, results_path: Path) -> None:
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"  # the test Client
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client
    from django.urls import reverse

    from regiohub.core import access
    from regiohub.core.demo.region import load_region
    from regiohub.core.testing import staff_client
    from regiohub.meldpunt import inbox
    from regiohub.meldpunt.demo import load_categories
    from regiohub.meldpunt.models import ReferenceSequence, Report
    from regiohub.meldpunt.permissions import HANDLE_REPORTS
    from regiohub.meldpunt.workflow import OPEN

    label = engine_of(url)
    load_region()
    load_categories()
    people = _people()
    load_reports(label, ROWS, people)
    region, kortrijk = people["region"], people["kortrijk"]
    results: dict[str, dict[str, float]] = {}

    def record(name: str, run: Any, note: str = "") -> None:
        # Full garbage collections that fall in a series are counted and left in: a
        # worker process pays them too.
        gc.collect()
        before = gc.get_stats()[2]["collections"]
        samples = latencies_ms(run, REPEAT, budget_s=BUDGET_S)
        collections = gc.get_stats()[2]["collections"] - before
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        results[name] = {"p50": p50, "p99": p99, "runs": len(samples)}
        print(
            f"[{label}] {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"({len(samples)} runs{note}; {collections} full GCs)",
            flush=True,
        )
        if p99 > SLOW_MS:
            explain(label, run)

    def page(user: Any, params: str) -> inbox.Page:
        access.forget(user)  # the view gets a fresh user, so a cold access cache
        return inbox.page(inbox.InboxQuery.from_params(QueryDict(params)), user)

    def time_page(name: str, user: Any, params: str) -> None:
        result = page(user, params)
        more = "+" if not result.count_is_exact else ""
        note = f"; {len(result.reports)} rows, count {result.count}{more}"
        record(name, lambda: page(user, params), note)

    year = datetime.now(BRUSSELS).year
    issued = ReferenceSequence.objects.get(organisation__code="KOR", year=year).last_number
    reference = f"KOR-{year}-{min(123, issued):06d}"  # 123 unless a smoke run has fewer
    time_page("default (open, newest), region agent", region, "")
    time_page("default (open, newest), Kortrijk agent", kortrijk, "")
    time_page("sla=overdue", region, "sla=overdue")
    time_page("sla=due_soon", region, "sla=due_soon")
    time_page("status=all&sort=due", region, "status=all&sort=due")
    time_page("category=pothole&municipality=KOR", region, "category=pothole&municipality=KOR")
    time_page("assignee=me", region, "assignee=me")
    time_page(f"q={reference} (reference)", region, urlencode({"q": reference}))
    time_page(f"q={reference}&status=all", region, urlencode({"q": reference, "status": "all"}))
    time_page("q=fietspad (word)", region, "q=fietspad")
    cursor, pages = "", 1
    for _ in range(19):
        following = page(region, urlencode({"after": cursor}) if cursor else "").next_cursor
        if not following:
            break
        cursor, pages = following, pages + 1
    time_page(f"page {pages} via keyset (after=...)", region, urlencode({"after": cursor}))

    def near() -> list[Any]:
        access.forget(region)
        return inbox.nearby(region, *KORTRIJK_CENTRE)

    record("nearby() around Kortrijk centre", near, f"; {len(near())} found")

    call_command("collectstatic", interactive=False, verbosity=0)  # the page's manifest
    client = staff_client(region)
    inbox_url = reverse("meldpunt:inbox")

    def http() -> None:
        response = client.get(inbox_url)
        assert response.status_code == 200, response.status_code

    http()
    record("HTTP GET /staff/reports/ (test Client, default)", http)

    # Open311: a random 7-day window of Kortrijk's requests, the API's largest answer.
    windows = random.Random(SEED + 311)
    year_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)

    def window_url() -> str:
        start = year_ago + timedelta(seconds=windows.randint(0, 358 * 86_400))
        query = {
            "jurisdiction_id": "34022",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=7)).isoformat(),
        }
        return f"/open311/v2/requests.json?{urlencode(query)}"

    anonymous = Client()

    def open311_window() -> int:
        response = anonymous.get(window_url())
        assert response.status_code == 200, response.content[:300]
        return len(json.loads(response.content))

    record(
        "Open311 GET requests.json, 7-day window (test Client)",
        open311_window,
        f"; {open311_window()} results",
    )

    # The raw baseline: the default query as one hand-written statement.
    org_ids = sorted(access.organisation_ids(region, HANDLE_REPORTS))
    statuses = sorted(str(s) for s in OPEN)
    quote = connection.ops.quote_name
    raw_sql = (
        f"SELECT {', '.join(quote(f.column) for f in Report._meta.concrete_fields)} "
        f"FROM meldpunt_report WHERE organisation_id IN ({', '.join(['%s'] * len(org_ids))}) "
        f"AND status IN ({', '.join(['%s'] * len(statuses))}) "
        "ORDER BY created_at DESC, id DESC LIMIT 51"
    )

    def raw() -> list[tuple[Any, ...]]:
        with connection.cursor() as c:
            c.execute(raw_sql, [*org_ids, *statuses])
            return c.fetchall()

    ours = [r.pk for r in page(region, "").reports]
    assert [row[0] for row in raw()[:50]] == ours, "the raw query finds other rows"
    record("raw SQL baseline (default query)", raw)
    ours_p50 = results["default (open, newest), region agent"]["p50"]
    raw_p50 = results["raw SQL baseline (default query)"]["p50"]
    print(
        f"[{label}] ours/raw ratio (default query, p50): {ours_p50 / raw_p50:.1f} "
        "(ours = access scope + bounded count + joined select + model instances)",
        flush=True,
    )
    session_cookie = (
        settings.SESSION_COOKIE_NAME,
        client.cookies[settings.SESSION_COOKIE_NAME].value,
    )
    over_http(label, url, results, session_cookie, window_url)
    results_path.write_text(json.dumps(results))


def over_http(
    label: str,
    url: str,
    results: dict[str, dict[str, float]],
    session_cookie: tuple[str, str],
    window_url: Any,
) -> None:
    """The three target requests against ``regiohub serve``, one at a time."""
    import requests
    from django.db import connections

    connections.close_all()  # SQLite: none of ours open next to the server's
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(os.environ["REGIOHUB_DATA_DIR"]) / "server.log"
    server = start_server(url, port, log, workers=2, threads=4)
    centre = {"lat": KORTRIJK_CENTRE[0], "lng": KORTRIJK_CENTRE[1], "category": "pothole"}
    try:
        boot = wait_until_up(server, f"{base}/open311/v2/discovery.json", log)
        print(f"[{label}] regiohub serve up in {boot:.1f} s (2 workers x 4 threads)", flush=True)
        with requests.Session() as session:
            session.cookies.set(*session_cookie)

            def get(path: str, check: Any) -> Any:
                def call() -> None:
                    response = session.get(f"{base}{path() if callable(path) else path}")
                    if response.status_code != 200 or not check(response):
                        raise RuntimeError(
                            f"{path}: HTTP {response.status_code} {response.text[:300]!r}"
                        )

                return call

            probes = {
                "HTTP serve: GET /staff/reports/ (region agent)": get(
                    "/staff/reports/", lambda r: "inbox" in r.text
                ),
                "HTTP serve: GET /open311/v2/requests.json (7-day window)": get(
                    window_url, lambda r: len(r.json()) > 0
                ),
                "HTTP serve: GET /melden/in-de-buurt/ (nearby JSON)": get(
                    f"/melden/in-de-buurt/?{urlencode(centre)}", lambda r: "reports" in r.json()
                ),
            }
            for name, call in probes.items():
                for _ in range(20):  # warm both workers: templates, caches, connections
                    call()
                samples = latencies_ms(call, HTTP_REPEAT, budget_s=BUDGET_S)
                p50, p99 = percentile(samples, 50), percentile(samples, 99)
                results[name] = {"p50": p50, "p99": p99, "runs": len(samples)}
                print(
                    f"[{label}] {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                    f"max {max(samples):.1f} ms ({len(samples)} runs)",
                    flush=True,
                )
    finally:
        stop_server(server)


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"Inbox latency on {ROWS:,} reports, {REPEAT} runs per query (budget {BUDGET_S:.0f} s)")
    results = run_per_database(__file__)
    engines = [e for e in ENGINES if e in results]
    names = list(next(iter(results.values()))) if results else []
    rows = [
        [
            name,
            *(
                f"{results[e][name]['p50']:.1f} / {results[e][name]['p99']:.1f}"
                if name in results[e]
                else "-"
                for e in engines
            ),
        ]
        for name in names
    ]
    print()
    print(table(["p50 / p99 (ms)", *engines], rows))
    ratios = []
    for e in engines:
        ours = results[e]["default (open, newest), region agent"]["p50"]
        ratios.append(f"{e} {ours / results[e]['raw SQL baseline (default query)']['p50']:.1f}")
    print(f"ours/raw ratio, default query p50: {', '.join(ratios)}")


if __name__ == "__main__":
    main()
