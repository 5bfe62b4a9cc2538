from __future__ import annotations

from typing import Any

from rest_framework import serializers

from regiohub.datasets.models import Dataset, DatasetVersion


class VersionSerializer(serializers.ModelSerializer):
    loaded_by = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "number", "row_count", "rows_added", "rows_updated", "rows_unchanged",
            "rows_removed", "restored_from", "summary", "loaded_by", "created_at",
        ]  # fmt: skip
        # Output only. A writable integer field takes its bounds from the database (64-bit
        # on SQLite, 32-bit on PostgreSQL), which would make docs/openapi.yaml depend on it.
        read_only_fields = fields

    def get_loaded_by(self, version: DatasetVersion) -> str:
        """The person for those who manage the dataset; the owner for everyone else."""
        managed = self.context.get("managed_owner_ids", frozenset())
        if version.dataset.owner_id in managed:
            return version.created_by_label
        return version.dataset.owner.display_name


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
        return VersionSerializer(current, context=self.context).data if current else None

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


class RestoreSerializer(serializers.Serializer):
    """Restore an older version: it becomes a new version, recorded with who and why."""

    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The number of the version to restore."
    )
    reason = serializers.CharField(
        max_length=500, help_text="Why; kept in the dataset's history with the caller's name."
    )
