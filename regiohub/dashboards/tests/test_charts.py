"""Charts rendered on the server: Belgian formats per language, an accessible image, a
palette with 3:1 contrast, nothing fetched, and an author's mistake said in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from regiohub.dashboards.charts import (
    PALETTE,
    ChartError,
    canonical,
    render_svg,
    spec_fields,
)

MONTHLY = {
    "mark": "line",
    "encoding": {
        "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth",
              "axis": {"format": "%b %Y", "title": None}},
        "y": {"field": "reports", "type": "quantitative", "axis": {"format": ",.1f"}},
        "color": {"field": "municipality", "type": "nominal"},
    },
}  # fmt: skip
ROWS = [
    {"month": "2026-01-01", "reports": 1234.5, "municipality": "Kortrijk"},
    {"month": "2026-02-01", "reports": 2001.25, "municipality": "Kortrijk"},
    {"month": "2026-03-01", "reports": 1800, "municipality": "Kortrijk"},
    {"month": "2026-03-01", "reports": 900, "municipality": "Menen"},
]


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@pytest.mark.parametrize(
    ("language", "month", "thousand"),
    [("nl", "mrt 2026", "1.000,0"), ("fr", "mars 2026", "1\u00a0000,0"),
     ("en", "Mar 2026", "1,000.0")],
)  # fmt: skip
def test_numbers_and_months_as_belgians_write_them(language, month, thousand):
    svg = render_svg(MONTHLY, language=language, label="Meldingen per maand", rows=ROWS)
    shown = texts(svg)
    assert month in shown
    assert thousand in shown


def test_the_chart_is_one_labelled_image():
    svg = render_svg(MONTHLY, language="nl", label="Meldingen <per> maand", rows=ROWS)
    root = ET.fromstring(svg)  # noqa: S314 - our own output: well-formed, the label escaped
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Meldingen <per> maand"
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == "Meldingen <per> maand"


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize("colour", PALETTE)
def test_every_colour_of_the_palette_keeps_3_to_1_on_white(colour):
    assert (1.05) / (_luminance(colour) + 0.05) >= 3.0


def test_series_take_the_palette_and_lines_carry_points():
    svg = render_svg(MONTHLY, language="nl", label="x", rows=ROWS)
    assert PALETTE[0] in svg and PALETTE[1] in svg
    assert "mark-symbol" in svg  # points on the lines: not told by colour alone


@pytest.mark.parametrize(
    "spec",
    [
        {"data": {"url": "https://example.org/steal.json"}, "mark": "point"},
        {"mark": "image", "encoding": {"url": {"value": "http://169.254.169.254/"}}},
        {"layer": [{"data": {"url": "file:///etc/passwd"}, "mark": "bar"}]},
    ],
)
def test_a_chart_loads_nothing_from_an_address(spec):
    with translation.override("en"), pytest.raises(ChartError) as refused:
        render_svg(spec, language="nl", label="x", rows=None)
    assert "may not load anything" in str(refused.value)


def test_a_specification_that_does_not_render_is_said_in_words():
    broken = {"mark": "bar", "encoding": {"x": {"field": "a", "type": "wrong"}}}
    with translation.override("en"), pytest.raises(ChartError) as refused:
        render_svg(broken, language="nl", label="x", rows=[{"a": 1}])
    message = str(refused.value)
    assert message.startswith("The chart's specification does not render:")
    assert "Invalid field type" in message
    assert "jsdelivr" not in message and " at " not in message


def test_fields_of_a_specification_and_its_cache_text():
    layered = {"layer": [MONTHLY, {"mark": "rule", "encoding": {"y": {"field": "median"}}}]}
    assert spec_fields(MONTHLY) == {"month", "reports", "municipality"}
    assert spec_fields(layered) == {"month", "reports", "municipality", "median"}
    assert canonical({"b": 1, "a": [2]}) == canonical({"a": [2], "b": 1})
