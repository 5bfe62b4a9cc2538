"""A chart as the page shows it: a Vega-Lite specification rendered to SVG on the server.

vl-convert keeps one JavaScript engine per process (started by the first chart, ~0.4 s);
a chart then takes 20-45 ms, so pages cache what it renders. A specification cannot fetch
anything (``allowed_base_urls=[]``): its data are the rows our own queries put inline. Numbers
and dates follow the page's language as Belgians write them (``1.234,5``, ``mrt 2026``;
``1 234,5``, ``mars 2026``). Marks take :data:`PALETTE`, whose every colour keeps a 3:1
contrast with the white background (WCAG 1.4.11); lines also carry point marks, so that a
series is never told by colour alone.
"""

from __future__ import annotations

import copy
import html
import json
import re
from typing import Any

from django.utils.translation import gettext as _

#: d3-format locales (vl-convert knows no Belgian ones by name).
FORMAT_LOCALES: dict[str, dict[str, Any]] = {
    "nl": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["€\u00a0", ""]},
    "fr": {
        "decimal": ",",
        "thousands": "\u00a0",
        "grouping": [3],
        "currency": ["", "\u00a0€"],
        "percent": "\u00a0%",
    },
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]},
}
#: d3-time-format locales by name (month and day names).
TIME_LOCALES = {"nl": "nl-BE", "fr": "fr-FR", "en": "en-GB"}

#: Dark enough on white for 3:1 (checked by a test), told apart by people with the common
#: colour vision deficiencies (after Paul Tol's "high contrast" and "muted" schemes).
PALETTE = ["#004488", "#994455", "#117733", "#882255", "#997700", "#005566", "#aa3377", "#555555"]

#: What every chart shares: the palette, readable text, and points on lines.
CONFIG: dict[str, Any] = {
    "range": {"category": PALETTE},
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "axis": {
        "labelFontSize": 12,
        "titleFontSize": 12,
        "labelColor": "#333333",
        "titleColor": "#333333",
        "gridColor": "#e5e5e5",
    },
    "legend": {
        "labelFontSize": 12,
        "titleFontSize": 12,
        "labelColor": "#333333",
        "labelLimit": 320,
    },
    "line": {"point": {"filled": True, "size": 36}, "strokeWidth": 2},
    "bar": {"color": PALETTE[0]},
    "view": {"stroke": None},
    "background": "white",
}

_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


class ChartError(ValueError):
    """A specification that does not render, in words for the person who wrote it."""


def render_svg(
    spec: dict[str, Any],
    *,
    language: str,
    label: str,
    rows: list[dict[str, Any]] | None = None,
) -> str:
    """``spec`` with ``rows`` as its inline data, as an SVG image labelled ``label``
    (``role="img"``: a screen reader reads the label and skips the marks; the page gives
    the numbers in a table beside it)."""
    import vl_convert

    language = language if language in FORMAT_LOCALES else "nl"
    chart = localise(copy.deepcopy(spec), language)
    if rows is not None:
        chart["data"] = {"values": rows}
    refuse_fetches(chart)
    config = {**CONFIG, **chart.pop("config", {})}
    try:
        svg = vl_convert.vegalite_to_svg(
            chart,
            config=config,
            allowed_base_urls=[],
            format_locale=FORMAT_LOCALES[language],
            time_format_locale=TIME_LOCALES[language],
        )
    except ValueError as error:
        raise ChartError(_explain(str(error))) from error
    return _labelled(svg, label)


def localise(node: Any, language: str) -> Any:
    """``spec`` with every ``{nl: …, fr: …, en: …}`` (an axis or legend title written in the
    three languages) replaced by the text in ``language``."""
    if isinstance(node, dict):
        if (
            node
            and set(node) == {"nl", "fr", "en"}
            and all(isinstance(v, str) for v in node.values())
        ):
            return node.get(language) or node["nl"]
        return {key: localise(value, language) for key, value in node.items()}
    if isinstance(node, list):
        return [localise(item, language) for item in node]
    return node


def refuse_fetches(node: Any) -> None:
    """No ``url`` anywhere (data, images, lookups): vl-convert refuses them too, but this
    says so before an engine is asked and in the author's words."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url":  # data.url, an image's url channel, a lookup's url
                shown = value if isinstance(value, str) else json.dumps(value)
                raise ChartError(
                    _(
                        "A chart may not load anything from an address (“%(url)s”): its "
                        "data come from the chart's query."
                    )
                    % {"url": shown[:100]}
                )
            refuse_fetches(value)
    elif isinstance(node, list):
        for item in node:
            refuse_fetches(item)


def _explain(message: str) -> str:
    """The engine's first line without the stack: "Invalid specification: …"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    detail = next((line for line in lines if not line.startswith(("at ", "Vega-Lite to SVG"))), "")
    return _("The chart's specification does not render: %(detail)s") % {
        "detail": detail[:300] or "?"
    }


def _labelled(svg: str, label: str) -> str:
    """The SVG root as an image with an accessible name and a ``<title>``."""
    found = _SVG_OPEN.search(svg)
    if found is None:  # pragma: no cover - vl-convert always writes an <svg> root
        raise ChartError(_("The chart's specification does not render: no image."))
    name = html.escape(label, quote=True)
    opening = found.group(0)[:-1] + f' role="img" aria-label="{name}" focusable="false">'
    return svg[: found.start()] + opening + f"<title>{name}</title>" + svg[found.end() :]


def spec_fields(spec: dict[str, Any]) -> set[str]:
    """The data fields a specification's encodings name (to check them against the
    columns its query returns)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            field = node.get("field")
            if isinstance(field, str):
                found.add(field)
            for key, value in node.items():
                if key != "data":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec.get("encoding", {}))
    for layer in spec.get("layer", []) + spec.get("hconcat", []) + spec.get("vconcat", []):
        found |= spec_fields(layer)
    return found


def canonical(spec: dict[str, Any]) -> str:
    """One text per specification (sorted keys): what a cache key is made of."""
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
