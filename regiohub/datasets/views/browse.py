"""Browsing datasets: the list and a dataset's page (versions, columns with statistics, a
quick chart, a filterable preview) and downloads of any version. Open datasets are for
everyone; every other dataset answers 404 to whoever may not see it.

A download is a file built once per version and format and kept in a cache folder
(decision 0028), served with the HTTP a mature data portal offers: a strong ``ETag`` and
``Last-Modified`` (304 answers), ``Cache-Control``, byte ranges (206, 416, ``If-Range``),
and the licence in a ``Link`` header and inside the file where its format has room.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_safe

from regiohub.core import access, errors, throttling, usage
from regiohub.core.auth.decorators import token_or_session
from regiohub.datasets import charts, formats, query, quick_chart, storage
from regiohub.datasets.ingest.units import shown_unit
from regiohub.datasets.models import Access, Dataset, DatasetVersion, Licence
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.queries import LICENCE_URIS, version_of
from regiohub.datasets.views.steward import ROLE_LABELS, TYPE_LABELS

PREVIEW_ROWS = 50
EXCEL_MAX_ROWS = 1_048_575
DOWNLOAD_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "json": ("application/json; charset=utf-8", "JSON"),
    "ndjson": ("application/x-ndjson; charset=utf-8", "NDJSON"),
    "parquet": ("application/vnd.apache.parquet", "Parquet"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "geojson": ("application/geo+json", "GeoJSON"),  # only for a version with places
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
        "formats": [],
    }
    if not versions:
        return render(request, "datasets/detail.html", context)
    asked = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == asked), versions[0])
    context["formats"] = [
        (key, label)
        for key, (_type, label) in DOWNLOAD_FORMATS.items()
        if key != "geojson" or place_columns(version) is not None
    ]
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


# --- Downloads: one file per version and format, built once (decision 0028) --------------

#: Raised when what a writer writes changes: every ETag and cached file changes with it.
FORMAT_REVISION = 1
#: Formats whose file holds the dataset's title, licence, attribution and address.
DESCRIBED_FORMATS = frozenset({"parquet", "xlsx", "geojson"})
#: Rows per batch read from the version's files (DuckDB's row group).
SCAN_ROWS = 122_880
#: The database's time for each batch of a download (not for writing it).
DOWNLOAD_SECONDS = 600.0
#: How long a shared cache may keep an open dataset's download without asking again: a
#: version asked for by number never changes (an hour bounds how long an open dataset made
#: internal stays in caches), the current one changes with the next load.
PINNED_MAX_AGE = 3600
CURRENT_MAX_AGE = 60
#: A temporary file this old was left by a build that died: removed when the cache is
#: tidied. (A live build writes its file all the time.)
STALE_SECONDS = 3600
#: Longer Range headers are ignored (the whole file is sent).
RANGE_MAX_LENGTH = 200
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
#: A byte range no byte of the file is in (416).
UNSATISFIABLE = (-1, -1)


def place_columns(version: DatasetVersion) -> tuple[str, str] | None:
    """The keys of the latitude and longitude columns of ``version``, or ``None``.

    The rule: the columns whose role is latitude and longitude, and that hold numbers. The
    roles are guessed when a file is read (``ingest.infer``: a number column named
    lat/latitude/breedte(graad)/y_wgs84 with values within -90..90, or
    lon/lng/long/longitude/lengte(graad)/x_wgs84 within -180..180) and checked by the
    data steward with the other columns; the page's map uses the same two."""
    found: dict[str, str] = {}
    for column in version.schema:
        role = column.get("role", "")
        if role in ("latitude", "longitude") and column.get("type") in ("decimal", "integer"):
            found.setdefault(role, column["key"])
    if len(found) < 2:
        return None
    return found["latitude"], found["longitude"]


@functools.cache
def _writers() -> str:
    """The libraries whose versions a file's bytes depend on (openpyxl's without importing
    it: most downloads are not Excel)."""
    from importlib.metadata import version

    return f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}, openpyxl {version('openpyxl')}"


def cache_folder() -> Path:
    return Path(settings.DATA_DIR) / "downloads"


def page_url(dataset: Dataset) -> str:
    """The dataset's page, as the files name their source (the site's own address, never
    the request's: a kept file is the same whoever asked first)."""
    return settings.SITE_URL.rstrip("/") + reverse("datasets:detail", args=[dataset.slug])


