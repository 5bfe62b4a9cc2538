"""A local fake Telraam API serving the real hourly files, over real HTTP on 127.0.0.1.

``POST /v1/reports/traffic`` is validated like the real API (``telraam-openapi.yaml``) and
answers the rows of the segment in ``[time_start, time_end)``. Failure modes are switched
on for the next N requests with :meth:`FakeTelraam.fail_next`; every request is recorded.
What it serves can change meanwhile, as at Telraam: :meth:`FakeTelraam.correct` an hour's
counts, :meth:`FakeTelraam.withhold` an hour a device has not uploaded yet and
:meth:`FakeTelraam.upload` it later.
While it runs, 127.0.0.1 is the allowed host of Telraam feeds (``REGIOHUB_DATASETS_FEED_HOSTS``
in :func:`allow_local_telraam`), unless ``fake_telraam(allowed=False)``.

    with fake_telraam() as telraam:
        telraam.fail_next(2, "500")
        ... TelraamClient(telraam.url, telraam.api_key) ...
        assert telraam.received[0].headers["X-Api-Key"] == telraam.api_key
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import json
import math
import re
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from django.test import override_settings

from regiohub.core.testing import SHARED, FakeHandler, Received, local_server, needs_shared

TELRAAM_DIR = SHARED / "data" / "telraam"

requires_telraam_data = needs_shared("data", "telraam")

Failure = Literal["500", "429", "hang", "garbled"]
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def device_files(device_id: str | int) -> list[Path]:
    """The monthly hourly files of one device, in order."""
    return sorted((TELRAAM_DIR / f"device_{device_id}" / "hourly").glob("*.json"))


@functools.cache
def _rows_by_segment() -> dict[int, list[tuple[datetime, dict[str, Any]]]]:
    rows: dict[int, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for path in sorted(TELRAAM_DIR.glob("device_*/hourly/*.json")):
        for row in json.loads(path.read_bytes())["data"]:
            rows[int(row["segment_id"])].append((_row_hour(row), row))
    for segment_rows in rows.values():
        segment_rows.sort(key=lambda pair: pair[0])
    return dict(rows)


@dataclass
class FakeTelraam:
    url: str
    api_key: str
    hang_seconds: float
    received: list[Received] = field(default_factory=list)
    failures: list[tuple[Failure, float | None]] = field(default_factory=list)
    #: Rows served instead of the files' (``None``: not there), by (segment id, hour).
    edits: dict[tuple[int, datetime], dict[str, Any] | None] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def fail_next(self, count: int, mode: Failure, *, retry_after: float | None = 2) -> None:
        """Answer the next ``count`` requests with ``mode``: ``500``, ``429`` (with
        ``Retry-After``), ``hang`` (no answer for ``hang_seconds``) or ``garbled`` (200 with
        a cut-off body)."""
        self.failures.extend([(mode, retry_after)] * count)

    def row(self, segment: int, hour: datetime) -> dict[str, Any]:
        """A copy of the row served for ``segment`` at ``hour`` (KeyError when none)."""
        key = (segment, hour.astimezone(UTC))
        row = self.edits[key] if key in self.edits else _file_rows().get(key)
        if row is None:
            raise KeyError(key)
        return dict(row)

    def correct(self, segment: int, hour: datetime, **values: Any) -> dict[str, Any]:
        """From now on, serve ``values`` (e.g. ``car=12.5``) in the row of ``segment`` at
        ``hour`` (a correction); returns the row."""
        row = {**self.row(segment, hour), **values}
        self.edits[(segment, hour.astimezone(UTC))] = row
        return row

    def withhold(self, segment: int, hour: datetime) -> dict[str, Any]:
        """Serve no row for ``segment`` at ``hour`` (the device has not uploaded it yet);
        returns the row, to :meth:`upload` later."""
        row = self.row(segment, hour)
        self.edits[(segment, hour.astimezone(UTC))] = None
        return row

    def upload(self, row: dict[str, Any]) -> None:
        """Serve ``row`` from now on (a late upload, or a replaced row)."""
        self.edits[(int(row["segment_id"]), _row_hour(row))] = dict(row)

    def rows(self, segment: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The rows served for ``segment`` in ``[start, end)``, in time order."""
        served = {
            when: row for when, row in _rows_by_segment().get(segment, []) if start <= when < end
        }
        for (seg, when), row in self.edits.items():
            if seg == segment and start <= when < end:
                served[when] = row
        return [served[when] for when in sorted(served) if served[when] is not None]

    def totals(self, segment: int, start: datetime, end: datetime, column: str) -> float:
        """The sum of ``column`` over the rows served, as a check on a loaded table."""
        values = (row.get(column) for row in self.rows(segment, start, end))
        return math.fsum(value for value in values if value is not None)

    @property
    def windows(self) -> list[tuple[str, str, str]]:
        """``(id, time_start, time_end)`` of every traffic request received."""
        return [
            (body["id"], body["time_start"], body["time_end"])
            for body in (r.json() for r in self.received if r.path == "/v1/reports/traffic")
        ]


