from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from regiohub.datasets.models import BatchedWrite, Dataset, DatasetVersion, WriteBatch


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
        # write_batch_seconds: 0, or the interval in which write API calls are gathered
        # into one version.
        fields = [*DatasetSerializer.Meta.fields, "write_batch_seconds", "versions"]
        read_only_fields = ["write_batch_seconds"]


class BatchedCallSerializer(serializers.ModelSerializer):
    """One call of a batch: its place, its rows and the prefix of the token it came with."""

    call = serializers.IntegerField(source="number", read_only=True)
    token = serializers.CharField(source="token_prefix", read_only=True)
    sent_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = BatchedWrite
        fields = ["call", "rows", "token", "sent_at"]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "string",
        "description": "`open` (taking calls until `due_at`), `closed` (being published), "
        "`published` or `refused`.",
    }
)
class _BatchStateField(serializers.CharField):
    """A batch's state. Without an enum in the schema: drf-spectacular would give it the
    name ``StateEnum``, which is the load's, and rename both."""


class WriteBatchSerializer(serializers.ModelSerializer):
    """A batch of write API calls and what became of it."""

    dataset = serializers.CharField(source="dataset.slug", read_only=True)
    state = _BatchStateField(read_only=True)
    call_count = serializers.IntegerField(source="calls", read_only=True)
    calls = BatchedCallSerializer(source="writes", many=True, read_only=True)
    load = serializers.IntegerField(source="load_id", read_only=True, allow_null=True)
    version = serializers.SerializerMethodField()

    class Meta:
        model = WriteBatch
        fields = [
            "id", "dataset", "state", "mode", "due_at", "call_count", "rows", "calls",
            "load", "version", "message", "errors", "error_count", "created_at",
            "closed_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_version(self, batch: WriteBatch) -> dict[str, Any] | None:
        """The version the batch became, with its counts (``null`` until it is published)."""
        version = batch.load.version if batch.load is not None else None
        if version is None:
            return None
        return VersionSerializer(version, context=self.context).data


class RestoreSerializer(serializers.Serializer):
    """Restore an older version: it becomes a new version, recorded with who and why."""

    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The number of the version to restore."
    )
    reason = serializers.CharField(
        max_length=500, help_text="Why; kept in the dataset's history with the caller's name."
    )
