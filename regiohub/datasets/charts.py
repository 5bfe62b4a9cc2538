"""Quick charts drawn on the server as SVG: they need no JavaScript, print well, and
come with the numbers as a table for screen readers and for copying."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.formats import number_format
from django.utils.html import escape

WIDTH = 720
HEIGHT = 260
PAD_LEFT = 64
PAD_BOTTOM = 28
PAD_TOP = 12


@dataclass
class Chart:
    kind: str  # "line" or "bar"
    title: str
    x_label: str
    y_label: str
    points: list[tuple[str, float | None]]  # (label, value)

    @property
    def svg(self) -> str:
        return line_svg(self) if self.kind == "line" else bar_svg(self)


def _number(value: float) -> str:
    return number_format(round(value, 2), use_l10n=True, force_grouping=True)


def _scale(values: list[float]) -> tuple[float, float]:
    low = min(0.0, min(values))
    high = max(values)
    if high == low:
        high = low + 1
    return low, high


def line_svg(chart: Chart) -> str:
    values = [v for _label, v in chart.points if v is not None]
    if not values:
        return ""
    low, high = _scale(values)
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(1, len(chart.points) - 1)
    coords = []
    for i, (_label, value) in enumerate(chart.points):
        if value is None:
            continue
        x = PAD_LEFT + plot_w * i / n
        y = PAD_TOP + plot_h * (1 - (value - low) / (high - low))
        coords.append(f"{x:.1f},{y:.1f}")
    first, last = chart.points[0][0], chart.points[-1][0]
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title">{escape(chart.title)}</title>'
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" '
        f'class="axis"/>'
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{PAD_TOP + plot_h}" '
        f'class="axis"/>'
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end">{_number(high)}</text>'
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end">{_number(low)}</text>'
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}">{escape(first)}</text>'
        f'<text x="{WIDTH - 8}" y="{HEIGHT - 8}" text-anchor="end">{escape(last)}</text>'
        f'<polyline points="{" ".join(coords)}" class="series"/>'
        "</svg>"
    )


def bar_svg(chart: Chart) -> str:
    values = [v or 0.0 for _label, v in chart.points]
    if not values:
        return ""
    high = max(max(values), 1e-9)
    row = 22
    height = PAD_TOP + row * len(values) + 8
    label_w = 200
    plot_w = WIDTH - label_w - 90
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title">{escape(chart.title)}</title>'
    ]
    for i, (label, value) in enumerate(chart.points):
        y = PAD_TOP + i * row
        width = plot_w * max(0.0, value or 0.0) / high
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" class="bar"/>'
            f'<text x="{label_w + width + 4:.1f}" y="{y + 15}">{_number(value or 0.0)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bucket_for(span_days: float) -> str:
    """A bucket that gives a readable number of points for a time span."""
    if span_days <= 3:
        return "hour"
    if span_days <= 120:
        return "day"
    if span_days <= 730:
        return "week"
    return "month"


def label(value: Any, unit: str) -> str:
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y %H:%M" if unit == "hour" else "%d/%m/%Y")
    return "" if value is None else str(value)


def map_svg(points: list[tuple[float, float]], boundaries: dict[str, Any], title: str) -> str:
    """Points (lat, lon) over the municipal boundaries, in an equirectangular projection
    corrected for latitude: enough to see where the rows are, with no tiles needed."""
    import math

    shapes: list[list[tuple[float, float]]] = []
    for feature in boundaries.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        for polygon in polygons:
            if polygon:
                shapes.append([(lat, lon) for lon, lat in polygon[0]])
    inside = [p for p in points if -90 <= p[0] <= 90 and -180 <= p[1] <= 180]
    if not inside:
        return ""
    lats = [lat for lat, _lon in inside]
    lons = [lon for _lat, lon in inside]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    if shapes:  # the region as the frame when the points lie in it
        all_lats = [lat for shape in shapes for lat, _ in shape]
        all_lons = [lon for shape in shapes for _, lon in shape]
        if min(all_lats) <= south and north <= max(all_lats):
            south, north = min(all_lats), max(all_lats)
            west, east = min(*all_lons, west), max(*all_lons, east)
    margin = max(north - south, east - west, 0.002) * 0.05
    south, north, west, east = south - margin, north + margin, west - margin, east + margin
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x = (east - west) * squeeze
    span_y = north - south
    height = max(120, min(640, round(WIDTH * span_y / span_x)))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            (lon - west) * squeeze / span_x * WIDTH,
            (north - lat) / span_y * height,
        )

    parts = [
        f'<svg class="chart map" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="map-title">{escape(title)}</title>'
    ]
    for shape in shapes:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(lat, lon) for lat, lon in shape))
        parts.append(f'<polygon points="{path}" class="area"/>')
    for lat, lon in inside:
        x, y = xy(lat, lon)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="point"/>')
    parts.append("</svg>")
    return "".join(parts)
