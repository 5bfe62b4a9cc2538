"""The portal's public pages: the catalogue (search, facets, sort) and a dataset's page;
the sitemap search engines read. No login, no JavaScript needed."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from regiohub.core import geo, usage
from regiohub.core.models import Organisation
from regiohub.datasets import queries as datasets
from regiohub.opendata import queries
from regiohub.opendata.dcat import links
from regiohub.opendata.models import Frequency, Publication, ReuseState, Source

PAGE_SIZE = 20
PREVIEW_ROWS = 10
DOWNLOADS = [
    ("csv", "CSV"),
    ("xlsx", "Excel (XLSX)"),
    ("json", "JSON"),
    ("ndjson", "NDJSON"),
    ("parquet", "Parquet"),
]


def facet_labels() -> dict[str, dict[str, str]]:
    """What a facet value means to a visitor (a code → its name)."""
    towns = Organisation.objects.values_list("code", "nis_code", "name")
    return {
        "publisher": {code: name for code, _nis, name in towns},
        "place": {nis: name for _code, nis, name in towns if nis},
        "theme": {str(k): str(v) for k, v in datasets.Theme.choices},
        "licence": {str(k): str(v) for k, v in datasets.Licence.choices},
        "frequency": {str(k): str(v) for k, v in Frequency.choices},
    }


def _facet_title(name: str) -> str:
    return {
        "publisher": _("Publisher"),
        "theme": _("Theme"),
        "licence": _("Licence"),
        "format": _("Format"),
        "place": _("Municipality"),
        "frequency": _("Updated"),
        "keyword": _("Keyword"),
    }[name]


def _clean(value: str, limit: int = 200) -> str:
    return " ".join(value.replace("\x00", "").split())[:limit]


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Search the open data of the region."""
    question = _clean(request.GET.get("q", ""))
    chosen = {
        name: [_clean(v) for v in request.GET.getlist(name)[:20] if _clean(v)]
        for name in queries.FACETS
    }
    sort = request.GET.get("sort", "")
    try:
        page_number = max(1, min(int(request.GET.get("page", "1")[:6] or 1), 5000))
    except ValueError:
        page_number = 1
    page = queries.search_catalogue(
        question,
        chosen=chosen,
        sort=sort,
        offset=(page_number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        facet_limit=15,
    )
    labels = facet_labels()
    facets = [
        {
            "name": facet.name,
            "title": _facet_title(facet.name),
            "values": [
                {
                    "value": v.value,
                    "label": labels.get(facet.name, {}).get(v.value, v.value),
                    "count": v.count,
                    "selected": v.selected,
                }
                for v in facet.values
            ],
        }
        for facet in page.facets
        if facet.values
    ]
    pages = max(1, math.ceil(page.total / PAGE_SIZE))

    def link(number: int) -> str:
        params: list[tuple[str, str]] = [("q", question)] if question else []
        params += [(n, v) for n, values in page.chosen.items() for v in values]
        if sort:
            params.append(("sort", page.sort))
        if number > 1:
            params.append(("page", str(number)))
        return "?" + urlencode(params) if params else "?"

    results = [
        {
            "publication": p,
            "publisher": p.publisher.display_name,
            "theme": labels["theme"].get(p.theme, ""),
            "licence": labels["licence"].get(p.licence, p.licence),
        }
        for p in page.results
    ]
    return render(
        request,
        "opendata/catalogue.html",
        {
            "page": page,
            "results": results,
            "facets": facets,
            "question": question,
            "sorts": [
                ("relevance", _("Best match")),
                ("modified", _("Recently updated")),
                ("downloads", _("Most downloaded")),
                ("title", _("Title")),
            ],
            "page_number": page_number,
            "pages": pages,
            "previous_url": link(page_number - 1) if page_number > 1 else "",
            "next_url": link(page_number + 1) if page_number < pages else "",
            "first_shown": page.offset + 1 if page.total else 0,
            "alternates": links.alternate_links(request),
            "last_shown": page.offset + len(page.results),
        },
    )


def coverage_svg(places: list[str], title: str) -> str:
    """The region's municipalities, those the data covers filled in."""
    shapes: list[tuple[bool, list[list[tuple[float, float]]]]] = []
    for feature in geo.boundaries_geojson().get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        covered = feature["properties"].get("nis_code") in places
        shapes.append((covered, [p[0] for p in polygons if p]))
    points = [pt for _c, rings in shapes for ring in rings for pt in ring]
    if not points or not places:
        return ""
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((south + north) / 2))
    width = 480
    height = max(120, min(480, round(width * (north - south) / ((east - west) * squeeze))))

    def xy(lon: float, lat: float) -> str:
        return (
            f"{(lon - west) * squeeze / ((east - west) * squeeze) * width:.1f},"
            f"{(north - lat) / (north - south) * height:.1f}"
        )

    parts = [
        f'<svg class="chart map coverage" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="coverage-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="coverage-title">{escape(title)}</title>'
    ]
    for covered, rings in shapes:
        for ring in rings:
            path = " ".join(xy(lon, lat) for lon, lat in ring)
            parts.append(f'<polygon points="{path}" class="area{" covered" if covered else ""}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _schema_org(
    request: HttpRequest, publication: Publication, downloads: list[dict[str, str]]
) -> str:
    """The dataset for search engines (schema.org ``Dataset``), as JSON-LD."""
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": publication.title,
        "description": publication.description or publication.title,
        "url": request.build_absolute_uri(),
        "identifier": publication.identifier or publication.slug,
        "keywords": list(publication.keywords),
        "creator": {
            "@type": "GovernmentOrganization",
            "name": publication.publisher.name,
            **({"url": publication.publisher.website} if publication.publisher.website else {}),
        },
        "isAccessibleForFree": True,
        "inLanguage": "nl",
    }
    if publication.licence_uri:
        data["license"] = publication.licence_uri
    if publication.modified:
        data["dateModified"] = publication.modified.isoformat()
    if publication.issued:
        data["datePublished"] = publication.issued.isoformat()
    if publication.temporal_start and publication.temporal_end:
        data["temporalCoverage"] = (
            f"{publication.temporal_start.isoformat()}/{publication.temporal_end.isoformat()}"
        )
    if publication.places:
        names = Organisation.objects.filter(nis_code__in=publication.places).values_list(
            "name", flat=True
        )
        data["spatialCoverage"] = [{"@type": "Place", "name": n} for n in names]
    data["distribution"] = [
        {"@type": "DataDownload", "encodingFormat": d["media_type"], "contentUrl": d["url"]}
        for d in downloads
    ]
    # In a <script> element: no "</" may close it early.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
}


