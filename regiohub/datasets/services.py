"""What data stewards and feeds do to datasets: create, upload, review, load; each a typed
function that checks the actor's rights, records history and starts its tasks in the same
transaction.

A load never touches the published rows until it has been read and converted completely:
a bad file ends as a refused load with its error report, and the current version stays.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict
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
from regiohub.datasets import storage
from regiohub.datasets.events import Action, DatasetChanged, LoadRefused, VersionPublished
from regiohub.datasets.models import (
    Dataset,
    DatasetVersion,
    Feed,
    Load,
    LoadMode,
    LoadSource,
    LoadState,
)
from regiohub.datasets.models.load import FINAL_STATES
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.query import RESERVED_COLUMNS

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "cancel",
    "confirm",
    "create_dataset",
    "execute",
    "expire_uploads",
    "inspect",
    "publish",
    "require_manage",
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


def _read(load: Load) -> Any:
    from regiohub.datasets.ingest import ReadOptions, read_raw

    options = ReadOptions(**{k: v for k, v in load.options.items() if v})
    return read_raw(uploads_dir() / load.file, filename=load.filename, options=options)


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
    if load.file:
        folder = (uploads_dir() / load.file).parent
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def inspect(load: Load) -> None:
    """Read the file, guess its columns and show them for review."""
    from regiohub.datasets.ingest import IngestError, infer_schema

    if load.state != LoadState.INSPECTING:
        return
    try:
        raw = _read(load)
        schema = infer_schema(raw)
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
        }
        load.schema = columns
        load.primary_key = list(current.primary_key) if current else []
        load.preview = [[row[name] for name in raw.columns] for row in preview]
        load.rows_total = raw.num_rows
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


def confirm(
    load: Load,
    actor: Any,
    *,
    columns: list[dict[str, Any]],
    primary_key: list[str],
    mode: str,
) -> Load:
    """The steward checked the columns: validate them and queue the load."""
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
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        load = Load.objects.select_for_update().get(pk=load.pk)
        if load.state != LoadState.REVIEW:
            raise ValidationError(_("This load is not waiting for review."))
        load.schema = columns
        load.primary_key = primary_key
        load.mode = mode
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


def _load(load: Load, *, resumed: bool) -> None:
    from regiohub.datasets.ingest import IngestError, convert
    from regiohub.datasets.ingest.types import ColumnSpec, ColumnType, Role

    try:
        raw = _read(load)
        specs = [
            ColumnSpec(
                name=c["name"],
                key=c["key"],
                type=ColumnType(c["type"]),
                unit=c.get("unit", ""),
                role=Role(c.get("role", "")),
                nullable=c.get("nullable", True),
                decimal=c.get("decimal", ""),
            )
            for c in load.schema
        ]
        result = convert(raw, specs)
        repeated = (
            repeated_keys(result.table, load.primary_key, raw, load.schema) if result.ok else []
        )
    except IngestError as exc:
        _refuse(load, str(exc), LoadState.LOADING)
        return
    except TRANSIENT_ERRORS:
        if _ended(load):
            return  # cancelled while it was read: its file is gone
        raise  # I/O, a lock time-out: the task tries again
    except Exception as exc:  # a parser failure is the same at every try
        _refuse(load, _unreadable(exc), LoadState.LOADING)
        return
    if not result.ok:
        _refuse(
            load,
            _("%(count)d errors: nothing was loaded.") % {"count": result.total_errors},
            LoadState.LOADING,
            errors=[asdict(e) for e in result.errors],
            error_count=result.total_errors,
        )
        return
    if repeated:
        _refuse(
            load,
            _("%(count)d errors: nothing was loaded.") % {"count": len(repeated)},
            LoadState.LOADING,
            errors=[asdict(e) for e in repeated[:100]],
            error_count=len(repeated),
        )
        return
    Load.objects.filter(pk=load.pk).update(rows_done=result.table.num_rows // 2)
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
                result.table,
                mode=load.mode,
                schema=load.schema,
                primary_key=load.primary_key,
                actor=load.created_by,
                summary=_("%(rows)d rows from %(file)s")
                % {"rows": result.table.num_rows, "file": load.filename},
            )
        except CommitFailedError:
            raise  # another writer committed first: the task tries again
        except DeltaError as exc:
            _finish(fresh, LoadState.FAILED, _("The rows could not be stored: %(e)s") % {"e": exc})
            return
        _finish(fresh, LoadState.DONE, version=version, rows_done=result.table.num_rows)


def repeated_keys(
    table: pa.Table, primary_key: list[str], raw: Any, schema: list[dict[str, Any]]
) -> list[Any]:
    """A load error for every row whose key an earlier row of the file already has."""
    from regiohub.datasets.ingest import LoadError

    if not primary_key or table.num_rows < 2:
        return []
    import pyarrow.compute as pc

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
    indices = sorted(keyed["__i"].slice(1).filter(same).to_pylist())
    names = {c["key"]: c["name"] for c in schema}
    errors = []
    for index in indices:
        values = table.slice(index, 1).select(primary_key).to_pylist()[0]
        errors.append(
            LoadError(
                row=raw.row_number(index),
                column=", ".join(names.get(k, k) for k in primary_key),
                value=", ".join("" if v is None else str(v) for v in values.values()),
                reason=_("An earlier row has this key too; a key must be unique."),
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
    waiting = [LoadState.INSPECTING, LoadState.REVIEW]
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
    rows: pa.Table,
    *,
    mode: str,
    schema: list[dict[str, Any]],
    primary_key: list[str],
    actor: Any = None,
    actor_label: str = "",
    summary: str = "",
) -> DatasetVersion:
    """Write ``rows`` and record the new version; call inside a transaction.

    The dataset row is locked, so two loads of one dataset publish one after the other.
    A table version left by an earlier attempt that never got published is rolled back
    first, so a retried load cannot count its rows twice.
    """
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    current = dataset.versions.order_by("-number").first()
    rows = rows.cast(pa.schema([(c["key"], _ARROW_TYPES[c["type"]]) for c in schema]))
    written = storage.write(
        dataset.storage_key,
        rows,
        mode=mode,
        primary_key=primary_key,
        published=current.delta_version if current else None,
    )
    user = actor if getattr(actor, "is_authenticated", False) else None
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=(current.number + 1) if current else 1,
        delta_version=written.delta_version,
        schema=schema,
        primary_key=list(primary_key),
        row_count=written.row_count,
        rows_added=written.rows_added,
        rows_updated=written.rows_updated,
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
            "mode": mode,
        },
    )
    events.publish(
        VersionPublished(
            dataset_id=dataset.pk,
            slug=dataset.slug,
            owner_id=dataset.owner_id,
            access=dataset.access,
            version=version.number,
            rows=version.row_count,
            rows_added=version.rows_added,
            rows_updated=version.rows_updated,
        )
    )
    return version


# --- Feeds -----------------------------------------------------------------------------


def run_feed(feed: Feed, until: datetime | None = None) -> int:
    """Fetch what is new since the feed's cursor and publish it; returns the rows written.

    Each batch is published together with its cursor, so a failure part-way keeps what was
    written and the next run resumes after it.
    """
    from regiohub.datasets.feeds import registry
    from regiohub.datasets.feeds.base import FeedCursor, FeedError

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
                if batch.table.num_rows:
                    publish(
                        feed.dataset,
                        batch.table,
                        mode=LoadMode.UPSERT,
                        schema=schema,
                        primary_key=list(source.primary_key),
                        actor_label=_("feed %(kind)s") % {"kind": feed.kind},
                        summary=_("%(rows)d rows from the %(kind)s feed")
                        % {"rows": batch.table.num_rows, "kind": feed.kind},
                    )
                    written += batch.table.num_rows
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
