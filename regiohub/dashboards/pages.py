"""A dashboard as a page shows it: every chart's figure for the viewer, the filters and the
language, through the cache (:mod:`.cache`), with one ETag for the whole page.

A figure that cannot be drawn does not take the page down: the viewer may not read its
dataset (it says so, without naming what it cannot see), the dataset no longer answers the
question (the data team is told which chart and why, in the log and on the page for staff).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils.translation import gettext as _

from regiohub import __version__
from regiohub.dashboards import cache
from regiohub.dashboards.charts import ChartError
from regiohub.dashboards.definitions import Chart
from regiohub.dashboards.figures import Figure, Filters, figure, map_rows
from regiohub.dashboards.queries import Viewable
from regiohub.datasets import queries as datasets
from regiohub.meldpunt import queries as meldpunt

log = structlog.get_logger(__name__)

#: Changes when what a figure holds changes shape: old entries are then never read (the
#: platform's version is part of the key too, so an upgrade draws everything anew).
VERSION = 2
#: Figures over datasets stay until a new version gives them another key.
DATASET_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Drawn:
    """One chart on the page: its figure, or why there is none."""

    chart: Chart
    figure: Figure | None
    problem: str = ""
    #: The figure's cache key (what a page fragment drawn from it is kept under).
    key: str = ""


@dataclass(frozen=True)
class Page:
    dashboard: Viewable
    filters: Filters
    drawn: list[Drawn]
    etag: str


def _tokens(viewable: Viewable) -> dict[str, str]:
    """What each chart's data are, as of now (see :mod:`.cache`)."""
    versions = datasets.current_versions(viewable.definition.datasets())
    slot = int(time.time() // max(1, int(settings.DASHBOARDS_LIVE_SECONDS)))
    counted = None
    tokens = {}
    for chart in viewable.definition.charts:
        if chart.query.datasets():
            tokens[chart.slug] = f"d:{[versions.get(s) for s in chart.query.datasets()]}"
        elif chart.query.meldpunt == "statistics":
            if counted is None:
                counted = meldpunt.statistics_counted_at()
            tokens[chart.slug] = f"s:{counted}"
        else:
            tokens[chart.slug] = f"l:{slot}"
    return tokens


def _seconds(chart: Chart) -> float:
    if chart.query.datasets():
        return DATASET_SECONDS
    return max(1, int(settings.DASHBOARDS_LIVE_SECONDS))


def keys(viewable: Viewable, user: Any, filters: Filters, language: str) -> dict[str, str]:
    """Each chart's cache key for this viewer, filters and language."""
    scope = cache.viewer_scope(user, public=viewable.public)
    tokens = _tokens(viewable)
    return {
        chart.slug: cache.key(
            VERSION,
            __version__,
            viewable.id,
            viewable.revision,
            viewable.digest,
            chart.slug,
            filters.key(),
            language,
            tokens[chart.slug],
            scope,
        )
        for chart in viewable.definition.charts
    }


def etag(chart_keys: dict[str, str], extra: str = "") -> str:
    return hashlib.sha256(("|".join(chart_keys.values()) + extra).encode()).hexdigest()[:32]


def page(
    viewable: Viewable,
    user: Any,
    filters: Filters,
    *,
    language: str,
    only: str | None = None,
    chart_keys: dict[str, str] | None = None,
) -> Page:
    """Every chart of the dashboard (or ``only`` the one with that slug) for ``user``. A
    public dashboard is drawn as for an anonymous visitor, whoever looks: the same figures
    for everyone, and a member of staff never sees more on a public page. ``chart_keys``:
    :func:`keys`, when the caller asked them already (for its ETag)."""
    viewer = AnonymousUser() if viewable.public else user
    chart_keys = chart_keys or keys(viewable, viewer, filters, language)
    charts = [c for c in viewable.definition.charts if only is None or c.slug == only]
    found = cache.get_many([chart_keys[c.slug] for c in charts])
    drawn = []
    for chart in charts:
        key = chart_keys[chart.slug]
        if key in found:
            drawn.append(dataclasses.replace(found[key], chart=chart, key=key))
            continue
        rows = None
        if chart.kind == "map":  # every frame of a map reads the same counts
            rows = _map_rows(viewable, chart, viewer, filters)
        one = draw(chart, viewer, filters, language=language, public=viewable.public, rows=rows)
        one = dataclasses.replace(one, key=key)
        if one.figure is not None:
            cache.put(key, one, _seconds(chart))
        drawn.append(one)
    return Page(viewable, filters, drawn, etag(chart_keys, extra=only or ""))


def _map_rows(viewable: Viewable, chart: Chart, viewer: Any, filters: Filters) -> list[Any] | None:
    """A map's counts for every frame, kept apart from the frame drawn: moving the player
    (``?frame=``) draws from them without counting again."""
    key = cache.key("map-rows", *_without_frame(viewable, chart, viewer, filters))
    found = cache.get_many([key]).get(key)
    if found is not None:
        return found
    try:
        rows = map_rows(chart, viewer, filters, public=viewable.public)
    except (Http404, ValueError):
        return None
    cache.put(key, rows, _seconds(chart))
    return rows


def _without_frame(viewable: Viewable, chart: Chart, viewer: Any, filters: Filters) -> list[Any]:
    slot = int(time.time() // max(1, int(settings.DASHBOARDS_LIVE_SECONDS)))
    return [
        VERSION,
        __version__,
        viewable.id,
        viewable.digest,
        chart.slug,
        dataclasses.replace(filters, frame=None).key(),
        slot,
        cache.viewer_scope(viewer, public=viewable.public),
    ]


def draw(
    chart: Chart,
    user: Any,
    filters: Filters,
    *,
    language: str,
    public: bool = False,
    rows: list[Any] | None = None,
) -> Drawn:
    try:
        drawn = figure(chart, user, filters, language=language, public=public, map_rows=rows)
        return Drawn(chart, drawn)
    except Http404:
        return Drawn(chart, None, _("You may not see the data of this chart."))
    except datasets.QueryTimeout:
        return Drawn(chart, None, _("This chart took too long to count; try a shorter period."))
    except (datasets.QueryError, ChartError, ValueError) as error:
        log.warning("dashboard chart not drawn", chart=chart.slug, error=str(error)[:300])
        return Drawn(chart, None, _("This chart cannot be drawn: %(why)s") % {"why": error})
