"""The dashboards' pages. Thin: what a figure holds is :mod:`.pages`' and :mod:`.figures`'.

A dashboard is a GET form and its figures: the address keeps the filters, so a view can be
bookmarked or mailed. ``?embed=1`` gives the same figures without the site around them, for
a frame on a municipality's website: public dashboards only, as for an anonymous visitor,
without cookies, and only in the pages of the origins configured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    QueryDict,
)
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from regiohub.dashboards import cache, exports, pages, queries
from regiohub.dashboards.figures import FilterError, Filters, parse_filters
from regiohub.meldpunt import queries as meldpunt

EMBED_PARAM = "embed"


def _language(request: HttpRequest, embedded: bool) -> str:
    """The page's language; an embedded one may say it with ``lang`` (no cookie there)."""
    if embedded:
        asked = request.GET.get("lang", "")
        if asked in dict(settings.LANGUAGES):
            translation.activate(asked)
            request.LANGUAGE_CODE = asked
            return asked
    return translation.get_language() or "nl"


def _embedded(request: HttpRequest) -> bool:
    return request.GET.get(EMBED_PARAM) == "1"


def _viewable(request: HttpRequest, slug: str, embedded: bool) -> queries.Viewable:
    user = AnonymousUser() if embedded else request.user
    found = queries.dashboard_for(user, slug, public_only=embedded)
    if found is None:
        raise Http404(_("There is no dashboard at this address, or you may not see it."))
    return found


def _filters(
    request: HttpRequest, viewable: queries.Viewable
) -> tuple[Filters, FilterError | None]:
    definition = viewable.definition
    today = timezone.localdate()
    names = {"frame"} | ({"start", "end"} if "period" in definition.filters else set())
    names |= {f for f in ("municipality", "category", "channel") if f in definition.filters}
    offered = {k: v for k, v in request.GET.lists() if k in names}
    params = QueryDict(mutable=True)
    for key, values in offered.items():
        params.setlist(key, values)
    try:
        return parse_filters(params, today=today, period=definition.period), None
    except FilterError as error:
        return parse_filters({}, today=today, period=definition.period), error


def _conditional(request: HttpRequest, tag: str) -> HttpResponse | None:
    quoted = f'"{tag}"'
    matches = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if quoted in matches or f"W/{quoted}" in matches:
        response = HttpResponseNotModified()
        response["ETag"] = quoted
        return response
    return None


def _cache_headers(response: HttpResponse, tag: str, *, public: bool, embedded: bool) -> None:
    response["ETag"] = f'"{tag}"'
    if embedded:
        response["Cache-Control"] = "public, max-age=60"
    else:
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie, Accept-Language"


def _frame_policy(response: HttpResponse) -> None:
    """The embed view may be framed by the configured origins alone."""
    origins = " ".join(settings.DASHBOARDS_EMBED_ANCESTORS) or "'none'"
    policy = settings.CONTENT_SECURITY_POLICY or ""
    parts = [p.strip() for p in policy.split(";") if p.strip()]
    parts = [p for p in parts if not p.startswith("frame-ancestors")]
    parts.append(f"frame-ancestors {origins}")
    response["Content-Security-Policy"] = "; ".join(parts)


def _page_tag(request: HttpRequest, keys: dict[str, str], language: str, embedded: bool) -> str:
    """The ETag of a whole HTML page: its figures, and for a page with the site's menu
    around it who looks (the menu differs per person) and the CSRF secret its language
    form carries (the one this response sets when the visitor had none, so that the next
    request can be answered 304)."""
    extra = f"{language}|{embedded}"
    if not embedded:
        get_token(request)  # makes sure the secret exists, as the page's form will
        csrf = request.META.get("CSRF_COOKIE", "")
        extra += f"|{getattr(request.user, 'pk', '')}|{csrf}"
    return pages.etag(keys, extra=extra)


@require_GET
def listing(request: HttpRequest) -> HttpResponse:
    language = translation.get_language() or "nl"
    found = []
    for dashboard in queries.dashboards_for(request.user).order_by("position", "slug"):
        viewable = queries.read(dashboard)
        found.append(
            {
                "slug": viewable.slug,
                "title": viewable.definition.title.get(language),
                "description": viewable.definition.description.get(language),
                "public": viewable.public,
                "charts": len(viewable.definition.charts),
            }
        )
    return render(request, "dashboards/list.html", {"dashboards": found})


@require_GET
@xframe_options_exempt
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    return _show(request, slug, only=None)


@require_GET
@xframe_options_exempt
def chart(request: HttpRequest, slug: str, chart: str) -> HttpResponse:
    return _show(request, slug, only=chart)


def _show(request: HttpRequest, slug: str, *, only: str | None) -> HttpResponse:
    embedded = _embedded(request)
    language = _language(request, embedded)
    viewable = _viewable(request, slug, embedded)
    definition = viewable.definition
    if only is not None and only not in {c.slug for c in definition.charts}:
        raise Http404(_("This dashboard has no such chart."))
    filters, problem = _filters(request, viewable)
    user = AnonymousUser() if embedded else request.user
    keys = pages.keys(viewable, AnonymousUser() if viewable.public else user, filters, language)
    tag = _page_tag(request, keys, language, embedded) + (only or "")
    if problem is None and (not_modified := _conditional(request, tag)):
        return not_modified
    shown = pages.page(viewable, user, filters, language=language, only=only, chart_keys=keys)
    context = _context(request, viewable, shown, filters, problem, language, embedded, only)
    template = "dashboards/embed.html" if embedded else "dashboards/dashboard.html"
    response = render(request, template, context, status=400 if problem else 200)
    if problem is None:
        _cache_headers(response, tag, public=viewable.public, embedded=embedded)
    if embedded:
        _frame_policy(response)
    else:
        response["X-Frame-Options"] = "DENY"
    return response


