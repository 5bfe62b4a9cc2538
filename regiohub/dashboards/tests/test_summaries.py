"""The sentence under a chart: highest, lowest and trend, in the page's language and
Belgian number formats, from the data alone."""

from __future__ import annotations

import pytest

from regiohub.dashboards.summaries import number, summarise

MONTHS = [
    {"month": "2026-01-01", "reports": 1200},
    {"month": "2026-02-01", "reports": 1500.5},
    {"month": "2026-03-01", "reports": 1450},
]
TOWNS = [
    {"code": "KOR", "name": "Kortrijk", "reports": 2345},
    {"code": "SPI", "name": "Spiere-Helkijn", "reports": 12},
    {"code": "MEN", "name": "Menen", "reports": 870},
]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nl", "1.234,5"), ("fr", "1\u00a0234,5"), ("en", "1,234.5")],
)
def test_numbers_as_belgians_write_them(language, expected):
    assert number(1234.5, language) == expected
    assert number(12.0, language) == "12"


def test_highest_and_lowest_by_name():
    said = summarise(TOWNS, x="code", y="reports", label="name", language="nl")
    assert said == "Hoogste: Kortrijk (2.345). Laagste: Spiere-Helkijn (12)."


def test_a_trend_over_time_with_months_named():
    said = summarise(MONTHS, x="month", y="reports", over_time=True, language="nl")
    assert said.startswith("Hoogste: februari 2026 (1.500,5). Laagste: januari 2026 (1.200).")
    assert said.endswith("Van januari 2026 tot maart 2026: 20,8\u00a0% meer.")
    french = summarise(MONTHS, x="month", y="reports", over_time=True, language="fr")
    assert "janvier 2026" in french and "20,8\u00a0%" in french


def test_stable_falling_and_series_summed_per_period():
    flat = [{"m": "2026-01-01", "v": 100}, {"m": "2026-02-01", "v": 103}]
    assert "about the same" in summarise(flat, x="m", y="v", over_time=True, language="en")
    series = [
        {"m": "2026-01-01", "town": "A", "v": 100},
        {"m": "2026-01-01", "town": "B", "v": 100},
        {"m": "2026-02-01", "town": "A", "v": 50},
        {"m": "2026-02-01", "town": "B", "v": 100},
    ]
    said = summarise(series, x="m", y="v", label="town", over_time=True, language="en")
    assert said.endswith("From January 2026 to February 2026: down by 25%.")


def test_nothing_or_one_value():
    assert summarise([], x="a", y="b", language="en") == "No data for this selection."
    assert summarise([{"a": "x", "b": None}], x="a", y="b", language="en") == (
        "No data for this selection."
    )
    assert summarise([{"a": "Kortrijk", "b": 3}], x="a", y="b", language="en") == "Kortrijk: 3."
