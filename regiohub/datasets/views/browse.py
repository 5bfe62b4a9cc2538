"""Browsing datasets: the list and a dataset's page (versions, columns with statistics, a
quick chart, a filterable preview) and downloads of any version. Open datasets are for
everyone; every other dataset answers 404 to whoever may not see it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from regiohub.core import access, errors, throttling
from regiohub.core.auth.decorators import token_or_session
from regiohub.datasets import charts, formats, query, quick_chart, storage
from regiohub.datasets.ingest.units import shown_unit
from regiohub.datasets.models import Dataset, DatasetVersion
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.queries import version_of
from regiohub.datasets.views.steward import ROLE_LABELS, TYPE_LABELS

PREVIEW_ROWS = 50
EXCEL_MAX_ROWS = 1_048_575
DOWNLOAD_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "json": ("application/json; charset=utf-8", "JSON"),
    "ndjson": ("application/x-ndjson; charset=utf-8", "NDJSON"),
    "parquet": ("application/vnd.apache.parquet", "Parquet"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
}
#: The operators of the preview's filter form, with their labels.
FILTER_OPERATORS = [
    ("eq", "="),
    ("ne", "≠"),
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
    ("contains", gettext_lazy("contains")),
]


class DownloadThrottle(throttling.PublicThrottle):
    """A whole version is the heaviest thing an anonymous visitor can ask for."""

    scope = "datasets_download"
    setting = "DATASETS_DOWNLOAD_RATE"


def visible_dataset(request: HttpRequest, slug: str) -> Dataset:
    return get_object_or_404(
        Dataset.objects.visible_to(request.user).select_related("owner"), slug=slug[:80]
    )


@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = (
        Dataset.objects.visible_to(request.user)
        .select_related("owner")
        .prefetch_related("versions")
        .order_by("title")
    )
    return render(
        request,
        "datasets/list.html",
        {
            "datasets": datasets,
            "can_create": bool(access.organisation_ids(request.user, MANAGE_DATA)),
        },
    )


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").rstrip("0").rstrip(",")
    return str(value)


def _preview_params(request: HttpRequest, schema: list[dict[str, Any]]) -> tuple[QueryDict, dict]:
    """Query-API parameters from the page's simple form (column, operator, value, sort)."""
    params = QueryDict(mutable=True)
    keys = {c["key"] for c in schema}
    form = {
        "column": request.GET.get("column", ""),
        "op": request.GET.get("op", "eq"),
        "value": request.GET.get("value", "")[:200],
        "order": request.GET.get("order", "")[:80],
    }
    if form["column"] in keys and form["value"] and form["op"] in dict(FILTER_OPERATORS):
        params[f"{form['column']}__{form['op']}"] = form["value"]
    if form["order"].lstrip("-") in keys:
        params["order"] = form["order"]
    if after := request.GET.get("after"):
        params["after"] = after[:2000]
    params["limit"] = str(PREVIEW_ROWS)
    return params, form


def _chart(
    version: DatasetVersion, files: list[str], request: HttpRequest
) -> tuple[charts.Chart | None, list[dict[str, Any]]]:
    """The steward's default chart when it still fits this version's columns, else one
    chosen from the columns (see :mod:`regiohub.datasets.quick_chart`); the measures a
    visitor may switch to."""
    schema, stats = version.schema, version.stats  # stats: computed by a task when published
    numbers = quick_chart.measures(schema, version.primary_key)
    saved = dict(version.dataset.chart or {})
    asked = request.GET.get("chart", "")
    if saved and not quick_chart.chart_errors(saved, schema):
        if asked in {c["key"] for c in numbers} and saved["aggregation"] != "count":
            saved["measure"] = asked
        chosen: dict[str, str] | None = saved
    else:
        chosen = quick_chart.automatic(schema, version.primary_key, stats, asked)
    if chosen is None:
        return None, numbers
    return quick_chart.build(schema, stats, files, chosen), numbers


MAP_POINTS = 2000


def _map(version: DatasetVersion, files: list[str]) -> dict[str, Any] | None:
    """The rows with a place, on a map of the region (the first MAP_POINTS of them)."""
    from regiohub.core import geo

    latitude = next((c for c in version.schema if c["role"] == "latitude"), None)
    longitude = next((c for c in version.schema if c["role"] == "longitude"), None)
    if latitude is None or longitude is None:
        return None
    params = QueryDict(mutable=True)
    params["select"] = f"{latitude['key']},{longitude['key']}"
    params[f"{latitude['key']}__isnull"] = "false"
    params[f"{longitude['key']}__isnull"] = "false"
    params["limit"] = str(MAP_POINTS)
    answer = query.run(files, version.schema, query.parse(params, version.schema))
    points = [
        (float(row[latitude["key"]]), float(row[longitude["key"]]))
        for row in answer.table.to_pylist()
    ]
    title = _("%(count)d places of the rows") % {"count": len(points)}
    svg = charts.map_svg(points, geo.boundaries_geojson(), title)
    return {"svg": svg, "title": title, "more": bool(answer.next_cursor)} if svg else None


