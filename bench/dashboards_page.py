"""How fast is a dashboard page, cold and warm, next to the same queries run by hand?

The data: the datasets benchmark's Telraam-shaped table (``datasets_query.generate`` and
``publish``: 5,708 segments x 8,760 hours of 2025 = 50,002,080 rows, one open dataset
version; BENCH_SMOKE=1: 12 x 4,200 = 50,400 rows; BENCH_DATASETS_SEGMENTS overrides) and
the map benchmark's year of reports (``meldpunt_map.load``: 1,000,000, BENCH_SMOKE=1:
2,000, BENCH_DASHBOARDS_REPORTS overrides), here the year 2025 so both cover the same
months. The database is a throwaway one: SQLite (a temp file, WAL) or, when DATABASE_URL
names PostgreSQL, a new database on BENCH_PG_URL.

The dashboards (saved through ``services.save_definition``, as a file would be):

* ``bench-telraam``: 8 charts over the counts (hour-of-day profile, weekday profile, per
  day, per month, median V85 per day of one segment, the top 10 segments, the sums per
  mode, per month and direction);
* ``bench-12``: those 8, three over ``meldpunt: report_counts`` (per month, per subject,
  per channel) and the reports map (``district_counts`` per month): 12 charts;
* ``bench-20``: those 12 and 8 more (5 over the counts, 3 over the reports);
* ``bench-kaart``: the public reports map alone (as citizens see it, small cells hidden).

Measured, for the region's agent (the internal dashboards) or anonymously (the map):

* **cold page**: ``pages.page`` with the figures' caches empty (``cache.reset()`` and
  ``caches["default"].clear()``) and the data platform's answer cache off
  (REGIOHUB_DATASETS_QUERY_CACHE=0), each run with another period (13 weeks starting a
  week later each time; BENCH_SMOKE=1: 8 weeks), so every query is asked afresh;
* **raw**: the 8 queries of ``bench-telraam`` written by hand as DuckDB SQL over the same
  Parquet files (a connection with DuckDB's defaults, time zone Brussels) plus the same
  rendering (``charts.render_svg`` on the rows), for the same periods, taking turns with
  ours; before timing, both answers are compared (keys equal, numbers within 1e-9);
* per chart of ``bench-telraam``: ``figures.figure`` against its raw query + rendering;
* **warm page**: the same filters again, ``pages.page`` and the whole HTML page through
  Django's test Client (``GET /dashboards/<slug>/``; also the conditional GET, 304);
* **one timelapse frame**: ``GET ?frame=<month>`` of the public map page and of the
  internal map chart's page, cold (caches emptied, another month each time) and warm;
* **exports**: the CSV and PNG of one chart and the whole dashboard's PDF, with the
  figures cached (warm) and not (cold);
* where the time goes (cProfile): one cold ``bench-12`` page, one warm ``bench-20`` page
  over HTTP and one warm frame of the public map.

Targets of issue 20: warm page p99 < 50 ms, timelapse frame p99 < 100 ms, cold page
<= 1.5x the raw queries plus rendering. Timings never fail the run; a page that errors or
a figure without a picture, rows or summary does (exit status 1).

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SMOKE,
    engine_of,
    percentile,
    setup_django,
    table,
    throwaway_database,
)
from datasets_query import HOURS, ONE, ROWS, SEGMENTS, SLUG, TOWN, generate, publish, same

REPORTS = int(
    os.environ.get("BENCH_DASHBOARDS_REPORTS")  # noqa: TID251 - the bench's own switch
    or (2_000 if SMOKE else 1_000_000)
)
#: The reports' year ends here: 2025, the year of the counts.
REPORTS_END = datetime(2026, 1, 1, tzinfo=UTC)
COLD_RUNS = 2 if SMOKE else 20
PER_CHART_RUNS = 1 if SMOKE else 8
WARM_RUNS = 5 if SMOKE else 300
EXPORT_RUNS = 1 if SMOKE else 10
BUDGET_S = 15.0 if SMOKE else 150.0  # per measurement; stops early after MINIMUM runs
MINIMUM = 1 if SMOKE else 8
WINDOW_DAYS = 56 if SMOKE else 91
YEAR = (date(2025, 1, 1), date(2025, 6, 30) if SMOKE else date(2025, 12, 31))
LANGUAGE = "nl"
TARGET_WARM_MS, TARGET_FRAME_MS, TARGET_RATIO = 50.0, 100.0, 1.5
TOWN_SQL = ", ".join(str(s) for s in TOWN)
TOWN_PARAM = ",".join(str(s) for s in TOWN)


# --- The charts -------------------------------------------------------------------------


def _text(words: str) -> dict[str, str]:
    return {"nl": words, "fr": words, "en": words}


def _spec(x: dict[str, Any], fields: list[str], mark: Any = "line") -> dict[str, Any]:
    """One series as ``mark``, or several folded into one with a colour each."""
    if len(fields) == 1:
        y = {"field": fields[0], "type": "quantitative"}
        return {"mark": mark, "encoding": {"x": x, "y": y}}
    return {
        "transform": [{"fold": fields, "as": ["reeks", "aantal"]}],
        "mark": mark,
        "encoding": {
            "x": x,
            "y": {"field": "aantal", "type": "quantitative"},
            "color": {"field": "reeks", "type": "nominal", "title": None},
        },
    }


DAY = {"field": "hour", "type": "temporal", "title": "Dag"}
MONTH = {"field": "hour", "type": "temporal", "timeUnit": "yearmonth", "title": "Maand"}
WEEK = {"field": "hour", "type": "temporal", "title": "Week"}
HOUR_OF_DAY = {"field": "hour", "type": "ordinal", "title": "Uur van de dag"}
WEEKDAY = {"field": "hour", "type": "ordinal", "title": "Weekdag (1 = maandag)"}
PERIOD = "WHERE hour >= TIMESTAMPTZ '{start}' AND hour < TIMESTAMPTZ '{stop}'"


@dataclass(frozen=True)
class CountChart:
    """A chart over the counts: its query-API parameters and the same question in
    DuckDB SQL (``{files}``, ``{start}`` and ``{stop}`` filled in per run)."""

    slug: str
    title: str
    params: dict[str, str]
    columns: list[str]
    spec: dict[str, Any]
    sql: str

    def definition(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": _text(self.title),
            "caption": _text(f"{self.title} (benchmark)."),
            "query": {"dataset": SLUG, "params": self.params},
            "filter_columns": {"period": "hour"},
            "columns": self.columns,
            "spec": self.spec,
        }


def _sql(select: str, rest: str = "GROUP BY ALL ORDER BY 1", where: str = "") -> str:
    return f"SELECT {select} FROM read_parquet({{files}}) {PERIOD} {where} {rest}"


HOD = "CAST(extract('hour' FROM hour) AS INTEGER) AS hour"
DOW = "CAST(isodow(hour) AS INTEGER) AS hour"

#: The 8 charts over the counts of ``bench-telraam`` (and of the bigger dashboards).
COUNTS = [
    CountChart(
        "uur-van-de-dag", "Verkeer per uur van de dag",
        {"bucket": "hour:hour_of_day", "agg": "avg:pedestrian,avg:bike,avg:car,avg:heavy"},
        ["hour", "avg_pedestrian", "avg_bike", "avg_car", "avg_heavy"],
        _spec(HOUR_OF_DAY, ["avg_pedestrian", "avg_bike", "avg_car", "avg_heavy"]),
        _sql(f"{HOD}, avg(pedestrian), avg(bike), avg(car), avg(heavy)"),
    ),
    CountChart(
        "weekdag", "Weekdagprofiel",
        {"bucket": "hour:weekday", "agg": "avg:bike,avg:car"},
        ["hour", "avg_bike", "avg_car"],
        _spec(WEEKDAY, ["avg_bike", "avg_car"], "bar"),
        _sql(f"{DOW}, avg(bike), avg(car)"),
    ),
    CountChart(
        "per-dag", "Fietsers en auto's per dag",
        {"bucket": "hour:day", "agg": "sum:bike,sum:car"},
        ["hour", "sum_bike", "sum_car"],
        _spec(DAY, ["sum_bike", "sum_car"]),
        _sql("date_trunc('day', hour) AS hour, sum(bike), sum(car)"),
    ),
    CountChart(
        "per-maand", "Verkeer per maand",
        {"bucket": "hour:month", "agg": "sum:car,sum:bike,sum:heavy"},
        ["hour", "sum_car", "sum_bike", "sum_heavy"],
        _spec(MONTH, ["sum_car", "sum_bike", "sum_heavy"], "bar"),
        _sql("date_trunc('month', hour) AS hour, sum(car), sum(bike), sum(heavy)"),
    ),
    CountChart(
        "v85", "Snelheid (V85), mediaan per dag",
        {"bucket": "hour:day", "agg": "median:v85", "segment_id": str(ONE)},
        ["hour", "median_v85"],
        _spec(DAY, ["median_v85"]),
        _sql("date_trunc('day', hour) AS hour, quantile_cont(v85, 0.5)",
             where=f"AND segment_id = {ONE}"),
    ),
    CountChart(
        "top-segmenten", "De 10 drukste segmenten",
        {"group_by": "segment_id", "agg": "sum:car", "order": "-sum_car", "limit": "10"},
        ["segment_id", "sum_car"],
        {"mark": "bar", "encoding": {
            "y": {"field": "segment_id", "type": "nominal", "sort": "-x"},
            "x": {"field": "sum_car", "type": "quantitative"}}},
        _sql("segment_id, sum(car)", "GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 10"),
    ),
    CountChart(
        "per-modus", "Totaal per soort weggebruiker",
        {"agg": "sum:pedestrian,sum:bike,sum:car,sum:heavy"},
        ["sum_pedestrian", "sum_bike", "sum_car", "sum_heavy"],
        {"transform": [{"fold": ["sum_pedestrian", "sum_bike", "sum_car", "sum_heavy"],
                        "as": ["reeks", "aantal"]}],
         "mark": "bar", "encoding": {
            "y": {"field": "reeks", "type": "nominal", "sort": "-x"},
            "x": {"field": "aantal", "type": "quantitative"}}},
        _sql("sum(pedestrian), sum(bike), sum(car), sum(heavy)", ""),
    ),
    CountChart(
        "per-richting", "Auto's per maand en richting",
        {"bucket": "hour:month", "group_by": "direction", "agg": "sum:car_lft,sum:car_rgt"},
        ["hour", "direction", "sum_car_lft", "sum_car_rgt"],
        {"mark": "bar", "encoding": {
            "x": MONTH, "y": {"field": "sum_car_lft", "type": "quantitative"},
            "color": {"field": "direction", "type": "nominal"}}},
        _sql("date_trunc('month', hour) AS hour, direction, sum(car_lft), sum(car_rgt)",
             "GROUP BY ALL ORDER BY 1, 2"),
    ),
]  # fmt: skip

#: Five more over the counts for ``bench-20``.
MORE_COUNTS = [
    CountChart(
        "uur-gemeente", "Per uur van de dag, 10 segmenten",
        {"bucket": "hour:hour_of_day", "agg": "avg:bike,avg:car", "segment_id__in": TOWN_PARAM},
        ["hour", "avg_bike", "avg_car"],
        _spec(HOUR_OF_DAY, ["avg_bike", "avg_car"]),
        _sql(f"{HOD}, avg(bike), avg(car)", where=f"AND segment_id IN ({TOWN_SQL})"),
    ),
    CountChart(
        "weekdag-segment", "Weekdagprofiel van een segment",
        {"bucket": "hour:weekday", "agg": "avg:car", "segment_id": str(ONE)},
        ["hour", "avg_car"],
        _spec(WEEKDAY, ["avg_car"], "bar"),
        _sql(f"{DOW}, avg(car)", where=f"AND segment_id = {ONE}"),
    ),
    CountChart(
        "v85-p90-week", "V85, 90e percentiel per week, 10 segmenten",
        {"bucket": "hour:week", "agg": "p90:v85", "segment_id__in": TOWN_PARAM},
        ["hour", "p90_v85"],
        _spec(WEEK, ["p90_v85"]),
        _sql("date_trunc('week', hour) AS hour, quantile_cont(v85, 0.9)",
             where=f"AND segment_id IN ({TOWN_SQL})"),
    ),
    CountChart(
        "zwaar-per-dag", "Zwaar verkeer per dag, 10 segmenten",
        {"bucket": "hour:day", "agg": "sum:heavy,max:heavy", "segment_id__in": TOWN_PARAM},
        ["hour", "sum_heavy", "max_heavy"],
        _spec(DAY, ["sum_heavy"]),
        _sql("date_trunc('day', hour) AS hour, sum(heavy), max(heavy)",
             where=f"AND segment_id IN ({TOWN_SQL})"),
    ),
    CountChart(
        "top-fiets", "De 10 segmenten met de meeste fietsers",
        {"group_by": "segment_id", "agg": "sum:bike", "order": "-sum_bike", "limit": "10"},
        ["segment_id", "sum_bike"],
        {"mark": "bar", "encoding": {
            "y": {"field": "segment_id", "type": "nominal", "sort": "-x"},
            "x": {"field": "sum_bike", "type": "quantitative"}}},
        _sql("segment_id, sum(bike)", "GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 10"),
    ),
]  # fmt: skip


def _reports(slug: str, title: str, question: str, by: str, columns: list[str]) -> dict:
    """A chart over the contact point's counts: over time (``key`` a date) or per group."""
    value = columns[1]
    if by in ("month", "day"):
        x = {"field": "key", "type": "temporal", "timeUnit": "yearmonth", "title": "Maand"}
        spec = _spec(x, columns[1:])
    else:
        spec = {"mark": "bar", "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": "-x"},
            "x": {"field": value, "type": "quantitative"}}}  # fmt: skip
    return {
        "slug": slug,
        "title": _text(title),
        "caption": _text(f"{title} (benchmark)."),
        "query": {"meldpunt": question, "params": {"by": by}},
        "columns": columns if by in ("month", "day") else ["label", *columns[1:]],
        "spec": spec,
    }


