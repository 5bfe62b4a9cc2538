"""Rows written through the API: the same load path as an upload, in the request.

``services.write_rows`` is the door; this module does the work. The rows sent (already
parsed from JSON, NDJSON or CSV by ``datasets.api.writes``) are matched to the current
version's columns (by the column's key or its name), written as an NDJSON file and loaded
as a :class:`Load` of source ``api`` with the current version's columns and key: the
conversion, the key checks and the publishing are those of an upload
(``services.execute`` and ``services.dry_run``), so a call is refused or published exactly
as a file with the same rows would be. The answer names the rows and columns as they were
sent. See docs/datasets.md ("The write API") and docs/decisions/0025.

A dataset may gather calls instead (``Dataset.write_batch_seconds``, see "Gathering calls
into batches" below): each call is converted and checked in the request as above, then its
typed rows are staged and answered 202; at the batch's due time the worker publishes all
the calls of the batch, in order, as one load and one version (``publish_batches``).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import structlog
from deltalake.exceptions import CommitFailedError, DeltaError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from regiohub.core import history
from regiohub.core.history import translated_when_shown
from regiohub.core.tasks import enqueue
from regiohub.datasets.events import Action
from regiohub.datasets.models import (
    ApiWrite,
    BatchedWrite,
    Dataset,
    DatasetVersion,
    Load,
    LoadMode,
    LoadSource,
    LoadState,
    WriteBatch,
    WriteBatchState,
)

log = structlog.get_logger(__name__)

#: Modes the write API offers (replacing every row stays an upload on the page).
MODES = (LoadMode.APPEND, LoadMode.UPSERT)
#: Rows named in an error report (the total is counted), as in a load's.
MAX_ERRORS = 100
#: A call that another write of the same dataset overtook (see services._newer_load) is
#: loaded again this many times in all before the caller is asked to send it again.
ATTEMPTS = 3
#: How long a call waits for its load when a worker runs it instead (seconds).
WAIT_SECONDS = 20.0
#: A call's load is also queued for the worker, to run this long after the call unless the
#: call ran it: a call that fails half-way (a database busy) is then loaded all the same.
FALLBACK_SECONDS = 120
#: A call with an Idempotency-Key that has not answered after this long is taken to have
#: died: sending it again answers from its load, or runs it again when it made none.
ABANDONED_MINUTES = 10


@dataclass
class Rows:
    """The rows of one call: each a mapping of the column names as sent to values
    (strings, numbers, booleans or null), and the row number each has in the body."""

    records: list[dict[str, Any]]
    row_numbers: list[int]
    #: The decimal separator of numbers written as text ("." in JSON).
    decimal: str = "."
    #: Column names in the order they were first seen.
    columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.columns:
            seen: dict[str, None] = {}
            for record in self.records:
                seen.update(dict.fromkeys(record))
            self.columns = list(seen)


@dataclass(frozen=True)
class Answer:
    """What the call is answered: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]
    #: The answer of an earlier call with the same Idempotency-Key.
    replayed: bool = False


def _refused(status: int, message: str, errors: list[dict[str, Any]] | None = None,
             count: int = 0) -> Answer:  # fmt: skip
    errors = errors or []
    return Answer(
        status,
        {
            "refused": True,
            "message": message,
            "errors": errors[:MAX_ERRORS],
            "error_count": count or len(errors),
        },
    )


# --- Matching the columns ---------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Which schema column each column sent fills: sent name -> schema column."""

    by_sent: dict[str, dict[str, Any]]
    schema_names: frozenset[str] = frozenset()

    def sent_name(self, schema_name: str) -> str:
        for sent, column in self.by_sent.items():
            if column["name"] == schema_name:
                return sent
        return schema_name


def _plan(rows: Rows, schema: list[dict[str, Any]], primary_key: list[str]) -> _Plan | Answer:
    by_key = {c["key"]: c for c in schema}
    by_name = {c["name"]: c for c in schema}
    matched: dict[str, dict[str, Any]] = {}
    unknown = []
    for sent in rows.columns:
        column = by_key.get(sent) or by_name.get(sent)
        if column is None:
            unknown.append(sent)
        else:
            matched[sent] = column
    problems = []
    if unknown:
        problems.append(
            _("These columns are not in the dataset: %(names)s. Its columns are: %(known)s.")
            % {
                "names": ", ".join(_shown(n) for n in unknown[:20]),
                "known": ", ".join(c["key"] for c in schema),
            }
        )
    filled: dict[str, list[str]] = {}
    for sent, column in matched.items():
        filled.setdefault(column["key"], []).append(sent)
    twice = [names for names in filled.values() if len(names) > 1]
    for names in twice:
        problems.append(
            _("These names are the same column: %(names)s. Send it once.")
            % {"names": ", ".join(_shown(n) for n in names)}
        )
    missing = [
        c["key"]
        for c in schema
        if c["key"] not in filled and (c["key"] in primary_key or not c.get("nullable", True))
    ]
    if missing:
        problems.append(
            _("These columns may not be empty, and are missing: %(names)s.")
            % {"names": ", ".join(missing)}
        )
    if problems:
        return _refused(400, " ".join(problems))
    return _Plan(by_sent=matched, schema_names=frozenset(c["name"] for c in schema))