@require_GET
def dataset(request: HttpRequest, slug: str) -> HttpResponse:
    """One dataset of the portal: what it is, who publishes it, what it holds, how to get it."""
    publication = queries.entry(slug)
    if publication is None:
        raise Http404(_("There is no open dataset at this address."))
    usage.count(usage_subject(publication), "view")
    labels = facet_labels()
    context: dict[str, Any] = {
        "publication": publication,
        "theme": labels["theme"].get(publication.theme, ""),
        "licence": labels["licence"].get(publication.licence, publication.licence),
        "frequency": Frequency(publication.frequency).label
        if publication.frequency in Frequency.values
        else "",
        "places": [labels["place"].get(p, p) for p in publication.places],
        "keywords": publication.keywords,
        "harvested": publication.source == Source.HARVESTED,
        "alternates": links.alternate_links(request, publication.slug),
        "reuses": publication.reuses.filter(state=ReuseState.APPROVED).order_by("-reviewed_at")[
            :20
        ],
    }
    if publication.source == Source.HARVESTED:
        context["downloads"] = [
            {
                "label": d.get("title") or d.get("format") or _("Download"),
                "url": d.get("url", ""),
                "format": d.get("format", ""),
                "media_type": d.get("media_type", ""),
            }
            for d in publication.distributions
            if str(d.get("url", "")).startswith(("http://", "https://"))
        ]
        context["schema_org"] = _schema_org(request, publication, context["downloads"])
        return render(request, "opendata/dataset.html", context)

    info = datasets.dataset_info(AnonymousUser(), publication.slug)
    if info is None:  # closed since the list was read
        raise Http404(_("There is no open dataset at this address."))
    download = reverse("datasets:download", args=[info.slug])
    formats = list(DOWNLOADS)
    roles = {c.role for c in (info.current.columns if info.current else [])}
    if {"latitude", "longitude"} <= roles:
        formats.append(("geojson", "GeoJSON"))
    version = info.current.number if info.current else None
    context["downloads"] = [
        {
            "label": label,
            "format": key.upper(),
            "media_type": MEDIA_TYPES[key],
            "url": request.build_absolute_uri(f"{download}?{urlencode({'format': key})}"),
        }
        for key, label in formats
    ]
    context["schema_org"] = _schema_org(request, publication, context["downloads"])
    context["columns"] = info.current.columns if info.current else []
    context["column_types"] = column_types()
    context["versions"] = datasets.versions(AnonymousUser(), info.slug)[:20]
    context["explore_url"] = reverse("datasets:detail", args=[info.slug])
    context["dataset_slug"] = info.slug
    api = request.build_absolute_uri(reverse("dataset-rows", args=[info.slug]))
    csv_url = request.build_absolute_uri(f"{download}?format=csv")
    parquet_url = request.build_absolute_uri(f"{download}?format=parquet")
    context["api_url"] = api
    context["snippets"] = [
        (
            "Python",
            f'import pandas as pd\n\ndf = pd.read_csv("{csv_url}")\n# or, faster:\n'
            f'df = pd.read_parquet("{parquet_url}")',
        ),
        ("R", f'df <- read.csv("{csv_url}")'),
        ("Excel", _("Data → From Web → paste: %(url)s") % {"url": csv_url}),
        ("curl", f'curl -L -o {info.slug}.csv "{csv_url}"\ncurl "{api}?limit=10"'),
    ]
    if version is not None:
        context["version"] = version
        try:
            _found, table, _cursor = datasets.rows(
                AnonymousUser(), info.slug, {"limit": str(PREVIEW_ROWS)}
            )
            context["preview"] = [
                [_cell(row.get(c.key)) for c in context["columns"]] for row in table.to_pylist()
            ]
        except (datasets.QueryError, datasets.QueryTimeout):
            context["preview"] = []
    context["chart"] = datasets.quick_chart(AnonymousUser(), info.slug)
    context["api_examples"] = api_examples(api, context["columns"])
    if publication.places:
        context["coverage_svg"] = coverage_svg(
            publication.places, _("Municipalities the data is about")
        )
    return render(request, "opendata/dataset.html", context)


