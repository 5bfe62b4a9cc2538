"""How fast is the statistics page (satisfaction and handling figures) on 1M reports?

For SQLite (temp file, WAL) and PostgreSQL, each in its own process on a throwaway
database: write 1,000,000 reports (BENCH_SMOKE=1: 3,000; BENCH_STATS_ROWS overrides)
straight into the table, spread over five years (BENCH_STATS_YEARS) ending now, by
population over the 13 municipalities and over the demo subjects, with a realistic spread
of states, resolution times against the SLA, satisfaction answers (a third of those asked
answer, three in four satisfied), requests to reopen and reopens within and after 30
days. Count every month ahead (ADR 0039: the first run of the job that keeps the
``StatisticsMonth`` cells), time what that job does every five minutes (count this month
again), then time ``queries.statistics`` exactly as the page calls it (fresh access
cache), for a Kortrijk agent and a region-wide agent:

* four quarters (the page's default period) per municipality x category;
* twelve months per municipality, and per category (all municipalities together);
* the widest question: all six calendar years, per year, per municipality x category;

and the whole page (the region agent's default: four quarters per municipality) and its
CSV through the test Client. A question whose p99 is over 100 ms gets its slowest
statement explained. The issue's target: p99 < 100 ms on PostgreSQL.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
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
from datetime import UTC, date, datetime, timedelta
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
    latencies_ms,
    percentile,
    run_per_database,
    setup_django,
    table,
)

ROWS = int(
    os.environ.get("BENCH_STATS_ROWS")  # noqa: TID251 - the bench's own switch
    or (3_000 if SMOKE else 1_000_000)
)
YEARS = int(os.environ.get("BENCH_STATS_YEARS") or 5)  # noqa: TID251 - the bench's own switch
REPEAT = 5 if SMOKE else 100
BUDGET_S = 30.0  # a question slower than this in total stops early (at least 10 runs)
SLOW_MS = 100.0
BATCH = 10_000
SEED = 2039
#: Work of the worker, not of a page: timed, not held to the page's target.
BACKGROUND = "(worker)"
BRUSSELS = ZoneInfo("Europe/Brussels")

# Still open, by age in days (the rest is finished); the mix of each.
OPEN_BY_AGE = [(7, 0.70), (30, 0.35), (90, 0.08), (10**6, 0.01)]
OPEN_MIX = {"new": 20, "acknowledged": 20, "in_progress": 35, "waiting_for_reporter": 10,
            "on_hold": 7, "reopened": 8}  # fmt: skip
DONE_MIX = {"closed": 80, "resolved": 10, "cancelled": 4, "forwarded": 4, "merged": 2}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- Writing the reports -------------------------------------------------------------------


def _people() -> dict[str, Any]:
    from regiohub.core.models import Membership, Organisation, User
    from regiohub.core.roles import Role

    def person(email: str, code: str) -> Any:
        user = User.objects.create_user(email, full_name=email.split("@")[0])
        Membership.objects.create(
            user=user, organisation=Organisation.objects.get(code=code), role=Role.AGENT
        )
        return user

    return {
        "region": person("agent.regio@bench.example.org", "ZWVL"),
        "kortrijk": person("agent.kor@bench.example.org", "KOR"),
    }


def _rows(n: int, now: datetime, sequence: dict[tuple[int, int], int]) -> Iterator[list[dict]]:
    """Batches of report rows (dicts by column), oldest first."""
    from regiohub.core.models import Organisation
    from regiohub.meldpunt.models import Category

    rng = random.Random(SEED)
    orgs = list(Organisation.objects.filter(kind="municipality"))
    weights = [o.population or 10_000 for o in orgs]
    categories: dict[int, list[tuple[int, int, float]]] = {}
    for c in Category.objects.all():
        categories.setdefault(c.organisation_id, []).append(
            (c.pk, c.department_id, float(c.resolution_days))
        )
    span = YEARS * 365 * 86_400
    start = now - timedelta(seconds=span)
    offsets = sorted(rng.uniform(0, span) for _ in range(n))

    def batches() -> Iterator[list[dict]]:
        batch: list[dict] = []
        for i, offset in enumerate(offsets, start=1):
            created = start + timedelta(seconds=offset)
            age = (now - created).total_seconds() / 86_400
            org = rng.choices(orgs, weights=weights)[0]
            category, department, resolution_days = rng.choice(categories[org.pk])
            p_open = next(p for days, p in OPEN_BY_AGE if age < days)
            status = _pick(rng, OPEN_MIX if rng.random() < p_open else DONE_MIX)
            year = created.astimezone(BRUSSELS).year
            number = sequence[(org.pk, year)] = sequence.get((org.pk, year), 0) + 1
            # Calendar days to the promise (business days are fewer than calendar days).
            due = created + timedelta(days=resolution_days * 1.4)

            def after(days: float, moment: datetime = created) -> datetime:
                return min(now, moment + timedelta(days=days))

            email = rng.random() < 0.7
            row: dict[str, Any] = {
                "id": i, "reference": f"{org.code}-{year}-{number:06d}",
                "organisation_id": org.pk, "category_id": category,
                "department_id": department, "status": status,
                "channel": _pick(rng, {"web": 60, "phone": 20, "email": 10, "desk": 10}),
                "description": f"Melding {i}.", "latitude": 50.8275, "longitude": 3.2649,
                "reporter_email": f"burger{i}@example.org" if email else "",
                "created_at": created, "updated_at": created, "resolution_due_at": due,
                "response_due_at": created + timedelta(days=2),
                "token_salt": f"{i:032x}", "token_hash": f"{i:064x}",
            }  # fmt: skip
            first = reopened = resolved = None
            if status in ("resolved", "closed", "reopened"):
                first = after(rng.lognormvariate(1.6, 0.9))  # median 5 days, a long tail
                if status == "reopened" or rng.random() < 0.06:
                    reopened = after(
                        rng.choice([rng.uniform(0.5, 30), rng.uniform(30, 120)]), first
                    )
                if status != "reopened":
                    resolved = first if reopened is None else after(rng.uniform(1, 20), reopened)
            if first is not None:
                row["first_resolved_at"] = first
                row["reopened_at"] = reopened
                row["resolved_at"] = resolved
                row["responded_at"] = min(first, after(1))
                if status == "closed":
                    row["closed_at"] = after(14, resolved)
                if email:
                    row["satisfaction_asked_at"] = first
                    if rng.random() < 0.35:
                        satisfied = rng.random() < 0.75
                        row["satisfied"] = satisfied
                        if not satisfied and rng.random() < 0.3:
                            row["reopen_requested_at"] = after(rng.uniform(0.5, 10), first)
            elif status in ("cancelled", "forwarded", "merged"):
                row["closed_at"] = after(rng.uniform(0.5, 5))
            row["updated_at"] = max(v for k, v in row.items() if k.endswith("_at") and v)
            batch.append(row)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    return batches()


def load(label: str, n: int) -> None:
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from regiohub.meldpunt.models import ReferenceSequence, Report

    fields = Report._meta.concrete_fields
    columns = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields}
    now = datetime.now(UTC)
    sequence: dict[tuple[int, int], int] = {}
    sqlite = connection.vendor == "sqlite"
    started = time.perf_counter()
    batches = _rows(n, now, sequence)

    def value(row: dict[str, Any], column: str) -> Any:
        found = row[column] if column in row else defaults[column]
        if isinstance(found, dict | list):
            return json.dumps(found)
        if sqlite and isinstance(found, datetime):
            return str(found.astimezone(UTC).replace(tzinfo=None))
        return found

    with transaction.atomic(), connection.cursor() as cursor:
        if sqlite:
            insert = (
                f"INSERT INTO meldpunt_report ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            raw = connection.connection.cursor()
            for batch in batches:
                raw.executemany(insert, [tuple(value(r, c) for c in columns) for r in batch])
        else:
            copy_sql = f"COPY meldpunt_report ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row([value(row, c) for c in columns])
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
    print(f"[{label}] wrote {n:,} reports over {YEARS} years in {loaded:.1f} s", flush=True)


# --- Timing ------------------------------------------------------------------------------


def explain(label: str, run: Any) -> None:
    """EXPLAIN the slowest statement of one more ``run()``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    statements = [q for q in captured.captured_queries if "meldpunt_report" in q["sql"]]
    if not statements:
        return
    slowest = max(statements, key=lambda q: float(q["time"]))
    short = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", slowest["sql"], count=1)
    print(f"    slowest ({float(slowest['time']) * 1000:.0f} ms): {short[:1500]}")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {slowest['sql']}")
            lines = [str(row[3]) for row in cursor.fetchall()]
        else:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
            lines = [row[0] for row in cursor.fetchall()]
    print("\n".join(f"    | {line}" for line in lines), flush=True)


