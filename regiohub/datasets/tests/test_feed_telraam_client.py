"""The Telraam client speaks the real wire format and turns each failure into a clear error."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
import requests
from structlog.testing import capture_logs

from regiohub.datasets.feeds.base import (
    FeedAuthError,
    FeedDataError,
    FeedRateLimited,
    FeedRequestError,
    FeedTemporaryError,
)
from regiohub.datasets.feeds.telraam import TelraamClient
from regiohub.datasets.tests.fake_telraam import (
    allow_local_telraam,
    device_files,
    fake_telraam,
    requires_telraam_data,
)

pytestmark = requires_telraam_data

SEGMENT = 9000008311
OCT = datetime(2025, 10, 1, tzinfo=UTC)
NOV = datetime(2025, 11, 1, tzinfo=UTC)


@pytest.fixture
def telraam():
    with fake_telraam(hang_seconds=2.0) as server:
        yield server


def october_rows() -> int:
    return len(json.loads(device_files(SEGMENT)[1].read_bytes())["data"])


def client(server, *, key=None, **options) -> TelraamClient:
    options.setdefault("max_retries", 0)
    return TelraamClient(server.url, key or server.api_key, timeout=0.3, **options)


def test_a_window_is_asked_in_telraams_format(telraam):
    rows = client(telraam).traffic(SEGMENT, OCT, NOV)

    (request,) = telraam.received
    assert (request.method, request.path) == ("POST", "/v1/reports/traffic")
    assert request.headers["X-Api-Key"] == telraam.api_key
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "level": "segments",
        "format": "per-hour",
        "id": "9000008311",
        "time_start": "2025-10-01 00:00:00Z",
        "time_end": "2025-11-01 00:00:00Z",
    }
    assert len(rows) == october_rows()
    assert rows[0]["date"] == "2025-10-01T00:00:00.000Z"
    assert "key" not in request.path and telraam.api_key not in request.body.decode()


def test_a_window_longer_than_three_months_is_not_sent(telraam):
    with pytest.raises(ValueError, match="3 months"):
        client(telraam).traffic(SEGMENT, OCT, datetime(2026, 1, 1, 1, tzinfo=UTC))
    assert telraam.received == []


def test_the_fake_refuses_what_the_real_api_refuses(telraam):
    def post(body, key=telraam.api_key):
        return requests.post(
            telraam.url + "/v1/reports/traffic", json=body, headers={"X-Api-Key": key}, timeout=2
        )

    good = {
        "level": "segments",
        "format": "per-hour",
        "id": "9000008311",
        "time_start": "2025-10-01 00:00:00Z",
        "time_end": "2026-01-01 00:00:00Z",
    }
    assert post(good).status_code == 200
    too_long = post({**good, "time_end": "2026-01-01 01:00:00Z"})
    assert too_long.status_code == 400 and "3 months" in too_long.json()["message"]
    for change in ({"format": "per-day"}, {"id": 9000008311}, {"time_start": "1 Oct 2025"}):
        answer = post({**good, **change})
        assert answer.status_code == 400 and answer.json()["status_code"] == 400
    assert post(good, key="wrong").status_code == 403


def test_a_refused_request_is_a_request_error_with_its_status_not_its_body(telraam, monkeypatch):
    monkeypatch.setattr("regiohub.datasets.feeds.telraam.TIME_FORMAT", "%d/%m/%Y")
    with capture_logs() as logs, pytest.raises(FeedRequestError) as caught:
        client(telraam).traffic(SEGMENT, OCT, NOV)
    assert str(caught.value) == "Telraam refused the request (HTTP 400)"
    # Telraam's own words go to the log for the operator, never to the feed page.
    assert any("'time_start' and 'time_end' must" in str(e.get("message")) for e in logs)


@pytest.mark.parametrize(("key", "status"), [("not-the-key", 403), ("", 401)])
def test_a_refused_key_is_an_auth_error_that_is_not_retried(telraam, key, status):
    sleeps = []
    with pytest.raises(FeedAuthError, match=f"HTTP {status}") as caught:
        TelraamClient(telraam.url, key, timeout=0.3, sleep=sleeps.append).traffic(SEGMENT, OCT, NOV)
    assert not isinstance(caught.value, FeedTemporaryError)
    assert len(telraam.received) == 1 and sleeps == []


def test_a_server_error_is_temporary(telraam):
    telraam.fail_next(1, "500")
    with pytest.raises(FeedTemporaryError, match="HTTP 500") as caught:
        client(telraam).traffic(SEGMENT, OCT, NOV)
    assert caught.value.retry_after is None


def test_a_rate_limit_is_temporary_and_says_when_to_come_back(telraam):
    telraam.fail_next(1, "429", retry_after=120)
    with pytest.raises(FeedRateLimited, match="retry after 120 s") as caught:
        client(telraam).traffic(SEGMENT, OCT, NOV)
    assert isinstance(caught.value, FeedTemporaryError)
    assert caught.value.retry_after == 120


def test_a_timeout_is_temporary(telraam):
    started = time.monotonic()
    telraam.fail_next(1, "hang")
    with pytest.raises(FeedTemporaryError, match=r"within 0\.3 s"):
        client(telraam).traffic(SEGMENT, OCT, NOV)
    assert time.monotonic() - started < 1.5


def test_temporary_failures_are_retried_honouring_retry_after(telraam):
    sleeps = []
    telraam.fail_next(1, "429", retry_after=3)
    telraam.fail_next(1, "500")

    rows = client(telraam, max_retries=2, backoff=0.5, sleep=sleeps.append).traffic(
        SEGMENT, OCT, NOV
    )

    assert sleeps == [3.0, 1.0]  # Retry-After, then the back-off of the 2nd attempt
    assert len(telraam.received) == 3 and len(rows) == october_rows()


def test_a_retry_after_longer_than_we_wait_goes_up_to_the_task(telraam):
    sleeps = []
    telraam.fail_next(1, "429", retry_after=3600)
    with pytest.raises(FeedRateLimited):
        client(telraam, max_retries=3, sleep=sleeps.append).traffic(SEGMENT, OCT, NOV)
    assert sleeps == [] and len(telraam.received) == 1


def test_a_garbled_answer_is_a_data_error(telraam):
    telraam.fail_next(1, "garbled")
    with pytest.raises(FeedDataError, match="not valid JSON"):
        client(telraam).traffic(SEGMENT, OCT, NOV)


def test_an_unreachable_api_is_temporary():
    with fake_telraam() as gone:
        url = gone.url
    with allow_local_telraam(), pytest.raises(FeedTemporaryError, match="could not be reached"):
        TelraamClient(url, "k", timeout=0.3, max_retries=0).traffic(SEGMENT, OCT, NOV)


def test_the_key_never_shows_in_logs_errors_or_repr(telraam, caplog):
    secret = "sekrit-telraam-key-123"
    caplog.set_level(logging.DEBUG)
    messages = []
    with capture_logs() as logs:
        the_client = client(telraam, key=secret, max_retries=1, sleep=lambda s: None)
        for mode, attempts, error in (
            ("500", 2, FeedTemporaryError),
            ("429", 2, FeedRateLimited),
            ("garbled", 1, FeedDataError),
        ):
            telraam.fail_next(attempts, mode, retry_after=0)
            with pytest.raises(error) as caught:
                the_client.traffic(SEGMENT, OCT, NOV)
            messages.append(repr(caught.value))
        with pytest.raises(FeedAuthError) as caught:
            the_client.traffic(SEGMENT, OCT, NOV)  # the fake only knows its own key
        messages.append(repr(caught.value))
    assert {r.headers["X-Api-Key"] for r in telraam.received} == {secret}
    assert len(telraam.received) == 6
    assert logs, "the retries are logged"
    everything = " ".join([*messages, repr(the_client), str(logs), caplog.text])
    assert secret not in everything
