"""A steward sees how their dataset is used: page views, downloads per format and
version, API calls, per month; counting writes nothing per request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regiohub.core import usage
from regiohub.core.models import UsageCount
from regiohub.core.testing import staff_client
from regiohub.opendata.tests.factories import published, steward, town

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_pending():
    usage.forget_pending_for_tests()
    yield
    usage.forget_pending_for_tests()


def test_views_and_api_calls_are_counted_in_batches():
    kortrijk = town("KOR")
    publication = published(kortrijk)
    visitor = Client()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            visitor.get("/api/v1/datasets/verkeerstellingen/rows/", {"limit": "1"})
    assert not [q for q in queries if "usage" in q["sql"].lower()]  # nothing per request
    visitor.get(f"/open/{publication.slug}/")
    usage.count(f"dataset:{publication.dataset_id}", "download", "csv:v1", 2)
    assert usage.flush() >= 3
    assert usage.flush() == 0  # written once
    assert UsageCount.objects.get(kind="api").count == 3
    page = staff_client(steward(kortrijk)).get(f"/staff/open/{publication.slug}/usage/")
    body = page.content.decode()
    assert page.status_code == 200 and ">CSV</th><td>2<" in body and ">3</td>" in body


def test_two_processes_add_up():
    usage.count("dataset:1", "api", n=2)
    usage.flush()
    usage.count("dataset:1", "api", n=5)
    usage.flush()
    assert usage.totals(["dataset:1"], "api") == {"dataset:1": 7}


def test_another_municipality_sees_no_usage():
    publication = published(town("KOR"))
    other = staff_client(steward(town("WAR")))
    assert other.get(f"/staff/open/{publication.slug}/usage/").status_code == 404


def test_most_downloaded_follows_the_counts():
    from regiohub.opendata import queries, services

    first = published(town("KOR"), "a", title="Verkeer A")
    second = published(town("KOR"), "b", title="Verkeer B")
    usage.count(f"dataset:{second.dataset_id}", "download", "csv:v1", 5)
    usage.count(f"dataset:{first.dataset_id}", "download", "csv:v1", 2)
    usage.flush()
    assert services.refresh_downloads() == 2
    assert [p.slug for p in queries.search_catalogue(sort="downloads").results] == ["b", "a"]
    assert services.refresh_downloads() == 0
