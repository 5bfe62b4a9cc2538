"""The write API: ``POST /api/v1/datasets/{slug}/rows/`` appends or upserts rows.

The body is JSON (an array of objects, or ``{"rows": [...]}``), NDJSON (one object per
line, ``application/x-ndjson``) or CSV (``text/csv``, a header row first). This module
reads and checks the body and the parameters; ``services.write_rows`` loads the rows as
an upload's are loaded (``datasets.writing``). For a write token, or a logged-in data
steward, of the dataset's owner.

A dataset that gathers calls (``write_batch_seconds``) answers 202 with a batch;
``GET /api/v1/datasets/{slug}/write-batches/{id}/`` (:func:`batch_status`) shows it, and
later the version it became or why it was refused.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.request import Request

from regiohub.core import access
from regiohub.datasets import services
from regiohub.datasets.api.serializers import WriteBatchSerializer
from regiohub.datasets.models import Dataset, WriteBatch
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.writing import MAX_ERRORS, Rows, fingerprint

#: Body media types and what they are.
KINDS = {
    "application/json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "|": "|", "tab": "\t"}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}
IDEMPOTENCY_KEY_MAX = 200


def limit_bytes() -> int:
    return int(settings.DATASETS_WRITE_MB) * 1024 * 1024


class RawBody(BaseParser):
    """The body as bytes, at most one byte more than the write API takes."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read(limit_bytes() + 1) if stream is not None else b""


#: What the write API's address parses a POST with (forms only to refuse them properly).
PARSERS = [FormParser, MultiPartParser, RawBody]


