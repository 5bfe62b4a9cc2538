"""How fast does the CKAN Action API answer a catalogue of 10,000 datasets: a search with
facets, a harvester paging through everything, and ``ckanapi dump``?

For SQLite (temp file, WAL, as in production) and PostgreSQL, each in its own process on a
throwaway database: the 13 municipalities of the region, then 10,000 publications
(BENCH_SMOKE=1: 200; BENCH_CKAN_PUBLICATIONS overrides) made straight in the tables: 90 %
local (an open dataset of the data platform each, bulk-created without rows) and 10 %
harvested, with titles, descriptions, keywords, themes, licences, places and columns drawn
from Dutch word lists. Their search text and facets are what ``opendata.services.reindex``
writes, computed in bulk here (the bench checks a sample against ``reindex`` itself).
Then ``regiohub serve`` (gunicorn, 2 workers x 4 threads) and, over HTTP, one request
after the other:

* search: ``package_search?q=<one or two words>&facet.field=["organization","tags",
  "res_format","license_id","groups"]&rows=10``, a third of them with an
  ``fq=organization:<town>`` too (300; BENCH_SMOKE=1: 30), after 5 untimed: p50/p99;
* harvest: the loop of CKAN's own harvester (ckanext-harvest ``CKANHarvester``:
  ``rows``/``start``, ``sort=id asc``, until an empty page) with rows=1000: total time,
  each page's time (first and last printed: the last must not be slower than the first),
  every dataset seen exactly once;
* dump: ``ckanapi dump datasets --all -p 4`` (``package_list`` and then ``package_show``
  for every dataset, 4 processes): wall time, every line a listed dataset.

Targets: search p99 < 100 ms; the full harvest of 10,000 in < 60 s.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run (under a minute).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENGINES,
    SMOKE,
    child_arguments,
    engine_of,
    free_port,
    percentile,
    run_per_database,
    setup_django,
    start_server,
    stop_server,
    table,
    wait_until_up,
)

PUBLICATIONS = int(
    os.environ.get("BENCH_CKAN_PUBLICATIONS")  # noqa: TID251 - the bench's own switch
    or (200 if SMOKE else 10_000)
)
SEARCHES = 30 if SMOKE else 300
WARM_UP = 5
HARVEST_ROWS = 1000
DUMP_PROCESSES = 4
SERVER_WORKERS = 2
SERVER_THREADS = 4
SEED = 18
FACETS = ["organization", "tags", "res_format", "license_id", "groups"]
SEARCH_TARGET_MS = 100.0
HARVEST_TARGET_S = 60.0

SUBJECTS = [
    "verkeerstellingen",
    "fietstellingen",
    "luchtkwaliteit",
    "geluidsmetingen",
    "parkeerbezetting",
    "afvalophaling",
    "bevolking",
    "bouwvergunningen",
    "begroting",
    "energieverbruik",
    "zonnepanelen",
    "laadpalen",
    "bibliotheekuitleningen",
    "zwembadbezoekers",
    "meldingen",
    "straatverlichting",
    "bomen",
    "speelpleinen",
    "wegenwerken",
    "evenementen",
    "subsidies",
    "kinderopvang",
    "scholen",
    "woningen",
    "huurprijzen",
    "ondernemingen",
    "markten",
    "waterpeil",
    "neerslag",
    "temperatuur",
]
QUALIFIERS = [
    "per uur",
    "per dag",
    "per maand",
    "per jaar",
    "per wijk",
    "per straat",
    "per deelgemeente",
    "in het centrum",
    "langs de Leie",
    "aan de scholen",
]
WORDS = [
    "tellingen",
    "metingen",
    "gegevens",
    "overzicht",
    "aantal",
    "gemiddelde",
    "fietsers",
    "voetgangers",
    "auto's",
    "vrachtwagens",
    "bezoekers",
    "inwoners",
    "gezinnen",
    "kilo",
    "liter",
    "euro",
    "uren",
    "locaties",
    "sensoren",
    "camera's",
    "stations",
]
KEYWORDS = [
    "mobiliteit",
    "verkeer",
    "fiets",
    "milieu",
    "lucht",
    "geluid",
    "afval",
    "energie",
    "klimaat",
    "wonen",
    "onderwijs",
    "cultuur",
    "sport",
    "economie",
    "welzijn",
    "water",
    "groen",
    "veiligheid",
    "toerisme",
    "bestuur",
    "financiën",
    "openbare werken",
]
THEMES = ["TRAN", "ENVI", "ENER", "SOCI", "ECON", "EDUC", "GOVE", "REGI", "HEAL"]
LICENCES = ["CC-BY-4.0", "CC-BY-4.0", "CC0-1.0", "MLGH", "CC-BY-NC-4.0"]
LICENCE_URIS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "MLGH": "https://data.vlaanderen.be/doc/licentie/modellicentie-gratis-hergebruik/v1.0",
}
FREQUENCIES = ["DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "HOURLY", "IRREG"]
COLUMN_NAMES = [
    ("datum", "date"),
    ("uur", "timestamp"),
    ("aantal", "integer"),
    ("waarde", "decimal"),
    ("straat", "text"),
    ("wijk", "text"),
    ("latitude", "decimal"),
    ("longitude", "decimal"),
]


# --- Making the catalogue -----------------------------------------------------------------


def search_parts(publication: Any) -> list[str]:
    """What ``opendata.services.reindex`` indexes of a publication (checked below)."""
    return [
        publication.title,
        publication.description,
        " ".join(str(k) for k in publication.keywords),
        publication.publisher.name,
        *(
            " ".join(str(c.get(k, "")) for k in ("key", "label", "description"))
            for c in publication.columns
        ),
    ]


def generate(label: str, n: int) -> list[str]:
    """``n`` listed publications, bulk-created with their datasets, search text and
    facets; return their names."""
    from django.db import connection, transaction

    from regiohub.core.models import Organisation
    from regiohub.datasets.models import Dataset
    from regiohub.opendata import search, services
    from regiohub.opendata.models import Publication, PublicationFacet

    rng = random.Random(SEED)
    towns = list(Organisation.objects.filter(nis_code__isnull=False).order_by("code"))
    now = datetime.now(UTC)
    started = time.perf_counter()
    local = n - n // 10
    publications: list[Publication] = []
    datasets: list[Dataset] = []
    for i in range(n):
        town = rng.choice(towns)
        subject = rng.choice(SUBJECTS)
        title = f"{subject.capitalize()} {rng.choice(QUALIFIERS)} {town.name} {i}"
        slug = f"{subject}-{town.code.lower()}-{i}"
        description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize()
        theme = rng.choice(THEMES)
        licence = rng.choice(LICENCES)
        columns = [
            {
                "key": key,
                "label": key.capitalize(),
                "type": kind,
                "unit": "",
                "description": "",
                "role": "latitude"
                if key == "latitude"
                else "longitude"
                if key == "longitude"
                else "",
            }
            for key, kind in rng.sample(COLUMN_NAMES, rng.randint(3, 8))
        ]
        modified = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        is_local = i < local
        if is_local:
            datasets.append(
                Dataset(
                    slug=slug[:80],
                    title=title[:200],
                    description=description,
                    owner=town,
                    theme=theme,
                    licence=licence,
                    access="open",
                    storage_key=uuid.uuid4().hex,
                )
            )
        publications.append(
            Publication(
                source="local" if is_local else "harvested",
                slug=slug,
                identifier=f"{town.code}/{slug}",
                landing_page="" if is_local else f"https://data.example.org/{slug}",
                publisher=town,
                state="published",
                keywords=rng.sample(KEYWORDS, rng.randint(1, 5)),
                contact_name="Dienst Data",
                contact_email=f"data@{town.code.lower()}.example",
                frequency=rng.choice(FREQUENCIES),
                places=[town.nis_code],
                title=title,
                description=description,
                theme=theme,
                licence=licence,
                licence_uri=LICENCE_URIS[licence],
                open=True,
                version=1 if is_local else None,
                rows=rng.randint(10, 10**6),
                columns=columns if is_local else [],
                distributions=[]
                if is_local
                else [
                    {
                        "title": "CSV",
                        "url": f"https://data.example.org/{slug}.csv",
                        "format": "CSV",
                        "media_type": "text/csv",
                    }
                ],
                issued=modified - timedelta(days=rng.randint(0, 400)),
                modified=modified,
                downloads=rng.randint(0, 5000),
                published_at=modified,
            )
        )
    with transaction.atomic():
        Dataset.objects.bulk_create(datasets, batch_size=1000)
        ids = dict(Dataset.objects.values_list("slug", "pk"))
        for publication in publications[:local]:
            publication.dataset_id = ids[publication.slug[:80]]
            publication.search_text = search.index_text(search_parts(publication))
        for publication in publications[local:]:
            publication.search_text = search.index_text(search_parts(publication))
        Publication.objects.bulk_create(publications, batch_size=1000)
        stored = list(Publication.objects.select_related("publisher").order_by("pk"))
        facets = [
            PublicationFacet(publication=p, facet=facet, value=value)
            for p in stored
            for facet, value in services._facets(p)
        ]
        PublicationFacet.objects.bulk_create(facets, batch_size=5000)
        for p in stored:
            search.store(p.pk, p.search_text)
    made = time.perf_counter() - started
    # The bulk path writes what reindex writes.
    sample = stored[:: max(1, len(stored) // 20)]
    expected = {p.pk: (p.search_text, sorted(services._facets(p))) for p in sample}
    with transaction.atomic():
        for p in sample:
            services.reindex(p)
    for p in sample:
        again = Publication.objects.get(pk=p.pk).search_text
        rows = sorted(PublicationFacet.objects.filter(publication=p).values_list("facet", "value"))
        assert (again, rows) == expected[p.pk], f"bulk index differs from reindex for {p.slug}"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM (ANALYZE)")
    print(
        f"[{label}] made {n:,} publications ({local:,} local, {n - local:,} harvested) and "
        f"{len(facets):,} facet rows in {made:.1f} s",
        flush=True,
    )
    return [p.slug for p in stored]


# --- Over HTTP ---------------------------------------------------------------------------


def searches(rng: random.Random, n: int) -> list[dict[str, str]]:
    found = []
    for i in range(n):
        words = rng.sample(SUBJECTS + WORDS + KEYWORDS, rng.choice([1, 1, 2]))
        parameters = {"q": " ".join(words), "facet.field": json.dumps(FACETS), "rows": "10"}
        if i % 3 == 0:
            parameters["fq"] = f"organization:{rng.choice(['kor', 'war', 'men', 'har', 'wev'])}"
        found.append(parameters)
    return found


def search_latencies(base: str, label: str) -> dict[str, Any]:
    import requests

    rng = random.Random(SEED + 1)
    plan = searches(rng, SEARCHES + WARM_UP)
    latencies = []
    results = []
    with requests.Session() as session:
        for i, parameters in enumerate(plan):
            started = time.perf_counter()
            response = session.get(
                f"{base}/api/3/action/package_search", params=parameters, timeout=60
            )
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json()
            if response.status_code != 200 or not body.get("success"):
                raise RuntimeError(
                    f"search {parameters}: {response.status_code} {response.text[:300]}"
                )
            if set(body["result"]["search_facets"]) != set(FACETS):
                raise RuntimeError(f"facets missing: {list(body['result']['search_facets'])}")
            if i >= WARM_UP:
                latencies.append(elapsed)
                results.append(body["result"]["count"])
    result = {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "mean_count": sum(results) / len(results),
    }
    print(
        f"[{label}] package_search with 5 facets: p50 {result['p50']:.1f} ms, "
        f"p99 {result['p99']:.1f} ms ({len(latencies)} searches, "
        f"{result['mean_count']:.0f} matches on average)",
        flush=True,
    )
    return result


def harvest(base: str, label: str, expected: set[str]) -> dict[str, Any]:
    """CKAN's harvester loop (ckanext-harvest ``_search_for_datasets``) with rows=1000."""
    import requests

    parameters = {"rows": str(HARVEST_ROWS), "start": "0", "sort": "id asc"}
    pages: list[float] = []
    seen: list[str] = []
    previous = None
    started = time.perf_counter()
    with requests.Session() as session:
        while True:
            asked = time.perf_counter()
            response = session.get(
                f"{base}/api/3/action/package_search?{urlencode(parameters)}", timeout=120
            )
            content = response.text
            pages.append(time.perf_counter() - asked)
            if response.status_code != 200:
                raise RuntimeError(f"harvest page: {response.status_code} {content[:300]}")
            if previous is not None and content == previous:
                raise RuntimeError("the paging does not seem to work")
            previous = content
            page = json.loads(content)["result"]["results"]
            seen += [p["name"] for p in page]
            if not page:
                break
            parameters["start"] = str(int(parameters["start"]) + HARVEST_ROWS)
    total = time.perf_counter() - started
    if len(seen) != len(set(seen)) or set(seen) != expected:
        raise RuntimeError(
            f"harvest saw {len(seen)} ({len(set(seen))} distinct) of {len(expected)}"
        )
    full = pages[:-1] or pages  # the last request is the empty page
    result = {
        "total_s": total,
        "pages": len(full),
        "first_ms": full[0] * 1000,
        "last_ms": full[-1] * 1000,
        "per_page_ms": sum(full) / len(full) * 1000,
    }
    print(
        f"[{label}] harvest of {len(seen):,} datasets, rows={HARVEST_ROWS}, sort=id asc: "
        f"{total:.1f} s, {result['pages']} pages, {result['per_page_ms']:.0f} ms per page "
        f"(first {result['first_ms']:.0f} ms, last {result['last_ms']:.0f} ms)",
        flush=True,
    )
    return result