@dataclass(frozen=True)
class Download:
    """One version in one format: its validators and where its file is kept."""

    dataset: Dataset
    version: DatasetVersion
    fmt: str
    etag: str
    last_modified: int
    path: Path
    filename: str
    content_type: str


def describe_download(dataset: Dataset, version: DatasetVersion, fmt: str) -> Download:
    """The strong ETag says which bytes the file holds: the dataset (its storage key never
    changes), the version, the format, how it is written, and for the formats that hold
    them the title, licence, attribution and address (an edit gives a new file), and the
    language of an Excel file's licence sheet."""
    parts = [
        dataset.storage_key,
        str(version.number),
        str(version.delta_version),
        fmt,
        str(FORMAT_REVISION),
        _writers(),
    ]
    if fmt in DESCRIBED_FORMATS:
        parts += [dataset.title, dataset.licence, dataset.attribution, page_url(dataset)]
    if fmt == "xlsx":
        parts.append(translation.get_language() or "")
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    folder = re.sub(r"[^a-z0-9-]", "_", dataset.storage_key.lower())[:64] or "_"
    return Download(
        dataset=dataset,
        version=version,
        fmt=fmt,
        etag=f'"{digest[:32]}"',
        last_modified=int(version.created_at.timestamp()),
        path=cache_folder() / folder / f"v{version.number}-{digest[:16]}.{fmt}",
        filename=f"{dataset.slug}-v{version.number}.{fmt}",
        content_type=DOWNLOAD_FORMATS[fmt][0],
    )


def licence_uri(dataset: Dataset) -> str:
    """The licence's canonical address; empty for data not licensed for reuse."""
    return next((uri for code, uri in LICENCE_URIS.items() if code == dataset.licence), "")


def _licence_links(dataset: Dataset) -> list[str]:
    uri = licence_uri(dataset)
    return [f'<{uri}>; rel="license"'] if uri else []


def _validators(request: HttpRequest, download: Download, *, pinned: bool) -> HttpResponse:
    """The headers every answer about ``download`` carries (also a 304)."""
    answer = HttpResponse()
    answer["ETag"] = download.etag
    answer["Last-Modified"] = http_date(download.last_modified)
    if download.dataset.access == Access.OPEN:
        age = PINNED_MAX_AGE if pinned else CURRENT_MAX_AGE
        answer["Cache-Control"] = f"public, max-age={age}"
    else:  # kept by the browser, asked again each time: whoever lost access gets a 404
        answer["Cache-Control"] = "private, no-cache"
    answer["Accept-Ranges"] = "bytes"
    links = _licence_links(download.dataset)
    if download.fmt == "csv":
        described = reverse("datasets:download-metadata", args=[download.dataset.slug])
        address = request.build_absolute_uri(f"{described}?version={download.version.number}")
        links.append(f'<{address}>; rel="describedby"; type="application/csvm+json"')
    if links:
        answer["Link"] = ", ".join(links)
    return answer


