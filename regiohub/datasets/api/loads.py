"""Loads and versions in the API: a data steward's script uploads a file, has it checked
(``dry_run``: what the load would do, nothing written) and loads it, as on the load page;
anyone who may read a dataset reads its versions with the same counts as the version table.

``POST /api/v1/datasets/{slug}/loads/`` (a file, multipart) starts a load; the worker reads
it and proposes its columns (those of the current version where the names match);
``POST .../loads/{id}/confirm/`` with ``mode``, ``primary_key`` and ``dry_run`` queues it;
``GET .../loads/{id}/`` follows it. ``GET /api/v1/datasets/{slug}/versions/{number}/`` is
one version: rows added, updated, unchanged and removed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from regiohub.core import access
from regiohub.datasets import services
from regiohub.datasets.api.serializers import VersionSerializer
from regiohub.datasets.models import Dataset, DatasetVersion, Load, LoadMode
from regiohub.datasets.permissions import MANAGE_DATA

DATASET_SLUG = OpenApiParameter(
    "dataset_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The dataset."
)


def _errors(status: int, errors: dict[str, Any] | list[str], parameter: str = "") -> JsonResponse:
    if isinstance(errors, dict):
        items = [
            {"parameter": name, "message": str(message)}
            for name, messages in errors.items()
            for message in (messages if isinstance(messages, list) else [messages])
        ]
    else:
        items = [{"parameter": parameter, "message": str(m)} for m in errors]
    return JsonResponse({"errors": items}, status=status, json_dumps_params={"ensure_ascii": False})


class LoadSerializer(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.slug", read_only=True)
    columns = serializers.JSONField(source="schema", read_only=True)
    version = serializers.SerializerMethodField()

    class Meta:
        model = Load
        fields = [
            "id", "dataset", "state", "filename", "mode", "primary_key", "columns",
            "rows_total", "message", "errors", "error_count", "dry_run", "version",
            "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_version(self, load: Load) -> dict[str, Any] | None:
        """The version the load published, with its counts (``null`` until it has)."""
        if load.version is None:
            return None
        return VersionSerializer(load.version, context=self.context).data


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or text, Excel (.xlsx), JSON or NDJSON; zipped.")
    sheet = serializers.CharField(required=False, allow_blank=True, max_length=100)
    delimiter = serializers.ChoiceField(
        choices=["", ";", ",", "|", "\t"], required=False, help_text="Default: detected."
    )
    encoding = serializers.ChoiceField(
        choices=["", "utf-8", "cp1252", "utf-16"], required=False, help_text="Default: detected."
    )
    decimal = serializers.ChoiceField(
        choices=["", ",", "."], required=False, help_text="Default: detected."
    )

    def options(self) -> dict[str, str]:
        return {
            name: str(self.validated_data[name])
            for name in ("sheet", "delimiter", "encoding", "decimal")
            if self.validated_data.get(name)
        }


class ConfirmSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=LoadMode.choices,
        required=False,
        help_text="append, upsert (add and update by key) or replace. Default: upsert when "
        "the dataset has key columns, append when it has none, replace when it has no "
        "version yet.",
    )
    primary_key = serializers.ListField(
        child=serializers.CharField(max_length=63),
        required=False,
        max_length=50,
        help_text="The key columns. Default: those proposed (the current version's key).",
    )
    dry_run = serializers.BooleanField(
        default=False,
        help_text="Only work out what the load would do (counts and the first changed rows, "
        "in `dry_run` of the load); nothing is written and the load waits for review again.",
    )


@extend_schema_view(
    retrieve=extend_schema(parameters=[DATASET_SLUG]),
    create=extend_schema(
        parameters=[DATASET_SLUG],
        request={"multipart/form-data": UploadSerializer},
        responses={202: LoadSerializer, 400: OpenApiTypes.OBJECT},
    ),
)
class LoadViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Loads of a dataset, for data stewards of its owner (404 for everyone else)."""

    serializer_class = LoadSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = "[0-9]{1,12}"

    def dataset(self) -> Dataset:
        return get_object_or_404(
            Dataset.objects.manageable_by(self.request.user),
            slug=str(self.kwargs["dataset_slug"])[:80],
        )

    def get_queryset(self) -> QuerySet[Load]:
        return self.dataset().loads.select_related("dataset__owner", "version__dataset")

    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "managed_owner_ids": access.organisation_ids(self.request.user, MANAGE_DATA),
        }

    def _answer(self, load: Load, status: int = 202) -> Response:
        load = self.get_queryset().get(pk=load.pk)
        return Response(self.get_serializer(load).data, status=status)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Upload a file: the worker reads it and proposes its columns (state ``review``)."""
        dataset = self.dataset()
        upload = UploadSerializer(data=request.data)
        if not upload.is_valid():
            return _errors(400, upload.errors)
        try:
            load = services.start_upload(
                dataset, request.user, upload.validated_data["file"], options=upload.options()
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            return _errors(400, exc.messages, "file")
        return self._answer(load)

    @extend_schema(
        parameters=[DATASET_SLUG],
        request=ConfirmSerializer,
        responses={202: LoadSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Load the rows with the proposed columns, or with ``dry_run`` only work out what
        the load would do. Adding rows whose key the dataset holds is refused."""
        load = self.get_object()
        confirmed = ConfirmSerializer(data=request.data)
        if not confirmed.is_valid():
            return _errors(400, confirmed.errors)
        data = confirmed.validated_data
        try:
            services.confirm(
                load,
                request.user,
                columns=load.schema,
                primary_key=list(data.get("primary_key", load.primary_key)),
                mode=data.get("mode") or services.default_mode(load.dataset),
                dry_run=data["dry_run"],
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            return _errors(400, exc.messages)
        return self._answer(load)


@extend_schema_view(
    list=extend_schema(parameters=[DATASET_SLUG]),
    retrieve=extend_schema(parameters=[DATASET_SLUG]),
)
class VersionViewSet(viewsets.ReadOnlyModelViewSet):
    """The versions of a dataset the caller may see, newest first: rows added, updated,
    unchanged and removed relative to the version before, as the version table says."""

    serializer_class = VersionSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "number"
    lookup_value_regex = "[0-9]{1,9}"

    def get_queryset(self) -> QuerySet[DatasetVersion]:
        dataset = get_object_or_404(
            Dataset.objects.visible_to(self.request.user),
            slug=str(self.kwargs["dataset_slug"])[:80],
        )
        return dataset.versions.select_related("dataset__owner").order_by("-number")

    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "managed_owner_ids": access.organisation_ids(self.request.user, MANAGE_DATA),
        }
