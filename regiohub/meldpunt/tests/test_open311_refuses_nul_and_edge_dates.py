"""Open311 input that used to give a 500 on PostgreSQL (which refuses NUL in text) or
overflowed (dates at the ends of the calendar) is answered 400 in the spec's error format.
Issue 15."""

from __future__ import annotations

import pytest

from regiohub.meldpunt.models import ApiClient, Report
from regiohub.meldpunt.tests.test_open311 import BASE, KORTRIJK, errors_json, errors_xml, post

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture(autouse=True)
def english(client):
    """The messages are checked in English (their msgids); Dutch is the default."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def key(categories):
    return ApiClient.create_with_key(name="Fiets-app")[1]


def refused(response, fmt):
    descriptions = (errors_xml if fmt == "xml" else errors_json)(response, 400)
    assert any("NUL" in d for d in descriptions), descriptions
    return descriptions


# --- NUL: the six places an Open311 client can put one ------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_in_the_service_code_of_the_path(client, categories, fmt):
    response = client.get(f"{BASE}/services/pot%00hole.{fmt}", {"jurisdiction_id": KORTRIJK})
    refused(response, fmt)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_in_the_service_request_id_of_the_path(client, categories, fmt):
    refused(client.get(f"{BASE}/requests/KOR-2026%00.{fmt}", {"jurisdiction_id": KORTRIJK}), fmt)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_in_jurisdiction_id(client, categories, fmt):
    descriptions = refused(
        client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "34022" + NUL}), fmt
    )
    assert any("jurisdiction_id" in d for d in descriptions)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_in_service_code_of_a_search(client, categories, fmt):
    params = {"jurisdiction_id": KORTRIJK, "service_code": "pothole" + NUL}
    refused(client.get(f"{BASE}/requests.{fmt}", params), fmt)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_nul_in_service_request_id_of_a_search(client, categories, fmt):
    params = {"jurisdiction_id": KORTRIJK, "service_request_id": "KOR-1" + NUL}
    refused(client.get(f"{BASE}/requests.{fmt}", params), fmt)


@pytest.mark.parametrize("field", ["service_code", "jurisdiction_id", "description", "api_key"])
def test_nul_in_a_posted_service_request(client, key, field):
    params = {"service_code": "pothole", "jurisdiction_id": KORTRIJK,
              "description": "Gat", "api_key": key}  # fmt: skip
    params[field] += NUL
    refused(post(client, **params), "json")
    assert not Report.objects.exists()


def test_the_refusal_speaks_the_language_of_the_client(client, categories):
    response = client.get(
        f"{BASE}/requests.json",
        {"jurisdiction_id": KORTRIJK + NUL},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused(response, "json") == [
        "jurisdiction_id contains a NUL character, which is not allowed."
    ]


def test_an_unknown_suffix_is_refused_in_xml(client, categories):
    errors_xml(client.get(f"{BASE}/requests/A%00B.yaml"), 400)


# --- dates at the ends of the calendar -------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "9999-12-31T23:59:59Z"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "9999-12-31T23:59:59-12:00"},
        {"start_date": "9999-12-31T00:00:00Z", "end_date": "9999-12-31T23:59:59Z"},
        {"start_date": "0001-01-01T00:00:00Z", "end_date": "0001-01-02T00:00:00Z"},
    ],
    ids=[
        "start-max",
        "end-min",
        "start-min-east",
        "end-min-east",
        "end-max-west",
        "both-max",
        "both-min",
    ],
)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_date_at_the_end_of_the_calendar_is_a_400(client, categories, params, fmt):
    response = client.get(f"{BASE}/requests.{fmt}", {"jurisdiction_id": KORTRIJK, **params})
    descriptions = (errors_xml if fmt == "xml" else errors_json)(response, 400)
    assert all(("start_date" in d or "end_date" in d) for d in descriptions)


def test_dates_inside_the_range_still_work(client, categories):
    params = {"jurisdiction_id": KORTRIJK, "start_date": "1970-01-01T00:00:00Z"}
    assert client.get(f"{BASE}/requests.json", params).status_code == 200
    params = {"jurisdiction_id": KORTRIJK, "end_date": "8999-12-31T00:00:00+14:00"}
    assert client.get(f"{BASE}/requests.json", params).status_code == 200