def api_examples(api: str, columns: list[Any]) -> list[tuple[str, str]]:
    """Questions to the query API built from this dataset's own columns: the API's
    documentation for this dataset."""
    found = [(_("The first 10 rows"), f"{api}?limit=10")]
    keys = [c.key for c in columns]
    if keys:
        found.append((_("Only some columns"), f"{api}?{urlencode({'select': ','.join(keys[:2])})}"))
    time = next((c for c in columns if c.role == "time"), None)
    measures = [
        c
        for c in columns
        if c.type in ("integer", "decimal")
        and c.role != "id"
        and not c.key.lower().endswith(("id", "code", "nr", "nummer"))
    ]
    number = next((c for c in measures if c.type == "decimal"), measures[0] if measures else None)
    label = next((c for c in columns if c.type == "text"), None)
    if time is not None:
        found.append(
            (
                _("Rows from a date on"),
                f"{api}?{urlencode({time.key + '__gte': '2025-01-01', 'order': '-' + time.key})}",
            )
        )
    if time is not None and number is not None and time.type in ("date", "timestamp"):
        params = {"bucket": f"{time.key}:month", "agg": f"sum:{number.key},count"}
        found.append((_("Totals per month"), f"{api}?{urlencode(params)}"))
    if label is not None and number is not None:
        params = {"group_by": label.key, "agg": f"avg:{number.key}", "order": f"-avg_{number.key}"}
        found.append((_("Averages per group"), f"{api}?{urlencode(params)}"))
    found.append((_("As CSV"), f"{api}?{urlencode({'format': 'csv', 'limit': '1000'})}"))
    return found


def usage_subject(publication: Publication) -> str:
    """What the use of a publication is counted under: the data platform's dataset (its
    downloads and API calls are counted there too), or the publication when harvested."""
    if publication.dataset_id:
        return f"dataset:{publication.dataset_id}"
    return f"publication:{publication.pk}"


def _cell(value: Any) -> str:
    """A value as a Belgian reader writes it (dates day first, Belgian time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        return moment.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return number_format(value, use_l10n=True)
    return str(value)


def column_types() -> dict[str, str]:
    return {
        "integer": _("whole number"),
        "decimal": _("number"),
        "boolean": _("yes/no"),
        "date": _("date"),
        "timestamp": _("date and time"),
        "text": _("text"),
    }


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """Every listed dataset page, for search engines (the sitemaps.org format)."""
    base = str(getattr(settings, "SITE_URL", "") or "").rstrip("/") or request.build_absolute_uri(
        "/"
    ).rstrip("/")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
        f"<url><loc>{escape(base + reverse('opendata:catalogue'))}</loc></url>",
    ]
    for slug, modified in (
        queries.listed().order_by("pk").values_list("slug", "modified").iterator()
    ):
        loc = escape(base + reverse("opendata:dataset", args=[slug]))
        lastmod = f"<lastmod>{modified.date().isoformat()}</lastmod>" if modified else ""
        lines.append(f"<url><loc>{loc}</loc>{lastmod}</url>")
    lines.append("</urlset>")
    return HttpResponse("\n".join(lines), content_type="application/xml; charset=utf-8")