@require_safe
@token_or_session  # BI tools and scripts send a personal API token (decision 0025)
def download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """A whole version in the format asked for, from the download cache."""
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
    if fmt == "geojson" and place_columns(version) is None:
        message = _(
            "This version has no latitude and longitude columns, so there is no GeoJSON of "
            "it; download CSV or Parquet instead."
        )
        return HttpResponse(message, status=404, content_type="text/plain; charset=utf-8")
    if fmt == "xlsx" and version.row_count > EXCEL_MAX_ROWS:
        message = _("Excel holds at most %(max)s rows; download CSV or Parquet instead.") % {
            "max": f"{EXCEL_MAX_ROWS:,}"
        }
        if errors.wants_html(request):
            return errors.error_page(request, 400, message=message)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    found = describe_download(dataset, version, fmt)
    validators = _validators(request, found, pinned=bool(request.GET.get("version")))
    # 304 (or 412) from the version alone: nothing is read or built for it.
    conditional = get_conditional_response(
        request, etag=found.etag, last_modified=found.last_modified, response=validators
    )
    if conditional is not None and conditional is not validators:
        return conditional
    try:
        handle = cached_file(found)
    except query.QueryTimeout:
        return HttpResponse(
            _("Preparing this download took too long; try again in a few minutes."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = _file_answer(request, found, handle, validators)
    starts = response.status_code == 200 or str(response.get("Content-Range", "")).startswith(
        "bytes 0-"
    )
    if request.method == "GET" and starts:  # a download, not each piece of a resumed one
        usage.count(f"dataset:{dataset.pk}", "download", f"{fmt}:v{version.number}")
    return response


@require_safe
@token_or_session
def download_metadata(request: HttpRequest, slug: str) -> HttpResponse:
    """The W3C CSVW description (JSON-LD) of a version's CSV download: title, publisher,
    licence and every column with its type; the CSV names it in its ``Link`` header."""
    dataset = visible_dataset(request, slug)
    version = version_of(dataset, request.GET.get("version"))
    csv_url = reverse("datasets:download", args=[dataset.slug])
    licence = Licence(dataset.licence).label if dataset.licence in Licence.values else ""
    document = formats.csvw_metadata(
        csv_url=request.build_absolute_uri(f"{csv_url}?version={version.number}&format=csv"),
        title=dataset.title,
        description=dataset.description,
        publisher=dataset.owner.display_name,
        licence_uri=licence_uri(dataset),
        licence_label=str(licence),
        attribution=dataset.attribution,
        page=request.build_absolute_uri(reverse("datasets:detail", args=[dataset.slug])),
        version=version.number,
        modified=version.created_at,
        columns=version.schema,
        primary_key=list(version.primary_key),
    )
    response = JsonResponse(
        document, content_type="application/csvm+json", json_dumps_params={"ensure_ascii": False}
    )
    if dataset.access == Access.OPEN:
        max_age = PINNED_MAX_AGE if request.GET.get("version") else CURRENT_MAX_AGE
        response["Cache-Control"] = f"public, max-age={max_age}"
    else:
        response["Cache-Control"] = "private, no-cache"
    if links := _licence_links(dataset):
        response["Link"] = ", ".join(links)
    return response


# --- Answering with the file: 200, 206, 416, HEAD -----------------------------------------


class _Slice:
    """``length`` bytes of ``handle`` from byte ``start`` on: the body of a 206."""

    def __init__(self, handle: IO[bytes], start: int, length: int) -> None:
        handle.seek(start)
        self.handle = handle
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) of the one range ``header`` asks for in a file
    of ``size`` bytes; :data:`UNSATISFIABLE` when no byte of the file is in it; ``None``
    when the header is to be ignored and the whole file sent (RFC 9110, 14.2): another unit,
    several ranges (allowed: a 200), a last byte before the first, or not understood."""
    if len(header) > RANGE_MAX_LENGTH:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)  # the last ``suffix`` bytes
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return start, min(int(last), size - 1) if last else size - 1


def _if_range_holds(request: HttpRequest, found: Download) -> bool:
    """``If-Range`` (RFC 9110, 13.1.5): the range is sent only if the client's copy is this
    file: the same strong ETag (a weak one never matches), or exactly its Last-Modified."""
    value = request.META.get("HTTP_IF_RANGE")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == found.etag
    moment = parse_http_date_safe(value)
    return moment is not None and moment == found.last_modified


def _file_answer(
    request: HttpRequest, found: Download, handle: IO[bytes], validators: HttpResponse
) -> HttpResponseBase:
    size = os.fstat(handle.fileno()).st_size
    span = None
    # Range is for GET only (RFC 9110, 14.2): HEAD describes the whole file.
    header = request.META.get("HTTP_RANGE")
    if request.method == "GET" and header is not None and _if_range_holds(request, found):
        span = byte_range(header, size)
    response: HttpResponseBase
    if span == UNSATISFIABLE:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif request.method == "HEAD":
        handle.close()
        response = HttpResponse(content_type=found.content_type)
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = content_disposition_header(True, found.filename)
    elif span is None:
        response = FileResponse(
            handle, as_attachment=True, filename=found.filename, content_type=found.content_type
        )
    else:
        start, end = span
        response = FileResponse(
            _Slice(handle, start, end - start + 1),
            as_attachment=True,
            filename=found.filename,
            content_type=found.content_type,
            status=206,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    for name in ("ETag", "Last-Modified", "Cache-Control", "Accept-Ranges", "Link"):
        if name in validators:
            response[name] = validators[name]
    return response


# --- The download cache: built once, atomically, least recently used out ------------------


def cached_file(found: Download) -> IO[bytes]:
    """The file of ``found``, open: the kept one (marked as used), or built now. A file
    is only ever complete under its name, so an open handle always reads a whole file,
    also when the file is evicted while it is sent."""
    try:
        handle = found.path.open("rb")
    except FileNotFoundError:
        return _build_once(found)
    with contextlib.suppress(OSError):
        os.utime(found.path)  # its last use: the cache evicts the least recently used
    return handle


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between threads and processes (``flock``; the
    kernel lets go of it when a process dies)."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_once(found: Download) -> IO[bytes]:
    """Build the file into a temporary name in the same folder, flush it to disk and
    rename it into place (``os.replace``: atomic), under a lock per file, so that two
    requests at once build it once and a process killed halfway leaves only a temporary
    file, which is never served and is tidied away later."""
    folder = found.path.parent
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / f".{found.path.name}.lock"):
        try:  # built by another request while this one waited
            return found.path.open("rb")
        except FileNotFoundError:
            pass
        temporary = folder / f".{found.path.name}.{uuid.uuid4().hex}.part"
        try:
            build(found, temporary)
            handle = temporary.open("rb")
            try:
                os.fsync(handle.fileno())
                os.replace(temporary, found.path)
            except BaseException:
                handle.close()
                raise
        finally:
            temporary.unlink(missing_ok=True)
        _sync_folder(folder)
    evict()
    return handle


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk (a folder is synced through a descriptor of its own)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def evict() -> None:
    """Remove the least recently used files until the cache holds at most
    ``REGIOHUB_DATASETS_DOWNLOAD_CACHE_MB``; also the temporary files of builds that died.
    A file larger than the whole cache is removed too (after it was opened: the request
    that built it still sends it), so it is built for each download."""
    limit = int(settings.DATASETS_DOWNLOAD_CACHE_MB) * 1024 * 1024
    root = cache_folder()
    now = time.time()
    kept: list[tuple[float, int, Path]] = []
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for folder in os.scandir(root):
            if not folder.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(folder.path):
                try:
                    found = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                old = now - found.st_mtime > STALE_SECONDS
                if entry.name.endswith(".part"):
                    if old:
                        Path(entry.path).unlink(missing_ok=True)
                    else:
                        total += found.st_size  # being built
                elif entry.name.endswith(".lock"):  # ".<file>.lock"
                    target = os.path.join(folder.path, entry.name[1 : -len(".lock")])
                    if old and not os.path.exists(target):
                        _remove_unused_lock(Path(entry.path))
                else:
                    kept.append((found.st_mtime, found.st_size, Path(entry.path)))
                    total += found.st_size
    for _moment, size, path in sorted(kept, key=lambda item: item[0]):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size


def _remove_unused_lock(path: Path) -> None:
    with path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # in use
        path.unlink(missing_ok=True)


# --- Building a file ---------------------------------------------------------------------


class VersionRows:
    """A version's rows, batch by batch, in the order of its files (a plain scan, no sort:
    the same order each time, as the files are read in the order of their names).

    A thread of its own reads the next batch from DuckDB while the caller writes the last
    one (both let go of the GIL), so a file is built in about the time of the slower of
    the two instead of their sum; at most :data:`PREFETCH` batches wait.

    With ``numbers_as_text``, DuckDB writes each floating-point column as text while it
    reads (in its own threads): its text of a double is Python's ``repr``, what the CSV
    writer would write, at a fraction of the cost; NaN is empty, as ``json_value`` makes
    it. Those columns are named in :attr:`text_columns`."""

    PREFETCH = 2

    def __init__(self, files: list[str], keys: list[str], *, numbers_as_text: bool = False) -> None:
        self.files = sorted(files)
        self.keys = keys
        self.numbers_as_text = numbers_as_text
        self.text_columns: frozenset[str] = frozenset()
        self.schema = pa.schema([(key, pa.null()) for key in keys])
        self.reader: Any = None
        self.con: Any = None

    def __enter__(self) -> VersionRows:
        if not self.files:
            return self
        self.con = query.connection().cursor()  # its own cursor: others query meanwhile
        names = [query.quote(key) for key in self.keys]
        if self.numbers_as_text:
            plain = f"SELECT {', '.join(names)} FROM read_parquet(?)"  # noqa: S608 - quoted keys
            kinds = self._timed(lambda: self.con.sql(plain, params=[self.files]).types)
            self.text_columns = frozenset(
                key for key, kind in zip(self.keys, kinds, strict=True)
                if str(kind) in ("DOUBLE", "FLOAT")
            )  # fmt: skip
            names = [
                f"CASE WHEN isnan({name}) THEN NULL ELSE CAST(CAST({name} AS DOUBLE) AS VARCHAR) "
                f"END AS {name}"
                if key in self.text_columns
                else name
                for key, name in zip(self.keys, names, strict=True)
            ]
        sql = f"SELECT {', '.join(names)} FROM read_parquet(?)"  # noqa: S608 - quoted keys
        self.reader = self._timed(
            lambda: self.con.sql(sql, params=[self.files]).to_arrow_reader(SCAN_ROWS)
        )
        self.schema = self.reader.schema
        return self

    def _timed(self, work: Callable[[], Any]) -> Any:
        """``work`` on the connection, stopped after :data:`DOWNLOAD_SECONDS`."""
        with query.Deadline(self.con, DOWNLOAD_SECONDS) as deadline:
            try:
                return work()
            except (duckdb.Error, OSError) as exc:
                if query.interrupted(exc, deadline):
                    raise query.QueryTimeout from None
                raise

    def _read_all(self, batches: queue.Queue[Any], stop: threading.Event) -> None:
        def put(item: Any) -> None:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    batches.put(item, timeout=0.5)
                    return

        try:
            while not stop.is_set():
                batch = self._timed(self._next_batch)
                if batch is None:
                    break
                put(batch)
            put(None)
        except BaseException as exc:  # handed to the caller's thread
            put(exc)

    def _next_batch(self) -> pa.RecordBatch | None:
        try:
            return self.reader.read_next_batch()
        except StopIteration:
            return None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        if self.reader is None:
            return
        batches: queue.Queue[Any] = queue.Queue(maxsize=self.PREFETCH)
        stop = threading.Event()
        reading = threading.Thread(
            target=self._read_all, args=(batches, stop), name="download-rows", daemon=True
        )
        reading.start()
        try:
            while (item := batches.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            if reading.is_alive():  # the caller stopped early: so does the query
                with contextlib.suppress(Exception):
                    self.con.interrupt()
            reading.join()

    def __exit__(self, *exc: Any) -> None:
        if self.con is not None:
            self.con.close()


def _about(found: Download) -> dict[str, str]:
    """What a file says about itself: its licence, whom to credit, where it comes from."""
    dataset = found.dataset
    return {
        "title": dataset.title,
        "licence": dataset.licence,
        "licence_uri": licence_uri(dataset),
        "attribution": dataset.attribution,
        "source": page_url(dataset),
        "version": str(found.version.number),
    }


def _licence_sheet(found: Download) -> tuple[str, list[tuple[str, str]]]:
    """The Excel file's second sheet, in the language of the request."""
    dataset = found.dataset
    licence = Licence(dataset.licence).label if dataset.licence in Licence.values else ""
    uri = licence_uri(dataset)

    def label(field: str) -> str:
        return str(capfirst(getattr(Dataset._meta.get_field(field), "verbose_name", field)))

    lines = [
        (label("title"), dataset.title),
        (_("Address"), page_url(dataset)),
        (_("Version"), str(found.version.number)),
        (label("licence"), f"{licence} {uri}".strip()),
    ]
    if dataset.attribution:
        lines.append((label("attribution"), dataset.attribution))
    return _("Licence"), lines


