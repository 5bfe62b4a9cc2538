from __future__ import annotations

from typing import Any

from rest_framework import serializers

from regiohub.datasets.models import Dataset, DatasetVersion


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetVersion
        fields = [
            "number", "row_count", "rows_added", "rows_updated", "summary",
            "created_by_label", "created_at",
        ]  # fmt: skip


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.code")
    version = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "slug", "title", "description", "owner", "theme", "licence", "attribution",
            "access", "version", "columns", "created_at", "updated_at",
        ]  # fmt: skip

    def _current(self, dataset: Dataset) -> DatasetVersion | None:
        return dataset.current_version

    def get_version(self, dataset: Dataset) -> dict[str, Any] | None:
        current = self._current(dataset)
        return VersionSerializer(current).data if current else None

    def get_columns(self, dataset: Dataset) -> list[dict[str, Any]]:
        current = self._current(dataset)
        if current is None:
            return []
        return [
            {k: column.get(k, "") for k in ("key", "name", "type", "unit", "role")}
            for column in current.schema
        ]


class DatasetDetailSerializer(DatasetSerializer):
    versions = VersionSerializer(many=True, read_only=True)

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "versions"]