def _shown(name: str) -> str:
    """A name as sent, safe to repeat in a message (no control characters, not endless)."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    return f"“{cleaned[:80]}”"


# --- Writing the rows as a file the loader reads ----------------------------------------


def _cell_problem(value: Any) -> str:
    if isinstance(value, dict | list):
        return _("a value must be text, a number, true, false or null, not a list or object")
    if isinstance(value, float) and not math.isfinite(value):
        return _("a number must be finite")
    if isinstance(value, str) and "\x00" in value:
        return _("the value contains a NUL character, which is not allowed")
    return ""


def _ndjson(rows: Rows, plan: _Plan, schema: list[dict[str, Any]]) -> bytes | Answer:
    """The rows as NDJSON lines under the schema's column names (a column not sent is
    empty), one line per row; or the rows whose values no column can hold."""
    integers = {c["name"] for c in schema if c["type"] == "integer"}
    errors = []
    count = 0
    lines = []
    for record, number in zip(rows.records, rows.row_numbers, strict=True):
        line: dict[str, Any] = dict.fromkeys((c["name"] for c in schema), None)
        for sent, value in record.items():
            column = plan.by_sent[sent]
            problem = _cell_problem(value)
            if problem:
                count += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(
                        {
                            "row": number,
                            "column": str(sent)[:200],
                            "value": _text(value),
                            "reason": problem,
                        }
                    )
                continue
            if isinstance(value, float) and column["name"] in integers and value.is_integer():
                value = int(value)  # 12.0 from a tool that writes every number as a float
            line[column["name"]] = value
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    if count:
        return _refused(
            400, _("%(count)d errors: nothing was loaded.") % {"count": count}, errors, count
        )
    return ("\n".join(lines) + "\n").encode()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.replace("\x00", "\\0")[:200]
    return json.dumps(value, ensure_ascii=False)[:200]


def _uploads_dir() -> Any:
    from regiohub.datasets.services import uploads_dir

    return uploads_dir()


def _remove_file(load: Load) -> None:
    if load.file:
        shutil.rmtree((_uploads_dir() / load.file).parent, ignore_errors=True)


# --- Answers from a load -----------------------------------------------------------------


def _row_number(rows: Rows) -> Any:
    """The body's row number of the line ``n`` of the file the loader read."""

    def number(line: Any) -> Any:
        if isinstance(line, int) and 1 <= line <= len(rows.row_numbers):
            return rows.row_numbers[line - 1]
        return line

    return number


def _as_sent(errors: list[dict[str, Any]], rows: Rows | None, plan: _Plan | None) -> list:
    """A load's error report with the rows and columns named as in the call."""
    if rows is None or plan is None:
        return errors
    number = _row_number(rows)
    named = []
    for error in errors:
        columns = str(error.get("column", ""))
        if columns in plan.schema_names or not columns:
            sent = plan.sent_name(columns) if columns else ""
        else:  # the key columns, "Segment, Uur"
            sent = ", ".join(plan.sent_name(c) for c in columns.split(", "))
        named.append({**error, "row": number(error.get("row")), "column": sent})
    return named


def _counts(version: DatasetVersion) -> dict[str, int]:
    return {
        "added": version.rows_added,
        "updated": version.rows_updated,
        "unchanged": version.rows_unchanged,
        "removed": version.rows_removed,
    }


def answer_for(load: Load, rows: Rows | None = None, plan: _Plan | None = None) -> Answer:
    """What a call whose rows became ``load`` is answered, as the load stands now."""
    dataset = load.dataset
    base = {"dataset": dataset.slug, "load": load.pk, "mode": load.mode, "rows": load.rows_total}
    if load.state == LoadState.DONE and load.version is not None:
        version = load.version
        return Answer(
            201,
            {
                **base,
                "version": version.number,
                "counts": _counts(version),
                "row_count": version.row_count,
                "summary": version.summary,
            },
        )
    if load.state == LoadState.FAILED:
        answer = _refused(
            400, load.message, _as_sent(load.errors, rows, plan), load.error_count or 0
        )
        return Answer(400, {**base, **answer.body})
    if load.state == LoadState.CANCELLED:
        return Answer(
            409,
            {
                **base,
                "refused": True,
                "message": _(
                    "Other writes to this dataset started at the same moment, again and "
                    "again, so these rows were not loaded. Send them again."
                ),
                "errors": [],
                "error_count": 0,
            },
        )
    return Answer(
        202,
        {
            **base,
            "state": load.state,
            "message": _(
                "The rows are accepted and are being loaded in the background. Follow the "
                "load at /api/v1/datasets/%(slug)s/loads/%(load)d/."
            )
            % {"slug": dataset.slug, "load": load.pk},
        },
    )


