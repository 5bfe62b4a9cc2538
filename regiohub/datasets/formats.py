"""Rows as the formats people download them in: CSV (text a spreadsheet will not run as a
formula), NDJSON and JSON, streamed batch by batch. Shared by the query API and the
downloads of whole versions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from regiohub.datasets.ingest import safe_for_spreadsheet


def json_value(value: Any) -> Any:
    """A value as JSON holds it: dates and times in ISO 8601, NaN as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def csv_stream(columns: list[str], batches: Iterable[Any]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for batch in batches:
        for row in batch.to_pylist():
            writer.writerow(
                [
                    safe_for_spreadsheet(v) if isinstance(v, str) else json_value(v)
                    for v in row.values()
                ]
            )
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
    yield out.getvalue().encode()


def _objects(batch: Any) -> list[str]:
    return [
        json.dumps({k: json_value(v) for k, v in row.items()}, ensure_ascii=False)
        for row in batch.to_pylist()
    ]


def ndjson_stream(batches: Iterable[Any]) -> Iterator[bytes]:
    for batch in batches:
        yield "".join(text + "\n" for text in _objects(batch)).encode()


def json_array_stream(batches: Iterable[Any]) -> Iterator[bytes]:
    yield b"["
    first = True
    for batch in batches:
        texts = _objects(batch)
        if texts:
            yield (("" if first else ",") + ",".join(texts)).encode()
            first = False
    yield b"]"
