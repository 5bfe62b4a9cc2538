"""Location decides the municipality, the category the department; references count up."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.meldpunt.services import submit_report, token_hash
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report

pytestmark = pytest.mark.django_db


def test_location_decides_municipality_and_category_decides_department(categories):
    kortrijk = file_report(code="pothole", where=KORTRIJK_CENTRE)
    menen = file_report(code="illegal-dumping", where=MENEN_CENTRE)
    assert kortrijk.organisation.code == "KOR"
    assert kortrijk.department.name == "Openbare werken"
    assert kortrijk.department.organisation == kortrijk.organisation
    assert menen.organisation.code == "MEN"
    assert menen.department.name == "Milieu"
    assert menen.department.organisation.code == "MEN"


def test_references_are_per_municipality_and_year_and_count_up(categories):
    first = file_report()
    second = file_report()
    other = file_report(where=MENEN_CENTRE)
    year = first.created_at.year
    assert first.reference == f"KOR-{year}-000001"
    assert second.reference == f"KOR-{year}-000002"
    assert other.reference == f"MEN-{year}-000001"


def test_follow_up_token_is_unguessable_and_only_its_hash_is_stored(categories):
    submitted = submit_report(
        category_code="pothole",
        latitude=KORTRIJK_CENTRE[0],
        longitude=KORTRIJK_CENTRE[1],
        description="Gat",
        channel="web",
    )
    assert len(submitted.token) >= 40
    assert submitted.report.token_hash == token_hash(submitted.token)
    assert submitted.token not in submitted.report.token_hash


@pytest.mark.parametrize(
    ("lat", "lon"), [(51.40, 2.60), (50.8467, 4.3522), (float("nan"), 3.2), (200, 3.2)]
)
def test_places_outside_the_region_get_a_message_saying_whom_to_contact(categories, lat, lon):
    with pytest.raises(ValidationError) as error:
        submit_report(
            category_code="pothole", latitude=lat, longitude=lon, description="x", channel="web"
        )
    assert "location" in error.value.message_dict


def test_unknown_or_inactive_category_is_refused_for_that_municipality(categories):
    categories["MEN"].report_categories.filter(code="noise").update(is_active=False)
    with pytest.raises(ValidationError) as error:
        file_report(code="noise", where=MENEN_CENTRE)
    assert "Menen" in error.value.message_dict["category"][0]
    with pytest.raises(ValidationError):
        file_report(code="no-such-thing")


def test_anonymous_reports_only_where_the_category_allows_it(categories):
    anonymous = file_report(code="illegal-dumping", reporter_email="", consent=False)
    assert anonymous.is_anonymous
    with pytest.raises(ValidationError) as error:
        file_report(code="noise", reporter_email="", consent=False)
    assert "reporter_email" in error.value.message_dict


def test_contact_details_need_consent_with_the_privacy_notice(categories):
    with pytest.raises(ValidationError) as error:
        file_report(consent=False)
    assert "consent" in error.value.message_dict


def test_empty_description_is_refused(categories):
    with pytest.raises(ValidationError) as error:
        file_report(description="   \n ")
    assert "description" in error.value.message_dict


def test_filing_records_history_and_sends_the_acknowledgement_through_a_task(categories):
    report = file_report(language="fr")
    entry = HistoryEntry.objects.for_object(report).get()
    assert entry.action == "report.created" and entry.actor is None
    assert mail.outbox == []
    run_tasks()
    assert len(mail.outbox) == 1
    assert report.reference in mail.outbox[0].subject
    assert mail.outbox[0].to == ["burger@example.org"]
    assert "Courtrai" in mail.outbox[0].body  # in the reporter's language
    run_tasks()
    assert len(mail.outbox) == 1


def test_due_dates_follow_the_category_sla(categories):
    report = file_report(code="illegal-dumping")
    assert report.created_at < report.response_due_at < report.resolution_due_at


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "x" * 5001),
        ("reporter_email", "not an address"),
        ("reporter_email", "a@" + "b" * 300 + ".be"),
        ("reporter_phone", "0" * 41),
        ("reporter_name", "n" * 201),
        ("address", "a" * 301),
        ("channel", "pigeon"),
    ],
)
def test_oversized_and_malformed_fields_are_refused_by_name(categories, field, value):
    from regiohub.meldpunt.models import Report

    with pytest.raises(ValidationError) as error:
        file_report(**{field: value})
    assert field in error.value.message_dict
    assert not Report.objects.exists()


def test_hostile_text_is_kept_as_text(categories):
    text = "<script>alert(1)</script>'; DROP TABLE meldpunt_report; --"
    report = file_report(description=text)
    report.refresh_from_db()
    assert report.description == text


def test_another_municipalitys_reports_stay_out_of_scope(categories, kortrijk_agent):
    from regiohub.core import access
    from regiohub.meldpunt.models import Report

    own = file_report(where=KORTRIJK_CENTRE)
    file_report(where=MENEN_CENTRE)
    visible = access.scope(Report.objects.all(), kortrijk_agent)
    assert list(visible) == [own]


def test_category_wording_follows_the_language_with_dutch_as_fallback(categories):
    from django.utils import translation

    category = categories["KOR"].report_categories.get(code="pothole")
    with translation.override("en"):
        assert category.display_name == "Pothole or damaged road"
        assert category.display_help.startswith("A hole")
        category.help_text_en = ""
        assert category.display_help == category.help_text  # no English help: Dutch
    with translation.override("fr"):
        assert category.display_name == "Nid-de-poule ou route abîmée"
    with translation.override("nl"):
        assert category.display_name == "Put of schade in de weg"