REPORT_CHARTS = [
    _reports("meldingen-per-maand", "Meldingen per maand", "report_counts", "month",
             ["key", "count", "open"]),
    _reports("meldingen-per-onderwerp", "Meldingen per onderwerp", "report_counts", "category",
             ["key", "count", "open"]),
    _reports("meldingen-per-kanaal", "Meldingen per kanaal", "report_counts", "channel",
             ["key", "count"]),
]  # fmt: skip
MORE_REPORT_CHARTS = [
    _reports("sla-per-maand", "Op tijd opgelost, per maand", "sla_outcomes", "month",
             ["key", "resolved_on_time", "resolved_late"]),
    _reports("meldingen-per-gemeente", "Meldingen per gemeente", "report_counts",
             "municipality", ["key", "count", "open"]),
    _reports("meldingen-per-status", "Meldingen per status", "report_counts", "status",
             ["key", "count"]),
]  # fmt: skip
MAP = {
    "slug": "kaart",
    "kind": "map",
    "title": _text("Meldingen per wijk"),
    "caption": _text("Meldingen per wijk en per maand (benchmark)."),
    "query": {"meldpunt": "district_counts", "params": {"period": "month"}},
}


def dashboard_yaml(slug: str, charts: list[dict[str, Any]], *, public: bool = False) -> str:
    definition: dict[str, Any] = {
        "slug": slug,
        "title": _text(f"Benchmark {slug}"),
        "description": _text("A dashboard of the benchmark."),
        "audience": "public" if public else "internal",
    }
    if not public:
        definition["organisations"] = ["ZWVL"]
    definition["filters"] = ["period", "municipality"] if public else ["period"]
    definition["period"] = {"start": YEAR[0].isoformat(), "end": YEAR[1].isoformat()}
    # Through JSON: charts share parts (an axis), which YAML would write as aliases, and a
    # definition may have none.
    definition["charts"] = json.loads(json.dumps(charts))
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)