def build(found: Download, target: Path) -> None:
    """Write the file of ``found`` at ``target``, the rows streamed batch by batch through
    the writers of :mod:`regiohub.datasets.formats` (memory stays flat)."""
    version = found.version
    files = storage.files(found.dataset.storage_key, version.delta_version)
    keys = [c["key"] for c in version.schema]
    with VersionRows(files, keys, numbers_as_text=found.fmt == "csv") as rows:
        if found.fmt == "parquet":
            formats.write_parquet(target, rows.schema, rows, _about(found))
            return
        if found.fmt == "xlsx":
            header = [c["name"] for c in version.schema]
            formats.write_xlsx(
                target,
                found.dataset.slug,
                header,
                rows,
                about=_licence_sheet(found),
                moment=version.created_at,
            )
            return
        writers: dict[str, Callable[[], Iterator[bytes]]] = {
            "csv": lambda: formats.csv_stream(keys, rows, rows.text_columns),
            "json": lambda: formats.json_array_stream(rows),
            "ndjson": lambda: formats.ndjson_stream(rows),
            "geojson": lambda: _geojson(found, rows),
        }
        with target.open("wb") as out:
            for chunk in writers[found.fmt]():
                out.write(chunk)


def _geojson(found: Download, rows: VersionRows) -> Iterator[bytes]:
    columns = place_columns(found.version)
    if columns is None:  # checked by the view
        raise Http404
    about = _about(found)
    members = {
        "name": about.pop("title"),
        **{key: value for key, value in about.items() if key != "version"},
        "version": found.version.number,
    }
    return formats.geojson_stream(rows, columns[0], columns[1], members)
