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
