"""The regional benchmark: rank, median, total and trend across the municipalities, and
small counts hidden so that no published figure gives them back.

The suppression tests are attacks: an attacker who knows every shown cell, the total,
the median, the ranks, the trend, the rule and even which hidden cells are the small ones
tries to work a hidden count out again, by the equation of the total and by trying other
tables that the benchmark would publish in exactly the same way.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regiohub.core.demo.region import MUNICIPALITY_CODES
from regiohub.core.testing import shared_path
from regiohub.core.tests.factories import OrganisationFactory
from regiohub.dashboards.benchmark import (
    MIN_THRESHOLD,
    Benchmark,
    BenchmarkError,
    Indicator,
    Municipality,
    as_rows,
    benchmark,
    populations_of_region,
    summary,
)
from regiohub.dashboards.definitions import BENCHMARK_COLUMNS

COUNT = Indicator(municipality="nis", period="year", value="n", kind="count")
NIS = list(MUNICIPALITY_CODES)  # the 13 real NIS codes of the demo region, ANZ first


def region(populations: dict[str, int | None] | None = None) -> dict[str, Municipality]:
    """The demo region keyed by NIS code and by organisation code, as
    ``populations_of_region`` gives it."""
    found = {}
    for nis, code in MUNICIPALITY_CODES.items():
        people = (populations or {}).get(nis, 10_000)
        municipality = Municipality(code, f"Gemeente {code}", people)
        found[nis] = found[code] = municipality
    return found


def counts(values: dict[str, float | None], year: int = 2024) -> list[dict]:
    return [{"nis": nis, "year": year, "n": value} for nis, value in values.items()]


def row(result: Benchmark, nis: str):
    return next(r for r in result.rows if r.municipality == MUNICIPALITY_CODES[nis])


# --- The attacker ------------------------------------------------------------------------


def published(result: Benchmark) -> tuple:
    """Everything a reader sees of one period."""
    point = next(p for p in result.trend if p.period == result.period)
    return (
        tuple(tuple(sorted(r.items())) for r in as_rows(result)),
        result.total,
        result.per_inhabitant,
        result.ranked_by,
        point,
    )


def measure(result: Benchmark, r) -> float | None:
    return r.per_inhabitant if result.ranked_by == "per_inhabitant" else r.value


def assert_nothing_new_besides_the_total(result: Benchmark) -> None:
    """Median, ranks and the regional value per inhabitant tell the attacker nothing the
    shown rows and the total do not already tell."""
    shown = [r for r in result.rows if not r.suppressed and measure(result, r) is not None]
    values = [measure(result, r) for r in shown]
    assert result.median == (statistics.median(values) if values else None)
    for r in shown:
        assert r.rank == 1 + sum(v > measure(result, r) for v in values)
    for r in result.rows:
        if r.suppressed:
            assert (r.value, r.per_inhabitant, r.rank) == (None, None, None)
    if result.total is None:
        assert result.per_inhabitant is None  # it is the total in other units
    point = next(p for p in result.trend if p.period == result.period)
    assert (point.total, point.per_inhabitant, point.median) == (
        result.total,
        result.per_inhabitant,
        result.median,
    )


def solve_by_the_total(result: Benchmark, truth: dict[str, float], threshold: int) -> None:
    """The total is one equation: sum(hidden) = total - sum(shown). It must hold (the
    total is true) and never have exactly one unknown. Even an attacker who knows which
    hidden cells are small (1 to threshold - 1) and that the others are at least the
    threshold and at most the smallest shown cell can then narrow none down to one value."""
    if result.total is None:
        return
    hidden = [r.municipality for r in result.rows if r.suppressed]
    shown = math.fsum(r.value for r in result.rows if not r.suppressed)
    rest = result.total - shown
    assert rest == pytest.approx(math.fsum(truth[c] for c in hidden))
    assert len(hidden) != 1, f"{hidden[0]} = total - shown = {rest}"
    smallest = min((r.value for r in result.rows if not r.suppressed and r.value), default=1e9)
    bounds = {
        c: (1, threshold - 1) if truth[c] < threshold else (threshold, smallest) for c in hidden
    }
    for c, (low, high) in bounds.items():
        others = [bound for other, bound in bounds.items() if other != c]
        least = max(low, rest - sum(h for _l, h in others))
        most = min(high, rest - sum(lo for lo, _h in others))
        assert most - least >= 1, f"{c} is {least} to {most}"


def other_tables(index: int, values: dict[int, int], threshold: int, total: bool):
    """Other values for the hidden cells (``values``, by row) to try, likeliest first: the
    cell at ``index`` up to ``threshold`` more or less, alone, with another hidden cell
    changed by as much (the other way or the same way), or with all hidden cells changed
    by as much (or all but one, which makes up the total); the hidden values shuffled;
    and, for up to four hidden cells, every table with the same total (for up to three,
    every table under ``3 * threshold`` more than the largest when no total is
    published)."""
    partners = [at for at in values if at != index]
    steps = [sign * size for size in range(1, threshold + 1) for sign in (1, -1)]
    for step in steps:
        for partner in partners:
            yield {index: step, partner: -step}
            yield {index: step, partner: step}
        yield {index: step}
    for step in steps:
        yield dict.fromkeys(values, step)
        for keeper in partners:
            others = [at for at in partners if at != keeper]
            yield {**dict.fromkeys([index, *others], step), keeper: -step * (1 + len(others))}
    rows = list(values)
    if len(rows) <= 6:
        for order in itertools.permutations(values.values()):
            yield {at: new - values[at] for at, new in zip(rows, order, strict=True)}
    if total and len(rows) <= 4 and sum(values.values()) <= 60:
        for other in splits(sum(values.values()), len(rows)):
            yield {at: new - values[at] for at, new in zip(rows, other, strict=True)}
    elif len(rows) <= 3:
        ceiling = 3 * threshold + max(values.values())
        for other in itertools.product(range(ceiling + 1), repeat=len(rows)):
            yield {at: new - values[at] for at, new in zip(rows, other, strict=True)}


def splits(total: int, parts: int):
    """Every way to write ``total`` as ``parts`` counts of zero or more."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in splits(total - first, parts - 1):
            yield (first, *rest)


