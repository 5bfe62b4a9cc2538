"""What data stewards and feeds do to datasets: create, upload, review, load; each a typed
function that checks the actor's rights, records history and starts its tasks in the same
transaction.

A load never touches the published rows until it has been read and converted completely:
a bad file ends as a refused load with its error report, and the current version stays.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake.exceptions import CommitFailedError, DeltaError
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regiohub.core import access, events, history
from regiohub.core.tasks import enqueue
from regiohub.datasets import changes as load_changes
from regiohub.datasets import storage
from regiohub.datasets.events import Action, DatasetChanged, LoadRefused, VersionPublished
from regiohub.datasets.models import (
    BATCH_FINAL_STATES,
    BatchedWrite,
    Dataset,
    DatasetVersion,
    Feed,
    Load,
    LoadMode,
    LoadSource,
    LoadState,
    WriteBatch,
)
from regiohub.datasets.models.load import FINAL_STATES
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.query import RESERVED_COLUMNS

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "cancel",
    "confirm",
    "create_dataset",
    "default_mode",
    "dry_run",
    "execute",
    "expire_uploads",
    "inspect",
    "publish",
    "reopen",
    "require_manage",
    "restore",
    "run_feed",
    "start_upload",
    "update_dataset",
]

PREVIEW_ROWS = 20
COLUMN_TYPES = ("integer", "decimal", "boolean", "date", "timestamp", "text")
COLUMN_ROLES = ("", "time", "latitude", "longitude", "id")
_ARROW_TYPES = {
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "text": pa.string(),
}


def require_manage(user: Any, dataset: Dataset) -> None:
    if dataset.owner_id not in access.organisation_ids(user, MANAGE_DATA):
        raise PermissionDenied


# --- Schemas ---------------------------------------------------------------------------


def schema_from_arrow(
    arrow: pa.Schema, *, time_column: str = "", primary_key: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Column descriptions of a table written by a feed."""
    columns = []
    for item in arrow:
        kind = "text"
        if pa.types.is_integer(item.type):
            kind = "integer"
        elif pa.types.is_floating(item.type) or pa.types.is_decimal(item.type):
            kind = "decimal"
        elif pa.types.is_boolean(item.type):
            kind = "boolean"
        elif pa.types.is_date(item.type):
            kind = "date"
        elif pa.types.is_timestamp(item.type):
            kind = "timestamp"
        role = "time" if item.name == time_column else ("id" if item.name in primary_key else "")
        columns.append(
            {
                "name": item.name,
                "key": item.name,
                "type": kind,
                "unit": "",
                "role": role,
                "nullable": item.nullable,
                "decimal": "",
            }
        )
    return columns


def check_schema(columns: list[dict[str, Any]], primary_key: list[str]) -> list[str]:
    """What is wrong with a schema a data steward edited (empty when it is fine)."""
    problems: list[str] = []
    keys = [str(c.get("key", "")) for c in columns]
    for column in columns:
        key = str(column.get("key", ""))
        if not key or not key.replace("_", "a").isalnum() or not key.isascii() or key[0].isdigit():
            problems.append(
                _("“%(key)s” is not a valid column name: use letters, digits and _.")
                % {"key": key[:80]}
            )
        elif key in RESERVED_COLUMNS or key.startswith("__"):
            problems.append(_("The column name “%(key)s” is reserved.") % {"key": key})
        if column.get("type") not in COLUMN_TYPES:
            problems.append(_("“%(key)s” has an unknown type.") % {"key": key[:80]})
        if column.get("role", "") not in COLUMN_ROLES:
            problems.append(_("“%(key)s” has an unknown role.") % {"key": key[:80]})
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        problems.append(
            _("Column names must be unique: %(names)s.") % {"names": ", ".join(duplicates)}
        )
    for key in primary_key:
        if key not in keys:
            problems.append(_("The primary key column “%(key)s” does not exist.") % {"key": key})
    if sum(1 for c in columns if c.get("role") == "time") > 1:
        problems.append(_("Only one column can be the time."))
    return problems