@require_GET
def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = visible_dataset(request, slug)
    versions = list(dataset.versions.order_by("-number"))
    can_manage = dataset.owner_id in access.organisation_ids(request.user, MANAGE_DATA)
    context: dict[str, Any] = {
        "dataset": dataset,
        "versions": versions,
        "can_manage": can_manage,
        "loads": dataset.loads.order_by("-created_at")[:5] if can_manage else [],
        "operators": FILTER_OPERATORS,
        "formats": [(key, label) for key, (_type, label) in DOWNLOAD_FORMATS.items()],
    }
    if not versions:
        return render(request, "datasets/detail.html", context)
    asked = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == asked), versions[0])
    files = storage.files(dataset.storage_key, version.delta_version)
    params, form = _preview_params(request, version.schema)
    error = ""
    rows: list[list[str]] = []
    next_url = ""
    try:
        answer = query.run(files, version.schema, query.parse(params, version.schema))
        rows = [[_plain(v) for v in row.values()] for row in answer.table.to_pylist()]
        if answer.next_cursor:
            following = request.GET.copy()
            following["after"] = answer.next_cursor
            next_url = "?" + following.urlencode()
    except query.QueryError as exc:
        error = exc.message
    except query.QueryTimeout:
        error = _("This took too long; filter more.")
    try:
        chart, numbers = _chart(version, files, request)
    except (query.QueryError, query.QueryTimeout):
        chart, numbers = None, []  # the page still shows the rows
    try:
        point_map = _map(version, files)
    except (query.QueryError, query.QueryTimeout):
        point_map = None
    column_stats = version.stats  # computed by a task when published
    context.update(
        {
            "version": version,
            "columns": [
                {
                    **column,
                    "stats": _shown_stats(column, column_stats.get(column["key"], {})),
                    # Words, not the stored codes ("timestamp", "id").
                    "type_label": TYPE_LABELS.get(column["type"], column["type"]),
                    "role_label": ROLE_LABELS.get(column["role"], column["role"])
                    if column.get("role")
                    else "",
                    # Not "Bedrag (EUR) (EUR)": a unit the name says already is not repeated.
                    "unit_shown": shown_unit(column.get("name", ""), column.get("unit", "")),
                }
                for column in version.schema
            ],
            "rows": rows,
            "form": form,
            "error": error,
            "next_url": next_url,
            "chart": chart,
            "chart_options": numbers,
            "chart_table": [(label, _plain(value)) for label, value in chart.points]
            if chart
            else [],
            "api_url": f"/api/v1/datasets/{dataset.slug}/rows/?version={version.number}",
            "point_map": point_map,
        }
    )
    return render(request, "datasets/detail.html", context)


def _shown_stats(column: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Statistics as the page shows them: numbers and times the Belgian way."""
    shown = dict(found)
    for name in ("min", "max"):
        value = found.get(name)
        if value in (None, ""):
            continue
        try:
            if column["type"] in ("integer", "decimal"):
                shown[name] = _plain(float(value))
            elif column["type"] == "timestamp":
                shown[name] = _plain(datetime.fromisoformat(str(value).replace(" ", "T")))
            elif column["type"] == "date":
                shown[name] = _plain(date.fromisoformat(str(value)))
        except ValueError:
            pass
    if found.get("avg") is not None:
        shown["avg"] = _plain(float(found["avg"]))
    return shown


def _batches(files: list[str], version: DatasetVersion) -> Iterator[Any]:
    schema = version.schema
    everything = query.Query(limit=max(1, version.row_count))
    yield from query.stream(files, schema, everything, seconds=600)


@require_GET
@token_or_session  # BI tools and scripts send a personal API token (decision 0025)
def download(request: HttpRequest, slug: str) -> HttpResponse:
    """A whole version in the format asked for."""
    dataset = visible_dataset(request, slug)
    version = version_of(dataset, request.GET.get("version"))
    fmt = request.GET.get("format", "csv")
    ok, wait = throttling.allowed(DownloadThrottle, request)
    if not ok:
        if errors.wants_html(request):  # a browser: the site's own page
            response = errors.error_page(request, 429, minutes=max(1, -(-wait // 60)))
        else:
            response = HttpResponse(
                _("Too many downloads from your address; try again in %(s)d seconds.")
                % {"s": wait},
                status=429,
                content_type="text/plain; charset=utf-8",
            )
        response["Retry-After"] = str(wait)
        return response
    if fmt not in DOWNLOAD_FORMATS:
        raise Http404
    files = storage.files(dataset.storage_key, version.delta_version)
    name = f"{dataset.slug}-v{version.number}.{fmt}"
    content_type = DOWNLOAD_FORMATS[fmt][0]
    keys = [c["key"] for c in version.schema]
    if fmt == "parquet":
        return _file_response(_parquet(files, keys), name, content_type)
    if fmt == "xlsx":
        if version.row_count > EXCEL_MAX_ROWS:
            message = _("Excel holds at most %(max)s rows; download CSV or Parquet instead.") % {
                "max": f"{EXCEL_MAX_ROWS:,}"
            }
            if errors.wants_html(request):
                return errors.error_page(request, 400, message=message)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return _file_response(_excel(files, version), name, content_type)
    batches = _batches(files, version)
    if fmt == "csv":
        stream = formats.csv_stream(keys, batches)
    elif fmt == "ndjson":
        stream = formats.ndjson_stream(batches)
    else:
        stream = formats.json_array_stream(batches)
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _temporary(suffix: str) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False, dir=_download_dir()) as handle:
        return Path(handle.name)


def _download_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _parquet(files: list[str], keys: list[str]) -> Path:
    target = _temporary(".parquet")
    query.write_parquet(files, keys, target)  # the query engine writes no files itself
    return target


def _excel(files: list[str], version: DatasetVersion) -> Path:
    target = _temporary(".xlsx")
    header = [c["name"] for c in version.schema]
    formats.write_xlsx(target, version.dataset.slug, header, _batches(files, version))
    return target


def _file_response(path: Path, name: str, content_type: str) -> FileResponse:
    handle = path.open("rb")
    path.unlink()  # the open handle keeps it readable; nothing stays behind
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