def try_other_tables(
    rows: list[dict], indicator: Indicator, populations, threshold: int, result: Benchmark
) -> None:
    """For every small hidden cell, look for a different table that the benchmark would
    publish in exactly the same way, where that cell has another value. Where there is
    none, the attacker, who knows the rule, sees which cells are hidden (not why), and
    reads every published figure, knows the cell."""
    seen = published(result)
    column = indicator.value
    mine = [i for i, r in enumerate(rows) if str(r[indicator.period]) == result.period]
    code_of = {i: populations[str(rows[i][indicator.municipality])].code for i in mine}
    hidden = {r.municipality for r in result.rows if r.suppressed}
    values = {i: rows[i][column] for i in mine if code_of[i] in hidden}
    undetermined: set[str] = set()
    for cell in sorted(hidden):
        index = next(i for i in values if code_of[i] == cell)
        if cell in undetermined or values[index] >= threshold:
            # a table found for another cell had this one different too; or a cell hidden
            # only to cover a small one (with no total, it may equal the threshold and the
            # next cell shown, and be known so: it is no small number, and covers nothing)
            continue
        for change in other_tables(index, values, threshold, result.total is not None):
            if not change.get(index):
                continue
            other = [dict(r) for r in rows]
            for at, step in change.items():
                other[at][column] += step
            if any(other[at][column] < 0 for at in change):
                continue
            again = benchmark(
                other, indicator, populations=populations, period=result.period,
                threshold=threshold,
            )  # fmt: skip
            if published(again) == seen:
                undetermined |= {code_of[at] for at, step in change.items() if step}
                break
        else:
            pytest.fail(
                f"{cell} can be worked out in {result.period} (threshold {threshold}): "
                f"{[rows[i] for i in mine]}"
            )


