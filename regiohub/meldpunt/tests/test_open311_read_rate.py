"""Open311 reads are limited per client address, like the rest of the API (issue 15)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.test import override_settings

from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def test_reads_above_the_limit_get_429_in_the_error_format(client, categories):
    report = file_report()
    reads = [
        f"{BASE}/services.json?jurisdiction_id=34022",
        f"{BASE}/requests.json?jurisdiction_id=34022",
        f"{BASE}/requests/{report.reference}.json?jurisdiction_id=34022",
    ]
    with override_settings(MELDPUNT_OPEN311_READ_RATE="3/minute"):
        for url in reads:  # each kind of read counts against the same limit
            assert client.get(url).status_code == 200
        refused = client.get(reads[1], HTTP_ACCEPT_LANGUAGE="en")  # the message in English
        refused_xml = client.get(f"{BASE}/services.xml?jurisdiction_id=34022")
        other_address = client.get(reads[0], REMOTE_ADDR="192.0.2.77")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused["Content-Type"] == "application/json; charset=utf-8"
    (error,) = json.loads(refused.content)
    assert error["code"] == 429
    assert "Too many requests" in error["description"]

    assert refused_xml.status_code == 429
    root = ET.fromstring(refused_xml.content)  # noqa: S314 - our own output, under test
    assert root.tag == "errors"
    assert root.find("error/code").text == "429"

    # Counted per client address: another one still reads.
    assert other_address.status_code == 200


def test_reads_do_not_use_up_the_filing_limit(client, categories):
    with override_settings(MELDPUNT_OPEN311_READ_RATE="1/minute"):
        assert client.get(f"{BASE}/services.json?jurisdiction_id=34022").status_code == 200
        # Filing is limited per API key, not by the read limit (403: no key here).
        posted = client.post(f"{BASE}/requests.json", {"jurisdiction_id": "34022"})
    assert posted.status_code == 403