# --- Loading ----------------------------------------------------------------------------


def _start(
    dataset: Dataset,
    actor: Any,
    data: bytes,
    *,
    schema: list[dict[str, Any]],
    primary_key: list[str],
    mode: str,
    rows: int,
    via: str,
    dry_run: bool,
) -> Load:
    relative = f"{uuid.uuid4().hex}/api-{via or 'session'}.ndjson"
    target = _uploads_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    try:
        with transaction.atomic():
            load = Load.objects.create(
                dataset=dataset,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                source=LoadSource.API,
                state=LoadState.CHECKING if dry_run else LoadState.QUEUED,
                file=relative,
                filename=target.name,
                size=len(data),
                schema=schema,
                primary_key=primary_key,
                mode=mode,
                rows_total=rows,
                detected={"format": "ndjson", "encoding": "utf-8", "via": "api"},
                created_by=actor,
            )
            if not dry_run:
                history.record(
                    load,
                    Action.LOAD_STARTED,
                    actor=actor,
                    organisation=dataset.owner_id,
                    after={"source": "api", "rows": rows, "mode": mode, "token": via},
                )
                from regiohub.datasets.tasks import run_load

                later = timezone.now() + timedelta(seconds=FALLBACK_SECONDS)
                enqueue(run_load.using(run_after=later), load.pk)
    except Exception:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return load


def _wait(load: Load) -> Load:
    deadline = time.monotonic() + WAIT_SECONDS
    load.refresh_from_db()
    while not load.is_final and time.monotonic() < deadline:
        time.sleep(0.2)
        load.refresh_from_db()
    return load


def _run(load: Load) -> Load:
    from regiohub.datasets import services

    try:
        services.execute(load)
    except Exception:  # the worker loads it later (the queued fallback)
        log.warning("write API load left to the worker", load=load.pk, exc_info=True)
        load.refresh_from_db()
        return load
    return _wait(load)


def _dry_run(load: Load, rows: Rows, plan: _Plan) -> Answer:
    from regiohub.datasets import services

    try:
        services.dry_run(load)
        load.refresh_from_db()
        report = dict(load.dry_run)
    except Exception:  # a busy database: nothing was written, the caller asks again
        log.warning("write API dry run failed", load=load.pk, exc_info=True)
        return _refused(503, _("What these rows would do could not be worked out now; ask again."))
    finally:
        _remove_file(load)
        Load.objects.filter(pk=load.pk).delete()  # nothing of a dry run is kept
    number = _row_number(rows)
    if report.get("refused"):
        answer = _refused(
            400, report.get("message", ""), _as_sent(report.get("errors", []), rows, plan),
            report.get("error_count", 0),
        )  # fmt: skip
        return Answer(400, {"dataset": load.dataset.slug, "dry_run": True, **answer.body})
    for name in ("updated_rows", "added_rows", "removed_rows"):
        for item in report.get(name, []):
            if "row" in item:
                item["row"] = number(item["row"])
    report.pop("checked_at", None)
    return Answer(200, {"dataset": load.dataset.slug, "dry_run": True, **report})


def write(
    dataset: Dataset,
    actor: Any,
    rows: Rows,
    *,
    mode: str | None = None,
    dry_run: bool = False,
    via: str = "",
    idempotency_key: str = "",
    fingerprint: str = "",
) -> Answer:
    """Load ``rows`` into ``dataset`` as a new version, or say what that would do
    (``dry_run``), or why it is refused. See :func:`services.write_rows`."""
    from regiohub.datasets import services

    services.require_manage(actor, dataset)
    if idempotency_key and not dry_run:
        return _write_once(
            dataset, actor, rows, mode=mode, via=via, key=idempotency_key,
            fingerprint=fingerprint,
        )  # fmt: skip
    return _write(dataset, actor, rows, mode=mode, dry_run=dry_run, via=via)