@st.composite
def tables(draw):
    """A region of 1 to 13 municipalities over 1 to 3 periods, counts that are often
    small, some unknown values and populations, rows keyed by NIS or organisation code and
    sometimes split over two rows."""
    threshold = draw(st.integers(MIN_THRESHOLD, 8))
    places = draw(st.lists(st.sampled_from(NIS), min_size=1, max_size=13, unique=True))
    years = draw(st.lists(st.integers(2015, 2024), min_size=1, max_size=3, unique=True))
    per = draw(st.sampled_from([1, 1000]))
    in_rows = draw(st.booleans())
    people = st.one_of(st.integers(500, 80_000), st.integers(500, 80_000), st.none())
    populations = {nis: draw(people) for nis in places}
    small = st.integers(0, threshold + 2)
    value = st.one_of(small, small, st.integers(0, 400), st.just(None))
    rows = []
    for year in years:
        for nis in places:
            n = draw(value)
            key = draw(st.sampled_from([nis, MUNICIPALITY_CODES[nis]]))
            people = populations[nis]
            parts = [n]
            if n is not None and n > 1 and draw(st.integers(0, 4)) == 0:
                parts = [n // 2, n - n // 2]
            for part in parts:
                rows.append({"nis": key, "year": year, "n": part, "people": people})
    indicator = Indicator(
        "nis", "year", "n", "count", per, population_column="people" if in_rows else ""
    )
    return rows, indicator, region(populations), threshold


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_count_can_be_worked_out(table):
    rows, indicator, populations, threshold = table
    # one row per cell, so the attacker's changed tables stay tables of whole counts
    merged: dict[tuple, dict] = {}
    for r in rows:
        key = (populations[str(r["nis"])].code, r["year"])
        if key in merged:
            before = merged[key]["n"]
            merged[key]["n"] = None if before is None or r["n"] is None else before + r["n"]
        else:
            merged[key] = dict(r)
    single = list(merged.values())
    for year in sorted({str(r["year"]) for r in rows}):
        result = benchmark(
            rows, indicator, populations=populations, period=year, threshold=threshold
        )
        # split rows are added up: the same as one row per cell
        assert published(result) == published(
            benchmark(single, indicator, populations=populations, period=year, threshold=threshold)
        )
        truth = {populations[str(r["nis"])].code: r["n"] for r in single if str(r["year"]) == year}
        for r in result.rows:
            small = truth[r.municipality] is not None and 0 < truth[r.municipality] < threshold
            assert r.suppressed or not small
        assert_nothing_new_besides_the_total(result)
        solve_by_the_total(result, truth, threshold)
        try_other_tables(single, indicator, populations, threshold, result)


def test_one_small_cell_takes_the_next_smallest_with_it_and_the_total_stays():
    result = benchmark(
        counts({NIS[0]: 2, NIS[1]: 40, NIS[2]: 50, NIS[3]: 60, NIS[4]: 0}),
        COUNT,
        populations=region(),
        period=None,
        threshold=5,
    )
    assert [r.municipality for r in result.rows if r.suppressed] == [
        MUNICIPALITY_CODES[NIS[0]],
        MUNICIPALITY_CODES[NIS[1]],
    ]
    assert result.total == 152
    assert row(result, NIS[4]).value == 0  # a zero stays: hiding it would protect nothing
    assert [r.rank for r in result.rows if not r.suppressed] == [1, 2, 3]


def test_a_total_that_would_pin_the_small_cells_is_hidden():
    # Two cells under 5 adding up to 2: both are 1, whatever else is hidden.
    result = benchmark(
        counts({NIS[0]: 1, NIS[1]: 1}), COUNT, populations=region(), period=None, threshold=5
    )
    assert all(r.suppressed for r in result.rows)
    assert (result.total, result.per_inhabitant, result.median) == (None, None, None)
    assert result.trend[0].total is None
    with translation.override("nl"):
        text = summary(result, "en")
    assert text == (
        "No data for this selection. 2 municipalities are not shown, so that numbers "
        "under 5 cannot be worked out."
    )


def test_several_small_cells_keep_the_total_when_it_leaves_each_open():
    result = benchmark(
        counts({NIS[0]: 1, NIS[1]: 2, NIS[2]: 1}), COUNT, populations=region(), threshold=5
    )
    assert all(r.suppressed for r in result.rows)
    assert result.total == 4  # (1, 1, 2), (1, 2, 1) and (2, 1, 1) all fit


def test_a_single_municipality_with_a_small_count_shows_nothing():
    result = benchmark(counts({NIS[4]: 2}), COUNT, populations=region(), threshold=3)
    assert result.rows[0].suppressed
    assert (result.total, result.median, result.per_inhabitant) == (None, None, None)
    shown = benchmark(counts({NIS[4]: 7}), COUNT, populations=region(), threshold=3)
    assert (shown.rows[0].value, shown.rows[0].rank, shown.total) == (7, 1, 7)
    assert shown.median == pytest.approx(7 / 10_000)


def test_the_median_never_is_a_hidden_value():
    # 13 municipalities, the middle one (7th of 13) is small: a median over all cells
    # would print it, per inhabitant, and so give it back.
    values = dict(zip(NIS, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], strict=True))
    values[NIS[6]] = 4  # the median cell, under the threshold of 5
    result = benchmark(counts(values), COUNT, populations=region(), threshold=5)
    shown = [r.per_inhabitant for r in result.rows if not r.suppressed]
    assert result.median == statistics.median(shown)
    assert all(result.median != v / 10_000 for v in (1, 2, 3, 4))


