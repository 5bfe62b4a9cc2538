"""Telraam: hourly traffic counts per road segment, through the API or from its files.

Wire format (``telraam-openapi.yaml``, ``POST /v1/reports/traffic``): header ``X-Api-Key``,
JSON body ``{"level": "segments", "format": "per-hour", "id": "<segment id>",
"time_start": "2025-09-01 00:00:00Z", "time_end": ...}``, the window closed-open and at
most 3 months long; the answer ``{"status_code": 200, "message": "ok", "report": [rows]}``.
The monthly files hold the same rows: ``{"device_id", "month", "data": [rows]}``.

Both paths go through :func:`telraam_rows_to_table`, so they give identical tables.

Telraam corrects counts and devices upload late, so each run also fetches the last
``refetch_days`` days again (default 7): those hours come back as updates by key.

The API address must name a host on the allow-list of Telraam feeds (:mod:`.addresses`;
by default ``telraam-api.net``), checked when the settings are saved and on every request.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import requests
import structlog
from django import forms
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from regiohub.datasets.feeds.addresses import (
    HostPolicy,
    check_url,
    guard_session,
    host_policy,
    url_problem,
)
from regiohub.datasets.feeds.base import (
    UTC_TIMESTAMP,
    Feed,
    FeedAddressError,
    FeedAuthError,
    FeedBatch,
    FeedCursor,
    FeedDataError,
    FeedError,
    FeedRateLimited,
    FeedRequestError,
    FeedTemporaryError,
)
from regiohub.datasets.feeds.registry import register
from regiohub.datasets.feeds.timewindows import (
    HOUR,
    add_months,
    floor_hour,
    month_windows,
    require_aware,
)

log = structlog.get_logger(__name__)

KIND = "telraam"
DEFAULT_BASE_URL = "https://telraam-api.net"
#: The hosts a Telraam feed may connect to unless REGIOHUB_DATASETS_FEED_HOSTS says others.
DEFAULT_HOSTS = ("telraam-api.net",)
#: Redirects (307 and 308 only, to an allowed address) followed per request.
MAX_REDIRECTS = 3
TRAFFIC_PATH = "/v1/reports/traffic"
#: The API answers at most this many calendar months per request.
MAX_WINDOW_MONTHS = 3
TIME_FORMAT = "%Y-%m-%d %H:%M:%SZ"
#: Days fetched again on every run unless the settings say otherwise.
DEFAULT_REFETCH_DAYS = 7
#: At most a month, far below a request's 3 months: in steady state a run still asks one
#: window per segment (the days fetched again plus the new hours).
MAX_REFETCH_DAYS = 31

# --- the normalised table -------------------------------------------------------------

_MODES = ("heavy", "car", "bike", "pedestrian", "night")
#: Uptime-corrected counts (floats), total then per direction.
COUNT_COLUMNS = (*_MODES, *(f"{mode}_{side}" for mode in _MODES for side in ("lft", "rgt")))
#: ``car_speed_hist_0to70plus``: 10 km/h bins, percent.
SPEED_10_COLUMNS = (*(f"car_speed_{lo}_{lo + 10}" for lo in range(0, 70, 10)), "car_speed_70_plus")
#: ``car_speed_hist_0to120plus``: 5 km/h bins, percent.
SPEED_5_COLUMNS = (*(f"car_speed5_{lo}_{lo + 5}" for lo in range(0, 120, 5)), "car_speed5_120_plus")
_HISTOGRAMS = (
    ("car_speed_hist_0to70plus", SPEED_10_COLUMNS),
    ("car_speed_hist_0to120plus", SPEED_5_COLUMNS),
)

TELRAAM_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.int64(), nullable=False),
        pa.field("hour", UTC_TIMESTAMP, nullable=False),
        pa.field("uptime", pa.float64()),
        *(pa.field(name, pa.float64()) for name in COUNT_COLUMNS),
        pa.field("v85", pa.float64()),
        pa.field("direction", pa.int64()),
        pa.field("timezone", pa.string()),
        *(pa.field(name, pa.float64()) for name in (*SPEED_10_COLUMNS, *SPEED_5_COLUMNS)),
    ]
)
_FLOATS = ("uptime", *COUNT_COLUMNS, "v85")


def telraam_rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Telraam hourly rows (API ``report`` or file ``data``) as a :data:`TELRAAM_SCHEMA`
    table: sorted by (segment_id, hour), one row per key (the last one given wins), nulls
    kept as nulls, the speed histograms spread over one column per bin."""
    latest: dict[tuple[int, datetime], Mapping[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise FeedDataError(f"row {number}: not an object")
        if row.get("interval", "hourly") != "hourly":
            raise RowError(number, "interval", row.get("interval"), "is not hourly")
        latest[(_segment(row, number), _hour(row, number))] = row
    columns: dict[str, list[Any]] = {name: [] for name in TELRAAM_SCHEMA.names}
    for number, key in enumerate(sorted(latest), start=1):
        row = latest[key]
        columns["segment_id"].append(key[0])
        columns["hour"].append(key[1])
        for name in _FLOATS:
            columns[name].append(_number(row.get(name), name, number))
        columns["direction"].append(_integer(row.get("direction"), "direction", number))
        tz = row.get("timezone")
        columns["timezone"].append(None if tz is None else str(tz))
        for source, names in _HISTOGRAMS:
            for name, value in zip(
                names, _histogram(row.get(source), source, names, number), strict=True
            ):
                columns[name].append(value)
    return pa.table(
        [pa.array(columns[f.name], type=f.type) for f in TELRAAM_SCHEMA], schema=TELRAAM_SCHEMA
    )


class RowError(FeedDataError):
    """A value that cannot be read. The message quotes it (shortened) for a file a person
    imports; :attr:`reason` leaves it out, for what an API answered."""

    def __init__(self, row: int, name: str, value: Any, problem: str) -> None:
        self.reason = f"row {row}: {name} {problem}"
        text = repr(value)
        shown = text if len(text) <= 40 else text[:39] + "…"
        super().__init__(f"row {row}: {name} {shown} {problem}")


def _segment(row: Mapping[str, Any], number: int) -> int:
    value = row.get("segment_id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise RowError(number, "segment_id", value, "is not a number")
    return int(value)


def _hour(row: Mapping[str, Any], number: int) -> datetime:
    value = row.get("date")
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise RowError(number, "date", value, "is not an ISO date-time") from None
    if when.tzinfo is None:
        raise RowError(number, "date", value, "has no time zone")
    return when.astimezone(UTC)


def _number(value: Any, name: str, number: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(number, name, value, "is not a number")
    return float(value)


def _integer(value: Any, name: str, number: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(number, name, value, "is not an integer")
    return value


def _histogram(value: Any, source: str, names: tuple[str, ...], number: int) -> list[Any]:
    if value is None:
        return [None] * len(names)
    if not isinstance(value, list) or len(value) != len(names):
        raise FeedDataError(f"row {number}: {source} does not have {len(names)} bins")
    return [_number(v, source, number) for v in value]


# --- the monthly files -----------------------------------------------------------------


def import_telraam_file(path: str | Path) -> pa.Table:
    """The rows of one monthly hourly file (``{"device_id", "month", "data": [...]}``)."""
    return import_telraam_files([path])


def import_telraam_files(paths: Iterable[str | Path]) -> pa.Table:
    """The rows of several files as one table (e.g. every month of a device)."""
    rows: list[Any] = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_bytes())
        except ValueError:
            raise FeedDataError(f"{Path(path).name} is not valid JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise FeedDataError(f"{Path(path).name} has no 'data' list of hourly rows")
        rows.extend(document["data"])
    return telraam_rows_to_table(rows)


# --- the API client --------------------------------------------------------------------


class TelraamClient:
    """``POST /v1/reports/traffic`` for one segment and one window.

    Temporary failures (5xx, timeouts, 429) are retried here ``max_retries`` times, waiting
    ``Retry-After`` or ``backoff`` x 2^n seconds, as long as the wait is at most
    ``max_wait``; then the :class:`FeedTemporaryError` goes up and the task retries later.

    Only addresses on ``hosts`` (default: the Telraam list of this installation) are asked,
    over connections checked by :func:`~.addresses.guard_session`; a redirect is followed
    only when it is a 307 or 308 to such an address, never from https to http.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        *,
        max_retries: int = 2,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        hosts: HostPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.hosts = hosts or host_policy(KIND, DEFAULT_HOSTS)
        self.session = session or requests.Session()
        guard_session(self.session, self.hosts, "Telraam")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"<TelraamClient {self.base_url}>"

    def traffic(self, segment_id: int, time_start: datetime, time_end: datetime) -> list[Any]:
        """The hourly rows of ``segment_id`` in ``[time_start, time_end)`` (at most 3
        months: split longer periods with :func:`month_windows`)."""
        start = require_aware(time_start, "time_start")
        end = require_aware(time_end, "time_end")
        if not start < end <= add_months(start, MAX_WINDOW_MONTHS):
            raise ValueError(f"a Telraam window is 1 hour to {MAX_WINDOW_MONTHS} months long")
        body = {
            "level": "segments",
            "format": "per-hour",
            "id": str(segment_id),
            "time_start": start.strftime(TIME_FORMAT),
            "time_end": end.strftime(TIME_FORMAT),
        }
        attempt = 0
        while True:
            try:
                return self._post(body)
            except FeedTemporaryError as exc:
                wait = exc.retry_after if exc.retry_after is not None else self.backoff * 2**attempt
                if attempt >= self.max_retries or wait > self.max_wait:
                    raise
                attempt += 1
                log.warning("telraam retry", segment=segment_id, error=str(exc), wait_s=wait)
                self.sleep(wait)

    def _post(self, body: dict[str, str]) -> list[Any]:
        url = self.base_url + TRAFFIC_PATH
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(url, body)
            if not 300 <= response.status_code < 400:
                return self._read(response)
            url = self._redirect(url, response)
        raise FeedRequestError(f"Telraam redirected more than {MAX_REDIRECTS} times")

    def _redirect(self, url: str, response: requests.Response) -> str:
        """Where a 307 or 308 answer sends the same request, if we may follow it."""
        status = response.status_code
        location = response.headers.get("Location", "")
        response.close()
        if status not in (307, 308) or not location:
            raise FeedRequestError(
                f"Telraam answered with a redirect (HTTP {status}); only a 307 or 308 to an "
                "allowed address is followed"
            )
        target = urljoin(url, location)
        if url_problem(target, self.hosts) is not None or (
            urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https"
        ):
            raise FeedAddressError(
                f"Telraam redirected to an address that is not allowed (HTTP {status}); "
                "the redirect is not followed"
            )
        return target

    def _send(self, url: str, body: dict[str, str]) -> requests.Response:
        check_url(url, self.hosts, "Telraam")
        try:
            return self.session.post(
                url,
                json=body,
                headers={"X-Api-Key": self._api_key, "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise FeedTemporaryError(f"Telraam did not answer within {self.timeout:g} s") from None
        except requests.ConnectionError:
            raise FeedTemporaryError("Telraam could not be reached") from None
        except requests.RequestException as exc:
            raise FeedError(f"Telraam request failed ({type(exc).__name__})") from None

    def _read(self, response: requests.Response) -> list[Any]:
        """The rows of an answer; an error answer as its status and our short reason (its
        body is logged, shortened and without our key, never shown)."""
        status = response.status_code
        if status in (401, 403):
            raise FeedAuthError(f"Telraam refused the API key (HTTP {status})")
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise FeedRateLimited(
                "Telraam rate limit reached (HTTP 429)"
                + ("" if retry_after is None else f", retry after {retry_after:g} s"),
                retry_after=retry_after,
            )
        if status >= 500:
            raise FeedTemporaryError(f"Telraam is unavailable (HTTP {status})")
        if status >= 400:
            log.warning(
                "telraam refused the request", status=status, message=self._message(response)
            )
            raise FeedRequestError(f"Telraam refused the request (HTTP {status})")
        if status != 200:
            raise FeedRequestError(f"Telraam answered with an unexpected status (HTTP {status})")
        try:
            answer = response.json()
        except ValueError:
            raise FeedDataError(
                f"Telraam's answer is not valid JSON (HTTP {status}, {len(response.content)} bytes)"
            ) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("report"), list):
            raise FeedDataError("Telraam's answer has no 'report' list")
        return answer["report"]

    def _message(self, response: requests.Response) -> str:
        """The ``message`` of an error answer, shortened and without our key."""
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        message = message.replace(self._api_key, "***") if self._api_key else message
        return message[:200] or "no message"


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


# --- the feed ---------------------------------------------------------------------------


class SegmentIdsField(forms.Field):
    """Segment ids as a list (``[9000008311]``) or text (``"9000008311, 9000008322"``)."""

    def to_python(self, value: Any) -> tuple[int, ...]:
        if value in self.empty_values:
            return ()
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise forms.ValidationError(gettext("Enter a list of segment ids."), code="invalid")
        ids = set()
        for item in items:
            text = str(item).strip()
            if isinstance(item, bool) or not text.isdigit():
                raise forms.ValidationError(
                    gettext(
                        "“%(value)s” is not a segment id: use the number in the segment's "
                        "address on telraam.net."
                    ),
                    code="invalid",
                    params={"value": text[:40]},
                )
            ids.add(int(text))
        return tuple(sorted(ids))


class TelraamSettings(forms.Form):
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        help_text=gettext_lazy("The key of your Telraam API account."),
        max_length=200,
        widget=forms.PasswordInput,
    )
    segment_ids = SegmentIdsField(
        label=gettext_lazy("Segments"),
        help_text=gettext_lazy("The ids of the road segments to count, separated by commas."),
    )
    start = forms.DateTimeField(
        label=gettext_lazy("Start"),
        help_text=gettext_lazy("The first hour to fetch."),
    )
    base_url = forms.URLField(
        label=gettext_lazy("API address"),
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("Leave empty for the public Telraam API (https://telraam-api.net)."),
    )
    timeout = forms.FloatField(
        label=gettext_lazy("Timeout (seconds)"),
        required=False,
        min_value=0.1,
        max_value=300,
    )
    refetch_days = forms.IntegerField(
        label=gettext_lazy("Days fetched again"),
        required=False,
        min_value=0,
        max_value=MAX_REFETCH_DAYS,
        help_text=gettext_lazy(
            "Each run fetches the last days again, so corrections and late uploads replace "
            "the hours already loaded. Leave empty for 7; 0 fetches only new hours."
        ),
    )

    def clean_start(self) -> datetime:
        start = floor_hour(self.cleaned_data["start"])
        if start > timezone.now():
            raise forms.ValidationError(gettext("The start lies in the future."), code="future")
        return start

    def clean_base_url(self) -> str:
        url = (self.cleaned_data.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        problem = url_problem(url, host_policy(KIND, DEFAULT_HOSTS))
        if problem:
            raise forms.ValidationError(problem, code="host")
        return url

    def clean_timeout(self) -> float:
        return self.cleaned_data.get("timeout") or 30.0

    def clean_refetch_days(self) -> int:
        days = self.cleaned_data.get("refetch_days")
        return DEFAULT_REFETCH_DAYS if days is None else days


@register
class TelraamFeed(Feed):
    """Hourly counts per segment. The cursor holds, per segment id, the start of the last
    complete hour fetched; a run asks for the hours after it up to the hour in progress at
    ``until``, one batch per segment and window of at most 3 months.

    A run starts ``refetch_days`` days before ``until`` when the cursor is later than that
    (never before ``start``): hours already written are fetched again, and the caller's
    upsert by (segment_id, hour) turns corrections and late uploads into updated and added
    rows and leaves the rest unchanged. The cursor never moves back."""

    kind = KIND
    label = gettext_lazy("Telraam traffic counts")
    schema = TELRAAM_SCHEMA
    primary_key = ("segment_id", "hour")
    time_column = "hour"
    settings_form = TelraamSettings
    hosts = DEFAULT_HOSTS

    def __init__(self, settings: Mapping[str, Any], *, session: requests.Session | None = None):
        super().__init__(settings)
        self.client = TelraamClient(
            self.settings["base_url"],
            self.settings["api_key"],
            session=session,
            timeout=self.settings["timeout"],
        )

    def fetch(self, cursor: FeedCursor | None, until: datetime) -> Iterator[FeedBatch]:
        cursor = cursor or FeedCursor()
        end = floor_hour(until)  # the hour in progress at ``until`` is not complete
        again_from = end - timedelta(days=self.settings["refetch_days"])
        for segment in self.settings["segment_ids"]:
            last = cursor.get(str(segment))
            begin = (
                self.settings["start"]
                if last is None
                else max(min(last + HOUR, again_from), self.settings["start"])
            )
            for window_start, window_end in month_windows(begin, end, MAX_WINDOW_MONTHS):
                rows = self.client.traffic(segment, window_start, window_end)
                try:
                    table = telraam_rows_to_table(rows)
                except RowError as exc:  # a status and a reason, never what was answered
                    raise FeedDataError(f"Telraam's answer: {exc.reason}") from None
                table = _within(table, segment, window_start, window_end)
                last = window_end - HOUR if last is None else max(last, window_end - HOUR)
                cursor = cursor.advanced(str(segment), last)
                log.info(
                    "telraam window fetched",
                    segment=segment,
                    start=window_start.isoformat(),
                    end=window_end.isoformat(),
                    rows=table.num_rows,
                )
                yield FeedBatch(table, cursor)


def _within(table: pa.Table, segment: int, start: datetime, end: datetime) -> pa.Table:
    """Only the rows we asked for, whatever the API sent."""
    hour = table["hour"]
    keep = pc.and_(
        pc.and_(
            pc.greater_equal(hour, pa.scalar(start, UTC_TIMESTAMP)),
            pc.less(hour, pa.scalar(end, UTC_TIMESTAMP)),
        ),
        pc.equal(table["segment_id"], pa.scalar(segment, pa.int64())),
    )
    return table.filter(keep)
