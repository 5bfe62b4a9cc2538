"""The Open311 GeoReport v2 API: spec-shaped output, keys, jurisdictions, hostile input,
and no personal data in anything it shows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import staff_client
from regiohub.meldpunt.contrib.open311.resources import CLOSED_STATUSES
from regiohub.meldpunt.models import ApiClient, Category, Message, MessageKind, Report
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
KORTRIJK = "34022"
MENEN = "34027"
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
]  # fmt: skip


@pytest.fixture
def region_key(categories):
    return ApiClient.create_with_key(name="Fiets-app")[1]


@pytest.fixture
def kortrijk_key(categories):
    return ApiClient.create_with_key(name="Kortrijk-app", organisation=categories["KOR"])[1]


def xml(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own output, under test


def data(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def errors_xml(response, status):
    assert response.status_code == status
    root = xml(response)
    assert root.tag == "errors"
    found = [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]
    assert found and all(code == str(status) and text for code, text in found)
    assert [child.tag for child in root.find("error")] == ["code", "description"]
    return [text for _code, text in found]


def errors_json(response, status):
    assert response.status_code == status
    body = data(response)
    assert isinstance(body, list) and body
    assert all(set(e) == {"code", "description"} and e["code"] == status for e in body)
    return [e["description"] for e in body]


def post(client, fmt="json", **params):
    params = {
        "jurisdiction_id": KORTRIJK,
        "service_code": "pothole",
        "lat": str(KORTRIJK_CENTRE[0]),
        "long": str(KORTRIJK_CENTRE[1]),
        "description": "Gat in het fietspad",
        **params,
    }
    headers = {k: params.pop(k) for k in list(params) if k.startswith("HTTP_")}
    params = {k: v for k, v in params.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", params, **headers)


# --- discovery and services ---------------------------------------------------------


def test_discovery_has_the_shape_of_the_spec_in_both_formats(client, categories):
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url").endswith("/open311/v2")
    assert endpoint.findtext("type") == "production"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]

    body = data(client.get(f"{BASE}/discovery.json"))
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert set(endpoint) == {"specification", "url", "changeset", "type", "formats"}


def test_services_are_the_active_categories_of_the_jurisdiction(client, categories):
    Category.objects.filter(organisation=categories["KOR"], code="noise").update(is_active=False)
    root = xml(client.get(f"{BASE}/services.xml", {"jurisdiction_id": KORTRIJK}))
    assert root.tag == "services"
    services = root.findall("service")
    codes = {s.findtext("service_code") for s in services}
    assert "pothole" in codes and "noise" not in codes
    pothole = next(s for s in services if s.findtext("service_code") == "pothole")
    assert [c.tag for c in pothole] == [
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
    ]  # fmt: skip
    assert pothole.findtext("metadata") == "false"
    assert pothole.findtext("type") == "realtime"
    assert pothole.findtext("group") == "Openbare werken"
    assert "Pothole or damaged road" in pothole.findtext("keywords")

    body = data(
        client.get(
            f"{BASE}/services.json", {"jurisdiction_id": KORTRIJK}, HTTP_ACCEPT_LANGUAGE="fr"
        )
    )
    pothole = next(s for s in body if s["service_code"] == "pothole")
    assert pothole["service_name"] == "Nid-de-poule ou route abîmée"
    assert pothole["metadata"] is False


def test_services_need_a_known_jurisdiction(client, categories):
    (text,) = errors_xml(client.get(f"{BASE}/services.xml"), 400)
    assert "jurisdiction_id" in text
    errors_json(client.get(f"{BASE}/services.json", {"jurisdiction_id": "99999"}), 404)
    errors_json(client.get(f"{BASE}/services.json", {"jurisdiction_id": "ZWVL"}), 404)


def test_service_definition_has_no_attributes(client, categories):
    root = xml(client.get(f"{BASE}/services/pothole.xml", {"jurisdiction_id": KORTRIJK}))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "pothole"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []
    body = data(client.get(f"{BASE}/services/pothole.json", {"jurisdiction_id": KORTRIJK}))
    assert body == {"service_code": "pothole", "attributes": []}
    errors_json(client.get(f"{BASE}/services/nope.json", {"jurisdiction_id": KORTRIJK}), 404)


def test_unknown_format_is_404_and_wrong_method_405(client, categories):
    assert client.get(f"{BASE}/services.html", {"jurisdiction_id": KORTRIJK}).status_code == 404
    assert client.get(f"{BASE}/services.yaml").status_code == 404
    response = client.post(f"{BASE}/services.json", {"jurisdiction_id": KORTRIJK})
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert client.delete(f"{BASE}/requests.json").status_code == 405


# --- POST requests ------------------------------------------------------------------


def test_post_files_a_report_through_the_api_channel(client, region_key):
    response = post(
        client,
        "xml",
        api_key=region_key,
        email="Jan@Example.org",
        first_name="Jan",
        last_name="Peeters",
        phone="056 12 34 56",
        device_id="device-1",
        account_id="acc-9",
        HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9",
    )
    assert response.status_code == 200
    root = xml(response)
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
    assert request.find("token") is None
    report = Report.objects.get(reference=request.findtext("service_request_id"))
    assert report.channel == "api"
    assert report.organisation.nis_code == KORTRIJK
    assert report.reporter_email == "jan@example.org"
    assert report.reporter_name == "Jan Peeters"
    assert report.reporter_language == "fr"
    assert report.consent_at is not None
    entry = HistoryEntry.objects.for_object(report).get(action="report.filed_through_api")
    # Labelled in the language the report was filed in (here French).
    assert entry.actor_label == "Client API Fiets-app"


def test_post_json_answers_a_list_with_one_request(client, region_key):
    body = data(post(client, api_key=region_key))
    (item,) = body
    assert set(item) == {"service_request_id", "service_notice", "account_id"}
    report = Report.objects.get(reference=item["service_request_id"])
    assert report.consent_at is None  # no contact details, no consent needed
    assert report.reporter_language == "nl"


def test_post_with_an_address_only_is_filed_approximately(client, region_key):
    response = post(client, api_key=region_key, lat=None, long=None, address_string="Grote Markt 1")
    (item,) = data(response)
    report = Report.objects.get(reference=item["service_request_id"])
    assert report.location_is_approximate and report.address == "Grote Markt 1"


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_post_without_a_valid_key_is_403(client, categories, key):
    (text,) = errors_json(post(client, api_key=key), 403)
    assert "api_key" in text
    assert not Report.objects.exists()


def test_inactive_key_is_403(client, categories):
    api_client, key = ApiClient.create_with_key(name="Oud")
    api_client.is_active = False
    api_client.save()
    errors_xml(post(client, "xml", api_key=key), 403)


def test_only_the_hash_of_the_key_is_stored(categories):
    api_client, key = ApiClient.create_with_key(name="X")
    assert key not in api_client.key_hash and len(api_client.key_hash) == 64
    assert ApiClient.authenticate(key) == api_client


def test_key_of_kortrijk_may_not_post_to_menen(client, kortrijk_key):
    errors_json(
        post(
            client,
            api_key=kortrijk_key,
            jurisdiction_id=MENEN,
            lat=str(MENEN_CENTRE[0]),
            long=str(MENEN_CENTRE[1]),
        ),
        403,
    )
    assert post(client, api_key=kortrijk_key).status_code == 200


def test_point_in_another_municipality_than_the_jurisdiction_is_400(client, region_key):
    (text,) = errors_json(
        post(client, api_key=region_key, lat=str(MENEN_CENTRE[0]), long=str(MENEN_CENTRE[1])),
        400,
    )
    assert "Menen" in text and MENEN in text
    assert not Report.objects.exists()


def test_post_needs_jurisdiction_and_known_service_code(client, region_key):
    errors_json(post(client, api_key=region_key, jurisdiction_id=""), 400)
    errors_json(post(client, api_key=region_key, jurisdiction_id="12345"), 404)
    errors_json(post(client, api_key=region_key, service_code=""), 400)
    (text,) = errors_json(post(client, api_key=region_key, service_code="teleporter"), 404)
    assert "service_code" in text


@pytest.mark.parametrize("length", [4001, 5001, 100_000])
def test_huge_description_is_400_naming_description(client, region_key, length):
    (text,) = errors_json(post(client, api_key=region_key, description="x" * length), 400)
    assert text.startswith("description")


@pytest.mark.parametrize(
    ("lat", "long"),
    [("abc", "3.26"), ("NaN", "3.26"), ("50.8", "inf"), ("91", "3.26"), ("50.8", "-181"),
     ("1e400", "3.26"), ("50.8", "")],
)  # fmt: skip
def test_bad_coordinates_are_400(client, region_key, lat, long):
    texts = errors_json(post(client, api_key=region_key, lat=lat, long=long), 400)
    assert any(t.startswith(("lat", "long")) for t in texts)
    assert not Report.objects.exists()


def test_point_outside_the_region_is_400(client, region_key):
    errors_json(post(client, api_key=region_key, lat="50.8467", long="4.3522"), 400)


def test_every_problem_gets_its_own_error(client, region_key):
    texts = errors_xml(
        post(
            client,
            "xml",
            api_key=region_key,
            description="",
            email="x" * 300,
            media_url="file:///etc/passwd",
            lat=None,
            long=None,
            address_id="123",
        ),
        400,
    )
    fields = {t.split(":")[0] for t in texts}
    assert {"description", "email", "media_url", "address_id"} <= fields


def test_invalid_email_is_400_naming_email(client, region_key):
    (text,) = errors_json(post(client, api_key=region_key, email="not-an-address"), 400)
    assert text.startswith("email")


def test_media_url_is_kept_as_an_internal_note_and_never_shown(client, region_key):
    url = "https://photos.example.org/p/1.jpg"
    (item,) = data(post(client, api_key=region_key, media_url=url))
    report = Report.objects.get(reference=item["service_request_id"])
    note = Message.objects.get(report=report)
    assert note.kind == MessageKind.NOTE and url in note.body
    (shown,) = data(
        client.get(f"{BASE}/requests/{report.reference}.json", {"jurisdiction_id": KORTRIJK})
    )
    assert shown["media_url"] is None


def test_entity_tricks_are_stored_as_text_and_escaped_on_output(client, region_key):
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<x>&xxe;</x> & <b>bold</b>"
    )
    (item,) = data(post(client, api_key=region_key, description=hostile))
    report = Report.objects.get(reference=item["service_request_id"])
    assert report.description == hostile
    response = client.get(
        f"{BASE}/requests/{report.reference}.xml",
        {"jurisdiction_id": KORTRIJK, "api_key": region_key},  # a client reads the words
    )
    body = response.content.decode()
    assert "<!DOCTYPE" not in body and "<!ENTITY" not in body and "&lt;!DOCTYPE" in body
    assert xml(response).find("request").findtext("description") == hostile


def test_csrf_is_not_asked_of_api_clients(region_key):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), api_key=region_key)
    assert response.status_code == 200


# --- GET requests -------------------------------------------------------------------


def test_get_requests_shows_spec_fields_and_no_personal_data(client, categories):
    report = file_report(
        reporter_name="Mieke Verstraete", reporter_email="mieke@example.org",
        reporter_phone="0470 11 22 33", address="Grote Markt 1",
    )  # fmt: skip
    for fmt in ("xml", "json"):
        response = client.get(f"{BASE}/requests.{fmt}", {"jurisdiction_id": KORTRIJK})
        body = response.content.decode()
        for secret in ("Mieke", "Verstraete", "mieke@example.org", "0470", report.token_salt):
            assert secret not in body
    root = xml(client.get(f"{BASE}/requests.xml", {"jurisdiction_id": KORTRIJK}))
    (request,) = root.findall("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("service_request_id") == report.reference
    assert request.findtext("status") == "open"
    assert request.findtext("agency_responsible") == "Openbare werken"
    # Anyone reads what the public map shows: the street, not the house number or the words.
    assert request.findtext("address") == "Grote Markt"
    assert request.findtext("description") == ""
    assert request.findtext("media_url") == ""
    (row,) = data(client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK}))
    assert list(row) == REQUEST_FIELDS
    assert row["lat"] == pytest.approx(KORTRIJK_CENTRE[0])
    assert row["description"] is None
    assert row["requested_datetime"][-6:] in ("+01:00", "+02:00")
    assert row["expected_datetime"] is not None


def test_anyone_reads_the_public_maps_view_a_client_of_the_municipality_reads_it_all(
    client, categories, region_key, kortrijk_key
):
    from regiohub.meldpunt.models import Category

    Category.objects.filter(code="noise").update(map_generalise_m=100)
    Category.objects.filter(code="question").update(is_public_on_map=False)
    loud = file_report(code="noise", address="Kerkstraat 12 bus 3", description="Buurman Jan")
    question = file_report(code="question", address="Kerkstraat 14")
    typed = file_report(where=(None, None), address="Doorniksestraat 3", municipality_code="KOR")
    rows = {r["service_request_id"]: r for r in data(
        client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK})
    )}  # fmt: skip
    noisy = rows[loud.reference]
    assert noisy["description"] is None and noisy["address"] is None  # blurred: no street
    assert noisy["lat"] != pytest.approx(loud.latitude, abs=1e-6)
    assert rows[question.reference]["lat"] is None  # kept off the map: no place at all
    assert rows[typed.reference]["lat"] is None  # an unknown place is not a point
    assert rows[typed.reference]["address"] == "Doorniksestraat"
    menen_key = ApiClient.create_with_key(name="Menen-app", organisation=categories["MEN"])[1]
    keys = ((region_key, True), (kortrijk_key, True), (menen_key, False), ("nonsense", False))
    for key, full in keys:
        (row,) = [r for r in data(client.get(
            f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK, "api_key": key}
        )) if r["service_request_id"] == loud.reference]  # fmt: skip
        assert (row["description"] == "Buurman Jan") is full, key
        assert (row["lat"] == pytest.approx(loud.latitude)) is full, key


def test_get_requests_only_shows_the_jurisdiction(client, categories):
    file_report(where=MENEN_CENTRE)
    assert data(client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK})) == []
    errors_xml(client.get(f"{BASE}/requests.xml"), 400)
    errors_json(client.get(f"{BASE}/requests.json", {"jurisdiction_id": "00000"}), 404)


def test_status_mapping_and_filter(client, categories, kortrijk_agent):
    open_report = file_report()
    cancelled = change_status(
        file_report(), Status.CANCELLED, actor=kortrijk_agent, reason="Al hersteld door AWV"
    )
    in_progress = change_status(
        file_report(), Status.ON_HOLD, actor=kortrijk_agent, reason="Intern: wacht op aannemer"
    )
    rows = {
        r["service_request_id"]: r
        for r in data(client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK}))
    }
    assert rows[open_report.reference]["status"] == "open"
    assert rows[cancelled.reference]["status"] == "closed"
    assert rows[cancelled.reference]["status_notes"] == "Al hersteld door AWV"
    assert rows[cancelled.reference]["expected_datetime"] is None
    assert rows[in_progress.reference]["status"] == "open"
    assert rows[in_progress.reference]["status_notes"] is None  # internal reasons stay in

    def refs(status):
        query = {"jurisdiction_id": KORTRIJK, "status": status}
        return {r["service_request_id"] for r in data(client.get(f"{BASE}/requests.json", query))}

    assert refs("closed") == {cancelled.reference}
    assert refs("open") == {open_report.reference, in_progress.reference}
    assert refs("open,closed") == set(rows)
    errors_json(
        client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK, "status": "x"}), 400
    )


def test_every_status_maps_to_open_or_closed():
    # A report forwarded to an external body is open until the body answers (ADR 0038).
    closed = {Status.RESOLVED, Status.CLOSED, Status.MERGED, Status.CANCELLED}
    assert set(CLOSED_STATUSES) == closed


def test_date_filters_and_default_window(client, categories):
    recent = file_report()
    old = file_report()
    Report.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=120))

    def refs(**query):
        query = {"jurisdiction_id": KORTRIJK, **query}
        return [r["service_request_id"] for r in data(client.get(f"{BASE}/requests.json", query))]

    assert refs() == [recent.reference]  # the last 90 days by default
    start = (timezone.now() - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (timezone.now() - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    assert refs(start_date=start, end_date=end) == [old.reference]
    assert refs(start_date=start) == [old.reference]
    for bad in ("yesterday", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z"):
        (text,) = errors_json(
            client.get(f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK, "start_date": bad}),
            400,
        )
        assert "start_date" in text
    errors_json(
        client.get(
            f"{BASE}/requests.json",
            {"jurisdiction_id": KORTRIJK, "start_date": "2026-01-01T00:00:00Z",
             "end_date": "2026-06-01T00:00:00Z"},
        ),
        400,
    )  # fmt: skip


def test_newest_first_and_ids_override_filters(client, categories):
    first, second = file_report(), file_report(code="street-light")
    Report.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=200))
    rows = data(
        client.get(
            f"{BASE}/requests.json",
            {"jurisdiction_id": KORTRIJK, "status": "closed",
             "service_request_id": f"{first.reference},{second.reference}"},
        )
    )  # fmt: skip
    assert [r["service_request_id"] for r in rows] == [second.reference, first.reference]
    too_many = ",".join(f"KOR-2026-{n:06d}" for n in range(51))
    errors_json(
        client.get(
            f"{BASE}/requests.json", {"jurisdiction_id": KORTRIJK, "service_request_id": too_many}
        ),
        400,
    )
    codes = {"jurisdiction_id": KORTRIJK, "service_code": "street-light,noise"}
    assert [r["service_request_id"] for r in data(client.get(f"{BASE}/requests.json", codes))] == [
        second.reference
    ]


def test_one_request_is_a_list_and_404_across_jurisdictions(client, categories):
    report = file_report()
    rows = data(
        client.get(f"{BASE}/requests/{report.reference}.json", {"jurisdiction_id": KORTRIJK})
    )
    assert [r["service_request_id"] for r in rows] == [report.reference]
    errors_json(
        client.get(f"{BASE}/requests/{report.reference}.json", {"jurisdiction_id": MENEN}), 404
    )
    errors_xml(
        client.get(f"{BASE}/requests/KOR-1999-000001.xml", {"jurisdiction_id": KORTRIJK}), 404
    )


def test_tokens_are_never_issued(client, categories):
    errors_xml(client.get(f"{BASE}/tokens/12345.xml", {"jurisdiction_id": KORTRIJK}), 404)
    errors_json(client.get(f"{BASE}/tokens/12345.json"), 404)


def test_errors_speak_the_clients_language(client, categories):
    (text,) = errors_json(client.get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert "jurisdiction_id" in text


def test_command_creates_a_client_and_prints_its_key_once(categories, capsys):
    call_command("meldpunt_create_api_client", "--name", "Partner", "--organisation", "KOR")
    key = capsys.readouterr().out.strip()
    api_client = ApiClient.authenticate(key)
    assert api_client.name == "Partner" and api_client.organisation.code == "KOR"
    assert key not in api_client.key_hash


def test_admin_shows_a_new_key_once(superuser, categories):
    client = staff_client(superuser)
    response = client.post(
        "/admin/meldpunt/apiclient/add/",
        {"name": "Via admin", "organisation": categories["MEN"].pk, "is_active": "on",
         "created_at_0": "2026-11-25", "created_at_1": "10:00:00"},
        follow=True,
    )  # fmt: skip
    api_client = ApiClient.objects.get(name="Via admin")
    shown = [str(m) for m in response.context["messages"]]
    key = next(m for m in shown if "Via admin" in m).split(" is ")[1].split(".")[0]
    assert ApiClient.authenticate(key) == api_client


def test_control_characters_are_refused_and_never_break_the_xml(client, region_key):
    (text,) = errors_json(post(client, api_key=region_key, description="gat\x00\x01"), 400)
    assert text.startswith("description")
    report = file_report(description="Gat \x0b in de weg")  # another channel let it through
    root = xml(
        client.get(
            f"{BASE}/requests/{report.reference}.xml",
            {"jurisdiction_id": KORTRIJK, "api_key": region_key},
        )
    )
    assert root.find("request").findtext("description") == "Gat  in de weg"


def test_repeated_parameters_count_like_comma_separated_ones(client, categories):
    pothole, light = file_report(), file_report(code="street-light")
    query = f"jurisdiction_id={KORTRIJK}&service_code=pothole&service_code=street-light"
    rows = data(client.get(f"{BASE}/requests.json?{query}"))
    assert {r["service_request_id"] for r in rows} == {pothole.reference, light.reference}


def test_an_api_client_filing_too_many_reports_gets_429_in_the_error_format(client, region_key):
    from django.core.cache import cache
    from django.test import override_settings

    cache.clear()
    with override_settings(MELDPUNT_OPEN311_RATE="2/hour"):
        assert post(client, api_key=region_key).status_code in (200, 201)
        assert post(client, api_key=region_key).status_code in (200, 201)
        (text,) = errors_json(post(client, api_key=region_key), 429)
    assert "api_key" in text