def test_the_trend_is_suppressed_per_period():
    rows = counts({NIS[0]: 2, NIS[1]: 30, NIS[2]: 40}, 2023) + counts(
        {NIS[0]: 20, NIS[1]: 30, NIS[2]: 40}, 2024
    )
    result = benchmark(rows, COUNT, populations=region(), period="2024", threshold=5)
    assert result.periods == ["2023", "2024"]
    assert [p.period for p in result.trend] == ["2023", "2024"]
    assert result.trend[1].total == 90
    assert result.trend[1].per_inhabitant == pytest.approx(90 / 30_000)
    earlier = benchmark(rows, COUNT, populations=region(), period="2023", threshold=5)
    assert earlier.trend == result.trend  # the same whichever period the page shows
    assert [r.suppressed for r in earlier.rows].count(True) == 2
    # 2023 keeps its total: 2 and 30 are both hidden, 72 - 40 = 32 has two unknowns
    assert result.trend[0].total == 72
    assert result.trend[0].median == pytest.approx(40 / 10_000)


def test_amounts_are_never_suppressed():
    euros = Indicator("nis", "year", "n", kind="amount")
    result = benchmark(
        counts({NIS[0]: 2.5, NIS[1]: 1000.0}), euros, populations=region(), threshold=5
    )
    assert not any(r.suppressed for r in result.rows)
    assert result.total == 1002.5


def test_competition_ranking_shares_a_rank_and_skips_the_next():
    result = benchmark(
        counts({NIS[0]: 30, NIS[1]: 20, NIS[2]: 20, NIS[3]: 10}),
        COUNT,
        populations=region(),
        threshold=3,
    )
    assert [(r.municipality, r.rank) for r in result.rows] == [
        ("ANZ", 1),
        ("AVE", 2),
        ("DEE", 2),
        ("HAR", 4),
    ]


def test_without_a_population_it_ranks_by_the_absolute_value():
    populations = region({NIS[1]: None})
    result = benchmark(
        counts({NIS[0]: 30, NIS[1]: 50, NIS[2]: 40}), COUNT, populations=populations, threshold=3
    )
    assert result.ranked_by == "value"
    assert [(r.municipality, r.rank) for r in result.rows] == [("AVE", 1), ("DEE", 2), ("ANZ", 3)]
    assert row(result, NIS[1]).per_inhabitant is None
    assert row(result, NIS[0]).per_inhabitant == pytest.approx(30 / 10_000)
    assert result.median == 40
    assert result.total == 120
    assert result.per_inhabitant is None  # the region's population is not known
    with translation.override("fr"):
        assert summary(result, "en") == (
            "Highest: Gemeente AVE (50); lowest: Gemeente ANZ (30); median of the "
            "municipalities shown: 40."
        )