# --- Timing -------------------------------------------------------------------------------


@dataclass
class Results:
    rows: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    p: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, name: str, samples: list[float], note: str = "") -> dict[str, float]:
        found = {
            "p50": percentile(samples, 50),
            "p99": percentile(samples, 99),
            "runs": len(samples),
        }
        self.p[name] = found
        self.rows.append([name, f"{found['p50']:.1f}", f"{found['p99']:.1f}", str(len(samples)),
                          note])  # fmt: skip
        print(f"  {name}: p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms "
              f"({len(samples)} runs){' ' + note if note else ''}", flush=True)  # fmt: skip
        return found


def taking_turns(
    paths: dict[str, Callable[[int], object]],
    runs: int,
    before: Callable[[int], object] | None = None,
) -> dict[str, list[float]]:
    """Run ``i`` of every path in turn (``before(i)`` untimed ahead of each), so a busy
    moment of the shared machine falls on all of them; stops early past the budget."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    begun = time.perf_counter()
    for i in range(runs):
        for name, run in paths.items():
            if before is not None:
                before(i)
            gc.collect()
            started = time.perf_counter()
            run(i)
            samples[name].append((time.perf_counter() - started) * 1000)
        if i + 1 >= MINIMUM and time.perf_counter() - begun > BUDGET_S * len(paths):
            break
    return samples


def repeated(run: Callable[[], object], runs: int) -> list[float]:
    run()  # warm-up, not counted
    return taking_turns({"run": lambda _i: run()}, runs)["run"]


def windows(n: int) -> list[tuple[date, date]]:
    """``n`` periods of WINDOW_DAYS, each starting a week after the one before."""
    first = date(2025, 1, 6)
    return [
        (first + timedelta(days=7 * i), first + timedelta(days=7 * i + WINDOW_DAYS - 1))
        for i in range(n)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _comparable(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Moments as UTC text (ours and DuckDB may write them in other zones)."""
    found = []
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str) and len(value) > 18 and value[10] == "T":
                value = datetime.fromisoformat(value)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).isoformat()
            cells.append(value)
        found.append(tuple(cells))
    return found


