"""A figure leaves the page: its data as CSV or JSON (with its source), its picture as SVG
or PNG, and a figure or a whole dashboard as PDF for a council report.

A PDF page is an SVG sheet (title, the chart, its caption, the sentence under it and the
source), turned into PDF by vl-convert's own renderer; a dashboard's pages are joined with
pypdf. No browser is needed on the server.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from regiohub.dashboards.figures import Figure, Source
from regiohub.dashboards.summaries import number

_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)"[^>]*?\bheight="([\d.]+)"')
MARGIN = 40
LINE = 18


def cell(value: Any, language: str) -> str:
    """A table cell as Belgians write it."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return number(value, language)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            day = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
        with translation.override(language):
            return formats.date_format(day, "j M Y")
    return str(value)


def table(figure: Figure, language: str) -> dict[str, Any]:
    """The numbers behind a figure as the page's table shows them."""
    columns = figure.shown_columns
    numeric = [
        all(isinstance(row.get(c), int | float) or row.get(c) is None for row in figure.rows)
        and any(isinstance(row.get(c), int | float) for row in figure.rows)
        for c in columns
    ]
    with translation.override(language):
        rows = [
            [
                {"text": cell(row.get(c), language), "number": numeric[i]}
                for i, c in enumerate(columns)
            ]
            for row in figure.rows
        ]
    return {"headers": list(figure.headers or columns), "rows": rows}


def sources(figures: list[Figure]) -> list[Source]:
    """Each source the figures used, once (the page's "data until …, refreshed …")."""
    found: dict[tuple[str, Any], Source] = {}
    for figure in figures:
        source = figure.source
        key = (source.name, source.version)
        known = found.get(key)
        if known is None or (source.until and (known.until is None or source.until > known.until)):
            found[key] = source
    return list(found.values())


def credit(source: Source) -> str:
    parts = [source.name, source.publisher, source.licence]
    if source.attribution:
        parts.append("© " + source.attribution)
    return " · ".join(p for p in parts if p)


def response(figure: Figure, fmt: str, *, language: str, name: str) -> HttpResponse:
    import vl_convert

    with translation.override(language):
        if fmt == "csv":
            answer = HttpResponse(
                "\ufeff" + figure.as_csv(), content_type="text/csv; charset=utf-8"
            )
        elif fmt == "json":
            answer = HttpResponse(figure.as_json(), content_type="application/json")
        elif fmt == "svg":
            answer = HttpResponse(figure.svg, content_type="image/svg+xml")
        elif fmt == "png":
            answer = HttpResponse(
                vl_convert.svg_to_png(figure.svg, scale=2), content_type="image/png"
            )
        else:
            answer = HttpResponse(
                vl_convert.svg_to_pdf(sheet(figure, language=language)),
                content_type="application/pdf",
            )
    answer["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    answer["X-Content-Type-Options"] = "nosniff"
    if fmt == "svg":
        answer["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return answer


def _size(svg: str) -> tuple[float, float]:
    found = _SIZE.search(svg)
    if found is None:
        return 600.0, 300.0
    return float(found.group(1)), float(found.group(2))


def _text(x: float, y: float, text: str, *, size: int = 12, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}"{weight} fill="#1a1a1a" '
        f'font-family="sans-serif">{html.escape(text)}</text>'
    )


def _lines(text: str, width: float, size: int = 12) -> list[str]:
    chars = max(30, int(width / (size * 0.55)))
    return textwrap.wrap(text, chars) or [""]


def sheet(figure: Figure, *, language: str, heading: str = "") -> str:
    """One figure as an SVG page: heading, title, chart, caption, summary, source."""
    chart_width, chart_height = _size(figure.svg)
    width = max(chart_width, 640) + 2 * MARGIN
    parts: list[str] = []
    y = float(MARGIN)
    with translation.override(language):
        if heading:
            for line in _lines(heading, width - 2 * MARGIN, 11):
                parts.append(_text(MARGIN, y, line, size=11))
                y += LINE
            y += 4
        for line in _lines(figure.chart.title.get(language), width - 2 * MARGIN, 16):
            y += 4
            parts.append(_text(MARGIN, y + 12, line, size=16, bold=True))
            y += 22
        y += 8
        body = _SIZE.sub(
            lambda m: m.group(0).replace("<svg", f'<svg x="{MARGIN}" y="{y}"', 1), figure.svg, 1
        )
        parts.append(re.sub(r"<\?xml[^>]*\?>", "", body))
        y += chart_height + 16
        texts = [
            (figure.chart.caption.get(language), 11),
            (figure.summary, 12),
            (_("Source: %(source)s") % {"source": credit(figure.source)}, 10),
        ]
        for text, size in texts:
            for line in _lines(text, width - 2 * MARGIN, size):
                parts.append(_text(MARGIN, y + size, line, size=size))
                y += LINE
            y += 6
    height = y + MARGIN
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="white"/>'
        + "".join(parts)
        + "</svg>"
    )


def dashboard_pdf(viewable: Any, shown: Any, *, language: str) -> bytes:
    """Every figure of the page on a page of its own, headed by the dashboard's title and
    the period shown."""
    import vl_convert
    from pypdf import PdfReader, PdfWriter

    definition = viewable.definition
    filters = shown.filters
    with translation.override(language):
        period = _("%(start)s to %(end)s") % {
            "start": formats.date_format(filters.start, "j F Y"),
            "end": formats.date_format(filters.end, "j F Y"),
        }
    heading = f"{definition.title.get(language)} · {period}"
    writer = PdfWriter()
    for one in shown.drawn:
        if one.figure is None:
            continue
        page = vl_convert.svg_to_pdf(sheet(one.figure, language=language, heading=heading))
        for part in PdfReader(io.BytesIO(page)).pages:
            writer.add_page(part)
    if not writer.pages:  # nothing this viewer may see: a page that says so
        with translation.override(language):
            said = _("There is no figure in this dashboard that you may see for this selection.")
        page = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="160">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f"{_text(MARGIN, MARGIN, heading, size=11)}{_text(MARGIN, MARGIN + 40, said)}</svg>"
        )
        for part in PdfReader(io.BytesIO(vl_convert.svg_to_pdf(page))).pages:
            writer.add_page(part)
    writer.add_metadata({"/Title": heading, "/Producer": "regiohub"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