def test_per_thousand_inhabitants_and_the_summary():
    per_thousand = Indicator("nis", "year", "n", kind="count", per=1000)
    result = benchmark(
        counts({NIS[0]: 30, NIS[1]: 50, NIS[2]: 1, NIS[3]: 5}),
        per_thousand,
        populations=region({NIS[0]: 1500, NIS[1]: 20_000, NIS[2]: 800, NIS[3]: 1000}),
        threshold=3,
    )
    # 1 is under 3; 5, the smallest shown, goes with it so the total cannot give it back
    assert [r.municipality for r in result.rows if r.suppressed] == ["DEE", "HAR"]
    assert row(result, NIS[0]).per_inhabitant == pytest.approx(20.0)
    assert row(result, NIS[1]).per_inhabitant == pytest.approx(2.5)
    assert summary(result, "en") == (
        "Highest: Gemeente ANZ (20 per 1,000 inhabitants); lowest: Gemeente AVE (2.5 per "
        "1,000 inhabitants); median of the municipalities shown: 11.2 per 1,000 "
        "inhabitants. 2 municipalities are not shown, so that numbers under 3 cannot be "
        "worked out."
    )
    in_dutch = summary(result, "nl")  # Belgian numbers, whatever the words
    assert "1.000" in in_dutch and "11,2" in in_dutch and "2,5" in in_dutch


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_an_unknown_value_is_shown_as_unknown_and_leaves_no_total(missing):
    result = benchmark(
        counts({NIS[0]: 30, NIS[1]: missing, NIS[2]: 10}),
        COUNT,
        populations=region(),
        threshold=3,
    )
    unknown = row(result, NIS[1])
    assert (unknown.value, unknown.rank, unknown.suppressed) == (None, None, False)
    assert result.rows[-1] == unknown
    assert result.total is None  # a total without AVE would pass for the region's
    assert result.median == pytest.approx(20 / 10_000)


def test_rows_keyed_by_nis_or_code_are_added_up_and_others_left_out():
    rows = [
        {"nis": "34022", "year": 2024, "n": 10},
        {"nis": "KOR", "year": 2024, "n": 5},
        {"nis": 34027, "year": 2024, "n": 7},
        {"nis": "11001", "year": 2024, "n": 1},  # Aartselaar: not in the region
    ]
    result = benchmark(rows, COUNT, populations=region(), threshold=3)
    assert [(r.municipality, r.value) for r in result.rows] == [("KOR", 15), ("MEN", 7)]
    assert result.total == 22


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12", "Row 2, column “n”: '12' is not a number."),
        ("veel", "Row 2, column “n”: 'veel' is not a number."),
        (True, "Row 2, column “n”: True is not a number."),
        (-1, "Row 2, column “n”: a count is a whole number of zero or more, not -1."),
        (2.5, "Row 2, column “n”: a count is a whole number of zero or more, not 2.5."),
        (float("inf"), "Row 2, column “n”: the value is infinite."),
    ],
)
def test_a_bad_value_names_its_row_and_column(value, message):
    rows = [{"nis": NIS[0], "year": 2024, "n": 3}, {"nis": NIS[1], "year": 2024, "n": value}]
    with translation.override("en"), pytest.raises(BenchmarkError) as caught:
        benchmark(rows, COUNT, populations=region(), threshold=3)
    assert str(caught.value) == message
    assert (caught.value.row, caught.value.column) == (2, "n")


def test_other_bad_input_is_refused_with_what_is_wrong():
    ok = counts({NIS[0]: 3})
    with translation.override("en"):
        with pytest.raises(ValueError, match="at least 3, not 2"):
            benchmark(ok, COUNT, populations=region(), threshold=2)
        with pytest.raises(BenchmarkError, match="Row 1 has no column “n”"):
            benchmark([{"nis": NIS[0], "year": 2024}], COUNT, populations=region(), threshold=3)
        with pytest.raises(BenchmarkError, match="period “2019”; there is for 2024"):
            benchmark(ok, COUNT, populations=region(), period="2019", threshold=3)
        with pytest.raises(BenchmarkError, match="No row names a municipality of the region"):
            benchmark(counts({"11001": 3}), COUNT, populations=region(), threshold=3)
        with pytest.raises(BenchmarkError, match="Row 1, column “nis”: None does not name"):
            benchmark(counts({None: 3}), COUNT, populations=region(), threshold=3)
        with pytest.raises(BenchmarkError, match="There are no rows"):
            benchmark([], COUNT, populations=region(), threshold=3)
        with pytest.raises(ValueError, match="count or an amount, not “total”"):
            benchmark(
                ok, Indicator("nis", "year", "n", kind="total"), populations=region(), threshold=3
            )
        with pytest.raises(ValueError, match="“per” is a whole number of inhabitants"):
            benchmark(ok, Indicator("nis", "year", "n", per=0), populations=region(), threshold=3)
        two = [
            {"nis": NIS[0], "year": 2024, "n": 3, "people": 100},
            {"nis": NIS[0], "year": 2024, "n": 4, "people": 200},
        ]
        with pytest.raises(BenchmarkError, match=r"two populations in 2024 \(100 and 200\)"):
            benchmark(
                two,
                Indicator("nis", "year", "n", population_column="people"),
                populations=region(),
                threshold=3,
            )