def figure_problems(where: str, shown: Any, expected: int) -> list[str]:
    """What is wrong with a drawn page: a chart without a figure, a picture, rows or a
    summary."""
    problems = []
    if len(shown.drawn) != expected:
        problems.append(f"{where}: {len(shown.drawn)} charts drawn, not {expected}")
    for one in shown.drawn:
        name = f"{where}/{one.chart.slug}"
        figure = one.figure
        if figure is None:
            problems.append(f"{name}: not drawn: {one.problem}")
        elif "<svg" not in figure.svg or 'role="img"' not in figure.svg:
            problems.append(f"{name}: no labelled SVG")
        elif not figure.rows:
            problems.append(f"{name}: no rows")
        elif not figure.summary:
            problems.append(f"{name}: no summary")
    return problems


def profile(run: Callable[[], object], lines: int = 22) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Our code and the engines only (not the middleware's chain of wrappers).
    ours = r"regiohub|vl_convert|duckdb|template|defaulttags|loader_tags|execute"
    stats.sort_stats("cumulative").print_stats(ours, lines)
    out.write("-- by own time --\n")
    stats.sort_stats("tottime").print_stats(12)
    return out.getvalue()


# --- Main -------------------------------------------------------------------------------


def main() -> None:
    engine = engine_of(os.environ.get("DATABASE_URL", "sqlite"))  # noqa: TID251 - the bench's own switch
    with throwaway_database(engine) as url:
        os.environ["DATABASE_URL"] = url
        os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"  # the test Client
        # Every cold question is asked afresh (the figures' caches are emptied per run).
        os.environ["REGIOHUB_DATASETS_QUERY_CACHE"] = "0"
        problems = run(engine)
    if problems:
        print("\nPROBLEMS:\n" + "\n".join(f"  {p}" for p in problems))
        sys.exit(1)


def run(engine: str) -> list[str]:
    import duckdb

    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.cache import caches
    from django.core.management import call_command
    from django.test import Client
    from meldpunt_map import load

    from regiohub.core.demo.region import load_region
    from regiohub.core.models import Organisation
    from regiohub.core.testing import staff_client
    from regiohub.dashboards import cache, pages, queries, services
    from regiohub.dashboards.charts import render_svg
    from regiohub.dashboards.figures import Filters, figure
    from regiohub.dashboards.models import Dashboard
    from regiohub.datasets import query
    from regiohub.meldpunt.demo import load_categories

    memory = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    print(
        f"Dashboards over {ROWS:,} hourly counts ({SEGMENTS:,} segments x {HOURS:,} hours) and "
        f"{REPORTS:,} reports; {engine}; {os.cpu_count()} cores, {int(memory) / 2**20:.0f} GB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
        f"{' (smoke)' if SMOKE else ''}",
        flush=True,
    )
    started = time.perf_counter()
    rows = generate()
    print(f"counts generated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    _version, files, _schema = publish(rows)
    del rows
    gc.collect()
    size = sum(Path(f.removeprefix("file://")).stat().st_size for f in files)
    print(f"published in {time.perf_counter() - started:.1f} s: {len(files)} Parquet files, "
          f"{size / 2**20:,.0f} MB", flush=True)  # fmt: skip
    # The datasets bench makes its own Kortrijk; the region's loader finds it by NIS code.
    Organisation.objects.filter(code="KOR").update(nis_code="34022")
    load_region()
    load_categories()
    load(engine, REPORTS, now=REPORTS_END)
    call_command("collectstatic", interactive=False, verbosity=0)  # the pages' manifest
    agent = get_user_model().objects.get(email="agent.regio@bench.example.org")

    telraam = [c.definition() for c in COUNTS]
    base = [*telraam, *REPORT_CHARTS, MAP]
    definitions = {
        "bench-telraam": dashboard_yaml("bench-telraam", telraam),
        "bench-12": dashboard_yaml("bench-12", base),
        "bench-20": dashboard_yaml(
            "bench-20", [*base, *(c.definition() for c in MORE_COUNTS), *MORE_REPORT_CHARTS]
        ),
        "bench-kaart": dashboard_yaml("bench-kaart", [MAP], public=True),
    }
    started = time.perf_counter()
    for text in definitions.values():
        services.save_definition(text, origin="file")
    print(f"4 dashboards saved (checked) in {time.perf_counter() - started:.1f} s", flush=True)
    viewables = {slug: queries.read(Dashboard.objects.get(slug=slug)) for slug in definitions}
    counts = {slug: len(v.definition.charts) for slug, v in viewables.items()}
    assert counts["bench-telraam"] == 8 and counts["bench-12"] == 12, counts
    assert counts["bench-20"] == 20, counts

    results = Results()
    periods = windows(COLD_RUNS)

    def filters(i: int) -> Filters:
        start, end = periods[i % len(periods)]
        return Filters(start=start, end=end)

    def empty_caches(_i: int = 0) -> None:
        cache.reset()
        caches["default"].clear()

    def page(slug: str, i: int) -> Any:
        shown = pages.page(viewables[slug], agent, filters(i), language=LANGUAGE)
        if i == 0 or not SMOKE:
            found = figure_problems(slug, shown, counts[slug])
            if found and found[0] not in results.problems:
                results.problems.extend(found)
        return shown

    # --- The raw baseline: the same questions by hand, the same rendering --------------
    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'Europe/Brussels'")
    files_sql = query.files_literal(files)

    def raw_rows(chart: CountChart, i: int) -> list[list[Any]]:
        start, end = periods[i % len(periods)]
        sql = chart.sql.format(files=files_sql, start=start, stop=end + timedelta(days=1))
        return [list(r.values()) for r in raw.sql(sql).to_arrow_table().to_pylist()]

    def raw_chart(chart: CountChart, i: int) -> str:
        found = [
            {c: _plain(v) for c, v in zip(chart.columns, row, strict=True)}
            for row in raw_rows(chart, i)
        ]
        return render_svg(chart.spec, language=LANGUAGE, label=chart.title, rows=found)

    def raw_page(i: int) -> None:
        for chart in COUNTS:
            raw_chart(chart, i)

    print("\nanswers: ours against raw DuckDB (first period)", flush=True)
    empty_caches()
    shown = page("bench-telraam", 0)
    for chart, one in zip(COUNTS, shown.drawn, strict=True):
        if one.figure is None:
            continue  # reported by figure_problems
        ours = _comparable([[row[c] for c in chart.columns] for row in one.figure.rows])
        theirs = _comparable([[_plain(v) for v in row] for row in raw_rows(chart, 0)])
        if not same(ours, theirs):
            results.problems.append(
                f"{chart.slug}: ours answers differently from raw DuckDB: {ours[:2]} vs "
                f"{theirs[:2]}"
            )
        print(f"  {chart.slug}: {len(ours)} rows{'' if same(ours, theirs) else ' DIFFER'}",
              flush=True)  # fmt: skip

    # --- Cold pages -----------------------------------------------------------------------
    print("\ncold pages (caches emptied, another period each run)", flush=True)
    cold = taking_turns(
        {"ours": lambda i: page("bench-telraam", i), "raw": raw_page}, COLD_RUNS, empty_caches
    )
    ours_cold = results.add("cold page, 8 count charts (bench-telraam)", cold["ours"])
    raw_cold = results.add("raw: 8 DuckDB queries + render_svg", cold["raw"])
    for slug in ("bench-12", "bench-20"):
        samples = taking_turns({slug: lambda i, s=slug: page(s, i)}, COLD_RUNS, empty_caches)
        results.add(f"cold page, {counts[slug]} charts ({slug})", samples[slug])

    print("\nper chart, cold: figures.figure against raw query + render_svg", flush=True)
    per_chart: list[list[str]] = []
    definition = viewables["bench-telraam"].definition
    for chart, spec in zip(COUNTS, definition.charts, strict=True):
        found = taking_turns(
            {
                "ours": lambda i, s=spec: figure(s, agent, filters(i), language=LANGUAGE),
                "raw": lambda i, c=chart: raw_chart(c, i),
                "raw query": lambda i, c=chart: raw_rows(c, i),
            },
            PER_CHART_RUNS,
        )
        p = {name: percentile(samples, 50) for name, samples in found.items()}
        per_chart.append([chart.slug, f"{p['ours']:.1f}", f"{p['raw']:.1f}",
                          f"{p['raw query']:.1f}", f"{p['ours'] / p['raw']:.2f}x"])  # fmt: skip
    print(table(["chart (p50 ms)", "ours figure", "raw+render", "raw query", "ours/raw"],
                per_chart), flush=True)  # fmt: skip

    # --- Warm pages -----------------------------------------------------------------------
    print("\nwarm pages (the same filters again)", flush=True)
    client = staff_client(agent)
    last = COLD_RUNS - 1

    def address(slug: str, i: int, extra: str = "") -> str:
        start, end = periods[i % len(periods)]
        return f"/dashboards/{slug}/?start={start}&end={end}{extra}"

    def get(who: Any, path: str, status: int = 200, headers: dict[str, str] | None = None) -> Any:
        response = who.get(path, headers=headers or {})
        problem = f"GET {path}: {response.status_code}, not {status}"
        if response.status_code != status and problem not in results.problems:
            results.problems.append(problem)
        return response

    for slug in ("bench-12", "bench-20"):
        page(slug, last)
        results.add(f"warm page, pages.page ({slug})", repeated(lambda s=slug: page(s, last),
                                                                  WARM_RUNS))  # fmt: skip
        response = get(client, address(slug, last))
        images = response.content.count(b'role="img"')
        if images < counts[slug]:
            results.problems.append(f"GET {address(slug, last)}: {images} images")
        results.add(
            f"warm page, HTTP GET (test Client, {slug})",
            repeated(lambda s=slug: get(client, address(s, last)), WARM_RUNS),
            f"{len(response.content) / 1024:.0f} KB",
        )
        # The tag of the page as the browser asks it again: with the cookies the first
        # answer set (the language form's CSRF cookie is part of the page's tag).
        tags = [get(client, address(slug, last)).headers.get("ETag", "")]
        renewed = []

        def conditional(slug: str = slug, tags: list[str] = tags, renewed: list = renewed) -> None:
            response = client.get(address(slug, last), headers={"If-None-Match": tags[-1]})
            if response.status_code == 200 and response.headers.get("ETag") != tags[-1]:
                # A new slot of the live figures (REGIOHUB_DASHBOARDS_LIVE_SECONDS): a new
                # page, drawn again, as a browser would get it.
                tags.append(response.headers.get("ETag", ""))
                renewed.append(1)
            elif response.status_code != 304:
                problem = f"conditional GET of {slug}: {response.status_code}, not 304"
                if problem not in results.problems:
                    results.problems.append(problem)

        samples = repeated(conditional, WARM_RUNS)
        note = f"{len(renewed)} answered 200: a new live slot" if renewed else ""
        results.add(f"warm page, conditional GET -> 304 ({slug})", samples, note)

    # --- One timelapse frame -------------------------------------------------------------
    print("\none timelapse frame (?frame=<month>)", flush=True)
    months = [date(2025, m, 1) for m in range(1, YEAR[1].month + 1)]
    year = f"start={YEAR[0]}&end={YEAR[1]}"
    anonymous = Client()

    def frames_path(month: date) -> str:
        return f"/dashboards/bench-kaart/?{year}&frame={month}"

    frames = {
        "public map page (bench-kaart, anonymous)":
            (anonymous, frames_path),
        "internal map chart (bench-12/kaart/, agent)":
            (client, lambda m: f"/dashboards/bench-12/kaart/?{year}&frame={m}"),
    }  # fmt: skip
    for name, (who, path) in frames.items():
        response = get(who, path(months[-1]))
        if b'role="img"' not in response.content:
            results.problems.append(f"GET {path(months[-1])}: no map")
        cold_frames = taking_turns(
            {name: lambda i, w=who, p=path: get(w, p(months[i % len(months)]))},
            COLD_RUNS,
            empty_caches,
        )
        results.add(f"frame cold, {name}", cold_frames[name])
        results.add(f"frame warm, {name}", repeated(lambda w=who, p=path: get(w, p(months[3])),
                                                    WARM_RUNS))  # fmt: skip

    # --- Exports --------------------------------------------------------------------------
    print("\nexports (bench-12)", flush=True)
    exports = {
        "CSV of one chart": ("/dashboards/bench-12/per-dag.csv", b"hour"),
        "PNG of one chart": ("/dashboards/bench-12/per-dag.png", b"\x89PNG"),
        "PDF of the dashboard (12 pages)": ("/dashboards/bench-12.pdf", b"%PDF"),
    }
    for name, (path, magic) in exports.items():

        def export(i: int, path: str = path, magic: bytes = magic) -> None:
            start, end = periods[i % len(periods)]
            body = get(client, f"{path}?start={start}&end={end}").content
            if magic not in body[:64]:
                results.problems.append(f"{path}: not a {magic!r} file")

        results.add(f"export warm, {name}", repeated(lambda e=export: e(last), EXPORT_RUNS))
        found = taking_turns({name: export}, min(COLD_RUNS, EXPORT_RUNS), empty_caches)
        results.add(f"export cold, {name}", found[name])

    # --- Where a cold page's time goes ---------------------------------------------------
    print("\ncProfile of one cold page (bench-12, a new period)", flush=True)
    empty_caches()
    fresh = Filters(start=date(2025, 2, 10), end=date(2025, 2, 10) + timedelta(days=WINDOW_DAYS))
    print(profile(lambda: pages.page(viewables["bench-12"], agent, fresh, language=LANGUAGE)))
    print("cProfile of one warm page over HTTP (bench-20, figures cached)", flush=True)
    get(client, address("bench-20", last))  # drawn once, then from the cache
    print(profile(lambda: get(client, address("bench-20", last)), lines=30))
    print("cProfile of one warm timelapse frame over HTTP (bench-kaart)", flush=True)
    get(anonymous, frames_path(months[3]))
    print(profile(lambda: get(anonymous, frames_path(months[3])), lines=20))

    # --- The table -------------------------------------------------------------------------
    print()
    print(f"{ROWS:,} counts, {REPORTS:,} reports, {engine}, {os.cpu_count()} cores; "
          f"latency in ms")  # fmt: skip
    print(table(["measurement", "p50", "p99", "runs", "note"], results.rows))
    ratio = ours_cold["p50"] / raw_cold["p50"]
    ratio99 = ours_cold["p99"] / raw_cold["p99"]
    warm = max(v["p99"] for k, v in results.p.items() if k.startswith("warm page, HTTP GET"))
    frame = max(v["p99"] for k, v in results.p.items() if k.startswith("frame warm"))
    frame_cold = max(v["p99"] for k, v in results.p.items() if k.startswith("frame cold"))

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(
        f"\ncold page ours / raw (8 count charts): {ratio:.2f}x on p50, {ratio99:.2f}x on p99 "
        f"(target <= {TARGET_RATIO}x: {verdict(ratio <= TARGET_RATIO)})\n"
        f"warm page p99 over HTTP, worst of 12 and 20 charts: {warm:.1f} ms "
        f"(target < {TARGET_WARM_MS:.0f} ms: {verdict(warm < TARGET_WARM_MS)})\n"
        f"timelapse frame p99: warm {frame:.1f} ms "
        f"(target < {TARGET_FRAME_MS:.0f} ms: {verdict(frame < TARGET_FRAME_MS)}), "
        f"cold {frame_cold:.1f} ms\n"
        "cold = figure caches emptied and the datasets answer cache off "
        "(REGIOHUB_DATASETS_QUERY_CACHE=0), another period each run; ours and raw take turns; "
        "p99 of few runs is their slowest."
    )
    return results.problems


if __name__ == "__main__":
    main()
