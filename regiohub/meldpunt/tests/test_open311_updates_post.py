"""POST servicerequestupdates (mySociety's Open311 extension): an app's update changes a
report once, through the workflow, recorded as the app; a repeated update_id, a key of
another municipality, a bad key, a refused transition and hostile input are refused in the
spec's error format."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.models import ApiClient, ApiUpdateReceipt, Message, MessageKind, Report
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.tests.test_open311 import (
    BASE,
    KORTRIJK,
    MENEN,
    data,
    errors_json,
    errors_xml,
    xml,
)
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

URL = f"{BASE}/servicerequestupdates"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def region_key(categories):
    return ApiClient.create_with_key(name="Wegen-app")[1]


@pytest.fixture
def kortrijk_key(categories):
    return ApiClient.create_with_key(name="Kortrijk-app", organisation=categories["KOR"])[1]


@pytest.fixture
def report(categories):
    return file_report(
        reporter_name="Mieke Verstraete", reporter_email="mieke@example.org", language="nl"
    )


def post(client, report, key, fmt="json", **params):
    fields = {
        "api_key": key,
        "jurisdiction_id": KORTRIJK,
        "service_request_id": report.reference if report else "",
        "update_id": "fms-1001",
        "status": "IN_PROGRESS",
        "updated_datetime": "2026-10-25T02:30:00+01:00",
        "description": "De ploeg is onderweg.",
        **params,
    }
    return client.post(f"{URL}.{fmt}", {k: v for k, v in fields.items() if v is not None})


def get_updates(client, jurisdiction=KORTRIJK):
    response = client.get(f"{URL}.json", {"jurisdiction_id": jurisdiction})
    assert response.status_code == 200
    return data(response)


# --- Once ----------------------------------------------------------------------------------


def test_an_update_moves_the_report_tells_the_reporter_and_is_recorded_as_the_app(
    client, report, region_key, mailoutbox
):
    (answer,) = data(post(client, report, region_key))
    assert list(answer) == ["update_id"]
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    message = Message.objects.get(report=report)
    assert message.kind == MessageKind.TO_REPORTER and message.body == "De ploeg is onderweg."
    entries = HistoryEntry.objects.for_object(report)
    changed = entries.get(action="report.status_changed")
    recorded = entries.get(action="report.updated_through_api")
    assert changed.actor_label == recorded.actor_label == "API client Wegen-app"
    assert recorded.after["update_id"] == "fms-1001"
    assert recorded.after["updated_datetime"] == "2026-10-25T01:30:00+00:00"
    assert recorded.after["status"] == "in_progress"
    assert recorded.after["status_change"] == changed.pk
    assert recorded.after["message"] == message.pk
    assert answer["update_id"] == f"h{recorded.pk}"
    receipt = ApiUpdateReceipt.objects.get()
    assert (receipt.update_id, receipt.report, receipt.history_entry) == (
        "fms-1001",
        report,
        recorded,
    )

    run_tasks()
    subjects = sorted(m.subject for m in mailoutbox if "mieke@example.org" in m.to)
    assert len(subjects) == 3  # the acknowledgement, the new status and the message
    assert any("De ploeg is onderweg." in m.body for m in mailoutbox)

    # The app sees its own update once, under the id it was given.
    (shown,) = get_updates(client)
    assert shown == {
        "update_id": answer["update_id"],
        "service_request_id": report.reference,
        "status": "IN_PROGRESS",
        "updated_datetime": shown["updated_datetime"],
        "description": "De ploeg is onderweg.",
        "media_url": "",
    }


def test_the_answer_in_xml_has_the_extensions_shape(client, report, region_key):
    root = xml(post(client, report, region_key, "xml"))
    assert root.tag == "service_request_updates" and root.get("count") == "1"
    (item,) = root.findall("request_update")
    assert [c.tag for c in item] == ["update_id"]
    assert item.findtext("update_id").startswith("h")


def test_a_repeated_update_id_is_refused_and_changes_nothing(client, report, region_key):
    (first,) = data(post(client, report, region_key))
    before = HistoryEntry.objects.count(), Message.objects.count()
    for fmt in ("json", "xml"):
        response = post(client, report, region_key, fmt, status="FIXED", description="Klaar")
        (text,) = (errors_json if fmt == "json" else errors_xml)(response, 409)
        assert "fms-1001" in text and first["update_id"] in text
    assert (HistoryEntry.objects.count(), Message.objects.count()) == before
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    # Even on another report: an update_id names one update of the app.
    other = file_report()
    errors_json(post(client, other, region_key, status="FIXED"), 409)
    # Another app may use the same id.
    other_key = ApiClient.create_with_key(name="Andere app")[1]
    assert post(client, report, other_key, status="FIXED").status_code == 200


def test_repeating_the_status_the_report_has_only_adds_the_message(client, report, region_key):
    change_status(report, Status.IN_PROGRESS, actor=None)
    post(client, report, region_key, status="OPEN", update_id="a", description="Nog even geduld")
    post(client, report, region_key, status="IN_PROGRESS", update_id="b", description="Bezig")
    report.refresh_from_db()
    assert report.status == Status.IN_PROGRESS
    assert (
        HistoryEntry.objects.for_object(report).filter(action="report.status_changed").count() == 1
    )
    assert [u["description"] for u in get_updates(client)][-2:] == ["Nog even geduld", "Bezig"]


@pytest.mark.parametrize(
    ("start", "posted", "expected"),
    [
        (None, "INVESTIGATING", Status.ACKNOWLEDGED),
        (None, "ACTION_SCHEDULED", Status.ON_HOLD),
        (None, "FIXED", Status.RESOLVED),
        (None, "CLOSED", Status.RESOLVED),
        (None, "no_further_action", Status.CANCELLED),
        (Status.RESOLVED, "OPEN", Status.REOPENED),
        (Status.RESOLVED, "REOPEN", Status.REOPENED),
        (Status.RESOLVED, "CLOSED", Status.RESOLVED),
    ],
)
def test_posted_statuses_map_onto_the_workflow(client, report, region_key, start, posted, expected):
    if start:
        change_status(report, start, actor=None)
    assert post(client, report, region_key, status=posted).status_code == 200
    report.refresh_from_db()
    assert report.status == expected


# --- Refused --------------------------------------------------------------------------------


def test_a_transition_the_workflow_refuses_is_a_clear_409(client, report, region_key):
    change_status(report, Status.CANCELLED, actor=None, reason="Dubbel")
    (text,) = errors_json(post(client, report, region_key, status="FIXED"), 409)
    assert text == "status: A report that is “Cancelled” cannot become “Resolved”."
    assert not ApiUpdateReceipt.objects.exists()
    assert not Message.objects.filter(body="De ploeg is onderweg.").exists()
    # Refused, so not used up: the app may send the update again, changed.
    assert post(client, report, region_key, status="REOPEN").status_code == 200


def test_a_status_that_needs_a_reason_needs_a_description(client, report, region_key):
    (text,) = errors_json(
        post(client, report, region_key, status="NO_FURTHER_ACTION", description=""), 400
    )
    assert text.startswith("description: say why")


@pytest.mark.parametrize(
    "status", ["DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "INTERNAL_REFERRAL"]
)
def test_statuses_only_a_handler_can_set(client, report, region_key, status):
    (text,) = errors_json(post(client, report, region_key, status=status), 400)
    assert text.startswith("status: ") and "handler" in text


def test_repeating_a_handler_only_status_the_report_has_is_only_a_message(
    client, report, region_key, kortrijk_agent
):
    from regiohub.meldpunt.services import merge

    merge(report, file_report(), actor=kortrijk_agent)
    response = post(client, report, region_key, status="DUPLICATE", description="Ik ook")
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.status == Status.MERGED
    assert get_updates(client)[-1]["description"] == "Ik ook"


def test_nothing_to_update_is_400(client, report, region_key):
    (text,) = errors_json(post(client, report, region_key, status="OPEN", description=""), 400)
    assert text.startswith("Nothing to update")


@pytest.mark.parametrize("key", [None, "", "wrong-key", "x" * 5000])
def test_without_a_valid_key_is_403(client, report, key):
    (text,) = errors_json(post(client, report, key), 403)
    assert "api_key" in text
    assert not Message.objects.filter(report=report).exists()


def test_an_inactive_key_is_403(client, report):
    api_client, key = ApiClient.create_with_key(name="Oud")
    api_client.is_active = False
    api_client.save()
    errors_xml(post(client, report, key, "xml"), 403)


def test_a_client_of_kortrijk_updates_kortrijk_only(client, report, kortrijk_key):
    menen = file_report(where=MENEN_CENTRE)
    (text,) = errors_json(post(client, menen, kortrijk_key, jurisdiction_id=MENEN), 403)
    assert "Kortrijk" in text
    # Nor through Kortrijk's jurisdiction: the report is not found there.
    errors_json(post(client, menen, kortrijk_key), 404)
    menen.refresh_from_db()
    assert menen.status == Status.NEW
    assert post(client, report, kortrijk_key).status_code == 200


def test_unknown_report_and_jurisdiction(client, categories, region_key):
    (text,) = errors_json(post(client, None, region_key, service_request_id="KOR-1999-000001"), 404)
    assert "KOR-1999-000001" in text
    errors_json(post(client, None, region_key, jurisdiction_id="99999"), 404)
    errors_json(post(client, None, region_key, jurisdiction_id=""), 400)


def test_every_problem_gets_its_own_error(client, report, region_key):
    texts = errors_xml(
        post(
            client,
            report,
            region_key,
            "xml",
            update_id="u" * 101,
            status="TELEPORTED",
            updated_datetime="2026-10-25T02:30:00",
            description="x" * 4001,
            media_url="file:///etc/passwd",
        ),
        400,
    )
    assert {re.match(r"\w+", t).group() for t in texts} == {
        "update_id", "status", "updated_datetime", "description", "media_url",
    }  # fmt: skip
    assert len(texts) == 5


@pytest.mark.parametrize(
    "missing", ["service_request_id", "update_id", "status", "updated_datetime"]
)
def test_required_parameters(client, report, region_key, missing):
    (text,) = errors_json(post(client, report, region_key, **{missing: ""}), 400)
    assert text.startswith(missing)


@pytest.mark.parametrize("field", ["update_id", "description", "status", "service_request_id"])
def test_nul_is_refused_before_anything_happens(client, report, region_key, field):
    params = {field: "abc\x00def"}
    (text,) = errors_json(post(client, report, region_key, **params), 400)
    assert "NUL" in text
    assert not ApiUpdateReceipt.objects.exists()


def test_control_characters_and_odd_text(client, report, region_key):
    (text,) = errors_json(post(client, report, region_key, description="gat\x01\x0b"), 400)
    assert text.startswith("description")
    hostile = "<![CDATA[x]]> & <b>vet</b> — “quotes” 🚧 ﷽ \u202etxt.exe"
    assert (
        post(client, report, region_key, description=hostile, update_id="weird-ü-ß-🚧").status_code
        == 200
    )
    response = client.get(f"{URL}.xml", {"jurisdiction_id": KORTRIJK})
    (item,) = xml(response).findall("request_update")
    assert item.findtext("description") == hostile
    assert ApiUpdateReceipt.objects.get().update_id == "weird-ü-ß-🚧"


def test_media_url_is_kept_as_an_internal_note_and_never_shown(client, report, region_key):
    url = "https://photos.example.org/fixed.jpg"
    post(client, report, region_key, media_url=url)
    note = Message.objects.get(report=report, kind=MessageKind.NOTE)
    assert url in note.body
    assert url not in str(get_updates(client))
    # A media URL alone is no public update.
    post(
        client,
        report,
        region_key,
        status="IN_PROGRESS",
        description="",
        media_url=url,
        update_id="2",
    )
    assert len(get_updates(client)) == 1


def test_csrf_is_not_asked_and_get_needs_no_key(report, region_key):
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    assert post(strict, report, region_key).status_code == 200
    assert strict.get(f"{URL}.json", {"jurisdiction_id": KORTRIJK}).status_code == 200


def test_the_filing_limit_of_a_key_counts_updates_too(client, report, region_key):
    from django.core.cache import cache
    from django.test import override_settings

    cache.clear()
    with override_settings(MELDPUNT_OPEN311_RATE="2/hour"):
        assert post(client, report, region_key, update_id="1").status_code == 200
        assert post(client, report, region_key, update_id="2", status="FIXED").status_code == 200
        (text,) = errors_json(post(client, report, region_key, update_id="3"), 429)
    assert "api_key" in text
    cache.clear()


def test_an_anonymised_report_still_gets_public_updates_but_no_mail(
    client, report, region_key, mailoutbox
):
    from regiohub.meldpunt.privacy import anonymise

    anonymise(report, "test")
    run_tasks()
    mailoutbox.clear()
    assert post(client, report, region_key).status_code == 200
    run_tasks()
    assert mailoutbox == []
    assert get_updates(client)[-1]["description"] == "De ploeg is onderweg."
    assert Report.objects.get(pk=report.pk).status == Status.IN_PROGRESS