def _context(
    request: HttpRequest,
    viewable: queries.Viewable,
    shown: pages.Page,
    filters: Filters,
    problem: FilterError | None,
    language: str,
    embedded: bool,
    only: str | None,
) -> dict[str, Any]:
    from regiohub.core.models import Organisation

    definition = viewable.definition
    selection = urlencode(filters.query(), doseq=True)
    hidden = [(k, v) for k, values in _listed(filters.query()) for v in values if k != "frame"]
    shared = {
        "dashboard": viewable,
        "embedded": embedded,
        "only": only,
        "language": language,
        "threshold": settings.DASHBOARDS_SUPPRESS_BELOW,
    }
    # A figure's HTML (its picture, table and links) is drawn once per figure, page kind
    # and selection and kept: a dashboard's page then joins kept pieces.
    fragment_keys = {
        one.chart.slug: cache.key("fragment", one.key, embedded, only, selection, language)
        for one in shown.drawn
        if one.figure is not None and one.key
    }
    kept = cache.get_many(list(fragment_keys.values()))
    figures = []
    for one in shown.drawn:
        figure = one.figure
        fragment_key = fragment_keys.get(one.chart.slug)
        html = kept.get(fragment_key) if fragment_key else None
        if html is None:
            item = {
                "slug": one.chart.slug,
                "kind": one.chart.kind,
                "title": one.chart.title.get(language),
                "caption": one.chart.caption.get(language),
                "figure": figure,
                "problem": one.problem,
                # A map's table is its frame's (``extra["table"]``), not every frame's rows.
                "table": exports.table(figure, language)
                if figure and one.chart.kind != "map"
                else None,
                "selection": selection,
                "hidden": hidden,
            }
            html = render_to_string("dashboards/_figure.html", {**shared, "item": item})
            if fragment_key:
                cache.put(fragment_key, html, pages.DATASET_SECONDS)
        figures.append(
            {
                "slug": one.chart.slug,
                "figure": figure,
                "problem": one.problem,
                "html": mark_safe(html),  # noqa: S308 - our own template's output
            }
        )
    sources = exports.sources([one.figure for one in shown.drawn if one.figure])
    municipalities = (
        Organisation.objects.filter(kind="municipality").order_by("name")
        if "municipality" in definition.filters
        else []
    )
    subjects = (
        meldpunt.subject_choices(public=viewable.public) if "category" in definition.filters else []
    )
    channels = meldpunt.channel_choices() if "channel" in definition.filters else []
    return {
        "dashboard": viewable,
        "title": definition.title.get(language),
        "description": definition.description.get(language),
        "notice": definition.notice.get(language) if definition.notice else "",
        "figures": figures,
        "sources": sources,
        "filters": filters,
        "offered": definition.filters,
        "municipalities": municipalities,
        "subjects": subjects,
        "channels": channels,
        "problem": problem,
        "problem_anchor": _anchor(problem, viewable),
        "selection": selection,
        "embedded": embedded,
        "only": only,
        "language": language,
        "threshold": settings.DASHBOARDS_SUPPRESS_BELOW,
    }


def _anchor(problem: FilterError | None, viewable: queries.Viewable) -> str:
    """Where the error summary's link leads: the field the problem is about."""
    if problem is None:
        return ""
    if problem.field == "frame":
        maps = [c.slug for c in viewable.definition.charts if c.kind == "map"]
        return f"frame-{maps[0]}" if maps else "main"
    return f"filter-{problem.field}"


def _listed(params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(k, v if isinstance(v, list) else [v]) for k, v in params.items()]


@require_GET
@xframe_options_exempt
def chart_file(request: HttpRequest, slug: str, chart: str, fmt: str) -> HttpResponse:
    """The data behind a chart (CSV, JSON) or its picture (SVG, PNG, PDF)."""
    embedded = _embedded(request)
    language = _language(request, embedded)
    viewable = _viewable(request, slug, embedded)
    if chart not in {c.slug for c in viewable.definition.charts}:
        raise Http404(_("This dashboard has no such chart."))
    filters, problem = _filters(request, viewable)
    if problem is not None:
        return HttpResponse(
            f"{problem.field}: {problem}", status=400, content_type="text/plain; charset=utf-8"
        )
    user = AnonymousUser() if embedded else request.user
    keys = pages.keys(viewable, AnonymousUser() if viewable.public else user, filters, language)
    tag = pages.etag({chart: keys[chart]}, extra=f"{fmt}|{language}")
    if not_modified := _conditional(request, tag):
        return not_modified
    shown = pages.page(viewable, user, filters, language=language, only=chart)
    one = shown.drawn[0]
    if one.figure is None:
        return HttpResponse(one.problem, status=404, content_type="text/plain; charset=utf-8")
    response = exports.response(one.figure, fmt, language=language, name=f"{slug}-{chart}")
    _cache_headers(response, tag, public=viewable.public, embedded=embedded)
    return response


@require_GET
def dashboard_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    """The whole dashboard as a PDF for a council report: every figure with its title,
    caption, summary and source."""
    language = translation.get_language() or "nl"
    viewable = _viewable(request, slug, False)
    filters, problem = _filters(request, viewable)
    if problem is not None:
        return HttpResponse(
            f"{problem.field}: {problem}", status=400, content_type="text/plain; charset=utf-8"
        )
    shown = pages.page(viewable, request.user, filters, language=language)
    body = exports.dashboard_pdf(viewable, shown, language=language)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{slug}.pdf"'
    response["Cache-Control"] = "private, no-cache"
    return response
