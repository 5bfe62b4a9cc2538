"""A citizen whose problem is already reported nearby says "me too": their report joins
the open one, and they hear what happens to it."""

from __future__ import annotations

import pytest

from regiohub.core.testing import run_tasks
from regiohub.meldpunt import services
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.tests.test_public_form import form_data
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

NEAR = (KORTRIJK_CENTRE[0] + 0.0002, KORTRIJK_CENTRE[1])
NEARBY_URL = "/melden/in-de-buurt/"


def test_open_reports_of_the_subject_nearby_are_listed_without_personal_data(client, categories):
    existing = file_report(reporter_name="Jan Geheim", reporter_email="jan@example.org")
    response = client.get(NEARBY_URL, {"lat": NEAR[0], "lng": NEAR[1], "category": "pothole"})
    assert response.status_code == 200
    reports = response.json()["reports"]
    assert [r["reference"] for r in reports] == [existing.reference]
    assert reports[0]["distance_m"] < 40
    assert "Jan Geheim" not in response.content.decode()
    assert "jan@example.org" not in response.content.decode()


def test_the_nearby_list_shows_what_the_public_map_shows_not_the_words(client, categories):
    from regiohub.meldpunt.models import Category

    file_report(address="Kerkstraat 12 bus 3", description="Buurman Jan Peeters, 0470 11 22 33")
    Category.objects.filter(code="noise").update(map_generalise_m=100)
    file_report(code="noise", description="Lawaai bij Jan")
    body = client.get(NEARBY_URL, {"lat": NEAR[0], "lng": NEAR[1], "category": "pothole"})
    (report,) = body.json()["reports"]
    assert report["street"] == "Kerkstraat"
    assert "Peeters" not in body.content.decode() and "0470" not in body.content.decode()
    noisy = client.get(NEARBY_URL, {"lat": NEAR[0], "lng": NEAR[1], "category": "noise"})
    assert noisy.json()["reports"] == []  # a blurred subject: never "12 m away"


@pytest.mark.parametrize(
    "params",
    [
        {"lat": NEAR[0], "lng": NEAR[1], "category": "noise"},  # another subject
        {"lat": MENEN_CENTRE[0], "lng": MENEN_CENTRE[1], "category": "pothole"},  # far
        {"lat": "abc", "lng": "1", "category": "pothole"},
        {"lat": "nan", "lng": "nan", "category": "pothole"},
        {"lat": "51.2194", "lng": "4.4025", "category": "pothole"},  # outside the region
        {"lat": NEAR[0], "lng": NEAR[1]},
        {"lat": NEAR[0], "lng": NEAR[1], "category": "x" * 500},
    ],
)
def test_other_subjects_other_places_and_junk_list_nothing(client, categories, params):
    file_report()
    response = client.get(NEARBY_URL, params)
    assert response.status_code == 200
    assert response.json()["reports"] == []


def test_finished_reports_are_not_offered(client, categories):
    existing = file_report()
    services.change_status(existing, Status.RESOLVED, actor=None)
    response = client.get(NEARBY_URL, {"lat": NEAR[0], "lng": NEAR[1], "category": "pothole"})
    assert response.json()["reports"] == []


def test_me_too_joins_the_open_report_and_hears_its_news(client, categories, mailoutbox):
    existing = file_report(reporter_email="eerste@example.org")
    response = client.post(
        "/melden/",
        form_data(
            latitude=NEAR[0], longitude=NEAR[1], reporter_email="tweede@example.org",
            same_as=existing.reference,
        ),
    )  # fmt: skip
    assert response.status_code == 302
    mine = Report.objects.exclude(pk=existing.pk).get()
    assert mine.status == Status.MERGED
    assert mine.merged_into_id == existing.pk
    page = client.get(response["Location"]).content.decode()
    assert existing.reference in page
    run_tasks()
    mailoutbox.clear()
    services.change_status(existing, Status.RESOLVED, actor=None)
    run_tasks()
    to_second = [m for m in mailoutbox if m.to == ["tweede@example.org"]]
    assert len(to_second) == 1
    assert existing.reference in to_second[0].body
    assert any(m.to == ["eerste@example.org"] for m in mailoutbox)


@pytest.mark.parametrize("case", ["finished", "other municipality", "unknown"])
def test_a_me_too_that_does_not_qualify_files_a_report_of_its_own(client, categories, case):
    existing = file_report(where=MENEN_CENTRE if case == "other municipality" else KORTRIJK_CENTRE)
    if case == "finished":
        services.change_status(existing, Status.RESOLVED, actor=None)
    reference = existing.reference if case != "unknown" else "KOR-2026-999999"
    client.post("/melden/", form_data(latitude=NEAR[0], longitude=NEAR[1], same_as=reference))
    mine = Report.objects.exclude(pk=existing.pk).get()
    assert mine.status == Status.NEW
    assert mine.merged_into_id is None


def test_a_malformed_me_too_reference_is_refused_at_the_form(client, categories):
    response = client.post("/melden/", form_data(same_as="<script>"))
    assert response.status_code == 200
    assert not Report.objects.exists()