def test_as_rows_gives_the_columns_a_chart_names():
    result = benchmark(
        counts({NIS[0]: 30, NIS[1]: 1, NIS[2]: 10}), COUNT, populations=region(), threshold=3
    )
    rows = as_rows(result)
    assert all(tuple(r) == BENCHMARK_COLUMNS for r in rows)
    assert rows[0] == {
        "municipality": "ANZ",
        "name": "Gemeente ANZ",
        "period": "2024",
        "value": 30,
        "per_inhabitant": pytest.approx(0.003),
        "rank": 1,
        "median": pytest.approx(0.003),
        "suppressed": False,
    }
    assert [r["suppressed"] for r in rows] == [False, True, True]


@pytest.mark.django_db
def test_populations_of_the_region_by_nis_code_and_by_code():
    OrganisationFactory(code="KOR", nis_code="34022", name="Kortrijk", population=77)
    OrganisationFactory(code="SPI", nis_code="34043", name="Spiere-Helkijn", population=None)
    OrganisationFactory(code="W13", kind="intermunicipal", name="W13")
    found = populations_of_region()
    assert found["34022"] == found["KOR"] == Municipality("KOR", "Kortrijk", 77)
    assert found["SPI"].population is None
    assert "W13" not in found
    rows = [{"m": "34022", "y": 2024, "n": 10}, {"m": "SPI", "y": 2024, "n": 20}]
    result = benchmark(rows, Indicator("m", "y", "n"), populations=found, threshold=3)
    assert [r.name for r in result.rows] == ["Spiere-Helkijn", "Kortrijk"]  # by value


def statbel_rows() -> list[dict]:
    path = shared_path("data", "statbel", "TF_PSNL_INC_TAX_MUNTY.txt")
    with path.open(encoding="utf-8-sig", newline="") as file:
        return [
            {
                "year": int(r["CD_YEAR"]),
                "nis": r["CD_MUNTY_REFNIS"],
                "income": float(r["MS_TOT_NET_TAXABLE_INC"]),
                "residents": int(r["MS_TOT_RESIDENTS"]),
                "name": r["TX_MUNTY_DESCR_NL"],
            }
            for r in csv.DictReader(file, delimiter="|")
        ]


def test_net_taxable_income_per_resident_from_statbel():
    rows = statbel_rows()  # all of Belgium: the region's 13 are picked by NIS code
    names = {r["nis"]: r["name"] for r in rows if r["nis"] in MUNICIPALITY_CODES}
    populations = {
        nis: Municipality(MUNICIPALITY_CODES[nis], name, None) for nis, name in names.items()
    }
    income = Indicator("nis", "year", "income", kind="amount", population_column="residents")
    result = benchmark(rows, income, populations=populations, period="2013", threshold=5)
    assert result.periods == [str(year) for year in range(2005, 2014)]
    assert len(result.rows) == 13 and not any(r.suppressed for r in result.rows)
    assert result.ranked_by == "per_inhabitant"
    mine = {r["nis"]: r for r in rows if r["nis"] in MUNICIPALITY_CODES and r["year"] == 2013}
    kortrijk = row(result, "34022")
    expected = mine["34022"]["income"] / mine["34022"]["residents"]
    assert kortrijk.per_inhabitant == pytest.approx(expected, abs=0.01)
    assert kortrijk.name == "Kortrijk"
    per_resident = sorted((r["income"] / r["residents"] for r in mine.values()), reverse=True)
    assert [r.per_inhabitant for r in result.rows] == pytest.approx(per_resident)
    assert [r.rank for r in result.rows] == list(range(1, 14))
    assert result.median == pytest.approx(per_resident[6])
    assert result.total == pytest.approx(sum(r["income"] for r in mine.values()))
    assert result.per_inhabitant == pytest.approx(
        result.total / sum(r["residents"] for r in mine.values())
    )
    assert all(p.total is not None for p in result.trend)
    text = summary(result, "nl")
    assert result.rows[0].name in text and result.rows[-1].name in text