def compatible(current: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Why rows of schema ``new`` cannot be added to a version of schema ``current``."""
    problems = []
    old = {c["key"]: c["type"] for c in current}
    fresh = {c["key"]: c["type"] for c in new}
    missing = [k for k in old if k not in fresh]
    extra = [k for k in fresh if k not in old]
    if missing:
        problems.append(
            _("These columns of the current version are missing: %(names)s.")
            % {"names": ", ".join(missing)}
        )
    if extra:
        problems.append(
            _("These columns are not in the current version: %(names)s.")
            % {"names": ", ".join(extra)}
        )
    for key, kind in fresh.items():
        if key in old and old[key] != kind:
            problems.append(
                _("“%(key)s” is %(old)s in the current version but %(new)s here.")
                % {"key": key, "old": old[key], "new": kind}
            )
    return problems


# --- Datasets --------------------------------------------------------------------------


def create_dataset(actor: Any, **fields: Any) -> Dataset:
    """A new, empty dataset of an organisation the actor manages data for."""
    dataset = Dataset(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    for name, value in fields.items():
        setattr(dataset, name, value)
    if actor is not None:
        require_manage(actor, dataset)
    dataset.full_clean()
    with transaction.atomic():
        dataset.save()
        history.record(
            dataset,
            Action.DATASET_CREATED,
            actor=actor,
            organisation=dataset.owner_id,
            after={"title": dataset.title, "access": dataset.access},
        )
        events.publish(_changed(dataset, ["created"]))
    return dataset


def update_dataset(dataset: Dataset, actor: Any, **fields: Any) -> Dataset:
    """Change a dataset's description, licence or access; the short name (its address)
    and its rows stay. Recorded in history with what changed."""
    require_manage(actor, dataset)
    before = {name: getattr(dataset, name) for name in fields}
    for name, value in fields.items():
        setattr(dataset, name, value)
    require_manage(actor, dataset)  # a new owner must be one of the actor's too
    dataset.full_clean()
    changed = {n: v for n, v in fields.items() if before[n] != v}
    if not changed:
        return dataset
    with transaction.atomic():
        dataset.save()
        history.record(
            dataset,
            Action.DATASET_CHANGED,
            actor=actor,
            organisation=dataset.owner_id,
            before={n: _plain(before[n]) for n in changed},
            after={n: _plain(v) for n, v in changed.items()},
        )
        events.publish(_changed(dataset, sorted(changed)))
    return dataset


def _changed(dataset: Dataset, fields: list[str]) -> DatasetChanged:
    return DatasetChanged(
        dataset_id=dataset.pk,
        slug=dataset.slug,
        owner_id=dataset.owner_id,
        access=dataset.access,
        changed=fields,
    )


def _plain(value: Any) -> Any:
    return getattr(value, "pk", value)


# --- Uploads ---------------------------------------------------------------------------


def uploads_dir() -> Path:
    return Path(settings.DATA_DIR) / "uploads" / "datasets"


def start_upload(
    dataset: Dataset, actor: Any, upload: UploadedFile, *, options: dict[str, str] | None = None
) -> Load:
    """Keep the file and start reading it; the load waits for review after that."""
    require_manage(actor, dataset)
    if upload.size == 0:
        raise ValidationError(_("The file is empty (0 bytes)."))
    if upload.size > settings.DATASETS_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.") % {"mb": settings.DATASETS_UPLOAD_MB}
        )
    name = Path(upload.name or "upload").name[-200:]
    relative = f"{uuid.uuid4().hex}/{name}"
    target = uploads_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with transaction.atomic():
            load = Load.objects.create(
                dataset=dataset,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                source=LoadSource.UPLOAD,
                file=relative,
                filename=name,
                size=upload.size,
                options=options or {},
                created_by=actor,
            )
            history.record(
                load,
                Action.LOAD_STARTED,
                actor=actor,
                organisation=dataset.owner_id,
                after={"file": name, "size": upload.size},
            )
            from regiohub.datasets.tasks import inspect_load

            enqueue(inspect_load, load.pk)
    except Exception:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return load


def _read(load: Load, *, all_rows: bool = False) -> Any:
    from regiohub.datasets.ingest import read_raw

    return read_raw(
        uploads_dir() / load.file,
        filename=load.filename,
        options=_read_options(load, all_rows=all_rows),
    )


def _finish(
    load: Load,
    state: LoadState,
    message: str = "",
    *,
    action: Action | None = None,
    actor: Any = None,
    **changes: Any,
) -> None:
    load.state = state
    load.message = message[:500]
    load.finished_at = timezone.now()
    for name, value in changes.items():
        setattr(load, name, value)
    load.save()
    history.record(
        load,
        action or Action(f"load.{state}"),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        organisation=load.dataset.owner_id,
        after={"state": state, "errors": load.error_count},
        reason=message[:500],
    )
    if state == LoadState.FAILED:
        events.publish(
            LoadRefused(
                load_id=load.pk,
                dataset_id=load.dataset_id,
                owner_id=load.dataset.owner_id,
                errors=load.error_count,
            )
        )
    if load.file and state != LoadState.FAILED:
        # A refused load keeps its file, so the steward can correct the columns and load
        # it again without uploading it (see reopen); expire_uploads removes it later.
        folder = (uploads_dir() / load.file).parent
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def _streams(load: Load) -> bool:
    """Whether the load's file is read in batches: it is larger (unpacked) than
    ``REGIOHUB_DATASETS_STREAM_MB`` (docs/decisions/0024-streaming-loads.md)."""
    from regiohub.datasets.ingest import estimated_size

    limit = int(settings.DATASETS_STREAM_MB) * 1024**2
    return estimated_size(uploads_dir() / load.file, load.filename) > limit


def _read_options(load: Load, *, all_rows: bool = False) -> Any:
    from regiohub.datasets.ingest import ReadOptions

    options = {k: v for k, v in load.options.items() if v}
    if all_rows:  # also the rows the steward leaves out (total rows)
        options.pop("exclude_rows", None)
    return ReadOptions(**options)


def inspect(load: Load) -> None:
    """Read the file, guess its columns and show them for review."""
    from regiohub.datasets.ingest import (
        IngestError,
        find_totals,
        infer_schema,
        survey,
        without_totals,
    )

    if load.state != LoadState.INSPECTING:
        return
    try:
        if _streams(load):  # batch by batch: the first rows, and every row counted
            found = survey(
                uploads_dir() / load.file,
                filename=load.filename,
                options=_read_options(load, all_rows=True),
            )
            raw, schema, totals, rows_total = found.raw, found.schema, found.totals, found.rows
        else:
            raw = _read(load, all_rows=True)
            schema = infer_schema(raw)
            totals = find_totals(raw, schema)
            if totals:  # left out by default; typed without them ("Totaal" in a year column)
                raw, schema = without_totals(raw, schema, totals)
            rows_total = raw.num_rows
    except IngestError as exc:
        _refuse(load, str(exc), LoadState.INSPECTING)
        return
    except TRANSIENT_ERRORS:
        if _ended(load):
            return  # cancelled or expired while it was read: its file is gone
        raise  # I/O, a lock time-out: the task tries again
    except Exception as exc:  # a parser failure is the same at every try
        _refuse(load, _unreadable(exc), LoadState.INSPECTING)
        return
    columns = [_column_dict(c) for c in schema]
    current = load.dataset.current_version
    if current is not None:  # keep the names and types the steward already chose
        columns = _align(columns, current.schema)
    preview = raw.table.slice(0, PREVIEW_ROWS).to_pylist()
    with transaction.atomic():
        if Load.objects.select_for_update().get(pk=load.pk).state != LoadState.INSPECTING:
            return  # cancelled or expired meanwhile
        load.detected = {
            "format": raw.format,
            "encoding": raw.encoding,
            "delimiter": raw.delimiter,
            "sheet": raw.sheet,
            "header_row": raw.header_row,
            "header_rows": list(raw.header_rows),
            "notes": [asdict(note) for note in raw.notes],
            "totals": [asdict(total) for total in totals],
        }
        load.options = {**load.options, "exclude_rows": [total.row for total in totals]}
        load.schema = columns
        load.primary_key = list(current.primary_key) if current else []
        load.preview = [[row[name] for name in raw.columns] for row in preview]
        load.rows_total = rows_total
        load.state = LoadState.REVIEW
        load.save()


def _column_dict(spec: Any) -> dict[str, Any]:
    data = asdict(spec)
    data["type"] = str(data["type"])
    data["role"] = str(data["role"])
    return data


def _align(columns: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {c["name"]: c for c in current}
    aligned = []
    for column in columns:
        known = by_name.get(column["name"])
        if known is not None:
            column = {**column, **{k: known[k] for k in ("key", "type", "unit", "role")}}
        aligned.append(column)
    return aligned


def default_mode(dataset: Dataset) -> str:
    """The mode offered for a dataset's next load: add and update by key when its current
    version declares key columns (adding rows whose key is there would be refused), add
    the rows when it has none, replace when it has no version yet."""
    current = dataset.current_version
    if current is None:
        return LoadMode.REPLACE
    return LoadMode.UPSERT if current.primary_key else LoadMode.APPEND


def confirm(
    load: Load,
    actor: Any,
    *,
    columns: list[dict[str, Any]],
    primary_key: list[str],
    mode: str,
    dry_run: bool = False,
    exclude_rows: list[int] | None = None,
) -> Load:
    """The steward checked the columns: validate them and queue the load. With
    ``dry_run`` the load is only checked: the worker works out what it would do
    (:func:`dry_run`) and the load waits for review again, with nothing written.
    ``exclude_rows`` (rows as numbered in the file) replaces the rows left out: by
    default the total rows found when the file was read."""
    require_manage(actor, load.dataset)
    if load.state != LoadState.REVIEW:
        raise ValidationError(_("This load is not waiting for review."))
    if mode not in LoadMode.values:
        raise ValidationError(_("Choose how to load the rows."))
    problems = check_schema(columns, primary_key)
    if mode == LoadMode.UPSERT and not primary_key:
        problems.append(_("Adding and updating rows needs a primary key."))
    current = load.dataset.current_version
    if current is not None and mode != LoadMode.REPLACE:
        problems += compatible(current.schema, columns)
        if current.primary_key and set(primary_key) != set(current.primary_key):
            # The key is a promise: rows are added or updated by the dataset's own key.
            problems.append(
                _(
                    "The key of this dataset is %(key)s: keep it when you add or update "
                    "rows, or replace all rows to change it."
                )
                % {"key": ", ".join(current.primary_key)}
            )
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        load = Load.objects.select_for_update().get(pk=load.pk)
        if load.state != LoadState.REVIEW:
            raise ValidationError(_("This load is not waiting for review."))
        load.schema = columns
        load.primary_key = primary_key
        load.mode = mode
        if exclude_rows is not None:  # the total rows not kept, and rows left out
            load.options = {**load.options, "exclude_rows": sorted(set(exclude_rows))}
        if dry_run:
            load.state = LoadState.CHECKING
            load.dry_run = {}
            load.save()
            from regiohub.datasets.tasks import check_load

            enqueue(check_load, load.pk)
            return load
        load.dry_run = {}  # it answered for the columns as they were then
        load.state = LoadState.QUEUED
        load.save()
        history.record(
            load,
            Action.LOAD_CONFIRMED,
            actor=actor,
            organisation=load.dataset.owner_id,
            after={"mode": mode, "primary_key": primary_key},
        )
        from regiohub.datasets.tasks import run_load

        enqueue(run_load, load.pk)
    return load


def cancel(load: Load, actor: Any) -> None:
    """Stop a load in any state but a final one, also while it loads: a running load checks
    under the dataset's lock just before it publishes and then ends without publishing,
    and a run of it that is requeued later does nothing."""
    require_manage(actor, load.dataset)
    with transaction.atomic():
        load = Load.objects.select_for_update().select_related("dataset").get(pk=load.pk)
        if load.is_final:
            raise ValidationError(_("This load can no longer be cancelled."))
        _finish(
            load, LoadState.CANCELLED, _("Cancelled by %(name)s.") % {"name": actor}, actor=actor
        )


def reopen(load: Load, actor: Any, *, header_row: int | None = None) -> Load:
    """Read a load's file again, or go back to its column review, without uploading it.

    A load waiting for review is read again with its header on ``header_row`` (0: find
    it). A refused load hands its file to a new load (the refused one stays refused):
    back at the column review with the columns and left-out rows as the steward left
    them, or reading the file again when ``header_row`` is given or the file was refused
    before its columns were read. A refused load's file is kept until
    ``REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS`` have passed (expire_uploads)."""
    from regiohub.datasets.tasks import inspect_load

    require_manage(actor, load.dataset)
    with transaction.atomic():
        load = Load.objects.select_for_update().select_related("dataset").get(pk=load.pk)
        options = dict(load.options)
        if header_row is not None:
            options["header_row"] = max(0, int(header_row))
            options.pop("exclude_rows", None)  # found again in the rows under the new header
        read_again = header_row is not None or not load.schema
        if load.state == LoadState.REVIEW:
            if read_again:
                load.options, load.state = options, LoadState.INSPECTING
                load.schema, load.detected, load.preview, load.dry_run = [], {}, [], {}
                load.save()
                enqueue(inspect_load, load.pk)
            return load
        if load.state != LoadState.FAILED:
            raise ValidationError(_("This load is not refused and not waiting for review."))
        if not load.file or not (uploads_dir() / load.file).is_file():
            raise ValidationError(_("The file of this load is no longer kept; upload it again."))
        kept = {}
        if not read_again:  # back to the column review as the steward left it
            kept = {
                "schema": load.schema,
                "primary_key": load.primary_key,
                "detected": load.detected,
                "preview": load.preview,
                "rows_total": load.rows_total,
                "mode": load.mode,
            }
        again = Load.objects.create(
            dataset=load.dataset,
            language=translation.get_language() or load.language,
            source=load.source,
            file=load.file,
            filename=load.filename,
            size=load.size,
            options=options,
            state=LoadState.INSPECTING if read_again else LoadState.REVIEW,
            created_by=actor,
            **kept,
        )
        Load.objects.filter(pk=load.pk).update(file="")  # the file is the new load's now
        history.record(
            again,
            Action.LOAD_STARTED,
            actor=actor,
            organisation=load.dataset.owner_id,
            after={"file": again.filename, "size": again.size, "again_after": load.pk},
        )
        if read_again:
            enqueue(inspect_load, again.pk)
    return again


#: Failures that may pass when the task tries again; any other failure while a file is
#: read and converted is the same at every try, and ends the load as refused at once.
TRANSIENT_ERRORS = (OSError, DatabaseError, MemoryError)


def _ended(load: Load) -> bool:
    return Load.objects.get(pk=load.pk).is_final


def _refuse(load: Load, message: str, expected: LoadState, **changes: Any) -> None:
    """End ``load`` as refused, unless it left ``expected`` meanwhile (it was cancelled)."""
    with transaction.atomic():
        fresh = Load.objects.select_for_update().select_related("dataset").get(pk=load.pk)
        if fresh.state != expected:
            return
        _finish(fresh, LoadState.FAILED, message, **changes)
        load.state = fresh.state


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return _("The file is nested too deeply to be read as a table.")
    return _("The file could not be read: %(problem)s") % {
        "problem": str(exc)[:300] or type(exc).__name__
    }


def _claim(load: Load) -> str:
    """Start loading: QUEUED becomes LOADING and the load records the version it starts
    from, the first time. Returns ``"started"``, ``"retried"`` (a retry after a failure the
    run saw: it put the load back in the queue, its base version stays), ``"resumed"`` (the
    load was LOADING: the worker that ran it died, and its task was requeued) or ``""``
    (nothing to do: finished or cancelled)."""
    current = (
        DatasetVersion.objects.filter(dataset_id=load.dataset_id)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    ) or 0
    now = timezone.now()
    queued = Load.objects.filter(pk=load.pk, state=LoadState.QUEUED)
    if queued.filter(base_version=None).update(
        state=LoadState.LOADING, base_version=current, started_at=now
    ):
        return "started"
    if queued.update(state=LoadState.LOADING):
        return "retried"
    # Loads that were running before base versions were recorded get one now.
    Load.objects.filter(pk=load.pk, state=LoadState.LOADING, base_version=None).update(
        base_version=current, started_at=now
    )
    return "resumed" if Load.objects.filter(pk=load.pk, state=LoadState.LOADING).exists() else ""


def _replaced_after_crash(load: Load) -> Load | None:
    """For a load whose worker died: a load of the same dataset uploaded after it started
    and confirmed (queued, loading or done). The steward saw this one hang and most likely
    loaded the same file again; publishing both could count its rows twice."""
    return (
        Load.objects.filter(
            dataset_id=load.dataset_id,
            created_at__gt=load.started_at,
            state__in=[LoadState.QUEUED, LoadState.LOADING, LoadState.DONE],
        )
        .exclude(pk=load.pk)
        .order_by("created_at", "pk")
        .first()
    )


def _newer_load(load: Load) -> Load | None:
    """A load of the same dataset that started after ``load`` from the same base version
    and has published or may still publish: then ``load`` must not publish.

    This is how a load whose worker was killed, and that the steward then loaded again,
    is kept from counting its rows twice when its task is requeued: for an append the
    rows would be there twice, for an upsert or a replacement older rows would overwrite
    newer ones. A newer load from a *later* base (one that started after this one's
    version or another load was published) is an ordinary next load and does not count.
    """
    started = models.Q(started_at__gt=load.started_at) | models.Q(
        started_at=load.started_at, pk__gt=load.pk
    )
    return (
        Load.objects.filter(
            started,
            dataset_id=load.dataset_id,
            base_version=load.base_version,
            state__in=[LoadState.LOADING, LoadState.DONE],
        )
        .exclude(pk=load.pk)
        .order_by("started_at", "pk")
        .first()
    )


def execute(load: Load) -> None:
    """Convert the whole file; refuse it with its errors, or publish a new version."""
    claim = _claim(load)
    if not claim:
        return  # already done (a retried task), cancelled or refused
    try:
        _load(load, resumed=claim == "resumed")
    except Exception:
        # The task tries again: back in the queue (its base version stays). A worker that
        # is killed never gets here, and leaves the load LOADING: see _replaced_after_crash.
        Load.objects.filter(pk=load.pk, state=LoadState.LOADING).update(state=LoadState.QUEUED)
        raise


class _Refused(Exception):
    """Why a load's file or rows cannot be loaded: a message and the rows it names."""

    def __init__(self, message: str, errors: list[Any] | None = None, count: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.errors = [asdict(e) for e in (errors or [])[:MAX_ERRORS]]
        self.count = count or len(errors or [])

    def changes(self) -> dict[str, Any]:
        """The fields of a refused load."""
        return {"errors": self.errors, "error_count": self.count} if self.errors else {}

    def report(self) -> dict[str, Any]:
        """A dry run's answer: the load would be refused."""
        return {
            "refused": True,
            "message": self.message,
            "errors": self.errors,
            "error_count": self.count,
        }


#: Rows named in a refused load's error report (the total is counted).
MAX_ERRORS = 100


def _convert(load: Load, *, progress: bool = False) -> tuple[Callable[[int], int], Any]:
    """Read and convert the whole file: the row number of each loaded row as in the file
    (by its 0-based position), and the rows typed as the load's columns (a table, or for a
    big file ``ingest.StagedRows``, staged beside the upload: see :func:`_stage`);
    :class:`_Refused` when a cell does not fit, a key is repeated or empty, or the file
    cannot be read. Temporary failures (``TRANSIENT_ERRORS``) raise."""
    from regiohub.datasets.ingest import IngestError, convert

    try:
        specs = _specs(load.schema)
        if _streams(load):
            return _stage(load, specs, progress=progress)
        raw = _read(load)
        result = convert(raw, specs, key=load.primary_key)
        repeated = (
            repeated_keys(result.table, load.primary_key, raw, load.schema) if result.ok else []
        )
    except _Refused:
        raise  # a big file's errors, found batch by batch
    except IngestError as exc:
        raise _Refused(str(exc)) from None
    except TRANSIENT_ERRORS:
        raise  # I/O, a lock time-out: the task tries again
    except Exception as exc:  # a parser failure is the same at every try
        raise _Refused(_unreadable(exc)) from None
    if not result.ok:
        raise _Refused(
            _("%(count)d errors: nothing was loaded.") % {"count": result.total_errors},
            result.errors,
            result.total_errors,
        )
    if repeated:
        raise _Refused(
            _("%(count)d errors: nothing was loaded.") % {"count": len(repeated)}, repeated
        )
    return raw.row_number, _typed(result.table, load.schema)


def _specs(schema: list[dict[str, Any]]) -> list[Any]:
    from regiohub.datasets.ingest.types import ColumnSpec, ColumnType, Role

    return [
        ColumnSpec(
            name=c["name"],
            key=c["key"],
            type=ColumnType(c["type"]),
            unit=c.get("unit", ""),
            role=Role(c.get("role", "")),
            nullable=c.get("nullable", True),
            decimal=c.get("decimal", ""),
        )
        for c in schema
    ]


#: While a big file is staged, the load's progress is saved every this many rows.
PROGRESS_ROWS = 1_000_000


def _stage(load: Load, specs: list[Any], *, progress: bool) -> tuple[Callable[[int], int], Any]:
    """A big file read, converted and checked batch by batch; its typed rows written to a
    staged file in a folder of their own beside the upload (``ingest.StagedRows``), so no
    more than a batch is held in memory. All or nothing, as for a small file: the first
    errors are named (row numbers as in the file) and all counted, and nothing is staged
    for later use unless every batch converted and every key is there once.

    The folder is removed when this fails, and by the caller once the load is done with
    it (its upload folder goes too when the load ends, see :func:`_finish`)."""
    from regiohub.datasets.ingest import ReadAgain, new_folder, open_stream

    path = uploads_dir() / load.file
    with open_stream(path, filename=load.filename, options=_read_options(load)) as stream:
        for _attempt in range(3):
            folder = new_folder(path.parent)
            try:
                staged = _stage_batches(load, specs, stream, folder, progress)
                return stream.row_number, staged
            except ReadAgain:  # not UTF-8 after all, or a line break in a quoted value
                shutil.rmtree(folder, ignore_errors=True)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
    raise _Refused(_unreadable(RuntimeError("the file could not be read to its end")))


def _stage_batches(load: Load, specs: list[Any], stream: Any, folder: Path, progress: bool) -> Any:
    from regiohub.datasets.ingest import StageWriter

    key = list(load.primary_key)
    arrow = pa.schema([(c["key"], _ARROW_TYPES[c["type"]]) for c in load.schema])
    writer = StageWriter(folder, arrow, key=key)
    try:
        return _stage_rows(load, specs, stream, writer, progress)
    except BaseException:
        writer.abort()
        raise


def _stage_rows(load: Load, specs: list[Any], stream: Any, writer: Any, progress: bool) -> Any:
    import pyarrow.compute as pc

    from regiohub.datasets.ingest import DoubledHour, LoadError, convert

    key = list(load.primary_key)
    names = {c["key"]: c["name"] for c in load.schema}
    doubled = DoubledHour()
    errors: list[Any] = []  # rows by their position among the file's records, for now
    total = 0
    empty: list[tuple[int, str]] = []
    empty_count = 0
    saved = 0
    for batch in stream:
        table = batch.table
        for spec in specs:  # an NDJSON key first seen in a later line: empty until then
            if spec.name not in table.column_names:
                table = table.append_column(spec.name, pa.nulls(table.num_rows, pa.string()))
        if table is not batch.table:
            batch = replace(batch, table=table)
        result = convert(
            batch, specs, max_errors=max(0, MAX_ERRORS - len(errors)), key=key, doubled=doubled
        )
        if not result.ok:
            total += result.total_errors
            errors += result.errors
        if total:
            continue  # nothing more is staged; the errors are counted to the end
        rows = _typed(result.table, load.schema)
        for name in key:
            missing = pc.indices_nonzero(pc.is_null(rows[name])).to_pylist()
            empty_count += len(missing)
            empty += [(batch.row_number(index), name) for index in missing[:MAX_ERRORS]]
        if not empty_count:
            writer.write(rows)
        del rows, result
        if progress and writer.rows - saved >= PROGRESS_ROWS:
            saved = writer.rows
            Load.objects.filter(pk=load.pk).update(rows_done=saved // 2)
    staged = writer.finish()
    row = stream.row_of_record
    if total:
        raise _Refused(
            _("%(count)d errors: nothing was loaded.") % {"count": total},
            [replace(error, row=row(error.row)) for error in errors],
            total,
        )
    if empty_count:
        reason = _("This row has no value in the key column; every row needs its key.")
        found = [
            LoadError(row=row(index), column=names.get(name, name), value="", reason=reason)
            for index, name in sorted(empty)[:MAX_ERRORS]
        ]
        raise _Refused(
            _("%(count)d errors: nothing was loaded.") % {"count": empty_count},
            found,
            empty_count,
        )
    if key and staged.num_rows > 1 and not staged.keys_in_order:
        repeated, count = _repeated_staged(staged, key, names, stream.row_number)
        if count:
            raise _Refused(
                _("%(count)d errors: nothing was loaded.") % {"count": count}, repeated, count
            )
    return staged


def _repeated_staged(
    staged: Any, key: list[str], names: dict[str, str], row_number: Callable[[int], int]
) -> tuple[list[Any], int]:
    """The staged rows whose key an earlier row has (the first MAX_ERRORS, and how many),
    as load errors."""
    from regiohub.datasets.ingest import LoadError

    found, count = repeated_key_rows(staged, key)
    column = ", ".join(names.get(k, k) for k in key)
    return [
        LoadError(
            row=row_number(index),
            column=column,
            value=", ".join(_key_text(v) for v in values),
            reason=_repeated_reason(row_number(first)),
        )
        for index, first, *values in found
    ], count


def repeated_key_rows(staged: Any, key: list[str]) -> tuple[list[tuple[Any, ...]], int]:
    """``(index, index of the first row with that key, *key values)`` of the staged rows
    whose key an earlier row has (the first MAX_ERRORS, in order), and how many there are;
    found by DuckDB over the staged file: it groups out of memory when it must. Used by
    uploads and by the write API's batches."""
    from regiohub.datasets import query
    from regiohub.datasets.ingest import INDEX

    keys = ", ".join(query.quote(k) for k in key)
    on = " AND ".join(f"s.{query.quote(k)} = d.{query.quote(k)}" for k in key)
    con = query.connection().cursor()
    try:
        # Read once, only the key columns, a record batch at a time (a dataset would be
        # read ahead, all of it): what DuckDB holds is its groups, spilled past its limit.
        con.register("staged", staged.reader([*key, INDEX]))
        con.execute(
            f"CREATE TEMP TABLE repeated AS SELECT {keys}, min({INDEX}) AS __first, "  # noqa: S608 - schema keys, quoted
            f"count(*) AS __n FROM staged GROUP BY {keys} HAVING count(*) > 1"
        )
        count = int(con.execute("SELECT coalesce(sum(__n - 1), 0) FROM repeated").fetchall()[0][0])
        found: list[tuple[Any, ...]] = []
        if count:
            con.unregister("staged")
            con.register("staged", staged.reader([*key, INDEX]))
            values = ", ".join(f"s.{query.quote(k)}" for k in key)
            found = con.execute(
                f"SELECT s.{INDEX}, d.__first, {values} FROM staged AS s "  # noqa: S608
                f"JOIN repeated AS d ON {on} WHERE s.{INDEX} <> d.__first "
                f"ORDER BY s.{INDEX} LIMIT {MAX_ERRORS}"
            ).fetchall()
    finally:
        con.close()
    return found, count


def _repeated_reason(earlier: int) -> str:
    return (
        _("An earlier row has this key too; a key must be unique.")
        + " "
        + _("The earlier row is row %(row)d.") % {"row": earlier}
    )


def _typed(rows: pa.Table, schema: list[dict[str, Any]]) -> pa.Table:
    return rows.cast(pa.schema([(c["key"], _ARROW_TYPES[c["type"]]) for c in schema]))


class KeysTaken(Exception):
    """Adding these rows would put a key in the dataset twice (see ``datasets.changes``)."""

    def __init__(self, found: load_changes.Changes) -> None:
        super().__init__("keys taken")
        self.found = found


def _key_text(value: Any) -> str:
    """A key value as the steward wrote it in a Belgian file."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.strftime("%d/%m/%Y %H:%M" + (":%S" if local.second else ""))
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _keys_taken(
    found: load_changes.Changes, row_number: Any, schema: list[dict[str, Any]]
) -> _Refused:
    """Why an append is refused: the rows whose key the current version holds, or the
    keys it holds twice already, with what to do instead."""
    from regiohub.datasets.ingest import LoadError

    names = {c["key"]: c["name"] for c in schema}
    columns = ", ".join(names.get(k, k) for k in found.primary_key)
    upsert = str(LoadMode.UPSERT.label)
    if found.conflict_count:
        errors = [
            LoadError(
                row=row_number(conflict.index),
                column=columns,
                value=", ".join(_key_text(v) for v in conflict.key.values()),
                reason=_("Version %(version)d already has a row with this key.")
                % {"version": found.previous_version},
            )
            for conflict in found.conflicts
        ]
        return _Refused(
            _(
                "%(count)d rows have a key that version %(version)d already holds, and a key "
                "is unique: nothing was loaded. Choose “%(upsert)s” to update those rows."
            )
            % {"count": found.conflict_count, "version": found.previous_version, "upsert": upsert},
            errors,
            found.conflict_count,
        )
    examples = "; ".join(
        ", ".join(f"{names.get(k, k)} {_key_text(v)}" for k, v in key.items())
        for key in found.repeated_keys[:3]
    )
    return _Refused(
        _(
            "Version %(version)d holds %(count)d rows whose key another row has too (e.g. "
            "%(examples)s), and a key is unique: nothing was loaded. Choose “%(upsert)s” "
            "once: it keeps the row loaded last for each key and removes the others."
        )
        % {
            "version": found.previous_version,
            "count": found.repeated,
            "examples": examples,
            "upsert": upsert,
        }
    )


def _load(load: Load, *, resumed: bool) -> None:
    try:
        row_number, rows = _convert(load, progress=True)
    except _Refused as refused:
        _refuse(load, refused.message, LoadState.LOADING, **refused.changes())
        return
    except TRANSIENT_ERRORS:
        if _ended(load):
            return  # cancelled while it was read: its file is gone
        raise  # I/O, a lock time-out: the task tries again
    try:
        _publish_load(load, row_number, rows, resumed=resumed)
    finally:
        _unstage(rows)


def _unstage(rows: Any) -> None:
    """Remove the staged files of a big load (its rows, and what it wrote beside them)."""
    from regiohub.datasets.ingest import StagedRows

    if isinstance(rows, StagedRows):
        rows.remove()


def _publish_load(
    load: Load, row_number: Callable[[int], int], rows: Any, *, resumed: bool
) -> None:
    Load.objects.filter(pk=load.pk).update(rows_done=rows.num_rows // 2)
    with transaction.atomic():
        # The dataset first, then the load (a cancel locks only the load): this serialises
        # with other loads of the dataset, with a cancel, and with a second run of this load.
        Dataset.objects.select_for_update().get(pk=load.dataset_id)
        fresh = Load.objects.select_for_update().select_related("dataset").get(pk=load.pk)
        if fresh.state != LoadState.LOADING or fresh.version_id:
            return  # cancelled, or published by another run of the same load
        newer = _newer_load(fresh) or (_replaced_after_crash(fresh) if resumed else None)
        if newer is not None:
            _finish(
                fresh,
                LoadState.CANCELLED,
                _(
                    "Stopped without loading: load %(load)d of this dataset started after this "
                    "one from the same rows, so publishing this one too could count rows "
                    "twice or overwrite newer rows. Upload the file again if its rows are "
                    "still missing."
                )
                % {"load": newer.pk},
            )
            return
        try:
            version = publish(
                load.dataset,
                rows,
                mode=load.mode,
                schema=load.schema,
                primary_key=load.primary_key,
                actor=load.created_by,
                summary=_("%(rows)d rows from %(file)s")
                % {"rows": rows.num_rows, "file": load.filename},
            )
        except KeysTaken as taken:
            refused = _keys_taken(taken.found, row_number, load.schema)
            _finish(fresh, LoadState.FAILED, refused.message, **refused.changes())
            return
        except CommitFailedError:
            raise  # another writer committed first: the task tries again
        except DeltaError as exc:
            _finish(fresh, LoadState.FAILED, _("The rows could not be stored: %(e)s") % {"e": exc})
            return
        _finish(fresh, LoadState.DONE, version=version, rows_done=rows.num_rows)


def dry_run(load: Load) -> None:
    """What ``load`` would do, worked out as a load would and written nowhere: the rows
    it would add, update, leave unchanged and remove, and the first changed rows with
    their values before and after; or why it would be refused. The load then waits for
    review again, with the answer in ``load.dry_run``."""
    if load.state != LoadState.CHECKING:
        return
    rows = None
    try:
        row_number, rows = _convert(load)
        found = load_changes.compute(
            rows,
            mode=load.mode,
            schema=load.schema,
            primary_key=load.primary_key,
            previous=load.dataset.current_version,
        )
        if found.refused:
            report = _keys_taken(found, row_number, load.schema).report()
        else:
            report = {"refused": False, **found.report(row_number)}
    except _Refused as refused:
        report = refused.report()
    except TRANSIENT_ERRORS:
        if _ended(load):
            return  # cancelled while it was read: its file is gone
        raise  # the task tries again
    except Exception as exc:  # the same at every try: say so rather than keep checking
        report = _Refused(
            _("What this load would do could not be worked out: %(problem)s")
            % {"problem": str(exc)[:300] or type(exc).__name__}
        ).report()
    finally:
        _unstage(rows)
    report.setdefault("mode", load.mode)
    report["checked_at"] = timezone.now().isoformat()
    with transaction.atomic():
        fresh = Load.objects.select_for_update().get(pk=load.pk)
        if fresh.state != LoadState.CHECKING:
            return  # cancelled or expired meanwhile
        fresh.dry_run = report
        fresh.state = LoadState.REVIEW
        fresh.save(update_fields=["dry_run", "state"])
    load.dry_run, load.state = report, LoadState.REVIEW


def repeated_keys(
    table: pa.Table, primary_key: list[str], raw: Any, schema: list[dict[str, Any]]
) -> list[Any]:
    """A load error for every row whose key is empty, or that an earlier row of the file
    already has."""
    from regiohub.datasets.ingest import LoadError

    if not primary_key:
        return []
    import pyarrow.compute as pc

    names = {c["key"]: c["name"] for c in schema}
    empty = []
    for key in primary_key:
        missing = pc.indices_nonzero(pc.is_null(table[key])).to_pylist()
        empty += [(index, key) for index in missing[:MAX_ERRORS]]
    if empty:
        return [
            LoadError(
                row=raw.row_number(index),
                column=names.get(key, key),
                value="",
                reason=_("This row has no value in the key column; every row needs its key."),
            )
            for index, key in sorted(empty)
        ]
    if table.num_rows < 2:
        return []
    keyed = table.select(primary_key).append_column("__i", pa.array(range(table.num_rows)))
    keyed = keyed.sort_by([(k, "ascending") for k in primary_key] + [("__i", "ascending")])
    same = None
    for key in primary_key:
        column = keyed[key]
        equal = pc.fill_null(pc.equal(column.slice(1), column.slice(0, keyed.num_rows - 1)), False)
        both_null = pc.and_(
            pc.is_null(column.slice(1)), pc.is_null(column.slice(0, keyed.num_rows - 1))
        )
        equal = pc.or_(equal, both_null)
        same = equal if same is None else pc.and_(same, equal)
    import numpy as np

    # Sorted by key, then by position: the first row of each run of one key is the earlier.
    repeat = np.flatnonzero(same.to_numpy(zero_copy_only=False)) + 1
    starts = np.flatnonzero(~same.to_numpy(zero_copy_only=False)) + 1
    starts = np.concatenate([[0], starts])
    positions = keyed["__i"].to_numpy()
    earlier = positions[starts[np.searchsorted(starts, repeat, side="right") - 1]]
    errors = []
    for index, first in sorted(zip(positions[repeat].tolist(), earlier.tolist(), strict=True)):
        values = table.slice(index, 1).select(primary_key).to_pylist()[0]
        errors.append(
            LoadError(
                row=raw.row_number(index),
                column=", ".join(names.get(k, k) for k in primary_key),
                value=", ".join(_key_text(v) for v in values.values()),
                reason=_repeated_reason(raw.row_number(first)),
            )
        )
    return errors


def expire_uploads(now: datetime | None = None) -> int:
    """Cancel ("expired") the loads whose columns were not checked within
    ``REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS`` and remove their uploads, then remove upload
    folders that no unfinished load needs (left by a worker killed at the wrong moment).
    Returns the number of loads expired."""
    now = now or timezone.now()
    hours = settings.DATASETS_UPLOAD_KEEP_HOURS
    limit = now - timedelta(hours=hours)
    waiting = [LoadState.INSPECTING, LoadState.REVIEW, LoadState.CHECKING]
    expired = 0
    stale = Load.objects.filter(state__in=waiting, created_at__lt=limit).values_list(
        "pk", flat=True
    )
    for pk in list(stale):
        with transaction.atomic():
            load = Load.objects.select_for_update().select_related("dataset").get(pk=pk)
            if load.state not in waiting:
                continue
            with translation.override(load.language or settings.LANGUAGE_CODE):
                _finish(
                    load,
                    LoadState.CANCELLED,
                    _(
                        "Expired: the columns were not checked within %(hours)d hours, so the "
                        "uploaded file was removed. Upload it again to load it."
                    )
                    % {"hours": hours},
                    action=Action.LOAD_EXPIRED,
                )
            expired += 1
    root = uploads_dir()
    if root.is_dir():
        needed = {
            Path(name).parts[0]
            for name in Load.objects.exclude(state__in=FINAL_STATES)
            .exclude(file="")
            .values_list("file", flat=True)
        }
        # The rows staged by write API calls that wait for their batch, however long.
        waiting = WriteBatch.objects.exclude(state__in=BATCH_FINAL_STATES)
        needed.update(batch.folder for batch in waiting.only("pk"))
        needed.update(
            Path(name).parts[0]
            for name in BatchedWrite.objects.filter(batch__in=waiting).values_list(
                "file", flat=True
            )
        )
        for folder in root.iterdir():
            try:
                old = folder.stat().st_mtime < limit.timestamp()
            except FileNotFoundError:
                continue
            if folder.name not in needed and old:
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    folder.unlink(missing_ok=True)
    return expired


def publish(
    dataset: Dataset,
    rows: Any,
    *,
    mode: str,
    schema: list[dict[str, Any]],
    primary_key: list[str],
    actor: Any = None,
    actor_label: str = "",
    summary: str = "",
    if_changed: bool = False,
) -> DatasetVersion | None:
    """Write ``rows`` (a table, or a big load's ``ingest.StagedRows``) and record the new
    version; call inside a transaction.

    The dataset row is locked, so two loads of one dataset publish one after the other.
    A table version left by an earlier attempt that never got published is rolled back
    first, so a retried load cannot count its rows twice.

    What the rows change is worked out first (``datasets.changes``), once: the version
    stores the rows added, updated, unchanged and removed, and the history, the event, the
    pages and the API read them from it. Adding rows whose key the dataset holds raises
    :class:`KeysTaken` and writes nothing. With ``if_changed`` (feeds) rows that change
    nothing make no version (``None``).
    """
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    current = dataset.versions.order_by("-number").first()
    if isinstance(rows, pa.Table):  # else rows staged by a big load, typed already
        rows = _typed(rows, schema)
    found = load_changes.compute(
        rows, mode=mode, schema=schema, primary_key=primary_key, previous=current
    )
    if found.refused:
        raise KeysTaken(found)
    if if_changed and current is not None and not found.changes_anything:
        return None
    if found.write_mode:
        written = storage.write(
            dataset.storage_key,
            found.write_rows,
            mode=found.write_mode,
            primary_key=primary_key,
            published=current.delta_version if current else None,
        )
        delta_version, row_count = written.delta_version, written.row_count
        load_changes.remember_unique(dataset.storage_key, delta_version, primary_key)
    else:  # nothing changes: the new version is the same table version
        delta_version, row_count = current.delta_version, current.row_count
    if found.repeated and mode == LoadMode.UPSERT:
        summary = (
            summary
            + "; "
            + _("%(count)d rows removed whose key another row had too") % {"count": found.repeated}
        )
    user = actor if getattr(actor, "is_authenticated", False) else None
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=(current.number + 1) if current else 1,
        delta_version=delta_version,
        schema=schema,
        primary_key=list(primary_key),
        row_count=row_count,
        rows_added=found.added,
        rows_updated=found.updated,
        rows_unchanged=found.unchanged,
        rows_removed=found.removed,
        summary=summary[:300],
        created_by=user,
        created_by_label=(str(user) if user else actor_label or "system")[:200],
    )
    from regiohub.datasets.tasks import compute_stats

    enqueue(compute_stats, version.pk)
    history.record(
        dataset,
        Action.VERSION_PUBLISHED,
        actor=user,
        actor_label=actor_label or None,
        organisation=dataset.owner_id,
        after={
            "version": version.number,
            "rows": version.row_count,
            "added": version.rows_added,
            "updated": version.rows_updated,
            "unchanged": version.rows_unchanged,
            "removed": version.rows_removed,
            "mode": mode,
            **({"repeated_keys_removed": found.repeated} if mode == LoadMode.UPSERT else {}),
        },
    )
    events.publish(_published(dataset, version))
    return version


def _published(dataset: Dataset, version: DatasetVersion) -> VersionPublished:
    """The event that ``version`` of ``dataset`` is published, with its counts."""
    return VersionPublished(
        dataset_id=dataset.pk,
        slug=dataset.slug,
        owner_id=dataset.owner_id,
        access=dataset.access,
        version=version.number,
        rows=version.row_count,
        rows_added=version.rows_added,
        rows_updated=version.rows_updated,
        rows_unchanged=version.rows_unchanged,
        rows_removed=version.rows_removed,
    )


# --- Restoring a version ---------------------------------------------------------------

RESTORE_REASON_MAX = 500
#: Counting what a restore changes reads both versions once, like a download.
RESTORE_SECONDS = 600.0


def restore(dataset: Dataset, actor: Any, *, number: int, reason: str) -> DatasetVersion:
    """A new version whose rows and columns are those of version ``number``, recorded with
    who restored it and why (``reason`` is required).

    Nothing is copied: the Delta table takes that version's files back. The new version's
    counts say what it changes relative to the current one, as a load's do: rows added,
    updated, unchanged and removed (compared as ``datasets.compare`` compares versions).
    """
    from regiohub.datasets import compare
    from regiohub.datasets.tasks import compute_stats

    require_manage(actor, dataset)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why you restore this version."), code="reason")
    if len(reason) > RESTORE_REASON_MAX or "\x00" in reason:
        raise ValidationError(
            _("Give a reason of at most %(max)d characters, without control characters.")
            % {"max": RESTORE_REASON_MAX},
            code="reason",
        )
    target = (
        dataset.versions.filter(number=number).first()
        if isinstance(number, int) and 0 < number < 2**31
        else None
    )
    if target is None:
        raise ValidationError(
            _("This dataset has no version %(n)s.") % {"n": str(number)[:20]}, code="version"
        )
    current = dataset.current_version
    if current is None or current.pk == target.pk:
        raise ValidationError(
            _("Version %(n)d is the current version already.") % {"n": target.number},
            code="version",
        )
    # Versions never change: what the restore does is counted before anything is locked.
    counts = compare.summarize(
        compare.side_of(current), compare.side_of(target), seconds=RESTORE_SECONDS
    ).counts
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        latest = locked.versions.order_by("-number").first()
        if latest is None or latest.pk != current.pk:
            raise ValidationError(
                _(
                    "A new version was published meanwhile. Look at it, and restore again "
                    "if you still want to."
                ),
                code="conflict",
            )
        written = storage.restore(
            locked.storage_key, target.delta_version, published=current.delta_version
        )
        version = DatasetVersion.objects.create(
            dataset=locked,
            number=current.number + 1,
            delta_version=written.delta_version,
            schema=target.schema,
            primary_key=list(target.primary_key),
            row_count=written.row_count,
            rows_added=counts.added,
            rows_updated=counts.changed,
            rows_unchanged=counts.unchanged,
            rows_removed=counts.removed,
            restored_from=target.number,
            stats=target.stats,  # the same rows
            summary=(
                _("Version %(number)d restored: %(reason)s")
                % {"number": target.number, "reason": reason}
            )[:300],
            created_by=user,
            created_by_label=(str(user) if user else "system")[:200],
        )
        if not version.stats:
            enqueue(compute_stats, version.pk)
        history.record(
            locked,
            Action.VERSION_RESTORED,
            actor=user,
            organisation=locked.owner_id,
            before={"version": current.number, "rows": current.row_count},
            after={
                "version": version.number,
                "restored_from": target.number,
                "rows": version.row_count,
                "added": version.rows_added,
                "updated": version.rows_updated,
                "unchanged": version.rows_unchanged,
                "removed": version.rows_removed,
            },
            reason=reason,
        )
        events.publish(_published(locked, version))
    return version


# --- Feeds -----------------------------------------------------------------------------


def _repeats_a_key(rows: pa.Table, primary_key: list[str]) -> bool:
    """A feed's batch whose key columns do not tell its rows apart (a key is a promise)."""
    if not primary_key:
        return False
    return rows.select(primary_key).group_by(primary_key).aggregate([]).num_rows < rows.num_rows


def run_feed(feed: Feed, until: datetime | None = None) -> int:
    """Fetch what is new since the feed's cursor and publish it; returns the rows written
    (added or updated).

    Each batch is published together with its cursor, so a failure part-way keeps what was
    written and the next run resumes after it.
    """
    from regiohub.datasets.feeds import registry
    from regiohub.datasets.feeds.base import FeedCursor, FeedDataError, FeedError

    until = until or timezone.now()
    written = 0
    cursor = FeedCursor.from_json(feed.cursor) if feed.cursor else None
    try:
        source = registry.get(feed.kind)(feed.settings)
        schema = schema_from_arrow(
            source.schema, time_column=source.time_column, primary_key=source.primary_key
        )
        for batch in source.fetch(cursor, until):
            with transaction.atomic():
                locked = Feed.objects.select_for_update().get(pk=feed.pk)
                key = list(source.primary_key)
                if batch.table.num_rows and _repeats_a_key(batch.table, key):
                    raise FeedDataError("the batch holds two rows with the same key")
                if batch.table.num_rows:
                    version = publish(
                        feed.dataset,
                        batch.table,
                        mode=LoadMode.UPSERT,
                        schema=schema,
                        primary_key=list(source.primary_key),
                        actor_label=_("feed %(kind)s") % {"kind": feed.kind},
                        summary=_("%(rows)d rows from the %(kind)s feed")
                        % {"rows": batch.table.num_rows, "kind": feed.kind},
                        if_changed=True,  # rows fetched again that changed nothing
                    )
                    if version is not None:
                        written += version.rows_added + version.rows_updated
                locked.cursor = batch.cursor.to_json()
                locked.save(update_fields=["cursor"])
    except FeedError as exc:
        Feed.objects.filter(pk=feed.pk).update(
            last_run_at=timezone.now(), last_error=str(exc)[:500]
        )
        raise
    Feed.objects.filter(pk=feed.pk).update(last_run_at=timezone.now(), last_error="")
    feed.refresh_from_db()
    return written


# --- The write API (datasets.writing) ---------------------------------------------------
# Rows a system sends through the API: the same load path as an upload (execute, dry_run
# above), run in the request. Kept in its own module; this is its door.

__all__ += ["publish_write_batch", "write_rows"]


def write_rows(
    dataset: Dataset,
    actor: Any,
    rows: Any,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    via: str = "",
    idempotency_key: str = "",
    fingerprint: str = "",
) -> Any:
    """Append or upsert ``rows`` (a :class:`datasets.writing.Rows`) as a new version of
    ``dataset``, converted and checked as an upload with the current version's columns
    and key; with ``dry_run`` only say what that would do. Returns a
    :class:`datasets.writing.Answer` (HTTP status and JSON body: the version and its
    counts, or the rows and columns that were refused). ``via`` is the API token's prefix
    (recorded in the load's history). A call with an ``idempotency_key`` seen before with
    the same ``fingerprint`` gets the first call's answer instead of loading twice.

    A dataset with ``write_batch_seconds`` gathers calls: the rows are converted and
    checked now, as above, then staged in the dataset's open batch (answered 202 with the
    batch), and published with the batch's other calls as one version when it is due
    (:func:`publish_write_batch`)."""
    from regiohub.datasets import writing

    return writing.write(
        dataset,
        actor,
        rows,
        mode=mode,
        dry_run=dry_run,
        via=via,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


def publish_write_batch(batch_id: int) -> str:
    """Publish the write API calls gathered in batch ``batch_id``, in the order they were
    sent, as one load of source ``api`` and one version; or refuse them all, naming the
    rows by call and row (an append that sends a key twice, or a key the version holds).
    Batches of the dataset opened before it are published first. Does nothing for a batch
    published or refused already. Returns the batch's state."""
    from regiohub.datasets import writing

    return writing.publish_batches(batch_id)
