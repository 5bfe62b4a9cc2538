"""Agents see likely duplicates on the report page (distance, time, subject, words) and
merge with one click; other municipalities' reports are never suggested."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from regiohub.core.testing import staff_client
from regiohub.meldpunt import duplicates, queries
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

NEAR = (KORTRIJK_CENTRE[0] + 0.0002, KORTRIJK_CENTRE[1])  # about 22 m north


def test_words_are_compared_robustly_and_numbers_tell_problems_apart():
    assert duplicates.text_similarity("Diepe put in het fietspad", "Put in de fietspaden") > 0.4
    assert duplicates.text_similarity("Lamp nummer 12 kapot", "Lamp nummer 12 stuk") > 0.3
    same_words = duplicates.text_similarity("Lamp nummer 12 kapot", "Lamp nummer 19 kapot")
    assert same_words < duplicates.text_similarity("Lamp nummer 12 kapot", "Lamp nummer 12 kapot")
    assert duplicates.text_similarity("", "iets") == 0.0


def test_a_second_report_of_the_same_pothole_is_suggested(categories, kortrijk_agent):
    first = file_report(description="Diepe put in het fietspad voor nummer 12")
    second = file_report(where=NEAR, description="Gat in het fietspad aan nummer 12")
    found = duplicates.suggest(second, queries.reports_for(kortrijk_agent))
    assert [s.report.pk for s in found] == [first.pk]
    assert found[0].distance_m < 40
    assert found[0].same_subject


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"code": "noise", "description": "Lawaai van de buren"}, "unrelated subject"),
        ({"where": (KORTRIJK_CENTRE[0] + 0.004, KORTRIJK_CENTRE[1])}, "450 m away"),
    ],
)
def test_reports_that_differ_in_place_or_subject_are_not_suggested(
    categories, kortrijk_agent, change, why
):
    file_report(description="Diepe put in het fietspad voor nummer 12")
    other = file_report(**{"description": "Diepe put in het fietspad voor nummer 12", **change})
    assert duplicates.suggest(other, queries.reports_for(kortrijk_agent)) == [], why


def test_a_report_from_two_months_ago_is_not_suggested(categories, kortrijk_agent):
    old = file_report(description="Diepe put in het fietspad voor nummer 12")
    Report.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    new = file_report(where=NEAR, description="Diepe put in het fietspad voor nummer 12")
    assert duplicates.suggest(new, queries.reports_for(kortrijk_agent)) == []


def test_merged_and_cancelled_reports_are_not_suggested(categories, kortrijk_agent):
    first = file_report(description="Diepe put in het fietspad voor nummer 12")
    from regiohub.meldpunt import services

    services.change_status(first, Status.CANCELLED, actor=None, reason="dubbel")
    second = file_report(where=NEAR, description="Diepe put in het fietspad voor nummer 12")
    assert duplicates.suggest(second, queries.reports_for(kortrijk_agent)) == []


def test_the_report_page_offers_one_click_merge(categories, kortrijk_agent, mailoutbox):
    first = file_report(description="Diepe put in het fietspad voor nummer 12")
    second = file_report(where=NEAR, description="Gat in het fietspad aan nummer 12")
    client = staff_client(kortrijk_agent)
    page = client.get(f"/staff/reports/{second.reference}/")
    html = page.content.decode()
    assert first.reference in html
    assert f'name="into" value="{first.reference}"' in html
    response = client.post(f"/staff/reports/{second.reference}/merge/", {"into": first.reference})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == Status.MERGED
    assert second.merged_into_id == first.pk


def test_suggestions_stay_within_what_the_agent_may_see(categories, kortrijk_agent):
    from regiohub.core.tests.factories import MembershipFactory

    menen_agent = MembershipFactory(organisation=categories["MEN"], agent=True).user
    file_report(description="Diepe put in het fietspad voor nummer 12")
    second = file_report(where=NEAR, description="Gat in het fietspad aan nummer 12")
    assert duplicates.suggest(second, queries.reports_for(menen_agent)) == []


# --- Places that are not known are never measured -------------------------------------


def _by_address(address: str, description: str, code: str = "street-light") -> Report:
    from regiohub.meldpunt.services import submit_report

    return submit_report(
        category_code=code,
        description=description,
        latitude=None,
        longitude=None,
        address=address,
        municipality_code="KOR",
        channel="phone",
        reporter_email="beller@example.org",
        consent=True,
    ).report


def test_two_address_only_reports_are_not_duplicates_by_distance(categories, kortrijk_agent):
    """The incident: both sat on Kortrijk's centre, "0 m apart, score 0.73", and were
    merged though they were streets apart."""
    first = _by_address("Grote Markt 1", "Straatlamp brandt niet meer")
    second = _by_address("Doorniksestraat 45", "Straatlamp brandt niet meer sinds gisteren")
    assert first.location_is_approximate and second.location_is_approximate
    assert (first.latitude, first.longitude) == (second.latitude, second.longitude)
    assert duplicates.suggest(second, queries.reports_for(kortrijk_agent)) == []
    # Nor does a report marked on the map measure its distance to a centre point.
    marked = file_report(code="street-light", description="Straatlamp brandt niet meer")
    assert marked.place_known
    for suggestion in duplicates.suggest(marked, Report.objects.all()):
        # The same words may still suggest them, but as "place unknown", not "0 m away".
        assert suggestion.place_unknown and suggestion.distance_m is None
    assert duplicates.within_radius(second, Report.objects.all()) == []


def test_the_same_typed_address_is_compared_by_address_not_distance(categories, kortrijk_agent):
    first = _by_address("Grote Markt 1, Kortrijk", "Straatlamp brandt niet meer")
    second = _by_address("grote markt 1", "De straatlamp brandt niet")
    found = duplicates.suggest(second, queries.reports_for(kortrijk_agent))
    assert [s.report.pk for s in found] == [first.pk]
    assert found[0].place == duplicates.PlaceSignal.ADDRESS
    assert found[0].distance_m is None
    # Another house number on the same street is another place.
    third = _by_address("Grote Markt 17", "De straatlamp brandt niet")
    assert first.pk not in [s.report.pk for s in duplicates.suggest(third, Report.objects.all())]


def test_without_any_place_only_strong_other_signals_suggest_and_say_so(categories):
    marked = file_report(code="street-light", description="Lamp brandt niet")
    # A report marked on the map has no typed address: the place is unknown for the pair.
    typed = _by_address("aan de kerk", "Lamp brandt niet")
    suggestion = duplicates.compare(typed, marked)
    assert suggestion is not None and suggestion.place_unknown
    assert suggestion.distance_m is None
    assert suggestion.score == duplicates.score(None, suggestion.hours_apart, True, 1.0)
    assert duplicates.suggest(typed, Report.objects.all())[0].report == marked
    other_words = _by_address("aan de kerk", "Lantaarnpaal scheef na aanrijding")
    assert duplicates.suggest(other_words, Report.objects.filter(pk=marked.pk)) == []


def test_two_reports_geocoded_to_the_same_address_are_duplicates(categories, kortrijk_agent):
    from regiohub.meldpunt.services import submit_report

    point = (50.82803, 3.26487)
    reports = [
        submit_report(
            category_code="street-light",
            description=text,
            latitude=point[0],
            longitude=point[1],
            address="Grote Markt 1, 8500 Kortrijk",
            location_source="address",
            address_register_id="https://data.vlaanderen.be/id/adres/20470187",
            channel="web",
            reporter_email="a@example.org",
            consent=True,
        ).report
        for text in ("Straatlamp kapot", "Lamp aan het stadhuis doet het niet")
    ]
    assert reports[1].location_source == "address" and reports[1].place_known
    found = duplicates.suggest(reports[1], queries.reports_for(kortrijk_agent))
    assert [s.report.pk for s in found] == [reports[0].pk]
    assert found[0].distance_m == 0
