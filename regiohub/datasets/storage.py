"""Where a dataset's rows live: one Delta Lake table per dataset (``deltalake``), on local
disk or S3-compatible storage (``REGIOHUB_DATASETS_URI``).

The database says which table versions are published (``DatasetVersion.delta_version``);
a table version written by a load whose database transaction then failed is never shown.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute
from deltalake import DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError
from django.conf import settings

from regiohub.datasets.ingest.staging import StagedRows

#: Rows per Parquet row group when rows come from a staged file (a big load): the writer
#: holds one row group in memory per file it writes.
STAGED_ROW_GROUP = 256 * 1024


@dataclass(frozen=True)
class Written:
    delta_version: int
    rows_added: int
    rows_updated: int
    row_count: int


def table_uri(storage_key: str) -> str:
    base = str(settings.DATASETS_URI).rstrip("/")
    if "://" not in base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return f"{base}/{storage_key}"


def _options() -> dict[str, str] | None:
    return dict(settings.DATASETS_STORAGE_OPTIONS) or None


def open_table(storage_key: str, delta_version: int | None = None) -> DeltaTable:
    return DeltaTable(table_uri(storage_key), version=delta_version, storage_options=_options())


def write(
    storage_key: str,
    rows: pa.Table | StagedRows,
    *,
    mode: str,
    primary_key: list[str] | tuple[str, ...] = (),
    published: int | None = None,
) -> Written:
    """Write ``rows`` as a new table version: ``append``, ``replace`` (all rows) or
    ``upsert`` (rows whose primary key is known replace those; the others are added).

    ``published`` is the table version the database knows as current (None: none yet).
    Table versions after it were written by an attempt whose database transaction failed;
    the new version is built on ``published``, never on them, so nothing counts twice.

    Staged rows (a big load) are streamed from their file, record batch by record batch.
    """
    uri = table_uri(storage_key)
    options = _options()
    count = rows.num_rows
    extra = {}
    if isinstance(rows, StagedRows):
        extra = {
            "writer_properties": WriterProperties(
                max_row_group_size=STAGED_ROW_GROUP, compression="SNAPPY"
            )
        }
        data: pa.Table | pa.RecordBatchReader = rows.reader()
    else:
        data = rows
    if mode == "upsert" and not primary_key:
        raise ValueError("an upsert needs a primary key")
    try:
        table: DeltaTable | None = open_table(storage_key)
    except TableNotFoundError:
        table = None
    if table is not None and published is None:
        mode = "replace"  # only an unpublished attempt is there: start afresh
    elif table is not None and table.version() != published:
        table.restore(published)
        table.update_incremental()
    if mode == "upsert" and table is not None:
        predicate = " AND ".join(f'target."{k}" = source."{k}"' for k in primary_key)
        metrics = (
            table.merge(
                data,
                predicate=predicate,
                source_alias="source",
                target_alias="target",
                **extra,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        added = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
    else:
        write_deltalake(
            uri,
            data,
            mode="overwrite" if mode == "replace" else "append",
            schema_mode="overwrite" if mode == "replace" else None,
            storage_options=options,
            **extra,
        )
        added, updated = count, 0
    table = open_table(storage_key)
    return Written(
        delta_version=table.version(),
        rows_added=added,
        rows_updated=updated,
        row_count=_count_rows(table),
    )


def restore(storage_key: str, delta_version: int, *, published: int) -> Written:
    """A new table version whose rows (and columns) are those of ``delta_version``: Delta's
    restore, which adds that version's files back without copying a row.

    As in :func:`write`, table versions after ``published`` (left by an attempt whose
    database transaction failed) are rolled back first. The counts are the caller's.
    A version that published no new table version (a load that changed nothing) may share
    its table version with the current one: then nothing is written.
    """
    table = open_table(storage_key)
    if table.version() != published:
        table.restore(published)
        table.update_incremental()
    if delta_version != published:
        table.restore(delta_version)
    table = open_table(storage_key)
    return Written(
        delta_version=table.version(), rows_added=0, rows_updated=0, row_count=_count_rows(table)
    )


def files(storage_key: str, delta_version: int) -> list[str]:
    """The Parquet files making up one table version (what DuckDB reads)."""
    return list(_files(storage_key, delta_version))


@functools.lru_cache(maxsize=512)
def _files(storage_key: str, delta_version: int) -> tuple[str, ...]:
    # A table version never changes: read its log once per process, not per query.
    return tuple(open_table(storage_key, delta_version).file_uris())


def _count_rows(table: DeltaTable) -> int:
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    return int(pa.compute.sum(actions["num_records"]).as_py() or 0)