def _row_hour(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["date"]).astimezone(UTC)


@functools.cache
def _file_rows() -> dict[tuple[int, datetime], dict[str, Any]]:
    return {
        (segment, when): row for segment, pairs in _rows_by_segment().items() for when, row in pairs
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIME.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace(" ", "T")).astimezone(UTC)
    except ValueError:
        return None


def _add_months(when: datetime, months: int) -> datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(
        year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1])
    )


def traffic_answer(body: Any, fake: FakeTelraam | None = None) -> tuple[int, dict[str, Any]]:
    """What the real API answers to a ``/v1/reports/traffic`` body (key already checked),
    with the rows ``fake`` serves now (default: the files')."""

    def bad(message: str) -> tuple[int, dict[str, Any]]:
        return 400, {"status_code": 400, "message": message}

    if not isinstance(body, dict):
        return bad("The request body must be a JSON object.")
    if body.get("level") not in ("segments", "instances"):
        return bad("'level' must be 'segments' or 'instances'.")
    if body.get("format") != "per-hour":
        return bad("'format' must be 'per-hour'.")
    identifier = body.get("id")
    if not isinstance(identifier, str) or not identifier.isdigit():
        return bad("'id' must be a segment or instance identifier.")
    start, end = _parse_time(body.get("time_start")), _parse_time(body.get("time_end"))
    if start is None or end is None:
        return bad("'time_start' and 'time_end' must be UTC times like '2024-06-12 11:00:00Z'.")
    if end <= start:
        return bad("'time_end' must be after 'time_start'.")
    if end > _add_months(start, 3):
        return bad("The requested time interval can be maximum 3 months.")
    if body["level"] == "instances":
        return 200, {"status_code": 200, "message": "ok", "report": []}
    if fake is not None:
        rows = fake.rows(int(identifier), start, end)
    else:
        rows = [
            row for when, row in _rows_by_segment().get(int(identifier), []) if start <= when < end
        ]
    return 200, {"status_code": 200, "message": "ok", "report": rows}


def allow_local_telraam(*hosts: str):
    """Telraam feeds may connect to 127.0.0.1 (and ``hosts``), as an installation would
    allow its own proxy: the fake runs there."""
    return override_settings(DATASETS_FEED_HOSTS={"telraam": ["127.0.0.1", *hosts]})


@contextmanager
def fake_telraam(
    *, api_key: str = "fake-telraam-key", hang_seconds: float = 3.0, allowed: bool = True
):
    """Run the fake on a free port of 127.0.0.1 for the duration of the block; with
    ``allowed``, Telraam feeds may connect to it meanwhile."""
    state: FakeTelraam

    class Handler(FakeHandler):
        def do_POST(self) -> None:
            raw = self.read_request().body
            if state.failures:
                mode, retry_after = state.failures.pop(0)
                return self._fail(mode, retry_after)
            key = self.headers.get("X-Api-Key")
            if not key:
                return self.send_json(401, {"message": "Unauthorized"})
            if key != state.api_key:
                return self.send_json(403, {"message": "Forbidden"})
            if self.path != "/v1/reports/traffic":
                return self.send_json(404, {"message": "Not Found"})
            try:
                body = json.loads(raw)
            except ValueError:
                return self.send_json(400, {"status_code": 400, "message": "Invalid JSON body."})
            self.send_json(*traffic_answer(body, state))

        def _fail(self, mode: Failure, retry_after: float | None) -> None:
            if mode == "500":
                self.send_json(500, {"message": "Internal server error"})
            elif mode == "429":
                headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
                self.send_json(429, {"message": "Too Many Requests"}, headers)
            elif mode == "hang":
                state._stop.wait(state.hang_seconds)
                self.send_json(200, {"status_code": 200, "message": "ok", "report": []})
            else:
                self.send_bytes(200, b'{"status_code": 200, "message": "ok", "report": [{"seg')

    _rows_by_segment()  # read the files before the clock of a client timeout starts
    allowing = allow_local_telraam() if allowed else contextlib.nullcontext()
    with allowing, local_server(Handler, poll_interval=0.05) as url:
        state = FakeTelraam(url, api_key, hang_seconds)
        Handler.received = state.received
        try:
            yield state
        finally:
            state._stop.set()  # a hanging answer returns before the server stops