def _write(
    dataset: Dataset,
    actor: Any,
    rows: Rows,
    *,
    mode: str | None,
    dry_run: bool,
    via: str,
    on_load: Callable[[Load], None] = lambda load: None,
    on_staged: Callable[[Answer], None] = lambda answer: None,
) -> Answer:
    from regiohub.datasets import services

    current = dataset.current_version
    if current is None:
        return _refused(
            409,
            _(
                "This dataset has no rows yet. Upload a first file on its page, where its "
                "columns and key are chosen; then rows can be written through the API."
            ),
        )
    mode = mode or services.default_mode(dataset)
    if mode not in MODES:
        return _refused(400, _("The mode must be append or upsert."))
    primary_key = list(current.primary_key)
    if mode == LoadMode.UPSERT and not primary_key:
        return _refused(
            400,
            _(
                "This dataset has no key columns, so rows cannot be updated by key: use "
                "mode=append, or give the dataset a key by uploading a file on its page."
            ),
        )
    if not rows.records:
        return _refused(400, _("The call holds no rows."))
    plan = _plan(rows, current.schema, primary_key)
    if isinstance(plan, Answer):
        return plan
    data = _ndjson(rows, plan, current.schema)
    if isinstance(data, Answer):
        return data
    numeric = ("integer", "decimal")
    schema = [
        {**c, "decimal": rows.decimal} if c["type"] in numeric else dict(c) for c in current.schema
    ]
    start = {
        "schema": schema,
        "primary_key": primary_key,
        "mode": mode,
        "rows": len(rows.records),
        "via": via,
    }
    if dry_run:
        load = _start(dataset, actor, data, dry_run=True, **start)
        return _dry_run(load, rows, plan)
    if dataset.write_batch_seconds:
        return _gather(
            dataset, actor, rows, plan, data, current=current, schema=schema, mode=mode,
            via=via, on_staged=on_staged,
        )  # fmt: skip
    waiting = _publish_waiting(dataset)
    if waiting is not None:
        return waiting
    for _attempt in range(ATTEMPTS):
        load = _start(dataset, actor, data, dry_run=False, **start)
        on_load(load)
        load = _run(load)
        if load.state != LoadState.CANCELLED:
            break
    if load.state == LoadState.FAILED:
        _remove_file(load)  # an API load is not loaded again from its file
        Load.objects.filter(pk=load.pk).update(file="")
    load = Load.objects.select_related("dataset", "version").get(pk=load.pk)
    return answer_for(load, rows, plan)


# --- Idempotency ------------------------------------------------------------------------


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 of what a call sent, for :func:`write`'s ``fingerprint``."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _write_once(
    dataset: Dataset,
    actor: Any,
    rows: Rows,
    *,
    mode: str | None,
    via: str,
    key: str,
    fingerprint: str,
) -> Answer:
    """Answer a call with an Idempotency-Key: the stored answer of the first call with
    that key (and the same body), or this call's answer, stored for the next time."""
    hours = settings.DATASETS_WRITE_KEY_HOURS
    ApiWrite.objects.filter(
        dataset=dataset, created_at__lt=timezone.now() - timedelta(hours=hours)
    ).delete()
    where = {"dataset": dataset, "user": actor, "token_prefix": via, "key": key}
    try:
        with transaction.atomic():
            call = ApiWrite.objects.create(**where, fingerprint=fingerprint)
    except IntegrityError:
        earlier = ApiWrite.objects.select_related("load__dataset", "load__version").get(**where)
        if earlier.fingerprint != fingerprint:
            return _refused(
                422,
                _(
                    "This Idempotency-Key was used for another call (other rows or another "
                    "mode) in the last %(hours)d hours. Use a new key for new rows."
                )
                % {"hours": hours},
            )
        if earlier.status is not None:
            return Answer(earlier.status, earlier.answer, replayed=True)
        abandoned = earlier.created_at < timezone.now() - timedelta(minutes=ABANDONED_MINUTES)
        if not abandoned:
            return _refused(
                409, _("A call with this Idempotency-Key is still running; ask again later.")
            )
        if earlier.load is not None:  # it died after its rows became a load
            answer = answer_for(earlier.load)
            _remember(earlier, answer)
            return Answer(answer.status, answer.body, replayed=True)
        earlier.delete()
        return _write_once(
            dataset, actor, rows, mode=mode, via=via, key=key, fingerprint=fingerprint
        )

    def remember_load(load: Load) -> None:
        ApiWrite.objects.filter(pk=call.pk).update(load=load)

    def remember_staged(answer: Answer) -> None:  # in the transaction that stages the rows
        _remember(call, answer)

    try:
        answer = _write(
            dataset, actor, rows, mode=mode, dry_run=False, via=via, on_load=remember_load,
            on_staged=remember_staged,
        )  # fmt: skip
    except BaseException:
        call.delete()  # nothing was answered: the same call may run again
        raise
    if answer.status == 503:  # nothing was done, "send them again": with the same key
        call.delete()
        return answer
    _remember(call, answer)
    return answer


def _remember(call: ApiWrite, answer: Answer) -> None:
    ApiWrite.objects.filter(pk=call.pk).update(status=answer.status, answer=answer.body)


# --- Gathering calls into batches -------------------------------------------------------
# A dataset with ``write_batch_seconds`` gathers its calls: each is converted and checked in
# the request against the current version (the same conversion, key checks and messages as
# an upload), and its typed rows are staged as a Parquet file in a folder of its own under
# the uploads, with a ``BatchedWrite`` row, in the transaction that queues the batch's
# task. At the due time ``publish_batches`` merges the calls in order and publishes them
# as one load of source ``api`` through ``services.publish``. See docs/decisions/0025.

#: A batch takes at most this many calls (and the bytes of an upload,
#: REGIOHUB_DATASETS_UPLOAD_MB); the next call closes it and starts another.
BATCH_MAX_CALLS = 1000
#: The staged rows of a call, in its folder under the uploads.
STAGED_FILE = "rows.parquet"
#: The column of a staged file with each row's number in the call's body.
ROW = "__row"
#: Who a batch of several people's calls was published by (in history, shown translated).
WRITE_API = translated_when_shown(gettext_noop("write API"))
UNFINISHED = (WriteBatchState.OPEN, WriteBatchState.CLOSED)


