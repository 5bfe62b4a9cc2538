"""How fast does the open data portal's catalogue answer, with 10,000 datasets?

The data: 10,000 open datasets (BENCH_SMOKE=1: 300; BENCH_OPENDATA_DATASETS overrides) of
the 13 municipalities, each described and published on the portal: generated Dutch titles
and descriptions from a vocabulary of municipal data (verkeer, afval, bevolking…),
keywords, columns, themes, licences, frequencies and places. The data platform's dataset
rows are bulk-created (no files: the catalogue never reads them), the portal's rows, search
index and facets through ``opendata.services.reindex`` as a refresh would; on PostgreSQL the
tables are then analysed, as autovacuum does within a minute of such a load (before it, the
planner guesses and a facet filter takes ~130 ms instead of ~10).

Timed, on SQLite (the embedded default) and PostgreSQL, each in its own throwaway
database:

* **search in process**: ``queries.search_catalogue`` with facets, for one-word,
  two-word and prefix questions, a facet filter, and no question (sorted by date);
* **the catalogue page over HTTP**: ``GET /open/?q=…`` against ``regiohub serve``
  (gunicorn, 2 workers), the whole HTML page with its facets;
* **the DCAT-AP feed**: ``GET /catalog.ttl?page=N`` (100 datasets a page), the first, a
  middle and the last page: the time per page must not grow with the page number.

Printed: p50/p99 per question and engine. Target (issue 18): catalogue search p99 under
100 ms. Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SMOKE,
    child_arguments,
    free_port,
    latencies_ms,
    percentile,
    run_per_database,
    setup_django,
    start_server,
    stop_server,
    table,
    wait_until_up,
)

COUNT = int(
    os.environ.get("BENCH_OPENDATA_DATASETS")  # noqa: TID251 - the bench's own switch
    or (300 if SMOKE else 10_000)
)
REPEAT = 10 if SMOKE else 100
TOWNS = [
    ("AVE", "Avelgem", "34003"), ("DEE", "Deerlijk", "34009"), ("HAR", "Harelbeke", "34013"),
    ("KOR", "Kortrijk", "34022"), ("KUU", "Kuurne", "34023"), ("LEN", "Lendelede", "34025"),
    ("MEN", "Menen", "34027"), ("SPI", "Spiere-Helkijn", "34043"), ("WAR", "Waregem", "34040"),
    ("WEV", "Wevelgem", "34041"), ("WER", "Wervik", "33029"), ("ZWE", "Zwevegem", "34042"),
    ("ANZ", "Anzegem", "34002"),
]  # fmt: skip
SUBJECTS = [
    ("Verkeerstellingen", "TRAN", ["verkeer", "fietsers", "auto's", "tellingen"]),
    ("Afvalophaling", "ENVI", ["afval", "huisvuil", "recyclage", "containerpark"]),
    ("Bevolking", "SOCI", ["bevolking", "inwoners", "leeftijd", "geboorten"]),
    ("Fiscale inkomens", "ECON", ["inkomen", "belastingen", "statbel"]),
    ("Parkeerplaatsen", "TRAN", ["parkeren", "parking", "bezetting"]),
    ("Luchtkwaliteit", "ENVI", ["lucht", "fijnstof", "meetstation"]),
    ("Bibliotheekuitleningen", "EDUC", ["bibliotheek", "boeken", "uitleningen"]),
    ("Subsidies", "GOVE", ["subsidie", "verenigingen", "toelagen"]),
    ("Energieverbruik gebouwen", "ENER", ["energie", "elektriciteit", "gas"]),
    ("Speelpleinen", "SOCI", ["spelen", "kinderen", "speelterrein"]),
]
QUESTIONS = [
    ("one word", "fietsers", {}),
    ("two words", "verkeer tellingen", {}),
    ("prefix", "bibliot", {}),
    ("facet filter", "", {"publisher": ["KOR"], "theme": ["TRAN"]}),
    ("word + facets", "afval", {"place": ["34042"]}),
    ("everything, by date", "", {}),
]


def build() -> None:
    """``COUNT`` open datasets, described and published on the portal."""
    from django.db import transaction

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.datasets.models import Dataset
    from regiohub.opendata import services
    from regiohub.opendata.models import Publication

    rng = random.Random(2026)
    towns = [
        Organisation.objects.create(
            kind=OrganisationKind.MUNICIPALITY, code=code, name=name, nis_code=nis
        )
        for code, name, nis in TOWNS
    ]
    licences = [
        ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
        ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("MLGH", "https://data.vlaanderen.be/doc/licentie/modellicentie-gratis-hergebruik/v1.0"),
    ]
    frequencies = ["DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG"]
    started = time.perf_counter()
    with transaction.atomic():
        datasets = Dataset.objects.bulk_create(
            Dataset(
                slug=f"set-{n}",
                title=f"set {n}",
                owner=towns[n % len(towns)],
                theme="TRAN",
                access="open",
                storage_key=f"bench{n:08d}",
            )
            for n in range(COUNT)
        )
        publications = []
        for n, dataset in enumerate(datasets):
            town = towns[n % len(towns)]
            title, theme, words = SUBJECTS[rng.randrange(len(SUBJECTS))]
            licence, uri = licences[rng.randrange(len(licences))]
            year = 2015 + n % 11
            publications.append(
                Publication(
                    dataset_id=dataset.pk,
                    slug=dataset.slug,
                    identifier=f"{town.code}/{dataset.slug}",
                    publisher=town,
                    state="published",
                    open=True,
                    title=f"{title} {town.name} {year}",
                    description=(
                        f"{title} in {town.name} voor {year}, per wijk en per maand, "
                        f"bijgehouden door de dienst {rng.choice(words)}."
                    ),
                    theme=theme,
                    licence=licence,
                    licence_uri=uri,
                    keywords=rng.sample(words, k=min(2, len(words))),
                    contact_email="data@example.org",
                    frequency=rng.choice(frequencies),
                    places=[town.nis_code],
                    version=1,
                    rows=rng.randrange(100, 1_000_000),
                    columns=[
                        {"key": "wijk", "label": "Wijk", "type": "text"},
                        {"key": "maand", "label": "Maand", "type": "date", "role": "time"},
                        {"key": "aantal", "label": "Aantal", "type": "integer"},
                    ],
                    downloads=rng.randrange(0, 5000),
                )
            )
        Publication.objects.bulk_create(publications, batch_size=1000)
        for publication in Publication.objects.select_related("publisher").iterator():
            services.reindex(publication)
    from django.db import connection

    if connection.vendor == "postgresql":  # what autovacuum does within a minute
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"  {COUNT:,} datasets built and indexed in {time.perf_counter() - started:.1f} s")


def child(url: str, results: Path) -> None:
    import json

    import requests

    setup_django()
    from django.db import connections

    from regiohub.opendata import queries

    build()
    figures: dict[str, Any] = {}
    for name, question, chosen in QUESTIONS:
        page = queries.search_catalogue(question, chosen=chosen)
        samples = latencies_ms(
            lambda q=question, c=chosen: queries.search_catalogue(q, chosen=c), REPEAT
        )
        figures[f"in process: {name}"] = (
            percentile(samples, 50),
            percentile(samples, 99),
            page.total,
        )
    connections.close_all()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = Path(os.environ["REGIOHUB_DATA_DIR"])
    server = start_server(url, port, folder / "serve.log", workers=2, threads=2)
    try:
        wait_until_up(server, f"{base}/open/", folder / "serve.log")
        session = requests.Session()
        for name, question, chosen in QUESTIONS:
            params: list[tuple[str, str]] = [("q", question)] if question else []
            params += [(k, v) for k, values in chosen.items() for v in values]

            def page(p: list[tuple[str, str]] = params) -> None:
                answer = session.get(f"{base}/open/", params=p, timeout=60)
                answer.raise_for_status()

            page()
            samples = latencies_ms(page, REPEAT)
            figures[f"HTTP page: {name}"] = (percentile(samples, 50), percentile(samples, 99), "")
        pages = max(1, -(-COUNT // 100))
        for label, number in (("first", 1), ("middle", max(1, pages // 2)), ("last", pages)):

            def feed(n: int = number) -> None:
                answer = session.get(f"{base}/catalog.ttl", params={"page": n}, timeout=120)
                answer.raise_for_status()

            feed()
            samples = latencies_ms(feed, max(3, REPEAT // 10))
            figures[f"DCAT feed page {number} ({label})"] = (
                percentile(samples, 50),
                percentile(samples, 99),
                "",
            )
    finally:
        stop_server(server)
    results.write_text(json.dumps(figures))


def main() -> None:
    arguments = child_arguments()
    if arguments is not None:
        child(*arguments)
        return
    print(f"The open data catalogue with {COUNT:,} datasets: search and the DCAT-AP feed")
    results = run_per_database(__file__)
    names = list(next(iter(results.values())).keys()) if results else []
    rows = []
    for name in names:
        row = [name]
        for engine in results:
            p50, p99, total = results[engine][name]
            row.append(f"{p50:.1f} / {p99:.1f}" + (f" ({total})" if total != "" else ""))
        rows.append(row)
    print(table(["question (ms p50 / p99, matches)", *results.keys()], rows))
    worst = max(
        (v[1] for r in results.values() for k, v in r.items() if "DCAT" not in k), default=0.0
    )
    print(f"worst search p99: {worst:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
