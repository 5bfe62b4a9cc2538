"""Reading JSON (a list of objects) and NDJSON (one object per line) into string columns.

A JSON file is either a list of objects, or an object with exactly one list of objects
in it (`{"data": [...], "meta": {...}}`). Columns are the keys in the order they are
first seen; a key missing from a record is an empty cell. Nested values (objects and
lists) are kept as JSON text in a text column: nothing is lost, and the data steward
sees what is in them. Row numbers are record numbers, starting at 1.
"""

from __future__ import annotations

import json

import pyarrow as pa
from django.utils.translation import gettext as _

from .columns import check_column_names
from .errors import IngestError
from .sniff import decode, detect_encoding
from .types import RawTable, ReadOptions


def read_json(data: bytes, options: ReadOptions) -> RawTable:
    encoding = options.encoding or detect_encoding(data)
    text = decode(data, encoding)
    if not text.strip():
        raise IngestError(_("The file is empty."))
    try:
        document = json.loads(text)
        records = _records(document)
        return _to_raw(records, "json", encoding, options, skipped=())
    except json.JSONDecodeError as error:
        raise _invalid(error, error.lineno) from None
    except RecursionError:
        raise _too_deep() from None


def read_ndjson(data: bytes, options: ReadOptions) -> RawTable:
    encoding = options.encoding or detect_encoding(data)
    text = decode(data, encoding)
    records: list[dict] = []
    skipped: list[int] = []
    first = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if records:
                skipped.append(number)
            continue
        first = first or number
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise _invalid(error, number) from None
        except RecursionError:
            raise _too_deep(number) from None
        if not isinstance(record, dict):
            raise IngestError(
                _("Line %(line)s is not a JSON object ({…}); every line must hold one record.")
                % {"line": number}
            )
        records.append(record)
    if not records:
        raise IngestError(_("The file is empty."))
    try:
        return _to_raw(records, "ndjson", encoding, options, skipped=tuple(skipped), first=first)
    except RecursionError:
        raise _too_deep() from None


def _invalid(error: json.JSONDecodeError, line: int) -> IngestError:
    return IngestError(
        _("The file is not valid JSON: %(problem)s on line %(line)s, column %(column)s.")
        % {"problem": error.msg, "line": line, "column": error.colno}
    )


def _too_deep(line: int | None = None) -> IngestError:
    """Objects or lists inside each other so many times that Python cannot follow them:
    no data file is like that, and reading it again would fail again."""
    if line is not None:
        return IngestError(
            _(
                "The JSON on line %(line)s is nested too deeply (objects or lists inside each "
                "other thousands of times); we cannot read it as a table."
            )
            % {"line": line}
        )
    return IngestError(
        _(
            "The JSON file is nested too deeply (objects or lists inside each other thousands "
            "of times); we cannot read it as a table."
        )
    )


def _records(document: object) -> list[dict]:
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        if len(lists) != 1:
            raise IngestError(
                _(
                    "The JSON file is an object; we expected a list of records, or an object "
                    "with exactly one list of records in it (it has %(count)s)."
                )
                % {"count": len(lists)}
            )
        document = lists[0]
    if not isinstance(document, list):
        raise IngestError(_("The JSON file does not hold a list of records."))
    if not document:
        raise IngestError(_("The JSON file holds an empty list: there are no records."))
    for number, record in enumerate(document, start=1):
        if not isinstance(record, dict):
            raise IngestError(
                _("Record %(number)s of the JSON list is not an object ({…}).") % {"number": number}
            )
    return document


def _to_raw(
    records: list[dict],
    format: str,
    encoding: str,
    options: ReadOptions,
    skipped: tuple[int, ...],
    first: int = 1,
) -> RawTable:
    names: dict[str, None] = {}
    for record in records:
        for name in record:
            names.setdefault(name, None)
    checked = check_column_names(list(names))
    columns = {
        name: pa.array([_as_text(record.get(name)) for record in records], pa.string())
        for name in names
    }
    return RawTable(
        table=pa.table(list(columns.values()), names=checked),
        format=format,
        encoding=encoding,
        header_row=0,
        decimal=options.decimal,
        first_row=first,
        skipped_rows=skipped,
    )


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return text if text.strip() else None