def dump(base: str, label: str, expected: set[str]) -> dict[str, Any]:
    out = Path(os.environ["REGIOHUB_DATA_DIR"]) / "dump.jsonl"
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}  # noqa: TID251
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [
            str(venv_bin / "ckanapi"),
            "dump",
            "datasets",
            "--all",
            "-r",
            base,
            "-q",
            "-p",
            str(DUMP_PROCESSES),
            "-O",
            str(out),
        ],
        env=env,
        capture_output=True,
        timeout=3600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"ckanapi dump failed: {done.stderr.decode()[-2000:]}")
    names = [json.loads(line)["name"] for line in out.read_text().splitlines()]
    if sorted(names) != sorted(expected):
        raise RuntimeError(f"ckanapi dump wrote {len(names)} datasets of {len(expected)}")
    print(
        f"[{label}] ckanapi dump datasets --all -p {DUMP_PROCESSES}: {elapsed:.1f} s "
        f"({len(names) / elapsed:,.0f} datasets/s)",
        flush=True,
    )
    return {"dump_s": elapsed}


# --- One database ------------------------------------------------------------------------


def child(url: str, results_path: Path) -> None:
    setup_django()
    from django.db import connections

    from regiohub.core.demo.region import load_region

    label = engine_of(url)
    load_region()
    names = set(generate(label, PUBLICATIONS))
    connections.close_all()  # SQLite: no open connection of ours next to the server's
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(os.environ["REGIOHUB_DATA_DIR"]) / "server.log"
    server = start_server(url, port, log, workers=SERVER_WORKERS, threads=SERVER_THREADS)
    try:
        boot = wait_until_up(server, f"{base}/api/3/action/status_show", log)
        print(
            f"[{label}] regiohub serve up in {boot:.1f} s ({SERVER_WORKERS} workers x "
            f"{SERVER_THREADS} threads)",
            flush=True,
        )
        results = {
            "search": search_latencies(base, label),
            "harvest": harvest(base, label, names),
            "dump": dump(base, label, names),
        }
    finally:
        stop_server(server)
    results_path.write_text(json.dumps(results))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"CKAN Action API over HTTP on {PUBLICATIONS:,} publications", flush=True)
    results = run_per_database(__file__)
    engines = [e for e in ENGINES if e in results]
    rows = [
        [
            "package_search + 5 facets p50 (ms)",
            *(f"{results[e]['search']['p50']:.1f}" for e in engines),
        ],
        [
            "package_search + 5 facets p99 (ms)",
            *(f"{results[e]['search']['p99']:.1f}" for e in engines),
        ],
        [
            f"harvest, rows={HARVEST_ROWS} (s)",
            *(f"{results[e]['harvest']['total_s']:.1f}" for e in engines),
        ],
        [
            "harvest: first page (ms)",
            *(f"{results[e]['harvest']['first_ms']:.0f}" for e in engines),
        ],
        ["harvest: last page (ms)", *(f"{results[e]['harvest']['last_ms']:.0f}" for e in engines)],
        [
            f"ckanapi dump -p {DUMP_PROCESSES} (s)",
            *(f"{results[e]['dump']['dump_s']:.1f}" for e in engines),
        ],
    ]
    print()
    print(table(["", *engines], rows))
    if not SMOKE:
        for engine in engines:
            search_p99 = results[engine]["search"]["p99"]
            harvest_s = results[engine]["harvest"]["total_s"]
            verdict = (
                "met"
                if search_p99 < SEARCH_TARGET_MS and harvest_s < HARVEST_TARGET_S
                else "MISSED"
            )
            print(
                f"[{engine}] targets (search p99 < {SEARCH_TARGET_MS:.0f} ms, harvest < "
                f"{HARVEST_TARGET_S:.0f} s): {verdict}"
            )


if __name__ == "__main__":
    main()
