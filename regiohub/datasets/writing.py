"""Rows written through the API: the same load path as an upload, in the request.

``services.write_rows`` is the door; this module does the work. The rows sent (already
parsed from JSON, NDJSON or CSV by ``datasets.api.writes``) are matched to the current
version's columns (by the column's key or its name), written as an NDJSON file and loaded
as a :class:`Load` of source ``api`` with the current version's columns and key: the
conversion, the key checks and the publishing are those of an upload
(``services.execute`` and ``services.dry_run``), so a call is refused or published exactly
as a file with the same rows would be. The answer names the rows and columns as they were
sent. See docs/datasets.md ("The write API") and docs/decisions/0025.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.tasks import enqueue
from regiohub.datasets.events import Action
from regiohub.datasets.models import (
    ApiWrite,
    Dataset,
    DatasetVersion,
    Load,
    LoadMode,
    LoadSource,
    LoadState,
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

    try:
        answer = _write(
            dataset, actor, rows, mode=mode, dry_run=False, via=via, on_load=remember_load
        )
    except BaseException:
        call.delete()  # nothing was answered: the same call may run again
        raise
    _remember(call, answer)
    return answer


def _remember(call: ApiWrite, answer: Answer) -> None:
    ApiWrite.objects.filter(pk=call.pk).update(status=answer.status, answer=answer.body)