class BadBody(Exception):
    def __init__(self, status: int, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


def _errors(status: int, message: str, parameter: str = "") -> JsonResponse:
    return JsonResponse(
        {"errors": [{"parameter": parameter, "message": message}]},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _row_errors(errors: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse(
        {
            "refused": True,
            "message": _("%(count)d errors: nothing was loaded.") % {"count": len(errors)},
            "errors": errors[:MAX_ERRORS],
            "error_count": len(errors),
        },
        status=400,
        json_dumps_params={"ensure_ascii": False},
    )


# --- Reading the body -------------------------------------------------------------------


class RowErrors(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("rows")
        self.errors = errors


def _not_an_object(number: int, value: Any) -> dict[str, Any]:
    return {
        "row": number,
        "column": "",
        "value": json.dumps(value, ensure_ascii=False)[:200],
        "reason": _("a row must be a JSON object ({…}) of column names and values"),
    }


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _load_json(text: str, line: int | None = None) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        where = line if line is not None else error.lineno
        raise BadBody(
            400,
            _("The body is not valid JSON: %(problem)s on line %(line)s, column %(column)s.")
            % {"problem": error.msg, "line": where, "column": error.colno},
        ) from None
    except ValueError as error:  # NaN, Infinity
        raise BadBody(
            400, _("The body holds %(value)s, which JSON does not allow.") % {"value": error}
        ) from None
    except RecursionError:
        raise BadBody(400, _("The JSON is nested too deeply to be rows.")) from None


def _from_json(text: str) -> Rows:
    document = _load_json(text)
    if isinstance(document, dict) and isinstance(document.get("rows"), list):
        document = document["rows"]
    if not isinstance(document, list):
        raise BadBody(400, _('Send a JSON array of rows (objects), or an object {"rows": [...]}.'))
    errors = [
        _not_an_object(number, item)
        for number, item in enumerate(document, 1)
        if not isinstance(item, dict)
    ]
    if errors:
        raise RowErrors(errors)
    return Rows(records=document, row_numbers=list(range(1, len(document) + 1)))


def _from_ndjson(text: str) -> Rows:
    records, numbers, errors = [], [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        item = _load_json(line, number)
        if isinstance(item, dict):
            records.append(item)
            numbers.append(number)
        else:
            errors.append(_not_an_object(number, item))
    if errors:
        raise RowErrors(errors)
    return Rows(records=records, row_numbers=numbers)


def _from_csv(text: str, delimiter: str, decimal: str) -> Rows:
    if not delimiter:
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t", "|"), key=first.count)
        delimiter = delimiter if first.count(delimiter) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        lines = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise BadBody(
            400,
            _("The CSV cannot be read on line %(line)d: %(problem)s.")
            % {"line": reader.line_num, "problem": error},
        ) from None
    lines = [(number, row) for number, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise BadBody(400, _("The CSV is empty: send a header row and rows."))
    header = [name.strip() for name in lines[0][1]]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice or not all(header):
        raise BadBody(
            400,
            _("Every column of the CSV header needs its own name (twice or empty: %(names)s).")
            % {"names": ", ".join(f"“{n}”" for n in twice) or "“”"},
        )
    records, numbers, errors = [], [], []
    for index, (_line, row) in enumerate(lines[1:], 2):
        if len(row) != len(header):
            errors.append(
                {
                    "row": index,
                    "column": "",
                    "value": delimiter.join(row)[:200],
                    "reason": _("the row has %(found)d values and the header %(expected)d")
                    % {"found": len(row), "expected": len(header)},
                }
            )
            continue
        cells = zip(header, row, strict=True)
        records.append({name: (value if value.strip() else None) for name, value in cells})
        numbers.append(index)
    if errors:
        raise RowErrors(errors)
    return Rows(
        records=records,
        row_numbers=numbers,
        decimal=decimal or ("," if delimiter == ";" else "."),
        columns=header,
    )


def parse(body: bytes, kind: str, *, delimiter: str = "", decimal: str = "") -> Rows:
    """The rows in ``body`` (of media type ``kind``); :class:`BadBody` or
    :class:`RowErrors` when it holds none that can be loaded."""
    if not body.strip():
        raise BadBody(400, _("The body is empty: send the rows."))
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadBody(
            400,
            _("The body is not UTF-8 text (byte %(position)d). Send UTF-8.")
            % {"position": error.start + 1},
        ) from None
    if kind == "json":
        return _from_json(text)
    if kind == "ndjson":
        return _from_ndjson(text)
    return _from_csv(text, delimiter, decimal)


# --- The call ---------------------------------------------------------------------------


def _flag(request: Request, name: str) -> bool:
    value = str(request.query_params.get(name, "")).strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadBody(400, _("%(name)s must be 1 or 0.") % {"name": name}, name)


def _choice(request: Request, name: str, allowed: dict[str, str] | tuple[str, ...]) -> str:
    value = str(request.query_params.get(name, ""))
    if value == "":
        return ""
    if value not in allowed:
        raise BadBody(
            400,
            _("%(name)s must be one of %(values)s.")
            % {"name": name, "values": ", ".join(repr(v) for v in allowed)},
            name,
        )
    return allowed[value] if isinstance(allowed, dict) else value


def _idempotency_key(request: Request) -> str:
    key = str(request.META.get("HTTP_IDEMPOTENCY_KEY", "")).strip()
    if key and (len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable()):
        raise BadBody(
            400,
            _("The Idempotency-Key must be at most %(max)d printable ASCII characters.")
            % {"max": IDEMPOTENCY_KEY_MAX},
            "Idempotency-Key",
        )
    return key


def write_rows(request: Request, dataset: Dataset) -> HttpResponse:
    """Answer a POST of rows to ``dataset`` (which the caller may see)."""
    user = request.user
    if dataset.owner_id not in access.organisation_ids(user, MANAGE_DATA):
        raise exceptions.PermissionDenied(
            _(
                "You may not write to this dataset: that needs the role of data steward of "
                "%(owner)s, and a token that may write there."
            )
            % {"owner": dataset.owner.display_name}
        )
    limit_mb = int(settings.DATASETS_WRITE_MB)
    too_large = _("The body is larger than %(mb)d MB: send the rows in smaller calls.") % {
        "mb": limit_mb
    }
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit_bytes():
        return _errors(413, too_large)
    if length == 0:
        return _errors(400, _("The body is empty: send the rows."))
    encoding = str(request.META.get("HTTP_CONTENT_ENCODING", "identity")).strip().lower()
    if encoding not in ("", "identity"):
        return _errors(415, _("Send the body without Content-Encoding (not compressed)."))
    media_type = str(request.content_type or "").split(";")[0].strip().lower()
    kind = KINDS.get(media_type)
    if kind is None:
        return _errors(
            415,
            _("Send the rows as application/json, application/x-ndjson or text/csv."),
            "Content-Type",
        )
    try:
        mode = _choice(request, "mode", ("append", "upsert"))
        dry_run = _flag(request, "dry_run")
        delimiter = _choice(request, "delimiter", DELIMITERS)
        decimal = _choice(request, "decimal", (".", ","))
        key = _idempotency_key(request)
        body = request.data
        body = body if isinstance(body, bytes) else b""
        if len(body) > limit_bytes():
            return _errors(413, too_large)
        rows = parse(body, kind, delimiter=delimiter, decimal=decimal)
    except BadBody as bad:
        return _errors(bad.status, bad.message, bad.parameter)
    except RowErrors as refused:
        return _row_errors(refused.errors)
    token = request.auth
    via = str(getattr(token, "prefix", "") or "")
    answer = services.write_rows(
        dataset,
        user,
        rows,
        mode=mode or None,
        dry_run=dry_run,
        via=via,
        idempotency_key=key,
        fingerprint=fingerprint(kind, mode, delimiter, decimal, body) if key else "",
    )
    response = JsonResponse(
        answer.body, status=answer.status, json_dumps_params={"ensure_ascii": False}
    )
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    if answer.status == 201:
        response["Location"] = f"/api/v1/datasets/{dataset.slug}/versions/{answer.body['version']}/"
    elif answer.status == 202 and answer.body.get("status_url"):
        response["Location"] = answer.body["status_url"]  # the batch the rows wait in
    return response


def batch_status(request: Request, dataset: Dataset, batch_id: str) -> HttpResponse:
    """A batch of write API calls to ``dataset`` (which the caller may see): for the data
    stewards of its owner and for the people who sent one of its calls; 404 for others."""
    user = request.user
    batches = WriteBatch.objects.filter(dataset=dataset).select_related(
        "dataset__owner", "load__version__dataset__owner"
    )
    managed = access.organisation_ids(user, MANAGE_DATA)
    if dataset.owner_id not in managed:
        batches = batches.filter(writes__user=user).distinct()
    text = str(batch_id)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text[:13]) < 2**63:
        raise Http404
    batch = batches.filter(pk=int(text)).prefetch_related("writes").first()
    if batch is None:
        raise Http404
    data = WriteBatchSerializer(
        batch, context={"request": request, "managed_owner_ids": managed}
    ).data
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


# --- How the OpenAPI schema describes it --------------------------------------------------

ROW_ERROR = {
    "row": 3,
    "column": "car",
    "value": "veel",
    "reason": "“veel” is not a number with a decimal point (such as 1234.56)",
}

SCHEMA = extend_schema(
    summary="Append or upsert rows",
    auth=[{"apiToken": []}, {"cookieAuth": []}],
    description=(
        "Adds rows to the dataset (`mode=append`), or adds and updates them by the dataset's "
        "key (`mode=upsert`; the default when the dataset has key columns), as a new "
        "version. The rows go through the same checks as an uploaded file: columns are "
        "matched by their key or their name (an unknown column, or a missing column that "
        "may not be empty, refuses the call), every value must fit its column, and a key "
        "is a promise (appending a row whose key the dataset holds is refused). Nothing is "
        "loaded unless every row fits. The body is JSON (an array of objects, or "
        '`{"rows": [...]}`), NDJSON (`application/x-ndjson`) or CSV (`text/csv`, a header '
        "row first; `delimiter` and `decimal` as parameters, by default detected and `.` "
        "(`,` with `;`)). Numbers in JSON are plain JSON numbers; dates and times are ISO "
        "8601 (`2025-12-31T14:00:00Z`) or Belgian (`31/12/2025 14:00`). At most "
        "`REGIOHUB_DATASETS_WRITE_MB` MB (413 above). For a write token, or a logged-in "
        "data steward, of the dataset's owner. With an `Idempotency-Key` header, the same "
        "call sent again gets the first call's answer (header `Idempotent-Replayed: "
        "true`) instead of loading twice; another body under the same key is a 422. "
        "A dataset whose `write_batch_seconds` is not 0 gathers calls: each call is "
        "converted and checked as above (a refused call is answered as above and kept "
        "nowhere), then kept and answered 202 with its `batch`, `due_at` and `status_url`; "
        "when the batch is due, all its calls are published in the order they came as one "
        "version (upsert: the last row sent for a key wins; append: a key sent in two "
        "calls refuses the whole batch). A call with another mode than the open batch's "
        "closes that batch (it is published at once) and opens a new one."
    ),
    parameters=[
        OpenApiParameter(
            "mode",
            OpenApiTypes.STR,
            enum=["append", "upsert"],
            description="Default: upsert when the dataset has key columns, else append.",
        ),
        OpenApiParameter(
            "dry_run",
            OpenApiTypes.BOOL,
            description="Only say what the call would do (counts and the first changed "
            "rows); nothing is written.",
        ),
        OpenApiParameter(
            "delimiter",
            OpenApiTypes.STR,
            enum=[",", ";", "tab", "|"],
            description="CSV only. Default: detected from the header row.",
        ),
        OpenApiParameter(
            "decimal",
            OpenApiTypes.STR,
            enum=[".", ","],
            description="CSV only: the decimal separator. Default: `,` when the delimiter "
            "is `;`, else `.`.",
        ),
        OpenApiParameter(
            "Idempotency-Key",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="Up to 200 printable ASCII characters, new for each new call; kept "
            "for REGIOHUB_DATASETS_WRITE_KEY_HOURS hours.",
        ),
    ],
    request={
        "application/json": {"type": "array", "items": {"type": "object"}},
        "application/x-ndjson": OpenApiTypes.STR,
        "text/csv": OpenApiTypes.STR,
    },
    responses={
        201: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="The new version and what it changed.",
            examples=[
                OpenApiExample(
                    "Published",
                    value={
                        "dataset": "verkeerstellingen",
                        "load": 12,
                        "mode": "upsert",
                        "rows": 2,
                        "version": 5,
                        "counts": {"added": 1, "updated": 1, "unchanged": 0, "removed": 0},
                        "row_count": 1201,
                        "summary": "2 rows from api-rh_k3x9a0pq.ndjson",
                    },
                )
            ],
        ),
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="A dry run's answer."),
        202: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Accepted. The dataset gathers calls: the rows fit and wait in "
            "`batch` until `due_at` (follow `status_url`); or the load finishes in the "
            "background (follow `load`).",
            examples=[
                OpenApiExample(
                    "Gathered",
                    value={
                        "dataset": "verkeerstellingen",
                        "mode": "upsert",
                        "rows": 2,
                        "batch": 31,
                        "call": 4,
                        "state": "open",
                        "due_at": "2026-01-03T09:05:00+01:00",
                        "status_url": "/api/v1/datasets/verkeerstellingen/write-batches/31/",
                        "message": "The rows fit and are kept. …",
                    },
                )
            ],
        ),
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Refused, nothing loaded: `message`, and `errors` naming each row, "
            "column and value with the reason (or the parameter that is wrong).",
            examples=[
                OpenApiExample(
                    "Refused",
                    value={
                        "refused": True,
                        "message": "1 errors: nothing was loaded.",
                        "errors": [ROW_ERROR],
                        "error_count": 1,
                    },
                )
            ],
        ),
        401: OpenApiResponse(OpenApiTypes.OBJECT, description="No valid token or login."),
        403: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="A read token, or no right to write to this dataset.",
        ),
        404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such dataset (for you)."),
        409: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="The dataset has no version yet, or the same Idempotency-Key is "
            "still running, or other writes kept overtaking this one.",
        ),
        413: OpenApiResponse(OpenApiTypes.OBJECT, description="The body is too large."),
        415: OpenApiResponse(OpenApiTypes.OBJECT, description="Another media type."),
        422: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="The Idempotency-Key was used for another body.",
        ),
        503: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="A dry run, or the check of rows to gather, could not be done now; "
            "send the call again.",
        ),
    },
)

BATCH_SCHEMA = extend_schema(
    summary="A batch of write API calls",
    auth=[{"apiToken": []}, {"cookieAuth": []}],
    description=(
        "The calls a dataset that gathers write API calls (`write_batch_seconds`) keeps "
        "until the batch is due: its `state` (`open`: taking calls until `due_at`; "
        "`closed`: being published; `published`: `version` is the version it became, with "
        "its counts; `refused`: `message`, and `errors` naming each row by `call` and "
        "`row` as sent). For the data stewards of the dataset's owner and for the people "
        "who sent one of its calls; 404 for everyone else."
    ),
    parameters=[
        OpenApiParameter(
            "batch_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The batch."
        )
    ],
    responses={
        200: WriteBatchSerializer,
        401: OpenApiResponse(OpenApiTypes.OBJECT, description="No valid token or login."),
        404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such batch (for you)."),
    },
)