def child(url: str, results_path: Path) -> None:
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"  # the test Client
    setup_django()
    from django.urls import reverse
    from django.utils import timezone

    from regiohub.core import access
    from regiohub.core.demo.region import load_region
    from regiohub.core.testing import staff_client
    from regiohub.meldpunt import queries, statistics
    from regiohub.meldpunt.demo import load_categories
    from regiohub.meldpunt.views.statistics import defaults

    label = engine_of(url)
    load_region()
    load_categories()
    people = _people()
    load(label, ROWS)
    # Counting ahead (ADR 0039): every month once, as the first run of the job does; then
    # what the job does every few minutes, this month again.
    started = time.perf_counter()
    cells = statistics.refresh_changed(datetime(2000, 1, 1, tzinfo=UTC))
    print(f"[{label}] counted all months ahead: {cells:,} cells in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    # As `regiohub serve` does in each web process once started (post_worker_init): what
    # start-up loaded leaves the collector's sight, so a full collection scans only the
    # question's own objects. Without it, the widest question's p99 was a GC pause (~200 ms).
    gc.collect()
    gc.freeze()
    today = timezone.localdate()
    page = defaults(today, several_municipalities=True)
    four_quarters = {"start": date.fromisoformat(page["start"]), "end": today,
                     "period": "quarter"}  # fmt: skip
    twelve_months = {"start": date(today.year - 1, today.month, 1), "end": today,
                     "period": "month"}  # fmt: skip
    all_years = {"start": date(today.year - YEARS, 1, 1), "end": today, "period": "year"}
    questions = [
        ("Kortrijk agent, 4 quarters x category", "kortrijk", four_quarters,
         "municipality_category"),
        ("Kortrijk agent, 12 months x category", "kortrijk", twelve_months,
         "municipality_category"),
        ("region agent, 4 quarters x municipality x category", "region",
         four_quarters, "municipality_category"),
        ("region agent, 12 months x municipality", "region", twelve_months, "municipality"),
        ("region agent, 12 months x category (all municipalities)", "region", twelve_months,
         "category"),
        (f"region agent, all {YEARS + 1} years x municipality x category", "region",
         all_years, "municipality_category"),
    ]  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    this_month = [today.replace(day=1)]

    def record(name: str, run: Any, note: str = "") -> None:
        gc.collect()
        samples = latencies_ms(run, REPEAT, budget_s=BUDGET_S)
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        results[name] = {"p50": p50, "p99": p99, "runs": len(samples)}
        print(f"[{label}] {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(samples)} runs{note})",
              flush=True)  # fmt: skip
        if p99 > SLOW_MS:
            explain(label, run)

    record(
        f"{BACKGROUND} the job: count this month again (all municipalities)",
        lambda: statistics.refresh_months(this_month),
    )
    for name, who, question, rows in questions:
        user = people[who]

        def ask(user: Any = user, question: dict = question, rows: str = rows) -> list[Any]:
            access.forget(user)  # each request has a fresh user
            return queries.statistics(user, rows=rows, **question)

        found = ask()
        record(name, ask, f"; {len(found)} rows, {sum(r.filed for r in found):,} reports")

    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    client = staff_client(people["region"])
    for name, address in [
        ("HTTP GET statistics page, region agent (default)", reverse("meldpunt:statistics")),
        ("HTTP GET statistics CSV, region agent (default)",
         reverse("meldpunt:statistics-export")),
    ]:  # fmt: skip

        def http(address: str = address) -> None:
            response = client.get(address)
            assert response.status_code == 200, response.status_code
            if response.streaming:  # the CSV: read it all, as the browser does
                b"".join(response.streaming_content)

        record(name, http)
    results_path.write_text(json.dumps(results))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"statistics on {ROWS:,} reports over {YEARS} years{' (smoke)' if SMOKE else ''}")
    results = run_per_database(__file__)
    names = list(next(iter(results.values()))) if results else []
    rows = []
    for name in names:
        cells = [name]
        for engine in ENGINES:
            found = results.get(engine, {}).get(name)
            cells.append(f"{found['p50']:.1f} / {found['p99']:.1f}" if found else "-")
        rows.append(cells)
    print()
    print(table(["question", *(f"{e} p50 / p99 ms" for e in ENGINES)], rows))
    pg = results.get("PostgreSQL", {})
    slow = [
        name
        for name, found in pg.items()
        if found["p99"] >= SLOW_MS and not name.startswith(BACKGROUND)
    ]
    if pg:
        verdict = "yes" if not slow else "no: " + ", ".join(slow)
        print(f"\nPostgreSQL p99 < {SLOW_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
