"""Real Telraam months as the CSV a data steward exports and uploads: one row per segment
and hour (``hour`` in UTC, ISO 8601), the counts per mode and v85, from the shared
Telraam files (``shared/data/telraam``), and "corrected" copies of them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from regiohub.core.testing import shared_path
from regiohub.datasets.feeds.telraam import import_telraam_files

DEVICE = "9000008311"
COLUMNS = ["segment_id", "hour", "car", "bike", "pedestrian", "heavy", "v85"]
KEY = ["segment_id", "hour"]


def month_rows(month: str, device: str = DEVICE) -> list[dict[str, Any]]:
    """The hourly rows of one month (``2025-10``) of a device, in hour order."""
    path = shared_path("data", "telraam", f"device_{device}", "hourly", f"{month}.json")
    return import_telraam_files([path]).select(COLUMNS).to_pylist()


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["segment_id"],
                row["hour"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                *("" if row[c] is None else repr(row[c]) for c in COLUMNS[2:]),
            ]
        )
    return out.getvalue()


def corrected(
    rows: list[dict[str, Any]], fix: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """A copy of ``rows`` with ``fix`` applied to each (``None``: the row is left as is)."""
    return [fix(dict(row)) or row for row in rows]


def total(rows: list[dict[str, Any]], column: str = "car") -> float:
    return sum(row[column] or 0.0 for row in rows)