def batch_url(batch: WriteBatch) -> str:
    """Where a batch's state is followed (``GET``)."""
    return f"/api/v1/datasets/{batch.dataset.slug}/write-batches/{batch.pk}/"


def _signature(schema: list[dict[str, Any]], primary_key: list[str]) -> list[Any]:
    """What rows converted for ``schema`` need to stay valid: its columns' keys and types,
    in order, and the key columns."""
    return [[c["key"], c["type"]] for c in schema] + [list(primary_key)]


def _gather(
    dataset: Dataset,
    actor: Any,
    rows: Rows,
    plan: _Plan,
    data: bytes,
    *,
    current: DatasetVersion,
    schema: list[dict[str, Any]],
    mode: str,
    via: str,
    on_staged: Callable[[Answer], None],
) -> Answer:
    """Convert and check a call's rows now, and stage them in the dataset's open batch
    (a new one when there is none): 202 with the batch; or the refused rows, as a call
    loaded at once is refused, with nothing staged."""
    base = {"dataset": dataset.slug, "load": None, "mode": mode, "rows": len(rows.records)}
    name = uuid.uuid4().hex
    folder = _uploads_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        refused = _check(dataset, folder, data, rows, plan, current, schema, mode)
        if refused is not None:
            shutil.rmtree(folder, ignore_errors=True)
            return Answer(refused.status, {**base, **refused.body})
        return _stage(
            dataset, actor, rows, plan, file=f"{name}/{STAGED_FILE}", size=len(data),
            current=current, mode=mode, via=via, on_staged=on_staged,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _check(
    dataset: Dataset,
    folder: Path,
    data: bytes,
    rows: Rows,
    plan: _Plan,
    current: DatasetVersion,
    schema: list[dict[str, Any]],
    mode: str,
) -> Answer | None:
    """Convert the rows as their load would (``services._convert``: every value, empty
    and repeated keys) and, for an append, look for keys the current version holds; write
    the typed rows to ``folder``, or say why they are refused."""
    from regiohub.datasets import changes, services

    source = folder / "rows.ndjson"
    source.write_bytes(data)
    primary_key = list(current.primary_key)
    probe = Load(  # never saved: it tells the conversion what to read and how
        dataset=dataset,
        source=LoadSource.API,
        file=f"{folder.name}/{source.name}",
        filename=source.name,
        size=len(data),
        schema=schema,
        primary_key=primary_key,
        mode=mode,
    )
    converted = None
    try:
        row_number, converted = services._convert(probe)
        if mode == LoadMode.APPEND and primary_key:
            found = changes.compute(
                converted, mode=mode, schema=schema, primary_key=primary_key, previous=current
            )
            if found.refused:
                raise services._keys_taken(found, row_number, schema)
        table = converted if isinstance(converted, pa.Table) else converted.reader().read_all()
    except services._Refused as refused:
        return _refused(400, refused.message, _as_sent(refused.errors, rows, plan), refused.count)
    except services.TRANSIENT_ERRORS:
        log.warning("write API rows could not be checked", dataset=dataset.pk, exc_info=True)
        return _refused(503, _("These rows could not be checked now; send them again."))
    finally:
        services._unstage(converted)
        source.unlink(missing_ok=True)
    number = _row_number(rows)
    sent = pa.array([number(row_number(i)) for i in range(table.num_rows)], pa.int64())
    pq.write_table(table.append_column(ROW, sent), folder / STAGED_FILE)
    return None


def _stage(
    dataset: Dataset,
    actor: Any,
    rows: Rows,
    plan: _Plan,
    *,
    file: str,
    size: int,
    current: DatasetVersion,
    mode: str,
    via: str,
    on_staged: Callable[[Answer], None],
) -> Answer:
    """Add the call, whose rows are staged in ``file``, to the dataset's open batch."""
    from regiohub.datasets.tasks import publish_write_batch

    primary_key = list(current.primary_key)
    signature = _signature(current.schema, primary_key)
    limit = int(settings.DATASETS_UPLOAD_MB) * 1024 * 1024
    with transaction.atomic():
        # The dataset's lock: calls join or open a batch one at a time, and never while
        # the batch is being closed (publish_batches takes it too).
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        now = timezone.now()
        batch = (
            WriteBatch.objects.select_for_update()
            .filter(dataset=locked, state=WriteBatchState.OPEN, due_at__gt=now)
            .order_by("-pk")
            .first()
        )
        if batch is not None and (
            batch.mode != mode
            or _signature(batch.schema, batch.primary_key) != signature
            or batch.calls >= BATCH_MAX_CALLS
            or batch.size + size > limit
        ):
            # One mode and one set of columns per batch, and no endless batch: this one is
            # published now, before the batch this call opens.
            batch.due_at = now
            batch.save(update_fields=["due_at"])
            enqueue(publish_write_batch, batch.pk)
            batch = None
        if batch is None:
            seconds = locked.write_batch_seconds or dataset.write_batch_seconds
            batch = WriteBatch.objects.create(
                dataset=locked,
                mode=mode,
                schema=current.schema,
                primary_key=primary_key,
                due_at=now + timedelta(seconds=seconds),
                language=translation.get_language() or settings.LANGUAGE_CODE,
                created_at=now,
            )
            enqueue(publish_write_batch.using(run_after=batch.due_at), batch.pk)
        call = BatchedWrite.objects.create(
            batch=batch,
            number=batch.calls + 1,
            user=actor if getattr(actor, "is_authenticated", False) else None,
            token_prefix=via,
            file=file,
            rows=len(rows.records),
            size=size,
            columns={column["name"]: sent for sent, column in plan.by_sent.items()},
            created_at=now,
        )
        WriteBatch.objects.filter(pk=batch.pk).update(
            calls=F("calls") + 1, rows=F("rows") + call.rows, size=F("size") + size
        )
        batch.dataset = locked
        url = batch_url(batch)
        answer = Answer(
            202,
            {
                "dataset": locked.slug,
                "mode": mode,
                "rows": call.rows,
                "batch": batch.pk,
                "call": call.number,
                "state": WriteBatchState.OPEN.value,
                "due_at": timezone.localtime(batch.due_at).isoformat(),
                "status_url": url,
                "message": _(
                    "The rows fit and are kept. They are published together with the other "
                    "calls of this batch, as one version, when the batch is due. Follow it "
                    "at %(url)s."
                )
                % {"url": url},
            },
        )
        on_staged(answer)  # an Idempotency-Key's answer, in the same transaction
    return answer


def _publish_waiting(dataset: Dataset) -> Answer | None:
    """Before a call is loaded at once (the dataset no longer gathers calls), publish the
    calls it gathered before, so that rows are published in the order they were sent."""
    last = (
        WriteBatch.objects.filter(dataset=dataset, state__in=UNFINISHED)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if last is None:
        return None
    try:
        publish_batches(last)
    except Exception:
        log.warning("earlier write API batch not published", dataset=dataset.pk, exc_info=True)
        return _refused(
            503,
            _(
                "Rows sent earlier to this dataset are still being published; send these "
                "rows again in a minute."
            ),
        )
    return None


# --- Publishing a batch -----------------------------------------------------------------


class BatchRefused(Exception):
    """Why a batch is refused: a message, and the rows named by call and row."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None,
                 count: int = 0) -> None:  # fmt: skip
        super().__init__(message)
        self.message = message
        self.errors = (errors or [])[:MAX_ERRORS]
        self.count = count or len(errors or [])


class _Calls:
    """Which call, and which row of its body, each merged row came from."""

    def __init__(self, calls: list[BatchedWrite], starts: list[int]) -> None:
        self.calls = calls
        self.starts = starts
        self._rows: dict[int, list[int]] = {}

    def locate(self, index: int) -> tuple[BatchedWrite, int]:
        at = max(0, bisect.bisect_right(self.starts, index) - 1)
        call = self.calls[at]
        if call.pk not in self._rows:
            table = pq.read_table(_uploads_dir() / call.file, columns=[ROW])
            self._rows[call.pk] = table[ROW].to_pylist()
        return call, self._rows[call.pk][index - self.starts[at]]

    def error(self, index: int, column: str, value: str, reason: str) -> dict[str, Any]:
        call, row = self.locate(index)
        return {
            "call": call.number,
            "row": row,
            "column": _sent_columns(call, column),
            "value": value,
            "reason": reason,
        }

    def refusal(self, refused: Any) -> BatchRefused:
        """A load's refusal (rows numbered by their place in the batch) by call and row."""
        errors = [
            self.error(int(e["row"]), str(e.get("column", "")), e.get("value", ""), e["reason"])
            if isinstance(e.get("row"), int)
            else e
            for e in refused.errors
        ]
        return BatchRefused(refused.message, errors, refused.count)


def _sent_columns(call: BatchedWrite, columns: str) -> str:
    """Column names (one, or the key columns "Segment, Uur") as ``call`` sent them."""
    names = call.columns or {}
    if not columns or columns in names:
        return names.get(columns, columns)
    return ", ".join(names.get(name, name) for name in columns.split(", "))


@dataclass
class _Merged:
    rows: Any  # ingest.StagedRows: what is published
    calls: _Calls
    #: Rows of an upsert that a later call of the batch sent again (the later one wins).
    superseded: int = 0


def publish_batches(batch_id: int) -> str:
    """Publish batch ``batch_id`` and, first, every batch of its dataset opened before it
    that is not published yet: rows are published in the order they were sent. Each batch
    is published once however often this runs (the task runs it again after a crash).
    Returns the batch's state."""
    dataset_id = WriteBatch.objects.filter(pk=batch_id).values_list("dataset_id", flat=True).first()
    if dataset_id is None:
        return "gone"
    waiting = (
        WriteBatch.objects.filter(dataset_id=dataset_id, pk__lte=batch_id, state__in=UNFINISHED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in list(waiting):
        _publish_batch(pk)
    return WriteBatch.objects.get(pk=batch_id).state


def _publish_batch(pk: int) -> None:
    with transaction.atomic():
        # The dataset first, as a call that stages rows does: no call joins the batch
        # once it is closed, and none is half-way in when it closes.
        dataset_id = WriteBatch.objects.values_list("dataset_id", flat=True).get(pk=pk)
        Dataset.objects.select_for_update().get(pk=dataset_id)
        batch = WriteBatch.objects.select_for_update().select_related("dataset").get(pk=pk)
        if batch.is_final:
            return
        if batch.state == WriteBatchState.OPEN:
            batch.state, batch.closed_at = WriteBatchState.CLOSED, timezone.now()
        batch.attempts += 1
        batch.save(update_fields=["state", "closed_at", "attempts"])
    calls = list(batch.writes.select_related("user").order_by("number"))
    folder = _uploads_dir() / batch.folder
    with translation.override(batch.language or settings.LANGUAGE_CODE):
        try:
            merged: _Merged | BatchRefused
            try:
                merged = _merge(batch, calls, folder)
            except BatchRefused as refused:
                merged = refused
            _finish_batch(pk, calls, merged)
        except Exception as exc:
            if batch.attempts < int(settings.TASK_MAX_ATTEMPTS):
                raise  # the task tries again (a busy database, another writer first)
            # The last try: refused rather than waited for, so the batches after it (which
            # are published after it) are not held up for ever.
            log.error("write API batch refused after its last try", batch=pk, exc_info=True)
            _finish_batch(
                pk,
                calls,
                BatchRefused(
                    _(
                        "This batch could not be published in %(tries)d tries (%(problem)s): "
                        "nothing was loaded. Send its rows again."
                    )
                    % {"tries": batch.attempts, "problem": type(exc).__name__}
                ),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # the merged rows; the calls' stay


def _merge(batch: WriteBatch, calls: list[BatchedWrite], folder: Path) -> _Merged:
    """The rows of the batch's calls in order, in one staged file; for an upsert only the
    last row sent for each key. :class:`BatchRefused` for an append that sends a key twice
    (in two calls: within one call it was refused when it came)."""
    from regiohub.datasets import services
    from regiohub.datasets.ingest import StageWriter, new_folder

    key = list(batch.primary_key)
    arrow = pa.schema([(c["key"], services._ARROW_TYPES[c["type"]]) for c in batch.schema])
    folder.mkdir(parents=True, exist_ok=True)
    staging = new_folder(folder)  # and the merged rows of an earlier, killed run go
    writer = StageWriter(staging, arrow, key=key)
    starts = []
    try:
        for call in calls:
            path = _uploads_dir() / call.file
            if not path.is_file():
                raise BatchRefused(
                    _(
                        "The rows of call %(call)d of this batch are no longer kept: nothing "
                        "was loaded. Send the rows of the batch again."
                    )
                    % {"call": call.number}
                )
            starts.append(writer.rows)
            writer.write(pq.read_table(path, columns=arrow.names))
        merged = writer.finish()
    except BaseException:
        writer.abort()
        raise
    located = _Calls(calls, starts)
    if not key or merged.num_rows < 2 or merged.keys_in_order:
        return _Merged(merged, located)
    if batch.mode == LoadMode.APPEND:
        errors, count = _repeated(merged, key, located, batch.schema)
        if count:
            raise BatchRefused(
                _(
                    "%(count)d rows have a key that an earlier call of this batch sent too, "
                    "and a key is unique: nothing was loaded. Send them with mode=upsert to "
                    "update those rows."
                )
                % {"count": count},
                errors,
                count,
            )
        return _Merged(merged, located)
    kept = _keep_last(merged, key, staging)
    return _Merged(kept, located, superseded=merged.num_rows - kept.num_rows)


def _repeated(
    merged: Any, key: list[str], located: _Calls, schema: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """The merged rows whose key an earlier row has (the first MAX_ERRORS, by call and
    row), and how many there are."""
    from regiohub.datasets import services

    found, count = services.repeated_key_rows(merged, key)
    names = {c["key"]: c["name"] for c in schema}
    column = ", ".join(names.get(k, k) for k in key)
    errors = []
    for index, first, *key_values in found:
        earlier, row = located.locate(int(first))
        reason = (
            _("An earlier row has this key too; a key must be unique.")
            + " "
            + _("The earlier row is row %(row)d of call %(call)d of this batch.")
            % {"row": row, "call": earlier.number}
        )
        errors.append(
            located.error(
                int(index), column, ", ".join(services._key_text(v) for v in key_values), reason
            )
        )
    return errors, count


def _keep_last(merged: Any, key: list[str], staging: Path) -> Any:
    """The merged rows of an upsert with only the last row sent for each key (later calls
    win), in the order they were sent, staged beside them."""
    from regiohub.datasets import query
    from regiohub.datasets.ingest import INDEX, StageWriter
    from regiohub.datasets.ingest.staging import FILE_BATCH_ROWS

    keys = ", ".join(query.quote(k) for k in key)
    columns = ", ".join(query.quote(c) for c in merged.column_names)
    con = query.connection().cursor()
    writer = StageWriter(staging, merged.schema, key=key, name="kept")
    try:
        con.register("staged", merged.reader([*merged.column_names, INDEX]))
        kept = con.sql(
            f"SELECT {columns} FROM staged QUALIFY row_number() OVER "  # noqa: S608 - schema keys, quoted
            f"(PARTITION BY {keys} ORDER BY {INDEX} DESC) = 1 ORDER BY {INDEX}"
        ).to_arrow_reader(FILE_BATCH_ROWS)
        writer.write_batches(iter(kept))
        return writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        con.close()


def _finish_batch(pk: int, calls: list[BatchedWrite], merged: _Merged | BatchRefused) -> None:
    """Publish the merged rows as one load and one version (or refuse the batch), under
    the dataset's lock, and end the batch: all in one transaction."""
    from regiohub.datasets import services

    with transaction.atomic():
        dataset_id = WriteBatch.objects.values_list("dataset_id", flat=True).get(pk=pk)
        dataset = Dataset.objects.select_for_update().get(pk=dataset_id)
        batch = WriteBatch.objects.select_for_update().get(pk=pk)
        if batch.state != WriteBatchState.CLOSED:
            return  # published by another run meanwhile
        current = dataset.versions.order_by("-number").first()
        people = {call.user_id for call in calls}
        actor = calls[0].user if len(people) == 1 and calls else None
        load = Load.objects.create(
            dataset=dataset,
            language=batch.language,
            source=LoadSource.API,
            state=LoadState.LOADING,
            filename=f"api-batch-{batch.pk}",
            size=batch.size,
            schema=current.schema if current else batch.schema,
            primary_key=batch.primary_key,
            mode=batch.mode,
            rows_total=batch.rows,
            detected={"format": "batch", "encoding": "", "via": "api", "batch": batch.pk},
            created_by=calls[0].user if calls else None,
            started_at=timezone.now(),
        )
        history.record(
            load,
            Action.LOAD_STARTED,
            actor=actor,
            actor_label=None if actor else WRITE_API,
            organisation=dataset.owner_id,
            after={
                "source": "api",
                "batch": batch.pk,
                "rows": batch.rows,
                "mode": batch.mode,
                # An upsert's rows that a later call of the batch sent again (it wins).
                "superseded": getattr(merged, "superseded", 0),
                "calls": [
                    {
                        "call": call.number,
                        "rows": call.rows,
                        "token": call.token_prefix,
                        "user": call.user_id,
                        "sent_at": call.created_at.isoformat(),
                    }
                    for call in calls
                ],
            },
        )
        refused = merged if isinstance(merged, BatchRefused) else None
        version = None
        if refused is None and (
            current is None
            or _signature(current.schema, current.primary_key)
            != _signature(batch.schema, batch.primary_key)
        ):
            refused = BatchRefused(
                _(
                    "The columns or the key of this dataset changed after these rows were "
                    "sent (version %(version)s): nothing was loaded. Send the rows again with "
                    "the new columns."
                )
                % {"version": current.number if current else "-"}
            )
        if refused is None:
            assert isinstance(merged, _Merged) and current is not None
            try:
                version = services.publish(
                    dataset,
                    merged.rows,
                    mode=batch.mode,
                    schema=current.schema,
                    primary_key=list(batch.primary_key),
                    actor=actor,
                    actor_label=WRITE_API,
                    summary=_("%(rows)d rows from %(calls)d write API calls (batch %(batch)d)")
                    % {"rows": batch.rows, "calls": len(calls), "batch": batch.pk},
                )
            except services.KeysTaken as taken:
                refused = merged.calls.refusal(
                    services._keys_taken(taken.found, lambda index: index, current.schema)
                )
            except CommitFailedError:
                raise  # another writer committed first: the task tries again
            except DeltaError as exc:
                refused = BatchRefused(_("The rows could not be stored: %(e)s") % {"e": exc})
        if refused is not None:
            services._finish(
                load,
                LoadState.FAILED,
                refused.message,
                errors=refused.errors,
                error_count=refused.count,
            )
            batch.state = WriteBatchState.REFUSED
            batch.message = refused.message[:500]
            batch.errors, batch.error_count = refused.errors, refused.count
        else:
            assert isinstance(merged, _Merged) and version is not None
            services._finish(load, LoadState.DONE, version=version, rows_done=merged.rows.num_rows)
            batch.state = WriteBatchState.PUBLISHED
        batch.load, batch.finished_at = load, timezone.now()
        batch.save()
        folders = [(_uploads_dir() / call.file).parent for call in calls]
        transaction.on_commit(lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders])
