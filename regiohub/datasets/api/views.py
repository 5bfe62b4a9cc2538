"""The query API: the datasets a caller may see, and questions asked of their rows.

``GET /api/v1/datasets/{slug}/rows`` takes Datasette-style filters (``column=value``,
``column__gte=...``, ``column__in=a,b``, ``column__contains=...``), ``select``,
``group_by``, ``agg=sum:car,p95:v85``, ``bucket=hour:day``, ``order=-car``, ``limit``,
``after`` (keyset paging), ``version`` and ``format`` (json, csv, ndjson).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from regiohub.core import usage
from regiohub.datasets import compare, formats, query, services, storage
from regiohub.datasets.api import writes
from regiohub.datasets.api.serializers import (
    DatasetDetailSerializer,
    DatasetSerializer,
    RestoreSerializer,
    VersionSerializer,
)
from regiohub.datasets.formats import json_value
from regiohub.datasets.models import Dataset
from regiohub.datasets.queries import OpenDataset, open_dataset, readable_version

FORMATS = {
    "json": "application/json; charset=utf-8",
    "ndjson": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


def errors_response(status: int, parameter: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"parameter": parameter, "message": message}]}, status=status)


def answer(request: HttpRequest, dataset: Dataset | OpenDataset, params: Any) -> HttpResponse:
    """Run the query in ``params`` on ``dataset`` and answer in the format asked for."""
    fmt = str(params.get("format") or "json")
    if fmt not in FORMATS:
        return errors_response(
            400, "format", _("The format must be one of %(f)s.") % {"f": ", ".join(FORMATS)}
        )
    version = readable_version(dataset, params.get("version"))
    try:
        parsed = query.parse(params, version.schema)
    except query.QueryError as exc:
        return errors_response(400, exc.parameter, exc.message)
    files = storage.files(version.storage_key, version.delta_version)
    try:
        if fmt == "json":
            result = query.run(files, version.schema, parsed)
        else:
            batches = query.stream(files, version.schema, parsed)
            first = next(batches, None)  # errors and time-outs before the first byte
    except query.QueryError as exc:  # e.g. a page link whose values do not fit
        return errors_response(400, exc.parameter, exc.message)
    except query.QueryTimeout:
        return errors_response(
            503,
            "",
            _("The question took longer than %(s)s seconds. Filter more or ask for fewer rows.")
            % {"s": int(settings.DATASETS_QUERY_SECONDS)},
        )
    headers = {"X-Dataset-Version": str(version.number)}
    if fmt == "json":
        next_url = ""
        if result.next_cursor:
            following = params.copy()  # a QueryDict: repeated filters stay repeated
            following["after"] = result.next_cursor
            next_url = request.build_absolute_uri(request.path) + "?" + following.urlencode()
        body = {
            "dataset": dataset.slug,
            "version": version.number,
            "columns": result.columns,
            "rows": formats.json_rows(result.table),
            "next_cursor": result.next_cursor or None,
            "next_url": next_url or None,
        }
        return JsonResponse(body, headers=headers, json_dumps_params={"ensure_ascii": False})
    columns = [c for c in query.output_columns(parsed, version.schema)]
    rows = _batches(first, batches)
    stream = formats.csv_stream(columns, rows) if fmt == "csv" else formats.ndjson_stream(rows)
    response = StreamingHttpResponse(stream, content_type=FORMATS[fmt], headers=headers)
    response["Content-Disposition"] = (
        f'attachment; filename="{dataset.slug}-v{version.number}.{fmt}"'
    )
    return response


def _batches(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
        yield from rest


COMPARE_LIMIT = 100
COMPARE_MAX_LIMIT = 1000


def _compare_limit(raw: Any) -> int:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return COMPARE_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:9]) <= COMPARE_MAX_LIMIT:
        raise compare.CompareError(
            "limit",
            _("The limit must be between 1 and %(max)d.") % {"max": COMPARE_MAX_LIMIT},
        )
    return int(text)


def _change(change: compare.RowChange) -> dict[str, Any]:
    return {
        "change": change.change,
        "key": {k: json_value(v) for k, v in change.key.items()},
        "row": {k: json_value(v) for k, v in change.row.items()}
        if change.change != compare.CHANGED
        else None,
        "columns": [
            {"column": c.column, "before": json_value(c.before), "after": json_value(c.after)}
            for c in change.columns
        ],
    }


def compare_answer(request: HttpRequest, dataset: Dataset, params: Any) -> HttpResponse:
    """One page of the changes between two versions of ``dataset``, as JSON."""
    try:
        limit = _compare_limit(params.get("limit"))
        old, new = compare.versions_to_compare(dataset, params.get("from"), params.get("to"))
        old_side, new_side = compare.side_of(old), compare.side_of(new)
        summary = compare.summarize(old_side, new_side)
        page = compare.page_number(params.get("page"), summary, limit)
        found = compare.changes(old_side, new_side, summary, offset=(page - 1) * limit, limit=limit)
    except compare.CompareError as exc:
        return errors_response(400, exc.parameter, exc.message)
    except query.QueryTimeout:
        return errors_response(
            503, "", _("Comparing these versions took too long; try again later.")
        )
    pages = compare.page_count(summary, limit)

    def url(number: int) -> str:
        following = params.copy()
        following["from"], following["to"] = str(old.number), str(new.number)
        following["page"] = str(number)
        return request.build_absolute_uri(request.path) + "?" + following.urlencode()

    plan = summary.layout
    body = {
        "dataset": dataset.slug,
        "from": old.number,
        "to": new.number,
        "by_key": bool(plan.key),
        "key": list(plan.key),
        "note": compare.how_compared(summary),
        "columns": list(plan.columns),
        "columns_only_in_from": list(plan.only_old),
        "columns_only_in_to": list(plan.only_new),
        "counts": asdict(summary.counts),
        "page": page,
        "pages": pages,
        "limit": limit,
        "changes": [_change(c) for c in found],
        "previous_url": url(page - 1) if page > 1 else None,
        "next_url": url(page + 1) if page < pages else None,
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """Datasets the caller may see: open ones for everybody, region-wide and internal ones
    for people with the right to query data."""

    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"

    def get_queryset(self) -> QuerySet[Dataset]:
        datasets = Dataset.objects.visible_to(self.request.user).select_related("owner")
        if self.action == "retrieve":  # only the detail lists every version (a feed makes
            datasets = datasets.prefetch_related("versions")  # thousands)
        return datasets

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ``format`` picks csv/ndjson/json for rows, not one of DRF's renderers.
        return super().perform_content_negotiation(request, force=True)

    def get_serializer_context(self) -> dict[str, Any]:
        from regiohub.core import access
        from regiohub.datasets.permissions import MANAGE_DATA

        return {
            **super().get_serializer_context(),
            "managed_owner_ids": access.organisation_ids(self.request.user, MANAGE_DATA),
        }

    def get_serializer_class(self) -> type[DatasetSerializer]:
        return DatasetDetailSerializer if self.action == "retrieve" else DatasetSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("select", OpenApiTypes.STR, description="Columns, comma-separated."),
            OpenApiParameter(
                "{column}__{op}",
                OpenApiTypes.STR,
                description="A filter; op is eq (default), ne, lt, lte, gt, gte, in "
                "(comma-separated), contains or isnull.",
            ),
            OpenApiParameter("group_by", OpenApiTypes.STR, description="Columns to group by."),
            OpenApiParameter(
                "agg",
                OpenApiTypes.STR,
                description="Aggregates function:column, comma-separated: count, "
                "count_distinct, sum, avg, min, max, median, p90, p95, p99.",
            ),
            OpenApiParameter(
                "bucket",
                OpenApiTypes.STR,
                description="column:unit (hour, day, week, month, year), in Belgian time.",
            ),
            OpenApiParameter("order", OpenApiTypes.STR, description="Columns; -column descends."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Rows per page."),
            OpenApiParameter("after", OpenApiTypes.STR, description="next_cursor of a page."),
            OpenApiParameter("version", OpenApiTypes.INT, description="Default: the current."),
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS)),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def rows(self, request: Request, slug: str | None = None) -> HttpResponse:
        """Rows of a dataset version, filtered, grouped and paged."""
        dataset: Dataset | OpenDataset
        if request.user.is_authenticated:
            dataset = self.get_object()
        else:  # open data: from this process's memory, no database work (ADR 0026)
            dataset = open_dataset(str(slug))
            self.check_object_permissions(request, dataset)
        params = request.query_params.copy()
        response = answer(request._request, dataset, params)
        if response.status_code == 200:
            usage.count(f"dataset:{dataset.id}", "api")  # in memory; written in batches
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.INT,
                description="The older version (default: the one before `to`).",
            ),
            OpenApiParameter(
                "to", OpenApiTypes.INT, description="The newer version (default: the current one)."
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="Page of changes, from 1."),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="Changed rows per page (at most 1000)."
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def compare(self, request: Request, slug: str | None = None) -> HttpResponse:
        """Rows added, removed and changed between two versions (by key when the dataset
        has one, else whole rows), with counts, paged."""
        dataset = self.get_object()
        return compare_answer(request._request, dataset, request.query_params)

    @extend_schema(
        request=RestoreSerializer,
        responses={201: VersionSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def restore(self, request: Request, slug: str | None = None) -> HttpResponse:
        """Restore an older version: a new version with its rows, recorded with who and why.
        For data stewards of the dataset's owner."""
        from regiohub.core import access
        from regiohub.datasets.permissions import MANAGE_DATA

        dataset = self.get_object()
        if dataset.owner_id not in access.organisation_ids(request.user, MANAGE_DATA):
            raise Http404
        serializer = RestoreSerializer(data=request.data)
        if not serializer.is_valid():
            return JsonResponse(
                {
                    "errors": [
                        {"parameter": name, "message": str(message)}
                        for name, messages in serializer.errors.items()
                        for message in messages
                    ]
                },
                status=400,
            )
        try:
            version = services.restore(
                dataset,
                request.user,
                number=serializer.validated_data["version"],
                reason=serializer.validated_data["reason"],
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            code = exc.error_list[0].code or ""
            return errors_response(
                409 if code == "conflict" else 400,
                code if code in ("version", "reason") else "",
                " ".join(exc.messages),
            )
        except query.QueryTimeout:
            return errors_response(
                503, "", _("Comparing these versions took too long; try again later.")
            )
        data = VersionSerializer(version, context=self.get_serializer_context()).data
        return Response(data, status=201)

    # --- The write API: POST to the rows address appends or upserts rows ------------------
    # (datasets.api.writes reads the body; services.write_rows loads it as an upload).

    def get_parsers(self) -> list[Any]:
        method = str(getattr(getattr(self, "request", None), "method", "") or "").lower()
        if (getattr(self, "action_map", None) or {}).get(method) == "write_rows":
            return [parser() for parser in writes.PARSERS]  # the raw body, size-limited
        return super().get_parsers()

    @writes.SCHEMA
    @rows.mapping.post
    def write_rows(self, request: Request, slug: str | None = None) -> HttpResponse:
        """Append or upsert rows: a new version, or the rows and columns refused."""
        if not request.user.is_authenticated:
            raise NotAuthenticated
        return writes.write_rows(request, self.get_object())

    @writes.BATCH_SCHEMA
    @action(
        detail=True,
        methods=["get"],
        url_path=r"write-batches/(?P<batch_id>[0-9]{1,12})",
        url_name="write-batch",
    )
    def write_batch(
        self, request: Request, slug: str | None = None, batch_id: str | None = None
    ) -> HttpResponse:
        """A batch of write API calls: open until it is due, then the version it became,
        or why it was refused."""
        if not request.user.is_authenticated:
            raise NotAuthenticated
        return writes.batch_status(request, self.get_object(), str(batch_id))
